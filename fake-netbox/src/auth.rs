//! API tokens as NetBox 4.7 accepts them: v1 (`Token <40 chars>`) and v2
//! (`Bearer nbt_<key>.<secret>`), read-only tokens, and the exact 403 texts NetBox returns for
//! every way a header can be wrong.
//!
//! Secrets never leave this module: `Debug` output and errors show token kinds, not values.

use std::fmt;

use sha2::{Digest, Sha256};

/// A configured token. Only a digest of the secret is kept.
#[derive(Clone)]
pub struct Token {
    kind: TokenKind,
    pub write: bool,
}

#[derive(Clone, PartialEq, Eq)]
enum TokenKind {
    V1 { digest: [u8; 32] },
    V2 { key: String, digest: [u8; 32] },
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            TokenKind::V1 { .. } => "v1",
            TokenKind::V2 { .. } => "v2",
        };
        f.debug_struct("Token")
            .field("version", &kind)
            .field("write", &self.write)
            .finish_non_exhaustive()
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// Why a configured token string was rejected (the string itself is never included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormatError {
    /// v1 tokens are 40 characters, letters and digits.
    V1Length,
    /// v2 tokens are `nbt_<key>.<secret>`.
    V2Shape,
}

impl fmt::Display for TokenFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenFormatError::V1Length => {
                f.write_str("a v1 token must be exactly 40 letters or digits")
            }
            TokenFormatError::V2Shape => {
                f.write_str("a v2 token must look like nbt_<key>.<secret> (letters and digits)")
            }
        }
    }
}

impl Token {
    /// Parses a token as it would appear after `Token `/`Bearer `.
    pub fn parse(s: &str, write: bool) -> Result<Token, TokenFormatError> {
        let alnum = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_alphanumeric());
        if let Some(rest) = s.strip_prefix("nbt_") {
            let (key, secret) = rest.split_once('.').ok_or(TokenFormatError::V2Shape)?;
            if !alnum(key) || !alnum(secret) {
                return Err(TokenFormatError::V2Shape);
            }
            return Ok(Token {
                kind: TokenKind::V2 {
                    key: key.to_string(),
                    digest: digest(secret),
                },
                write,
            });
        }
        if s.len() != 40 || !alnum(s) {
            return Err(TokenFormatError::V1Length);
        }
        Ok(Token {
            kind: TokenKind::V1 { digest: digest(s) },
            write,
        })
    }
}

/// Result of checking a request's `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Authenticated; `scheme` is `token` or `bearer` (as written by the client), `write` whether
    /// the token may write.
    Ok { scheme: &'static str, write: bool },
    /// Refused with NetBox's 403 `detail` text; `scheme` is what the request log shows.
    Denied {
        detail: &'static str,
        scheme: &'static str,
    },
}

pub const NOT_PROVIDED: &str = "Authentication credentials were not provided.";
pub const INVALID_V1: &str = "Invalid v1 token";
pub const INVALID_V2: &str = "Invalid v2 token";
pub const NO_PERMISSION: &str = "You do not have permission to perform this action.";
const BAD_FORM: &str = "Invalid authorization header: Must be in the form \"Bearer <key>.<token>\" or \"Token <token>\"";
const NO_V2_KEY: &str = "Invalid authorization header: Could not parse key from v2 token. Did you mean to use 'Token' instead of 'Bearer'?";

/// Checks an `Authorization` header value against the configured tokens. With `refuse_all`
/// (the "bad token" fault) every well-formed token is refused as unknown.
pub fn check(header: Option<&str>, tokens: &[Token], refuse_all: bool) -> Auth {
    let Some(header) = header else {
        return Auth::Denied {
            detail: NOT_PROVIDED,
            scheme: "none",
        };
    };
    let mut words = header.split_whitespace();
    let scheme = match words.next().map(str::to_ascii_lowercase).as_deref() {
        Some("token") => "token",
        Some("bearer") => "bearer",
        _ => {
            return Auth::Denied {
                detail: NOT_PROVIDED,
                scheme: "none",
            };
        }
    };
    let (Some(cred), None) = (words.next(), words.next()) else {
        return Auth::Denied {
            detail: BAD_FORM,
            scheme: "invalid",
        };
    };
    if let Some(rest) = cred.strip_prefix("nbt_") {
        let Some((key, secret)) = rest.split_once('.') else {
            return Auth::Denied {
                detail: NO_V2_KEY,
                scheme: "invalid",
            };
        };
        let d = digest(secret);
        let found = tokens.iter().find(|t| match &t.kind {
            TokenKind::V2 { key: k, digest } => k == key && *digest == d,
            TokenKind::V1 { .. } => false,
        });
        return match found {
            Some(t) if !refuse_all => Auth::Ok {
                scheme,
                write: t.write,
            },
            _ => Auth::Denied {
                detail: INVALID_V2,
                scheme: "invalid",
            },
        };
    }
    let d = digest(cred);
    let found = tokens
        .iter()
        .find(|t| matches!(&t.kind, TokenKind::V1 { digest } if *digest == d));
    match found {
        Some(t) if !refuse_all => Auth::Ok {
            scheme,
            write: t.write,
        },
        _ => Auth::Denied {
            detail: INVALID_V1,
            scheme: "invalid",
        },
    }
}

/// Checks a token against a single expected token string (the admin endpoint).
pub fn matches_admin(header: Option<&str>, admin: &Token) -> bool {
    matches!(
        check(header, std::slice::from_ref(admin), false),
        Auth::Ok { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks() -> Vec<Token> {
        vec![
            Token::parse("0123456789abcdef0123456789abcdef01234567", true).unwrap(),
            Token::parse(
                "nbt_realnetbox01.abcdefghijklmnopqrstuvwxyz0123456789ABCD",
                true,
            )
            .unwrap(),
            Token::parse(
                "nbt_readonly0001.abcdefghijklmnopqrstuvwxyz0123456789ABCD",
                false,
            )
            .unwrap(),
        ]
    }

    #[test]
    fn both_token_versions_and_keywords_are_accepted() {
        let t = toks();
        assert!(matches!(
            check(
                Some("Token 0123456789abcdef0123456789abcdef01234567"),
                &t,
                false
            ),
            Auth::Ok { write: true, .. }
        ));
        assert!(matches!(
            check(
                Some("bearer 0123456789abcdef0123456789abcdef01234567"),
                &t,
                false
            ),
            Auth::Ok { .. }
        ));
        assert!(matches!(
            check(
                Some("Token nbt_realnetbox01.abcdefghijklmnopqrstuvwxyz0123456789ABCD"),
                &t,
                false
            ),
            Auth::Ok { .. }
        ));
        assert!(matches!(
            check(
                Some("Bearer nbt_readonly0001.abcdefghijklmnopqrstuvwxyz0123456789ABCD"),
                &t,
                false
            ),
            Auth::Ok { write: false, .. }
        ));
    }

    #[test]
    fn refusals_use_netboxs_texts() {
        let t = toks();
        let detail = |h: Option<&str>| match check(h, &t, false) {
            Auth::Denied { detail, .. } => detail,
            Auth::Ok { .. } => "ok",
        };
        assert_eq!(detail(None), NOT_PROVIDED);
        assert_eq!(detail(Some("Basic Zm9vOmJhcg==")), NOT_PROVIDED);
        assert_eq!(detail(Some("Token a b")), BAD_FORM);
        assert_eq!(
            detail(Some("Bearer nbt_realnetbox01.wrongsecret")),
            INVALID_V2
        );
        assert_eq!(detail(Some("Bearer nbt_realnetbox01")), NO_V2_KEY);
        assert_eq!(
            detail(Some("Token 0000000000000000000000000000000000000000")),
            INVALID_V1
        );
        assert!(matches!(
            check(
                Some("Token 0123456789abcdef0123456789abcdef01234567"),
                &t,
                true
            ),
            Auth::Denied {
                detail: INVALID_V1,
                ..
            }
        ));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let t = Token::parse("nbt_abc.supersecretvalue", true).unwrap();
        let s = format!("{t:?}");
        assert!(!s.contains("supersecret") && !s.contains("abc"), "{s}");
    }
}

//! The NetBox API token: kept out of Debug, Display, logs and errors; turned into the
//! `Authorization` header NetBox expects for its version.
//!
//! Does not read files or environment variables (the CLI does).

use http::HeaderValue;

/// A NetBox API token (v1 40-character or v2 `nbt_<key>.<secret>`).
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token; surrounding whitespace (a trailing newline from a file) is dropped.
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into().trim().to_string())
    }

    /// True for a v2 token (NetBox decides by the `nbt_` prefix, not by the keyword).
    pub fn is_v2(&self) -> bool {
        self.0.starts_with("nbt_")
    }

    /// True when the token is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Bearer nbt_<key>.<secret>` for v2, `Token <40>` for v1; marked sensitive so hyper and
    /// tracing never print it. `None` when the token holds characters a header cannot carry.
    pub fn header_value(&self) -> Option<HeaderValue> {
        let scheme = if self.is_v2() { "Bearer" } else { "Token" };
        let mut v = HeaderValue::from_str(&format!("{scheme} {}", self.0)).ok()?;
        v.set_sensitive(true);
        Some(v)
    }

    /// The kind of auth for request logs: `bearer` (v2) or `token` (v1), never the secret.
    pub fn scheme(&self) -> &'static str {
        if self.is_v2() { "bearer" } else { "token" }
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Token({}, redacted)",
            if self.is_v2() { "v2" } else { "v1" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_follows_prefix_and_debug_hides_secret() {
        let v2 = Token::new("nbt_abcdefabcdef.0123456789012345678901234567890123456789\n");
        assert_eq!(
            v2.header_value().unwrap().to_str().unwrap(),
            "Bearer nbt_abcdefabcdef.0123456789012345678901234567890123456789"
        );
        assert!(v2.header_value().unwrap().is_sensitive());
        let v1 = Token::new("0123456789abcdef0123456789abcdef01234567");
        assert_eq!(
            v1.header_value().unwrap().to_str().unwrap(),
            "Token 0123456789abcdef0123456789abcdef01234567"
        );
        let dbg = format!("{v1:?} {v2:?}");
        assert!(!dbg.contains("0123456789"), "{dbg}");
    }
}

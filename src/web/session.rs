//! Signed sessions and CSRF tokens: the keys derived from the secret key and the access token,
//! the stateless session cookie `sid.issued.auth.mac` (HMAC-SHA256, bound to a fingerprint of the
//! access token, so changing the token ends every session), CSRF tokens as HMACs of the session
//! id, constant-time token comparison, and what the access layer hands to handlers ([`Access`]).
//!
//! It reads no request and renders no page (the access layer and the pages do); it never logs or
//! echoes a token.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderValue;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Name of the session cookie.
pub(crate) const SESSION_COOKIE: &str = "fabsync_session";
/// Name of the CSRF form field.
pub(crate) const CSRF_FIELD: &str = "csrf_token";
/// Name of the CSRF header (for scripts using the session cookie on the API).
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts.
pub(crate) const SESSION_SECS: i64 = 12 * 3600;
/// Keys derived from the caller's secret key and the access token.
pub(crate) struct Keys {
    key: [u8; 32],
    /// HMAC of the access token (never the token itself); `None` without a token.
    token_mac: Option<[u8; 32]>,
    counter: AtomicU64,
}

/// A session: who the browser is (for CSRF binding) and whether it logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// Random-looking id (HMAC output), hex.
    pub(crate) sid: String,
    /// Issue time, Unix seconds (from the injected clock).
    pub(crate) issued: i64,
    /// Logged in with the access token.
    pub(crate) authenticated: bool,
}

/// What the access layer established about a request, for handlers.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    /// The session (new when the request carried none).
    pub(crate) session: Session,
    /// The CSRF token forms on the answer must carry.
    pub(crate) csrf: String,
    /// An access token is configured.
    pub(crate) auth_required: bool,
    /// The request came over HTTPS (per `X-Forwarded-Proto`): cookies get `Secure`.
    pub(crate) https: bool,
}

fn part_mac(m: &mut HmacSha256, parts: &[&[u8]]) {
    for p in parts {
        m.update(&(p.len() as u64).to_be_bytes());
        m.update(p);
    }
}

impl Keys {
    pub(crate) fn new(key: &[u8; 32], token: Option<&Secret>) -> Self {
        let mut keys = Keys {
            key: *key,
            token_mac: None,
            counter: AtomicU64::new(0),
        };
        keys.token_mac = token.map(|t| keys.mac(&[b"access-token", t.expose().as_bytes()]));
        keys
    }

    fn hmac(&self) -> HmacSha256 {
        <HmacSha256 as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = self.hmac();
        part_mac(&mut m, parts);
        m.finalize().into_bytes().into()
    }

    fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut m = self.hmac();
        part_mac(&mut m, parts);
        m.verify_slice(tag).is_ok()
    }

    /// Whether `given` is the access token (constant time; false when none is configured).
    pub(crate) fn token_matches(&self, given: &str) -> bool {
        match &self.token_mac {
            Some(want) => self.verify(&[b"access-token", given.as_bytes()], want),
            None => false,
        }
    }

    fn token_binding(&self) -> &[u8] {
        self.token_mac.as_ref().map(|m| &m[..]).unwrap_or(b"")
    }

    /// A new session id: unpredictable without the secret key, reproducible with it.
    pub(crate) fn new_session(&self, now: i64, authenticated: bool) -> Session {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let raw = self.mac(&[b"session-id", &now.to_be_bytes(), &n.to_be_bytes()]);
        Session {
            sid: hex::encode(&raw[..16]),
            issued: now,
            authenticated,
        }
    }

    fn session_parts<'a>(&'a self, s: &'a Session, issued: &'a str) -> [&'a [u8]; 5] {
        [
            b"session-v1",
            s.sid.as_bytes(),
            issued.as_bytes(),
            if s.authenticated { b"1" } else { b"0" },
            self.token_binding(),
        ]
    }

    /// The cookie value of a session.
    pub(crate) fn encode_session(&self, s: &Session) -> String {
        let issued = s.issued.to_string();
        let tag = self.mac(&self.session_parts(s, &issued));
        format!(
            "{}.{}.{}.{}",
            s.sid,
            issued,
            if s.authenticated { 1 } else { 0 },
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Reads a cookie value: `None` when forged, expired, or signed for another access token.
    pub(crate) fn decode_session(&self, value: &str, now: i64) -> Option<Session> {
        let mut it = value.split('.');
        let (sid, issued, auth, tag) = (it.next()?, it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || sid.len() != 32 || !sid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let issued_n: i64 = issued.parse().ok()?;
        let authenticated = match auth {
            "1" => true,
            "0" => false,
            _ => return None,
        };
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let s = Session {
            sid: sid.to_string(),
            issued: issued_n,
            authenticated,
        };
        if !self.verify(&self.session_parts(&s, issued), &tag) {
            return None;
        }
        // Expired, or issued in the future (beyond a minute of clock skew).
        if now - issued_n >= SESSION_SECS || issued_n - now > 60 {
            return None;
        }
        Some(s)
    }

    /// The CSRF token of a session.
    pub(crate) fn csrf_token(&self, sid: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(&[b"csrf-v1", sid.as_bytes()]))
    }

    pub(crate) fn csrf_ok(&self, sid: &str, token: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(token.trim()) {
            Ok(tag) => self.verify(&[b"csrf-v1", sid.as_bytes()], &tag),
            Err(_) => false,
        }
    }
}

/// The `Set-Cookie` value of a session.
pub(crate) fn session_cookie(keys: &Keys, s: &Session, https: bool) -> HeaderValue {
    let c = cookie::Cookie::build((SESSION_COOKIE, keys.encode_session(s)))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .secure(https)
        .max_age(cookie::time::Duration::seconds(SESSION_SECS))
        .build();
    HeaderValue::from_str(&c.to_string()).expect("session cookies are header-safe")
}

/// The `Set-Cookie` value that ends a session.
pub(crate) fn clear_cookie(https: bool) -> HeaderValue {
    let c = cookie::Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .secure(https)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    HeaderValue::from_str(&c.to_string()).expect("cookies are header-safe")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn keys(token: Option<&str>) -> Keys {
        Keys::new(&[7u8; 32], token.map(Secret::new).as_ref())
    }

    #[test]
    fn sessions_round_trip_and_refuse_tampering_expiry_and_token_change() {
        let k = keys(Some("tok"));
        let s = k.new_session(1000, true);
        let v = k.encode_session(&s);
        assert_eq!(k.decode_session(&v, 1000), Some(s.clone()));
        // Flip the auth flag: the signature no longer matches.
        let forged = v.replacen(".1.", ".0.", 1);
        assert_eq!(k.decode_session(&forged, 1000), None);
        // Expired.
        assert_eq!(k.decode_session(&v, 1000 + SESSION_SECS), None);
        // Another access token (or secret key) ends every session.
        assert_eq!(keys(Some("other")).decode_session(&v, 1000), None);
        assert_eq!(
            Keys::new(&[8u8; 32], Some(&Secret::new("tok"))).decode_session(&v, 1000),
            None
        );
        assert_eq!(k.decode_session("garbage", 1000), None);
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session() {
        let k = keys(None);
        let a = k.new_session(5, false);
        let b = k.new_session(5, false);
        assert_ne!(a.sid, b.sid);
        let ta = k.csrf_token(&a.sid);
        assert!(k.csrf_ok(&a.sid, &ta));
        assert!(!k.csrf_ok(&b.sid, &ta));
        assert!(!k.csrf_ok(&a.sid, "not-base64!"));
    }
}

//! Who may do what: the access token (API `Authorization: Bearer`, or a login that gives a signed
//! session cookie), CSRF tokens bound to the session, the same-origin check on every state-changing
//! request, the loopback host check when no token is configured (DNS rebinding), and the security
//! headers on every answer.
//!
//! Sessions are stateless: a cookie `sid.issued.auth.mac` signed with HMAC-SHA256 under the
//! caller's `secret_key`, bound to a fingerprint of the access token (changing the token ends every
//! session). CSRF tokens are HMACs of the session id. Token comparisons go through HMAC verification
//! (constant time). It never logs or echoes a token. It does not render pages.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::Shared;
use super::error::{WebError, html_error, is_api_path, json_error};
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
/// Largest form body read to find the CSRF token.
const FORM_LIMIT: usize = 1 << 20;

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

    fn csrf_ok(&self, sid: &str, token: &str) -> bool {
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

fn session_cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| cookie::Cookie::split_parse(v.to_string()))
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

/// `Authorization: Bearer <token>`: `Some(token)` when that scheme is used.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim().to_string())
}

/// Whether a `Host` header names this machine (loopback address or `localhost`).
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, _)) => ip,
            None => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    name.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Health, readiness, static files, the login page.
    Public,
    /// JSON API and metrics.
    Api,
    /// HTML pages.
    Page,
    /// Demo mode's simulated cluster API: it checks its own bearer token.
    SimulatedCluster,
}

fn classify(path: &str) -> Class {
    if path == super::demo::CLUSTER_PREFIX
        || path.starts_with(&format!("{}/", super::demo::CLUSTER_PREFIX))
    {
        Class::SimulatedCluster
    } else if matches!(path, "/healthz" | "/readyz" | "/login") || path.starts_with("/static/") {
        Class::Public
    } else if is_api_path(path) {
        Class::Api
    } else {
        Class::Page
    }
}

fn refuse(class: Class, e: WebError) -> Response {
    if matches!(class, Class::Api | Class::SimulatedCluster) {
        json_error(&e)
    } else {
        html_error(&e)
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.starts_with("application/x-www-form-urlencoded")
                || v.starts_with("multipart/form-data")
        })
}

/// A state-changing request from another site (per `Origin` / `Sec-Fetch-Site`).
fn cross_origin(headers: &HeaderMap) -> Option<String> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Some(format!("Sec-Fetch-Site is {site}"));
    }
    let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("null");
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let authority = origin
        .split_once("://")
        .map(|(_, a)| a.trim_end_matches('/'))
        .unwrap_or("");
    match host {
        Some(h) if h.eq_ignore_ascii_case(authority) => None,
        Some(h) => Some(format!("Origin {origin} is not this server ({h})")),
        None if authority.is_empty() => Some(format!("Origin {origin}")),
        None => None,
    }
}

fn login_redirect(path_and_query: &str) -> Response {
    let next: String = form_urlencoded::byte_serialize(path_and_query.as_bytes()).collect();
    let mut resp = StatusCode::SEE_OTHER.into_response();
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("/login?next={next}")).expect("encoded"),
    );
    resp
}

/// Reads the CSRF token of a form body and gives the body back.
async fn form_csrf(req: Request) -> Result<(Request, Option<String>), WebError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|e| WebError::BadRequest(format!("cannot read the form: {e}")))?;
    let token = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

/// The access layer: runs before every route.
pub(crate) async fn layer(State(ctx): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let class = classify(&path);
    let auth_required = ctx.app.auth_token.is_some();
    let now = ctx.app.clock.now().as_second();
    let headers = req.headers();
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));

    // Without a token the server is loopback-only; refuse names that are not this machine, so a
    // web page cannot rebind its own name to 127.0.0.1 and use fabsync.
    if !auth_required
        && let Some(host) = headers.get(header::HOST)
        && !is_loopback_host(host.to_str().unwrap_or(""))
    {
        return secured(refuse(
            class,
            WebError::Forbidden(format!(
                "host {:?} refused: fabsync runs without an access token and answers only to localhost / loopback addresses; configure --auth-token-file to serve other names",
                host.to_str().unwrap_or("?")
            )),
        ));
    }

    // The simulated cluster (demo mode) authenticates its clients itself, with its own token.
    if class == Class::SimulatedCluster {
        return secured(next.run(req).await);
    }

    let bearer = match bearer_token(headers) {
        None => false,
        Some(t) if !auth_required => !t.is_empty(),
        Some(t) if ctx.keys.token_matches(&t) => true,
        Some(_) => {
            return secured(json_error(&WebError::Unauthorized(
                "the Bearer token is not fabsync's access token".into(),
            )));
        }
    };
    let from_cookie = session_cookie_value(headers).and_then(|v| ctx.keys.decode_session(&v, now));
    let had_cookie = from_cookie.is_some();
    let session = from_cookie.unwrap_or_else(|| ctx.keys.new_session(now, false));
    let authenticated = !auth_required || bearer || session.authenticated;

    if !authenticated && class != Class::Public {
        return secured(match class {
            Class::Api => json_error(&WebError::Unauthorized(
                "authentication required: send Authorization: Bearer <access token>, or log in at /login".into(),
            )),
            _ => {
                let target = if req.method() == Method::GET || req.method() == Method::HEAD {
                    req.uri()
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "/".into())
                } else {
                    "/".to_string()
                };
                with_cookie(
                    login_redirect(&target),
                    (!had_cookie).then(|| session_cookie(&ctx.keys, &session, https)),
                )
            }
        });
    }

    let mut req = req;
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && !bearer {
        if let Some(why) = cross_origin(req.headers()) {
            return secured(refuse(
                class,
                WebError::Forbidden(format!("cross-site request refused: {why}")),
            ));
        }
        let form = is_form(req.headers());
        let mut token = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if token.is_none() && form {
            match form_csrf(req).await {
                Ok((r, t)) => {
                    req = r;
                    token = t;
                }
                Err(e) => return secured(refuse(class, e)),
            }
        }
        let ok = match &token {
            Some(t) => had_cookie && ctx.keys.csrf_ok(&session.sid, t),
            // A client that is no browser (no cookie, no form, not cross-site) on a server
            // without an access token: nothing ambient to forge.
            None => !form && !had_cookie && !auth_required,
        };
        if !ok {
            let msg = match token {
                None => {
                    "CSRF token missing: this form or request must carry the csrf_token of your session (reload the page and submit again; API clients send a Bearer token)"
                }
                Some(_) => {
                    "CSRF token invalid or expired for this session: reload the page and submit again"
                }
            };
            return secured(refuse(class, WebError::Forbidden(msg.into())));
        }
    }

    let access = Access {
        csrf: ctx.keys.csrf_token(&session.sid),
        session: session.clone(),
        auth_required,
        https,
    };
    req.extensions_mut().insert(access);
    let resp = next.run(req).await;
    // Only pages (and the login page) start sessions: health checks, scripts and API clients
    // get no cookie.
    let html = class == Class::Page || path == "/login";
    let set = (!had_cookie && html && !resp.headers().contains_key(header::SET_COOKIE))
        .then(|| session_cookie(&ctx.keys, &session, https));
    secured(with_cookie(resp, set))
}

fn with_cookie(mut resp: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// Security headers on every answer.
fn secured(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn token_comparison_and_host_check() {
        let k = keys(Some("s3cret"));
        assert!(k.token_matches("s3cret"));
        assert!(!k.token_matches("s3cre"));
        assert!(!keys(None).token_matches(""));
        for h in [
            "127.0.0.1:8080",
            "localhost",
            "LOCALHOST:1",
            "[::1]:80",
            "127.1.2.3",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.1:80",
            "[2001:db8::1]:80",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}

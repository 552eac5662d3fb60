//! The access layer, run before every route: who may do what — the access token (API
//! `Authorization: Bearer`, or a login that gives a signed session cookie), the CSRF token of the
//! session on every state-changing request, the same-origin check, the loopback host check when
//! no token is configured (DNS rebinding) — and the security headers on every answer.
//!
//! Signing and checking sessions and CSRF tokens is `session.rs`; this module reads requests and
//! decides. It never logs or echoes a token. It does not render pages.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::controls::CLUSTER_PREFIX;
use super::error::WebError;
use super::respond::{html_error, is_api_path, json_error};
use super::session::{Access, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, session_cookie};
use super::state::Shared;

/// Largest form body read to find the CSRF token.
const FORM_LIMIT: usize = 1 << 20;

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
    if path == CLUSTER_PREFIX || path.starts_with(&format!("{CLUSTER_PREFIX}/")) {
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
        Some(_) if let Some(wait) = ctx.logins.refused() => {
            return secured(super::forms::throttled(wait));
        }
        Some(t) if ctx.keys.token_matches(&t) => true,
        Some(_) => {
            ctx.logins.failed();
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
    use crate::config::Secret;
    use crate::web::session::Keys;

    fn keys(token: Option<&str>) -> Keys {
        Keys::new(&[7u8; 32], token.map(Secret::new).as_ref())
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

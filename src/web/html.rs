//! The pieces every page shares: the layout (navigation, demo and access banners, logout form),
//! status and phase badges, relative + exact times, the error page, and the stylesheet and
//! script served from `/static/`.
//!
//! It renders what it is given; it reads nothing from the store and decides nothing.

use axum::http::header;
use axum::response::IntoResponse;
use jiff::Timestamp;
use maud::{DOCTYPE, Markup, html};

use super::error::WebError;
use super::session::{Access, CSRF_FIELD};
use crate::clock::format_ts;
use crate::store::{ConnectionState, FabricStatus, ObjectResult, Phase};

const CSS: &str = include_str!("static/fabsync.css");
const JS: &str = include_str!("static/fabsync.js");

pub(crate) async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        CSS,
    )
}

pub(crate) async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        JS,
    )
}

/// What the frame of a page needs to know.
pub(crate) struct Frame<'a> {
    /// `<title>` and `<h1>`.
    pub(crate) title: String,
    /// The request's access (CSRF token for the logout form; `None` on the bare error page).
    pub(crate) access: Option<&'a Access>,
    /// `serve --demo`.
    pub(crate) demo: bool,
    /// Reload the page every few seconds when scripts are off (live progress without JS).
    pub(crate) refresh_without_js: bool,
}

/// The page frame.
pub(crate) fn layout(f: &Frame<'_>, body: Markup) -> Markup {
    let auth = f.access.is_some_and(|a| a.auth_required);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (f.title) " · fabsync" }
                link rel="stylesheet" href="/static/fabsync.css";
                @if f.refresh_without_js {
                    noscript { meta http-equiv="refresh" content="2"; }
                }
                script src="/static/fabsync.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "fabsync" }
                    nav {
                        a href="/" { "Fabrics" }
                        @if f.demo { a href="/demo" { "Demo controls" } }
                        a href="/metrics" { "Metrics" }
                    }
                    @if let Some(a) = f.access {
                        @if auth && a.session.authenticated {
                            form.logout method="post" action="/logout" {
                                input type="hidden" name=(CSRF_FIELD) value=(a.csrf);
                                button type="submit" { "Log out" }
                            }
                        }
                    }
                }
                @if f.demo {
                    div.banner.demo role="note" {
                        strong { "Demo mode. " }
                        "This fabsync runs against an in-process simulated NetBox and a simulated Kubernetes cluster (no real system is touched). "
                        a href="/demo" { "Break or repair them" }
                        "."
                    }
                }
                @if f.access.is_some() && !auth {
                    div.banner.open role="note" {
                        "No access token configured: fabsync listens on loopback only and anyone on this machine can use it. Start "
                        code { "fabsync serve --auth-token-file FILE" }
                        " to require a login."
                    }
                }
                main {
                    h1 { (f.title) }
                    (body)
                }
            }
        }
    }
}

/// A page for an error.
pub(crate) fn error_page(e: &WebError) -> Markup {
    let status = e.status();
    layout(
        &Frame {
            title: format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("Error")
            ),
            access: None,
            demo: false,
            refresh_without_js: false,
        },
        html! {
            p.error-text { (e.to_string()) }
            p { a href="/" { "Back to the fabric list" } }
        },
    )
}

/// The badge of a fabric status (the closed enum's own names).
pub(crate) fn status_badge(s: FabricStatus) -> Markup {
    html! {
        span class={ "badge status status-" (s.as_str()) } data-status=(s.as_str()) { (s.as_str()) }
    }
}

/// The badge of a task or run phase (Celery's names).
pub(crate) fn phase_badge(p: Phase) -> Markup {
    html! { span class={ "badge phase phase-" (p.as_str()) } { (p.as_str()) } }
}

/// The badge of a connection state.
pub(crate) fn conn_badge(c: ConnectionState) -> Markup {
    html! { span class={ "badge conn conn-" (c.as_str()) } { (c.as_str()) } }
}

/// The badge of an object result.
pub(crate) fn result_badge(r: ObjectResult) -> Markup {
    html! { span class={ "badge result result-" (r.as_str()) } { (r.as_str()) } }
}

/// "3 min ago" / "in 45 s", from the injected clock.
pub(crate) fn relative(now: Timestamp, t: Timestamp) -> String {
    let secs = t.as_second() - now.as_second();
    let past = secs <= 0;
    let a = secs.unsigned_abs();
    if a < 5 {
        return if past {
            "just now".into()
        } else {
            "now".into()
        };
    }
    let amount = if a < 60 {
        format!("{a} s")
    } else if a < 3600 {
        format!("{} min", a / 60)
    } else if a < 86_400 {
        let (h, m) = (a / 3600, (a % 3600) / 60);
        if m == 0 {
            format!("{h} h")
        } else {
            format!("{h} h {m} min")
        }
    } else {
        format!("{} d", a / 86_400)
    };
    if past {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

/// A time shown relative and exact (RFC 3339 in `datetime`, `title` and beside it).
pub(crate) fn time_cell(now: Timestamp, ts: Option<Timestamp>, none: &str) -> Markup {
    match ts {
        None => html! { span.none { (none) } },
        Some(t) => {
            let s = format_ts(t);
            html! {
                time datetime=(s) title=(s) { (relative(now, t)) }
                " " span.exact { "(" (s) ")" }
            }
        }
    }
}

/// A duration in milliseconds, for people.
pub(crate) fn duration(ms: Option<u64>) -> String {
    match ms {
        None => "—".into(),
        Some(ms) if ms < 1000 => format!("{ms} ms"),
        Some(ms) if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        Some(ms) => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// The first line of an error, cut to `max` characters.
pub(crate) fn short(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() <= max {
        line.to_string()
    } else {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf_field(a: &Access) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(a.csrf); }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now: Timestamp = "2026-01-01T01:00:00Z".parse().unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(relative(now, at("2026-01-01T01:00:00Z")), "just now");
        assert_eq!(relative(now, at("2026-01-01T00:59:30Z")), "30 s ago");
        assert_eq!(relative(now, at("2026-01-01T00:57:00Z")), "3 min ago");
        assert_eq!(relative(now, at("2026-01-01T01:01:00Z")), "in 1 min");
        assert_eq!(relative(now, at("2025-12-31T22:30:00Z")), "2 h 30 min ago");
        assert_eq!(relative(now, at("2025-12-29T01:00:00Z")), "3 d ago");
        assert_eq!(short("a long line\nsecond", 6), "a lon…");
        assert_eq!(duration(Some(1500)), "1.5 s");
    }
}

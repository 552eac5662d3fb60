//! NetBox's URL space: which route a request path leads to (API root, app roots, list and detail
//! endpoints, object changes, the trailing-slash redirect), the `Allow` header of each, and the
//! request log's resource name.
//!
//! It does not look at methods, bodies or the store.

use crate::model::Model;
use crate::store::Id;

/// Where a request path leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Route {
    Root,
    Status,
    App(&'static str),
    List(Model),
    Detail(Model, Option<Id>),
    Changes,
    Change(Option<Id>),
    Redirect(String),
    NotFound,
}

pub(super) const APPS: &[&str] = &[
    "circuits",
    "core",
    "dcim",
    "extras",
    "ipam",
    "plugins",
    "status",
    "tenancy",
    "users",
    "virtualization",
    "vpn",
    "wireless",
];

pub(super) fn route(path: &str, query: &str) -> Route {
    let Some(rest) = path.strip_prefix("/api") else {
        return Route::NotFound;
    };
    if rest.is_empty() {
        return Route::Redirect(with_query("/api/", query));
    }
    let trailing = rest.ends_with('/');
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let resolved = match parts.as_slice() {
        [] => Route::Root,
        ["status"] => Route::Status,
        [app] => match ["dcim", "ipam", "extras", "core"]
            .iter()
            .find(|a| *a == app)
        {
            Some(a) => Route::App(a),
            None => Route::NotFound,
        },
        ["core", "object-changes"] => Route::Changes,
        ["core", "object-changes", id] => Route::Change(id.parse().ok()),
        [app, endpoint] => match Model::from_endpoint(app, endpoint) {
            Some(m) => Route::List(m),
            None => Route::NotFound,
        },
        [app, endpoint, id] => match Model::from_endpoint(app, endpoint) {
            Some(m) => Route::Detail(m, id.parse().ok()),
            None => Route::NotFound,
        },
        _ => Route::NotFound,
    };
    if !trailing && resolved != Route::NotFound {
        return Route::Redirect(with_query(&format!("{path}/"), query));
    }
    resolved
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

pub(super) fn allow(route: &Route) -> Option<&'static str> {
    Some(match route {
        Route::Root | Route::Status | Route::App(_) | Route::Changes | Route::Change(_) => {
            "GET, HEAD, OPTIONS"
        }
        Route::List(m) if !m.meta().writable => "GET, HEAD, OPTIONS",
        Route::Detail(m, _) if !m.meta().writable => "GET, HEAD, OPTIONS",
        Route::List(m) if m.meta().trace => "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, TRACE",
        Route::List(_) => "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
        Route::Detail(m, _) if m.meta().trace => "GET, PUT, PATCH, DELETE, HEAD, OPTIONS, TRACE",
        Route::Detail(..) => "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
        Route::Redirect(_) | Route::NotFound => return None,
    })
}

pub(super) fn resource_of(route: &Route) -> Option<String> {
    match route {
        Route::List(m) | Route::Detail(m, _) => Some(m.resource()),
        Route::Changes | Route::Change(_) => Some("core.object-changes".into()),
        Route::Status => Some("status".into()),
        Route::Root => Some("api".into()),
        Route::App(a) => Some(a.to_string()),
        _ => None,
    }
}

/// The resource name of a request path (for transport-level fault matching).
pub(crate) fn resource_for_path(path: &str) -> String {
    resource_of(&route(path, "")).unwrap_or_default()
}

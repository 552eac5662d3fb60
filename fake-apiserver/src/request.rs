//! The parsed request: method, path, query, the headers the server reads and the body; the route
//! a path names and the Kubernetes verb of a request.
//!
//! It only parses; it does not authenticate, answer or touch the server state.

use bytes::Bytes;
use http::Method;

/// A parsed request.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub raw_query: String,
    pub query: Vec<(String, String)>,
    pub accept: String,
    pub content_type: Option<String>,
    pub user_agent: Option<String>,
    pub body: Bytes,
    pub authorization: Option<String>,
}

impl Req {
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
    }
    pub fn q_bool(&self, k: &str) -> bool {
        matches!(self.q(k), Some("true" | "1" | "True"))
    }
    /// The media type of the body, without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.content_type
            .as_deref()
            .map(|c| {
                c.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|c| !c.is_empty())
    }
}

/// A request for a resource path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResPath {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub plural: String,
    pub name: Option<String>,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Route {
    Version,
    Health,
    Api,
    ApiV1,
    Apis,
    Group(String),
    GroupVersion(String, String),
    Res(ResPath),
    OpenApiV3,
    OpenApiV3Doc(String),
    OpenApiV2,
    Admin(String),
    NotFound,
}

fn parse_res(group: &str, version: &str, rest: &[&str]) -> Route {
    let mk = |ns: Option<&str>, plural: &str, name: Option<&&str>, sub: Option<&&str>| {
        Route::Res(ResPath {
            group: group.into(),
            version: version.into(),
            namespace: ns.map(str::to_string),
            plural: plural.into(),
            name: name.map(|s| s.to_string()),
            sub: sub.map(|s| s.to_string()),
        })
    };
    if rest.is_empty() {
        return Route::NotFound;
    }
    if rest[0] == "namespaces"
        && rest.len() >= 3
        && !(group.is_empty() && rest.len() == 3 && matches!(rest[2], "status" | "finalize"))
    {
        if rest.len() > 5 {
            return Route::NotFound;
        }
        return mk(Some(rest[1]), rest[2], rest.get(3), rest.get(4));
    }
    if rest.len() > 3 {
        return Route::NotFound;
    }
    mk(None, rest[0], rest.get(1), rest.get(2))
}

pub(crate) fn route(path: &str) -> Route {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["api"] => Route::Api,
        ["api", "v1"] => Route::ApiV1,
        ["api", "v1", rest @ ..] => parse_res("", "v1", rest),
        ["apis"] => Route::Apis,
        ["apis", g] => Route::Group(g.to_string()),
        ["apis", g, v] => Route::GroupVersion(g.to_string(), v.to_string()),
        ["apis", g, v, rest @ ..] => parse_res(g, v, rest),
        ["openapi", "v3"] => Route::OpenApiV3,
        ["openapi", "v3", rest @ ..] => Route::OpenApiV3Doc(rest.join("/")),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["__fake", rest @ ..] => Route::Admin(rest.join("/")),
        _ => Route::NotFound,
    }
}

/// The Kubernetes verb of a request.
pub(crate) fn verb_of(r: &Req, route: &Route) -> Option<&'static str> {
    let Route::Res(rp) = route else {
        return None;
    };
    Some(match r.method {
        Method::GET if rp.name.is_some() => "get",
        Method::GET if r.q_bool("watch") => "watch",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH if r.media_type().as_deref() == Some("application/apply-patch+yaml") => {
            "apply"
        }
        Method::PATCH => "patch",
        Method::DELETE if rp.name.is_some() => "delete",
        Method::DELETE => "deletecollection",
        _ => return None,
    })
}

/// Whether a verb changes stored objects.
pub(crate) fn is_write(verb: &str) -> bool {
    matches!(
        verb,
        "create" | "update" | "patch" | "apply" | "delete" | "deletecollection"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/version/"), Route::Version);
        let Route::Res(rp) = route("/apis/g.io/v1/namespaces/default/things/a/status") else {
            panic!()
        };
        assert_eq!(
            (
                rp.namespace.as_deref(),
                rp.plural.as_str(),
                rp.name.as_deref(),
                rp.sub.as_deref()
            ),
            (Some("default"), "things", Some("a"), Some("status"))
        );
        let Route::Res(rp) = route("/api/v1/namespaces/x") else {
            panic!()
        };
        assert_eq!(
            (rp.plural.as_str(), rp.name.as_deref()),
            ("namespaces", Some("x"))
        );
        let Route::Res(rp) = route("/api/v1/namespaces/x/status") else {
            panic!()
        };
        assert_eq!(
            (rp.plural.as_str(), rp.name.as_deref(), rp.sub.as_deref()),
            ("namespaces", Some("x"), Some("status"))
        );
        assert_eq!(
            route("/openapi/v3/apis/g/v1"),
            Route::OpenApiV3Doc("apis/g/v1".into())
        );
    }
}

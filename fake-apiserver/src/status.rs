//! `Status` error bodies, one constructor per reason, using the real kube-apiserver message templates.
//!
//! It only builds error values (HTTP code, JSON body, extra headers); it does not decide *when* an
//! error applies — the handlers do.

use serde_json::{Map, Value, json};

/// An HTTP error answer in the apiserver's `Status` shape (or, for APF 429, plain text).
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// The response body (a `Status` object, or a JSON string for plain-text answers).
    pub body: Value,
    /// When true, `body` is a JSON string sent as `text/plain` instead of JSON.
    pub plain_text: bool,
    /// Extra response headers (`Retry-After`).
    pub headers: Vec<(String, String)>,
}

impl ApiError {
    /// The `message` of the Status body.
    pub fn message(&self) -> &str {
        self.body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// A group/resource pair as the apiserver names it in errors (`switches.wiring.githedgehog.com`).
#[derive(Debug, Clone, Copy)]
pub struct Gr<'a> {
    pub group: &'a str,
    pub resource: &'a str,
}

impl Gr<'_> {
    /// `resource.group`, or just `resource` for the core group.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

fn failure(code: u16, reason: &str, message: String, details: Option<Value>) -> ApiError {
    let mut m = Map::new();
    m.insert("kind".into(), json!("Status"));
    m.insert("apiVersion".into(), json!("v1"));
    m.insert("metadata".into(), json!({}));
    m.insert("status".into(), json!("Failure"));
    m.insert("message".into(), json!(message));
    if !reason.is_empty() {
        m.insert("reason".into(), json!(reason));
    }
    if let Some(d) = details {
        m.insert("details".into(), d);
    }
    m.insert("code".into(), json!(code));
    ApiError {
        code,
        body: Value::Object(m),
        plain_text: false,
        headers: vec![],
    }
}

fn details(name: &str, gr: Gr<'_>) -> Value {
    let mut d = Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !gr.group.is_empty() {
        d.insert("group".into(), json!(gr.group));
    }
    d.insert("kind".into(), json!(gr.resource));
    Value::Object(d)
}

/// 404 `<res>.<group> "x" not found`.
pub fn not_found(gr: Gr<'_>, name: &str) -> ApiError {
    failure(
        404,
        "NotFound",
        format!("{} {name:?} not found", gr.qualified()),
        Some(details(name, gr)),
    )
}

/// 404 for an unknown path.
pub fn path_not_found() -> ApiError {
    failure(
        404,
        "NotFound",
        "the server could not find the requested resource".into(),
        Some(json!({})),
    )
}

/// 409 AlreadyExists.
pub fn already_exists(gr: Gr<'_>, name: &str) -> ApiError {
    failure(
        409,
        "AlreadyExists",
        format!("{} {name:?} already exists", gr.qualified()),
        Some(details(name, gr)),
    )
}

/// 409 Conflict (optimistic concurrency).
pub fn conflict_modified(gr: Gr<'_>, name: &str) -> ApiError {
    conflict(
        gr,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
    )
}

/// 409 Conflict with a custom tail: `Operation cannot be fulfilled on <gr> "x": <msg>`.
pub fn conflict(gr: Gr<'_>, name: &str, msg: &str) -> ApiError {
    failure(
        409,
        "Conflict",
        format!(
            "Operation cannot be fulfilled on {} {name:?}: {msg}",
            gr.qualified()
        ),
        Some(details(name, gr)),
    )
}

/// 409 SSA conflict, causes only.
pub fn apply_conflict(message: String, causes: Vec<Value>) -> ApiError {
    failure(409, "Conflict", message, Some(json!({ "causes": causes })))
}

/// 400 BadRequest.
pub fn bad_request(message: impl Into<String>) -> ApiError {
    failure(400, "BadRequest", message.into(), None)
}

/// 401 Unauthorized.
pub fn unauthorized() -> ApiError {
    failure(401, "Unauthorized", "Unauthorized".into(), None)
}

/// 403 Forbidden, RBAC style.
pub fn forbidden_rbac(
    user: &str,
    verb: &str,
    gr: Gr<'_>,
    name: &str,
    namespace: Option<&str>,
) -> ApiError {
    let scope = match namespace {
        Some(ns) if !ns.is_empty() => format!("in the namespace {ns:?}"),
        _ => "at the cluster scope".to_string(),
    };
    let reason = format!(
        "User {user:?} cannot {verb} resource {:?} in API group {:?} {scope}",
        gr.resource, gr.group
    );
    forbidden(gr, name, &reason)
}

/// 403 Forbidden: `<gr> "x" is forbidden: <reason>`.
pub fn forbidden(gr: Gr<'_>, name: &str, reason: &str) -> ApiError {
    let message = if name.is_empty() {
        format!("{} is forbidden: {reason}", gr.qualified())
    } else {
        format!("{} {name:?} is forbidden: {reason}", gr.qualified())
    };
    failure(403, "Forbidden", message, Some(details(name, gr)))
}

/// 405 MethodNotAllowed.
pub fn method_not_supported(gr: Gr<'_>, verb: &str) -> ApiError {
    failure(
        405,
        "MethodNotAllowed",
        format!(
            "{verb} is not supported on resources of kind {:?}",
            gr.qualified()
        ),
        Some(details("", gr)),
    )
}

/// 406 NotAcceptable.
pub fn not_acceptable() -> ApiError {
    failure(
        406,
        "NotAcceptable",
        "the server was unable to respond with a content type that the client supports".into(),
        None,
    )
}

/// 415 UnsupportedMediaType for PATCH on custom resources.
pub fn unsupported_patch_type(accepted: &[&str]) -> ApiError {
    failure(
        415,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            accepted.join(", ")
        ),
        None,
    )
}

/// One `field.Error` (cause) of a 422.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// `FieldValueRequired`, `FieldValueInvalid`, ...
    pub reason: &'static str,
    /// Dotted path, `spec.prop2`.
    pub field: String,
    /// The detail message as it appears in the cause (`Required value`, `Invalid value: ...`).
    pub message: String,
}

impl FieldError {
    pub fn required(field: impl Into<String>, detail: &str) -> Self {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        FieldError {
            reason: "FieldValueRequired",
            field: field.into(),
            message,
        }
    }
    pub fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> Self {
        let message = format!("Invalid value: {}: {detail}", render_value(value));
        FieldError {
            reason: "FieldValueInvalid",
            field: field.into(),
            message,
        }
    }
    pub fn type_invalid(field: impl Into<String>, value: &Value, detail: &str) -> Self {
        let message = format!("Invalid value: {}: {detail}", render_value(value));
        FieldError {
            reason: "FieldValueTypeInvalid",
            field: field.into(),
            message,
        }
    }
    pub fn not_supported(field: impl Into<String>, value: &Value, valid: &[Value]) -> Self {
        let list: Vec<String> = valid.iter().map(render_value).collect();
        let message = format!(
            "Unsupported value: {}: supported values: {}",
            render_value(value),
            list.join(", ")
        );
        FieldError {
            reason: "FieldValueNotSupported",
            field: field.into(),
            message,
        }
    }
    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        FieldError {
            reason: "FieldValueForbidden",
            field: field.into(),
            message: format!("Forbidden: {detail}"),
        }
    }
    pub fn too_long(field: impl Into<String>, max: u64) -> Self {
        FieldError {
            reason: "FieldValueTooLong",
            field: field.into(),
            message: format!("Too long: may not be more than {max} bytes"),
        }
    }
    pub fn too_many(field: impl Into<String>, actual: usize, max: u64) -> Self {
        FieldError {
            reason: "FieldValueTooMany",
            field: field.into(),
            message: format!("Too many: {actual}: must have at most {max} items"),
        }
    }
    pub fn duplicate(field: impl Into<String>, value: &Value) -> Self {
        FieldError {
            reason: "FieldValueDuplicate",
            field: field.into(),
            message: format!("Duplicate value: {}", render_value(value)),
        }
    }
    /// `field: message`, as in the Status message.
    pub fn line(&self) -> String {
        if self.field.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.field, self.message)
        }
    }
}

/// Renders a value the way `field.Invalid` does (`"string"` quoted, numbers bare, objects as JSON).
pub fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => {
            let s = other.to_string();
            format!("{s:?}")
        }
    }
}

/// 422 Invalid: `<Kind>.<group> "x" is invalid: <errors>` with causes; `details.kind` is the Kind.
pub fn invalid(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> ApiError {
    let qualified = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    let joined = if errors.len() == 1 {
        errors[0].line()
    } else {
        format!(
            "[{}]",
            errors
                .iter()
                .map(FieldError::line)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let causes: Vec<Value> = errors
        .iter()
        .map(|e| json!({"reason": e.reason, "message": e.message, "field": e.field}))
        .collect();
    let mut d = Map::new();
    d.insert("name".into(), json!(name));
    if !group.is_empty() {
        d.insert("group".into(), json!(group));
    }
    d.insert("kind".into(), json!(kind));
    d.insert("causes".into(), Value::Array(causes));
    failure(
        422,
        "Invalid",
        format!("{qualified} {name:?} is invalid: {joined}"),
        Some(Value::Object(d)),
    )
}

/// 422 Invalid where the server names the plural resource (PUT without resourceVersion).
pub fn invalid_plural(gr: Gr<'_>, name: &str, errors: &[FieldError]) -> ApiError {
    let mut e = invalid(gr.resource, gr.group, name, errors);
    let joined = if errors.len() == 1 {
        errors[0].line()
    } else {
        format!(
            "[{}]",
            errors
                .iter()
                .map(FieldError::line)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    e.body["message"] = json!(format!("{} {name:?} is invalid: {joined}", gr.qualified()));
    e
}

/// 422 with the "request is invalid" generic text (failed JSON-patch `test`).
pub fn patch_rejected() -> ApiError {
    failure(
        422,
        "Invalid",
        "the server rejected our request due to an error in our request".into(),
        Some(json!({})),
    )
}

/// 410 Expired with a message.
pub fn expired(message: &str) -> ApiError {
    failure(410, "Expired", message.into(), None)
}

/// 410 Expired for a compacted list resourceVersion.
pub fn list_rv_too_old() -> ApiError {
    expired("The resourceVersion for the provided list is too old.")
}

/// 410 Expired for a stale continue token.
pub fn continue_expired() -> ApiError {
    expired(
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
    )
}

/// The Status carried by a watch ERROR event for a compacted resourceVersion.
pub fn watch_too_old(requested: u64, oldest: u64) -> ApiError {
    expired(&format!("too old resource version: {requested} ({oldest})"))
}

/// 500 InternalError.
pub fn internal(err: &str) -> ApiError {
    failure(
        500,
        "InternalError",
        format!("Internal error occurred: {err}"),
        Some(json!({"causes": [{"message": err}]})),
    )
}

/// 500 with an unknown reason (a plain storage error).
pub fn unknown_500(message: &str) -> ApiError {
    failure(500, "", message.into(), None)
}

/// 503 ServiceUnavailable.
pub fn service_unavailable(message: &str, retry_after: Option<u32>) -> ApiError {
    let mut e = failure(503, "ServiceUnavailable", message.into(), None);
    if let Some(s) = retry_after {
        e.body["details"] = json!({"retryAfterSeconds": s});
        e.headers.push(("Retry-After".into(), s.to_string()));
    }
    e
}

/// 504 Timeout: `Timeout: <message>`.
pub fn timeout(message: &str, retry_after: u32) -> ApiError {
    let mut e = failure(
        504,
        "Timeout",
        format!("Timeout: {message}"),
        Some(json!({"retryAfterSeconds": retry_after})),
    );
    e.headers
        .push(("Retry-After".into(), retry_after.to_string()));
    e
}

/// 504 for a list resourceVersion newer than the store.
pub fn too_large_rv(requested: u64, current: u64) -> ApiError {
    let mut e = timeout(
        &format!("Too large resource version: {requested}, current: {current}"),
        1,
    );
    e.body["details"] = json!({
        "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
        "retryAfterSeconds": 1
    });
    e
}

/// 429 in the plain-text APF form.
pub fn too_many_requests_plain(retry_after: u32) -> ApiError {
    ApiError {
        code: 429,
        body: json!("Too many requests, please try again later.\n"),
        plain_text: true,
        headers: vec![("Retry-After".into(), retry_after.to_string())],
    }
}

/// 429 in the Status form.
pub fn too_many_requests_status(retry_after: u32) -> ApiError {
    let mut e = failure(
        429,
        "TooManyRequests",
        "Too many requests, please try again later.".into(),
        Some(json!({"retryAfterSeconds": retry_after})),
    );
    e.headers
        .push(("Retry-After".into(), retry_after.to_string()));
    e
}

/// 413 RequestEntityTooLarge.
pub fn too_large_body(limit: usize) -> ApiError {
    failure(
        413,
        "RequestEntityTooLarge",
        format!("Request entity too large: limit is {limit}"),
        None,
    )
}

/// An admission webhook denial (`admission webhook "x" denied the request: msg`).
pub fn admission_denied(webhook: &str, code: u16, reason: &str, message: &str) -> ApiError {
    let code = if code < 400 { 400 } else { code };
    let text = if message.is_empty() {
        format!("admission webhook {webhook:?} denied the request without explanation")
    } else {
        format!("admission webhook {webhook:?} denied the request: {message}")
    };
    failure(code, reason, text, None)
}

/// `Status Success` for a delete without finalizers.
pub fn delete_success(gr: Gr<'_>, name: &str, uid: &str) -> Value {
    let mut d = Map::new();
    d.insert("name".into(), json!(name));
    if !gr.group.is_empty() {
        d.insert("group".into(), json!(gr.group));
    }
    d.insert("kind".into(), json!(gr.resource));
    d.insert("uid".into(), json!(uid));
    json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details": Value::Object(d)})
}

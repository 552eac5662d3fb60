//! Fabric settings edits from the UI form and from `PATCH /api/fabrics/{name}`: which fields may
//! change, how each is read, and applying them to a copy of the settings that
//! [`FabricConfig::validate`] then checks.
//!
//! It does not save anything or reschedule (the handlers do, after validation passed), and it
//! never reads a secret: only token *sources* (a file path or a variable name) are settable.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::error::WebError;
use crate::config::{ClusterTarget, ConfigError, ConflictPolicy, FabricConfig, Limits, PruneMode};

const TOP: &[&str] = &[
    "namespace",
    "tag",
    "interval_secs",
    "enabled",
    "conflict_policy",
    "prune",
    "max_deletes",
    "max_delete_percent",
    "cluster",
    "limits",
];
const CLUSTER: &[&str] = &[
    "server",
    "kubeconfig",
    "context",
    "token_file",
    "token_env",
    "ca_file",
];
const LIMITS: &[&str] = &["qps", "burst", "concurrency", "deadline_secs"];

/// The accepted fields, for messages.
pub(crate) fn accepted() -> String {
    format!(
        "{}, cluster.{{{}}}, limits.{{{}}}",
        TOP.join(", "),
        CLUSTER.join(","),
        LIMITS.join(",")
    )
}

fn type_error(field: &str, want: &str, got: &Value) -> WebError {
    WebError::BadRequest(format!("{field}: expected {want}, got {got}"))
}

fn unknown_keys(obj: &Map<String, Value>, allowed: &[&str], prefix: &str, out: &mut Vec<String>) {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            out.push(format!("{prefix}{k}"));
        }
    }
}

fn opt_string(field: &str, v: &Value) -> Result<Option<String>, WebError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_string())),
        other => Err(type_error(field, "a string or null", other)),
    }
}

fn u64_of(field: &str, v: &Value, want: &str) -> Result<u64, WebError> {
    v.as_u64().ok_or_else(|| type_error(field, want, v))
}

/// Applies a settings patch (a JSON object) to a copy of `cfg` and validates the result.
/// `null` resets `cluster`/`limits` (or one of their fields) to the default.
pub(crate) fn apply(cfg: &FabricConfig, patch: &Value) -> Result<FabricConfig, WebError> {
    let Value::Object(patch) = patch else {
        return Err(WebError::BadRequest(format!(
            "the body must be a JSON object of settings (for example {{\"interval_secs\": 600}}), got {}",
            kind_of(patch)
        )));
    };
    let mut unknown = Vec::new();
    unknown_keys(patch, TOP, "", &mut unknown);
    if let Some(Value::Object(c)) = patch.get("cluster") {
        unknown_keys(c, CLUSTER, "cluster.", &mut unknown);
    }
    if let Some(Value::Object(l)) = patch.get("limits") {
        unknown_keys(l, LIMITS, "limits.", &mut unknown);
    }
    if !unknown.is_empty() {
        return Err(WebError::UnknownFields {
            fields: unknown,
            accepted: accepted(),
        });
    }

    let mut new = cfg.clone();
    if let Some(v) = patch.get("namespace") {
        new.namespace = v
            .as_str()
            .ok_or_else(|| type_error("namespace", "a string", v))?
            .trim()
            .to_string();
    }
    if let Some(v) = patch.get("interval_secs") {
        new.interval_secs = u64_of(
            "interval_secs",
            v,
            "a whole number of seconds (0 turns periodic sync off)",
        )?;
    }
    if let Some(v) = patch.get("enabled") {
        new.enabled = v
            .as_bool()
            .ok_or_else(|| type_error("enabled", "true or false", v))?;
    }
    if let Some(v) = patch.get("conflict_policy") {
        let s = v
            .as_str()
            .ok_or_else(|| type_error("conflict_policy", "a string", v))?;
        new.conflict_policy = ConflictPolicy::parse(s).ok_or_else(|| WebError::Invalid {
            field: "conflict_policy".into(),
            message: format!(
                "fabric {:?}: conflict_policy: {s:?} is not one of fail, force, skip",
                cfg.name
            ),
        })?;
    }
    if let Some(v) = patch.get("tag") {
        new.tag = opt_string("tag", v)?;
    }
    if let Some(v) = patch.get("prune") {
        let s = v
            .as_str()
            .ok_or_else(|| type_error("prune", "a string", v))?;
        new.prune = PruneMode::parse(s).ok_or_else(|| WebError::Invalid {
            field: "prune".into(),
            message: format!(
                "fabric {:?}: prune: {s:?} is not one of auto, confirm, off",
                cfg.name
            ),
        })?;
    }
    if let Some(v) = patch.get("max_deletes") {
        new.max_deletes = u64_of("max_deletes", v, "a whole number of deletions")?;
    }
    if let Some(v) = patch.get("max_delete_percent") {
        new.max_delete_percent = u8::try_from(u64_of("max_delete_percent", v, "a percentage")?)
            .map_err(|_| type_error("max_delete_percent", "a percentage from 0 to 100", v))?;
    }
    match patch.get("cluster") {
        None => {}
        Some(Value::Null) => new.cluster = ClusterTarget::default(),
        Some(Value::Object(c)) => {
            let path = |k: &str| -> Result<Option<Option<PathBuf>>, WebError> {
                c.get(k)
                    .map(|v| opt_string(&format!("cluster.{k}"), v).map(|o| o.map(PathBuf::from)))
                    .transpose()
            };
            let text = |k: &str| -> Result<Option<Option<String>>, WebError> {
                c.get(k)
                    .map(|v| opt_string(&format!("cluster.{k}"), v))
                    .transpose()
            };
            if let Some(v) = text("server")? {
                new.cluster.server = v;
            }
            if let Some(v) = path("kubeconfig")? {
                new.cluster.kubeconfig = v;
            }
            if let Some(v) = text("context")? {
                new.cluster.context = v;
            }
            if let Some(v) = path("token_file")? {
                new.cluster.token_file = v;
            }
            if let Some(v) = text("token_env")? {
                new.cluster.token_env = v;
            }
            if let Some(v) = path("ca_file")? {
                new.cluster.ca_file = v;
            }
        }
        Some(other) => return Err(type_error("cluster", "an object or null", other)),
    }
    match patch.get("limits") {
        None => {}
        Some(Value::Null) => new.limits = Limits::default(),
        Some(Value::Object(l)) => {
            let d = Limits::default();
            for (k, v) in l {
                let field = format!("limits.{k}");
                match k.as_str() {
                    "qps" => {
                        new.limits.qps = match v {
                            Value::Null => d.qps,
                            v => v
                                .as_f64()
                                .ok_or_else(|| type_error(&field, "a number", v))?,
                        }
                    }
                    "burst" => {
                        new.limits.burst = match v {
                            Value::Null => d.burst,
                            v => u32::try_from(u64_of(&field, v, "a whole number")?)
                                .map_err(|_| type_error(&field, "a whole number below 2^32", v))?,
                        }
                    }
                    "concurrency" => {
                        new.limits.concurrency = match v {
                            Value::Null => d.concurrency,
                            v => usize::try_from(u64_of(&field, v, "a whole number")?)
                                .map_err(|_| type_error(&field, "a smaller whole number", v))?,
                        }
                    }
                    "deadline_secs" => {
                        new.limits.deadline_secs = match v {
                            Value::Null => d.deadline_secs,
                            v => u64_of(&field, v, "a whole number of seconds")?,
                        }
                    }
                    _ => unreachable!("unknown limits fields were refused above"),
                }
            }
        }
        Some(other) => return Err(type_error("limits", "an object or null", other)),
    }
    new.validate().map_err(invalid)?;
    Ok(new)
}

fn invalid(e: ConfigError) -> WebError {
    let field = match &e {
        ConfigError::Invalid { field, .. } | ConfigError::Secret { field, .. } => field.clone(),
        _ => String::new(),
    };
    WebError::Invalid {
        field,
        message: e.to_string(),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The settings form's fields, in order.
pub(crate) const FORM_FIELDS: &[&str] = &[
    "namespace",
    "tag",
    "interval_secs",
    "enabled",
    "conflict_policy",
    "prune",
    "max_deletes",
    "max_delete_percent",
    "cluster_server",
    "cluster_kubeconfig",
    "cluster_context",
    "cluster_token_file",
    "cluster_token_env",
    "cluster_ca_file",
    "limits_qps",
    "limits_burst",
    "limits_concurrency",
    "limits_deadline_secs",
];

/// Turns the settings form into a patch. Fields the form did not send are left unchanged; a
/// repeated field takes its last value (the `enabled` checkbox follows a hidden `false`).
pub(crate) fn form_to_patch(fabric: &str, form: &[(String, String)]) -> Result<Value, WebError> {
    let mut unknown: Vec<String> = form
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| *k != super::session::CSRF_FIELD && !FORM_FIELDS.contains(k))
        .map(str::to_string)
        .collect();
    unknown.sort();
    unknown.dedup();
    if !unknown.is_empty() {
        return Err(WebError::UnknownFields {
            fields: unknown,
            accepted: FORM_FIELDS.join(", "),
        });
    }
    let last = |k: &str| {
        form.iter()
            .rev()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.trim())
    };
    let bad = |field: &str, message: String| WebError::Invalid {
        field: field.to_string(),
        message: format!("fabric {fabric:?}: {field}: {message}"),
    };
    let whole = |field: &str, key: &str| -> Result<Option<Value>, WebError> {
        match last(key) {
            None => Ok(None),
            Some("") => Err(bad(field, "is required".into())),
            Some(s) => s
                .parse::<u64>()
                .map(|n| Some(Value::from(n)))
                .map_err(|_| bad(field, format!("{s:?} is not a whole number"))),
        }
    };
    let mut patch = Map::new();
    if let Some(v) = last("namespace") {
        patch.insert("namespace".into(), Value::from(v));
    }
    if let Some(v) = whole("interval_secs", "interval_secs")? {
        patch.insert("interval_secs".into(), v);
    }
    if let Some(v) = last("enabled") {
        let on = match v {
            "on" | "true" | "1" | "yes" => true,
            "off" | "false" | "0" | "no" | "" => false,
            other => return Err(bad("enabled", format!("{other:?} is not on or off"))),
        };
        patch.insert("enabled".into(), Value::from(on));
    }
    if let Some(v) = last("conflict_policy") {
        patch.insert("conflict_policy".into(), Value::from(v));
    }
    if let Some(v) = last("tag") {
        patch.insert(
            "tag".into(),
            if v.is_empty() {
                Value::Null
            } else {
                Value::from(v)
            },
        );
    }
    if let Some(v) = last("prune") {
        patch.insert("prune".into(), Value::from(v));
    }
    for k in ["max_deletes", "max_delete_percent"] {
        if let Some(v) = whole(k, k)? {
            patch.insert(k.into(), v);
        }
    }
    let mut cluster = Map::new();
    for k in CLUSTER {
        if let Some(v) = last(&format!("cluster_{k}")) {
            cluster.insert(
                (*k).to_string(),
                if v.is_empty() {
                    Value::Null
                } else {
                    Value::from(v)
                },
            );
        }
    }
    if !cluster.is_empty() {
        patch.insert("cluster".into(), Value::Object(cluster));
    }
    let mut limits = Map::new();
    if let Some(v) = last("limits_qps") {
        let n: f64 = v
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite())
            .ok_or_else(|| bad("limits.qps", format!("{v:?} is not a number")))?;
        limits.insert("qps".into(), Value::from(n));
    }
    for (k, field) in [
        ("burst", "limits.burst"),
        ("concurrency", "limits.concurrency"),
        ("deadline_secs", "limits.deadline_secs"),
    ] {
        if let Some(v) = whole(field, &format!("limits_{k}"))? {
            limits.insert(k.into(), v);
        }
    }
    if !limits.is_empty() {
        patch.insert("limits".into(), Value::Object(limits));
    }
    Ok(Value::Object(patch))
}

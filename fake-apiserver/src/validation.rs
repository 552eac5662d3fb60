//! Kubernetes name, label and metadata validation with the apimachinery message texts.
//!
//! It validates `metadata` only; schema validation of the object body lives in `schema.rs`.

use crate::status::FieldError;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

static DNS1123_SUBDOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").unwrap()
});
static DNS1123_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").unwrap());
static QUALIFIED_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$").unwrap());
static LABEL_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$").unwrap());

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const QNAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/// DNS-1123 subdomain (object names). Returns the apimachinery message on failure.
pub fn dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err("must be no more than 253 characters".into());
    }
    if !DNS1123_SUBDOMAIN.is_match(s) {
        return Err(SUBDOMAIN_MSG.into());
    }
    Ok(())
}

/// DNS-1123 label (namespace names).
pub fn dns1123_label(s: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err("must be no more than 63 characters".into());
    }
    if !DNS1123_LABEL.is_match(s) {
        return Err(LABEL_MSG.into());
    }
    Ok(())
}

/// Qualified name (`prefix/name`): label keys, annotation keys, finalizers.
pub fn qualified_name(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return Err("prefix part must be non-empty".into());
        }
        if let Err(m) = dns1123_subdomain(p) {
            return Err(format!("prefix part {m}"));
        }
    }
    if name.is_empty() {
        return Err("name part must be non-empty".into());
    }
    if name.len() > 63 {
        return Err("name part must be no more than 63 characters".into());
    }
    if !QUALIFIED_NAME.is_match(name) {
        return Err(QNAME_MSG.into());
    }
    Ok(())
}

/// Label value.
pub fn label_value(s: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err("must be no more than 63 characters".into());
    }
    if !LABEL_VALUE.is_match(s) {
        return Err(LABEL_VALUE_MSG.into());
    }
    Ok(())
}

/// How an object's name is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    Subdomain,
    Label,
}

/// Validates `metadata` (name, labels, annotations, finalizers) of an object about to be stored.
pub fn validate_metadata(obj: &Value, rule: NameRule) -> Vec<FieldError> {
    let mut errs = vec![];
    let meta = obj.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        let r = match rule {
            NameRule::Subdomain => dns1123_subdomain(name),
            NameRule::Label => dns1123_label(name),
        };
        if let Err(m) = r {
            errs.push(FieldError::invalid(
                "metadata.name",
                &Value::String(name.into()),
                &m,
            ));
        }
    }
    if let Some(labels) = meta.and_then(|m| m.get("labels")) {
        match labels {
            Value::Object(map) => {
                for (k, v) in map {
                    if let Err(m) = qualified_name(k) {
                        errs.push(FieldError::invalid(
                            "metadata.labels",
                            &Value::String(k.clone()),
                            &m,
                        ));
                    }
                    match v {
                        Value::String(s) => {
                            if let Err(m) = label_value(s) {
                                errs.push(FieldError::invalid("metadata.labels", v, &m));
                            }
                        }
                        other => errs.push(FieldError::type_invalid(
                            format!("metadata.labels.{k}"),
                            other,
                            "must be a string",
                        )),
                    }
                }
            }
            Value::Null => {}
            other => errs.push(FieldError::type_invalid(
                "metadata.labels",
                other,
                "must be an object",
            )),
        }
    }
    if let Some(Value::Object(ann)) = meta.and_then(|m| m.get("annotations")) {
        let mut total = 0usize;
        for (k, v) in ann {
            if let Err(m) = qualified_name(&k.to_lowercase()) {
                errs.push(FieldError::invalid(
                    "metadata.annotations",
                    &Value::String(k.clone()),
                    &m,
                ));
            }
            total += k.len() + v.as_str().map(str::len).unwrap_or(0);
        }
        if total > 256 * 1024 {
            errs.push(FieldError::too_long("metadata.annotations", 256 * 1024));
        }
    }
    if let Some(Value::Array(fins)) = meta.and_then(|m| m.get("finalizers")) {
        for (i, f) in fins.iter().enumerate() {
            let s = f.as_str().unwrap_or("");
            if let Err(m) = qualified_name(s) {
                errs.push(FieldError::invalid(
                    format!("metadata.finalizers[{i}]"),
                    f,
                    &m,
                ));
            } else if !s.contains('/')
                && !matches!(s, "kubernetes" | "orphan" | "foregroundDeletion")
            {
                errs.push(FieldError::invalid(
                    format!("metadata.finalizers[{i}]"),
                    f,
                    "name is neither a standard finalizer name nor is it fully qualified",
                ));
            }
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_labels() {
        assert!(dns1123_subdomain("leaf-01.x").is_ok());
        assert!(dns1123_subdomain("Leaf").is_err());
        assert!(dns1123_label("a.b").is_err());
        assert!(qualified_name("example.com/x").is_ok());
        assert!(qualified_name("bad key").is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("-x").is_err());
        let errs = validate_metadata(
            &json!({"metadata":{"name":"Bad_Name","labels":{"a":"b c"}}}),
            NameRule::Subdomain,
        );
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].field, "metadata.name");
    }
}

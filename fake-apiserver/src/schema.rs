//! Structural schemas compiled from a CRD's `openAPIV3Schema`: validation (422 causes with the
//! kube-openapi texts), pruning of unknown fields, defaulting, and the list/map merge topology that
//! server-side apply needs.
//!
//! It does not evaluate CEL (`x-kubernetes-validations`) rules; those are ignored.

use crate::meta;
use crate::status::FieldError;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How a list merges under server-side apply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ListType {
    #[default]
    Atomic,
    Set,
    Map(Vec<String>),
}

/// A compiled structural schema node.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub ty: Option<String>,
    pub properties: BTreeMap<String, Arc<Schema>>,
    pub additional: Option<Arc<Schema>>,
    pub additional_allowed: bool,
    pub items: Option<Arc<Schema>>,
    pub required: Vec<String>,
    pub enum_values: Option<Vec<Value>>,
    pub nullable: bool,
    pub int_or_string: bool,
    pub preserve_unknown: bool,
    pub embedded: bool,
    pub list_type: ListType,
    pub map_atomic: bool,
    pub format: Option<String>,
    pub pattern: Option<(String, Regex)>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_min: bool,
    pub exclusive_max: bool,
    pub multiple_of: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: bool,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
    pub default: Option<Value>,
    pub all_of: Vec<Arc<Schema>>,
    pub any_of: Vec<Arc<Schema>>,
    pub one_of: Vec<Arc<Schema>>,
    pub not: Option<Arc<Schema>>,
}

/// Why a schema could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError(pub String);

impl Schema {
    /// Compiles a JSON schema node (`openAPIV3Schema`).
    pub fn compile(v: &Value) -> Result<Schema, SchemaError> {
        Self::compile_at(v, "openAPIV3Schema")
    }

    fn compile_at(v: &Value, path: &str) -> Result<Schema, SchemaError> {
        let o = v
            .as_object()
            .ok_or_else(|| SchemaError(format!("{path}: must be an object")))?;
        let mut s = Schema {
            ty: o.get("type").and_then(Value::as_str).map(str::to_string),
            ..Default::default()
        };
        if let Some(Value::Object(props)) = o.get("properties") {
            for (k, pv) in props {
                s.properties.insert(
                    k.clone(),
                    Arc::new(Self::compile_at(pv, &format!("{path}.properties[{k}]"))?),
                );
            }
        }
        match o.get("additionalProperties") {
            Some(Value::Bool(b)) => s.additional_allowed = *b,
            Some(a @ Value::Object(_)) => {
                s.additional = Some(Arc::new(Self::compile_at(
                    a,
                    &format!("{path}.additionalProperties"),
                )?));
                s.additional_allowed = true;
            }
            _ => {}
        }
        if let Some(it) = o.get("items") {
            s.items = Some(Arc::new(Self::compile_at(it, &format!("{path}.items"))?));
        }
        if let Some(Value::Array(r)) = o.get("required") {
            s.required = r
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
        }
        if let Some(Value::Array(e)) = o.get("enum") {
            s.enum_values = Some(e.clone());
        }
        let flag = |k: &str| o.get(k).and_then(Value::as_bool).unwrap_or(false);
        s.nullable = flag("nullable");
        s.int_or_string = flag("x-kubernetes-int-or-string");
        s.preserve_unknown = flag("x-kubernetes-preserve-unknown-fields");
        s.embedded = flag("x-kubernetes-embedded-resource");
        s.unique_items = flag("uniqueItems");
        s.exclusive_min = flag("exclusiveMinimum");
        s.exclusive_max = flag("exclusiveMaximum");
        s.list_type = match o.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => ListType::Map(
                o.get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            _ => ListType::Atomic,
        };
        if let ListType::Map(keys) = &s.list_type
            && keys.is_empty()
        {
            return Err(SchemaError(format!(
                "{path}.x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"
            )));
        }
        s.map_atomic = o.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic");
        s.format = o.get("format").and_then(Value::as_str).map(str::to_string);
        if let Some(p) = o.get("pattern").and_then(Value::as_str) {
            let re = Regex::new(p)
                .map_err(|e| SchemaError(format!("{path}.pattern: Invalid value: {p:?}: {e}")))?;
            s.pattern = Some((p.to_string(), re));
        }
        let num = |k: &str| o.get(k).and_then(Value::as_f64);
        let uint = |k: &str| o.get(k).and_then(Value::as_u64);
        s.minimum = num("minimum");
        s.maximum = num("maximum");
        s.multiple_of = num("multipleOf");
        s.min_length = uint("minLength");
        s.max_length = uint("maxLength");
        s.min_items = uint("minItems");
        s.max_items = uint("maxItems");
        s.min_properties = uint("minProperties");
        s.max_properties = uint("maxProperties");
        s.default = o.get("default").cloned();
        for (k, dst) in [
            ("allOf", &mut s.all_of),
            ("anyOf", &mut s.any_of),
            ("oneOf", &mut s.one_of),
        ] {
            if let Some(Value::Array(list)) = o.get(k) {
                for (i, sub) in list.iter().enumerate() {
                    dst.push(Arc::new(Self::compile_at(
                        sub,
                        &format!("{path}.{k}[{i}]"),
                    )?));
                }
            }
        }
        if let Some(n) = o.get("not") {
            s.not = Some(Arc::new(Self::compile_at(n, &format!("{path}.not"))?));
        }
        Ok(s)
    }

    /// The schema of a map/struct field, if the schema knows it.
    pub fn field(&self, name: &str) -> Option<&Arc<Schema>> {
        self.properties.get(name).or(self.additional.as_ref())
    }
}

/// Removes fields the schema does not know; returns the dotted paths of what was removed.
pub fn prune_root(obj: &mut Value, schema: &Schema) -> Vec<String> {
    let mut unknown = vec![];
    if let Value::Object(map) = obj {
        let keys: Vec<String> = map.keys().cloned().collect();
        for k in keys {
            if k == "apiVersion" || k == "kind" {
                continue;
            }
            if k == "metadata" {
                if let Some(Value::Object(m)) = map.get_mut("metadata") {
                    let mk: Vec<String> = m.keys().cloned().collect();
                    for f in mk {
                        if !meta::FIELDS.contains(&f.as_str()) {
                            m.remove(&f);
                            unknown.push(format!("metadata.{f}"));
                        }
                    }
                }
                continue;
            }
            match schema.properties.get(&k) {
                Some(sub) => {
                    if let Some(v) = map.get_mut(&k) {
                        prune(v, sub, &k, &mut unknown);
                    }
                }
                None if schema.preserve_unknown => {}
                None => {
                    map.remove(&k);
                    unknown.push(k);
                }
            }
        }
    }
    unknown
}

fn prune(v: &mut Value, s: &Schema, path: &str, unknown: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if s.embedded
                && let Some(Value::Object(m)) = map.get_mut("metadata")
            {
                let mk: Vec<String> = m.keys().cloned().collect();
                for f in mk {
                    if !meta::FIELDS.contains(&f.as_str()) {
                        m.remove(&f);
                        unknown.push(format!("{path}.metadata.{f}"));
                    }
                }
            }
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if s.embedded && (k == "apiVersion" || k == "kind" || k == "metadata") {
                    continue;
                }
                let sub = s.properties.get(&k).or(s.additional.as_ref());
                match sub {
                    Some(sub) => {
                        let p = format!("{path}.{k}");
                        if let Some(child) = map.get_mut(&k) {
                            prune(child, sub, &p, unknown);
                        }
                    }
                    None if s.preserve_unknown || s.additional_allowed => {}
                    None => {
                        map.remove(&k);
                        unknown.push(format!("{path}.{k}"));
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = &s.items {
                for (i, it) in items.iter_mut().enumerate() {
                    prune(it, is, &format!("{path}[{i}]"), unknown);
                }
            }
        }
        _ => {}
    }
}

/// Drops `null` values of non-nullable fields (they are dropped, or defaulted, by the real server).
pub fn drop_nulls(v: &mut Value, s: &Schema) {
    match v {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let sub = s.properties.get(&k).or(s.additional.as_ref()).cloned();
                let is_null = map.get(&k).is_some_and(Value::is_null);
                if let Some(sub) = sub {
                    if is_null && !sub.nullable {
                        map.remove(&k);
                    } else if let Some(c) = map.get_mut(&k) {
                        drop_nulls(c, &sub);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = &s.items {
                for it in items.iter_mut() {
                    drop_nulls(it, is);
                }
            }
        }
        _ => {}
    }
}

/// Applies `default` values for absent properties, recursively.
pub fn apply_defaults(v: &mut Value, s: &Schema) {
    match v {
        Value::Object(map) => {
            for (k, sub) in &s.properties {
                if !map.contains_key(k)
                    && let Some(d) = &sub.default
                {
                    map.insert(k.clone(), d.clone());
                }
            }
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if let Some(sub) = s.properties.get(&k).or(s.additional.as_ref())
                    && let Some(c) = map.get_mut(&k)
                {
                    apply_defaults(c, sub);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = &s.items {
                for it in items.iter_mut() {
                    apply_defaults(it, is);
                }
            }
        }
        _ => {}
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                "integer"
            } else {
                "number"
            }
        }
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn fmt_num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Validates the whole object body (everything but `metadata`, `apiVersion`, `kind`).
pub fn validate_root(obj: &Value, s: &Schema) -> Vec<FieldError> {
    let mut errs = vec![];
    if let Value::Object(map) = obj {
        for r in &s.required {
            if r != "metadata" && r != "apiVersion" && r != "kind" && !map.contains_key(r) {
                errs.push(FieldError::required(r.clone(), ""));
            }
        }
        for (k, v) in map {
            if k == "apiVersion" || k == "kind" || k == "metadata" {
                continue;
            }
            if let Some(sub) = s.properties.get(k) {
                validate(v, sub, k, &mut errs);
            }
        }
    }
    errs
}

/// Validates one value at `path` against `s`, appending causes.
pub fn validate(v: &Value, s: &Schema, path: &str, errs: &mut Vec<FieldError>) {
    if v.is_null() {
        if s.nullable {
            return;
        }
        if s.ty.is_some() || s.int_or_string {
            let want = if s.int_or_string {
                "integer,string".to_string()
            } else {
                s.ty.clone().unwrap_or_default()
            };
            errs.push(FieldError::type_invalid(
                path,
                &Value::String("null".into()),
                &format!("{path} in body must be of type {want}: \"null\""),
            ));
        }
        return;
    }
    let actual = type_name(v);
    if s.int_or_string {
        if actual != "integer" && actual != "string" {
            errs.push(FieldError::type_invalid(
                path,
                &Value::String(actual.into()),
                &format!("{path} in body must be of type integer,string: {actual:?}"),
            ));
            return;
        }
    } else if let Some(t) = &s.ty {
        let ok = match t.as_str() {
            "number" => matches!(v, Value::Number(_)),
            "integer" => {
                actual == "integer"
                    || v.as_f64()
                        .is_some_and(|f| f.fract() == 0.0 && actual == "number")
            }
            other => other == actual,
        };
        if !ok {
            errs.push(FieldError::type_invalid(
                path,
                &Value::String(actual.into()),
                &format!("{path} in body must be of type {t}: {actual:?}"),
            ));
            return;
        }
    }
    if let Some(ev) = &s.enum_values
        && !ev.iter().any(|e| e == v)
    {
        let quoted: Vec<Value> = ev
            .iter()
            .map(|e| match e {
                Value::String(_) => e.clone(),
                other => Value::String(other.to_string()),
            })
            .collect();
        errs.push(FieldError::not_supported(path, v, &quoted));
    }
    match v {
        Value::String(st) => {
            let len = st.chars().count() as u64;
            if let Some(max) = s.max_length
                && len > max
            {
                errs.push(FieldError::too_long(path, max));
            }
            if let Some(min) = s.min_length
                && len < min
            {
                errs.push(FieldError::invalid(
                    path,
                    v,
                    &format!("{path} in body should be at least {min} chars long"),
                ));
            }
            if let Some((p, re)) = &s.pattern
                && !re.is_match(st)
            {
                errs.push(FieldError::invalid(
                    path,
                    v,
                    &format!("{path} in body should match '{p}'"),
                ));
            }
            if let Some(f) = &s.format
                && !format_ok(f, st)
            {
                errs.push(FieldError::invalid(
                    path,
                    v,
                    &format!("{path} in body must be of type {f}: {st:?}"),
                ));
            }
        }
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            if let Some(min) = s.minimum {
                if s.exclusive_min && f <= min {
                    errs.push(FieldError::invalid(
                        path,
                        v,
                        &format!("{path} in body should be greater than {}", fmt_num(min)),
                    ));
                } else if f < min {
                    errs.push(FieldError::invalid(
                        path,
                        v,
                        &format!(
                            "{path} in body should be greater than or equal to {}",
                            fmt_num(min)
                        ),
                    ));
                }
            }
            if let Some(max) = s.maximum {
                if s.exclusive_max && f >= max {
                    errs.push(FieldError::invalid(
                        path,
                        v,
                        &format!("{path} in body should be less than {}", fmt_num(max)),
                    ));
                } else if f > max {
                    errs.push(FieldError::invalid(
                        path,
                        v,
                        &format!(
                            "{path} in body should be less than or equal to {}",
                            fmt_num(max)
                        ),
                    ));
                }
            }
            if let Some(m) = s.multiple_of
                && m != 0.0
                && (f / m).fract().abs() > 1e-9
            {
                errs.push(FieldError::invalid(
                    path,
                    v,
                    &format!("{path} in body should be a multiple of {}", fmt_num(m)),
                ));
            }
            if s.format.as_deref() == Some("int32")
                && n.as_i64()
                    .is_some_and(|i| i < i32::MIN as i64 || i > i32::MAX as i64)
            {
                errs.push(FieldError::invalid(
                    path,
                    v,
                    &format!("{path} in body must be of type int32: \"{n}\""),
                ));
            }
        }
        Value::Array(items) => {
            if let Some(max) = s.max_items
                && items.len() as u64 > max
            {
                errs.push(FieldError::too_many(path, items.len(), max));
            }
            if let Some(min) = s.min_items
                && (items.len() as u64) < min
            {
                errs.push(FieldError::invalid(
                    path,
                    v,
                    &format!("{path} in body should have at least {min} items"),
                ));
            }
            if let Some(is) = &s.items {
                for (i, it) in items.iter().enumerate() {
                    validate(it, is, &format!("{path}[{i}]"), errs);
                }
            }
            match &s.list_type {
                ListType::Set => {
                    for (i, it) in items.iter().enumerate() {
                        if items[..i].contains(it) {
                            errs.push(FieldError::duplicate(format!("{path}[{i}]"), it));
                        }
                    }
                }
                ListType::Map(keys) => {
                    let mut seen: Vec<Vec<Value>> = vec![];
                    for (i, it) in items.iter().enumerate() {
                        let k: Vec<Value> = keys
                            .iter()
                            .map(|k| it.get(k).cloned().unwrap_or(Value::Null))
                            .collect();
                        if seen.contains(&k) {
                            let mut km = Map::new();
                            for (kn, kv) in keys.iter().zip(k.iter()) {
                                km.insert(kn.clone(), kv.clone());
                            }
                            errs.push(FieldError::duplicate(
                                format!("{path}[{i}]"),
                                &Value::Object(km),
                            ));
                        }
                        seen.push(k);
                    }
                }
                ListType::Atomic => {
                    if s.unique_items {
                        for (i, it) in items.iter().enumerate() {
                            if items[..i].contains(it) {
                                errs.push(FieldError::invalid(
                                    path,
                                    v,
                                    &format!("{path} in body shouldn't contain duplicates"),
                                ));
                                break;
                            }
                        }
                    }
                }
            }
        }
        Value::Object(map) => {
            for r in &s.required {
                if !map.contains_key(r) {
                    errs.push(FieldError::required(format!("{path}.{r}"), ""));
                }
            }
            if let Some(max) = s.max_properties
                && map.len() as u64 > max
            {
                errs.push(FieldError::invalid(
                    path,
                    v,
                    &format!("{path} in body should have at most {max} properties"),
                ));
            }
            if let Some(min) = s.min_properties
                && (map.len() as u64) < min
            {
                errs.push(FieldError::invalid(
                    path,
                    v,
                    &format!("{path} in body should have at least {min} properties"),
                ));
            }
            for (k, child) in map {
                if s.embedded && (k == "apiVersion" || k == "kind" || k == "metadata") {
                    continue;
                }
                if let Some(sub) = s.properties.get(k).or(s.additional.as_ref()) {
                    validate(child, sub, &format!("{path}.{k}"), errs);
                }
            }
        }
        _ => {}
    }
    for sub in &s.all_of {
        validate(v, sub, path, errs);
    }
    if !s.any_of.is_empty() {
        let ok = s.any_of.iter().any(|sub| {
            let mut e = vec![];
            validate(v, sub, path, &mut e);
            e.is_empty()
        });
        if !ok {
            errs.push(FieldError::invalid(
                path,
                v,
                &format!("{path} in body must validate at least one schema (anyOf)"),
            ));
        }
    }
    if !s.one_of.is_empty() {
        let n = s
            .one_of
            .iter()
            .filter(|sub| {
                let mut e = vec![];
                validate(v, sub, path, &mut e);
                e.is_empty()
            })
            .count();
        if n != 1 {
            errs.push(FieldError::invalid(
                path,
                v,
                &format!("{path} in body must validate one and only one schema (oneOf)"),
            ));
        }
    }
    if let Some(n) = &s.not {
        let mut e = vec![];
        validate(v, n, path, &mut e);
        if e.is_empty() {
            errs.push(FieldError::invalid(
                path,
                v,
                &format!("{path} in body must not validate the schema (not)"),
            ));
        }
    }
}

fn format_ok(f: &str, s: &str) -> bool {
    match f {
        "date-time" => s.parse::<jiff::Timestamp>().is_ok(),
        "date" => s.parse::<jiff::civil::Date>().is_ok(),
        "uuid" => uuid::Uuid::parse_str(s).is_ok(),
        "ipv4" => s.parse::<std::net::Ipv4Addr>().is_ok(),
        "ipv6" => s.parse::<std::net::Ipv6Addr>().is_ok(),
        "ip" => s.parse::<std::net::IpAddr>().is_ok(),
        "cidr" => s
            .split_once('/')
            .is_some_and(|(a, p)| a.parse::<std::net::IpAddr>().is_ok() && p.parse::<u8>().is_ok()),
        "byte" => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(s).is_ok()
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replay_messages() {
        let s = Schema::compile(&json!({"type":"object","properties":{"spec":{"type":"object","required":["prop2"],
            "properties":{"prop2":{"type":"array","items":{"type":"boolean"}},"prop4":{"x-kubernetes-int-or-string":true}}}}}))
        .unwrap();
        let e = validate_root(&json!({"spec":{"prop2":true}}), &s);
        assert_eq!(
            e[0].line(),
            "spec.prop2: Invalid value: \"boolean\": spec.prop2 in body must be of type array: \"boolean\""
        );
        let e = validate_root(&json!({"spec":{}}), &s);
        assert_eq!(e[0].line(), "spec.prop2: Required value");
        let e = validate_root(&json!({"spec":{"prop2":[],"prop4":true}}), &s);
        assert_eq!(
            e[0].line(),
            "spec.prop4: Invalid value: \"boolean\": spec.prop4 in body must be of type integer,string: \"boolean\""
        );
    }
}

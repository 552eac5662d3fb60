//! A request body parsed field by field (DRF's `to_internal_value`): writable fields, tags,
//! custom field data, cable terminations, the changelog message, and the single-field uniqueness
//! checks DRF runs with them; errors are collected per field.
//!
//! It does not run model validation (`clean`) or touch the store.

use serde_json::{Map, Value, json};

use super::field::{expect_list, parse_field, parse_int, resolve_ref};
use super::{Errs, WriteError, add_err, one};
use crate::model::{Computed, FieldKind, Model, REQUIRED, UNIQUE, WRITABLE};
use crate::store::{Id, Rec, Store};
use crate::util::py_type_name;

/// What a request body parsed into, before model validation.
#[derive(Default)]
pub(super) struct Parsed {
    pub(super) vals: Vec<(usize, Value)>,
    pub(super) tags: Option<Vec<Id>>,
    pub(super) cf: Option<Map<String, Value>>,
    pub(super) terms: [Option<Vec<(Model, Id)>>; 2],
    pub(super) message: String,
}

fn parse_terminations(v: &Value) -> Result<Vec<(Model, Id)>, Value> {
    let items = expect_list(v).map_err(|e| json!([e]))?;
    let mut out = Vec::new();
    let mut errs = Map::new();
    for (i, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            errs.insert(
                i.to_string(),
                json!({"non_field_errors": [format!("Invalid data. Expected a dictionary, but got {}.", py_type_name(item))]}),
            );
            continue;
        };
        let mut e = Map::new();
        let ty = obj.get("object_type");
        let model = match ty.and_then(Value::as_str) {
            Some(s) => match Model::from_label(s) {
                Some(Model::Interface) => Some(Model::Interface),
                _ => {
                    add_err(&mut e, "object_type", format!("Invalid content type: {s}"));
                    None
                }
            },
            None => {
                add_err(&mut e, "object_type", "This field is required.");
                None
            }
        };
        let id = match obj.get("object_id") {
            Some(v) => match parse_int(v, 0, i64::MAX, false) {
                Ok(v) => v.as_u64(),
                Err(msg) => {
                    add_err(&mut e, "object_id", msg);
                    None
                }
            },
            None => {
                add_err(&mut e, "object_id", "This field is required.");
                None
            }
        };
        if !e.is_empty() {
            errs.insert(i.to_string(), Value::Object(e));
            continue;
        }
        if let (Some(m), Some(id)) = (model, id) {
            out.push((m, id));
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(Value::Object(errs))
    }
}

/// Parses a request body for `m` (DRF's `to_internal_value`), collecting field errors.
pub(super) fn parse(
    store: &Store,
    m: Model,
    body: &Value,
    existing: Option<&Rec>,
    partial: bool,
) -> Result<Parsed, WriteError> {
    let Some(input) = body.as_object() else {
        return Err(one(
            "__all__",
            format!(
                "Invalid data. Expected a dictionary, but got {}.",
                py_type_name(body)
            ),
        ));
    };
    let mut errs = Errs::new();
    let mut parsed = Parsed::default();
    let creating = existing.is_none();
    for (i, f) in m.fields().iter().enumerate() {
        if !f.is(WRITABLE) {
            continue;
        }
        let Some(v) = input.get(f.name) else {
            if f.is(REQUIRED) && (creating || !partial) {
                add_err(&mut errs, f.name, "This field is required.");
            }
            continue;
        };
        match f.kind {
            FieldKind::Tags => match expect_list(v) {
                Ok(items) => {
                    let mut ids = Vec::new();
                    let mut bad = None;
                    for item in items {
                        match resolve_ref(store, Model::Tag, item) {
                            Ok(id) if !ids.contains(&id) => ids.push(id),
                            Ok(_) => {}
                            Err(e) => {
                                bad = Some(e);
                                break;
                            }
                        }
                    }
                    match bad {
                        Some(e) => add_err(&mut errs, f.name, e),
                        None => parsed.tags = Some(ids),
                    }
                }
                Err(e) => add_err(&mut errs, f.name, e),
            },
            FieldKind::CustomFields => match v {
                Value::Object(map) => {
                    let defs = crate::render::cf_defs(store, m);
                    let mut unknown: Vec<&String> = map
                        .keys()
                        .filter(|k| !defs.iter().any(|d| &d.name == *k))
                        .collect();
                    unknown.sort();
                    if unknown.is_empty() {
                        let mut data = map.clone();
                        for d in &defs {
                            if d.ty == "url"
                                && let Some(Value::String(s)) = data.get(&d.name)
                                && !s.is_empty()
                                && !s.contains("://")
                            {
                                let fixed = format!("https://{s}");
                                data.insert(d.name.clone(), Value::String(fixed));
                            }
                        }
                        parsed.cf = Some(data);
                    } else {
                        let mut inner = Map::new();
                        for k in unknown {
                            inner.insert(
                                k.clone(),
                                Value::String(format!(
                                    "Custom field '{k}' does not exist for this object type."
                                )),
                            );
                        }
                        errs.insert(f.name.into(), Value::Object(inner));
                    }
                }
                _ => add_err(
                    &mut errs,
                    f.name,
                    "Invalid data format. Custom field data must be passed as a dictionary mapping field names to their values.",
                ),
            },
            FieldKind::Computed(Computed::CableTerminations(end)) => match parse_terminations(v) {
                Ok(t) => parsed.terms[usize::from(end == 'B')] = Some(t),
                Err(e) => {
                    errs.insert(f.name.into(), e);
                }
            },
            _ => match parse_field(store, m, f, v) {
                Ok(v) => parsed.vals.push((i, v)),
                Err(e) => add_err(&mut errs, f.name, e),
            },
        }
    }
    if let Some(msg) = input.get("changelog_message") {
        match msg {
            Value::String(s) if s.chars().count() <= 200 => parsed.message = s.clone(),
            Value::Null => {}
            Value::String(_) => add_err(
                &mut errs,
                "changelog_message",
                "Ensure this field has no more than 200 characters.",
            ),
            _ => add_err(&mut errs, "changelog_message", "Not a valid string."),
        }
    }
    // DRF UniqueValidator on single unique fields runs with the field validation.
    for (i, v) in &parsed.vals {
        let f = &m.fields()[*i];
        if !f.is(UNIQUE) || v.is_null() || errs.contains_key(f.name) {
            continue;
        }
        let key = v
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| v.to_string());
        if let Some(holder) = store.unique_holder(m, f.name, &key)
            && Some(holder) != existing.map(|e| e.id)
        {
            add_err(
                &mut errs,
                f.name,
                format!(
                    "{} with this {} already exists.",
                    m.meta().verbose,
                    field_verbose(f.name)
                ),
            );
        }
    }
    if errs.is_empty() {
        Ok(parsed)
    } else {
        Err(WriteError::Invalid(errs))
    }
}

fn field_verbose(name: &str) -> String {
    match name {
        "rd" => "route distinguisher".into(),
        other => other.replace('_', " "),
    }
}

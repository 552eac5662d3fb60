//! Custom field data on objects: the checks of NetBox's `CustomFieldsMixin.clean()` (type,
//! bounds, regex, choices, uniqueness, required fields) and the queryset update that drops a
//! deleted custom field's values from every object.
//!
//! It does not validate the `extras.customfield` objects themselves (see `clean::extras`).

use serde_json::{Map, Value};

use super::Tx;
use crate::model::Model;
use crate::render::CfDef;
use crate::store::{Id, Store};
use crate::util::{is_iso_date, is_iso_datetime, py_repr, py_str};

fn validate_cf_value(def: &CfDef, v: &Value) -> Result<(), String> {
    if v.is_null() || v.as_str() == Some("") {
        if def.required {
            return Err("Required field cannot be empty.".into());
        }
        return Ok(());
    }
    let bounds = |x: f64| -> Result<(), String> {
        if let Some(min) = def.min
            && x < min
        {
            return Err(format!("Value must be at least {min:.4}"));
        }
        if let Some(max) = def.max
            && x > max
        {
            return Err(format!("Value must not exceed {max:.4}"));
        }
        Ok(())
    };
    match def.ty.as_str() {
        "text" | "longtext" => {
            let Some(s) = v.as_str() else {
                return Err("Value must be a string.".into());
            };
            if !def.regex.is_empty() {
                let ok = regex::Regex::new(&format!("^(?:{})", def.regex))
                    .map(|r| r.is_match(s))
                    .unwrap_or(true);
                if !ok {
                    return Err(format!("Value must match regex '{}'", def.regex));
                }
            }
            Ok(())
        }
        "integer" => match v {
            Value::Number(n) if n.as_i64().is_some() => bounds(n.as_f64().unwrap_or(0.0)),
            _ => Err("Value must be an integer.".into()),
        },
        "decimal" => {
            let x = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            match x {
                Some(x) => bounds(x),
                None => Err("Value must be a decimal.".into()),
            }
        }
        "boolean" => match v {
            Value::Bool(_) => Ok(()),
            Value::Number(n) if matches!(n.as_i64(), Some(0 | 1)) => Ok(()),
            _ => Err("Value must be true or false.".into()),
        },
        "date" => match v.as_str() {
            Some(s) if is_iso_date(s) => Ok(()),
            _ => Err("Date values must be in ISO 8601 format (YYYY-MM-DD).".into()),
        },
        "datetime" => match v.as_str() {
            Some(s) if is_iso_datetime(s) => Ok(()),
            _ => {
                Err("Date and time values must be in ISO 8601 format (YYYY-MM-DD HH:MM:SS).".into())
            }
        },
        "select" => {
            let ok = v
                .as_str()
                .is_some_and(|s| def.choices.iter().any(|(c, _)| c == s));
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "Invalid choice ({}) for choice set {}.",
                    py_str(v),
                    def.choice_set_name
                ))
            }
        }
        "multiselect" => {
            let ok = v.as_array().is_some_and(|items| {
                items.iter().all(|i| {
                    i.as_str()
                        .is_some_and(|s| def.choices.iter().any(|(c, _)| c == s))
                })
            });
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "Invalid choice(s) ({}) for choice set {}.",
                    py_repr(v),
                    def.choice_set_name
                ))
            }
        }
        _ => Ok(()),
    }
}

/// NetBox's `CustomFieldsMixin.clean()`: the first invalid value, then missing required fields.
pub(super) fn clean_custom_fields(
    store: &Store,
    m: Model,
    id: Id,
    data: &Map<String, Value>,
) -> Option<String> {
    let defs = crate::render::cf_defs(store, m);
    for (name, value) in data {
        let Some(def) = defs.iter().find(|d| &d.name == name) else {
            continue;
        };
        if let Err(e) = validate_cf_value(def, value) {
            return Some(format!("Invalid value for custom field '{name}': {e}"));
        }
        if def.unique && !value.is_null() && value.as_str() != Some("") {
            let clash = store
                .iter(m)
                .any(|r| r.id != id && r.cf.get(name) == Some(value));
            if clash {
                return Some(format!("Custom field '{name}' must have a unique value."));
            }
        }
    }
    for def in defs.iter() {
        if def.required && !data.contains_key(&def.name) {
            return Some(format!("Missing required custom field '{}'.", def.name));
        }
    }
    None
}

/// Removes a deleted custom field's values from every object (a queryset update: no records).
pub(crate) fn drop_custom_field_data(tx: &mut Tx, id: Id) {
    let m = Model::CustomField;
    let name = tx
        .store
        .get(m, id)
        .map(|r| r.str(m, "name").to_string())
        .unwrap_or_default();
    for om in Model::ALL {
        let ids: Vec<Id> = tx
            .store
            .iter(om)
            .filter(|r| r.cf.contains_key(&name))
            .map(|r| r.id)
            .collect();
        for oid in ids {
            if let Some(mut r) = tx.store.get(om, oid).cloned() {
                r.cf.remove(&name);
                tx.replace(om, r);
            }
        }
    }
}

//! DRF field semantics for one value of a request body: strings, numbers, booleans, choices,
//! related-object references, content types, VLAN ID ranges, network values; each returns the
//! stored value or DRF's error text.
//!
//! It does not look at the body as a whole (that is [`super::body`]) or at model rules.

use serde_json::{Map, Value, json};

use crate::model::{Field, FieldKind, Model};
use crate::net;
use crate::store::{Id, Store};
use crate::util::{is_iso_date, py_dict_repr, py_repr, py_str, py_type_name};

fn parse_string(v: &Value, f: &Field) -> Result<Value, String> {
    let s = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => {
            return match f.kind {
                FieldKind::NullStr(_) => Ok(Value::Null),
                _ => Err("This field may not be null.".into()),
            };
        }
        _ => return Err("Not a valid string.".into()),
    };
    let max = match f.kind {
        FieldKind::Str(n) | FieldKind::Name(n) | FieldKind::NullStr(n) | FieldKind::Slug(n) => n,
        _ => usize::MAX,
    };
    if s.is_empty() {
        return match f.kind {
            FieldKind::Name(_) | FieldKind::Slug(_) => Err("This field may not be blank.".into()),
            FieldKind::Color(Some(_)) => Err("This field may not be blank.".into()),
            _ => Ok(Value::String(s)),
        };
    }
    if s.chars().count() > max {
        return Err(format!(
            "Ensure this field has no more than {max} characters."
        ));
    }
    if matches!(f.kind, FieldKind::Slug(_))
        && !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(
            "Enter a valid \"slug\" consisting of letters, numbers, underscores or hyphens.".into(),
        );
    }
    if matches!(f.kind, FieldKind::Color(_))
        && !(s.len() == 6
            && s.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
    {
        return Err("Enter a valid hexadecimal RGB color code.".into());
    }
    Ok(Value::String(s))
}

pub(super) fn parse_int(v: &Value, min: i64, max: i64, null: bool) -> Result<Value, String> {
    let n = match v {
        Value::Null if null => return Ok(Value::Null),
        Value::Null => return Err("This field may not be null.".into()),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i,
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9e15 => f as i64,
            _ => return Err("A valid integer is required.".into()),
        },
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(i) => i,
            Err(_) => match s.trim().parse::<f64>() {
                Ok(f) if f.fract() == 0.0 => f as i64,
                _ => return Err("A valid integer is required.".into()),
            },
        },
        _ => return Err("A valid integer is required.".into()),
    };
    if n < min {
        return Err(format!(
            "Ensure this value is greater than or equal to {min}."
        ));
    }
    if n > max {
        return Err(format!("Ensure this value is less than or equal to {max}."));
    }
    Ok(Value::from(n))
}

fn parse_dec(v: &Value, null: bool) -> Result<Value, String> {
    match v {
        Value::Null if null => Ok(Value::Null),
        Value::Null => Err("This field may not be null.".into()),
        Value::Number(n) => Ok(Value::from(n.as_f64().unwrap_or(0.0))),
        Value::String(s) if s.trim().is_empty() && null => Ok(Value::Null),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::from)
            .ok_or_else(|| "A valid number is required.".into()),
        _ => Err("A valid number is required.".into()),
    }
}

fn parse_bool(v: &Value) -> Result<Value, String> {
    let b = match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.as_str() {
            "t" | "T" | "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on"
            | "On" | "ON" | "1" => Some(true),
            "f" | "F" | "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off"
            | "Off" | "OFF" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    };
    b.map(Value::Bool)
        .ok_or_else(|| "Must be a valid boolean.".into())
}

/// Resolves a related object reference (`5`, `"5"`, `{"slug": "x"}`) on `target`.
pub(super) fn resolve_ref(store: &Store, target: Model, v: &Value) -> Result<Id, String> {
    let by_id = |id: u64| {
        if store.get(target, id).is_some() {
            Ok(id)
        } else {
            Err(format!(
                "Related object not found using the provided numeric ID: {id}"
            ))
        }
    };
    match v {
        Value::Number(n) if n.as_u64().is_some() => by_id(n.as_u64().unwrap_or(0)),
        Value::String(s) if s.trim().parse::<u64>().is_ok() => {
            by_id(s.trim().parse::<u64>().unwrap_or(0))
        }
        Value::Object(attrs) => {
            let matches: Vec<Id> = store
                .iter(target)
                .filter(|r| {
                    attrs.iter().all(|(k, want)| {
                        if k == "id" {
                            return want.as_u64() == Some(r.id)
                                || want.as_str().and_then(|s| s.parse().ok()) == Some(r.id);
                        }
                        let Some(i) = target.field_index(k) else {
                            return false;
                        };
                        let have = r.val(i);
                        have == want
                            || (have.as_u64().is_some()
                                && want.as_str().and_then(|s| s.parse::<u64>().ok())
                                    == have.as_u64())
                    })
                })
                .map(|r| r.id)
                .take(2)
                .collect();
            match matches.len() {
                1 => Ok(matches[0]),
                0 => Err(format!(
                    "Related object not found using the provided attributes: {}",
                    py_dict_repr(attrs)
                )),
                _ => Err(format!(
                    "Multiple objects match the provided attributes: {}",
                    py_dict_repr(attrs)
                )),
            }
        }
        other => Err(format!(
            "Related objects must be referenced by numeric ID or by dictionary of attributes. Received an unrecognized value: {}",
            py_str(other)
        )),
    }
}

/// References to a model this fake does not serve can never resolve.
fn resolve_absent(v: &Value) -> Result<Value, String> {
    match v {
        Value::Null => Ok(Value::Null),
        Value::Number(n) if n.as_u64().is_some() => Err(format!(
            "Related object not found using the provided numeric ID: {n}"
        )),
        Value::String(s) if s.trim().parse::<u64>().is_ok() => Err(format!(
            "Related object not found using the provided numeric ID: {}",
            s.trim()
        )),
        Value::Object(attrs) => Err(format!(
            "Related object not found using the provided attributes: {}",
            py_dict_repr(attrs)
        )),
        other => Err(format!(
            "Related objects must be referenced by numeric ID or by dictionary of attributes. Received an unrecognized value: {}",
            py_str(other)
        )),
    }
}

pub(super) fn expect_list(v: &Value) -> Result<&Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a),
        other => Err(format!(
            "Expected a list of items but got type \"{}\".",
            py_type_name(other)
        )),
    }
}

fn parse_content_type(m: Model, f: &Field, v: &Value, null: bool) -> Result<Value, String> {
    match v {
        Value::Null if null => Ok(Value::Null),
        Value::Null => Err("This field may not be null.".into()),
        Value::String(s) => {
            let known = Model::from_label(s);
            let targets = crate::model::gfk_targets(m, f.name);
            match known {
                Some(t) if targets.is_empty() || targets.contains(&t) => {
                    Ok(Value::String(s.clone()))
                }
                _ if crate::model::content_type_id(s).is_some() && targets.is_empty() => {
                    Ok(Value::String(s.clone()))
                }
                _ => Err(format!("Invalid content type: {s}")),
            }
        }
        other => Err(format!("Invalid content type: {}", py_str(other))),
    }
}

fn parse_vid_ranges(v: &Value) -> Result<Value, String> {
    let items = expect_list(v)?;
    let mut out = Vec::new();
    for item in items {
        let pair = item
            .as_array()
            .filter(|p| p.len() == 2)
            .ok_or_else(|| "Enter two valid integers.".to_string())?;
        let lo = pair[0]
            .as_i64()
            .ok_or_else(|| "Enter two valid integers.".to_string())?;
        let hi = pair[1]
            .as_i64()
            .ok_or_else(|| "Enter two valid integers.".to_string())?;
        if hi < lo {
            return Err(format!(
                "Ending VLAN ID in range must be greater than or equal to the starting VLAN ID ({lo}-{hi})"
            ));
        }
        if lo < 1 {
            return Err(format!(
                "Starting VLAN ID in range ({lo}) cannot be less than 1"
            ));
        }
        if hi > 4094 {
            return Err(format!("Ending VLAN ID in range ({hi}) cannot exceed 4094"));
        }
        out.push((lo, hi));
    }
    out.sort_unstable();
    for w in out.windows(2) {
        if w[1].0 <= w[0].1 {
            return Err("Ranges cannot overlap.".into());
        }
    }
    Ok(Value::Array(
        out.into_iter().map(|(a, b)| json!([a, b])).collect(),
    ))
}

pub(super) fn parse_field(store: &Store, m: Model, f: &Field, v: &Value) -> Result<Value, String> {
    match f.kind {
        FieldKind::Str(_)
        | FieldKind::Name(_)
        | FieldKind::NullStr(_)
        | FieldKind::Slug(_)
        | FieldKind::Text
        | FieldKind::Color(_) => parse_string(v, f),
        FieldKind::Int { min, max, null, .. } => parse_int(v, min, max, null),
        FieldKind::Dec { null, .. } => parse_dec(v, null),
        FieldKind::Bool(_) => match v {
            Value::Null => Err("This field may not be null.".into()),
            v => parse_bool(v),
        },
        // NetBox's ChoiceField: null becomes "" unless the field allows null; "" needs
        // `allow_blank` (stored as "", rendered as null).
        FieldKind::Choice { set, null, .. } => match v {
            Value::Null if null && !choice_null_is_blank(m, f.name) => Ok(Value::Null),
            Value::Null | Value::String(_) if v.as_str().unwrap_or("").is_empty() => {
                if null && choice_allows_blank(m, f.name) {
                    Ok(Value::String(String::new()))
                } else {
                    Err("This field may not be blank.".into())
                }
            }
            Value::String(s) if set.label(s).is_some() => Ok(Value::String(s.clone())),
            Value::Number(n) if set.label(&n.to_string()).is_some() => {
                Ok(Value::String(n.to_string()))
            }
            other => Err(format!("{} is not a valid choice.", py_str(other))),
        },
        FieldKind::Json => Ok(v.clone()),
        FieldKind::JsonObj => match v {
            Value::Object(_) => Ok(v.clone()),
            Value::Null => Ok(Value::Object(Map::new())),
            _ => Err("Value must be valid JSON.".into()),
        },
        FieldKind::Date => match v {
            Value::Null => Ok(Value::Null),
            Value::String(s) if is_iso_date(s) => Ok(v.clone()),
            _ => Err("Date has wrong format. Use one of these formats instead: YYYY-MM-DD.".into()),
        },
        FieldKind::Mac => match v {
            Value::String(s) => net::parse_mac(s).map(Value::String),
            Value::Null => Err("This field may not be null.".into()),
            other => Err(format!("Invalid MAC address format: {}", py_str(other))),
        },
        FieldKind::Network => match v {
            Value::String(s) => net::parse_prefix(s).map(|n| Value::String(n.text())),
            Value::Null => Err("This field may not be null.".into()),
            other => Err(format!("Invalid IP prefix format: {}", py_str(other))),
        },
        FieldKind::Address => match v {
            Value::String(s) => net::parse_address(s).map(|n| Value::String(n.text())),
            Value::Null => Err("This field may not be null.".into()),
            other => Err(format!("Invalid IP address format: {}", py_str(other))),
        },
        FieldKind::VidRanges => parse_vid_ranges(v),
        FieldKind::Fk(target, _) => match v {
            Value::Null => Ok(Value::Null),
            v => resolve_ref(store, target, v).map(Value::from),
        },
        FieldKind::ReqFk(target, _) => match v {
            Value::Null => Err("This field may not be null.".into()),
            v => resolve_ref(store, target, v).map(Value::from),
        },
        FieldKind::Absent => resolve_absent(v),
        FieldKind::AbsentList => {
            for item in expect_list(v)? {
                resolve_absent(item)?;
            }
            Ok(Value::Array(Vec::new()))
        }
        FieldKind::M2m(target) => {
            let mut ids = Vec::new();
            for item in expect_list(v)? {
                let id = resolve_ref(store, target, item)?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Ok(Value::Array(ids.into_iter().map(Value::from).collect()))
        }
        FieldKind::ContentType { null } => parse_content_type(m, f, v, null),
        FieldKind::ObjectId { null } => match v {
            Value::Null if null => Ok(Value::Null),
            v => parse_int(v, 0, i64::MAX, false),
        },
        FieldKind::ContentTypes => {
            let mut out = Vec::new();
            for item in expect_list(v)? {
                match item.as_str() {
                    Some(s) if crate::model::content_type_id(s).is_some() => {
                        if !out.contains(&Value::String(s.to_string())) {
                            out.push(Value::String(s.to_string()));
                        }
                    }
                    _ => return Err(format!("Invalid content type: {}", py_str(item))),
                }
            }
            Ok(Value::Array(out))
        }
        FieldKind::ExtraChoices => match v {
            Value::Null => Ok(Value::Null),
            v => {
                let mut out = Vec::new();
                for item in expect_list(v)? {
                    let pair = item.as_array().filter(|p| p.len() == 2).ok_or_else(|| {
                        format!(
                            "Invalid choice: {}. Choices must be given as [value, label] pairs.",
                            py_repr(item)
                        )
                    })?;
                    out.push(json!([py_str(&pair[0]), py_str(&pair[1])]));
                }
                Ok(Value::Array(out))
            }
        },
        FieldKind::User => match v {
            Value::Null => Ok(Value::Null),
            Value::Number(n) if n.as_u64() == Some(1) => Ok(Value::from(1)),
            other => Err(format!(
                "Invalid pk \"{}\" - object does not exist.",
                py_str(other)
            )),
        },
        _ => Ok(v.clone()),
    }
}

/// Choice fields whose serializer does not allow null (null is read as "").
fn choice_null_is_blank(m: Model, field: &str) -> bool {
    matches!(
        (m, field),
        (Model::Device, "face" | "airflow")
            | (
                Model::Interface,
                "mode" | "rf_role" | "rf_channel" | "poe_mode" | "poe_type"
            )
            | (Model::IpAddress, "role")
    )
}

/// Optional choice fields whose serializer refuses "".
fn choice_allows_blank(m: Model, field: &str) -> bool {
    !matches!(
        (m, field),
        (Model::Vlan, "qinq_role") | (Model::CustomFieldChoiceSet, "base_choices")
    )
}

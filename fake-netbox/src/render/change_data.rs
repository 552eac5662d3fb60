//! The data NetBox's `serialize_object()` writes into change records (`prechange_data` /
//! `postchange_data`): raw field values, foreign key ids, tag names, content type ids, Django's
//! serialization of array fields, ordered like PostgreSQL `jsonb`.
//!
//! It does not decide when a change record is written (`write::tx` does).

use serde_json::{Map, Value};

use super::Ctx;
use crate::model::{FieldKind, Model};
use crate::store::{Id, Rec};
use crate::util::{fmt_decimal, jsonb_order};

impl<'a> Ctx<'a> {
    /// NetBox's `serialize_object()` as shown in change records (`prechange_data` /
    /// `postchange_data`): raw model field values, FK ids, tag names, content type ids, ordered
    /// like PostgreSQL `jsonb`.
    pub fn log_data(&self, m: Model, rec: &Rec) -> Value {
        let mut out = Map::new();
        for (i, f) in m.fields().iter().enumerate() {
            if !f.is(crate::model::LOGGED) {
                continue;
            }
            let raw = rec.val(i);
            let v = match f.kind {
                FieldKind::Choice { log_blank, .. } => match raw {
                    Value::Null if log_blank => Value::String(String::new()),
                    v => v.clone(),
                },
                FieldKind::Dec { places, .. } => match raw.as_f64() {
                    Some(x) => Value::String(fmt_decimal(x, places)),
                    None => Value::Null,
                },
                FieldKind::Image => Value::String(String::new()),
                FieldKind::Absent | FieldKind::Null => Value::Null,
                FieldKind::AbsentList => Value::Array(Vec::new()),
                FieldKind::Zero => Value::from(0),
                FieldKind::ContentType { .. } => {
                    match raw.as_str().and_then(crate::model::content_type_id) {
                        Some(ct) => Value::from(ct),
                        None => Value::Null,
                    }
                }
                FieldKind::ContentTypes => {
                    let mut ids: Vec<u64> = raw
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().and_then(crate::model::content_type_id))
                        .collect();
                    ids.sort_unstable();
                    Value::Array(ids.into_iter().map(Value::from).collect())
                }
                FieldKind::M2m(target) => {
                    // Django serializes many-to-many values in the related model's ordering.
                    let mut ids: Vec<Id> = raw
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_u64)
                        .collect();
                    crate::query::sort(self.store, target, &mut ids, &[]);
                    Value::Array(ids.into_iter().map(Value::from).collect())
                }
                FieldKind::Tags => {
                    let mut names: Vec<String> = rec
                        .tags
                        .iter()
                        .filter_map(|t| self.store.get(Model::Tag, *t))
                        .map(|t| t.str(Model::Tag, "name").to_string())
                        .collect();
                    names.sort();
                    Value::Array(names.into_iter().map(Value::String).collect())
                }
                FieldKind::CustomFields => Value::Object(rec.cf.clone()),
                FieldKind::VidRanges => Value::String(vid_ranges_log(raw)),
                FieldKind::ExtraChoices => Value::String(extra_choices_log(raw)),
                FieldKind::Computed(c) => self.computed_value(m, rec, c),
                _ => raw.clone(),
            };
            out.insert(f.name.to_string(), v);
        }
        if m == Model::Cable {
            for (key, end) in [("a_terminations", "A"), ("b_terminations", "B")] {
                let mut ids: Vec<Id> = self
                    .store
                    .referrers(Model::CableTermination, "cable", rec.id)
                    .filter(|t| {
                        self.store
                            .get(Model::CableTermination, *t)
                            .is_some_and(|t| t.str(Model::CableTermination, "cable_end") == end)
                    })
                    .collect();
                ids.sort_unstable();
                out.insert(
                    key.into(),
                    Value::Array(ids.into_iter().map(Value::from).collect()),
                );
            }
        }
        jsonb_order(Value::Object(out))
    }
}

/// The `vid_ranges` value as Django serializes an `ArrayField` of integer ranges.
fn vid_ranges_log(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let r = r.as_array()?;
            let lo = r.first()?.as_u64()?;
            let hi = r.get(1)?.as_u64()?;
            let inner = format!(
                "{{\"bounds\": \"[)\", \"lower\": \"{lo}\", \"upper\": \"{}\"}}",
                hi + 1
            );
            Some(serde_json::to_string(&inner).unwrap_or_default())
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// The `extra_choices` value as Django serializes a nested `ArrayField`.
fn extra_choices_log(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|pair| {
            let parts: Vec<String> = pair
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| serde_json::to_string(s).unwrap_or_default())
                .collect();
            let inner = format!("[{}]", parts.join(", "));
            serde_json::to_string(&inner).unwrap_or_default()
        })
        .collect();
    format!("[{}]", items.join(", "))
}

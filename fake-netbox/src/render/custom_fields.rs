//! Custom field definitions as rendering and validation read them from the store (in NetBox's
//! order), and the `custom_fields` object of a rendered object.
//!
//! It does not validate custom field values (`write::custom_fields` does).

use serde_json::Value;

use super::Ctx;
use crate::jsonw::JsonWriter;
use crate::model::Model;
use crate::store::{Rec, Store};

/// A custom field definition, read from the store's `extras.customfield` table.
#[derive(Clone, Debug)]
pub struct CfDef {
    pub name: String,
    pub ty: String,
    pub default: Value,
    pub required: bool,
    pub unique: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub regex: String,
    pub choice_set_name: String,
    pub choices: Vec<(String, String)>,
    pub filter_logic: String,
}

/// Custom fields assigned to `m`, in NetBox's order (group name, weight, name).
pub fn cf_defs(store: &Store, m: Model) -> Vec<CfDef> {
    let label = m.label();
    let cf = Model::CustomField;
    let mut defs: Vec<(String, i64, CfDef)> = store
        .iter(cf)
        .filter(|r| {
            r.get(cf, "object_types")
                .as_array()
                .is_some_and(|a| a.iter().any(|t| t.as_str() == Some(&label)))
        })
        .map(|r| {
            let (choice_set_name, choices) = match r.id_of(cf, "choice_set") {
                Some(cs) => match store.get(Model::CustomFieldChoiceSet, cs) {
                    Some(set) => (
                        set.str(Model::CustomFieldChoiceSet, "name").to_string(),
                        set.get(Model::CustomFieldChoiceSet, "extra_choices")
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|pair| {
                                let pair = pair.as_array()?;
                                Some((
                                    pair.first()?.as_str()?.to_string(),
                                    pair.get(1)?.as_str()?.to_string(),
                                ))
                            })
                            .collect(),
                    ),
                    None => (String::new(), Vec::new()),
                },
                None => (String::new(), Vec::new()),
            };
            let def = CfDef {
                name: r.str(cf, "name").to_string(),
                ty: r.str(cf, "type").to_string(),
                default: r.get(cf, "default").clone(),
                required: r.get(cf, "required").as_bool().unwrap_or(false),
                unique: r.get(cf, "unique").as_bool().unwrap_or(false),
                min: r.get(cf, "validation_minimum").as_f64(),
                max: r.get(cf, "validation_maximum").as_f64(),
                regex: r.str(cf, "validation_regex").to_string(),
                choice_set_name,
                choices,
                filter_logic: r.str(cf, "filter_logic").to_string(),
            };
            (
                r.str(cf, "group_name").to_string(),
                r.get(cf, "weight").as_i64().unwrap_or(100),
                def,
            )
        })
        .collect();
    defs.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.cmp(&b.1))
            .then(a.2.name.cmp(&b.2.name))
    });
    defs.into_iter().map(|(_, _, d)| d).collect()
}

impl<'a> Ctx<'a> {
    /// The `custom_fields` object: every field assigned to the model, null when unset.
    pub(super) fn write_custom_fields(&self, w: &mut JsonWriter, m: Model, rec: &Rec) {
        let defs = self.cf_defs(m);
        let mut o = w.obj();
        for def in defs.iter() {
            let v = o.key(&def.name);
            let label = |s: &str| {
                def.choices
                    .iter()
                    .find(|(c, _)| c == s)
                    .map(|(_, l)| l.as_str())
            };
            match (def.ty.as_str(), rec.cf.get(&def.name)) {
                (_, None | Some(Value::Null)) => v.null(),
                ("select", Some(Value::String(s))) => {
                    let mut so = v.obj();
                    so.key("value").str(s);
                    so.key("label").str(label(s).unwrap_or(s));
                    so.end();
                }
                ("multiselect", Some(Value::Array(items))) => {
                    let mut a = v.arr();
                    for item in items {
                        let mut so = a.item().obj();
                        so.key("value").val(item);
                        match item.as_str().and_then(label) {
                            Some(l) => so.key("label").str(l),
                            None => so.key("label").val(item),
                        }
                        so.end();
                    }
                    a.end();
                }
                (_, Some(other)) => v.val(other),
            }
        }
        o.end();
    }
}

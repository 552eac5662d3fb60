//! `core/object-changes`: rendering change records exactly as NetBox 4.7 does, and their filters
//! (`changed_object_type`, `changed_object_id`, `action`, `time_after`/`time_before`, `user`,
//! `request_id`, `q`, `id__gt`, …) and orderings.
//!
//! Change records are written by `write`; this module only reads them.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

use crate::model::{Model, Nest};
use crate::query::{CONTROL_PARAMS, FilterErrors, grouped};
use crate::render::Ctx;
use crate::store::{Change, Id, Store};
use crate::util::{fmt_ts, parse_datetime};

/// The only user this fake knows: every token belongs to it.
pub const USER: &str = "admin";
pub const USER_ID: u64 = 1;

fn err(param: &str, msg: impl Into<String>) -> FilterErrors {
    let mut m = Map::new();
    m.insert(param.into(), json!([msg.into()]));
    m
}

fn action_label(a: &str) -> &'static str {
    match a {
        "create" => "Created",
        "update" => "Updated",
        _ => "Deleted",
    }
}

fn clean(data: Option<&str>) -> Value {
    match data.and_then(|d| serde_json::from_str::<Value>(d).ok()) {
        Some(Value::Object(map)) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| k != "created" && k != "last_updated" && !k.starts_with('_'))
                .collect(),
        ),
        _ => Value::Object(Map::new()),
    }
}

/// Renders one change record.
pub fn render(ctx: &Ctx, c: &Change) -> Value {
    let meta = c.model.meta();
    let changed_object = ctx.nested_id(c.model, Some(c.object_id), Nest::Brief);
    json!({
        "id": c.id,
        "url": format!("{}/api/core/object-changes/{}/{}", ctx.base, c.id, ctx.suffix),
        "display_url": format!("{}/core/changelog/{}/{}", ctx.base, c.id, ctx.suffix),
        "display": format!(
            "{} | {} {} {} by {}",
            meta.app_verbose,
            meta.verbose,
            c.object_repr,
            action_label(c.action).to_lowercase(),
            c.user_name
        ),
        "time": fmt_ts(c.time),
        "user": {
            "id": USER_ID,
            "url": format!("{}/api/users/users/{USER_ID}/{}", ctx.base, ctx.suffix),
            "display": c.user_name,
            "username": c.user_name,
        },
        "user_name": c.user_name,
        "request_id": c.request_id,
        "action": {"value": c.action, "label": action_label(c.action)},
        "changed_object_type": c.model.label(),
        "changed_object_id": c.object_id,
        "changed_object": changed_object,
        "object_repr": c.object_repr,
        "message": c.message,
        "prechange_data": clean(c.pre.as_deref()),
        "postchange_data": clean(c.post.as_deref()),
    })
}

type Pred = Box<dyn Fn(&Change) -> bool>;

/// Parses the filters of `GET /api/core/object-changes/`.
pub fn parse_filters(params: &[(String, String)]) -> Result<Vec<Pred>, FilterErrors> {
    let mut preds: Vec<Pred> = Vec::new();
    for (name, values) in grouped(params) {
        if CONTROL_PARAMS.contains(&name.as_str()) {
            continue;
        }
        let vals: Vec<String> = values.clone();
        let ints = |param: &str| -> Result<Vec<u64>, FilterErrors> {
            vals.iter()
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| err(param, "Enter a whole number."))
                })
                .collect()
        };
        match name.as_str() {
            "id" => {
                let ids = ints(&name)?;
                preds.push(Box::new(move |c| ids.contains(&c.id)));
            }
            "id__n" => {
                let ids = ints(&name)?;
                preds.push(Box::new(move |c| !ids.contains(&c.id)));
            }
            "id__gt" | "id__gte" | "id__lt" | "id__lte" => {
                let v = *ints(&name)?.last().unwrap_or(&0);
                let op = name.clone();
                preds.push(Box::new(move |c| match op.as_str() {
                    "id__gt" => c.id > v,
                    "id__gte" => c.id >= v,
                    "id__lt" => c.id < v,
                    _ => c.id <= v,
                }));
            }
            "changed_object_type" => {
                let models: Vec<Option<Model>> =
                    vals.iter().map(|v| Model::from_label(v)).collect();
                preds.push(Box::new(move |c| models.contains(&Some(c.model))));
            }
            "changed_object_type_id" => {
                let ids = ints(&name)?;
                preds.push(Box::new(move |c| {
                    ids.contains(&c.model.meta().content_type)
                }));
            }
            "changed_object_id" => {
                let ids = ints(&name)?;
                preds.push(Box::new(move |c| ids.contains(&c.object_id)));
            }
            "action" => {
                for v in &vals {
                    if !matches!(v.as_str(), "create" | "update" | "delete") {
                        return Err(err(
                            &name,
                            format!(
                                "Select a valid choice. {v} is not one of the available choices."
                            ),
                        ));
                    }
                }
                preds.push(Box::new(move |c| vals.iter().any(|v| v == c.action)));
            }
            "time_after" | "time_before" => {
                let Some(ts) = vals.last().and_then(|v| parse_datetime(v)) else {
                    return Err(err("time", "Enter a valid date/time."));
                };
                let after = name == "time_after";
                preds.push(Box::new(
                    move |c| if after { c.time >= ts } else { c.time <= ts },
                ));
            }
            "user" | "user_name" => {
                if name == "user" {
                    for v in &vals {
                        if v != USER {
                            return Err(err(
                                &name,
                                format!(
                                    "Select a valid choice. {v} is not one of the available choices."
                                ),
                            ));
                        }
                    }
                }
                preds.push(Box::new(move |c| vals.contains(&c.user_name)));
            }
            "user_id" => {
                let ids = ints(&name)?;
                for id in &ids {
                    if *id != USER_ID {
                        return Err(err(
                            &name,
                            format!(
                                "Select a valid choice. {id} is not one of the available choices."
                            ),
                        ));
                    }
                }
            }
            "request_id" => {
                preds.push(Box::new(move |c| vals.contains(&c.request_id)));
            }
            "q" => {
                let q = vals.last().cloned().unwrap_or_default().to_lowercase();
                if !q.trim().is_empty() {
                    preds.push(Box::new(move |c| {
                        c.user_name.to_lowercase().contains(&q)
                            || c.object_repr.to_lowercase().contains(&q)
                    }));
                }
            }
            _ => {}
        }
    }
    Ok(preds)
}

/// Selects and orders change ids (default newest first).
pub fn select(store: &Store, preds: &[Pred], ordering: Option<&str>) -> Vec<Id> {
    let mut list: Vec<&Change> = store
        .changes
        .iter()
        .filter(|c| preds.iter().all(|p| p(c)))
        .collect();
    let fields: Vec<(String, bool)> = ordering
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('-') {
            Some(n) => (n.to_string(), true),
            None => (s.to_string(), false),
        })
        .filter(|(n, _)| {
            matches!(
                n.as_str(),
                "id" | "time"
                    | "user_name"
                    | "action"
                    | "changed_object_type"
                    | "changed_object_id"
                    | "object_repr"
                    | "request_id"
            )
        })
        .collect();
    if fields.is_empty() {
        list.sort_by(|a, b| b.time.cmp(&a.time).then(b.id.cmp(&a.id)));
    } else if fields.len() == 1 && fields[0].0 == "id" {
        // The common `ordering=-id` (latest change first): the log is appended in id order.
        if !list.is_sorted_by_key(|c| c.id) {
            list.sort_by_key(|c| c.id);
        }
        if fields[0].1 {
            list.reverse();
        }
    } else {
        list.sort_by(|a, b| {
            for (f, desc) in &fields {
                let c = match f.as_str() {
                    "id" => a.id.cmp(&b.id),
                    "time" => a.time.cmp(&b.time),
                    "user_name" => a.user_name.cmp(&b.user_name),
                    "action" => a.action.cmp(b.action),
                    "changed_object_type" => a.model.label().cmp(&b.model.label()),
                    "changed_object_id" => a.object_id.cmp(&b.object_id),
                    "object_repr" => a.object_repr.cmp(&b.object_repr),
                    _ => a.request_id.cmp(&b.request_id),
                };
                let c = if *desc { c.reverse() } else { c };
                if c != Ordering::Equal {
                    return c;
                }
            }
            a.id.cmp(&b.id)
        });
    }
    list.into_iter().map(|c| c.id).collect()
}

//! Bulk update and bulk delete on a list endpoint: validating the list of `{"id": …}` entries,
//! NetBox's errors for missing objects, and applying every entry in one transaction.
//!
//! Single-object writes are in `objects`.

use http::StatusCode;
use serde_json::{Value, json};

use super::reply::{Reply, Req, body_json, write_error};
use crate::Inner;
use crate::model::Model;
use crate::query;
use crate::render::Ctx;
use crate::store::{Id, Store};
use crate::write::{self, Tx, WriteError};

/// Validates the entries of a bulk update/delete body; returns the ids.
fn bulk_ids(body: &Value) -> Result<(Vec<Id>, Vec<Value>), Box<Reply>> {
    let Value::Array(items) = body else {
        return Err(Box::new(Reply::detail(
            StatusCode::BAD_REQUEST,
            format!(
                "Expected a list of objects, but got {}.",
                crate::util::py_type_name(body)
            ),
        )));
    };
    let mut errors = Vec::new();
    let mut ids = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            errors.push(json!({"index": i, "errors": {"non_field_errors": [format!("Invalid data. Expected a dictionary, but got {}.", crate::util::py_type_name(item))]}}));
            continue;
        };
        match obj.get("id") {
            None => errors.push(json!({"index": i, "errors": {"id": ["This field is required."]}})),
            Some(v) => match v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            {
                Some(id) => ids.push(id),
                None => errors
                    .push(json!({"index": i, "errors": {"id": ["A valid integer is required."]}})),
            },
        }
    }
    if !errors.is_empty() {
        return Err(Box::new(Reply::json(
            StatusCode::BAD_REQUEST,
            json!({"detail": format!("{} of {} objects failed validation.", errors.len(), items.len()), "errors": errors}),
        )));
    }
    let mut seen: Vec<(Id, usize)> = Vec::new();
    for id in &ids {
        match seen.iter_mut().find(|(s, _)| s == id) {
            Some((_, n)) => *n += 1,
            None => seen.push((*id, 1)),
        }
    }
    let dups: Vec<Value> = seen
        .iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, n)| json!({"id": id, "errors": {"id": [format!("Each object may be specified only once; ID {id} is listed {n} times")]}}))
        .collect();
    if !dups.is_empty() {
        return Err(Box::new(Reply::json(
            StatusCode::BAD_REQUEST,
            json!({"detail": format!("{} of {} objects are listed more than once.", dups.len(), ids.len()), "errors": dups}),
        )));
    }
    Ok((ids, items.clone()))
}

fn missing_reply(store: &Store, m: Model, ids: &[Id]) -> Option<Reply> {
    let missing: Vec<Value> = ids
        .iter()
        .filter(|id| store.get(m, **id).is_none())
        .map(|id| json!({"id": id, "errors": {"id": [format!("Object with ID {id} does not exist")]}}))
        .collect();
    (!missing.is_empty()).then(|| {
        Reply::json(
            StatusCode::BAD_REQUEST,
            json!({"detail": format!("{} of {} objects could not be found.", missing.len(), ids.len()), "errors": missing}),
        )
    })
}

pub(super) fn bulk_update(inner: &Inner, m: Model, req: &Req, partial: bool) -> Reply {
    let body = match body_json(req) {
        Ok(b) => b,
        Err(r) => return (*r).verb("bulk_update"),
    };
    let (ids, items) = match bulk_ids(&body) {
        Ok(v) => v,
        Err(r) => return (*r).verb("bulk_update"),
    };
    let mut store = inner.write();
    if let Some(r) = missing_reply(&store, m, &ids) {
        return r.verb("bulk_update");
    }
    let actor = inner.actor(&req.request_id);
    let mut tx = Tx::new(&mut store, actor);
    let mut errors = Vec::new();
    let mut order: Vec<Id> = ids.clone();
    order.sort_unstable();
    for id in &order {
        let pos = ids.iter().position(|x| x == id).unwrap_or(0);
        let mut data = items[pos].clone();
        if let Some(obj) = data.as_object_mut() {
            obj.remove("id");
        }
        match write::update(&mut tx, m, *id, &data, partial) {
            Ok(()) => {}
            Err(WriteError::Invalid(e)) => errors.push(json!({"id": id, "errors": e})),
            Err(other) => {
                tx.rollback();
                return write_error(other).verb("bulk_update");
            }
        }
    }
    if !errors.is_empty() {
        tx.rollback();
        return Reply::json(
            StatusCode::BAD_REQUEST,
            json!({"detail": format!("{} of {} objects could not be updated.", errors.len(), ids.len()), "errors": errors}),
        )
        .verb("bulk_update");
    }
    tx.commit();
    let ctx = Ctx::new(&store, req.base.clone()).with_format(req.param("format"));
    let mut shown = ids.clone();
    query::sort(&store, m, &mut shown, &[]);
    let out: Vec<Value> = shown
        .iter()
        .filter_map(|id| store.get(m, *id).map(|r| ctx.full(m, r)))
        .collect();
    Reply::json(StatusCode::OK, Value::Array(out)).verb("bulk_update")
}

pub(super) fn bulk_delete(inner: &Inner, m: Model, req: &Req) -> Reply {
    let body = match body_json(req) {
        Ok(b) => b,
        Err(r) => return (*r).verb("bulk_delete"),
    };
    let (ids, items) = match bulk_ids(&body) {
        Ok(v) => v,
        Err(r) => return (*r).verb("bulk_delete"),
    };
    let mut store = inner.write();
    if let Some(r) = missing_reply(&store, m, &ids) {
        return r.verb("bulk_delete");
    }
    let actor = inner.actor(&req.request_id);
    let mut tx = Tx::new(&mut store, actor);
    let mut errors = Vec::new();
    let mut order = ids.clone();
    query::sort(tx.store, m, &mut order, &[]);
    for id in &order {
        let pos = ids.iter().position(|x| x == id).unwrap_or(0);
        let message = items[pos]
            .get("changelog_message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match write::delete(&mut tx, m, *id, &message) {
            Ok(()) => {}
            Err(WriteError::Conflict(detail)) => {
                let n: usize = detail
                    .split_whitespace()
                    .nth(4)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1);
                errors.push(json!({"id": id, "errors": {"__all__": [format!("Unable to delete: {n} dependent object(s) prevent deletion.")]}}));
            }
            Err(other) => {
                tx.rollback();
                return write_error(other).verb("bulk_delete");
            }
        }
    }
    if !errors.is_empty() {
        tx.rollback();
        return Reply::json(
            StatusCode::CONFLICT,
            json!({"detail": format!("{} of {} objects could not be deleted.", errors.len(), ids.len()), "errors": errors}),
        )
        .verb("bulk_delete");
    }
    tx.commit();
    Reply::empty(StatusCode::NO_CONTENT).verb("bulk_delete")
}

//! The object endpoints: list (with the query cache and paging faults), retrieve, create (one or
//! many), update and delete of one object, and the read-only object-change endpoints.
//!
//! Bulk update/delete are in `bulk`; the rules of a write are in `write`.

use std::sync::Arc;

use http::{StatusCode, header};
use serde_json::{Value, json};

use super::reply::{
    Reply, Req, body_json, etag_of, fields_filter, if_match_ok, shape, write_error, write_one,
};
use crate::Inner;
use crate::changes;
use crate::faults::{FaultKind, Mutation};
use crate::jsonw::JsonWriter;
use crate::model::Model;
use crate::query::{self, Filters};
use crate::render::Ctx;
use crate::store::{Id, Store};
use crate::write::{self, Actor, Tx, WriteError};

impl Inner {
    pub(super) fn actor(&self, request_id: &str) -> Actor {
        Actor {
            user: changes::USER.into(),
            request_id: request_id.to_string(),
            now: self.now(),
        }
    }

    fn cached_select(
        &self,
        store: &Store,
        m: Model,
        filters: &Filters,
        ordering: &[(String, bool)],
    ) -> Arc<Vec<Id>> {
        let key = format!("{m:?}|{:?}|{ordering:?}", filters.key);
        let version = store.version;
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, _, ids)) = cache.iter().find(|(k, v, _)| *k == key && *v == version) {
                return ids.clone();
            }
        }
        let ids = Arc::new(query::select(store, m, filters, ordering));
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|(_, v, _)| *v == version);
        if cache.len() >= 16 {
            cache.remove(0);
        }
        cache.push((key, version, ids.clone()));
        ids
    }
}

pub(super) fn list(inner: &Inner, m: Model, req: &Req, faults: &[FaultKind]) -> Reply {
    let page = match query::page_req(&req.params) {
        Ok(p) => p,
        Err(bare) => return Reply::json(StatusCode::BAD_REQUEST, json!(bare)),
    };
    // Data changing between two pages: apply the mutation before serving this (later) page.
    for f in faults {
        if let FaultKind::ChangeBetweenPages { mutation } = f {
            mutate_between_pages(inner, m, req, mutation);
        }
    }
    let store = inner.read();
    let filters = match query::parse_filters(&store, m, &req.params) {
        Ok(f) => f,
        Err(e) => return Reply::json(StatusCode::BAD_REQUEST, Value::Object(e)),
    };
    let ordering = if page.start.is_some() {
        vec![("id".to_string(), false)]
    } else {
        req.param("ordering")
            .map(|o| query::parse_ordering(m, o))
            .unwrap_or_default()
    };
    let ids = inner.cached_select(&store, m, &filters, &ordering);
    let page = query::paginate(&ids, page, &req.url(), &req.params);
    let ctx = Ctx::new(&store, req.base.clone()).with_format(req.param("format"));
    let filter = fields_filter(req);
    let mut w = JsonWriter::with_capacity(256 + page.ids.len() * 1024);
    let mut o = w.obj();
    match page.count {
        Some(n) => o.key("count").u64(n as u64),
        None => o.key("count").null(),
    }
    for (k, link) in [("next", &page.next), ("previous", &page.previous)] {
        match link {
            Some(l) => o.key(k).str(l),
            None => o.key(k).null(),
        }
    }
    let mut results = o.key("results").arr();
    for id in &page.ids {
        write_one(&ctx, results.item(), m, *id, req, &filter);
    }
    results.end();
    o.end();
    Reply::bytes(StatusCode::OK, w.buf).verb("list")
}

fn mutate_between_pages(inner: &Inner, m: Model, req: &Req, mutation: &Mutation) {
    let request_id = inner.request_id();
    let mut store = inner.write();
    let actor = inner.actor(&request_id);
    match mutation {
        Mutation::DeleteFirst => {
            let Ok(filters) = query::parse_filters(&store, m, &req.params) else {
                return;
            };
            let ordering = req
                .param("ordering")
                .map(|o| query::parse_ordering(m, o))
                .unwrap_or_default();
            let ids = query::select(&store, m, &filters, &ordering);
            for id in ids {
                let mut tx = Tx::new(&mut store, actor.clone());
                match write::delete(&mut tx, m, id, "") {
                    Ok(()) => {
                        tx.commit();
                        break;
                    }
                    Err(_) => tx.rollback(),
                }
            }
        }
        Mutation::Create { body } => {
            let mut tx = Tx::new(&mut store, actor);
            match write::create(&mut tx, m, body) {
                Ok(_) => tx.commit(),
                Err(_) => tx.rollback(),
            }
        }
    }
}

pub(super) fn retrieve(inner: &Inner, m: Model, id: Option<Id>, req: &Req) -> Reply {
    let store = inner.read();
    let Some(id) = id.filter(|id| store.get(m, *id).is_some()) else {
        return not_found_obj(m, id.is_some());
    };
    let ctx = Ctx::new(&store, req.base.clone()).with_format(req.param("format"));
    let mut w = JsonWriter::with_capacity(4096);
    write_one(&ctx, &mut w, m, id, req, &fields_filter(req));
    let mut r = Reply::bytes(StatusCode::OK, w.buf);
    if let Some(tag) = etag_of(&store, m, id) {
        r = r.header(header::ETAG, tag);
    }
    r
}

fn not_found_obj(m: Model, numeric: bool) -> Reply {
    if numeric {
        Reply::detail(
            StatusCode::NOT_FOUND,
            format!("No {} matches the given query.", m.meta().class),
        )
    } else {
        Reply::detail(StatusCode::NOT_FOUND, "Not found.")
    }
}

fn created_reply(store: &Store, m: Model, id: Id, req: &Req) -> Reply {
    let ctx = Ctx::new(store, req.base.clone()).with_format(req.param("format"));
    let body = ctx.full(m, store.get(m, id).expect("just created"));
    let mut r = Reply::json(StatusCode::CREATED, body)
        .header(header::LOCATION, ctx.url(m, id))
        .verb("create");
    if let Some(tag) = etag_of(store, m, id) {
        r = r.header(header::ETAG, tag);
    }
    r
}

pub(super) fn create(inner: &Inner, m: Model, req: &Req) -> Reply {
    let body = match body_json(req) {
        Ok(b) => b,
        Err(r) => return (*r).verb("create"),
    };
    let mut store = inner.write();
    let actor = inner.actor(&req.request_id);
    if let Value::Array(items) = &body {
        let mut tx = Tx::new(&mut store, actor);
        let mut ids = Vec::new();
        let mut errors = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if !item.is_object() {
                errors.push(json!({"index": i, "errors": {"non_field_errors": [format!("Invalid data. Expected a dictionary, but got {}.", crate::util::py_type_name(item))]}}));
                continue;
            }
            match write::create(&mut tx, m, item) {
                Ok(id) => ids.push(id),
                Err(WriteError::Invalid(e)) => errors.push(json!({"index": i, "errors": e})),
                Err(other) => {
                    tx.rollback();
                    return write_error(other).verb("bulk_create");
                }
            }
        }
        if !errors.is_empty() {
            tx.rollback();
            return Reply::json(
                StatusCode::BAD_REQUEST,
                json!({"detail": format!("{} of {} objects could not be created.", errors.len(), items.len()), "errors": errors}),
            )
            .verb("bulk_create");
        }
        tx.commit();
        let ctx = Ctx::new(&store, req.base.clone()).with_format(req.param("format"));
        let out: Vec<Value> = ids
            .iter()
            .filter_map(|id| store.get(m, *id).map(|r| ctx.full(m, r)))
            .collect();
        return Reply::json(StatusCode::CREATED, Value::Array(out)).verb("bulk_create");
    }
    let mut tx = Tx::new(&mut store, actor);
    match write::create(&mut tx, m, &body) {
        Ok(id) => {
            tx.commit();
            created_reply(&store, m, id, req)
        }
        Err(e) => {
            tx.rollback();
            write_error(e).verb("create")
        }
    }
}

pub(super) fn update(inner: &Inner, m: Model, id: Option<Id>, req: &Req, partial: bool) -> Reply {
    let body = match body_json(req) {
        Ok(b) => b,
        Err(r) => return (*r).verb("update"),
    };
    let mut store = inner.write();
    let Some(id) = id.filter(|id| store.get(m, *id).is_some()) else {
        return not_found_obj(m, id.is_some()).verb("update");
    };
    if let Err(r) = if_match_ok(req, etag_of(&store, m, id)) {
        return (*r).verb("update");
    }
    let actor = inner.actor(&req.request_id);
    let mut tx = Tx::new(&mut store, actor);
    match write::update(&mut tx, m, id, &body, partial) {
        Ok(()) => {
            tx.commit();
            let ctx = Ctx::new(&store, req.base.clone()).with_format(req.param("format"));
            let mut r = Reply::json(
                StatusCode::OK,
                ctx.full(m, store.get(m, id).expect("updated")),
            )
            .verb("update");
            if let Some(tag) = etag_of(&store, m, id) {
                r = r.header(header::ETAG, tag);
            }
            r
        }
        Err(e) => {
            tx.rollback();
            write_error(e).verb("update")
        }
    }
}

pub(super) fn destroy(inner: &Inner, m: Model, id: Option<Id>, req: &Req) -> Reply {
    let mut store = inner.write();
    let Some(id) = id.filter(|id| store.get(m, *id).is_some()) else {
        return not_found_obj(m, id.is_some()).verb("delete");
    };
    if let Err(r) = if_match_ok(req, etag_of(&store, m, id)) {
        return (*r).verb("delete");
    }
    let message = serde_json::from_slice::<Value>(req.body)
        .ok()
        .and_then(|b| {
            b.get("changelog_message")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_default();
    let actor = inner.actor(&req.request_id);
    let mut tx = Tx::new(&mut store, actor);
    match write::delete(&mut tx, m, id, &message) {
        Ok(()) => {
            tx.commit();
            Reply::empty(StatusCode::NO_CONTENT).verb("delete")
        }
        Err(e) => {
            tx.rollback();
            write_error(e).verb("delete")
        }
    }
}

pub(super) fn changes_list(inner: &Inner, req: &Req) -> Reply {
    let page = match query::page_req(&req.params) {
        Ok(p) => p,
        Err(bare) => return Reply::json(StatusCode::BAD_REQUEST, json!(bare)),
    };
    let preds = match changes::parse_filters(&req.params) {
        Ok(p) => p,
        Err(e) => return Reply::json(StatusCode::BAD_REQUEST, Value::Object(e)),
    };
    let store = inner.read();
    let ordering = if page.start.is_some() {
        Some("id")
    } else {
        req.param("ordering")
    };
    let ids = changes::select(&store, &preds, ordering);
    let page = query::paginate(&ids, page, &req.url(), &req.params);
    let ctx = Ctx::new(&store, req.base.clone()).with_format(req.param("format"));
    let filter = fields_filter(req);
    let results: Vec<Value> = page
        .ids
        .iter()
        .filter_map(|id| store.change(*id))
        .map(|c| shape(changes::render(&ctx, c), &filter))
        .collect();
    Reply::json(
        StatusCode::OK,
        json!({"count": page.count, "next": page.next, "previous": page.previous, "results": results}),
    )
    .verb("list")
}

pub(super) fn change_detail(inner: &Inner, id: Option<Id>, req: &Req) -> Reply {
    let store = inner.read();
    match id.and_then(|id| store.change(id)) {
        Some(c) => {
            let ctx = Ctx::new(&store, req.base.clone()).with_format(req.param("format"));
            Reply::json(
                StatusCode::OK,
                shape(changes::render(&ctx, c), &fields_filter(req)),
            )
        }
        None if id.is_some() => Reply::detail(
            StatusCode::NOT_FOUND,
            "No ObjectChange matches the given query.",
        ),
        None => Reply::detail(StatusCode::NOT_FOUND, "Not found."),
    }
}

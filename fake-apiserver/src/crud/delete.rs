//! `DELETE` of one object and of a collection: DeleteOptions (propagation policy, preconditions,
//! dry-run), delete admission, and marking an object as deleting or removing it; the fake's
//! controllers in `lifecycle.rs` finish CRDs, namespaces and garbage collection.
//!
//! It does not decide what the controllers do after a removal.

use super::context::{Ctx, View, admission_request};
use super::lifecycle::{
    after_removal, delete_all_of, finish_crd, gc_finalizers, maybe_finish_namespace,
};
use super::list::selectors;
use super::negotiate::{Responder, warnings_headers};
use super::object::{at_version, canonical_order, finalizers, meta_mut, meta_str};
use crate::admission::Operation;
use crate::reply::{Reply, json_reply};
use crate::request::{Req, ResPath};
use crate::state::{State, res_key};
use crate::status::{self, ApiError, FieldError};
use crate::store::{ObjKey, ResKey};
use crate::types::{self, Strategy};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Deletes the object named by the request; `warnings` are the request's warnings so far.
pub(crate) fn delete(
    mut ctx: Ctx<'_>,
    st: &mut State,
    r: &Req,
    out: &Responder<'_>,
    warnings: &[String],
) -> Result<Reply, ApiError> {
    let opts = delete_options(r)?;
    ctx.dry_run |= body_dry_run(&opts);
    let res = ctx.res();
    let key = ctx.key();
    let Some(cur) = st.store.get(&res, &key).cloned() else {
        return Err(status::not_found(ctx.gr(), &ctx.name));
    };
    check_preconditions(&ctx, &cur, &opts)?;
    admit_delete(&ctx, st, &ctx.name, &cur)?;
    let policy = opts
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .map(str::to_string);
    let (code, body) = delete_one(&ctx, st, &res, &key, policy.as_deref())?;
    if body.get("kind").and_then(Value::as_str) == Some("Status") {
        Ok(json_reply(
            out.inner,
            code,
            &body,
            "application/json",
            &warnings_headers(warnings),
        ))
    } else {
        Ok(out.object(code, &body, warnings))
    }
}

/// Deletes every object of the collection that the selectors match; answers with the list of
/// what was deleted.
pub(crate) fn delete_collection(
    mut ctx: Ctx<'_>,
    st: &mut State,
    r: &Req,
    rp: &ResPath,
    out: &Responder<'_>,
    warnings: &[String],
) -> Result<Reply, ApiError> {
    let opts = delete_options(r)?;
    ctx.dry_run |= body_dry_run(&opts);
    let policy = opts
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .map(str::to_string);
    let (label, field) = selectors(r, &ctx.ver)?;
    let ns = rp.namespace.as_deref();
    let res = ctx.res();
    let api_version = ctx.api_version();
    let victims: Vec<(ObjKey, Arc<Value>)> = st
        .store
        .list(&res, ns, None, None)
        .filter(|(_, o)| label.matches(o) && field.matches(o, &ctx.ver.field_keys))
        .map(|(k, o)| (k.clone(), o.clone()))
        .collect();
    let mut items = vec![];
    for (k, o) in victims {
        admit_delete(&ctx, st, &k.1, &o)?;
        let one = Ctx {
            name: k.1.clone(),
            ns: k.0.clone(),
            ..ctx.clone()
        };
        delete_one(&one, st, &res, &k, policy.as_deref())?;
        items.push((*at_version(&o, &api_version)).clone());
    }
    let mut list = Map::new();
    list.insert("apiVersion".into(), json!(api_version));
    list.insert("items".into(), Value::Array(items));
    list.insert("kind".into(), json!(ctx.rt.list_kind));
    list.insert(
        "metadata".into(),
        json!({"resourceVersion": st.store.rv().to_string()}),
    );
    Ok(json_reply(
        out.inner,
        200,
        &Value::Object(list),
        "application/json",
        &warnings_headers(warnings),
    ))
}

/// Validating admission of the deletion of `obj` (named `name`).
fn admit_delete(ctx: &Ctx<'_>, st: &State, name: &str, obj: &Value) -> Result<(), ApiError> {
    if !ctx.inner.admission.is_empty() {
        let view = View { st };
        for h in &ctx.inner.admission {
            let req = admission_request(ctx, Operation::Delete, name, None, Some(obj));
            h.validate(&req, &view)
                .map_err(|e| status::admission_denied(h.name(), e.code, &e.reason, &e.message))?;
        }
    }
    Ok(())
}

/// Marks an object as being deleted, or deletes it; returns (code, body).
fn delete_one(
    ctx: &Ctx<'_>,
    st: &mut State,
    res: &ResKey,
    key: &ObjKey,
    policy: Option<&str>,
) -> Result<(u16, Value), ApiError> {
    let Some(old) = st.store.get(res, key).cloned() else {
        return Err(status::not_found(ctx.gr(), &key.1));
    };
    let api_version = ctx.api_version();
    let mut fins = finalizers(&old);
    match policy {
        Some("Orphan") if !fins.iter().any(|f| f == "orphan") => fins.push("orphan".into()),
        Some("Foreground") if !fins.iter().any(|f| f == "foregroundDeletion") => {
            fins.push("foregroundDeletion".into())
        }
        _ => {}
    }
    let special = matches!(ctx.rt.strategy, Strategy::Crd | Strategy::Namespace);
    if fins.is_empty() && !special {
        if ctx.dry_run {
            return Ok((
                200,
                status::delete_success(ctx.gr(), &key.1, meta_str(&old, "uid")),
            ));
        }
        st.store.remove(res, key);
        after_removal(ctx.inner, st, res, key);
        return Ok((
            200,
            status::delete_success(ctx.gr(), &key.1, meta_str(&old, "uid")),
        ));
    }
    if !meta_str(&old, "deletionTimestamp").is_empty() {
        return Ok((200, (*at_version(&old, &api_version)).clone()));
    }
    let mut new = (*old).clone();
    {
        let m = meta_mut(&mut new);
        m.insert("deletionTimestamp".into(), json!(ctx.now));
        m.insert("deletionGracePeriodSeconds".into(), json!(0));
        if !fins.is_empty() {
            m.insert("finalizers".into(), json!(fins));
        }
        if ctx.rt.strategy == Strategy::Custom
            && let Some(g) = m.get("generation").and_then(Value::as_i64)
        {
            m.insert("generation".into(), json!(g + 1));
        }
    }
    match ctx.rt.strategy {
        Strategy::Crd => {
            meta_mut(&mut new).remove("deletionGracePeriodSeconds");
            meta_mut(&mut new).insert(
                "finalizers".into(),
                json!(["customresourcecleanup.apiextensions.k8s.io"]),
            );
            if let Some(Value::Array(conds)) = new.pointer_mut("/status/conditions") {
                conds.push(json!({"type":"Terminating","status":"True","lastTransitionTime":ctx.now,
                    "reason":"InstanceDeletionPending","message":"CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"}));
            }
        }
        Strategy::Namespace => {
            meta_mut(&mut new).remove("deletionGracePeriodSeconds");
            new["status"]["phase"] = json!("Terminating");
            meta_mut(&mut new).remove("finalizers");
        }
        _ => {}
    }
    canonical_order(&ctx.rt, &mut new);
    if ctx.dry_run {
        return Ok((200, new));
    }
    let stored = st.store.put(res, key.clone(), new);
    let body = (*at_version(&stored, &api_version)).clone();
    // The fake's controllers: CRD cleanup, namespace cleanup, and GC of orphan/foreground finalizers.
    match ctx.rt.strategy {
        Strategy::Crd => {
            if let Ok(rt) = types::compile_crd(&stored) {
                let tk = res_key(&rt.group, &rt.plural);
                if let Some(s) = st.types.get_mut(&tk) {
                    s.terminating = true;
                }
                delete_all_of(ctx.inner, st, &tk, None);
                if st.store.count(&tk, None) == 0 {
                    finish_crd(ctx.inner, st, &key.1);
                }
            } else {
                finish_crd(ctx.inner, st, &key.1);
            }
        }
        Strategy::Namespace => {
            st.terminating_ns.insert(key.1.clone());
            let keys: Vec<ResKey> = st
                .types
                .iter()
                .filter(|(_, s)| s.rt.namespaced)
                .map(|(k, _)| k.clone())
                .collect();
            for k in keys {
                delete_all_of(ctx.inner, st, &k, Some(&key.1));
            }
            maybe_finish_namespace(st, &key.1);
        }
        _ => gc_finalizers(ctx.inner, st, res, key),
    }
    Ok((200, body))
}

fn body_dry_run(opts: &Map<String, Value>) -> bool {
    opts.get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v == "All"))
}

fn delete_options(r: &Req) -> Result<Map<String, Value>, ApiError> {
    let mut m = Map::new();
    if !r.body.is_empty() {
        match serde_json::from_slice::<Value>(&r.body) {
            Ok(Value::Object(o)) => m = o,
            Ok(_) => {
                return Err(status::bad_request(
                    "the body of a DELETE must be DeleteOptions",
                ));
            }
            Err(e) => {
                return Err(status::bad_request(format!(
                    "error decoding DeleteOptions: {e}"
                )));
            }
        }
    }
    if let Some(p) = r.q("propagationPolicy") {
        m.insert("propagationPolicy".into(), json!(p));
    }
    if let Some(p) = m.get("propagationPolicy").and_then(Value::as_str)
        && !matches!(p, "Orphan" | "Background" | "Foreground")
    {
        return Err(status::invalid(
            "DeleteOptions",
            "meta.k8s.io",
            "",
            &[FieldError::not_supported(
                "propagationPolicy",
                &json!(p),
                &[
                    json!("Foreground"),
                    json!("Background"),
                    json!("Orphan"),
                    json!("nil"),
                ],
            )],
        ));
    }
    Ok(m)
}

fn check_preconditions(
    ctx: &Ctx<'_>,
    cur: &Value,
    opts: &Map<String, Value>,
) -> Result<(), ApiError> {
    if let Some(uid) = opts.pointer_or("preconditions", "uid")
        && uid != meta_str(cur, "uid")
    {
        return Err(status::conflict(
            ctx.gr(),
            &ctx.name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta_str(cur, "uid")
            ),
        ));
    }
    if let Some(rv) = opts.pointer_or("preconditions", "resourceVersion")
        && rv != meta_str(cur, "resourceVersion")
    {
        return Err(status::conflict(
            ctx.gr(),
            &ctx.name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                meta_str(cur, "resourceVersion")
            ),
        ));
    }
    Ok(())
}

trait PointerOr {
    fn pointer_or(&self, a: &str, b: &str) -> Option<String>;
}

impl PointerOr for Map<String, Value> {
    fn pointer_or(&self, a: &str, b: &str) -> Option<String> {
        self.get(a)
            .and_then(|p| p.get(b))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
}

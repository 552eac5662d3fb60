//! Resource verbs on every served type, one module per verb: `list` (with `continue`), `create`,
//! `update`, `patch`, `apply` (server-side apply), `delete` (one object or a collection); the
//! write pipeline they share (`write`), the fake's CRD, namespace and garbage-collection
//! controllers (`lifecycle`), objects stored without a request (`bootstrap`, `internal`), and the
//! request context, content negotiation and object helpers below them.
//!
//! This module routes a resource request to its verb under the store lock and looks up the served
//! type; watches are served by `watch.rs`.

mod apply;
mod bootstrap;
mod context;
mod create;
mod delete;
mod internal;
mod lifecycle;
mod list;
mod negotiate;
mod object;
mod patch;
mod update;
mod write;

pub(crate) use bootstrap::{bootstrap, install_crd_direct};
pub(crate) use internal::concurrent_write;
pub(crate) use lifecycle::tick;
pub(crate) use list::selectors;
pub(crate) use negotiate::{Format, include_object, negotiate};

use crate::reply::{Reply, error_reply, raw_reply};
use crate::request::{Req, ResPath};
use crate::state::{CRD_RES, Inner, Served, State, res_key};
use crate::status::{self, ApiError};
use crate::types::TypeVersion;
use context::{Ctx, field_validation, manager_of};
use lifecycle::schedule_tick;
use negotiate::{Responder, warnings_headers};
use object::at_version;
use serde_json::json;
use std::sync::Arc;
use write::Written;

/// Entry point for resource requests.
pub(crate) async fn handle(inner: &Arc<Inner>, r: &Req, rp: &ResPath, verb: &str) -> Reply {
    let out = {
        let mut st = inner.lock();
        tick(inner, &mut st);
        dispatch(inner, &mut st, r, rp, verb)
    };
    let created_crd =
        verb != "get" && verb != "list" && rp.plural == CRD_RES.1 && rp.group == CRD_RES.0;
    inner.notify();
    if created_crd {
        schedule_tick(inner);
    }
    match out {
        Ok(x) => x,
        Err(e) => error_reply(inner, &e),
    }
}

/// Looks up the served type and version of a resource path.
pub(crate) fn lookup(st: &State, rp: &ResPath) -> Result<(Served, TypeVersion), ApiError> {
    let served = st
        .types
        .get(&res_key(&rp.group, &rp.plural))
        .cloned()
        .ok_or_else(status::path_not_found)?;
    let ver = served
        .rt
        .version(&rp.version)
        .cloned()
        .ok_or_else(status::path_not_found)?;
    if served.rt.namespaced == rp.namespace.is_none()
        && !(rp.namespace.is_none() && rp.name.is_none())
    {
        return Err(status::path_not_found());
    }
    if !served.rt.namespaced && rp.namespace.is_some() {
        return Err(status::path_not_found());
    }
    if let Some(sub) = &rp.sub
        && !(sub == "status" && ver.status)
    {
        return Err(status::path_not_found());
    }
    Ok((served, ver))
}

/// Everything a resource request (but a watch) does under the store lock: the request context,
/// deprecation warnings, then the verb.
fn dispatch(
    inner: &Arc<Inner>,
    st: &mut State,
    r: &Req,
    rp: &ResPath,
    verb: &str,
) -> Result<Reply, ApiError> {
    let (served, ver) = lookup(st, rp)?;
    let rt = served.rt.clone();
    let fmt = negotiate(&r.accept).ok_or_else(status::not_acceptable)?;
    let dry_run = match r.q("dryRun") {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(status::bad_request(format!(
                "dryRun: Unsupported value: []string{{{other:?}}}: supported values: \"All\""
            )));
        }
    };
    let fv = field_validation(r)?;
    let ctx = Ctx {
        inner,
        rt: rt.clone(),
        ver: ver.clone(),
        version: rp.version.clone(),
        ns: rp.namespace.clone().unwrap_or_default(),
        name: rp.name.clone().unwrap_or_default(),
        sub: rp.sub.clone().unwrap_or_default(),
        dry_run,
        manager: manager_of(r),
        fv,
        now: inner.now_string(),
    };
    let mut warnings: Vec<String> = vec![];
    if let Some(w) = &ver.deprecation_warning {
        warnings.push(w.clone());
    } else if ver.deprecated {
        warnings.push(format!(
            "{}/{} {} is deprecated",
            rt.group, rp.version, rt.kind
        ));
    }
    if served.terminating && verb == "create" {
        let mut e = status::method_not_supported(ctx.gr(), "create");
        e.body["message"] =
            json!("create not allowed while custom resource definition is terminating");
        return Err(e);
    }
    let out = Responder {
        inner,
        r,
        fmt,
        columns: &ver.columns,
    };
    let written = |w: Written| out.object(w.code, &w.obj, &w.warnings);
    match verb {
        "get" => {
            let obj = st
                .store
                .get(&ctx.res(), &ctx.key())
                .cloned()
                .ok_or_else(|| status::not_found(ctx.gr(), &ctx.name))?;
            Ok(out.object(200, &at_version(&obj, &ctx.api_version()), &warnings))
        }
        "list" => {
            let body = list::list(&ctx, st, r, fmt)?;
            Ok(raw_reply(
                inner,
                200,
                body,
                "application/json",
                &warnings_headers(&warnings),
            ))
        }
        "create" => create::create(ctx, st, r, rp, warnings).map(written),
        "update" => update::update(ctx, st, r, warnings).map(written),
        "patch" | "apply" => patch::patch(ctx, st, r, warnings).map(written),
        "delete" => delete::delete(ctx, st, r, &out, &warnings),
        "deletecollection" => delete::delete_collection(ctx, st, r, rp, &out, &warnings),
        _ => Err(status::method_not_supported(ctx.gr(), verb)),
    }
}

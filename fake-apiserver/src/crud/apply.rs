//! Server-side apply: the apply options (`fieldManager`, `force`), the YAML or JSON body, and
//! the merge of the applied configuration into the live object with field ownership (`ssa`),
//! ending in the write pipeline.
//!
//! The field-set algebra lives in `ssa/`; this module wires it to requests and the store.

use super::context::{Ctx, patch_options_invalid};
use super::object::{check_type_meta, meta_mut, meta_str, parse_apply_body, zero_object};
use super::write::{
    Managed, Written, apply_schema_defaults, check_namespace, commit, prepare, prune,
};
use crate::meta;
use crate::request::Req;
use crate::schema;
use crate::ssa;
use crate::state::State;
use crate::status::{self, ApiError, FieldError};
use crate::types::{self, Strategy};
use serde_json::{Value, json};
use std::sync::Arc;

/// An apply request (`application/apply-patch+yaml`) on `old`, the stored object if any;
/// `force` is the raw `force` parameter and `warnings` the request's warnings so far.
pub(crate) fn apply(
    ctx: &Ctx<'_>,
    st: &mut State,
    r: &Req,
    old: Option<Arc<Value>>,
    force: Option<&str>,
    mut warnings: Vec<String>,
) -> Result<Written, ApiError> {
    if r.q("fieldManager").is_none_or(str::is_empty) {
        return Err(patch_options_invalid(FieldError::required(
            "fieldManager",
            "is required for apply patch",
        )));
    }
    let force = match force {
        None | Some("false") | Some("False") | Some("0") => false,
        Some("true") | Some("True") | Some("1") => true,
        Some(other) => {
            return Err(status::bad_request(format!(
                "force: invalid boolean value {other:?}"
            )));
        }
    };
    let cfg = parse_apply_body(&r.body)?;
    if old.is_none() {
        check_namespace(ctx, st, true)?;
    }
    let mut written = apply_patch(ctx, st, old, cfg, force)?;
    warnings.append(&mut written.warnings);
    written.warnings = warnings;
    Ok(written)
}

/// Server-side apply.
pub(crate) fn apply_patch(
    ctx: &Ctx<'_>,
    st: &mut State,
    old: Option<Arc<Value>>,
    mut config: Value,
    force: bool,
) -> Result<Written, ApiError> {
    check_type_meta(ctx, &config)?;
    let cname = meta_str(&config, "name").to_string();
    if !cname.is_empty() && cname != ctx.name {
        return Err(status::bad_request(format!(
            "the name of the object ({cname}) does not match the name on the URL ({})",
            ctx.name
        )));
    }
    let cns = meta_str(&config, "namespace").to_string();
    if ctx.rt.namespaced && !cns.is_empty() && cns != ctx.ns {
        return Err(status::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if !meta_str(&config, "resourceVersion").is_empty()
        && old
            .as_ref()
            .is_some_and(|o| meta_str(o, "resourceVersion") != meta_str(&config, "resourceVersion"))
    {
        return Err(status::conflict_modified(ctx.gr(), &ctx.name));
    }
    let warnings = prune(ctx, &mut config, true)?;
    if old.is_none() && ctx.sub == "status" {
        return Err(status::not_found(ctx.gr(), &ctx.name));
    }
    if ctx.sub == "status"
        && let Value::Object(m) = &mut config
    {
        m.retain(|k, _| k == "status" || k == "apiVersion" || k == "kind" || k == "metadata");
        if let Some(Value::Object(md)) = m.get_mut("metadata") {
            md.retain(|k, _| k == "name" || k == "namespace");
        }
    } else if ctx.ver.status
        && let Value::Object(m) = &mut config
    {
        m.remove("status");
    }
    if let Some(Value::Object(md)) = config.get_mut("metadata") {
        for k in meta::SERVER_SET {
            md.remove(*k);
        }
    }
    let api_version = ctx.api_version();
    let sctx = ctx.ssa_ctx(&api_version);
    let creating = old.is_none();
    let zero;
    let live: &Value = match &old {
        Some(o) => o,
        None => {
            let mut z = zero_object(&ctx.rt);
            z["apiVersion"] = json!(api_version);
            z["kind"] = json!(ctx.rt.kind);
            let m = meta_mut(&mut z);
            m.insert("name".into(), json!(ctx.name));
            if ctx.rt.namespaced {
                m.insert("namespace".into(), json!(ctx.ns));
            }
            zero = z;
            &zero
        }
    };
    let mut entries = ssa::decode_managed(live).unwrap_or_default();
    if !creating
        && entries.is_empty()
        && let Some(e) = ssa::before_first_apply(live, &sctx)
    {
        entries.push(e);
    }
    let mut merged = ssa::apply(live, &config, &mut entries, force, &sctx).map_err(|c| {
        let (msg, causes) = ssa::conflict_message(&c);
        status::apply_conflict(msg, causes)
    })?;
    if let Some(s) = ctx.schema() {
        schema::drop_nulls(&mut merged, s);
    }
    if ctx.rt.strategy == Strategy::Crd {
        types::default_crd(&mut merged);
    }
    if creating {
        let mut new = merged;
        prepare(ctx, st, None, &mut new);
        if let Some(s) = ctx.schema() {
            apply_schema_defaults(&mut new, s);
        }
        commit(ctx, st, None, new, Managed::Applied(entries), warnings)
    } else {
        let old = old.expect("not creating");
        let mut new = merged;
        prepare(ctx, st, Some(&old), &mut new);
        if let Some(s) = ctx.schema() {
            apply_schema_defaults(&mut new, s);
        }
        commit(ctx, st, Some(old), new, Managed::Applied(entries), warnings)
    }
}

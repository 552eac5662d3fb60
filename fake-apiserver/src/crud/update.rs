//! `PUT` of a whole object (with the create-on-update of Leases) and the update flow it shares
//! with JSON and merge patches: the resourceVersion precondition, pruning, strategy rules, commit.
//!
//! Patch documents are applied in `patch.rs`; server-side apply is `apply.rs`.

use super::context::Ctx;
use super::object::{check_type_meta, meta_mut, meta_str, parse_json_body};
use super::write::{Managed, Written, check_namespace, commit, default, prepare, prune};
use crate::request::Req;
use crate::state::State;
use crate::status::{self, ApiError, FieldError};
use crate::types::Strategy;
use serde_json::{Value, json};
use std::sync::Arc;

/// Replaces the object with the body; `warnings` are the request's warnings so far.
pub(crate) fn update(
    ctx: Ctx<'_>,
    st: &mut State,
    r: &Req,
    mut warnings: Vec<String>,
) -> Result<Written, ApiError> {
    let obj = parse_json_body(&r.body)?;
    check_type_meta(&ctx, &obj)?;
    let bname = meta_str(&obj, "name").to_string();
    if bname != ctx.name {
        return Err(status::bad_request(format!(
            "the name of the object ({bname}) does not match the name on the URL ({})",
            ctx.name
        )));
    }
    let bns = meta_str(&obj, "namespace").to_string();
    if ctx.rt.namespaced && !bns.is_empty() && bns != ctx.ns {
        return Err(status::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    check_namespace(&ctx, st, false)?;
    let old = st.store.get(&ctx.res(), &ctx.key()).cloned();
    if old.is_none() && ctx.rt.strategy == Strategy::Lease && ctx.sub.is_empty() {
        let mut obj = obj;
        let mut w = prune(&ctx, &mut obj, true)?;
        default(&ctx, &mut obj);
        warnings.append(&mut w);
        meta_mut(&mut obj).remove("resourceVersion");
        prepare(&ctx, st, None, &mut obj);
        return commit(&ctx, st, None, obj, Managed::Update, warnings);
    }
    update_with(&ctx, st, old, obj, &mut warnings, true)
}

/// Update flow for PUT and non-apply patches.
pub(crate) fn update_with(
    ctx: &Ctx<'_>,
    st: &mut State,
    old: Option<Arc<Value>>,
    mut new: Value,
    warnings: &mut Vec<String>,
    require_rv: bool,
) -> Result<Written, ApiError> {
    let Some(old) = old else {
        return Err(status::not_found(ctx.gr(), &ctx.name));
    };
    let rv = meta_str(&new, "resourceVersion").to_string();
    if rv.is_empty() {
        if require_rv && ctx.rt.strategy == Strategy::Custom {
            return Err(status::invalid_plural(
                ctx.gr(),
                &ctx.name,
                &[FieldError::invalid(
                    "metadata.resourceVersion",
                    &json!("0x0"),
                    "must be specified for an update",
                )],
            )
            .with_unquoted_value());
        }
    } else if rv != meta_str(&old, "resourceVersion") {
        return Err(status::conflict_modified(ctx.gr(), &ctx.name));
    }
    // A CRD whose names change is accepted; the new names take effect in `after_write`.
    let mut w = prune(ctx, &mut new, true)?;
    default(ctx, &mut new);
    warnings.append(&mut w);
    prepare(ctx, st, Some(&old), &mut new);
    commit(
        ctx,
        st,
        Some(old),
        new,
        Managed::Update,
        std::mem::take(warnings),
    )
}

impl ApiError {
    /// `metadata.resourceVersion: Invalid value: 0x0` is printed unquoted by the real server.
    fn with_unquoted_value(mut self) -> Self {
        let fix = |s: &str| s.replace("Invalid value: \"0x0\"", "Invalid value: 0x0");
        if let Some(m) = self.body.get("message").and_then(Value::as_str).map(fix) {
            self.body["message"] = json!(m);
        }
        if let Some(Value::Array(causes)) = self.body.pointer_mut("/details/causes") {
            for c in causes {
                if let Some(m) = c.get("message").and_then(Value::as_str).map(fix) {
                    c["message"] = json!(m);
                }
            }
        }
        self
    }
}

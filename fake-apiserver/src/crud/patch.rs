//! `PATCH`: the patch media types a type accepts and the `force` rule, then either server-side
//! apply (`apply.rs`) or a JSON, merge or strategic-merge patch of the stored object, stored
//! through the update flow of `update.rs`.
//!
//! It applies patch documents; it does not validate the result (the write pipeline does).

use super::apply;
use super::context::{Ctx, patch_options_invalid};
use super::object::{at_version, meta_str};
use super::update::update_with;
use super::write::{Written, check_namespace};
use crate::request::Req;
use crate::state::State;
use crate::status::{self, ApiError, FieldError};
use serde_json::Value;

/// Patches the object; `warnings` are the request's warnings so far.
pub(crate) fn patch(
    ctx: Ctx<'_>,
    st: &mut State,
    r: &Req,
    mut warnings: Vec<String>,
) -> Result<Written, ApiError> {
    let mt = r.media_type().unwrap_or_default();
    let mut accepted = vec![
        "application/json-patch+json",
        "application/merge-patch+json",
    ];
    if ctx.rt.accepts_smp() {
        accepted.push("application/strategic-merge-patch+json");
    }
    accepted.push("application/apply-patch+yaml");
    if !accepted.contains(&mt.as_str()) {
        return Err(status::unsupported_patch_type(&accepted));
    }
    let force = r.q("force");
    if mt != "application/apply-patch+yaml" && force.is_some() {
        return Err(patch_options_invalid(FieldError::forbidden(
            "force",
            "may not be specified for non-apply patch",
        )));
    }
    check_namespace(&ctx, st, false)?;
    let old = st.store.get(&ctx.res(), &ctx.key()).cloned();
    if mt == "application/apply-patch+yaml" {
        return apply::apply(&ctx, st, r, old, force, warnings);
    }
    let Some(old) = old else {
        return Err(status::not_found(ctx.gr(), &ctx.name));
    };
    let api_version = ctx.api_version();
    let mut doc = (*at_version(&old, &api_version)).clone();
    match mt.as_str() {
        "application/json-patch+json" => {
            let p: json_patch::Patch =
                serde_json::from_slice(&r.body).map_err(|e| status::bad_request(e.to_string()))?;
            json_patch::patch(&mut doc, &p).map_err(|_| status::patch_rejected())?;
        }
        _ => {
            let p: Value = serde_json::from_slice(&r.body)
                .map_err(|e| status::bad_request(format!("error decoding patch: {e}")))?;
            if !p.is_object() {
                return Err(status::bad_request(format!(
                    "error decoding patch: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    match p {
                        Value::Array(_) => "array",
                        Value::String(_) => "string",
                        Value::Number(_) => "number",
                        Value::Bool(_) => "bool",
                        _ => "null",
                    }
                )));
            }
            json_patch::merge(&mut doc, &p);
        }
    }
    if doc.get("kind").and_then(Value::as_str) != Some(ctx.rt.kind.as_str())
        || doc.get("apiVersion").and_then(Value::as_str) != Some(api_version.as_str())
    {
        return Err(status::bad_request(
            "the patch changed the object's apiVersion or kind",
        ));
    }
    if meta_str(&doc, "name") != ctx.name {
        return Err(status::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({})",
            meta_str(&doc, "name"),
            ctx.name
        )));
    }
    update_with(&ctx, st, Some(old), doc, &mut warnings, false)
}

//! `POST` on a collection: the body checks of a create, `generateName`, then the write pipeline.
//!
//! The create-on-update of Leases is in `update.rs`, creating by server-side apply in `apply.rs`.

use super::context::Ctx;
use super::object::{check_type_meta, meta_mut, meta_str, parse_json_body};
use super::write::{Managed, Written, check_namespace, commit, default, prepare, prune};
use crate::request::{Req, ResPath};
use crate::state::State;
use crate::status::{self, ApiError};
use serde_json::json;

/// Creates the object in the body; `warnings` are the request's warnings so far.
pub(crate) fn create(
    mut ctx: Ctx<'_>,
    st: &mut State,
    r: &Req,
    rp: &ResPath,
    mut warnings: Vec<String>,
) -> Result<Written, ApiError> {
    if rp.name.is_some() || rp.sub.is_some() {
        return Err(status::method_not_supported(ctx.gr(), "create"));
    }
    if ctx.rt.namespaced && rp.namespace.is_none() {
        return Err(status::path_not_found());
    }
    let mut obj = if r.body.is_empty() {
        return Err(status::bad_request(
            "the object provided is unrecognized: empty body",
        ));
    } else {
        parse_json_body(&r.body)?
    };
    check_type_meta(&ctx, &obj)?;
    let bns = meta_str(&obj, "namespace").to_string();
    if ctx.rt.namespaced && !bns.is_empty() && bns != ctx.ns {
        return Err(status::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if !meta_str(&obj, "resourceVersion").is_empty() {
        return Err(status::unknown_500(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    let mut name = meta_str(&obj, "name").to_string();
    let gen_name = meta_str(&obj, "generateName").to_string();
    if name.is_empty() && !gen_name.is_empty() {
        use rand::Rng;
        const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut suffix = String::new();
        for _ in 0..5 {
            suffix.push(ALPHA[(st.rng.next_u32() as usize) % ALPHA.len()] as char);
        }
        let base: String = gen_name.chars().take(58).collect();
        name = format!("{base}{suffix}");
        meta_mut(&mut obj).insert("name".into(), json!(name));
    }
    ctx.name = name;
    check_namespace(&ctx, st, true)?;
    let mut w = prune(&ctx, &mut obj, true)?;
    default(&ctx, &mut obj);
    warnings.append(&mut w);
    prepare(&ctx, st, None, &mut obj);
    commit(&ctx, st, None, obj, Managed::Update, warnings)
}

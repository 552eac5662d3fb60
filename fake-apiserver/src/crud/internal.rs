//! Writes the fake makes on its own: the concurrent-writer fault (an apply or merge patch by
//! another field manager), and the `faults::Server` hooks through which faults reach the server.
//!
//! It reuses the verb flows of `apply.rs` and `update.rs`; it does not decide when a fault fires.

use super::apply::apply_patch;
use super::context::{Ctx, FieldValidation};
use super::object::meta_mut;
use super::update::update_with;
use crate::faults::{ObjectRef, WriterPatch};
use crate::state::{Inner, State, res_key};
use crate::status;
use serde_json::{Value, json};

/// A concurrent writer's change, made by the fake itself; wakes watchers.
pub(crate) fn concurrent_write(
    inner: &Inner,
    target: &ObjectRef,
    manager: &str,
    patch: &Value,
    patch_type: WriterPatch,
) -> Result<(), String> {
    let r = {
        let mut st = inner.lock();
        internal_patch(inner, &mut st, target, manager, patch, patch_type)
    };
    inner.notify();
    r
}

impl crate::faults::Server for Inner {
    fn compact_now(&self) {
        Inner::compact_now(self);
    }
    fn drop_watches(&self) {
        Inner::drop_watches(self);
    }
    fn concurrent_write(
        &self,
        target: &ObjectRef,
        manager: &str,
        patch: &Value,
        patch_type: WriterPatch,
    ) -> Result<(), String> {
        concurrent_write(self, target, manager, patch, patch_type)
    }
}

/// A change made by the fake itself (concurrent writer fault).
fn internal_patch(
    inner: &Inner,
    st: &mut State,
    target: &ObjectRef,
    manager: &str,
    patch: &Value,
    patch_type: WriterPatch,
) -> Result<(), String> {
    let res = res_key(&target.group, &target.resource);
    let Some(served) = st.types.get(&res).cloned() else {
        return Err(format!(
            "resource {}.{} is not served",
            target.resource, target.group
        ));
    };
    let rt = served.rt.clone();
    let ver = rt.storage_version().clone();
    let ctx = Ctx {
        inner,
        version: ver.name.clone(),
        ver,
        rt,
        ns: target.namespace.clone(),
        name: target.name.clone(),
        sub: String::new(),
        dry_run: false,
        manager: manager.to_string(),
        fv: FieldValidation::Ignore,
        now: inner.now_string(),
    };
    let key = ctx.key();
    let old = st.store.get(&res, &key).cloned();
    let r = match patch_type {
        WriterPatch::Apply => {
            let mut cfg = patch.clone();
            if cfg.get("apiVersion").is_none() {
                cfg["apiVersion"] = json!(ctx.api_version());
            }
            if cfg.get("kind").is_none() {
                cfg["kind"] = json!(ctx.rt.kind);
            }
            let m = meta_mut(&mut cfg);
            m.insert("name".into(), json!(target.name));
            if ctx.rt.namespaced {
                m.insert("namespace".into(), json!(target.namespace));
            }
            apply_patch(&ctx, st, old, cfg, true)
        }
        WriterPatch::Merge => {
            let Some(o) = old else {
                return Err(status::not_found(ctx.gr(), &target.name)
                    .message()
                    .to_string());
            };
            let mut doc = (*o).clone();
            json_patch::merge(&mut doc, patch);
            let mut w = vec![];
            update_with(&ctx, st, Some(o), doc, &mut w, false)
        }
    };
    r.map(|_| ()).map_err(|e| e.message().to_string())
}

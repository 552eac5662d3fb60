//! What a resource request is about once parsed: the target (`Ctx`: type, version, namespace, name,
//! subresource, dry-run, field manager, fieldValidation, the time), the request options that set
//! it, and the read-only cluster view and request given to admission hooks.
//!
//! It describes a request; it does not change the store.

use crate::admission::{AdmissionRequest, ClusterView, Operation};
use crate::request::Req;
use crate::schema::Schema;
use crate::ssa::{self, Reset};
use crate::state::{Inner, State, res_key};
use crate::status::{self, ApiError, FieldError, Gr};
use crate::store::{ObjKey, ResKey};
use crate::types::{ResourceType, TypeVersion};
use serde_json::Value;
use std::sync::Arc;

/// fieldValidation modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// Everything a write needs to know about its target.
#[derive(Clone)]
pub(crate) struct Ctx<'a> {
    pub inner: &'a Inner,
    pub rt: Arc<ResourceType>,
    pub ver: TypeVersion,
    pub version: String,
    pub ns: String,
    pub name: String,
    pub sub: String,
    pub dry_run: bool,
    pub manager: String,
    pub fv: FieldValidation,
    pub now: String,
}

impl Ctx<'_> {
    pub(crate) fn res(&self) -> ResKey {
        res_key(&self.rt.group, &self.rt.plural)
    }
    pub(crate) fn gr(&self) -> Gr<'_> {
        Gr {
            group: &self.rt.group,
            resource: &self.rt.plural,
        }
    }
    pub(crate) fn key(&self) -> ObjKey {
        (self.ns.clone(), self.name.clone())
    }
    pub(crate) fn api_version(&self) -> String {
        self.rt.api_version(&self.version)
    }
    pub(crate) fn schema(&self) -> Option<&Schema> {
        self.ver.schema.as_deref()
    }
    pub(crate) fn reset(&self) -> Reset {
        if self.sub == "status" {
            Reset::AllButStatus
        } else if self.ver.status {
            Reset::Status
        } else {
            Reset::None
        }
    }
    pub(crate) fn ssa_ctx<'b>(&'b self, api_version: &'b str) -> ssa::Ctx<'b> {
        ssa::Ctx {
            schema: self.schema(),
            manager: &self.manager,
            api_version,
            subresource: &self.sub,
            reset: self.reset(),
            now: &self.now,
        }
    }
    pub(crate) fn invalid(&self, name: &str, errs: &[FieldError]) -> ApiError {
        status::invalid(&self.rt.kind, &self.rt.group, name, errs)
    }
}

/// Read access for admission hooks.
pub(crate) struct View<'a> {
    pub st: &'a State,
}

impl ClusterView for View<'_> {
    fn get(&self, group: &str, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        self.st
            .store
            .get(
                &res_key(group, resource),
                &(namespace.to_string(), name.to_string()),
            )
            .map(|v| (**v).clone())
    }
    fn list(&self, group: &str, resource: &str, namespace: Option<&str>) -> Vec<Value> {
        self.st
            .store
            .list(&res_key(group, resource), namespace, None, None)
            .map(|(_, v)| (**v).clone())
            .collect()
    }
    fn visit(
        &self,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
        label: Option<(&str, &str)>,
        f: &mut dyn FnMut(&Value) -> bool,
    ) {
        let res = res_key(group, resource);
        match label {
            None => {
                for (_, v) in self.st.store.list(&res, namespace, None, None) {
                    if !f(v) {
                        return;
                    }
                }
            }
            Some((k, val)) => {
                let Some(keys) = self.st.store.by_label(&res, k, val) else {
                    return;
                };
                for key in keys {
                    if namespace.is_some_and(|ns| key.0 != ns) {
                        continue;
                    }
                    if let Some(v) = self.st.store.get(&res, key)
                        && !f(v)
                    {
                        return;
                    }
                }
            }
        }
    }
}

pub(crate) fn admission_request<'a>(
    ctx: &'a Ctx<'a>,
    op: Operation,
    name: &'a str,
    obj: Option<&'a Value>,
    old: Option<&'a Value>,
) -> AdmissionRequest<'a> {
    AdmissionRequest {
        operation: op,
        group: &ctx.rt.group,
        version: &ctx.version,
        kind: &ctx.rt.kind,
        resource: &ctx.rt.plural,
        subresource: &ctx.sub,
        namespace: &ctx.ns,
        name,
        object: obj,
        old_object: old,
        dry_run: ctx.dry_run,
    }
}

/// The `fieldValidation` parameter.
pub(crate) fn field_validation(r: &Req) -> Result<FieldValidation, ApiError> {
    match r.q("fieldValidation").unwrap_or("") {
        "" | "Warn" => Ok(FieldValidation::Warn),
        "Strict" => Ok(FieldValidation::Strict),
        "Ignore" => Ok(FieldValidation::Ignore),
        other => Err(status::bad_request(format!(
            "fieldValidation parameter unsupported: {other}; supported values: Ignore, Warn, Strict"
        ))),
    }
}

/// The field manager of a write: `fieldManager`, else the user agent's product name.
pub(crate) fn manager_of(r: &Req) -> String {
    if let Some(m) = r.q("fieldManager").filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    match r
        .user_agent
        .as_deref()
        .map(|ua| ua.split('/').next().unwrap_or(""))
    {
        Some(p) if !p.is_empty() => p.chars().take(128).collect(),
        _ => "unknown".into(),
    }
}

/// A 422 for invalid PatchOptions (no `details.name`).
pub(crate) fn patch_options_invalid(e: FieldError) -> ApiError {
    let mut err = status::invalid("PatchOptions", "meta.k8s.io", "", &[e]);
    if let Some(Value::Object(d)) = err.body.get_mut("details") {
        d.remove("name");
    }
    err
}

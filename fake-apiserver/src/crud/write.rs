//! The write pipeline shared by create, update, patch and apply: namespace admission, pruning and
//! defaulting, the strategy rules of each type (`prepare`), then `commit` — mutating admission,
//! validation, validating admission, generation, field ownership, no-op detection, dry-run and
//! storage.
//!
//! It does not parse request bodies (the verb modules do) and does not answer HTTP.

use super::context::{Ctx, FieldValidation, View, admission_request};
use super::lifecycle::{after_removal, after_write};
use super::object::{at_version, canonical_order, finalizers, meta_mut, meta_str, zero_object};
use crate::admission::Operation;
use crate::schema::{self, Schema};
use crate::ssa::{self, ManagedEntry};
use crate::state::{NS_RES, State, res_key};
use crate::status::{self, ApiError, FieldError, Gr};
use crate::store::ObjKey;
use crate::types::{self, Strategy};
use crate::validation::{self, NameRule};
use serde_json::{Value, json};
use std::sync::Arc;

/// Namespace lifecycle admission.
pub(crate) fn check_namespace(ctx: &Ctx<'_>, st: &State, creating: bool) -> Result<(), ApiError> {
    if !ctx.rt.namespaced {
        return Ok(());
    }
    let exists = st
        .store
        .get(
            &res_key(NS_RES.0, NS_RES.1),
            &(String::new(), ctx.ns.clone()),
        )
        .is_some();
    if !exists {
        return Err(status::not_found(
            Gr {
                group: "",
                resource: "namespaces",
            },
            &ctx.ns,
        ));
    }
    if creating && st.terminating_ns.contains(&ctx.ns) {
        return Err(status::forbidden(
            ctx.gr(),
            &ctx.name,
            &format!(
                "unable to create new content in namespace {} because it is being terminated",
                ctx.ns
            ),
        ));
    }
    Ok(())
}

/// Removes fields the schema does not know. With `report`, unknown fields are answered as
/// `fieldValidation` asks: a 400 (`Strict`), warnings (`Warn`, returned) or nothing (`Ignore`).
pub(crate) fn prune(ctx: &Ctx<'_>, obj: &mut Value, report: bool) -> Result<Vec<String>, ApiError> {
    let mut warnings = vec![];
    if let Some(s) = ctx.schema() {
        let unknown = schema::prune_root(obj, s);
        if report && !unknown.is_empty() {
            match ctx.fv {
                FieldValidation::Strict => {
                    let list: Vec<String> = unknown
                        .iter()
                        .map(|u| format!("unknown field {u:?}"))
                        .collect();
                    return Err(status::bad_request(format!(
                        "strict decoding error: {}",
                        list.join(", ")
                    )));
                }
                FieldValidation::Warn => {
                    warnings.extend(unknown.iter().map(|u| format!("unknown field {u:?}")))
                }
                FieldValidation::Ignore => {}
            }
        }
    }
    Ok(warnings)
}

/// Defaulting of a pruned object: nulls the schema does not allow are dropped, missing root
/// fields with a default are added, every root field is defaulted below, and CRDs get the
/// defaults of their Go type.
pub(crate) fn default(ctx: &Ctx<'_>, obj: &mut Value) {
    if let Some(s) = ctx.schema() {
        schema::drop_nulls(obj, s);
        if let Value::Object(m) = obj {
            for (k, sub) in &s.properties {
                if !m.contains_key(k)
                    && let Some(d) = &sub.default
                {
                    m.insert(k.clone(), d.clone());
                }
            }
        }
        apply_schema_defaults(obj, s);
    }
    if ctx.rt.strategy == Strategy::Crd {
        types::default_crd(obj);
    }
}

/// Schema defaults below every root field present (metadata and type meta excluded).
pub(crate) fn apply_schema_defaults(obj: &mut Value, s: &Schema) {
    if let Value::Object(m) = obj {
        for (k, v) in m.iter_mut() {
            if k == "metadata" || k == "apiVersion" || k == "kind" {
                continue;
            }
            if let Some(sub) = s.properties.get(k) {
                schema::apply_defaults(v, sub);
            }
        }
    }
}

/// Strategy rules that apply before validation.
pub(crate) fn prepare(ctx: &Ctx<'_>, st: &mut State, old: Option<&Value>, new: &mut Value) {
    let status_sub = ctx.ver.status;
    match old {
        None => {
            let uid = ctx.inner.new_uid(st);
            let m = meta_mut(new);
            m.insert("uid".into(), json!(uid));
            m.insert("creationTimestamp".into(), json!(ctx.now));
            m.remove("deletionTimestamp");
            m.remove("deletionGracePeriodSeconds");
            m.remove("selfLink");
            m.remove("resourceVersion");
            if ctx.rt.has_generation() {
                m.insert("generation".into(), json!(1));
            } else {
                m.remove("generation");
            }
            if ctx.rt.namespaced {
                m.insert("namespace".into(), json!(ctx.ns));
            } else {
                m.remove("namespace");
            }
            match ctx.rt.strategy {
                Strategy::Custom if status_sub => {
                    if let Value::Object(o) = new {
                        o.remove("status");
                    }
                }
                Strategy::Crd => {
                    let storage: Vec<Value> = new
                        .pointer("/spec/versions")
                        .and_then(Value::as_array)
                        .map(|vs| {
                            vs.iter()
                                .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                                .filter_map(|v| v.get("name").cloned())
                                .collect()
                        })
                        .unwrap_or_default();
                    new["status"] = json!({"conditions":null,"acceptedNames":{"plural":"","kind":""},"storedVersions":storage});
                }
                Strategy::Namespace => {
                    let name = meta_str(new, "name").to_string();
                    if !name.is_empty() {
                        let m = meta_mut(new);
                        let labels = m.entry("labels").or_insert_with(|| json!({}));
                        if let Value::Object(l) = labels {
                            l.insert("kubernetes.io/metadata.name".into(), json!(name));
                        }
                    }
                    if new.pointer("/spec/finalizers").is_none() {
                        new["spec"] = json!({"finalizers":["kubernetes"]});
                    }
                    new["status"] = json!({"phase":"Active"});
                }
                _ => {}
            }
        }
        Some(old) => {
            let keep = [
                "uid",
                "creationTimestamp",
                "generation",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "name",
                "namespace",
            ];
            if ctx.sub == "status" {
                let status = new.get("status").cloned();
                let managed = new.pointer("/metadata/managedFields").cloned();
                *new = old.clone();
                if let Value::Object(o) = new {
                    match status {
                        Some(s) => {
                            o.insert("status".into(), s);
                        }
                        None => {
                            o.remove("status");
                        }
                    }
                }
                if let Some(mf) = managed {
                    meta_mut(new).insert("managedFields".into(), mf);
                }
                return;
            }
            let om = old.get("metadata").cloned().unwrap_or(json!({}));
            let m = meta_mut(new);
            for k in keep {
                match om.get(k) {
                    Some(v) => {
                        m.insert(k.into(), v.clone());
                    }
                    None => {
                        m.remove(k);
                    }
                }
            }
            m.remove("selfLink");
            if status_sub && let Value::Object(o) = new {
                match old.get("status") {
                    Some(s) => {
                        o.insert("status".into(), s.clone());
                    }
                    None => {
                        o.remove("status");
                    }
                }
            }
        }
    }
}

fn spec_changed(ctx: &Ctx<'_>, old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut x = v.clone();
        if let Value::Object(m) = &mut x {
            m.remove("metadata");
            m.remove("apiVersion");
            m.remove("kind");
            if ctx.ver.status {
                m.remove("status");
            }
        }
        x
    };
    strip(old) != strip(new)
}

/// The result of a successful write.
pub(crate) struct Written {
    pub code: u16,
    pub obj: Arc<Value>,
    pub warnings: Vec<String>,
}

/// How the managed fields of a write are computed.
pub(crate) enum Managed {
    /// A non-apply write by `ctx.manager`.
    Update,
    /// Server-side apply: the entries were computed by `ssa::apply`.
    Applied(Vec<ManagedEntry>),
}

/// Validation, admission, ownership, no-op detection, dry-run and storage shared by every
/// create/update/patch/apply.
pub(crate) fn commit(
    ctx: &Ctx<'_>,
    st: &mut State,
    old: Option<Arc<Value>>,
    mut new: Value,
    managed: Managed,
    mut warnings: Vec<String>,
) -> Result<Written, ApiError> {
    let creating = old.is_none();
    let name = meta_str(&new, "name").to_string();
    // Mutating admission.
    if !ctx.inner.admission.is_empty() {
        let op = if creating {
            Operation::Create
        } else {
            Operation::Update
        };
        for h in &ctx.inner.admission {
            let snapshot = new.clone();
            let req = admission_request(ctx, op, &name, Some(&snapshot), old.as_deref());
            h.mutate(&req, &mut new)
                .map_err(|e| status::admission_denied(h.name(), e.code, &e.reason, &e.message))?;
        }
        if let Some(s) = ctx.schema() {
            schema::prune_root(&mut new, s);
            schema::drop_nulls(&mut new, s);
        }
    }
    // Validation.
    let rule = if ctx.rt.strategy == Strategy::Namespace {
        NameRule::Label
    } else {
        NameRule::Subdomain
    };
    let mut errs = validation::validate_metadata(&new, rule);
    if let Some(s) = ctx.schema() {
        errs.extend(schema::validate_root(&new, s));
    }
    if let Some(o) = &old
        && !meta_str(o, "deletionTimestamp").is_empty()
    {
        let before = finalizers(o);
        let added: Vec<String> = finalizers(&new)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            errs.push(FieldError::forbidden(
                "metadata.finalizers",
                &format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    added.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    if ctx.rt.strategy == Strategy::Crd
        && let Err(e) = types::compile_crd(&new)
    {
        errs.extend(e);
    }
    if !errs.is_empty() {
        return Err(ctx.invalid(&name, &errs));
    }
    // Validating admission.
    if !ctx.inner.admission.is_empty() {
        let op = if creating {
            Operation::Create
        } else {
            Operation::Update
        };
        let view = View { st };
        for h in &ctx.inner.admission {
            let req = admission_request(ctx, op, &name, Some(&new), old.as_deref());
            h.validate(&req, &view)
                .map_err(|e| status::admission_denied(h.name(), e.code, &e.reason, &e.message))?;
        }
    }
    // Generation.
    if let Some(o) = &old
        && ctx.rt.has_generation()
        && ctx.sub != "status"
        && spec_changed(ctx, o, &new)
    {
        let g = o
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        meta_mut(&mut new).insert("generation".into(), json!(g + 1));
    }
    // Ownership.
    let api_version = ctx.api_version();
    let sctx = ctx.ssa_ctx(&api_version);
    let entries = match managed {
        Managed::Applied(e) => e,
        Managed::Update => {
            let old_val = old
                .as_deref()
                .cloned()
                .unwrap_or_else(|| zero_object(&ctx.rt));
            let old_entries = ssa::decode_managed(&old_val).unwrap_or_default();
            let supplied = new.pointer("/metadata/managedFields").cloned();
            let mut entries = match supplied {
                Some(s) if Some(&s) != old_val.pointer("/metadata/managedFields") => {
                    ssa::decode_managed(&new).map_err(|e| {
                        ctx.invalid(
                            &name,
                            &[FieldError::invalid(
                                "metadata.managedFields",
                                &Value::Null,
                                &e.0,
                            )],
                        )
                    })?
                }
                _ => old_entries,
            };
            ssa::record_update(&old_val, &new, &mut entries, &sctx);
            entries
        }
    };
    let encoded = ssa::encode_managed(&entries);
    {
        let m = meta_mut(&mut new);
        if encoded.as_array().is_some_and(|a| a.is_empty()) {
            m.remove("managedFields");
        } else {
            m.insert("managedFields".into(), encoded);
        }
        if ctx.rt.has_generation() && !m.contains_key("generation") {
            m.insert("generation".into(), json!(1));
        }
    }
    new["apiVersion"] = json!(ctx.rt.api_version(&ctx.rt.storage_version().name));
    new["kind"] = json!(ctx.rt.kind);
    canonical_order(&ctx.rt, &mut new);
    let res = ctx.res();
    let key: ObjKey = (
        if ctx.rt.namespaced {
            ctx.ns.clone()
        } else {
            String::new()
        },
        name.clone(),
    );
    match &old {
        None => {
            if st.store.get(&res, &key).is_some() {
                return Err(status::already_exists(ctx.gr(), &name));
            }
            if ctx.dry_run {
                meta_mut(&mut new).remove("resourceVersion");
                canonical_order(&ctx.rt, &mut new);
                return Ok(Written {
                    code: 201,
                    obj: at_version(&Arc::new(new), &api_version),
                    warnings,
                });
            }
            let stored = st.store.put(&res, key, new);
            after_write(ctx, st, None, &stored);
            Ok(Written {
                code: 201,
                obj: at_version(&stored, &api_version),
                warnings,
            })
        }
        Some(o) => {
            meta_mut(&mut new).insert(
                "resourceVersion".into(),
                o.pointer("/metadata/resourceVersion")
                    .cloned()
                    .unwrap_or(Value::Null),
            );
            canonical_order(&ctx.rt, &mut new);
            if new == **o {
                return Ok(Written {
                    code: 200,
                    obj: at_version(o, &api_version),
                    warnings,
                });
            }
            if ctx.dry_run {
                return Ok(Written {
                    code: 200,
                    obj: at_version(&Arc::new(new), &api_version),
                    warnings,
                });
            }
            let finishing =
                !meta_str(&new, "deletionTimestamp").is_empty() && finalizers(&new).is_empty();
            let stored = st.store.put(&res, key.clone(), new);
            if finishing {
                st.store.remove(&res, &key);
                after_removal(ctx.inner, st, &res, &key);
            } else {
                after_write(ctx, st, Some(o), &stored);
            }
            warnings.dedup();
            Ok(Written {
                code: 200,
                obj: at_version(&stored, &api_version),
                warnings,
            })
        }
    }
}

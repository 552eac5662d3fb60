//! Resource verbs on every served type: get, list, create, update, patch (merge, JSON, strategic
//! for built-ins, server-side apply), delete (finalizers, preconditions, propagation), and
//! deletecollection; status subresource rules, generation, dry-run, no-op detection, schema
//! pruning/defaulting/validation, admission, and the CRD and namespace lifecycles.
//!
//! Watches are served by `watch.rs`.

use crate::admission::{AdmissionRequest, ClusterView, Operation};
use crate::error::Error;
use crate::faults::{ObjectRef, WriterPatch};
use crate::reply::{Reply, error_reply, json_reply, raw_reply};
use crate::request::{Req, ResPath};
use crate::schema::{self, Schema};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::sercache::Form;
use crate::ssa::{self, ManagedEntry, Reset};
use crate::state::{CRD_RES, CrdTimer, Inner, NS_RES, Served, State, res_key};
use crate::status::{self, ApiError, FieldError, Gr};
use crate::store::{ObjKey, ResKey};
use crate::table::{self, IncludeObject};
use crate::types::{self, ResourceType, Strategy, TypeVersion};
use crate::validation::{self, NameRule};
use base64::Engine;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// What representation the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Table,
    Partial,
    PartialList,
}

/// Picks the first acceptable media type of an Accept header.
pub(crate) fn negotiate(accept: &str) -> Option<Format> {
    if accept.trim().is_empty() {
        return Some(Format::Json);
    }
    for part in accept.split(',') {
        let mut it = part.split(';').map(str::trim);
        let mt = it.next().unwrap_or("").to_ascii_lowercase();
        let mut params = std::collections::BTreeMap::new();
        for p in it {
            if let Some((k, v)) = p.split_once('=') {
                params.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        if mt == "application/json" || mt == "*/*" || mt == "application/*" {
            match (
                params.get("as").map(String::as_str),
                params.get("g").map(String::as_str),
            ) {
                (None, _) => return Some(Format::Json),
                (Some("Table"), Some("meta.k8s.io")) => return Some(Format::Table),
                (Some("PartialObjectMetadata"), Some("meta.k8s.io")) => {
                    return Some(Format::Partial);
                }
                (Some("PartialObjectMetadataList"), Some("meta.k8s.io")) => {
                    return Some(Format::PartialList);
                }
                _ => continue,
            }
        }
    }
    None
}

/// fieldValidation modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// Everything a write needs to know about its target.
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
    fn res(&self) -> ResKey {
        res_key(&self.rt.group, &self.rt.plural)
    }
    fn gr(&self) -> Gr<'_> {
        Gr {
            group: &self.rt.group,
            resource: &self.rt.plural,
        }
    }
    fn key(&self) -> ObjKey {
        (self.ns.clone(), self.name.clone())
    }
    fn api_version(&self) -> String {
        self.rt.api_version(&self.version)
    }
    fn schema(&self) -> Option<&Schema> {
        self.ver.schema.as_deref()
    }
    fn reset(&self) -> Reset {
        if self.sub == "status" {
            Reset::AllButStatus
        } else if self.ver.status {
            Reset::Status
        } else {
            Reset::None
        }
    }
    fn ssa_ctx<'b>(&'b self, api_version: &'b str) -> ssa::Ctx<'b> {
        ssa::Ctx {
            schema: self.schema(),
            manager: &self.manager,
            api_version,
            subresource: &self.sub,
            reset: self.reset(),
            now: &self.now,
        }
    }
    fn invalid(&self, name: &str, errs: &[FieldError]) -> ApiError {
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

fn meta_str<'a>(o: &'a Value, k: &str) -> &'a str {
    o.get("metadata")
        .and_then(|m| m.get(k))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn meta_mut(o: &mut Value) -> &mut Map<String, Value> {
    if !o.get("metadata").is_some_and(Value::is_object) {
        o["metadata"] = json!({});
    }
    o["metadata"]
        .as_object_mut()
        .expect("metadata is an object")
}

fn finalizers(o: &Value) -> Vec<String> {
    o.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Sorts every object key (the real server writes custom resources with sorted keys).
fn sort_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if !m.keys().is_sorted() {
                m.sort_keys();
            }
            m.values_mut().for_each(sort_keys);
        }
        Value::Array(a) => a.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

const META_ORDER: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Key order of the stored representation.
fn canonical_order(rt: &ResourceType, v: &mut Value) {
    match rt.strategy {
        Strategy::Custom => sort_keys(v),
        _ => {
            types::reorder(v, &["kind", "apiVersion", "metadata", "spec", "status"]);
            if let Some(m) = v.get_mut("metadata") {
                types::reorder(m, META_ORDER);
            }
            if rt.strategy == Strategy::Crd {
                types::order_crd(v);
            }
        }
    }
}

/// A served version of an object (only `apiVersion` differs between versions: conversion None).
fn at_version(obj: &Arc<Value>, api_version: &str) -> Arc<Value> {
    if obj.get("apiVersion").and_then(Value::as_str) == Some(api_version) {
        obj.clone()
    } else {
        let mut o = (**obj).clone();
        o["apiVersion"] = json!(api_version);
        Arc::new(o)
    }
}

pub(crate) fn new_namespace_object(name: &str, uid: &str, now: &str) -> Value {
    json!({"kind":"Namespace","apiVersion":"v1","metadata":{"name":name,"uid":uid,"creationTimestamp":now,
        "labels":{"kubernetes.io/metadata.name":name}},
        "spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}})
}

/// The zero value of a typed object: fields the Go type always carries.
fn zero_object(rt: &ResourceType) -> Value {
    match rt.strategy {
        Strategy::Crd => json!({"spec":{"names":{}}}),
        Strategy::Lease => json!({"spec":{}}),
        Strategy::Namespace => json!({"spec":{},"status":{}}),
        Strategy::Custom => json!({}),
    }
}

fn parse_json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice::<Value>(body)
        .map_err(|e| status::bad_request(format!("the object provided is unrecognized: {e}")))
}

fn parse_apply_body(body: &[u8]) -> Result<Value, ApiError> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| status::bad_request(format!("error decoding YAML: {e}")))?;
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| status::bad_request(format!("error decoding YAML: {e}")))
}

fn check_type_meta(ctx: &Ctx<'_>, obj: &Value) -> Result<(), ApiError> {
    let Some(o) = obj.as_object() else {
        return Err(status::bad_request(
            "the object provided is unrecognized: expected a JSON object",
        ));
    };
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
    let av = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if kind.is_empty() {
        return Err(status::bad_request(format!(
            "Object 'Kind' is missing in '{}'",
            truncate(&obj.to_string(), 512)
        )));
    }
    if av.is_empty() {
        return Err(status::bad_request(format!(
            "Object 'apiVersion' is missing in '{}'",
            truncate(&obj.to_string(), 512)
        )));
    }
    if kind != ctx.rt.kind {
        return Err(status::bad_request(format!(
            "the object provided is unrecognized: kind {kind:?} does not match the expected kind {:?}",
            ctx.rt.kind
        )));
    }
    if av != ctx.api_version()
        && !ctx
            .rt
            .versions
            .iter()
            .any(|v| ctx.rt.api_version(&v.name) == av)
    {
        return Err(status::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            ctx.api_version()
        )));
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        s.to_string()
    } else {
        format!(
            "{}...",
            &s[..s.char_indices().nth(n).map(|x| x.0).unwrap_or(s.len())]
        )
    }
}

/// Namespace lifecycle admission.
fn check_namespace(ctx: &Ctx<'_>, st: &State, creating: bool) -> Result<(), ApiError> {
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

/// Pruning and unknown-field handling; returns warnings.
fn prune_and_default(
    ctx: &Ctx<'_>,
    obj: &mut Value,
    strict_check: bool,
) -> Result<Vec<String>, ApiError> {
    let mut warnings = vec![];
    if let Some(s) = ctx.schema() {
        let unknown = schema::prune_root(obj, s);
        if strict_check && !unknown.is_empty() {
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
                    for u in unknown {
                        warnings.push(format!("unknown field {u:?}"));
                    }
                }
                FieldValidation::Ignore => {}
            }
        }
        schema::drop_nulls(obj, s);
        if let Value::Object(m) = obj {
            for (k, sub) in &s.properties {
                if !m.contains_key(k)
                    && let Some(d) = &sub.default
                {
                    m.insert(k.clone(), d.clone());
                }
            }
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
    if ctx.rt.strategy == Strategy::Crd {
        types::default_crd(obj);
    }
    Ok(warnings)
}

/// Strategy rules that apply before validation.
fn prepare(ctx: &Ctx<'_>, st: &mut State, old: Option<&Value>, new: &mut Value) {
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

fn admission_request<'a>(
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

/// Type-specific follow-ups of a stored write.
fn after_write(ctx: &Ctx<'_>, st: &mut State, old: Option<&Arc<Value>>, stored: &Arc<Value>) {
    if ctx.rt.strategy != Strategy::Crd {
        return;
    }
    let name = meta_str(stored, "name").to_string();
    match old {
        None => {
            st.crd_timers.insert(
                name,
                CrdTimer {
                    created: tokio::time::Instant::now(),
                    stage: 0,
                },
            );
        }
        Some(_) => {
            // Spec changes take effect for served types at once.
            if let Ok(rt) = types::compile_crd(stored) {
                let key = res_key(&rt.group, &rt.plural);
                if let Some(s) = st.types.get_mut(&key) {
                    s.rt = Arc::new(rt);
                    st.types_generation += 1;
                }
            }
        }
    }
}

/// Sets NamesAccepted (and Established when `established`) on a stored CRD.
pub(crate) fn crd_set_conditions(inner: &Inner, st: &mut State, name: &str, established: bool) {
    let res = res_key(CRD_RES.0, CRD_RES.1);
    let key = (String::new(), name.to_string());
    let Some(old) = st.store.get(&res, &key).cloned() else {
        return;
    };
    let Ok(rt) = types::compile_crd(&old) else {
        return;
    };
    let now = inner.now_string();
    let mut new = (*old).clone();
    let names = old.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let prev_conds = old
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ltt = |t: &str, status: &str| -> String {
        prev_conds
            .iter()
            .find(|c| {
                c.get("type").and_then(Value::as_str) == Some(t)
                    && c.get("status").and_then(Value::as_str) == Some(status)
            })
            .and_then(|c| c.get("lastTransitionTime").and_then(Value::as_str))
            .map(str::to_string)
            .unwrap_or_else(|| now.clone())
    };
    let est = if established {
        json!({"type":"Established","status":"True","lastTransitionTime":ltt("Established","True"),"reason":"InitialNamesAccepted","message":"the initial names have been accepted"})
    } else {
        json!({"type":"Established","status":"False","lastTransitionTime":ltt("Established","False"),"reason":"Installing","message":"the initial names have been accepted"})
    };
    let conds = vec![
        json!({"type":"NamesAccepted","status":"True","lastTransitionTime":ltt("NamesAccepted","True"),"reason":"NoConflicts","message":"no conflicts found"}),
        est,
    ];
    new["status"]["conditions"] = Value::Array(conds);
    new["status"]["acceptedNames"] = names;
    let crd_rt = st
        .types
        .get(&res)
        .map(|s| s.rt.clone())
        .expect("built-in CRD type");
    let ver = crd_rt.versions[0].clone();
    let ctx = Ctx {
        inner,
        rt: crd_rt,
        ver,
        version: "v1".into(),
        ns: String::new(),
        name: name.into(),
        sub: "status".into(),
        dry_run: false,
        manager: "kube-apiserver".into(),
        fv: FieldValidation::Ignore,
        now: now.clone(),
    };
    let api_version = ctx.api_version();
    let mut entries = ssa::decode_managed(&old).unwrap_or_default();
    ssa::record_update(&old, &new, &mut entries, &ctx.ssa_ctx(&api_version));
    meta_mut(&mut new).insert("managedFields".into(), ssa::encode_managed(&entries));
    canonical_order(&ctx.rt, &mut new);
    st.store.put(&res, key, new);
    let tk = res_key(&rt.group, &rt.plural);
    let served = Served {
        rt: Arc::new(rt),
        established,
        terminating: false,
        crd_name: Some(name.to_string()),
    };
    st.types.insert(tk, served);
    st.types_generation += 1;
}

/// Registers a CRD at build time or through `register_crd`: stored, named and Established at once.
pub(crate) fn install_crd_direct(
    inner: &Inner,
    st: &mut State,
    mut crd: Value,
) -> Result<(), Error> {
    let name = meta_str(&crd, "name").to_string();
    if crd.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
        return Err(Error::NotACrd {
            name,
            found: crd
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        });
    }
    types::default_crd(&mut crd);
    if let Err(errs) = types::compile_crd(&crd) {
        return Err(Error::InvalidCrd {
            name,
            message: errs
                .iter()
                .map(FieldError::line)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let res = res_key(CRD_RES.0, CRD_RES.1);
    if st.store.get(&res, &(String::new(), name.clone())).is_some() {
        return Err(Error::CrdExists { name });
    }
    let crd_rt = st
        .types
        .get(&res)
        .map(|s| s.rt.clone())
        .expect("built-in CRD type");
    let ver = crd_rt.versions[0].clone();
    let ctx = Ctx {
        inner,
        rt: crd_rt,
        ver,
        version: "v1".into(),
        ns: String::new(),
        name: name.clone(),
        sub: String::new(),
        dry_run: false,
        manager: "fake-apiserver".into(),
        fv: FieldValidation::Ignore,
        now: inner.now_string(),
    };
    let mut obj = crd;
    let _ = prune_and_default(&ctx, &mut obj, false);
    prepare(&ctx, st, None, &mut obj);
    commit(&ctx, st, None, obj, Managed::Update, vec![]).map_err(|e| Error::InvalidCrd {
        name: name.clone(),
        message: e.message().to_string(),
    })?;
    st.crd_timers.remove(&name);
    crd_set_conditions(inner, st, &name, true);
    Ok(())
}

/// Fills a new server: the `default` namespace, then the builder's CRDs (Established at once).
pub(crate) fn bootstrap(inner: &Inner, crds: Vec<Value>) -> Result<(), Error> {
    {
        let mut st = inner.lock();
        let now = inner.now_string();
        let ns = new_namespace_object("default", &inner.new_uid(&mut st), &now);
        st.store.put(
            &res_key(NS_RES.0, NS_RES.1),
            (String::new(), "default".into()),
            ns,
        );
        for crd in crds {
            install_crd_direct(inner, &mut st, crd)?;
        }
    }
    inner.notify();
    Ok(())
}

/// Applies CRD condition transitions that are due.
pub(crate) fn tick(inner: &Inner, st: &mut State) {
    if st.crd_timers.is_empty() {
        return;
    }
    let now = tokio::time::Instant::now();
    let names_at = inner.cfg.crd_names_delay;
    let est_at = inner.cfg.crd_names_delay + inner.cfg.crd_established_delay;
    let due: Vec<(String, CrdTimer)> = st
        .crd_timers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (name, t) in due {
        let elapsed = now.saturating_duration_since(t.created);
        if t.stage == 0 && elapsed >= names_at {
            let established = elapsed >= est_at;
            crd_set_conditions(inner, st, &name, established);
            if established {
                st.crd_timers.remove(&name);
            } else if let Some(x) = st.crd_timers.get_mut(&name) {
                x.stage = 1;
            }
        } else if t.stage == 1 && elapsed >= est_at {
            crd_set_conditions(inner, st, &name, true);
            st.crd_timers.remove(&name);
        }
    }
}

/// Schedules background ticks so watchers see CRD transitions without other traffic.
pub(crate) fn schedule_tick(inner: &Arc<Inner>) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    let weak = Arc::downgrade(inner);
    let d1 = inner.cfg.crd_names_delay;
    let d2 = inner.cfg.crd_names_delay + inner.cfg.crd_established_delay;
    tokio::spawn(async move {
        for d in [d1, d2] {
            tokio::time::sleep(d).await;
            let Some(s) = weak.upgrade() else { return };
            {
                let mut st = s.lock();
                tick(&s, &mut st);
            }
            s.notify();
        }
    });
}

/// Runs after an object is gone: finishes a terminating CRD or namespace when it becomes empty.
pub(crate) fn after_removal(inner: &Inner, st: &mut State, res: &ResKey, key: &ObjKey) {
    // A CRD disappearing removes its type.
    if res.0 == CRD_RES.0 && res.1 == CRD_RES.1 {
        let gone: Vec<ResKey> = st
            .types
            .iter()
            .filter(|(_, s)| s.crd_name.as_deref() == Some(key.1.as_str()))
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            st.types.remove(&k);
            st.store.forget_resource(&k);
        }
        st.crd_timers.remove(&key.1);
        st.types_generation += 1;
        return;
    }
    if let Some(s) = st.types.get(res).cloned()
        && s.terminating
        && st.store.count(res, None) == 0
        && let Some(crd) = s.crd_name
    {
        finish_crd(inner, st, &crd);
    }
    if !key.0.is_empty() && st.terminating_ns.contains(&key.0) {
        maybe_finish_namespace(inner, st, &key.0);
    }
    gc_orphans(inner, st);
}

/// The garbage collector's background propagation: dependents whose every owner is gone are
/// deleted (marked, if they carry finalizers).
fn gc_orphans(inner: &Inner, st: &mut State) {
    loop {
        let orphans = st.store.take_orphaned();
        if orphans.is_empty() {
            return;
        }
        let now = inner.now_string();
        for (r, k) in orphans {
            let Some(cur) = st.store.get(&r, &k).cloned() else {
                continue;
            };
            if finalizers(&cur).is_empty() {
                st.store.remove(&r, &k);
                after_removal(inner, st, &r, &k);
            } else if meta_str(&cur, "deletionTimestamp").is_empty() {
                st.store.put(&r, k.clone(), mark_deleting(&cur, &now));
            }
        }
    }
}

/// A copy of an object with deletionTimestamp set (and generation bumped where it has one).
fn mark_deleting(cur: &Value, now: &str) -> Value {
    let mut new = cur.clone();
    let m = meta_mut(&mut new);
    m.insert("deletionTimestamp".into(), json!(now));
    m.insert("deletionGracePeriodSeconds".into(), json!(0));
    if let Some(g) = m.get("generation").and_then(Value::as_i64) {
        m.insert("generation".into(), json!(g + 1));
    }
    new
}

fn finish_crd(inner: &Inner, st: &mut State, crd_name: &str) {
    let res = res_key(CRD_RES.0, CRD_RES.1);
    let key = (String::new(), crd_name.to_string());
    if let Some(old) = st.store.get(&res, &key).cloned() {
        let mut new = (*old).clone();
        meta_mut(&mut new).remove("finalizers");
        st.store.put(&res, key.clone(), new);
        st.store.remove(&res, &key);
        after_removal(inner, st, &res, &key);
    }
}

fn maybe_finish_namespace(inner: &Inner, st: &mut State, ns: &str) {
    let remaining: usize = st
        .types
        .keys()
        .filter(|k| st.types[*k].rt.namespaced)
        .map(|k| st.store.count(k, Some(ns)))
        .sum();
    if remaining > 0 {
        return;
    }
    let res = res_key(NS_RES.0, NS_RES.1);
    let key = (String::new(), ns.to_string());
    if let Some(old) = st.store.get(&res, &key).cloned() {
        let mut new = (*old).clone();
        new["spec"]["finalizers"] = json!([]);
        st.store.put(&res, key.clone(), new);
        st.store.remove(&res, &key);
    }
    st.terminating_ns.remove(ns);
    let _ = inner;
}

/// Marks an object as being deleted, or deletes it; returns (code, body).
fn delete_one(
    ctx: &Ctx<'_>,
    st: &mut State,
    res: &ResKey,
    key: &ObjKey,
    policy: Option<&str>,
) -> Result<(u16, Value, Option<Arc<Value>>), ApiError> {
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
                None,
            ));
        }
        let last = st.store.remove(res, key);
        after_removal(ctx.inner, st, res, key);
        return Ok((
            200,
            status::delete_success(ctx.gr(), &key.1, meta_str(&old, "uid")),
            last,
        ));
    }
    if !meta_str(&old, "deletionTimestamp").is_empty() {
        return Ok((200, (*at_version(&old, &api_version)).clone(), None));
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
        return Ok((200, new, None));
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
            maybe_finish_namespace(ctx.inner, st, &key.1);
        }
        _ => gc_finalizers(ctx.inner, st, res, key),
    }
    Ok((200, body, None))
}

/// The garbage collector's part: it removes `orphan`/`foregroundDeletion` once (with no
/// dependents to wait for) and deletes the object if no other finalizer remains.
fn gc_finalizers(inner: &Inner, st: &mut State, res: &ResKey, key: &ObjKey) {
    let Some(cur) = st.store.get(res, key).cloned() else {
        return;
    };
    let fins = finalizers(&cur);
    let kept: Vec<String> = fins
        .iter()
        .filter(|f| *f != "orphan" && *f != "foregroundDeletion")
        .cloned()
        .collect();
    if kept.len() == fins.len() {
        return;
    }
    let mut new = (*cur).clone();
    if kept.is_empty() {
        meta_mut(&mut new).remove("finalizers");
    } else {
        meta_mut(&mut new).insert("finalizers".into(), json!(kept));
    }
    st.store.put(res, key.clone(), new);
    if kept.is_empty() {
        st.store.remove(res, key);
        after_removal(inner, st, res, key);
    }
}

/// Deletes every object of a type (optionally in one namespace), honouring finalizers.
fn delete_all_of(inner: &Inner, st: &mut State, res: &ResKey, ns: Option<&str>) {
    let now = inner.now_string();
    let keys: Vec<ObjKey> = st
        .store
        .list(res, ns, None, None)
        .map(|(k, _)| k.clone())
        .collect();
    for k in keys {
        let Some(cur) = st.store.get(res, &k).cloned() else {
            continue;
        };
        if finalizers(&cur).is_empty() {
            st.store.remove(res, &k);
        } else if meta_str(&cur, "deletionTimestamp").is_empty() {
            st.store.put(res, k.clone(), mark_deleting(&cur, &now));
        }
    }
    gc_orphans(inner, st);
}

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

/// Update flow for PUT and non-apply patches.
fn update_with(
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
    if ctx.rt.strategy == Strategy::Crd
        && let (Some(a), Some(b)) = (
            old.pointer("/spec/names/plural"),
            new.pointer("/spec/names/plural"),
        )
        && a != b
    {
        // accepted; names change takes effect through after_write
    }
    let mut w = prune_and_default(ctx, &mut new, true)?;
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

/// Server-side apply.
fn apply_patch(
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
    let warnings = prune_and_default_cfg(ctx, &mut config)?;
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
        for k in [
            "managedFields",
            "creationTimestamp",
            "uid",
            "generation",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "resourceVersion",
        ] {
            md.remove(k);
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

fn apply_schema_defaults(obj: &mut Value, s: &Schema) {
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

fn prune_and_default_cfg(ctx: &Ctx<'_>, cfg: &mut Value) -> Result<Vec<String>, ApiError> {
    let mut warnings = vec![];
    if let Some(s) = ctx.schema() {
        let unknown = schema::prune_root(cfg, s);
        if !unknown.is_empty() {
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

fn field_validation(r: &Req) -> Result<FieldValidation, ApiError> {
    match r.q("fieldValidation").unwrap_or("") {
        "" | "Warn" => Ok(FieldValidation::Warn),
        "Strict" => Ok(FieldValidation::Strict),
        "Ignore" => Ok(FieldValidation::Ignore),
        other => Err(status::bad_request(format!(
            "fieldValidation parameter unsupported: {other}; supported values: Ignore, Warn, Strict"
        ))),
    }
}

fn manager_of(r: &Req) -> String {
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

fn warnings_headers(w: &[String]) -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeSet::new();
    w.iter()
        .filter(|x| seen.insert((*x).clone()))
        .map(|x| ("Warning".to_string(), format!("299 - {:?}", x)))
        .collect()
}

fn render(inner: &Inner, ctx_cols: &[table::Column], obj: &Value, fmt: Format, r: &Req) -> Value {
    match fmt {
        Format::Json => obj.clone(),
        Format::Partial | Format::PartialList => table::partial(obj),
        Format::Table => {
            let rv = meta_str(obj, "resourceVersion").to_string();
            table::table(
                &[obj],
                ctx_cols,
                inner.now().as_second(),
                include_object(r),
                json!({"resourceVersion": rv}),
                true,
            )
        }
    }
}

pub(crate) fn include_object(r: &Req) -> IncludeObject {
    match r.q("includeObject") {
        Some("None") => IncludeObject::None,
        Some("Object") => IncludeObject::Object,
        _ => IncludeObject::Metadata,
    }
}

/// Entry point for resource requests.
pub(crate) async fn handle(inner: &Arc<Inner>, r: &Req, rp: &ResPath, verb: &str) -> Reply {
    let out = {
        let mut st = inner.lock();
        tick(inner, &mut st);
        handle_locked(inner, &mut st, r, rp, verb)
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

fn handle_locked(
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
    let res = ctx.res();
    let api_version = ctx.api_version();
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
    let reply = |code: u16, obj: &Value, w: &[String]| -> Reply {
        let body = render(inner, &ver.columns, obj, fmt, r);
        json_reply(inner, code, &body, "application/json", &warnings_headers(w))
    };
    match verb {
        "get" => {
            let obj = st
                .store
                .get(&res, &ctx.key())
                .cloned()
                .ok_or_else(|| status::not_found(ctx.gr(), &ctx.name))?;
            Ok(reply(200, &at_version(&obj, &api_version), &warnings))
        }
        "list" => {
            let body = list(&ctx, st, r, fmt)?;
            Ok(raw_reply(
                inner,
                200,
                body,
                "application/json",
                &warnings_headers(&warnings),
            ))
        }
        "create" => {
            if rp.name.is_some() || rp.sub.is_some() {
                return Err(status::method_not_supported(ctx.gr(), "create"));
            }
            if rt.namespaced && rp.namespace.is_none() {
                return Err(status::path_not_found());
            }
            let mut obj = if r.body.is_empty() {
                return Err(status::bad_request(
                    "the object provided is unrecognized: empty body",
                ));
            } else {
                parse_json_body(&r.body)?
            };
            let mut ctx = ctx;
            check_type_meta(&ctx, &obj)?;
            let bns = meta_str(&obj, "namespace").to_string();
            if rt.namespaced && !bns.is_empty() && bns != ctx.ns {
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
            let mut w = prune_and_default(&ctx, &mut obj, true)?;
            warnings.append(&mut w);
            prepare(&ctx, st, None, &mut obj);
            let written = commit(
                &ctx,
                st,
                None,
                obj,
                Managed::Update,
                std::mem::take(&mut warnings),
            )?;
            Ok(reply(written.code, &written.obj, &written.warnings))
        }
        "update" => {
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
            if rt.namespaced && !bns.is_empty() && bns != ctx.ns {
                return Err(status::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            check_namespace(&ctx, st, false)?;
            let old = st.store.get(&res, &ctx.key()).cloned();
            if old.is_none() && rt.strategy == Strategy::Lease && ctx.sub.is_empty() {
                let mut obj = obj;
                let mut w = prune_and_default(&ctx, &mut obj, true)?;
                warnings.append(&mut w);
                meta_mut(&mut obj).remove("resourceVersion");
                prepare(&ctx, st, None, &mut obj);
                let written = commit(
                    &ctx,
                    st,
                    None,
                    obj,
                    Managed::Update,
                    std::mem::take(&mut warnings),
                )?;
                return Ok(reply(written.code, &written.obj, &written.warnings));
            }
            let written = update_with(&ctx, st, old, obj, &mut warnings, true)?;
            Ok(reply(written.code, &written.obj, &written.warnings))
        }
        "patch" | "apply" => {
            let mt = r.media_type().unwrap_or_default();
            let mut accepted = vec![
                "application/json-patch+json",
                "application/merge-patch+json",
            ];
            if rt.accepts_smp() {
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
            let old = st.store.get(&res, &ctx.key()).cloned();
            if mt == "application/apply-patch+yaml" {
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
                    check_namespace(&ctx, st, true)?;
                }
                let written = apply_patch(&ctx, st, old, cfg, force)?;
                let mut w = warnings.clone();
                w.extend(written.warnings.iter().cloned());
                return Ok(reply(written.code, &written.obj, &w));
            }
            let Some(old) = old else {
                return Err(status::not_found(ctx.gr(), &ctx.name));
            };
            let mut doc = (*at_version(&old, &api_version)).clone();
            match mt.as_str() {
                "application/json-patch+json" => {
                    let p: json_patch::Patch = serde_json::from_slice(&r.body)
                        .map_err(|e| status::bad_request(e.to_string()))?;
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
            if doc.get("kind").and_then(Value::as_str) != Some(rt.kind.as_str())
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
            let written = update_with(&ctx, st, Some(old), doc, &mut warnings, false)?;
            Ok(reply(written.code, &written.obj, &written.warnings))
        }
        "delete" => {
            let opts = delete_options(r)?;
            let mut ctx = ctx;
            ctx.dry_run |= body_dry_run(&opts);
            let key = ctx.key();
            let Some(cur) = st.store.get(&res, &key).cloned() else {
                return Err(status::not_found(ctx.gr(), &ctx.name));
            };
            check_preconditions(&ctx, &cur, &opts)?;
            if !ctx.inner.admission.is_empty() {
                let view = View { st };
                for h in &ctx.inner.admission {
                    let req = admission_request(
                        &ctx,
                        crate::admission::Operation::Delete,
                        &ctx.name,
                        None,
                        Some(&cur),
                    );
                    h.validate(&req, &view).map_err(|e| {
                        status::admission_denied(h.name(), e.code, &e.reason, &e.message)
                    })?;
                }
            }
            let policy = opts
                .get("propagationPolicy")
                .and_then(Value::as_str)
                .map(str::to_string);
            let (code, body, _) = delete_one(&ctx, st, &res, &key, policy.as_deref())?;
            let body = if body.get("kind").and_then(Value::as_str) == Some("Status") {
                body
            } else {
                render(inner, &ver.columns, &body, fmt, r)
            };
            Ok(json_reply(
                inner,
                code,
                &body,
                "application/json",
                &warnings_headers(&warnings),
            ))
        }
        "deletecollection" => {
            let opts = delete_options(r)?;
            let mut ctx = ctx;
            ctx.dry_run |= body_dry_run(&opts);
            let policy = opts
                .get("propagationPolicy")
                .and_then(Value::as_str)
                .map(str::to_string);
            let (label, field) = selectors(r, &ver)?;
            let ns = rp.namespace.as_deref();
            let victims: Vec<(ObjKey, Arc<Value>)> = st
                .store
                .list(&res, ns, None, None)
                .filter(|(_, o)| label.matches(o) && field.matches(o, &ver.field_keys))
                .map(|(k, o)| (k.clone(), o.clone()))
                .collect();
            let mut items = vec![];
            for (k, o) in victims {
                if !ctx.inner.admission.is_empty() {
                    let view = View { st };
                    for h in &ctx.inner.admission {
                        let req = admission_request(
                            &ctx,
                            crate::admission::Operation::Delete,
                            &k.1,
                            None,
                            Some(&o),
                        );
                        h.validate(&req, &view).map_err(|e| {
                            status::admission_denied(h.name(), e.code, &e.reason, &e.message)
                        })?;
                    }
                }
                let mut c2 = Ctx {
                    name: k.1.clone(),
                    ns: k.0.clone(),
                    ..ctx_clone(&ctx)
                };
                c2.dry_run = ctx.dry_run;
                delete_one(&c2, st, &res, &k, policy.as_deref())?;
                items.push((*at_version(&o, &api_version)).clone());
            }
            let mut list = Map::new();
            list.insert("apiVersion".into(), json!(api_version));
            list.insert("items".into(), Value::Array(items));
            list.insert("kind".into(), json!(rt.list_kind));
            list.insert(
                "metadata".into(),
                json!({"resourceVersion": st.store.rv().to_string()}),
            );
            Ok(json_reply(
                inner,
                200,
                &Value::Object(list),
                "application/json",
                &warnings_headers(&warnings),
            ))
        }
        _ => Err(status::method_not_supported(ctx.gr(), verb)),
    }
}

fn ctx_clone<'a>(c: &Ctx<'a>) -> Ctx<'a> {
    Ctx {
        inner: c.inner,
        rt: c.rt.clone(),
        ver: c.ver.clone(),
        version: c.version.clone(),
        ns: c.ns.clone(),
        name: c.name.clone(),
        sub: c.sub.clone(),
        dry_run: c.dry_run,
        manager: c.manager.clone(),
        fv: c.fv,
        now: c.now.clone(),
    }
}

fn body_dry_run(opts: &Map<String, Value>) -> bool {
    opts.get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v == "All"))
}

fn patch_options_invalid(e: FieldError) -> ApiError {
    let mut err = status::invalid("PatchOptions", "meta.k8s.io", "", &[e]);
    if let Some(Value::Object(d)) = err.body.get_mut("details") {
        d.remove("name");
    }
    err
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

/// Parses the label and field selectors of a request.
pub(crate) fn selectors(
    r: &Req,
    ver: &TypeVersion,
) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let label =
        LabelSelector::parse(r.q("labelSelector").unwrap_or("")).map_err(status::bad_request)?;
    let field = FieldSelector::parse(r.q("fieldSelector").unwrap_or(""), &ver.field_keys)
        .map_err(status::bad_request)?;
    Ok((label, field))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: i64,
    start: String,
}

fn list(ctx: &Ctx<'_>, st: &State, r: &Req, fmt: Format) -> Result<bytes::Bytes, ApiError> {
    let (label, field) = selectors(r, &ctx.ver)?;
    let res = ctx.res();
    let ns = if ctx.rt.namespaced && !ctx.ns.is_empty() {
        Some(ctx.ns.as_str())
    } else {
        None
    };
    let current = st.store.rv();
    let rv_param = r.q("resourceVersion").unwrap_or("");
    let rv_match = r.q("resourceVersionMatch").unwrap_or("");
    let mut limit: usize = r
        .q("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| *l > 0)
        .map(|l| l as usize)
        .unwrap_or(0);
    let cont = r.q("continue").unwrap_or("");
    let mut after: Option<ObjKey> = None;
    let (at, list_rv) = if !cont.is_empty() {
        if !rv_param.is_empty() && rv_param != "0" {
            return Err(status::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cont.trim_end_matches('='))
            .map_err(|_| status::bad_request("continue key is not valid: illegal base64 data"))?;
        let tok: ContinueToken = serde_json::from_slice(&raw)
            .map_err(|e| status::bad_request(format!("continue key is not valid: {e}")))?;
        if tok.v != "meta.k8s.io/v1" {
            return Err(status::bad_request(
                "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
            ));
        }
        let trv = tok.rv as u64;
        if trv < st.store.compacted() {
            return Err(status::continue_expired());
        }
        let start = tok.start.trim_end_matches('\u{0}').to_string();
        let key = if ns.is_none() && ctx.rt.namespaced {
            match start.split_once('/') {
                Some((a, b)) => (a.to_string(), b.to_string()),
                None => (String::new(), start.clone()),
            }
        } else if let Some(n) = ns {
            (n.to_string(), start.clone())
        } else {
            (String::new(), start.clone())
        };
        after = Some(key);
        (Some(trv), trv)
    } else if rv_param.is_empty() {
        (None, current)
    } else if rv_param == "0" {
        limit = 0;
        (None, current)
    } else {
        let n: u64 = rv_param
            .parse()
            .map_err(|_| status::bad_request(format!("invalid resource version: {rv_param}")))?;
        if n > current {
            return Err(status::too_large_rv(n, current));
        }
        if rv_match == "Exact" {
            if n < st.store.compacted() {
                return Err(status::list_rv_too_old());
            }
            (Some(n), n)
        } else {
            (None, current)
        }
    };
    let api_version = ctx.api_version();
    let mut items: Vec<Arc<Value>> = vec![];
    let mut next_key: Option<ObjKey> = None;
    let mut remaining: usize = 0;
    if let (Some(name), None) = (field.exact_name(), at) {
        let keys: Vec<ObjKey> = match ns {
            Some(n) => vec![(n.to_string(), name.to_string())],
            None if !ctx.rt.namespaced => vec![(String::new(), name.to_string())],
            None => st
                .store
                .list(&res, None, None, None)
                .filter(|(k, _)| k.1 == name)
                .map(|(k, _)| k.clone())
                .collect(),
        };
        for k in keys {
            if let Some(o) = st.store.get(&res, &k)
                && label.matches(o)
                && field.matches(o, &ctx.ver.field_keys)
                && after.as_ref().is_none_or(|a| &k > a)
            {
                items.push(o.clone());
            }
        }
    } else {
        let indexed: Option<Vec<(ObjKey, Arc<Value>)>> = match (at, label.index_hint()) {
            (None, Some((k, vs))) => {
                let mut keys: std::collections::BTreeSet<&ObjKey> =
                    std::collections::BTreeSet::new();
                for v in vs {
                    if let Some(set) = st.store.by_label(&res, k, v) {
                        keys.extend(set.iter());
                    }
                }
                Some(
                    keys.into_iter()
                        .filter(|k| {
                            ns.is_none_or(|n| k.0 == n) && after.as_ref().is_none_or(|a| *k > a)
                        })
                        .filter_map(|k| st.store.get(&res, k).map(|o| (k.clone(), o.clone())))
                        .collect(),
                )
            }
            _ => None,
        };
        let source: Box<dyn Iterator<Item = (&ObjKey, &Arc<Value>)>> = match &indexed {
            Some(v) => Box::new(v.iter().map(|(k, o)| (k, o))),
            None => st.store.list(&res, ns, at, after.as_ref()),
        };
        let mut it =
            source.filter(|(_, o)| label.matches(o) && field.matches(o, &ctx.ver.field_keys));
        for (k, o) in it.by_ref() {
            if limit > 0 && items.len() == limit {
                next_key = Some(k.clone());
                remaining = 1;
                break;
            }
            items.push(o.clone());
        }
        if next_key.is_some() {
            remaining += it.count();
            // The token resumes after the last returned item.
        }
    }
    let mut meta = Map::new();
    let mut continue_token = String::new();
    if next_key.is_some()
        && let Some(last) = items.last()
    {
        let ln = meta_str(last, "name");
        let lns = meta_str(last, "namespace");
        let start = if ns.is_none() && ctx.rt.namespaced {
            format!("{lns}/{ln}\u{0}")
        } else {
            format!("{ln}\u{0}")
        };
        let tok = ContinueToken {
            v: "meta.k8s.io/v1".into(),
            rv: list_rv as i64,
            start,
        };
        continue_token = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&tok).unwrap_or_default());
    }
    meta.insert("continue".into(), json!(continue_token));
    if next_key.is_some() && label.is_empty() && field.is_empty() {
        meta.insert("remainingItemCount".into(), json!(remaining));
    }
    meta.insert("resourceVersion".into(), json!(list_rv.to_string()));
    // (object, whether it is the stored one: only those have reusable serialisations)
    let items: Vec<(Arc<Value>, bool)> = items
        .iter()
        .map(|o| {
            // Metadata lists carry no apiVersion per object: nothing to convert.
            let v = if matches!(fmt, Format::Partial | Format::PartialList) {
                o.clone()
            } else {
                at_version(o, &api_version)
            };
            let stored = Arc::ptr_eq(&v, o);
            (v, stored)
        })
        .collect();
    let mut cache = st.ser_cache.borrow_mut();
    let mut ser = |form: Form, (o, stored): &(Arc<Value>, bool), out: &mut Vec<u8>| {
        let f = |v: &Value| {
            let mut b = Vec::new();
            match form {
                Form::Whole => write_json(&mut b, v),
                Form::Metadata => write_json(&mut b, v.get("metadata").unwrap_or(&Value::Null)),
            }
            b
        };
        if *stored {
            out.extend_from_slice(&cache.get(form, o, f));
        } else {
            out.extend_from_slice(&f(o));
        }
    };
    let meta = Value::Object(meta);
    Ok(match fmt {
        Format::Table => {
            let refs: Vec<&Value> = items.iter().map(|(a, _)| a.as_ref()).collect();
            bytes::Bytes::from(
                serde_json::to_vec(&table::table(
                    &refs,
                    &ctx.ver.columns,
                    ctx.inner.now().as_second(),
                    include_object(r),
                    meta,
                    true,
                ))
                .unwrap_or_default(),
            )
        }
        Format::Partial | Format::PartialList => {
            let mut out = Vec::with_capacity(items.len() * 512 + 128);
            out.extend_from_slice(b"{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":");
            write_json(&mut out, &meta);
            out.extend_from_slice(b",\"items\":[");
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":");
                ser(Form::Metadata, it, &mut out);
                out.push(b'}');
            }
            out.extend_from_slice(b"]}");
            bytes::Bytes::from(out)
        }
        Format::Json => {
            let mut out = Vec::with_capacity(items.len() * 1024 + 128);
            let custom = ctx.rt.strategy == Strategy::Custom;
            let mut write_items = |out: &mut Vec<u8>| {
                out.push(b'[');
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    if custom {
                        ser(Form::Whole, it, out);
                    } else {
                        write_json(out, &WithoutTypeMeta(&it.0));
                    }
                }
                out.push(b']');
            };
            if custom {
                out.extend_from_slice(b"{\"apiVersion\":");
                write_json(&mut out, &api_version);
                out.extend_from_slice(b",\"items\":");
                write_items(&mut out);
                out.extend_from_slice(b",\"kind\":");
                write_json(&mut out, &ctx.rt.list_kind);
                out.extend_from_slice(b",\"metadata\":");
                write_json(&mut out, &meta);
            } else {
                out.extend_from_slice(b"{\"kind\":");
                write_json(&mut out, &ctx.rt.list_kind);
                out.extend_from_slice(b",\"apiVersion\":");
                write_json(&mut out, &api_version);
                out.extend_from_slice(b",\"metadata\":");
                write_json(&mut out, &meta);
                out.extend_from_slice(b",\"items\":");
                write_items(&mut out);
            }
            out.push(b'}');
            bytes::Bytes::from(out)
        }
    })
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    let _ = serde_json::to_writer(out, v);
}

/// Serialises an object without `kind`/`apiVersion` (items of built-in lists), borrowing it.
struct WithoutTypeMeta<'a>(&'a Value);

impl serde::Serialize for WithoutTypeMeta<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self.0 {
            Value::Object(m) => {
                let mut map = s.serialize_map(None)?;
                for (k, v) in m {
                    if k != "kind" && k != "apiVersion" {
                        map.serialize_entry(k, v)?;
                    }
                }
                map.end()
            }
            other => other.serialize(s),
        }
    }
}

//! The resource types the server serves: built-ins (namespaces, leases, CRDs themselves) and the
//! custom resources compiled from CustomResourceDefinitions (names, scope, versions, schemas,
//! subresources, printer columns, selectable fields), plus CRD validation and defaulting.
//!
//! It describes types; it stores no objects.

use crate::schema::Schema;
use crate::status::FieldError;
use crate::table::{self, Column};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Per-type behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// A custom resource.
    Custom,
    /// `customresourcedefinitions.apiextensions.k8s.io`.
    Crd,
    /// Core `namespaces`.
    Namespace,
    /// `leases.coordination.k8s.io`.
    Lease,
}

/// One served version of a type.
#[derive(Debug, Clone)]
pub struct TypeVersion {
    pub name: String,
    pub served: bool,
    pub storage: bool,
    pub schema: Option<Arc<Schema>>,
    pub raw_schema: Arc<Value>,
    pub status: bool,
    pub columns: Vec<Column>,
    /// field selector key → JSON pointer.
    pub field_keys: BTreeMap<String, String>,
    pub deprecated: bool,
    pub deprecation_warning: Option<String>,
}

/// A resource type.
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub group: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub namespaced: bool,
    pub versions: Vec<TypeVersion>,
    pub strategy: Strategy,
}

impl ResourceType {
    pub fn version(&self, v: &str) -> Option<&TypeVersion> {
        self.versions.iter().find(|x| x.name == v && x.served)
    }
    pub fn storage_version(&self) -> &TypeVersion {
        self.versions
            .iter()
            .find(|x| x.storage)
            .unwrap_or(&self.versions[0])
    }
    pub fn api_version(&self, v: &str) -> String {
        if self.group.is_empty() {
            v.to_string()
        } else {
            format!("{}/{v}", self.group)
        }
    }
    /// Whether PATCH accepts strategic merge patch (built-in types only).
    pub fn accepts_smp(&self) -> bool {
        self.strategy != Strategy::Custom && self.strategy != Strategy::Crd
    }
    pub fn verbs(&self) -> Vec<&'static str> {
        vec![
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "create",
            "update",
            "watch",
        ]
    }
    /// Does the type have a generation (custom resources and CRDs do; namespaces and leases don't).
    pub fn has_generation(&self) -> bool {
        matches!(self.strategy, Strategy::Custom | Strategy::Crd)
    }
}

/// Kubernetes version ordering: GA > beta > alpha, higher numbers first.
pub fn version_priority(v: &str) -> (u8, u64, u64) {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^v(\d+)(?:(alpha|beta)(\d+))?$").expect("static regex")
    });
    let re = &*RE;
    match re.captures(v) {
        Some(c) => {
            let major: u64 = c[1].parse().unwrap_or(0);
            let (lvl, minor) = match c.get(2).map(|m| m.as_str()) {
                None => (3, 0),
                Some("beta") => (2, c[3].parse().unwrap_or(0)),
                _ => (1, c[3].parse().unwrap_or(0)),
            };
            (lvl, major, minor)
        }
        None => (0, 0, 0),
    }
}

fn base_field_keys(namespaced: bool) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("metadata.name".into(), "/metadata/name".into());
    if namespaced {
        m.insert("metadata.namespace".into(), "/metadata/namespace".into());
    }
    m
}

fn crd_schema() -> Value {
    json!({"type":"object","x-kubernetes-preserve-unknown-fields":true,"properties":{
        "spec":{"type":"object","x-kubernetes-preserve-unknown-fields":true},
        "status":{"type":"object","x-kubernetes-preserve-unknown-fields":true,"properties":{
            "conditions":{"type":"array","nullable":true,"x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["type"],
                "items":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}}})
}

/// The built-in types.
pub fn builtins() -> Vec<ResourceType> {
    let ns_schema = json!({"type":"object","properties":{
        "spec":{"type":"object","properties":{"finalizers":{"type":"array","items":{"type":"string"}}}},
        "status":{"type":"object","properties":{"phase":{"type":"string"},
            "conditions":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["type"],
                "items":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}}});
    let lease_schema = json!({"type":"object","properties":{"spec":{"type":"object","properties":{
        "holderIdentity":{"type":"string"},
        "leaseDurationSeconds":{"type":"integer","format":"int32"},
        "acquireTime":{"type":"string","format":"date-time"},
        "renewTime":{"type":"string","format":"date-time"},
        "leaseTransitions":{"type":"integer","format":"int32"},
        "strategy":{"type":"string"},
        "preferredHolder":{"type":"string"}}}}});
    let mut ns_keys = base_field_keys(false);
    ns_keys.insert("status.phase".into(), "/status/phase".into());
    let ver = |name: &str,
               raw: Value,
               status: bool,
               cols: Vec<Column>,
               keys: BTreeMap<String, String>| TypeVersion {
        name: name.into(),
        served: true,
        storage: true,
        schema: Some(Arc::new(
            Schema::compile(&raw).expect("built-in schema compiles"),
        )),
        raw_schema: Arc::new(raw),
        status,
        columns: cols,
        field_keys: keys,
        deprecated: false,
        deprecation_warning: None,
    };
    let status_col = Column {
        name: "Status".into(),
        ty: "string".into(),
        format: String::new(),
        description: "The status of the namespace".into(),
        priority: 0,
        json_path: ".status.phase".into(),
    };
    let holder_col = Column {
        name: "Holder".into(),
        ty: "string".into(),
        format: String::new(),
        description: "The holder of the lease".into(),
        priority: 0,
        json_path: ".spec.holderIdentity".into(),
    };
    let crd_col = Column {
        name: "Created At".into(),
        ty: "date".into(),
        format: String::new(),
        description: "When the CustomResourceDefinition was created".into(),
        priority: 0,
        json_path: ".metadata.creationTimestamp".into(),
    };
    vec![
        ResourceType {
            group: String::new(),
            plural: "namespaces".into(),
            singular: "namespace".into(),
            kind: "Namespace".into(),
            list_kind: "NamespaceList".into(),
            short_names: vec!["ns".into()],
            categories: vec![],
            namespaced: false,
            versions: vec![ver(
                "v1",
                ns_schema,
                true,
                vec![status_col, table::age_column()],
                ns_keys,
            )],
            strategy: Strategy::Namespace,
        },
        ResourceType {
            group: "coordination.k8s.io".into(),
            plural: "leases".into(),
            singular: "lease".into(),
            kind: "Lease".into(),
            list_kind: "LeaseList".into(),
            short_names: vec![],
            categories: vec![],
            namespaced: true,
            versions: vec![ver(
                "v1",
                lease_schema,
                false,
                vec![holder_col, table::age_column()],
                base_field_keys(true),
            )],
            strategy: Strategy::Lease,
        },
        ResourceType {
            group: "apiextensions.k8s.io".into(),
            plural: "customresourcedefinitions".into(),
            singular: "customresourcedefinition".into(),
            kind: "CustomResourceDefinition".into(),
            list_kind: "CustomResourceDefinitionList".into(),
            short_names: vec!["crd".into(), "crds".into()],
            categories: vec!["api-extensions".into()],
            namespaced: false,
            versions: vec![ver(
                "v1",
                crd_schema(),
                true,
                vec![crd_col],
                base_field_keys(false),
            )],
            strategy: Strategy::Crd,
        },
    ]
}

/// Defaults a CRD object the way the apiserver does (listKind, singular, conversion, status).
pub fn default_crd(crd: &mut Value) {
    if let Some(Value::Object(names)) = crd.pointer_mut("/spec/names") {
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if !names.contains_key("listKind") && !kind.is_empty() {
            names.insert("listKind".into(), json!(format!("{kind}List")));
        }
        if !names.contains_key("singular") && !kind.is_empty() {
            names.insert("singular".into(), json!(kind.to_lowercase()));
        }
    }
    if let Some(Value::Object(spec)) = crd.get_mut("spec")
        && !spec.contains_key("conversion")
    {
        spec.insert("conversion".into(), json!({"strategy":"None"}));
    }
    order_crd(crd);
}

/// Puts a CRD's keys in the order the real (typed) server writes them.
pub fn order_crd(crd: &mut Value) {
    if let Some(spec) = crd.get_mut("spec") {
        reorder(
            spec,
            &[
                "group",
                "names",
                "scope",
                "versions",
                "conversion",
                "preserveUnknownFields",
            ],
        );
        if let Some(n) = spec.get_mut("names") {
            reorder(
                n,
                &[
                    "plural",
                    "singular",
                    "shortNames",
                    "kind",
                    "listKind",
                    "categories",
                ],
            );
        }
        if let Some(Value::Array(vs)) = spec.get_mut("versions") {
            for v in vs {
                reorder(
                    v,
                    &[
                        "name",
                        "served",
                        "storage",
                        "deprecated",
                        "deprecationWarning",
                        "schema",
                        "subresources",
                        "additionalPrinterColumns",
                        "selectableFields",
                    ],
                );
                if let Some(s) = v.pointer_mut("/schema/openAPIV3Schema") {
                    order_schema(s);
                }
            }
        }
    }
}

const SCHEMA_ORDER: &[&str] = &[
    "id",
    "$schema",
    "$ref",
    "description",
    "type",
    "format",
    "title",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "enum",
    "maxProperties",
    "minProperties",
    "required",
    "items",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "properties",
    "additionalProperties",
    "patternProperties",
    "dependencies",
    "additionalItems",
    "definitions",
    "externalDocs",
    "example",
    "nullable",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
];

fn order_schema(s: &mut Value) {
    reorder(s, SCHEMA_ORDER);
    if let Some(Value::Object(props)) = s.get_mut("properties") {
        for (_, p) in props.iter_mut() {
            order_schema(p);
        }
    }
    for k in ["items", "additionalProperties", "not"] {
        if let Some(x @ Value::Object(_)) = s.get_mut(k) {
            order_schema(x);
        }
    }
}

/// Reorders an object's keys: `order` first (in that order), then the rest as they were.
pub fn reorder(v: &mut Value, order: &[&str]) {
    if let Value::Object(m) = v {
        let mut out = Map::new();
        for k in order {
            if let Some(x) = m.remove(*k) {
                out.insert((*k).to_string(), x);
            }
        }
        let rest = std::mem::take(m);
        for (k, x) in rest {
            out.insert(k, x);
        }
        *m = out;
    }
}

/// Validates a CRD and compiles it into a resource type. Compiling a schema (its patterns
/// are regular expressions) costs far more than reading it, and the same CRDs are installed in
/// every server a process builds: results are kept per CRD text, for the process.
pub fn compile_crd(crd: &Value) -> Result<ResourceType, Vec<FieldError>> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    type Compiled = Result<ResourceType, Vec<FieldError>>;
    static CACHE: LazyLock<Mutex<HashMap<String, Compiled>>> = LazyLock::new(Default::default);
    // What compilation reads: the name and the spec (never status or other metadata).
    let key = serde_json::to_string(&(crd.pointer("/metadata/name"), crd.get("spec")))
        .expect("JSON values serialize");
    let lock = || CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(hit) = lock().get(&key) {
        return hit.clone();
    }
    let compiled = compile_crd_uncached(crd);
    let mut cache = lock();
    if cache.len() >= 512 {
        cache.clear();
    }
    cache.insert(key, compiled.clone());
    compiled
}

fn compile_crd_uncached(crd: &Value) -> Result<ResourceType, Vec<FieldError>> {
    let mut errs = vec![];
    let s = |p: &str| {
        crd.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let group = s("/spec/group");
    let plural = s("/spec/names/plural");
    let kind = s("/spec/names/kind");
    let name = s("/metadata/name");
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else if !group.contains('.') {
        errs.push(FieldError::invalid(
            "spec.group",
            &json!(group),
            "should be a domain with at least one dot",
        ));
    }
    if plural.is_empty() {
        errs.push(FieldError::required("spec.names.plural", ""));
    } else if let Err(m) = crate::validation::dns1123_label(&plural) {
        errs.push(FieldError::invalid("spec.names.plural", &json!(plural), &m));
    }
    if kind.is_empty() {
        errs.push(FieldError::required("spec.names.kind", ""));
    }
    if !plural.is_empty() && !group.is_empty() && name != format!("{plural}.{group}") {
        errs.push(FieldError::invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    let scope = s("/spec/scope");
    if scope != "Namespaced" && scope != "Cluster" {
        errs.push(FieldError::not_supported(
            "spec.scope",
            &json!(scope),
            &[json!("Cluster"), json!("Namespaced")],
        ));
    }
    let mut versions = vec![];
    let vlist = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if vlist.is_empty() {
        errs.push(FieldError::invalid(
            "spec.versions",
            &json!([]),
            "must have exactly one version marked as storage version",
        ));
    }
    let storage_count = vlist
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if !vlist.is_empty() && storage_count != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            &json!(
                vlist
                    .iter()
                    .map(|v| v.get("name").cloned().unwrap_or(Value::Null))
                    .collect::<Vec<_>>()
            ),
            "must have exactly one version marked as storage version",
        ));
    }
    let namespaced = scope == "Namespaced";
    for (i, v) in vlist.iter().enumerate() {
        let vname = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let raw = v.pointer("/schema/openAPIV3Schema").cloned();
        let schema = match &raw {
            Some(r) => match Schema::compile(r) {
                Ok(sc) => Some(Arc::new(sc)),
                Err(e) => {
                    errs.push(FieldError::invalid(
                        format!("spec.versions[{i}].schema.openAPIV3Schema"),
                        &Value::Null,
                        &e.0,
                    ));
                    None
                }
            },
            None => {
                errs.push(FieldError::required(
                    format!("spec.versions[{i}].schema.openAPIV3Schema"),
                    "schemas are required",
                ));
                None
            }
        };
        let mut keys = base_field_keys(namespaced);
        if let Some(Value::Array(sf)) = v.get("selectableFields") {
            for f in sf {
                if let Some(p) = f.get("jsonPath").and_then(Value::as_str) {
                    let key = p.trim_start_matches('.').to_string();
                    keys.insert(key.clone(), format!("/{}", key.replace('.', "/")));
                }
            }
        }
        versions.push(TypeVersion {
            name: vname,
            served: v.get("served").and_then(Value::as_bool).unwrap_or(false),
            storage: v.get("storage").and_then(Value::as_bool).unwrap_or(false),
            schema,
            raw_schema: Arc::new(raw.unwrap_or(Value::Null)),
            status: v.pointer("/subresources/status").is_some(),
            columns: table::columns_from_crd(v.get("additionalPrinterColumns")),
            field_keys: keys,
            deprecated: v
                .get("deprecated")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            deprecation_warning: v
                .get("deprecationWarning")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let list = |p: &str| {
        crd.pointer(p)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(ResourceType {
        singular: {
            let x = s("/spec/names/singular");
            if x.is_empty() { kind.to_lowercase() } else { x }
        },
        list_kind: {
            let x = s("/spec/names/listKind");
            if x.is_empty() {
                format!("{kind}List")
            } else {
                x
            }
        },
        short_names: list("/spec/names/shortNames"),
        categories: list("/spec/names/categories"),
        group,
        plural,
        kind,
        namespaced,
        versions,
        strategy: Strategy::Custom,
    })
}

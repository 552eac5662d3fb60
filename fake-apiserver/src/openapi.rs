//! OpenAPI v3: the root index with hashed per-group-version URLs, and per-group-version documents
//! built from the served schemas, with the PATCH operations declaring
//! `x-kubernetes-group-version-kind` and a `fieldValidation` parameter (what kubectl 1.32 checks).
//! `/openapi/v2` is not served (404), as kubectl tolerates.
//!
//! It documents types; it does not validate requests.

use crate::reply::{Reply, error_reply, json_reply};
use crate::request::{Req, Route};
use crate::state::Inner;
use crate::status;
use crate::types::{ResourceType, Strategy};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";

fn reversed_group(g: &str) -> String {
    if g.is_empty() {
        return "io.k8s.api.core".into();
    }
    match g {
        "coordination.k8s.io" => "io.k8s.api.coordination".into(),
        "apiextensions.k8s.io" => "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions".into(),
        _ => g.split('.').rev().collect::<Vec<_>>().join("."),
    }
}

fn schema_name(rt: &ResourceType, v: &str, list: bool) -> String {
    format!(
        "{}.{v}.{}",
        reversed_group(&rt.group),
        if list { &rt.list_kind } else { &rt.kind }
    )
}

fn camel(s: &str) -> String {
    let mut out = String::new();
    for part in s.split(['.', '-']) {
        let mut c = part.chars();
        if let Some(f) = c.next() {
            out.push(f.to_ascii_uppercase());
            out.extend(c);
        }
    }
    out
}

fn r#ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn param(name: &str, desc: &str, ty: &str) -> Value {
    json!({"name": name, "in": "query", "description": desc, "schema": {"type": ty, "uniqueItems": true}})
}

fn ok_content(schema: &str) -> Value {
    json!({"application/json": {"schema": r#ref(schema)}, "application/yaml": {"schema": r#ref(schema)}})
}

fn gvk(rt: &ResourceType, v: &str) -> Value {
    json!({"group": rt.group, "version": v, "kind": rt.kind})
}

/// One OpenAPI operation; the arguments are the operation's own fields, kept flat on purpose.
#[allow(clippy::too_many_arguments)]
fn op(
    rt: &ResourceType,
    v: &str,
    action: &str,
    id: &str,
    desc: &str,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Value,
) -> Value {
    let mut o = Map::new();
    o.insert(
        "tags".into(),
        json!([format!("{}{}", camel(&rt.group), camel(v))]),
    );
    o.insert("description".into(), json!(desc));
    o.insert("operationId".into(), json!(id));
    if !params.is_empty() {
        o.insert("parameters".into(), Value::Array(params));
    }
    if let Some(b) = body {
        o.insert("requestBody".into(), b);
    }
    o.insert("responses".into(), responses);
    o.insert("x-kubernetes-action".into(), json!(action));
    o.insert("x-kubernetes-group-version-kind".into(), gvk(rt, v));
    Value::Object(o)
}

fn dry_run() -> Value {
    param(
        "dryRun",
        "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed",
        "string",
    )
}
fn field_manager() -> Value {
    param(
        "fieldManager",
        "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.",
        "string",
    )
}
fn field_validation() -> Value {
    param(
        "fieldValidation",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present.",
        "string",
    )
}

fn list_params() -> Vec<Value> {
    vec![
        param(
            "allowWatchBookmarks",
            "allowWatchBookmarks requests watch events with type \"BOOKMARK\".",
            "boolean",
        ),
        param(
            "continue",
            "The continue option should be set when retrieving more results from the server.",
            "string",
        ),
        param(
            "fieldSelector",
            "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
            "string",
        ),
        param(
            "labelSelector",
            "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
            "string",
        ),
        param(
            "limit",
            "limit is a maximum number of responses to return for a list call.",
            "integer",
        ),
        param(
            "resourceVersion",
            "resourceVersion sets a constraint on what resource versions a request may be served from.",
            "string",
        ),
        param(
            "resourceVersionMatch",
            "resourceVersionMatch determines how resourceVersion is applied to list calls.",
            "string",
        ),
        param(
            "sendInitialEvents",
            "`sendInitialEvents=true` may be set together with `watch=true`.",
            "boolean",
        ),
        param(
            "timeoutSeconds",
            "Timeout for the list/watch call.",
            "integer",
        ),
        param(
            "watch",
            "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
            "boolean",
        ),
    ]
}

fn paths_for(rt: &ResourceType, v: &str) -> Vec<(String, Value)> {
    let base = if rt.group.is_empty() {
        format!("/api/{v}")
    } else {
        format!("/apis/{}/{v}", rt.group)
    };
    let scoped = if rt.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", rt.plural)
    } else {
        format!("{base}/{}", rt.plural)
    };
    let obj = schema_name(rt, v, false);
    let list = schema_name(rt, v, true);
    let kind = &rt.kind;
    let ns_word = if rt.namespaced { "Namespaced" } else { "" };
    let path_params = |with_name: bool| {
        let mut p = vec![];
        if with_name {
            p.push(json!({"name":"name","in":"path","description":format!("name of the {kind}"),"required":true,"schema":{"type":"string","uniqueItems":true}}));
        }
        if rt.namespaced {
            p.push(json!({"name":"namespace","in":"path","description":"object name and auth scope, such as for teams and projects","required":true,"schema":{"type":"string","uniqueItems":true}}));
        }
        p.push(param(
            "pretty",
            "If 'true', then the output is pretty printed.",
            "string",
        ));
        Value::Array(p)
    };
    let body =
        |schema: &str| json!({"content": {"*/*": {"schema": r#ref(schema)}}, "required": true});
    let patch_body = json!({"content": {
        "application/apply-patch+yaml": {"schema": r#ref(&format!("{META}.Patch"))},
        "application/json-patch+json": {"schema": r#ref(&format!("{META}.Patch"))},
        "application/merge-patch+json": {"schema": r#ref(&format!("{META}.Patch"))}
    }, "required": true});
    let mut patch_body = patch_body;
    if rt.strategy != Strategy::Custom && rt.strategy != Strategy::Crd {
        patch_body["content"]["application/strategic-merge-patch+json"] =
            json!({"schema": r#ref(&format!("{META}.Patch"))});
    }
    let resp = |codes: &[&str], schema: &str| {
        let mut m = Map::new();
        for c in codes {
            m.insert((*c).into(), json!({"description": if *c == "201" { "Created" } else if *c == "202" { "Accepted" } else { "OK" }, "content": ok_content(schema)}));
        }
        m.insert("401".into(), json!({"description":"Unauthorized"}));
        Value::Object(m)
    };
    let gv_tag = format!("{}{}", camel(&rt.group), camel(v));
    let mut out = vec![];
    let mut coll = Map::new();
    coll.insert(
        "get".into(),
        op(
            rt,
            v,
            "list",
            &format!("list{gv_tag}{ns_word}{kind}"),
            &format!("list or watch objects of kind {kind}"),
            list_params(),
            None,
            resp(&["200"], &list),
        ),
    );
    coll.insert(
        "post".into(),
        op(
            rt,
            v,
            "post",
            &format!("create{gv_tag}{ns_word}{kind}"),
            &format!("create a {kind}"),
            vec![dry_run(), field_manager(), field_validation()],
            Some(body(&obj)),
            resp(&["200", "201", "202"], &obj),
        ),
    );
    coll.insert(
        "delete".into(),
        op(
            rt,
            v,
            "deletecollection",
            &format!("deletecollection{gv_tag}{ns_word}{kind}"),
            &format!("delete collection of {kind}"),
            list_params(),
            Some(body(&format!("{META}.DeleteOptions"))),
            resp(&["200"], &format!("{META}.Status")),
        ),
    );
    coll.insert("parameters".into(), path_params(false));
    out.push((scoped.clone(), Value::Object(coll)));
    let mut item = Map::new();
    item.insert(
        "get".into(),
        op(
            rt,
            v,
            "get",
            &format!("read{gv_tag}{ns_word}{kind}"),
            &format!("read the specified {kind}"),
            vec![],
            None,
            resp(&["200"], &obj),
        ),
    );
    item.insert(
        "put".into(),
        op(
            rt,
            v,
            "put",
            &format!("replace{gv_tag}{ns_word}{kind}"),
            &format!("replace the specified {kind}"),
            vec![dry_run(), field_manager(), field_validation()],
            Some(body(&obj)),
            resp(&["200", "201"], &obj),
        ),
    );
    item.insert(
        "delete".into(),
        op(
            rt,
            v,
            "delete",
            &format!("delete{gv_tag}{ns_word}{kind}"),
            &format!("delete a {kind}"),
            vec![
                dry_run(),
                param(
                    "gracePeriodSeconds",
                    "The duration in seconds before the object should be deleted.",
                    "integer",
                ),
                param(
                    "propagationPolicy",
                    "Whether and how garbage collection will be performed.",
                    "string",
                ),
            ],
            Some(json!({"content":{"*/*":{"schema": r#ref(&format!("{META}.DeleteOptions"))}}})),
            resp(&["200", "202"], &format!("{META}.Status")),
        ),
    );
    item.insert(
        "patch".into(),
        op(
            rt,
            v,
            "patch",
            &format!("patch{gv_tag}{ns_word}{kind}"),
            &format!("partially update the specified {kind}"),
            vec![
                dry_run(),
                field_manager(),
                field_validation(),
                param(
                    "force",
                    "Force is going to \"force\" Apply requests.",
                    "boolean",
                ),
            ],
            Some(patch_body.clone()),
            resp(&["200", "201"], &obj),
        ),
    );
    item.insert("parameters".into(), path_params(true));
    out.push((format!("{scoped}/{{name}}"), Value::Object(item)));
    if rt.version(v).is_some_and(|x| x.status) {
        let mut st = Map::new();
        st.insert(
            "get".into(),
            op(
                rt,
                v,
                "get",
                &format!("read{gv_tag}{ns_word}{kind}Status"),
                &format!("read status of the specified {kind}"),
                vec![],
                None,
                resp(&["200"], &obj),
            ),
        );
        st.insert(
            "put".into(),
            op(
                rt,
                v,
                "put",
                &format!("replace{gv_tag}{ns_word}{kind}Status"),
                &format!("replace status of the specified {kind}"),
                vec![dry_run(), field_manager(), field_validation()],
                Some(body(&obj)),
                resp(&["200", "201"], &obj),
            ),
        );
        st.insert(
            "patch".into(),
            op(
                rt,
                v,
                "patch",
                &format!("patch{gv_tag}{ns_word}{kind}Status"),
                &format!("partially update status of the specified {kind}"),
                vec![
                    dry_run(),
                    field_manager(),
                    field_validation(),
                    param(
                        "force",
                        "Force is going to \"force\" Apply requests.",
                        "boolean",
                    ),
                ],
                Some(patch_body),
                resp(&["200", "201"], &obj),
            ),
        );
        st.insert("parameters".into(), path_params(true));
        out.push((format!("{scoped}/{{name}}/status"), Value::Object(st)));
    }
    if rt.namespaced {
        let mut all = Map::new();
        all.insert(
            "get".into(),
            op(
                rt,
                v,
                "list",
                &format!("list{gv_tag}{kind}ForAllNamespaces"),
                &format!("list or watch objects of kind {kind}"),
                list_params(),
                None,
                resp(&["200"], &list),
            ),
        );
        out.push((format!("{base}/{}", rt.plural), Value::Object(all)));
    }
    out
}

fn object_schema(rt: &ResourceType, v: &str) -> Value {
    let raw = rt
        .version(v)
        .map(|x| (*x.raw_schema).clone())
        .unwrap_or(json!({"type":"object"}));
    let mut s = match raw {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut props = match s.remove("properties") {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    props.insert("apiVersion".into(), json!({"description":"APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources","type":"string"}));
    props.insert("kind".into(), json!({"description":"Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds","type":"string"}));
    props.insert("metadata".into(), json!({"description":"Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata","allOf":[r#ref(&format!("{META}.ObjectMeta"))],"default":{}}));
    s.insert("type".into(), json!("object"));
    s.insert("properties".into(), Value::Object(props));
    s.insert(
        "x-kubernetes-group-version-kind".into(),
        json!([gvk(rt, v)]),
    );
    Value::Object(s)
}

fn meta_schemas() -> Map<String, Value> {
    let mut m = Map::new();
    let s = |d: &str| json!({"description": d, "type": "string"});
    m.insert(format!("{META}.ObjectMeta"), json!({"description":"ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.","type":"object","properties":{
        "annotations":{"description":"Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata.","type":"object","additionalProperties":{"type":"string","default":""}},
        "creationTimestamp":s("CreationTimestamp is a timestamp representing the server time when this object was created."),
        "deletionGracePeriodSeconds":{"description":"Number of seconds allowed for this object to gracefully terminate before it will be removed from the system.","type":"integer","format":"int64"},
        "deletionTimestamp":s("DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted."),
        "finalizers":{"description":"Must be empty before the object is deleted from the registry.","type":"array","items":{"type":"string","default":""},"x-kubernetes-list-type":"set","x-kubernetes-patch-strategy":"merge"},
        "generateName":s("GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided."),
        "generation":{"description":"A sequence number representing a specific generation of the desired state.","type":"integer","format":"int64"},
        "labels":{"description":"Map of string keys and values that can be used to organize and categorize (scope and select) objects.","type":"object","additionalProperties":{"type":"string","default":""}},
        "managedFields":{"description":"ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.","type":"array","items":{"default":{},"allOf":[r#ref(&format!("{META}.ManagedFieldsEntry"))]},"x-kubernetes-list-type":"atomic"},
        "name":s("Name must be unique within a namespace."),
        "namespace":s("Namespace defines the space within which each name must be unique."),
        "ownerReferences":{"description":"List of objects depended by this object.","type":"array","items":{"type":"object"},"x-kubernetes-list-map-keys":["uid"],"x-kubernetes-list-type":"map"},
        "resourceVersion":s("An opaque value that represents the internal version of this object."),
        "selfLink":s("Deprecated: selfLink is a legacy read-only field that is no longer populated by the system."),
        "uid":s("UID is the unique in time and space value for this object.")}}));
    m.insert(format!("{META}.ManagedFieldsEntry"), json!({"description":"ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the fieldset applies to.","type":"object","properties":{
        "apiVersion":s("APIVersion defines the version of this resource that this field set applies to."),"fieldsType":s("FieldsType is the discriminator for the different fields format and version."),
        "fieldsV1":{"description":"FieldsV1 holds the first JSON version format as described in the \"FieldsV1\" type.","type":"object"},
        "manager":s("Manager is an identifier of the workflow managing these fields."),"operation":s("Operation is the type of operation which lead to this ManagedFieldsEntry being created."),
        "subresource":s("Subresource is the name of the subresource used to update that object."),"time":s("Time is the timestamp of when the ManagedFields entry was added.")}}));
    m.insert(format!("{META}.ListMeta"), json!({"description":"ListMeta describes metadata that synthetic resources must have, including lists and various status objects.","type":"object","properties":{
        "continue":s("continue may be set if the user set a limit on the number of items returned."),"remainingItemCount":{"type":"integer","format":"int64"},
        "resourceVersion":s("String that identifies the server's internal version of this object."),"selfLink":s("Deprecated.")}}));
    m.insert(format!("{META}.Status"), json!({"description":"Status is a return value for calls that don't return other objects.","type":"object","properties":{
        "apiVersion":{"type":"string"},"code":{"type":"integer","format":"int32"},"details":{"type":"object","x-kubernetes-preserve-unknown-fields":true},"kind":{"type":"string"},
        "message":{"type":"string"},"metadata":{"default":{},"allOf":[r#ref(&format!("{META}.ListMeta"))]},"reason":{"type":"string"},"status":{"type":"string"}},
        "x-kubernetes-group-version-kind":[{"group":"","kind":"Status","version":"v1"}]}));
    m.insert(format!("{META}.DeleteOptions"), json!({"description":"DeleteOptions may be provided when deleting an API object.","type":"object","properties":{
        "apiVersion":{"type":"string"},"dryRun":{"type":"array","items":{"type":"string","default":""},"x-kubernetes-list-type":"atomic"},"gracePeriodSeconds":{"type":"integer","format":"int64"},
        "kind":{"type":"string"},"orphanDependents":{"type":"boolean"},"preconditions":{"type":"object","properties":{"resourceVersion":{"type":"string"},"uid":{"type":"string"}}},
        "propagationPolicy":{"type":"string"}}}));
    m.insert(format!("{META}.Patch"), json!({"description":"Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.","type":"object"}));
    m
}

/// The group-version documents currently served: path key (`apis/g/v`, `api/v1`) → document.
fn documents(inner: &Inner) -> Vec<(String, Value)> {
    let st = inner.lock();
    let mut by: std::collections::BTreeMap<String, Vec<(std::sync::Arc<ResourceType>, String)>> =
        Default::default();
    for s in st.types.values().filter(|s| s.established) {
        for v in s.rt.versions.iter().filter(|v| v.served) {
            let key = if s.rt.group.is_empty() {
                format!("api/{}", v.name)
            } else {
                format!("apis/{}/{}", s.rt.group, v.name)
            };
            by.entry(key)
                .or_default()
                .push((s.rt.clone(), v.name.clone()));
        }
    }
    drop(st);
    by.into_iter()
        .map(|(key, rts)| {
            let mut paths = Map::new();
            let mut schemas = meta_schemas();
            for (rt, v) in &rts {
                for (p, item) in paths_for(rt, v) {
                    paths.insert(p, item);
                }
                schemas.insert(schema_name(rt, v, false), object_schema(rt, v));
                schemas.insert(schema_name(rt, v, true), json!({"description": format!("{} is a list of {}", rt.list_kind, rt.kind), "type":"object","required":["items"],"properties":{
                    "apiVersion":{"type":"string"},"items":{"type":"array","items":r#ref(&schema_name(rt, v, false))},"kind":{"type":"string"},
                    "metadata":{"default":{},"allOf":[r#ref(&format!("{META}.ListMeta"))]}},
                    "x-kubernetes-group-version-kind":[{"group": rt.group, "kind": rt.list_kind, "version": v}]}));
            }
            let doc = json!({"openapi":"3.0.0","info":{"title":"Kubernetes","version":"v1.32.13"},"paths":paths,"components":{"schemas":schemas}});
            (key, doc)
        })
        .collect()
}

fn hash(doc: &Value) -> String {
    let d = Sha512::digest(serde_json::to_vec(doc).unwrap_or_default());
    d.iter().map(|b| format!("{b:02X}")).collect()
}

pub(crate) fn handle(inner: &Inner, _r: &Req, route: &Route) -> Reply {
    let docs = documents(inner);
    match route {
        Route::OpenApiV3 => {
            let mut paths = Map::new();
            for (k, d) in &docs {
                paths.insert(
                    k.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{k}?hash={}", hash(d))}),
                );
            }
            json_reply(
                inner,
                200,
                &json!({"paths": paths}),
                "application/json",
                &[],
            )
        }
        Route::OpenApiV3Doc(p) => match docs.iter().find(|(k, _)| k == p) {
            Some((_, d)) => json_reply(
                inner,
                200,
                d,
                "application/json",
                &[("Cache-Control".into(), "public, immutable".into())],
            ),
            None => error_reply(inner, &status::path_not_found()),
        },
        _ => error_reply(inner, &status::path_not_found()),
    }
}

//! API discovery: legacy (`APIVersions`, `APIGroupList`, `APIGroup`, `APIResourceList`) and
//! aggregated (`apidiscovery.k8s.io/v2` and `v2beta1` `APIGroupDiscoveryList`) chosen by the Accept
//! header, listing the built-in types and every Established CRD.
//!
//! It describes what is served; it does not serve resources.

use crate::reply::{Reply, error_reply, json_reply};
use crate::request::{Req, Route};
use crate::state::{Inner, Served};
use crate::status;
use crate::types::{ResourceType, version_priority};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Which aggregated discovery version (if any) the Accept header asks for first.
fn aggregated(accept: &str) -> Option<&'static str> {
    for part in accept.split(',') {
        let p = part.replace(' ', "");
        if p.contains("as=APIGroupDiscoveryList") && p.contains("g=apidiscovery.k8s.io") {
            if p.contains("v=v2beta1") {
                return Some("v2beta1");
            }
            if p.contains("v=v2") {
                return Some("v2");
            }
        }
        let mt = p.split(';').next().unwrap_or("");
        if (mt == "application/json" || mt == "*/*") && !p.contains("as=") {
            return None;
        }
    }
    None
}

fn storage_hash(rt: &ResourceType) -> String {
    let sv = rt.storage_version();
    let d = Sha256::digest(format!("{}/{}/{}", rt.group, sv.name, rt.kind).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&d[..8])
}

/// One version of a group and its types.
type VersionTypes<'a> = (String, Vec<&'a ResourceType>);

/// Groups (name → versions sorted by priority → types), established types only.
fn groups(types: &BTreeMap<(String, String), Served>) -> Vec<(String, Vec<VersionTypes<'_>>)> {
    let mut by: BTreeMap<String, BTreeMap<String, Vec<&ResourceType>>> = BTreeMap::new();
    for s in types.values().filter(|s| s.established) {
        for v in s.rt.versions.iter().filter(|v| v.served) {
            by.entry(s.rt.group.clone())
                .or_default()
                .entry(v.name.clone())
                .or_default()
                .push(&s.rt);
        }
    }
    let builtin_order = ["", "apiextensions.k8s.io", "coordination.k8s.io"];
    let mut names: Vec<String> = by.keys().cloned().collect();
    names.sort_by_key(|g| {
        (
            builtin_order
                .iter()
                .position(|b| b == g)
                .unwrap_or(usize::MAX),
            g.clone(),
        )
    });
    names
        .into_iter()
        .map(|g| {
            let mut vs: Vec<(String, Vec<&ResourceType>)> =
                by.remove(&g).unwrap_or_default().into_iter().collect();
            vs.sort_by_key(|b| std::cmp::Reverse(version_priority(&b.0)));
            (g, vs)
        })
        .collect()
}

fn resource_list(gv: &str, version: &str, rts: &[&ResourceType]) -> Value {
    let mut resources = vec![];
    for rt in rts {
        let mut r = serde_json::Map::new();
        r.insert("name".into(), json!(rt.plural));
        r.insert("singularName".into(), json!(rt.singular));
        r.insert("namespaced".into(), json!(rt.namespaced));
        r.insert("kind".into(), json!(rt.kind));
        r.insert("verbs".into(), json!(rt.verbs()));
        if !rt.short_names.is_empty() {
            r.insert("shortNames".into(), json!(rt.short_names));
        }
        if !rt.categories.is_empty() {
            r.insert("categories".into(), json!(rt.categories));
        }
        r.insert("storageVersionHash".into(), json!(storage_hash(rt)));
        resources.push(Value::Object(r));
        if rt.version(version).is_some_and(|v| v.status) {
            resources.push(json!({"name": format!("{}/status", rt.plural), "singularName":"", "namespaced": rt.namespaced,
                "kind": rt.kind, "verbs": ["get","patch","update"]}));
        }
    }
    json!({"kind":"APIResourceList","apiVersion":"v1","groupVersion":gv,"resources":resources})
}

fn agg_resources(version: &str, rts: &[&ResourceType]) -> Value {
    let mut out = vec![];
    for rt in rts {
        let mut r = serde_json::Map::new();
        r.insert("resource".into(), json!(rt.plural));
        r.insert(
            "responseKind".into(),
            json!({"group": rt.group, "version": version, "kind": rt.kind}),
        );
        r.insert(
            "scope".into(),
            json!(if rt.namespaced {
                "Namespaced"
            } else {
                "Cluster"
            }),
        );
        r.insert("singularResource".into(), json!(rt.singular));
        r.insert("verbs".into(), json!(rt.verbs()));
        if !rt.short_names.is_empty() {
            r.insert("shortNames".into(), json!(rt.short_names));
        }
        if !rt.categories.is_empty() {
            r.insert("categories".into(), json!(rt.categories));
        }
        if rt.version(version).is_some_and(|v| v.status) {
            r.insert(
                "subresources".into(),
                json!([{"subresource":"status","responseKind":{"group": rt.group, "version": version, "kind": rt.kind},"verbs":["get","patch","update"]}]),
            );
        }
        out.push(Value::Object(r));
    }
    out.sort_by(|a, b| a["resource"].as_str().cmp(&b["resource"].as_str()));
    Value::Array(out)
}

fn agg_item(group: &str, versions: &[(String, Vec<&ResourceType>)]) -> Value {
    let mut meta = serde_json::Map::new();
    if !group.is_empty() {
        meta.insert("name".into(), json!(group));
    }
    meta.insert("creationTimestamp".into(), Value::Null);
    json!({"metadata": Value::Object(meta), "versions": versions.iter().map(|(v, rts)| json!({
        "version": v, "resources": agg_resources(v, rts), "freshness": "Current"})).collect::<Vec<_>>()})
}

/// Serves the discovery paths.
pub(crate) fn handle(inner: &Inner, r: &Req, route: &Route) -> Reply {
    let st = inner.lock();
    let gs = groups(&st.types);
    let agg = aggregated(&r.accept);
    let agg_ct =
        |v: &str| format!("application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList");
    match route {
        Route::Api => {
            if let Some(v) = agg {
                let items: Vec<Value> = gs
                    .iter()
                    .filter(|(g, _)| g.is_empty())
                    .map(|(g, vs)| agg_item(g, vs))
                    .collect();
                let body = json!({"kind":"APIGroupDiscoveryList","apiVersion":format!("apidiscovery.k8s.io/{v}"),"metadata":{},"items":items});
                return json_reply(inner, 200, &body, &agg_ct(v), &[]);
            }
            let body = json!({"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":inner.cfg.server_address}]});
            json_reply(inner, 200, &body, "application/json", &[])
        }
        Route::Apis => {
            if let Some(v) = agg {
                let items: Vec<Value> = gs
                    .iter()
                    .filter(|(g, _)| !g.is_empty())
                    .map(|(g, vs)| agg_item(g, vs))
                    .collect();
                let body = json!({"kind":"APIGroupDiscoveryList","apiVersion":format!("apidiscovery.k8s.io/{v}"),"metadata":{},"items":items});
                return json_reply(inner, 200, &body, &agg_ct(v), &[]);
            }
            let groups: Vec<Value> = gs
                .iter()
                .filter(|(g, _)| !g.is_empty())
                .map(|(g, vs)| api_group(g, vs))
                .collect();
            json_reply(
                inner,
                200,
                &json!({"kind":"APIGroupList","apiVersion":"v1","groups":groups}),
                "application/json",
                &[],
            )
        }
        Route::Group(g) => match gs.iter().find(|(n, _)| n == g) {
            Some((n, vs)) if !n.is_empty() => {
                let mut body = api_group(n, vs);
                body["kind"] = json!("APIGroup");
                body["apiVersion"] = json!("v1");
                let mut ordered = serde_json::Map::new();
                for k in ["kind", "apiVersion", "name", "versions", "preferredVersion"] {
                    if let Some(x) = body.get(k) {
                        ordered.insert(k.into(), x.clone());
                    }
                }
                json_reply(inner, 200, &Value::Object(ordered), "application/json", &[])
            }
            _ => error_reply(inner, &status::path_not_found()),
        },
        Route::ApiV1 => {
            let rts: Vec<&ResourceType> = gs
                .iter()
                .filter(|(g, _)| g.is_empty())
                .flat_map(|(_, vs)| vs.iter().flat_map(|(_, r)| r.iter().copied()))
                .collect();
            json_reply(
                inner,
                200,
                &resource_list("v1", "v1", &rts),
                "application/json",
                &[],
            )
        }
        Route::GroupVersion(g, v) => match gs
            .iter()
            .find(|(n, _)| n == g)
            .and_then(|(_, vs)| vs.iter().find(|(x, _)| x == v))
        {
            Some((_, rts)) => json_reply(
                inner,
                200,
                &resource_list(&format!("{g}/{v}"), v, rts),
                "application/json",
                &[],
            ),
            None => error_reply(inner, &status::path_not_found()),
        },
        _ => error_reply(inner, &status::path_not_found()),
    }
}

fn api_group(g: &str, vs: &[(String, Vec<&ResourceType>)]) -> Value {
    let versions: Vec<Value> = vs
        .iter()
        .map(|(v, _)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    let pref = versions.first().cloned().unwrap_or(Value::Null);
    json!({"name": g, "versions": versions, "preferredVersion": pref})
}

//! Snapshots of what a workflow changed: NetBox (the fabric's site, in a compact readable form)
//! and the cluster (every Hedgehog object's labels, annotations, spec and resourceVersion), taken
//! before and after each workflow, with a unified diff between them.
//!
//! Read-only; the caller stores the text as evidence.

use std::collections::BTreeMap;

use kube::api::{Api, DynamicObject};
use serde_json::{Value, json};

use super::error::ValidateError;
use crate::engine::content::comparable;
use crate::hedgehog::Kind;
use crate::netbox::NetboxClient;

/// NetBox's side of a fabric, one compact entry per object, keyed `type/id`.
pub async fn netbox(nb: &NetboxClient, site: &str) -> Result<String, ValidateError> {
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    let site_q = vec![("site", site.to_string())];
    let site_id = nb
        .list_values("dcim/sites", &[("slug", site.to_string())])
        .await?
        .first()
        .and_then(|s| s["id"].as_u64())
        .unwrap_or(0);
    let sid = vec![("site_id", site_id.to_string())];
    for d in nb.list_values("dcim/devices", &site_q).await? {
        out.insert(
            format!("dcim.device/{}", d["id"]),
            json!({"name": d["name"], "role": d["role"]["slug"], "type": d["device_type"]["slug"],
                   "description": d["description"], "serial": d["serial"], "status": d["status"]["value"],
                   "custom_fields": d["custom_fields"]}),
        );
    }
    for i in nb.list_values("dcim/interfaces", &sid).await? {
        out.insert(
            format!("dcim.interface/{}", i["id"]),
            json!({"device": i["device"]["name"], "name": i["name"], "type": i["type"]["value"],
                   "lag": i["lag"]["name"], "mgmt_only": i["mgmt_only"], "description": i["description"],
                   "mode": i["mode"]["value"], "untagged_vlan": i["untagged_vlan"]["vid"]}),
        );
    }
    for c in nb.list_values("dcim/cables", &sid).await? {
        let ends = |side: &str| -> Vec<Value> {
            c[side]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|t| {
                            json!(format!(
                                "{}/{}",
                                t["object"]["device"]["name"].as_str().unwrap_or("?"),
                                t["object"]["name"].as_str().unwrap_or("?")
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        out.insert(
            format!("dcim.cable/{}", c["id"]),
            json!({"a": ends("a_terminations"), "b": ends("b_terminations"), "label": c["label"], "status": c["status"]["value"]}),
        );
    }
    for (endpoint, ty) in [
        ("ipam/vlan-groups", "ipam.vlangroup"),
        ("ipam/vlans", "ipam.vlan"),
        ("ipam/vrfs", "ipam.vrf"),
        ("ipam/prefixes", "ipam.prefix"),
        ("ipam/ip-addresses", "ipam.ipaddress"),
    ] {
        for o in nb.list_values(endpoint, &[]).await? {
            let mut o = o;
            if let Some(m) = o.as_object_mut() {
                for k in [
                    "url",
                    "display_url",
                    "created",
                    "last_updated",
                    "tags",
                    "_depth",
                ] {
                    m.remove(k);
                }
            }
            out.insert(format!("{ty}/{}", o["id"]), o);
        }
    }
    Ok(render(&out))
}

/// The cluster's Hedgehog objects (labels, annotations, spec, resourceVersion), keyed `Kind/name`.
pub async fn cluster(kube: &kube::Client, ns: &str) -> Result<String, ValidateError> {
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for kind in Kind::ALL {
        let api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), ns, &kind.api_resource());
        let list = match api.list(&Default::default()).await {
            Ok(l) => l,
            Err(kube::Error::Api(s)) if s.code == 404 => continue,
            Err(e) => {
                return Err(ValidateError::from(e).context(format!("listing {}", kind.plural())));
            }
        };
        for o in list.items {
            let v = serde_json::to_value(&o).expect("objects serialize");
            let mut c = comparable(&v);
            c["resourceVersion"] = v["metadata"]["resourceVersion"].clone();
            out.insert(
                format!("{}/{}", kind.kind(), o.metadata.name.unwrap_or_default()),
                c,
            );
        }
    }
    Ok(render(&out))
}

/// One object per line (`key: {json}`), sorted: diffs show whole objects.
fn render(objects: &BTreeMap<String, Value>) -> String {
    let mut s = String::new();
    for (k, v) in objects {
        s.push_str(k);
        s.push_str(": ");
        s.push_str(&crate::engine::content::canonical(v));
        s.push('\n');
    }
    s
}

/// A unified diff of two snapshots, or a line saying they are equal.
pub fn diff(label: &str, before: &str, after: &str) -> String {
    if before == after {
        return format!("{label}: no differences\n");
    }
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(0)
        .header(&format!("{label} (before)"), &format!("{label} (after)"))
        .to_string()
}

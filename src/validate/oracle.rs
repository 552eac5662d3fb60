//! An independent consistency check of a fabric: it reads NetBox and the cluster through their
//! APIs and derives what must hold with its own small rules — names, roles, descriptions, cable
//! endpoints, relationships, labels, VLAN namespaces, VPC subnets. It never calls the planner, so
//! a planning bug cannot hide itself.
//!
//! Read-only.

use std::collections::{BTreeMap, BTreeSet};

use kube::api::{Api, DynamicObject};
use serde_json::Value;

use super::error::{Context, ValidateError};
use crate::netbox::NetboxClient;

/// What the oracle saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// Everything that does not hold (empty: consistent).
    pub problems: Vec<String>,
    /// Checks made, by rule.
    pub checked: BTreeMap<&'static str, usize>,
}

impl Verdict {
    fn check(&mut self, rule: &'static str, ok: bool, problem: impl FnOnce() -> String) {
        *self.checked.entry(rule).or_default() += 1;
        if !ok {
            self.problems.push(problem());
        }
    }

    /// A one-line summary.
    pub fn summary(&self) -> String {
        let checks: Vec<String> = self
            .checked
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        if self.problems.is_empty() {
            format!("consistent ({})", checks.join(", "))
        } else {
            format!(
                "{} problem(s): {}",
                self.problems.len(),
                self.problems
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
    }
}

const SWITCH_ROLES: &[(&str, &str)] = &[
    ("spine", "spine"),
    ("server-leaf", "server-leaf"),
    ("leaf", "server-leaf"),
    ("border-leaf", "border-leaf"),
    ("mixed-leaf", "mixed-leaf"),
    ("virtual-edge", "virtual-edge"),
];

fn ar(group: &str, kind: &str, plural: &str) -> kube::core::ApiResource {
    kube::core::ApiResource {
        group: group.into(),
        version: "v1beta1".into(),
        api_version: format!("{group}/v1beta1"),
        kind: kind.into(),
        plural: plural.into(),
    }
}

async fn cluster_objects(
    kube: &kube::Client,
    ns: &str,
    group: &str,
    kind: &str,
    plural: &str,
) -> Result<BTreeMap<String, Value>, ValidateError> {
    let api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), ns, &ar(group, kind, plural));
    let list = api
        .list(&Default::default())
        .await
        .with_context(|| format!("listing {plural}"))?;
    Ok(list
        .items
        .into_iter()
        .map(|o| {
            (
                o.metadata.name.clone().unwrap_or_default(),
                serde_json::to_value(o).expect("objects serialize"),
            )
        })
        .collect())
}

fn strings_under(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == key
                    && let Some(s) = v.as_str()
                {
                    out.push(s.to_string());
                }
                strings_under(v, key, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| strings_under(v, key, out)),
        _ => {}
    }
}

/// Checks the fabric `fabric` (NetBox site `site`) in namespace `ns`.
pub async fn check(
    netbox: &NetboxClient,
    kube: &kube::Client,
    site: &str,
    fabric: &str,
    ns: &str,
) -> Result<Verdict, ValidateError> {
    // Only the fields the comparison reads (NetBox's `fields` parameter): a full interface is
    // twenty times the size of its id, name and device.
    let q = |k: &'static str, v: &str, fields: &str| {
        vec![(k, v.to_string()), ("fields", fields.to_string())]
    };
    let devices = netbox
        .list_values(
            "dcim/devices",
            &q("site", site, "id,name,custom_fields,role,description"),
        )
        .await?;
    let sites = netbox
        .list_values("dcim/sites", &q("slug", site, "id,slug"))
        .await?;
    let site_id = sites
        .first()
        .and_then(|s| s["id"].as_u64())
        .ok_or_else(|| ValidateError::Missing(format!("NetBox has no site {site:?}")))?;
    let site_q = |fields: &str| q("site_id", &site_id.to_string(), fields);
    let interfaces = netbox
        .list_values("dcim/interfaces", &site_q("id,name,device"))
        .await?;
    let cables = netbox
        .list_values("dcim/cables", &site_q("id,a_terminations,b_terminations"))
        .await?;
    let only = |fields: &str| vec![("fields", fields.to_string())];
    let vlan_groups = netbox
        .list_values(
            "ipam/vlan-groups",
            &only("id,slug,scope_type,scope_id,vid_ranges"),
        )
        .await?;
    let prefixes = netbox
        .list_values(
            "ipam/prefixes",
            &only("id,prefix,scope_type,scope_id,vrf,vlan,status"),
        )
        .await?;

    let w = "wiring.githedgehog.com";
    let switches = cluster_objects(kube, ns, w, "Switch", "switches").await?;
    let servers = cluster_objects(kube, ns, w, "Server", "servers").await?;
    let connections = cluster_objects(kube, ns, w, "Connection", "connections").await?;
    let vlanns = cluster_objects(kube, ns, w, "VLANNamespace", "vlannamespaces").await?;
    let vpcs = cluster_objects(kube, ns, "vpc.githedgehog.com", "VPC", "vpcs").await?;

    let mut v = Verdict::default();
    let label_ok = |o: &Value| o["metadata"]["labels"]["fabsync.githedgehog.com/fabric"] == fabric;

    // Devices → Switch / Server.
    let mut kind_of: BTreeMap<String, &'static str> = BTreeMap::new();
    for d in &devices {
        let name = d["name"].as_str().unwrap_or_default().to_string();
        let role = d["custom_fields"]["hedgehog_role"]
            .as_str()
            .filter(|s| !s.is_empty())
            .or_else(|| d["role"]["slug"].as_str())
            .unwrap_or_default();
        let desc = d["description"].as_str().unwrap_or_default();
        if let Some((_, hh_role)) = SWITCH_ROLES.iter().find(|(r, _)| *r == role) {
            kind_of.insert(name.clone(), "Switch");
            let sw = switches.get(&name);
            v.check("switches", sw.is_some(), || {
                format!("NetBox device {name} (role {role}) has no Switch in the cluster")
            });
            if let Some(sw) = sw {
                v.check("switch roles", sw["spec"]["role"] == *hh_role, || {
                    format!(
                        "Switch {name}: role {} in the cluster, NetBox role {role} means {hh_role}",
                        sw["spec"]["role"]
                    )
                });
                if !desc.is_empty() {
                    v.check("descriptions", sw["spec"]["description"] == desc, || {
                        format!(
                            "Switch {name}: description {} in the cluster, {desc:?} in NetBox",
                            sw["spec"]["description"]
                        )
                    });
                }
                v.check("labels", label_ok(sw), || {
                    format!("Switch {name} lacks the fabric label {fabric}")
                });
            }
        } else if role == "server" {
            kind_of.insert(name.clone(), "Server");
            let srv = servers.get(&name);
            v.check("servers", srv.is_some(), || {
                format!("NetBox device {name} (role server) has no Server in the cluster")
            });
            if let Some(srv) = srv {
                if !desc.is_empty() {
                    v.check("descriptions", srv["spec"]["description"] == desc, || {
                        format!(
                            "Server {name}: description {} in the cluster, {desc:?} in NetBox",
                            srv["spec"]["description"]
                        )
                    });
                }
                v.check("labels", label_ok(srv), || {
                    format!("Server {name} lacks the fabric label {fabric}")
                });
            }
        }
    }
    // Nothing owned that NetBox does not have.
    for (kind, objs) in [("Switch", &switches), ("Server", &servers)] {
        for (name, _) in objs.iter().filter(|(_, o)| label_ok(o)) {
            v.check("owned objects", kind_of.get(name) == Some(&kind), || {
                format!("{kind} {name} carries the fabric label but NetBox has no such {kind}")
            });
        }
    }

    // Cables → a connection holding both ports.
    let iface_name: BTreeMap<u64, (String, String)> = interfaces
        .iter()
        .filter_map(|i| {
            Some((
                i["id"].as_u64()?,
                (
                    i["device"]["name"].as_str()?.to_string(),
                    i["name"].as_str()?.to_string(),
                ),
            ))
        })
        .collect();
    let mut ports_in: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (cname, c) in &connections {
        let mut ports = Vec::new();
        strings_under(&c["spec"], "port", &mut ports);
        for p in ports {
            ports_in.entry(p).or_default().insert(cname.clone());
        }
    }
    for cable in &cables {
        let end = |side: &str| -> Option<(String, String)> {
            let t = cable[side].as_array()?;
            if t.len() != 1 || t[0]["object_type"] != "dcim.interface" {
                return None;
            }
            iface_name.get(&t[0]["object_id"].as_u64()?).cloned()
        };
        let (Some(a), Some(b)) = (end("a_terminations"), end("b_terminations")) else {
            continue;
        };
        let fabric_end = |e: &(String, String)| kind_of.contains_key(&e.0);
        if !(fabric_end(&a) && fabric_end(&b)) {
            continue;
        }
        let pa = format!("{}/{}", a.0, a.1);
        let pb = format!("{}/{}", b.0, b.1);
        let ca = ports_in.get(&pa).cloned().unwrap_or_default();
        let cb = ports_in.get(&pb).cloned().unwrap_or_default();
        v.check(
            "cable endpoints",
            ca.intersection(&cb).next().is_some(),
            || format!("NetBox cable {pa} ↔ {pb} is in no Connection holding both ports"),
        );
    }

    // Relationships: every port names an existing Switch/Server and a NetBox interface.
    let all_ifaces: BTreeSet<String> = iface_name
        .values()
        .map(|(d, i)| format!("{d}/{i}"))
        .collect();
    for (port, conns) in &ports_in {
        let device = port.split('/').next().unwrap_or_default();
        let exists = switches.contains_key(device) || servers.contains_key(device);
        let external = !kind_of.contains_key(device);
        v.check("connection references", exists || external, || {
            format!(
                "Connection {} references {port}, but there is no Switch or Server {device}",
                conns.iter().next().cloned().unwrap_or_default()
            )
        });
        v.check("port interfaces", all_ifaces.contains(port), || {
            format!("port {port} is not an interface in NetBox")
        });
    }

    // VLAN groups of the site → VLANNamespace with the same ranges.
    for g in vlan_groups
        .iter()
        .filter(|g| g["scope_type"] == "dcim.site" && g["scope_id"].as_u64() == Some(site_id))
    {
        let slug = g["slug"].as_str().unwrap_or_default();
        let ns_obj = vlanns.get(slug);
        v.check("vlan namespaces", ns_obj.is_some(), || {
            format!("VLAN group {slug} has no VLANNamespace")
        });
        if let Some(n) = ns_obj {
            let want: Vec<(u64, u64)> = g["vid_ranges"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|r| Some((r[0].as_u64()?, r[1].as_u64()?)))
                        .collect()
                })
                .unwrap_or_default();
            let got: Vec<(u64, u64)> = n["spec"]["ranges"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|r| Some((r["from"].as_u64()?, r["to"].as_u64()?)))
                        .collect()
                })
                .unwrap_or_default();
            v.check("vlan ranges", want == got, || {
                format!("VLANNamespace {slug}: ranges {got:?} in the cluster, {want:?} in NetBox")
            });
        }
    }

    // VRF prefixes of the site → VPC subnets.
    for p in prefixes.iter().filter(|p| {
        p["scope_type"] == "dcim.site"
            && p["scope_id"].as_u64() == Some(site_id)
            && p["vrf"].is_object()
            && p["vlan"].is_object()
            && p["status"]["value"] == "active"
    }) {
        let vrf = p["vrf"]["name"].as_str().unwrap_or_default();
        let cidr = p["prefix"].as_str().unwrap_or_default();
        let vpc = vpcs.get(vrf);
        v.check("vpcs", vpc.is_some(), || format!("VRF {vrf} has no VPC"));
        if let Some(vpc) = vpc {
            let mut subnets = Vec::new();
            strings_under(&vpc["spec"]["subnets"], "subnet", &mut subnets);
            v.check("vpc subnets", subnets.iter().any(|s| s == cidr), || {
                format!("VPC {vrf} has no subnet {cidr} (NetBox prefix in VRF {vrf})")
            });
        }
    }
    Ok(v)
}

//! Hedgehog's admission webhooks for the simulated cluster (`fake_apiserver::Admission`):
//! namespace `default` only, the 11-character names, referenced objects must exist, a port
//! belongs to one connection, connection type is immutable, no delete while referenced.
//!
//! Mirrors the subset of `githedgehog/fabric` `pkg/ctrl/*_wh.go` that decides whether a sync's
//! writes are accepted and in which order, the spec checks of `admission_spec.rs` (VPC and
//! IPv4Namespace subnets, switch IPs and breakouts, External communities), and the
//! `fabric.githedgehog.com` labels its mutating webhooks put on connections, switches and VPCs
//! (which its checks then select by); it does not re-implement Hedgehog's spec defaulting or the
//! other profile/port capability checks (speeds, FEC, auto-negotiation, connection ports).

use fake_apiserver::{Admission, AdmissionError, AdmissionRequest, ClusterView, Operation};
use serde_json::Value;

use super::admission_spec;
use super::kinds::Kind;
use super::names::{NameProblem, check_name};
use super::wiring::{ConnectionSpec, device_of};

/// The Hedgehog admission hook.
#[derive(Debug, Default, Clone)]
pub struct HedgehogAdmission;

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|x| !x.is_empty())
}

fn strs(v: &Value, path: &[&str]) -> Vec<String> {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(x) => cur = x,
            None => return Vec::new(),
        }
    }
    cur.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn exists(c: &dyn ClusterView, kind: Kind, ns: &str, name: &str) -> bool {
    c.get(kind.group(), kind.plural(), ns, name).is_some()
}

fn need(
    c: &dyn ClusterView,
    kind: Kind,
    ns: &str,
    name: &str,
    by: &str,
) -> Result<(), AdmissionError> {
    if exists(c, kind, ns, name) {
        Ok(())
    } else {
        Err(AdmissionError::denied(format!(
            "{by}: {} {name} not found",
            kind.kind()
        )))
    }
}

fn conn_spec(v: &Value) -> Result<ConnectionSpec, AdmissionError> {
    serde_json::from_value(v.get("spec").cloned().unwrap_or(Value::Null))
        .map_err(|e| AdmissionError::denied(format!("connection spec is invalid: {e}")))
}

fn name_of(v: &Value) -> String {
    s(v, &["metadata", "name"]).unwrap_or_default().to_string()
}

/// Every `port` string under a connection's spec (switch and server ports), without copying.
fn ports_of(v: &Value) -> Vec<&str> {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("port", Value::String(p)) => out.push(p),
                        _ => walk(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(spec) = v.get("spec") {
        walk(spec, &mut out);
    }
    out
}

/// The label Hedgehog puts on every connection touching switch `name`.
fn switch_label(name: &str) -> String {
    format!("switch.fabric.githedgehog.com/{name}")
}

/// The label Hedgehog puts on every connection touching server `name`.
fn server_label(name: &str) -> String {
    format!("server.fabric.githedgehog.com/{name}")
}

/// The `fabric.githedgehog.com` labels Hedgehog's mutating webhooks regenerate on every write
/// (`CleanupFabricLabels`, then set): connection type and the devices a connection touches,
/// a switch's profile, groups and VLAN namespaces, a VPC's namespaces.
fn fabric_labels(kind: Kind, obj: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match kind {
        Kind::Connection => {
            if let Ok(spec) = conn_spec(obj) {
                if let Some(t) = spec.connection_type() {
                    out.push((
                        "fabric.githedgehog.com/connection-type".into(),
                        t.label().to_string(),
                    ));
                }
                let e = spec.endpoints();
                for sw in &e.switches {
                    out.push((switch_label(sw), "true".into()));
                }
                for srv in &e.servers {
                    out.push((server_label(srv), "true".into()));
                }
            }
        }
        Kind::Switch => {
            if let Some(p) = s(obj, &["spec", "profile"]) {
                out.push(("fabric.githedgehog.com/profile".into(), p.into()));
            }
            for g in strs(obj, &["spec", "groups"]) {
                out.push((
                    format!("switchgroup.fabric.githedgehog.com/{g}"),
                    "true".into(),
                ));
            }
            for v in strs(obj, &["spec", "vlanNamespaces"]) {
                out.push((format!("vlanns.fabric.githedgehog.com/{v}"), "true".into()));
            }
        }
        Kind::VPC => {
            if let Some(v) = s(obj, &["spec", "ipv4Namespace"]) {
                out.push(("fabric.githedgehog.com/ipv4ns".into(), v.into()));
            }
            if let Some(v) = s(obj, &["spec", "vlanNamespace"]) {
                out.push(("fabric.githedgehog.com/vlanns".into(), v.into()));
            }
        }
        _ => {}
    }
    out
}

impl HedgehogAdmission {
    fn validate_write(
        &self,
        kind: Kind,
        req: &AdmissionRequest<'_>,
        obj: &Value,
        c: &dyn ClusterView,
    ) -> Result<(), AdmissionError> {
        let ns = req.namespace;
        if ns != "default" {
            return Err(AdmissionError::denied(
                "only default namespace is currently supported",
            ));
        }
        if let Err(p @ NameProblem::TooLong { .. }) = check_name(kind, req.name)
            && kind.max_name_len() < 253
        {
            return Err(AdmissionError::denied(format!("name {} {p}", req.name)));
        }
        match kind {
            Kind::Switch => {
                let mut groups = strs(obj, &["spec", "groups"]);
                if let Some(g) = s(obj, &["spec", "redundancy", "group"]) {
                    groups.push(g.to_string());
                }
                for g in groups {
                    need(c, Kind::SwitchGroup, ns, &g, "switch group")?;
                }
                for v in strs(obj, &["spec", "vlanNamespaces"]) {
                    need(c, Kind::VLANNamespace, ns, &v, "vlan namespace")?;
                }
                if let Some(p) = s(obj, &["spec", "profile"]) {
                    need(c, Kind::SwitchProfile, ns, p, "switch profile")?;
                }
                let red_group = s(obj, &["spec", "redundancy", "group"]).is_some();
                let red_type = s(obj, &["spec", "redundancy", "type"]).is_some();
                if red_group != red_type {
                    return Err(AdmissionError::denied(
                        "redundancy group and type should be set together",
                    ));
                }
                admission_spec::switch(obj, req.name, ns, c)?;
            }
            Kind::Connection => {
                let spec = conn_spec(obj)?;
                let Some(t) = spec.connection_type() else {
                    return Err(AdmissionError::denied(
                        "exactly one connection type must be used",
                    ));
                };
                if req.operation == Operation::Update
                    && let Some(old) = req.old_object
                    && let Ok(old_spec) = conn_spec(old)
                    && old_spec.connection_type() != Some(t)
                {
                    return Err(AdmissionError::denied("connection type can't be changed"));
                }
                let ep = spec.endpoints();
                for sw in &ep.switches {
                    need(c, Kind::Switch, ns, sw, "switch")?;
                }
                for srv in &ep.servers {
                    need(c, Kind::Server, ns, srv, "server")?;
                }
                let mut seen = std::collections::BTreeSet::new();
                for p in &ep.ports {
                    if !seen.insert(p.clone()) {
                        return Err(AdmissionError::denied(format!(
                            "port {p} is used more than once in the connection"
                        )));
                    }
                }
                // The connections sharing a device with this one, through the labels the
                // mutating step put on every connection (as Hedgehog's webhook selects them).
                let mut clash: Option<(String, String)> = None;
                let labels = ep
                    .switches
                    .iter()
                    .map(|d| switch_label(d))
                    .chain(ep.servers.iter().map(|d| server_label(d)));
                for label in labels {
                    c.visit(
                        Kind::Connection.group(),
                        Kind::Connection.plural(),
                        Some(ns),
                        Some((&label, "true")),
                        &mut |other| {
                            let other_name = s(other, &["metadata", "name"]).unwrap_or_default();
                            if other_name == req.name {
                                return true;
                            }
                            if let Some(p) = ports_of(other).into_iter().find(|p| seen.contains(*p))
                            {
                                clash = Some((p.to_string(), other_name.to_string()));
                                return false;
                            }
                            true
                        },
                    );
                    if let Some((p, other)) = clash {
                        return Err(AdmissionError::denied(format!(
                            "port {p} is already used by other connection {other}"
                        )));
                    }
                }
            }
            Kind::VPC => {
                if let Some(v) = s(obj, &["spec", "ipv4Namespace"]) {
                    need(c, Kind::IPv4Namespace, ns, v, "ipv4 namespace")?;
                }
                if let Some(v) = s(obj, &["spec", "vlanNamespace"]) {
                    need(c, Kind::VLANNamespace, ns, v, "vlan namespace")?;
                }
                admission_spec::vpc(obj, req.name, ns, c)?;
            }
            Kind::VPCAttachment => {
                let conn = s(obj, &["spec", "connection"])
                    .ok_or_else(|| AdmissionError::denied("connection is required"))?;
                need(c, Kind::Connection, ns, conn, "connection")?;
                let subnet = s(obj, &["spec", "subnet"])
                    .ok_or_else(|| AdmissionError::denied("subnet is required"))?;
                need(c, Kind::VPC, ns, device_of(subnet), "vpc")?;
            }
            Kind::VPCPeering => {
                if let Some(permits) = obj
                    .get("spec")
                    .and_then(|x| x.get("permit"))
                    .and_then(Value::as_array)
                {
                    for p in permits {
                        for vpc in p
                            .as_object()
                            .map(|m| m.keys().cloned().collect::<Vec<_>>())
                            .unwrap_or_default()
                        {
                            need(c, Kind::VPC, ns, &vpc, "vpc")?;
                        }
                    }
                }
            }
            Kind::External => {
                let v = s(obj, &["spec", "ipv4Namespace"])
                    .ok_or_else(|| AdmissionError::denied("ipv4Namespace is required"))?;
                need(c, Kind::IPv4Namespace, ns, v, "ipv4 namespace")?;
                admission_spec::external(obj)?;
            }
            Kind::IPv4Namespace => admission_spec::ipv4_namespace(obj)?,
            Kind::ExternalAttachment => {
                if let Some(e) = s(obj, &["spec", "external"]) {
                    need(c, Kind::External, ns, e, "external")?;
                }
                if let Some(conn) = s(obj, &["spec", "connection"]) {
                    need(c, Kind::Connection, ns, conn, "connection")?;
                }
            }
            Kind::ExternalPeering => {
                if let Some(v) = s(obj, &["spec", "permit", "vpc", "name"]) {
                    need(c, Kind::VPC, ns, v, "vpc")?;
                }
                if let Some(e) = s(obj, &["spec", "permit", "external", "name"]) {
                    need(c, Kind::External, ns, e, "external")?;
                }
            }
            Kind::SwitchProfile
            | Kind::ServerProfile
            | Kind::VLANNamespace
            | Kind::SwitchGroup
            | Kind::Server => {}
        }
        Ok(())
    }

    /// Names the first object that still references `name` of `kind`, if any.
    fn referenced_by(
        &self,
        kind: Kind,
        ns: &str,
        name: &str,
        c: &dyn ClusterView,
    ) -> Option<String> {
        let hit = |k: Kind, pred: &dyn Fn(&Value) -> bool| {
            let mut found = None;
            c.visit(k.group(), k.plural(), Some(ns), None, &mut |o| {
                if pred(o) {
                    found = Some(format!("{} {}", k.kind(), name_of(o)));
                    return false;
                }
                true
            });
            found
        };
        let labelled = |k: Kind, label: String| {
            let mut found = None;
            c.visit(
                k.group(),
                k.plural(),
                Some(ns),
                Some((&label, "true")),
                &mut |o| {
                    found = Some(format!("{} {}", k.kind(), name_of(o)));
                    false
                },
            );
            found
        };
        match kind {
            Kind::SwitchGroup => hit(Kind::Switch, &|o| {
                strs(o, &["spec", "groups"]).iter().any(|g| g == name)
                    || s(o, &["spec", "redundancy", "group"]) == Some(name)
            }),
            Kind::VLANNamespace => hit(Kind::Switch, &|o| {
                strs(o, &["spec", "vlanNamespaces"])
                    .iter()
                    .any(|g| g == name)
            })
            .or_else(|| {
                hit(Kind::VPC, &|o| {
                    s(o, &["spec", "vlanNamespace"]) == Some(name)
                })
            }),
            Kind::IPv4Namespace => hit(Kind::VPC, &|o| {
                s(o, &["spec", "ipv4Namespace"]) == Some(name)
            })
            .or_else(|| {
                hit(Kind::External, &|o| {
                    s(o, &["spec", "ipv4Namespace"]) == Some(name)
                })
            }),
            Kind::Switch => labelled(Kind::Connection, switch_label(name)),
            Kind::Server => labelled(Kind::Connection, server_label(name)),
            Kind::Connection => hit(Kind::VPCAttachment, &|o| {
                s(o, &["spec", "connection"]) == Some(name)
            })
            .or_else(|| {
                hit(Kind::ExternalAttachment, &|o| {
                    s(o, &["spec", "connection"]) == Some(name)
                })
            }),
            Kind::VPC => hit(Kind::VPCAttachment, &|o| {
                s(o, &["spec", "subnet"]).is_some_and(|x| device_of(x) == name)
            })
            .or_else(|| {
                hit(Kind::VPCPeering, &|o| {
                    o.get("spec")
                        .and_then(|x| x.get("permit"))
                        .and_then(Value::as_array)
                        .is_some_and(|a| a.iter().any(|p| p.get(name).is_some()))
                })
            })
            .or_else(|| {
                hit(Kind::ExternalPeering, &|o| {
                    s(o, &["spec", "permit", "vpc", "name"]) == Some(name)
                })
            }),
            Kind::External => hit(Kind::ExternalAttachment, &|o| {
                s(o, &["spec", "external"]) == Some(name)
            })
            .or_else(|| {
                hit(Kind::ExternalPeering, &|o| {
                    s(o, &["spec", "permit", "external", "name"]) == Some(name)
                })
            }),
            _ => None,
        }
    }
}

impl Admission for HedgehogAdmission {
    fn name(&self) -> &str {
        "hedgehog.githedgehog.com"
    }

    fn mutate(&self, req: &AdmissionRequest<'_>, obj: &mut Value) -> Result<(), AdmissionError> {
        let Some(kind) = Kind::from_plural(req.group, req.resource) else {
            return Ok(());
        };
        if !req.subresource.is_empty() {
            return Ok(());
        }
        let wanted = fabric_labels(kind, obj);
        let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        let labels = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(Default::default()));
        let Some(labels) = labels.as_object_mut() else {
            return Ok(());
        };
        labels.retain(|k, _| !k.contains("fabric.githedgehog.com/"));
        for (k, v) in wanted {
            labels.insert(k, Value::String(v));
        }
        if labels.is_empty() {
            meta.remove("labels");
        }
        Ok(())
    }

    fn validate(
        &self,
        req: &AdmissionRequest<'_>,
        cluster: &dyn ClusterView,
    ) -> Result<(), AdmissionError> {
        let Some(kind) = Kind::from_plural(req.group, req.resource) else {
            return Ok(());
        };
        if !req.subresource.is_empty() {
            return Ok(());
        }
        match req.operation {
            Operation::Create | Operation::Update => match req.object {
                Some(obj) => self.validate_write(kind, req, obj, cluster),
                None => Ok(()),
            },
            Operation::Delete => match self.referenced_by(kind, req.namespace, req.name, cluster) {
                Some(by) => Err(AdmissionError::denied(format!(
                    "{} {} is still used by {by}",
                    kind.kind(),
                    req.name
                ))),
                None => Ok(()),
            },
        }
    }
}

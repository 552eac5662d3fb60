//! Hedgehog's admission webhooks for the simulated cluster (`fake_apiserver::Admission`):
//! namespace `default` only, the 11-character names, referenced objects must exist, a port
//! belongs to one connection, connection type is immutable, no delete while referenced.
//!
//! Mirrors the subset of `githedgehog/fabric` `pkg/ctrl/*_wh.go` that decides whether a sync's
//! writes are accepted and in which order; it does not re-implement Hedgehog's defaulting or
//! profile/port capability checks.

use fake_apiserver::{Admission, AdmissionError, AdmissionRequest, ClusterView, Operation};
use serde_json::Value;

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
                for other in c.list(
                    Kind::Connection.group(),
                    Kind::Connection.plural(),
                    Some(ns),
                ) {
                    if name_of(&other) == req.name {
                        continue;
                    }
                    let Ok(os) = conn_spec(&other) else { continue };
                    for p in os.endpoints().ports {
                        if seen.contains(&p) {
                            return Err(AdmissionError::denied(format!(
                                "port {p} is already used by other connection {}",
                                name_of(&other)
                            )));
                        }
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
            }
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
            | Kind::IPv4Namespace
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
        let list = |k: Kind| c.list(k.group(), k.plural(), Some(ns));
        let hit = |k: Kind, pred: &dyn Fn(&Value) -> bool| {
            list(k)
                .into_iter()
                .find(|o| pred(o))
                .map(|o| format!("{} {}", k.kind(), name_of(&o)))
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
            Kind::Switch | Kind::Server => hit(Kind::Connection, &|o| {
                conn_spec(o).is_ok_and(|sp| {
                    let e = sp.endpoints();
                    e.switches.iter().chain(&e.servers).any(|d| d == name)
                })
            }),
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

//! The spec checks of Hedgehog's VPC, IPv4Namespace, Switch and External webhooks that the
//! simulated cluster repeats: VPC subnets (IPv4 prefix of at most /30, gateway, DHCP range,
//! one subnet per VLAN, no overlap, inside the IPv4Namespace and the VLANNamespace, no overlap
//! or shared VLAN with other VPCs of those namespaces), IPv4Namespace subnets (at most 10, no
//! overlap), switch IPs (`/32` protocol and VTEP IPs) and port breakouts (against the
//! SwitchProfile, when it lists its ports), External communities. Other checks of those
//! webhooks (subnet counts, required VLANs, DHCP options, static routes) are not repeated.
//!
//! Called by `admission.rs` for creates and updates; it does no defaulting (the simulated
//! cluster has no mutating spec defaults, so an unset DHCP bound or gateway is left alone, as
//! Hedgehog's defaults would make it valid), and it does not check hydration against a fabric
//! configuration (subnets for protocol and VTEP IPs, ASN ranges), which the simulation lacks.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use fake_apiserver::{AdmissionError, ClusterView};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::formats::{Ipv4Prefix, dhcp_bound_problem, is_community, parse_ipv4};
use super::kinds::Kind;
use super::vpc::{ExternalSpec, IPv4NamespaceSpec, VPCSpec};
use super::wiring::{SwitchProfileSpec, SwitchSpec, VLANNamespaceSpec};

/// Most subnets of an IPv4Namespace (Hedgehog's `MaxIPv4NamespaceSubnets`).
const MAX_NAMESPACE_SUBNETS: usize = 10;
/// Longest VPC subnet prefix.
const MAX_VPC_SUBNET_LEN: u8 = 30;

fn deny(message: impl Into<String>) -> AdmissionError {
    AdmissionError::denied(message)
}

/// The `spec` of `obj` as `T`.
fn spec<T: DeserializeOwned>(obj: &Value, kind: Kind) -> Result<T, AdmissionError> {
    serde_json::from_value(obj.get("spec").cloned().unwrap_or(Value::Null))
        .map_err(|e| deny(format!("{} spec is invalid: {e}", kind.kind())))
}

/// The spec of the object `name` of `kind` in `ns`, when it exists and decodes.
fn get_spec<T: DeserializeOwned>(
    c: &dyn ClusterView,
    kind: Kind,
    ns: &str,
    name: &str,
) -> Option<T> {
    let obj = c.get(kind.group(), kind.plural(), ns, name)?;
    serde_json::from_value(obj.get("spec")?.clone()).ok()
}

fn name_of(v: &Value) -> &str {
    v.get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// First pair of overlapping prefixes in `nets`, if any.
fn first_overlap(nets: &[Ipv4Prefix]) -> Option<(Ipv4Prefix, Ipv4Prefix)> {
    nets.iter().enumerate().find_map(|(i, a)| {
        nets[i + 1..]
            .iter()
            .find(|b| a.overlaps(**b))
            .map(|b| (*a, *b))
    })
}

/// One parsed VPC subnet.
struct Subnet<'s> {
    name: &'s str,
    net: Ipv4Prefix,
    /// `None` for hostBGP subnets, which have no VLAN.
    vlan: Option<u16>,
}

/// The DHCP range of subnet `name`: with DHCP enabled each set bound inside the subnet and
/// neither its address nor its gateway, start before end; with DHCP off, no bound set.
fn check_dhcp(
    name: &str,
    net: Ipv4Prefix,
    gateway: Ipv4Addr,
    s: &super::vpc::VpcSubnet,
) -> Result<(), AdmissionError> {
    let Some(dhcp) = &s.dhcp else { return Ok(()) };
    let range = dhcp.range.clone().unwrap_or_default();
    if dhcp.enable != Some(true) {
        if range.start.is_some() || range.end.is_some() {
            return Err(deny(format!(
                "subnet {name}: dhcp range start or end is set but dhcp is disabled"
            )));
        }
        return Ok(());
    }
    let bound = |which: &str, v: &Option<String>| match v {
        None => Ok(None),
        Some(v) => dhcp_bound_problem(net, gateway, v)
            .map(Some)
            .map_err(|why| deny(format!("subnet {name}: dhcp range {which} {v} {why}"))),
    };
    let start = bound("start", &range.start)?;
    let end = bound("end", &range.end)?;
    if let (Some(a), Some(b)) = (start, end)
        && a >= b
    {
        return Err(deny(format!(
            "subnet {name}: dhcp range start {a} does not come before dhcp range end {b}"
        )));
    }
    Ok(())
}

/// A VPC's own subnets, then its namespaces and the other VPCs in them.
pub(super) fn vpc(
    obj: &Value,
    name: &str,
    ns: &str,
    c: &dyn ClusterView,
) -> Result<(), AdmissionError> {
    let spec: VPCSpec = spec(obj, Kind::VPC)?;
    let mut subnets: Vec<Subnet<'_>> = Vec::new();
    for (sname, s) in &spec.subnets {
        let text = s.subnet.as_deref().unwrap_or_default();
        let net = Ipv4Prefix::parse(text)
            .ok_or_else(|| deny(format!("subnet {sname}: failed to parse subnet {text}")))?;
        if net.len > MAX_VPC_SUBNET_LEN {
            return Err(deny(format!(
                "subnet {sname}: prefix length {} is too large, must be <= {MAX_VPC_SUBNET_LEN}",
                net.len
            )));
        }
        let host_bgp = s.host_bgp == Some(true);
        let gateway = match s.gateway.as_deref() {
            Some(g) => parse_ipv4(g).filter(|a| net.contains(*a)).ok_or_else(|| {
                deny(format!(
                    "subnet {sname}: gateway {g} is not an IP address in the subnet"
                ))
            })?,
            None => net.default_gateway(),
        };
        check_dhcp(sname, net, gateway, s)?;
        subnets.push(Subnet {
            name: sname,
            net,
            vlan: (!host_bgp).then(|| s.vlan.unwrap_or(0)),
        });
    }
    let mut vlans: BTreeMap<u16, &str> = BTreeMap::new();
    for s in &subnets {
        if let Some(v) = s.vlan
            && vlans.insert(v, s.name).is_some()
        {
            return Err(deny("duplicate subnet VLANs"));
        }
    }
    let nets: Vec<Ipv4Prefix> = subnets.iter().map(|s| s.net).collect();
    if let Some((a, b)) = first_overlap(&nets) {
        return Err(deny(format!(
            "failed to verify no overlap subnets: subnets {a} and {b} overlap"
        )));
    }
    let ipv4ns = spec.ipv4_namespace.as_deref().unwrap_or("default");
    if let Some(ipns) = get_spec::<IPv4NamespaceSpec>(c, Kind::IPv4Namespace, ns, ipv4ns) {
        let outer: Vec<Ipv4Prefix> = ipns
            .subnets
            .iter()
            .filter_map(|s| Ipv4Prefix::parse(s))
            .collect();
        if let Some(s) = subnets
            .iter()
            .find(|s| !outer.iter().any(|o| s.net.is_subset_of(*o)))
        {
            return Err(deny(format!(
                "vpc subnet {} ({}) doesn't belong to the IPv4Namespace {ipv4ns}",
                s.name, s.net
            )));
        }
    }
    let vlanns = spec.vlan_namespace.as_deref().unwrap_or("default");
    if let Some(vns) = get_spec::<VLANNamespaceSpec>(c, Kind::VLANNamespace, ns, vlanns)
        && let Some((s, v)) = subnets
            .iter()
            .filter_map(|s| s.vlan.map(|v| (s, v)))
            .find(|(_, v)| !vns.ranges.iter().any(|r| r.from <= *v && *v <= r.to))
    {
        return Err(deny(format!(
            "vpc subnet {} ({}) vlan {v} doesn't belong to the VLANNamespace {vlanns}",
            s.name, s.net
        )));
    }
    other_vpcs(name, ns, ipv4ns, vlanns, &subnets, c)
}

/// The first refusal `check` gives for another VPC (not `name`) carrying `label`.
fn first_refusal(
    c: &dyn ClusterView,
    ns: &str,
    name: &str,
    label: (&str, &str),
    check: &mut dyn FnMut(&str, &VPCSpec) -> Option<String>,
) -> Option<String> {
    let mut refusal = None;
    c.visit(
        Kind::VPC.group(),
        Kind::VPC.plural(),
        Some(ns),
        Some(label),
        &mut |other| {
            let other_name = name_of(other);
            if other_name == name {
                return true;
            }
            let Some(spec) = other
                .get("spec")
                .and_then(|s| serde_json::from_value::<VPCSpec>(s.clone()).ok())
            else {
                return true;
            };
            refusal = check(other_name, &spec);
            refusal.is_none()
        },
    );
    refusal
}

/// No subnet of another VPC of the same IPv4Namespace overlaps, and no subnet of another VPC of
/// the same VLANNamespace has one of the VLANs (found through the labels Hedgehog's mutating
/// webhook puts on VPCs).
fn other_vpcs(
    name: &str,
    ns: &str,
    ipv4ns: &str,
    vlanns: &str,
    subnets: &[Subnet<'_>],
    c: &dyn ClusterView,
) -> Result<(), AdmissionError> {
    let overlap = first_refusal(
        c,
        ns,
        name,
        ("fabric.githedgehog.com/ipv4ns", ipv4ns),
        &mut |other, spec| {
            spec.subnets.values().find_map(|o| {
                let text = o.subnet.as_deref()?;
                let net = Ipv4Prefix::parse(text)?;
                subnets.iter().find(|s| s.net.overlaps(net)).map(|s| {
                    format!(
                        "subnet {} overlaps with subnet {text} of VPC {other}",
                        s.net
                    )
                })
            })
        },
    );
    let refusal = overlap.or_else(|| {
        first_refusal(
            c,
            ns,
            name,
            ("fabric.githedgehog.com/vlanns", vlanns),
            &mut |_, spec| {
                spec.subnets.values().find_map(|o| {
                    let v = o.vlan.filter(|_| o.host_bgp != Some(true))?;
                    subnets
                        .iter()
                        .any(|s| s.vlan == Some(v))
                        .then(|| format!("vlan {v} is already used by other VPC"))
                })
            },
        )
    });
    refusal.map_or(Ok(()), |m| Err(deny(m)))
}

/// An IPv4Namespace: at most 10 IPv4 prefixes that do not overlap.
pub(super) fn ipv4_namespace(obj: &Value) -> Result<(), AdmissionError> {
    let spec: IPv4NamespaceSpec = spec(obj, Kind::IPv4Namespace)?;
    let mut nets = Vec::with_capacity(spec.subnets.len());
    for s in &spec.subnets {
        nets.push(Ipv4Prefix::parse(s).ok_or_else(|| deny(format!("failed to parse cidr {s}")))?);
    }
    if nets.len() > MAX_NAMESPACE_SUBNETS {
        return Err(deny(format!(
            "too many subnets defined ({}), maximum is {MAX_NAMESPACE_SUBNETS}",
            nets.len()
        )));
    }
    match first_overlap(&nets) {
        Some((a, b)) => Err(deny(format!(
            "subnets overlap: subnets {a} and {b} overlap"
        ))),
        None => Ok(()),
    }
}

/// A switch: its IPs are IPv4 prefixes (protocol and VTEP IPs `/32`), and each port breakout is
/// one the SwitchProfile supports on that port (when the profile lists its ports).
pub(super) fn switch(
    obj: &Value,
    name: &str,
    ns: &str,
    c: &dyn ClusterView,
) -> Result<(), AdmissionError> {
    let spec: SwitchSpec = spec(obj, Kind::Switch)?;
    let ips = [
        ("IP", spec.ip.as_deref(), false),
        ("protocol IP", spec.protocol_ip.as_deref(), true),
        ("VTEP IP", spec.vtep_ip.as_deref(), true),
    ];
    for (what, value, host) in ips {
        let Some(v) = value else { continue };
        match Ipv4Prefix::parse(v) {
            None => return Err(deny(format!("parsing switch {name} {what} {v}"))),
            Some(p) if host && p.len != 32 => {
                return Err(deny(format!("switch {name} {what} {v} must be a /32")));
            }
            Some(_) => {}
        }
    }
    let profile = spec
        .profile
        .as_deref()
        .and_then(|p| get_spec::<SwitchProfileSpec>(c, Kind::SwitchProfile, ns, p))
        .filter(SwitchProfileSpec::has_ports);
    if let Some(profile) = profile {
        for (port, mode) in &spec.port_breakouts {
            if let Some(problem) = profile.breakout_problem(port, mode) {
                return Err(deny(format!(
                    "port {port} does not support specified breakout {mode}: {problem}"
                )));
            }
        }
    }
    Ok(())
}

/// An External: its communities are BGP communities.
pub(super) fn external(obj: &Value) -> Result<(), AdmissionError> {
    let spec: ExternalSpec = spec(obj, Kind::External)?;
    for (what, value) in [
        ("inboundCommunity", &spec.inbound_community),
        ("outboundCommunity", &spec.outbound_community),
    ] {
        if let Some(v) = value
            && !is_community(v)
        {
            return Err(deny(format!(
                "{what} {v} is not a valid community, example 50000:50001"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use fake_apiserver::{Admission, AdmissionRequest, Operation};
    use serde_json::json;

    use super::*;
    use crate::hedgehog::admission::HedgehogAdmission;

    /// A cluster of objects in namespace `default`.
    struct Cluster(Vec<(Kind, Value)>);

    impl ClusterView for Cluster {
        fn get(&self, group: &str, resource: &str, _ns: &str, name: &str) -> Option<Value> {
            self.0
                .iter()
                .find(|(k, o)| k.group() == group && k.plural() == resource && name_of(o) == name)
                .map(|(_, o)| o.clone())
        }
        fn list(&self, group: &str, resource: &str, _ns: Option<&str>) -> Vec<Value> {
            self.0
                .iter()
                .filter(|(k, _)| k.group() == group && k.plural() == resource)
                .map(|(_, o)| o.clone())
                .collect()
        }
        fn visit(
            &self,
            group: &str,
            resource: &str,
            _ns: Option<&str>,
            label: Option<(&str, &str)>,
            f: &mut dyn FnMut(&Value) -> bool,
        ) {
            for (k, o) in &self.0 {
                let labelled = label.is_none_or(|(key, value)| {
                    o["metadata"]["labels"][key].as_str() == Some(value)
                });
                if k.group() == group && k.plural() == resource && labelled && !f(o) {
                    return;
                }
            }
        }
    }

    fn obj(name: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "default"}, "spec": spec})
    }

    /// Namespaces `default` (10.0.0.0/16, VLANs 1000-2999), a VPC `vpc-0` with 10.0.9.0/24 on
    /// VLAN 1009, switch profiles `vs` (no ports) and `ds` (E1/49: 1x100G or 4x25G).
    fn cluster() -> Cluster {
        let mut vpc0 = obj(
            "vpc-0",
            json!({"ipv4Namespace": "default", "vlanNamespace": "default",
                   "subnets": {"s": {"subnet": "10.0.9.0/24", "vlan": 1009}}}),
        );
        vpc0["metadata"]["labels"] = json!({"fabric.githedgehog.com/ipv4ns": "default",
                                            "fabric.githedgehog.com/vlanns": "default"});
        let ds = json!({"ports": {"E1/49": {"profile": "Q"}, "E1/1": {"group": "1"}},
            "portProfiles": {"Q": {"breakout": {"default": "1x100G",
                "supported": {"1x100G": {"offsets": ["0"]}, "4x25G": {"offsets": ["0", "1", "2", "3"]}}}}}});
        Cluster(vec![
            (
                Kind::IPv4Namespace,
                obj("default", json!({"subnets": ["10.0.0.0/16"]})),
            ),
            (
                Kind::VLANNamespace,
                obj("default", json!({"ranges": [{"from": 1000, "to": 2999}]})),
            ),
            (Kind::VPC, vpc0),
            (Kind::SwitchProfile, obj("vs", json!({}))),
            (Kind::SwitchProfile, obj("ds", ds)),
        ])
    }

    fn admit(c: &Cluster, kind: Kind, object: &Value) -> Result<(), String> {
        let req = AdmissionRequest {
            operation: Operation::Create,
            group: kind.group(),
            version: "v1beta1",
            kind: kind.kind(),
            resource: kind.plural(),
            subresource: "",
            namespace: "default",
            name: name_of(object),
            object: Some(object),
            old_object: None,
            dry_run: false,
        };
        HedgehogAdmission.validate(&req, c).map_err(|e| e.message)
    }

    fn vpc_with(subnets: Value) -> Value {
        obj(
            "vpc-1",
            json!({"ipv4Namespace": "default", "vlanNamespace": "default", "subnets": subnets}),
        )
    }

    #[test]
    fn vpc_subnets_are_checked_like_hedgehog() {
        let c = cluster();
        let ok = vpc_with(json!({"a": {"subnet": "10.0.1.0/24", "vlan": 1001,
            "dhcp": {"enable": true, "range": {"start": "10.0.1.10", "end": "10.0.1.255"}}}}));
        assert_eq!(admit(&c, Kind::VPC, &ok), Ok(()));
        let refused = [
            (
                json!({"a": {"subnet": "10.0.1.0/24", "vlan": 1001},
                       "b": {"subnet": "10.0.1.128/25", "vlan": 1002}}),
                "overlap",
            ),
            (
                json!({"a": {"subnet": "10.0.1.0/31", "vlan": 1001}}),
                "must be <= 30",
            ),
            (
                json!({"a": {"subnet": "999.1.1.1/77", "vlan": 1001}}),
                "failed to parse",
            ),
            (
                json!({"a": {"subnet": "10.0.1.0/24", "vlan": 1001},
                       "b": {"subnet": "10.0.2.0/24", "vlan": 1001}}),
                "duplicate subnet VLANs",
            ),
            (
                json!({"a": {"subnet": "192.168.1.0/24", "vlan": 1001}}),
                "doesn't belong to the IPv4Namespace",
            ),
            (
                json!({"a": {"subnet": "10.0.1.0/24", "vlan": 3500}}),
                "doesn't belong to the VLANNamespace",
            ),
            (
                json!({"a": {"subnet": "10.0.9.64/26", "vlan": 1001}}),
                "overlaps with subnet 10.0.9.0/24 of VPC vpc-0",
            ),
            (
                json!({"a": {"subnet": "10.0.1.0/24", "vlan": 1009}}),
                "vlan 1009 is already used by other VPC",
            ),
            (
                json!({"a": {"subnet": "10.0.1.0/24", "vlan": 1001,
                       "dhcp": {"enable": true, "range": {"start": "10.0.2.10"}}}}),
                "is outside the subnet",
            ),
            (
                json!({"a": {"subnet": "10.0.1.0/24", "vlan": 1001,
                       "dhcp": {"enable": true, "range": {"end": "banana"}}}}),
                "is not an IPv4 address",
            ),
            (
                json!({"a": {"subnet": "10.0.1.0/24", "vlan": 1001,
                       "dhcp": {"enable": true, "range": {"start": "10.0.1.99", "end": "10.0.1.10"}}}}),
                "does not come before",
            ),
            (
                json!({"a": {"subnet": "10.0.1.0/24", "vlan": 1001,
                       "dhcp": {"range": {"start": "10.0.1.10"}}}}),
                "dhcp is disabled",
            ),
        ];
        for (subnets, want) in refused {
            let got = admit(&c, Kind::VPC, &vpc_with(subnets.clone()));
            assert!(
                got.as_ref().is_err_and(|m| m.contains(want)),
                "{subnets}: {got:?}, wanted {want:?}"
            );
        }
        // an update of vpc-0 itself does not clash with its stored self
        let same = obj(
            "vpc-0",
            json!({"ipv4Namespace": "default", "vlanNamespace": "default",
                   "subnets": {"s": {"subnet": "10.0.9.0/24", "vlan": 1009}}}),
        );
        assert_eq!(admit(&c, Kind::VPC, &same), Ok(()));
    }

    #[test]
    fn ipv4_namespaces_switches_and_externals() {
        let c = cluster();
        let ns = |subnets: Value| obj("other", json!({"subnets": subnets}));
        assert_eq!(
            admit(&c, Kind::IPv4Namespace, &ns(json!(["10.1.0.0/16"]))),
            Ok(())
        );
        assert!(
            admit(
                &c,
                Kind::IPv4Namespace,
                &ns(json!(["10.1.0.0/16", "10.1.128.0/17"]))
            )
            .is_err_and(|m| m.contains("overlap"))
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("10.{i}.0.0/16")).collect();
        assert!(
            admit(&c, Kind::IPv4Namespace, &ns(json!(eleven)))
                .is_err_and(|m| m.contains("maximum is 10"))
        );
        let sw = |profile: &str, extra: Value| {
            let mut spec = json!({"role": "server-leaf", "profile": profile});
            for (k, v) in extra.as_object().unwrap() {
                spec[k] = v.clone();
            }
            obj("leaf-01", spec)
        };
        for (profile, extra, want) in [
            (
                "vs",
                json!({"protocolIP": "999.1.1.1/77"}),
                Some("protocol IP"),
            ),
            (
                "vs",
                json!({"vtepIP": "172.30.12.1/24"}),
                Some("must be a /32"),
            ),
            ("vs", json!({"ip": "banana"}), Some("IP banana")),
            ("vs", json!({"portBreakouts": {"E1/1": "banana"}}), None),
            ("ds", json!({"portBreakouts": {"E1/49": "4x25G"}}), None),
            (
                "ds",
                json!({"portBreakouts": {"E1/49": "2x50G"}}),
                Some("supports only"),
            ),
            (
                "ds",
                json!({"portBreakouts": {"E1/1": "4x25G"}}),
                Some("no breakout modes"),
            ),
            (
                "ds",
                json!({"portBreakouts": {"E1/9": "4x25G"}}),
                Some("not a port"),
            ),
        ] {
            let got = admit(&c, Kind::Switch, &sw(profile, extra.clone()));
            match want {
                None => assert_eq!(got, Ok(()), "{profile} {extra}"),
                Some(w) => assert!(
                    got.as_ref().is_err_and(|m| m.contains(w)),
                    "{profile} {extra}: {got:?}"
                ),
            }
        }
        let ext = |community: &str| {
            obj(
                "ext-1",
                json!({"ipv4Namespace": "default", "inboundCommunity": community}),
            )
        };
        assert_eq!(admit(&c, Kind::External, &ext("65102:5000")), Ok(()));
        assert!(
            admit(&c, Kind::External, &ext("65102:999999"))
                .is_err_and(|m| m.contains("not a valid community"))
        );
    }
}

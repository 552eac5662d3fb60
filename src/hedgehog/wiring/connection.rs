//! The Connection kind of `wiring.githedgehog.com/v1beta1` and its link types (unbundled,
//! bundled, ESLAG/MCLAG, fabric, mesh, gateway, VPC loopback, external, static external), with
//! the port references and endpoints every connection type exposes.
//!
//! Types only: no validation beyond what serde enforces, no IO.

// kube's derive takes repeated `category`/`printcolumn` keys, which this lint misreads.
#![allow(clippy::duplicated_attributes)]

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::EmptyStatus;

/// A port reference `"<device>/<port>"` inside a connection link.
#[derive(
    Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
pub struct BasePortName {
    pub port: String,
}

impl BasePortName {
    /// Builds `"<device>/<port>"`.
    pub fn new(device: &str, port: &str) -> BasePortName {
        BasePortName {
            port: format!("{device}/{port}"),
        }
    }

    /// Splits at the first `/` like Hedgehog's `SplitPortName`: (`leaf-01`, `E1/1`).
    pub fn split(&self) -> Option<(&str, &str)> {
        self.port.split_once('/')
    }

    /// The device part (`leaf-01` of `leaf-01/E1/1`).
    pub fn device(&self) -> &str {
        self.split().map_or(self.port.as_str(), |(d, _)| d)
    }
}

/// A port with the IP of its end of a routed link (fabric, mesh, gateway links).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct IpPort {
    pub port: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^((25[0-5]|(2[0-4]|1\d|[1-9]|)\d)\.?\b){4}/([1-2]?[0-9]|3[0-2])$"
    ))]
    pub ip: Option<String>,
}

/// Server port ↔ switch port.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ServerToSwitchLink {
    pub server: BasePortName,
    #[serde(rename = "switch")]
    pub switch: BasePortName,
}

/// Switch port ↔ switch port (mclagDomain, vpcLoopback).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct SwitchToSwitchLink {
    pub switch1: BasePortName,
    pub switch2: BasePortName,
}

/// `spec.unbundled`: one server port to one switch port.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ConnUnbundled {
    pub link: ServerToSwitchLink,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub mtu: Option<u16>,
}

/// `spec.bundled`: a LAG from one server to one switch.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ConnBundled {
    pub links: Vec<ServerToSwitchLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub mtu: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<bool>,
}

/// `spec.eslag` / `spec.mclag`: a multi-homed server LAG (at least 2 links).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ConnMultihomed {
    #[schemars(length(min = 2))]
    pub links: Vec<ServerToSwitchLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub mtu: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<bool>,
}

/// `spec.mclagDomain` (deprecated upstream): peer and session links of an MCLAG pair.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnMclagDomain {
    #[schemars(length(min = 1))]
    pub peer_links: Vec<SwitchToSwitchLink>,
    #[schemars(length(min = 1))]
    pub session_links: Vec<SwitchToSwitchLink>,
}

/// A spine ↔ leaf link.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct FabricLink {
    pub spine: IpPort,
    pub leaf: IpPort,
}

/// `spec.fabric`: every link between one spine and one leaf.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ConnFabric {
    #[schemars(length(min = 1))]
    pub links: Vec<FabricLink>,
}

/// A leaf ↔ leaf link of a spine-less mesh.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct MeshLink {
    pub leaf1: IpPort,
    pub leaf2: IpPort,
}

/// `spec.mesh`: every link between two leaves.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ConnMesh {
    #[schemars(length(min = 1))]
    pub links: Vec<MeshLink>,
}

/// A switch ↔ gateway link.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct GatewayLink {
    #[serde(rename = "switch")]
    pub switch: IpPort,
    pub gateway: IpPort,
}

/// `spec.gateway`: links from one switch to a Gateway.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ConnGateway {
    #[schemars(length(min = 1))]
    pub links: Vec<GatewayLink>,
}

/// `spec.vpcLoopback`: port pairs on one switch.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ConnVpcLoopback {
    #[schemars(length(min = 1))]
    pub links: Vec<SwitchToSwitchLink>,
}

/// The switch end of an external link.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ConnExternalLink {
    #[serde(rename = "switch")]
    pub switch: BasePortName,
}

/// `spec.external`: one switch port to an external router.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ConnExternal {
    pub link: ConnExternalLink,
}

/// The switch end of a static external link.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnStaticExternalLinkSwitch {
    pub port: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^((25[0-5]|(2[0-4]|1\d|[1-9]|)\d)\.?\b){4}/([1-2]?[0-9]|3[0-2])$"
    ))]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^((25[0-5]|(2[0-4]|1\d|[1-9]|)\d)\.?\b){4}$"))]
    pub next_hop: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub vlan: Option<u16>,
}

/// Link of a static external connection.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ConnStaticExternalLink {
    #[serde(rename = "switch")]
    pub switch: ConnStaticExternalLinkSwitch,
}

/// `spec.staticExternal`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnStaticExternal {
    pub link: ConnStaticExternalLink,
    #[serde(default, rename = "withinVPC", skip_serializing_if = "Option::is_none")]
    pub within_vpc: Option<String>,
}

/// The type of a connection: which one of the `spec` fields is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConnectionType {
    Unbundled,
    Bundled,
    Eslag,
    Mclag,
    MclagDomain,
    Fabric,
    Mesh,
    Gateway,
    VpcLoopback,
    External,
    StaticExternal,
}

impl ConnectionType {
    /// The value of the `fabric.githedgehog.com/connection-type` label (`vpc-loopback`).
    pub fn label(self) -> &'static str {
        match self {
            ConnectionType::Unbundled => "unbundled",
            ConnectionType::Bundled => "bundled",
            ConnectionType::Eslag => "eslag",
            ConnectionType::Mclag => "mclag",
            ConnectionType::MclagDomain => "mclag-domain",
            ConnectionType::Fabric => "fabric",
            ConnectionType::Mesh => "mesh",
            ConnectionType::Gateway => "gateway",
            ConnectionType::VpcLoopback => "vpc-loopback",
            ConnectionType::External => "external",
            ConnectionType::StaticExternal => "static-external",
        }
    }

    /// The `spec` field name (`vpcLoopback`).
    pub fn field(self) -> &'static str {
        match self {
            ConnectionType::Unbundled => "unbundled",
            ConnectionType::Bundled => "bundled",
            ConnectionType::Eslag => "eslag",
            ConnectionType::Mclag => "mclag",
            ConnectionType::MclagDomain => "mclagDomain",
            ConnectionType::Fabric => "fabric",
            ConnectionType::Mesh => "mesh",
            ConnectionType::Gateway => "gateway",
            ConnectionType::VpcLoopback => "vpcLoopback",
            ConnectionType::External => "external",
            ConnectionType::StaticExternal => "staticExternal",
        }
    }
}

/// A connection: exactly one of the fields must be set (checked by admission, not by serde,
/// so that invalid objects read from a cluster can still be reported).
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "wiring.githedgehog.com",
    version = "v1beta1",
    kind = "Connection",
    plural = "connections",
    singular = "connection",
    shortname = "conn",
    category = "hedgehog",
    category = "wiring",
    category = "fabric",
    namespaced,
    status = "EmptyStatus",
    printcolumn(
        name = "Type",
        type_ = "string",
        json_path = ".metadata.labels.fabric\\.githedgehog\\.com/connection-type"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unbundled: Option<ConnUnbundled>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundled: Option<ConnBundled>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eslag: Option<ConnMultihomed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mclag: Option<ConnMultihomed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mclag_domain: Option<ConnMclagDomain>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fabric: Option<ConnFabric>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh: Option<ConnMesh>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<ConnGateway>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_loopback: Option<ConnVpcLoopback>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ConnExternal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_external: Option<ConnStaticExternal>,
}

/// The devices and ports one connection uses, as Hedgehog's `Endpoints()` sees them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionEndpoints {
    /// Switch names, sorted, unique.
    pub switches: Vec<String>,
    /// Server names, sorted, unique.
    pub servers: Vec<String>,
    /// Gateway names (not Hedgehog wiring objects), sorted, unique.
    pub gateways: Vec<String>,
    /// Every switch and server port `"<device>/<port>"`, in link order (duplicates kept).
    pub ports: Vec<String>,
}

impl ConnectionSpec {
    /// The set types, in field order. A valid connection has exactly one.
    pub fn types(&self) -> Vec<ConnectionType> {
        let mut out = Vec::new();
        let mut push = |set: bool, t| {
            if set {
                out.push(t)
            }
        };
        push(self.unbundled.is_some(), ConnectionType::Unbundled);
        push(self.bundled.is_some(), ConnectionType::Bundled);
        push(self.eslag.is_some(), ConnectionType::Eslag);
        push(self.mclag.is_some(), ConnectionType::Mclag);
        push(self.mclag_domain.is_some(), ConnectionType::MclagDomain);
        push(self.fabric.is_some(), ConnectionType::Fabric);
        push(self.mesh.is_some(), ConnectionType::Mesh);
        push(self.gateway.is_some(), ConnectionType::Gateway);
        push(self.vpc_loopback.is_some(), ConnectionType::VpcLoopback);
        push(self.external.is_some(), ConnectionType::External);
        push(
            self.static_external.is_some(),
            ConnectionType::StaticExternal,
        );
        out
    }

    /// The type when exactly one is set.
    pub fn connection_type(&self) -> Option<ConnectionType> {
        match self.types().as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Switches, servers, gateways and ports referenced by this connection.
    pub fn endpoints(&self) -> ConnectionEndpoints {
        let mut e = ConnectionEndpoints::default();
        fn sw(e: &mut ConnectionEndpoints, p: &str) {
            e.switches.push(device_of(p).to_string());
            e.ports.push(p.to_string());
        }
        fn srv(e: &mut ConnectionEndpoints, links: &[ServerToSwitchLink]) {
            for l in links {
                e.servers.push(device_of(&l.server.port).to_string());
                e.ports.push(l.server.port.clone());
                sw(e, &l.switch.port);
            }
        }
        if let Some(c) = &self.unbundled {
            srv(&mut e, std::slice::from_ref(&c.link));
        }
        if let Some(c) = &self.bundled {
            srv(&mut e, &c.links);
        }
        if let Some(c) = &self.eslag {
            srv(&mut e, &c.links);
        }
        if let Some(c) = &self.mclag {
            srv(&mut e, &c.links);
        }
        if let Some(c) = &self.mclag_domain {
            for l in c.peer_links.iter().chain(&c.session_links) {
                sw(&mut e, &l.switch1.port);
                sw(&mut e, &l.switch2.port);
            }
        }
        if let Some(c) = &self.fabric {
            for l in &c.links {
                sw(&mut e, &l.spine.port);
                sw(&mut e, &l.leaf.port);
            }
        }
        if let Some(c) = &self.mesh {
            for l in &c.links {
                sw(&mut e, &l.leaf1.port);
                sw(&mut e, &l.leaf2.port);
            }
        }
        if let Some(c) = &self.gateway {
            for l in &c.links {
                sw(&mut e, &l.switch.port);
                e.gateways.push(device_of(&l.gateway.port).to_string());
            }
        }
        if let Some(c) = &self.vpc_loopback {
            for l in &c.links {
                sw(&mut e, &l.switch1.port);
                sw(&mut e, &l.switch2.port);
            }
        }
        if let Some(c) = &self.external {
            sw(&mut e, &c.link.switch.port);
        }
        if let Some(c) = &self.static_external {
            sw(&mut e, &c.link.switch.port);
        }
        for v in [&mut e.switches, &mut e.servers, &mut e.gateways] {
            v.sort();
            v.dedup();
        }
        e
    }
}

/// The device part of a `"<device>/<port>"` reference (the whole string when it has no `/`).
pub fn device_of(port: &str) -> &str {
    port.split_once('/').map_or(port, |(d, _)| d)
}

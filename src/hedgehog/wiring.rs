//! Rust types of the `wiring.githedgehog.com/v1beta1` custom resources (Switch, Server,
//! Connection with every connection type, SwitchGroup, VLANNamespace, SwitchProfile,
//! ServerProfile), with field names, JSON shapes and enums exactly as upstream's CRDs.
//!
//! Types only: no validation beyond what serde enforces, no IO. Hedgehog's admission rules live
//! in `admission.rs`, the mapping from NetBox in `crate::plan`.

// kube's derive takes repeated `category`/`printcolumn` keys, which this lint misreads.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Status of every Hedgehog kind here: upstream declares an empty object (state lives in
/// `agent.githedgehog.com` Agents); unknown fields written by controllers are ignored on read.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct EmptyStatus {}

/// Role of a switch in the fabric (`spec.role`, required).
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
pub enum SwitchRole {
    #[serde(rename = "spine")]
    Spine,
    #[serde(rename = "server-leaf")]
    ServerLeaf,
    #[serde(rename = "border-leaf")]
    BorderLeaf,
    #[serde(rename = "mixed-leaf")]
    MixedLeaf,
    #[serde(rename = "virtual-edge")]
    VirtualEdge,
}

impl SwitchRole {
    /// Every role, in upstream's enum order.
    pub const ALL: [SwitchRole; 5] = [
        SwitchRole::Spine,
        SwitchRole::ServerLeaf,
        SwitchRole::BorderLeaf,
        SwitchRole::MixedLeaf,
        SwitchRole::VirtualEdge,
    ];

    /// The wire value (`server-leaf`).
    pub fn as_str(self) -> &'static str {
        match self {
            SwitchRole::Spine => "spine",
            SwitchRole::ServerLeaf => "server-leaf",
            SwitchRole::BorderLeaf => "border-leaf",
            SwitchRole::MixedLeaf => "mixed-leaf",
            SwitchRole::VirtualEdge => "virtual-edge",
        }
    }

    /// Parses a wire value.
    pub fn parse(s: &str) -> Option<SwitchRole> {
        SwitchRole::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Spines are the only non-leaf role.
    pub fn is_leaf(self) -> bool {
        self != SwitchRole::Spine
    }
}

/// Redundancy type of a switch group (`spec.redundancy.type`).
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RedundancyType {
    /// Deprecated upstream, still accepted.
    Mclag,
    Eslag,
}

impl RedundancyType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            RedundancyType::Mclag => "mclag",
            RedundancyType::Eslag => "eslag",
        }
    }

    /// Parses a wire value.
    pub fn parse(s: &str) -> Option<RedundancyType> {
        match s {
            "mclag" => Some(RedundancyType::Mclag),
            "eslag" => Some(RedundancyType::Eslag),
            _ => None,
        }
    }
}

/// Port FEC mode (`spec.portFECs` values).
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PortFec {
    Rs,
    Fc,
    Auto,
    Disabled,
}

/// `spec.redundancy` of a Switch: group and type are both set or both empty.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwitchRedundancy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<RedundancyType>,
}

impl SwitchRedundancy {
    /// True when neither group nor type is set (upstream writes `redundancy: {}`).
    pub fn is_empty(&self) -> bool {
        self.group.is_none() && self.type_.is_none()
    }
}

/// `spec.boot`: how the switch is identified when it boots.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwitchBoot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

impl SwitchBoot {
    /// True when neither MAC nor serial is set.
    pub fn is_empty(&self) -> bool {
        self.mac.is_none() && self.serial.is_none()
    }
}

/// `spec.ecmp`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwitchEcmp {
    #[serde(default, rename = "roceQPN", skip_serializing_if = "Option::is_none")]
    pub roce_qpn: Option<bool>,
}

/// `spec.linkFlapErrDisable`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkFlapErrDisable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::flap_threshold")]
    pub flap_threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::recovery_interval")]
    pub recovery_interval: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::sampling_interval")]
    pub sampling_interval: Option<u32>,
}

/// A switch of the fabric.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "wiring.githedgehog.com",
    version = "v1beta1",
    kind = "Switch",
    plural = "switches",
    singular = "switch",
    shortname = "sw",
    category = "hedgehog",
    category = "wiring",
    category = "fabric",
    namespaced,
    status = "EmptyStatus",
    printcolumn(name = "Profile", type_ = "string", json_path = ".spec.profile"),
    printcolumn(name = "Role", type_ = "string", json_path = ".spec.role"),
    printcolumn(name = "Descr", type_ = "string", json_path = ".spec.description"),
    printcolumn(name = "Groups", type_ = "string", json_path = ".spec.groups"),
    printcolumn(
        name = "Redundancy",
        type_ = "string",
        json_path = ".spec.redundancy",
        priority = 1
    ),
    printcolumn(
        name = "Boot",
        type_ = "string",
        json_path = ".spec.boot",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SwitchSpec {
    pub role: SwitchRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redundancy: Option<SwitchRedundancy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vlan_namespaces: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::int32")]
    pub asn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, rename = "vtepIP", skip_serializing_if = "Option::is_none")]
    pub vtep_ip: Option<String>,
    #[serde(
        default,
        rename = "protocolIP",
        skip_serializing_if = "Option::is_none"
    )]
    pub protocol_ip: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub port_group_speeds: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub port_speeds: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub port_breakouts: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub port_auto_negs: BTreeMap<String, bool>,
    #[serde(
        default,
        rename = "portFECs",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub port_fecs: BTreeMap<String, PortFec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot: Option<SwitchBoot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_all_ports: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roce: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecmp: Option<SwitchEcmp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_flap_err_disable: Option<LinkFlapErrDisable>,
}

/// A server attached to the fabric.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "wiring.githedgehog.com",
    version = "v1beta1",
    kind = "Server",
    plural = "servers",
    singular = "server",
    shortname = "srv",
    category = "hedgehog",
    category = "wiring",
    category = "fabric",
    namespaced,
    status = "EmptyStatus",
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "Descr", type_ = "string", json_path = ".spec.description"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ServerSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// A group of switches (marker object referenced by `Switch.spec.groups` and `redundancy.group`).
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "wiring.githedgehog.com",
    version = "v1beta1",
    kind = "SwitchGroup",
    plural = "switchgroups",
    singular = "switchgroup",
    shortname = "sg",
    category = "hedgehog",
    category = "wiring",
    category = "fabric",
    namespaced,
    status = "EmptyStatus",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
pub struct SwitchGroupSpec {}

/// An inclusive VLAN range.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
pub struct VlanRange {
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub from: u16,
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub to: u16,
}

/// A set of VLAN ranges switches and VPCs draw from.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "wiring.githedgehog.com",
    version = "v1beta1",
    kind = "VLANNamespace",
    plural = "vlannamespaces",
    singular = "vlannamespace",
    shortname = "vlanns",
    category = "hedgehog",
    category = "wiring",
    category = "fabric",
    namespaced,
    status = "EmptyStatus",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
pub struct VLANNamespaceSpec {
    #[schemars(length(min = 1, max = 20))]
    pub ranges: Vec<VlanRange>,
}

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

/// Features a switch profile supports.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwitchProfileFeatures {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subinterfaces: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l2vni: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l3vni: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roce: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mclag: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eslag: Option<bool>,
    #[serde(
        default,
        rename = "ecmpRoCEQPN",
        skip_serializing_if = "Option::is_none"
    )]
    pub ecmp_roce_qpn: Option<bool>,
}

/// `spec.config` of a switch profile.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwitchProfileConfig {
    #[serde(
        default,
        rename = "maxPathsEBGP",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "crate::hedgehog::schema::int32")]
    pub max_paths_ebgp: Option<u32>,
}

/// One port of a switch profile.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwitchProfilePort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nos: Option<String>,
    #[serde(
        default,
        rename = "baseNOSName",
        skip_serializing_if = "Option::is_none"
    )]
    pub base_nos_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onie_port_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
}

/// A port group of a switch profile.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct SwitchProfilePortGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nos: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// Supported speeds of a port profile.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct SwitchProfilePortProfileSpeed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported: Vec<String>,
}

/// One breakout mode of a port profile.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct SwitchProfilePortProfileBreakoutMode {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offsets: Vec<String>,
}

/// Breakout modes of a port profile.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct SwitchProfilePortProfileBreakout {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub supported: BTreeMap<String, SwitchProfilePortProfileBreakoutMode>,
}

/// A port profile (speeds, breakouts, auto-negotiation).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwitchProfilePortProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<SwitchProfilePortProfileSpeed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakout: Option<SwitchProfilePortProfileBreakout>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_neg_allowed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_neg_default: Option<bool>,
}

/// A pipeline of a switch profile.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwitchProfilePipeline {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub max_ports: Option<u32>,
}

/// Capabilities of a switch model (catalog object shipped with Hedgehog; never planned).
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "wiring.githedgehog.com",
    version = "v1beta1",
    kind = "SwitchProfile",
    plural = "switchprofiles",
    singular = "switchprofile",
    shortname = "sp",
    category = "hedgehog",
    category = "wiring",
    category = "fabric",
    namespaced,
    status = "EmptyStatus",
    printcolumn(
        name = "DisplayName",
        type_ = "string",
        json_path = ".spec.displayName"
    ),
    printcolumn(name = "OtherNames", type_ = "string", json_path = ".spec.otherNames"),
    printcolumn(
        name = "Ports",
        type_ = "string",
        json_path = ".metadata.annotations.fabric\\.githedgehog\\.com/ports"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SwitchProfileSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_silicon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<SwitchProfileFeatures>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<SwitchProfileConfig>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ports: BTreeMap<String, SwitchProfilePort>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub port_groups: BTreeMap<String, SwitchProfilePortGroup>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub port_profiles: BTreeMap<String, SwitchProfilePortProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nos_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pipelines: BTreeMap<String, SwitchProfilePipeline>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub max_ports: Option<u32>,
}

/// A NIC port of a server profile.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ServerProfileNicPort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A NIC of a server profile.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ServerProfileNic {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ServerProfileNicPort>,
}

/// Informational server model (catalog object; never planned).
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "wiring.githedgehog.com",
    version = "v1beta1",
    kind = "ServerProfile",
    plural = "serverprofiles",
    singular = "serverprofile",
    category = "hedgehog",
    category = "wiring",
    category = "fabric",
    namespaced,
    status = "EmptyStatus"
)]
pub struct ServerProfileSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nics: Vec<ServerProfileNic>,
}

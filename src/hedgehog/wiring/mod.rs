//! Rust types of the `wiring.githedgehog.com/v1beta1` custom resources (Switch, Server,
//! Connection with every connection type, SwitchGroup, VLANNamespace, SwitchProfile,
//! ServerProfile), with field names, JSON shapes and enums exactly as upstream's CRDs.
//!
//! This file holds the switch, server, group and VLAN namespace kinds; `connection.rs` the
//! Connection kind and its link types, `profile.rs` the switch and server profiles.
//!
//! Types only: no validation beyond what serde enforces, no IO. Hedgehog's admission rules live
//! in `admission.rs`, the mapping from NetBox in `crate::plan`.

// kube's derive takes repeated `category`/`printcolumn` keys, which this lint misreads.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod connection;
mod profile;

pub use connection::*;
pub use profile::*;

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

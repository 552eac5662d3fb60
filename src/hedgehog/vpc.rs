//! Rust types of the `vpc.githedgehog.com/v1beta1` custom resources (VPC, VPCAttachment,
//! VPCPeering, IPv4Namespace, External, ExternalAttachment, ExternalPeering), field for field as
//! upstream's CRDs.
//!
//! Types only: no defaulting (Hedgehog's mutating webhook does that), no validation, no IO.

// kube's derive takes repeated `category`/`printcolumn` keys, which this lint misreads.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::wiring::EmptyStatus;

/// A DHCP address range.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct VpcDhcpRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// A route advertised over DHCP.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct VpcDhcpRoute {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// DHCP options of a subnet (`interfaceMTU` and `leaseTimeSeconds` are required upstream).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcDhcpOptions {
    #[serde(default, rename = "pxeURL", skip_serializing_if = "Option::is_none")]
    pub pxe_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_servers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_servers: Vec<String>,
    #[serde(rename = "interfaceMTU")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub interface_mtu: u16,
    #[schemars(schema_with = "crate::hedgehog::schema::int32")]
    pub lease_time_seconds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_default_route: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub advertised_routes: Vec<VpcDhcpRoute>,
}

/// A static DHCP lease.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct VpcDhcpStatic {
    pub ip: String,
}

/// DHCP of one VPC subnet.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcDhcp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<String>,
    #[serde(default, rename = "relayVPC", skip_serializing_if = "Option::is_none")]
    pub relay_vpc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<VpcDhcpRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<VpcDhcpOptions>,
    #[serde(default, rename = "static", skip_serializing_if = "BTreeMap::is_empty")]
    pub static_: BTreeMap<String, VpcDhcpStatic>,
}

/// One subnet of a VPC.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcSubnet {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp: Option<VpcDhcp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub vlan: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolated: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted: Option<bool>,
    #[serde(default, rename = "hostBGP", skip_serializing_if = "Option::is_none")]
    pub host_bgp: Option<bool>,
}

/// A static route of a VPC.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcStaticRoute {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next_hops: Vec<String>,
}

/// A virtual private cloud: subnets with VLANs, DHCP and isolation (name ≤ 11 characters).
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "vpc.githedgehog.com",
    version = "v1beta1",
    kind = "VPC",
    plural = "vpcs",
    singular = "vpc",
    category = "hedgehog",
    category = "fabric",
    namespaced,
    status = "EmptyStatus",
    printcolumn(name = "IPv4NS", type_ = "string", json_path = ".spec.ipv4Namespace"),
    printcolumn(name = "VLANNS", type_ = "string", json_path = ".spec.vlanNamespace"),
    printcolumn(
        name = "Subnets",
        type_ = "string",
        json_path = ".spec.subnets",
        priority = 1
    ),
    printcolumn(
        name = "VNI",
        type_ = "string",
        json_path = ".status.vni",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct VPCSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub subnets: BTreeMap<String, VpcSubnet>,
    #[serde(
        default,
        rename = "ipv4Namespace",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_isolated: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_restricted: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permit: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_routes: Vec<VpcStaticRoute>,
}

/// Attaches a VPC subnet to a server-facing connection.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "vpc.githedgehog.com",
    version = "v1beta1",
    kind = "VPCAttachment",
    plural = "vpcattachments",
    singular = "vpcattachment",
    shortname = "vpcattach",
    category = "hedgehog",
    category = "fabric",
    namespaced,
    status = "EmptyStatus",
    printcolumn(name = "VPCSUBNET", type_ = "string", json_path = ".spec.subnet"),
    printcolumn(name = "Connection", type_ = "string", json_path = ".spec.connection"),
    printcolumn(name = "NativeVLAN", type_ = "string", json_path = ".spec.nativeVLAN"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct VPCAttachmentSpec {
    /// `"<vpc>/<subnet>"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    #[serde(
        default,
        rename = "nativeVLAN",
        skip_serializing_if = "Option::is_none"
    )]
    pub native_vlan: Option<bool>,
}

/// The subnets of one VPC in a peering (empty = all).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct VpcPeer {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1, max = 10))]
    pub subnets: Vec<String>,
}

/// Peers two VPCs.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "vpc.githedgehog.com",
    version = "v1beta1",
    kind = "VPCPeering",
    plural = "vpcpeerings",
    singular = "vpcpeering",
    shortname = "vpcpeer",
    category = "hedgehog",
    category = "fabric",
    namespaced,
    status = "EmptyStatus",
    printcolumn(
        name = "VPC1",
        type_ = "string",
        json_path = ".metadata.labels.fabric\\.githedgehog\\.com/vpc1"
    ),
    printcolumn(
        name = "VPC2",
        type_ = "string",
        json_path = ".metadata.labels.fabric\\.githedgehog\\.com/vpc2"
    ),
    printcolumn(name = "Remote", type_ = "string", json_path = ".spec.remote"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct VPCPeeringSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1, max = 10))]
    pub permit: Vec<BTreeMap<String, VpcPeer>>,
}

/// A pool of IPv4 subnets VPCs draw from (name ≤ 11 characters).
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "vpc.githedgehog.com",
    version = "v1beta1",
    kind = "IPv4Namespace",
    plural = "ipv4namespaces",
    singular = "ipv4namespace",
    shortname = "ipns",
    category = "hedgehog",
    category = "fabric",
    namespaced,
    status = "EmptyStatus",
    printcolumn(name = "Subnets", type_ = "string", json_path = ".spec.subnets"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
pub struct IPv4NamespaceSpec {
    #[schemars(length(min = 1, max = 20))]
    pub subnets: Vec<String>,
}

/// Prefixes of a static external.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ExternalStaticSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<String>,
}

/// An external network reached over BGP or static routes (name ≤ 11 characters).
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "vpc.githedgehog.com",
    version = "v1beta1",
    kind = "External",
    plural = "externals",
    singular = "external",
    shortname = "ext",
    category = "hedgehog",
    category = "fabric",
    category = "external",
    namespaced,
    status = "EmptyStatus",
    printcolumn(name = "IPv4NS", type_ = "string", json_path = ".spec.ipv4Namespace"),
    printcolumn(
        name = "InComm",
        type_ = "string",
        json_path = ".spec.inboundCommunity"
    ),
    printcolumn(
        name = "OutComm",
        type_ = "string",
        json_path = ".spec.outboundCommunity"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSpec {
    #[serde(
        default,
        rename = "ipv4Namespace",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_community: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_community: Option<String>,
    #[serde(default, rename = "static", skip_serializing_if = "Option::is_none")]
    pub static_: Option<ExternalStaticSpec>,
}

/// The switch side of an external attachment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ExternalAttachmentSwitch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub vlan: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// The BGP neighbor of an external attachment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ExternalAttachmentNeighbor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::int32")]
    pub asn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// A static (non-BGP) external attachment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalAttachmentStatic {
    #[serde(rename = "remoteIP")]
    pub remote_ip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub vlan: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<bool>,
}

/// TCP flag filters of an ACL statement.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AclTcpFilters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub established: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_ack: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_fin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_psh: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_rst: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_syn: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_urg: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psh: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rst: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syn: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urg: Option<bool>,
}

/// One inbound ACL statement.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AclStatement {
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub seq: u32,
    pub action: String,
    pub protocol: String,
    pub src_prefix: String,
    pub dst_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub port_range_begin: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub port_range_end: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_filters: Option<AclTcpFilters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub icmp_type: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::hedgehog::schema::integer")]
    pub icmp_code: Option<u8>,
}

/// Inbound ACL of an external attachment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ExternalAttachmentAcl {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<AclStatement>,
}

/// Attaches an External to an `external` connection (`switch` and `neighbor` are required).
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "vpc.githedgehog.com",
    version = "v1beta1",
    kind = "ExternalAttachment",
    plural = "externalattachments",
    singular = "externalattachment",
    shortname = "extattach",
    category = "hedgehog",
    category = "fabric",
    category = "external",
    namespaced,
    status = "EmptyStatus",
    printcolumn(name = "External", type_ = "string", json_path = ".spec.external"),
    printcolumn(name = "Connection", type_ = "string", json_path = ".spec.connection"),
    printcolumn(
        name = "SwVLAN",
        type_ = "string",
        json_path = ".spec.switch.vlan",
        priority = 1
    ),
    printcolumn(
        name = "SwIP",
        type_ = "string",
        json_path = ".spec.switch.ip",
        priority = 1
    ),
    printcolumn(
        name = "NeighASN",
        type_ = "string",
        json_path = ".spec.neighbor.asn",
        priority = 1
    ),
    printcolumn(
        name = "NeighIP",
        type_ = "string",
        json_path = ".spec.neighbor.ip",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalAttachmentSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    #[serde(rename = "switch")]
    pub switch: ExternalAttachmentSwitch,
    pub neighbor: ExternalAttachmentNeighbor,
    #[serde(default, rename = "static", skip_serializing_if = "Option::is_none")]
    pub static_: Option<ExternalAttachmentStatic>,
    #[serde(
        default,
        rename = "inboundACL",
        skip_serializing_if = "Option::is_none"
    )]
    pub inbound_acl: Option<ExternalAttachmentAcl>,
}

/// The VPC side of an external peering.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ExternalPeeringVpc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
}

/// A prefix permitted from an external.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ExternalPeeringPrefix {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// The external side of an external peering.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ExternalPeeringExternal {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<ExternalPeeringPrefix>,
}

/// What an external peering permits.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ExternalPeeringPermit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<ExternalPeeringVpc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalPeeringExternal>,
}

/// Peers a VPC with an External.
#[derive(
    CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
)]
#[kube(
    group = "vpc.githedgehog.com",
    version = "v1beta1",
    kind = "ExternalPeering",
    plural = "externalpeerings",
    singular = "externalpeering",
    shortname = "extpeering",
    shortname = "extpeer",
    category = "hedgehog",
    category = "fabric",
    category = "external",
    namespaced,
    status = "EmptyStatus",
    printcolumn(name = "VPC", type_ = "string", json_path = ".spec.permit.vpc.name"),
    printcolumn(
        name = "VPCSubnets",
        type_ = "string",
        json_path = ".spec.permit.vpc.subnets",
        priority = 1
    ),
    printcolumn(
        name = "External",
        type_ = "string",
        json_path = ".spec.permit.external.name"
    ),
    printcolumn(
        name = "ExtPrefixes",
        type_ = "string",
        json_path = ".spec.permit.external.prefixes",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
pub struct ExternalPeeringSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permit: Option<ExternalPeeringPermit>,
}

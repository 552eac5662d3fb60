//! The kind registry: the 14 Hedgehog kinds fabsync knows, with group, version, plural, short
//! names, categories, scope and the reference order used to sequence writes.
//!
//! One table, used by the plan, the CLI, the cluster code and the admission module so that no
//! plural (`switches`, never `switchs`) or ordering is spelled twice. No IO.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use super::{vpc, wiring};

/// A Hedgehog kind fabsync understands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Kind {
    SwitchProfile,
    ServerProfile,
    VLANNamespace,
    IPv4Namespace,
    SwitchGroup,
    Switch,
    Server,
    Connection,
    VPC,
    VPCAttachment,
    VPCPeering,
    External,
    ExternalAttachment,
    ExternalPeering,
}

/// `wiring.githedgehog.com`.
pub const WIRING_GROUP: &str = "wiring.githedgehog.com";
/// `vpc.githedgehog.com`.
pub const VPC_GROUP: &str = "vpc.githedgehog.com";
/// The only served version of both groups.
pub const VERSION: &str = "v1beta1";

impl Kind {
    /// Every kind, in reference order (creates go in this order, deletes in reverse).
    pub const ALL: [Kind; 14] = [
        Kind::SwitchProfile,
        Kind::ServerProfile,
        Kind::VLANNamespace,
        Kind::IPv4Namespace,
        Kind::SwitchGroup,
        Kind::Switch,
        Kind::Server,
        Kind::Connection,
        Kind::VPC,
        Kind::VPCAttachment,
        Kind::VPCPeering,
        Kind::External,
        Kind::ExternalAttachment,
        Kind::ExternalPeering,
    ];

    /// The `kind` string (`VLANNamespace`).
    pub fn kind(self) -> &'static str {
        match self {
            Kind::SwitchProfile => "SwitchProfile",
            Kind::ServerProfile => "ServerProfile",
            Kind::VLANNamespace => "VLANNamespace",
            Kind::IPv4Namespace => "IPv4Namespace",
            Kind::SwitchGroup => "SwitchGroup",
            Kind::Switch => "Switch",
            Kind::Server => "Server",
            Kind::Connection => "Connection",
            Kind::VPC => "VPC",
            Kind::VPCAttachment => "VPCAttachment",
            Kind::VPCPeering => "VPCPeering",
            Kind::External => "External",
            Kind::ExternalAttachment => "ExternalAttachment",
            Kind::ExternalPeering => "ExternalPeering",
        }
    }

    /// API group.
    pub fn group(self) -> &'static str {
        match self {
            Kind::SwitchProfile
            | Kind::ServerProfile
            | Kind::VLANNamespace
            | Kind::SwitchGroup
            | Kind::Switch
            | Kind::Server
            | Kind::Connection => WIRING_GROUP,
            Kind::IPv4Namespace
            | Kind::VPC
            | Kind::VPCAttachment
            | Kind::VPCPeering
            | Kind::External
            | Kind::ExternalAttachment
            | Kind::ExternalPeering => VPC_GROUP,
        }
    }

    /// API version (`v1beta1`).
    pub fn version(self) -> &'static str {
        VERSION
    }

    /// `group/version`.
    pub fn api_version(self) -> &'static str {
        match self.group() {
            WIRING_GROUP => "wiring.githedgehog.com/v1beta1",
            _ => "vpc.githedgehog.com/v1beta1",
        }
    }

    /// The kube `ApiResource` for dynamic requests of this kind.
    pub fn api_resource(self) -> kube::core::ApiResource {
        kube::core::ApiResource {
            group: self.group().into(),
            version: self.version().into(),
            api_version: self.api_version().into(),
            kind: self.kind().into(),
            plural: self.plural().into(),
        }
    }

    /// Resource plural (`switches`).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::SwitchProfile => "switchprofiles",
            Kind::ServerProfile => "serverprofiles",
            Kind::VLANNamespace => "vlannamespaces",
            Kind::IPv4Namespace => "ipv4namespaces",
            Kind::SwitchGroup => "switchgroups",
            Kind::Switch => "switches",
            Kind::Server => "servers",
            Kind::Connection => "connections",
            Kind::VPC => "vpcs",
            Kind::VPCAttachment => "vpcattachments",
            Kind::VPCPeering => "vpcpeerings",
            Kind::External => "externals",
            Kind::ExternalAttachment => "externalattachments",
            Kind::ExternalPeering => "externalpeerings",
        }
    }

    /// Singular (lowercase kind).
    pub fn singular(self) -> &'static str {
        match self {
            Kind::SwitchProfile => "switchprofile",
            Kind::ServerProfile => "serverprofile",
            Kind::VLANNamespace => "vlannamespace",
            Kind::IPv4Namespace => "ipv4namespace",
            Kind::SwitchGroup => "switchgroup",
            Kind::Switch => "switch",
            Kind::Server => "server",
            Kind::Connection => "connection",
            Kind::VPC => "vpc",
            Kind::VPCAttachment => "vpcattachment",
            Kind::VPCPeering => "vpcpeering",
            Kind::External => "external",
            Kind::ExternalAttachment => "externalattachment",
            Kind::ExternalPeering => "externalpeering",
        }
    }

    /// Short names as upstream declares them.
    pub fn short_names(self) -> &'static [&'static str] {
        match self {
            Kind::SwitchProfile => &["sp"],
            Kind::ServerProfile => &[],
            Kind::VLANNamespace => &["vlanns"],
            Kind::IPv4Namespace => &["ipns"],
            Kind::SwitchGroup => &["sg"],
            Kind::Switch => &["sw"],
            Kind::Server => &["srv"],
            Kind::Connection => &["conn"],
            Kind::VPC => &[],
            Kind::VPCAttachment => &["vpcattach"],
            Kind::VPCPeering => &["vpcpeer"],
            Kind::External => &["ext"],
            Kind::ExternalAttachment => &["extattach"],
            Kind::ExternalPeering => &["extpeering", "extpeer"],
        }
    }

    /// Categories (`kubectl get hedgehog`).
    pub fn categories(self) -> &'static [&'static str] {
        match self {
            Kind::SwitchProfile
            | Kind::ServerProfile
            | Kind::VLANNamespace
            | Kind::SwitchGroup
            | Kind::Switch
            | Kind::Server
            | Kind::Connection => &["hedgehog", "wiring", "fabric"],
            Kind::IPv4Namespace | Kind::VPC | Kind::VPCAttachment | Kind::VPCPeering => {
                &["hedgehog", "fabric"]
            }
            Kind::External | Kind::ExternalAttachment | Kind::ExternalPeering => {
                &["hedgehog", "fabric", "external"]
            }
        }
    }

    /// Every kind is namespaced (Hedgehog's webhooks additionally require `default`).
    pub fn namespaced(self) -> bool {
        true
    }

    /// Reference-order rank: an object may only reference objects of a lower rank, so creates
    /// run in ascending rank and deletes in descending rank.
    pub fn rank(self) -> u8 {
        match self {
            Kind::SwitchProfile | Kind::ServerProfile => 0,
            Kind::VLANNamespace | Kind::IPv4Namespace | Kind::SwitchGroup => 1,
            Kind::Switch | Kind::Server => 2,
            Kind::Connection => 3,
            Kind::VPC => 4,
            Kind::VPCAttachment | Kind::VPCPeering => 5,
            Kind::External => 6,
            Kind::ExternalAttachment | Kind::ExternalPeering => 7,
        }
    }

    /// Whether the plan produces objects of this kind (profiles are shipped by Hedgehog).
    pub fn is_planned(self) -> bool {
        !matches!(self, Kind::SwitchProfile | Kind::ServerProfile)
    }

    /// Maximum object name length Hedgehog accepts (11 for VPC, IPv4Namespace, External).
    pub fn max_name_len(self) -> usize {
        match self {
            Kind::VPC | Kind::IPv4Namespace | Kind::External => 11,
            _ => 253,
        }
    }

    /// Looks a kind up by its `kind` string.
    pub fn from_kind(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.kind() == kind)
    }

    /// Looks a kind up by group and plural.
    pub fn from_plural(group: &str, plural: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.group() == group && k.plural() == plural)
    }

    /// Looks a kind up by `apiVersion` and `kind`.
    pub fn from_api_version_kind(api_version: &str, kind: &str) -> Option<Kind> {
        Kind::from_kind(kind).filter(|k| k.api_version() == api_version)
    }

    /// The CRD generated from our Rust type (generated once per process: every simulated
    /// cluster installs all of them).
    pub fn crd(self) -> CustomResourceDefinition {
        static CRDS: std::sync::OnceLock<Vec<CustomResourceDefinition>> =
            std::sync::OnceLock::new();
        let all = CRDS.get_or_init(|| Kind::ALL.into_iter().map(Kind::generate_crd).collect());
        let i = Kind::ALL
            .into_iter()
            .position(|k| k == self)
            .expect("every kind is in Kind::ALL");
        all[i].clone()
    }

    fn generate_crd(self) -> CustomResourceDefinition {
        match self {
            Kind::SwitchProfile => wiring::SwitchProfile::crd(),
            Kind::ServerProfile => wiring::ServerProfile::crd(),
            Kind::VLANNamespace => wiring::VLANNamespace::crd(),
            Kind::IPv4Namespace => vpc::IPv4Namespace::crd(),
            Kind::SwitchGroup => wiring::SwitchGroup::crd(),
            Kind::Switch => wiring::Switch::crd(),
            Kind::Server => wiring::Server::crd(),
            Kind::Connection => wiring::Connection::crd(),
            Kind::VPC => vpc::VPC::crd(),
            Kind::VPCAttachment => vpc::VPCAttachment::crd(),
            Kind::VPCPeering => vpc::VPCPeering::crd(),
            Kind::External => vpc::External::crd(),
            Kind::ExternalAttachment => vpc::ExternalAttachment::crd(),
            Kind::ExternalPeering => vpc::ExternalPeering::crd(),
        }
    }

    /// The CRD name (`switches.wiring.githedgehog.com`).
    pub fn crd_name(self) -> String {
        format!("{}.{}", self.plural(), self.group())
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

/// Every CRD in reference order.
pub fn all_crds() -> Vec<CustomResourceDefinition> {
    Kind::ALL.into_iter().map(Kind::crd).collect()
}

/// Every CRD as multi-document YAML (what `fabsync crds` prints).
pub fn crds_yaml() -> Result<String, serde_saphyr::SerializeError> {
    let mut out = String::new();
    for crd in all_crds() {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&crd)?);
    }
    Ok(out)
}

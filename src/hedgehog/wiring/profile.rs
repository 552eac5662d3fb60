//! The SwitchProfile and ServerProfile kinds of `wiring.githedgehog.com/v1beta1`: ports, port
//! groups, breakouts, speeds, pipelines and NICs, as upstream declares them.
//!
//! Types, plus the one lookup Hedgehog's switch webhook does in them that fabsync repeats:
//! whether a port supports a breakout mode ([`SwitchProfileSpec::breakout_problem`]). No IO.

// kube's derive takes repeated `category`/`printcolumn` keys, which this lint misreads.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::EmptyStatus;

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

/// Why a switch profile refuses a port breakout, as Hedgehog's switch webhook decides it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BreakoutProblem {
    /// The port is not one of the profile's ports.
    UnknownPort,
    /// The port's port profile has no breakout modes (or the port has no port profile).
    NoBreakouts,
    /// The mode is not one the port supports; these are.
    Unsupported(Vec<String>),
}

impl std::fmt::Display for BreakoutProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BreakoutProblem::UnknownPort => {
                f.write_str("the port is not a port of the switch profile")
            }
            BreakoutProblem::NoBreakouts => {
                f.write_str("the switch profile gives the port no breakout modes")
            }
            BreakoutProblem::Unsupported(modes) => {
                write!(
                    f,
                    "the switch profile supports only {} on the port",
                    modes.join(", ")
                )
            }
        }
    }
}

impl SwitchProfileSpec {
    /// True when the profile lists its ports. Only such a profile can say which breakouts a
    /// port supports (the simulated cluster's placeholder profiles list none).
    pub fn has_ports(&self) -> bool {
        !self.ports.is_empty()
    }

    /// Why `mode` is not a breakout of `port` on this profile, or `None` when it is: the port
    /// must exist, its port profile must have breakouts, and the mode must be one of them.
    pub fn breakout_problem(&self, port: &str, mode: &str) -> Option<BreakoutProblem> {
        let p = match self.ports.get(port) {
            Some(p) => p,
            None => return Some(BreakoutProblem::UnknownPort),
        };
        let breakout = p
            .profile
            .as_deref()
            .and_then(|name| self.port_profiles.get(name))
            .and_then(|pp| pp.breakout.as_ref());
        match breakout {
            None => Some(BreakoutProblem::NoBreakouts),
            Some(b) if b.supported.contains_key(mode) => None,
            Some(b) => Some(BreakoutProblem::Unsupported(
                b.supported.keys().cloned().collect(),
            )),
        }
    }
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

//! Parses a Hedgehog wiring diagram (multi-document YAML as `hhfab` reads it) into typed objects.
//!
//! Parsing only: no validation of references (the importer and admission do that), no IO (the
//! caller reads the file).

use std::collections::BTreeSet;

use serde_json::Value;

use super::kinds::Kind;
use super::{vpc, wiring};

/// Why a wiring diagram could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiagramError {
    #[error("wiring diagram is not valid YAML: {0}")]
    Yaml(String),
    #[error("wiring diagram document {index}: {reason}")]
    Document { index: usize, reason: String },
    #[error("wiring diagram document {index}: {kind} {name:?}: field {field}: {reason}")]
    Object {
        index: usize,
        kind: String,
        name: String,
        field: String,
        reason: String,
    },
    #[error("wiring diagram declares {kind} {name:?} twice (documents {first} and {second})")]
    Duplicate {
        kind: String,
        name: String,
        first: usize,
        second: usize,
    },
}

/// An object of the diagram that fabsync does not import, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub reason: &'static str,
}

/// The typed content of a wiring diagram, each list in document order.
#[derive(Clone, Debug, Default)]
pub struct Diagram {
    pub vlan_namespaces: Vec<wiring::VLANNamespace>,
    pub ipv4_namespaces: Vec<vpc::IPv4Namespace>,
    pub switch_groups: Vec<wiring::SwitchGroup>,
    pub switches: Vec<wiring::Switch>,
    pub servers: Vec<wiring::Server>,
    pub connections: Vec<wiring::Connection>,
    pub vpcs: Vec<vpc::VPC>,
    pub vpc_attachments: Vec<vpc::VPCAttachment>,
    pub vpc_peerings: Vec<vpc::VPCPeering>,
    pub externals: Vec<vpc::External>,
    pub external_attachments: Vec<vpc::ExternalAttachment>,
    pub external_peerings: Vec<vpc::ExternalPeering>,
    /// Objects present but not imported (profiles, gateway API objects, unknown kinds).
    pub skipped: Vec<Skipped>,
}

fn field_of(err: &serde_json::Error) -> String {
    // serde_json reports "missing field `role`" / "unknown variant `x`"; the message is kept whole.
    err.to_string()
}

impl Diagram {
    /// Parses multi-document YAML. Empty documents (comments only) are ignored.
    pub fn parse(text: &str) -> Result<Diagram, DiagramError> {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(text).map_err(|e| DiagramError::Yaml(e.to_string()))?;
        let mut d = Diagram::default();
        let mut seen: std::collections::BTreeMap<(String, String), usize> = Default::default();
        for (index, doc) in docs.into_iter().enumerate() {
            let index = index + 1;
            if doc.is_null() {
                continue;
            }
            let Value::Object(map) = &doc else {
                return Err(DiagramError::Document {
                    index,
                    reason: "is not a mapping".into(),
                });
            };
            let str_field = |k: &str| map.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let api_version = str_field("apiVersion");
            let kind_s = str_field("kind");
            let name = map
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if api_version.is_empty() || kind_s.is_empty() {
                return Err(DiagramError::Document {
                    index,
                    reason: "has no apiVersion or kind".into(),
                });
            }
            let Some(kind) = Kind::from_api_version_kind(&api_version, &kind_s) else {
                d.skipped.push(Skipped {
                    api_version,
                    kind: kind_s,
                    name,
                    reason: "not a wiring.githedgehog.com or vpc.githedgehog.com v1beta1 kind fabsync manages",
                });
                continue;
            };
            if !kind.is_planned() {
                d.skipped.push(Skipped {
                    api_version,
                    kind: kind_s,
                    name,
                    reason: "profiles are shipped with Hedgehog, not modelled in NetBox",
                });
                continue;
            }
            if name.is_empty() {
                return Err(DiagramError::Object {
                    index,
                    kind: kind_s,
                    name,
                    field: "metadata.name".into(),
                    reason: "is missing".into(),
                });
            }
            if let Some(first) = seen.insert((kind_s.clone(), name.clone()), index) {
                return Err(DiagramError::Duplicate {
                    kind: kind_s,
                    name,
                    first,
                    second: index,
                });
            }
            let obj_err = |e: serde_json::Error| DiagramError::Object {
                index,
                kind: kind_s.clone(),
                name: name.clone(),
                field: "spec".into(),
                reason: field_of(&e),
            };
            macro_rules! push {
                ($list:ident, $ty:ty) => {
                    d.$list
                        .push(serde_json::from_value::<$ty>(doc).map_err(obj_err)?)
                };
            }
            match kind {
                Kind::VLANNamespace => push!(vlan_namespaces, wiring::VLANNamespace),
                Kind::IPv4Namespace => push!(ipv4_namespaces, vpc::IPv4Namespace),
                Kind::SwitchGroup => push!(switch_groups, wiring::SwitchGroup),
                Kind::Switch => push!(switches, wiring::Switch),
                Kind::Server => push!(servers, wiring::Server),
                Kind::Connection => push!(connections, wiring::Connection),
                Kind::VPC => push!(vpcs, vpc::VPC),
                Kind::VPCAttachment => push!(vpc_attachments, vpc::VPCAttachment),
                Kind::VPCPeering => push!(vpc_peerings, vpc::VPCPeering),
                Kind::External => push!(externals, vpc::External),
                Kind::ExternalAttachment => push!(external_attachments, vpc::ExternalAttachment),
                Kind::ExternalPeering => push!(external_peerings, vpc::ExternalPeering),
                Kind::SwitchProfile | Kind::ServerProfile => {}
            }
        }
        Ok(d)
    }

    /// Names of every switch in the diagram.
    pub fn switch_names(&self) -> BTreeSet<String> {
        self.switches
            .iter()
            .filter_map(|s| s.metadata.name.clone())
            .collect()
    }

    /// Number of imported objects.
    pub fn len(&self) -> usize {
        self.vlan_namespaces.len()
            + self.ipv4_namespaces.len()
            + self.switch_groups.len()
            + self.switches.len()
            + self.servers.len()
            + self.connections.len()
            + self.vpcs.len()
            + self.vpc_attachments.len()
            + self.vpc_peerings.len()
            + self.externals.len()
            + self.external_attachments.len()
            + self.external_peerings.len()
    }

    /// True when nothing importable was found.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

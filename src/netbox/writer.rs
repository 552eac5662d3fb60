//! NetBox writes the sync engine needs: journal entries on the fabric's site, the site's status
//! custom fields, and `netbox-setup` (creating the custom fields of `docs/netbox-model.md`,
//! idempotently).
//!
//! Does not decide when to write; the engine and the CLI do.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::client::NetboxClient;
use super::error::NetboxError;
use super::model::{Brief, CustomFieldDef};

/// A NetBox object by type and id (`dcim.site` 3).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    pub object_type: String,
    pub id: u64,
}

impl ObjectRef {
    /// `dcim.site` `id`.
    pub fn site(id: u64) -> ObjectRef {
        ObjectRef {
            object_type: "dcim.site".into(),
            id,
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.object_type, self.id)
    }
}

/// The REST path of an object type (`dcim.site` → `dcim/sites`).
pub fn endpoint_of(object_type: &str) -> Option<&'static str> {
    Some(match object_type {
        "dcim.site" => "dcim/sites",
        "dcim.device" => "dcim/devices",
        "dcim.devicetype" => "dcim/device-types",
        "dcim.devicerole" => "dcim/device-roles",
        "dcim.interface" => "dcim/interfaces",
        "dcim.cable" => "dcim/cables",
        "dcim.macaddress" => "dcim/mac-addresses",
        "dcim.virtualchassis" => "dcim/virtual-chassis",
        "dcim.manufacturer" => "dcim/manufacturers",
        "ipam.vlangroup" => "ipam/vlan-groups",
        "ipam.vlan" => "ipam/vlans",
        "ipam.vrf" => "ipam/vrfs",
        "ipam.prefix" => "ipam/prefixes",
        "ipam.ipaddress" => "ipam/ip-addresses",
        "extras.tag" => "extras/tags",
        _ => return None,
    })
}

/// Kind of a journal entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalKind {
    Info,
    Success,
    Warning,
    Danger,
}

impl JournalKind {
    /// NetBox's value.
    pub fn as_str(self) -> &'static str {
        match self {
            JournalKind::Info => "info",
            JournalKind::Success => "success",
            JournalKind::Warning => "warning",
            JournalKind::Danger => "danger",
        }
    }
}

/// A custom field fabsync reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CustomFieldSpec {
    pub name: &'static str,
    /// NetBox type: `text`, `integer`, `boolean`, `datetime`.
    pub type_: &'static str,
    pub object_types: &'static [&'static str],
    pub label: &'static str,
    pub description: &'static str,
}

/// The site custom field holding the fabric's status, written by fabsync after runs.
pub const CF_STATUS: &str = "fabsync_status";
/// The site custom field holding the time of the fabric's last verified sync.
pub const CF_LAST_SYNC: &str = "fabsync_last_sync";

/// Every custom field of `docs/netbox-model.md` plus the site status fields fabsync writes.
pub const FABSYNC_CUSTOM_FIELDS: &[CustomFieldSpec] = &[
    CustomFieldSpec {
        name: "hedgehog_role",
        type_: "text",
        object_types: &["dcim.device"],
        label: "Hedgehog role",
        description: "Overrides the device role slug (spine, server-leaf, border-leaf, mixed-leaf, virtual-edge, server, external, gateway)",
    },
    CustomFieldSpec {
        name: "hedgehog_profile",
        type_: "text",
        object_types: &["dcim.devicetype"],
        label: "Hedgehog profile",
        description: "SwitchProfile (or ServerProfile) name; default: the device type slug",
    },
    CustomFieldSpec {
        name: "hedgehog_redundancy_group",
        type_: "text",
        object_types: &["dcim.device"],
        label: "Hedgehog redundancy group",
        description: "Switch redundancy group (SwitchGroup); default: the virtual chassis name",
    },
    CustomFieldSpec {
        name: "hedgehog_redundancy_type",
        type_: "text",
        object_types: &["dcim.device"],
        label: "Hedgehog redundancy type",
        description: "eslag (default) or mclag",
    },
    CustomFieldSpec {
        name: "hedgehog_asn",
        type_: "integer",
        object_types: &["dcim.device"],
        label: "Hedgehog ASN",
        description: "Switch or external ASN (hydrated value; omitted when empty)",
    },
    CustomFieldSpec {
        name: "hedgehog_protocol_ip",
        type_: "text",
        object_types: &["dcim.device"],
        label: "Hedgehog protocol IP",
        description: "Switch protocol IP, CIDR /32 (hydrated value)",
    },
    CustomFieldSpec {
        name: "hedgehog_vtep_ip",
        type_: "text",
        object_types: &["dcim.device"],
        label: "Hedgehog VTEP IP",
        description: "Leaf VTEP IP, CIDR /32 (hydrated value)",
    },
    CustomFieldSpec {
        name: "hedgehog_inbound_community",
        type_: "text",
        object_types: &["dcim.device"],
        label: "Hedgehog inbound community",
        description: "External inbound BGP community (ASN:NN)",
    },
    CustomFieldSpec {
        name: "hedgehog_outbound_community",
        type_: "text",
        object_types: &["dcim.device"],
        label: "Hedgehog outbound community",
        description: "External outbound BGP community (ASN:NN)",
    },
    CustomFieldSpec {
        name: "hedgehog_ipv4_namespace",
        type_: "text",
        object_types: &["dcim.device", "ipam.prefix", "ipam.vrf"],
        label: "Hedgehog IPv4 namespace",
        description: "IPv4Namespace of an external, a container prefix or a VPC (default: default)",
    },
    CustomFieldSpec {
        name: "hedgehog_breakout",
        type_: "text",
        object_types: &["dcim.interface"],
        label: "Hedgehog breakout",
        description: "Port breakout mode of a switch port, e.g. 4x100G",
    },
    CustomFieldSpec {
        name: "hedgehog_link",
        type_: "text",
        object_types: &["dcim.cable"],
        label: "Hedgehog link",
        description: "mclag-peer (default) or mclag-session for cables inside an MCLAG pair",
    },
    CustomFieldSpec {
        name: "hedgehog_subnet",
        type_: "text",
        object_types: &["ipam.prefix"],
        label: "Hedgehog subnet",
        description: "VPC subnet name (default subnet-01, subnet-02, … in prefix order)",
    },
    CustomFieldSpec {
        name: "hedgehog_dhcp",
        type_: "boolean",
        object_types: &["ipam.prefix"],
        label: "Hedgehog DHCP",
        description: "Enable DHCP on the VPC subnet",
    },
    CustomFieldSpec {
        name: "hedgehog_dhcp_start",
        type_: "text",
        object_types: &["ipam.prefix"],
        label: "Hedgehog DHCP start",
        description: "First address of the DHCP range",
    },
    CustomFieldSpec {
        name: "hedgehog_dhcp_end",
        type_: "text",
        object_types: &["ipam.prefix"],
        label: "Hedgehog DHCP end",
        description: "Last address of the DHCP range",
    },
    CustomFieldSpec {
        name: "hedgehog_peers",
        type_: "text",
        object_types: &["ipam.vrf"],
        label: "Hedgehog VPC peers",
        description: "Comma-separated VRF names this VPC peers with",
    },
    CustomFieldSpec {
        name: "hedgehog_externals",
        type_: "text",
        object_types: &["ipam.vrf"],
        label: "Hedgehog externals",
        description: "Comma-separated External names this VPC peers with",
    },
    CustomFieldSpec {
        name: CF_STATUS,
        type_: "text",
        object_types: &["dcim.site"],
        label: "fabsync status",
        description: "Sync status written by fabsync after each run",
    },
    CustomFieldSpec {
        name: CF_LAST_SYNC,
        type_: "datetime",
        object_types: &["dcim.site"],
        label: "fabsync last sync",
        description: "Time of fabsync's last verified sync",
    },
];

/// What `ensure_fabsync_custom_fields` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetupReport {
    pub created: Vec<String>,
    /// Existing fields whose object types were widened.
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
}

impl NetboxClient {
    /// Adds a journal entry to the site `site_id`; returns the entry id.
    pub async fn create_journal_entry(
        &self,
        site_id: u64,
        kind: JournalKind,
        comments: &str,
    ) -> Result<u64, NetboxError> {
        let created: Brief = self
            .create(
                "extras/journal-entries",
                &json!({
                    "assigned_object_type": "dcim.site",
                    "assigned_object_id": site_id,
                    "kind": kind.as_str(),
                    "comments": comments,
                }),
            )
            .await?;
        Ok(created.id)
    }

    /// Sets custom field values on one object (other custom fields are left alone).
    pub async fn update_custom_fields(
        &self,
        object: &ObjectRef,
        values: &Map<String, Value>,
    ) -> Result<(), NetboxError> {
        let path = endpoint_of(&object.object_type).ok_or_else(|| NetboxError::Config {
            what: format!("custom fields of {object}"),
            reason: format!(
                "fabsync does not write objects of type {}",
                object.object_type
            ),
        })?;
        self.patch(path, object.id, &json!({ "custom_fields": values }))
            .await
            .map(|_| ())
    }

    /// Writes fabsync's status custom fields on a fabric's site: the status always, the time of
    /// the last verified sync when given.
    pub async fn record_fabric_status(
        &self,
        site_id: u64,
        status: &str,
        last_sync: Option<&str>,
    ) -> Result<(), NetboxError> {
        let mut values = Map::new();
        values.insert(CF_STATUS.into(), Value::String(status.into()));
        if let Some(t) = last_sync {
            values.insert(CF_LAST_SYNC.into(), Value::String(t.into()));
        }
        self.update_custom_fields(&ObjectRef::site(site_id), &values)
            .await
    }

    /// Creates every custom field fabsync uses, widening object types of existing ones.
    /// Running it twice creates nothing the second time.
    pub async fn ensure_fabsync_custom_fields(&self) -> Result<SetupReport, NetboxError> {
        let existing: Vec<CustomFieldDef> = self.list("extras/custom-fields", &[]).await?;
        let mut report = SetupReport::default();
        for spec in FABSYNC_CUSTOM_FIELDS {
            match existing.iter().find(|c| c.name == spec.name) {
                None => {
                    let _: Brief = self
                        .create(
                            "extras/custom-fields",
                            &json!({
                                "name": spec.name,
                                "label": spec.label,
                                "type": spec.type_,
                                "object_types": spec.object_types,
                                "description": spec.description,
                                "required": false,
                            }),
                        )
                        .await?;
                    report.created.push(spec.name.to_string());
                }
                Some(cf) => {
                    let missing: Vec<&str> = spec
                        .object_types
                        .iter()
                        .copied()
                        .filter(|t| !cf.object_types.iter().any(|e| e == t))
                        .collect();
                    if missing.is_empty() {
                        report.unchanged.push(spec.name.to_string());
                    } else {
                        let mut all = cf.object_types.clone();
                        all.extend(missing.iter().map(|s| s.to_string()));
                        all.sort();
                        self.patch(
                            "extras/custom-fields",
                            cf.id,
                            &json!({ "object_types": all }),
                        )
                        .await?;
                        report.updated.push(spec.name.to_string());
                    }
                }
            }
        }
        Ok(report)
    }
}

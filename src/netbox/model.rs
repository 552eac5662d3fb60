//! The NetBox objects a fabric is made of, as fabsync reads them (the subset of NetBox 4.7's
//! REST shapes the plan needs), and the [`Snapshot`] of one fabric.
//!
//! Data only: deserialised straight from NetBox JSON (unknown fields ignored, nested foreign
//! keys kept as brief objects), serialisable for evidence. No IO, no decisions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Custom field values as NetBox returns them (`null` when unset).
pub type CustomFields = BTreeMap<String, Value>;

/// A nested foreign key (NetBox's brief representation).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Brief {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Brief {
    /// A brief with only an id.
    pub fn id(id: u64) -> Brief {
        Brief {
            id,
            ..Brief::default()
        }
    }
}

/// A choice field (`{"value": "active", "label": "Active"}`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Choice {
    /// A choice with only a value.
    pub fn new(value: &str) -> Choice {
        Choice {
            value: value.to_string(),
            label: None,
        }
    }
}

/// A tag on an object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TagRef {
    #[serde(default)]
    pub id: u64,
    #[serde(default)]
    pub name: String,
    pub slug: String,
}

/// A nested IP address (`primary_ip4`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct BriefIp {
    pub id: u64,
    pub address: String,
}

/// A nested MAC address (`primary_mac_address`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct BriefMac {
    pub id: u64,
    pub mac_address: String,
}

/// A nested VLAN (`untagged_vlan`, `tagged_vlans`, `prefix.vlan`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct BriefVlan {
    pub id: u64,
    #[serde(default)]
    pub vid: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `dcim.site`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Site {
    pub id: u64,
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub custom_fields: CustomFields,
}

/// `dcim.devicerole`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct DeviceRole {
    pub id: u64,
    pub name: String,
    pub slug: String,
}

/// `dcim.devicetype`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct DeviceType {
    pub id: u64,
    #[serde(default)]
    pub model: String,
    pub slug: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<Brief>,
    #[serde(default)]
    pub custom_fields: CustomFields,
}

/// `dcim.device`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Device {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    pub device_type: Brief,
    pub role: Brief,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Brief>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Choice>,
    #[serde(default)]
    pub serial: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_ip4: Option<BriefIp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_chassis: Option<Brief>,
    #[serde(default)]
    pub tags: Vec<TagRef>,
    #[serde(default)]
    pub custom_fields: CustomFields,
}

/// `dcim.interface`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Interface {
    pub id: u64,
    pub device: Brief,
    pub name: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<Choice>,
    #[serde(default)]
    pub mgmt_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<Brief>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_mac_address: Option<BriefMac>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untagged_vlan: Option<BriefVlan>,
    #[serde(default)]
    pub tagged_vlans: Vec<BriefVlan>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cable: Option<Brief>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub custom_fields: CustomFields,
}

impl Interface {
    /// True for a LAG interface (`type: lag`).
    pub fn is_lag(&self) -> bool {
        self.type_.as_ref().is_some_and(|t| t.value == "lag")
    }
}

/// `dcim.macaddress`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct MacAddress {
    pub id: u64,
    pub mac_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_object_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_object_id: Option<u64>,
}

/// The object nested in a cable termination (an interface with its device).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct TerminationObject {
    #[serde(default)]
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Brief>,
}

/// One end of a cable.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Termination {
    pub object_type: String,
    pub object_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<TerminationObject>,
}

/// `dcim.cable`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Cable {
    pub id: u64,
    #[serde(default)]
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Choice>,
    #[serde(default)]
    pub a_terminations: Vec<Termination>,
    #[serde(default)]
    pub b_terminations: Vec<Termination>,
    #[serde(default)]
    pub custom_fields: CustomFields,
}

/// `dcim.virtualchassis`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct VirtualChassis {
    pub id: u64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<Brief>,
}

/// `ipam.vlangroup`. `vid_ranges` are inclusive `[from, to]` pairs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct VlanGroup {
    pub id: u64,
    pub name: String,
    pub slug: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_id: Option<u64>,
    #[serde(default)]
    pub vid_ranges: Vec<[u16; 2]>,
    #[serde(default)]
    pub tags: Vec<TagRef>,
    #[serde(default)]
    pub custom_fields: CustomFields,
}

/// `ipam.vlan`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Vlan {
    pub id: u64,
    pub vid: u16,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Brief>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Brief>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Choice>,
    #[serde(default)]
    pub custom_fields: CustomFields,
}

/// `ipam.vrf`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Vrf {
    pub id: u64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rd: Option<String>,
    #[serde(default)]
    pub tags: Vec<TagRef>,
    #[serde(default)]
    pub custom_fields: CustomFields,
}

/// `ipam.prefix`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Prefix {
    pub id: u64,
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf: Option<Brief>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<BriefVlan>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_id: Option<u64>,
    #[serde(default)]
    pub tags: Vec<TagRef>,
    #[serde(default)]
    pub custom_fields: CustomFields,
}

/// `ipam.ipaddress`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct IpAddress {
    pub id: u64,
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf: Option<Brief>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_object_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_object_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Choice>,
    #[serde(default)]
    pub custom_fields: CustomFields,
}

/// `extras.customfield` (definition).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct CustomFieldDef {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub object_types: Vec<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<Choice>,
}

/// Everything NetBox says about one fabric, as read in one pass. Lists are sorted by id.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub site: Site,
    /// The tag narrowing the fabric, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub devices: Vec<Device>,
    pub device_types: Vec<DeviceType>,
    pub roles: Vec<DeviceRole>,
    pub interfaces: Vec<Interface>,
    pub mac_addresses: Vec<MacAddress>,
    pub cables: Vec<Cable>,
    pub virtual_chassis: Vec<VirtualChassis>,
    pub vlan_groups: Vec<VlanGroup>,
    pub vlans: Vec<Vlan>,
    pub vrfs: Vec<Vrf>,
    pub prefixes: Vec<Prefix>,
    pub ip_addresses: Vec<IpAddress>,
    pub custom_fields: Vec<CustomFieldDef>,
}

impl Snapshot {
    /// Sorts every list by id (the reader does this; hand-built snapshots may call it).
    pub fn sort(&mut self) {
        self.devices.sort_by_key(|o| o.id);
        self.device_types.sort_by_key(|o| o.id);
        self.roles.sort_by_key(|o| o.id);
        self.interfaces.sort_by_key(|o| o.id);
        self.mac_addresses.sort_by_key(|o| o.id);
        self.cables.sort_by_key(|o| o.id);
        self.virtual_chassis.sort_by_key(|o| o.id);
        self.vlan_groups.sort_by_key(|o| o.id);
        self.vlans.sort_by_key(|o| o.id);
        self.vrfs.sort_by_key(|o| o.id);
        self.prefixes.sort_by_key(|o| o.id);
        self.ip_addresses.sort_by_key(|o| o.id);
        self.custom_fields.sort_by_key(|o| o.id);
    }

    /// Number of NetBox objects in the snapshot (site included).
    pub fn object_count(&self) -> usize {
        1 + self.devices.len()
            + self.device_types.len()
            + self.roles.len()
            + self.interfaces.len()
            + self.mac_addresses.len()
            + self.cables.len()
            + self.virtual_chassis.len()
            + self.vlan_groups.len()
            + self.vlans.len()
            + self.vrfs.len()
            + self.prefixes.len()
            + self.ip_addresses.len()
            + self.custom_fields.len()
    }
}

/// Reads a custom field as a non-empty trimmed string.
pub fn cf_str<'a>(cf: &'a CustomFields, name: &str) -> Option<&'a str> {
    cf.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Reads a custom field as an integer (NetBox integer fields; numeric strings accepted).
pub fn cf_int(cf: &CustomFields, name: &str) -> Option<i64> {
    match cf.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a boolean custom field.
pub fn cf_bool(cf: &CustomFields, name: &str) -> Option<bool> {
    cf.get(name).and_then(Value::as_bool)
}

//! The registry of NetBox models this fake serves: their endpoints, names, content types and the
//! table of fields of each (API order, brief/nested membership, changelog membership, writability,
//! storage kind).
//!
//! This module is data plus a few lookups. It does not store objects (`store`), render them
//! (`render`) or validate writes (`write`); those modules interpret these tables.
//!
//! The field types live in [`field`], the per-model field tables in `tables`.

mod field;
mod tables;

pub use field::{
    BRIEF, Computed, FULL, Field, FieldKind, LOGGED, Nest, NestedCount, PUT_DEFAULT, REQUIRED,
    UNIQUE, WRITABLE,
};
use tables::{
    CABLE, CABLE_TERMINATION, CHOICE_SET, CUSTOM_FIELD, DEVICE, DEVICE_ROLE, DEVICE_TYPE,
    INTERFACE, IP_ADDRESS, JOURNAL_ENTRY, MAC_ADDRESS, MANUFACTURER, PLATFORM, PREFIX, SITE, TAG,
    VIRTUAL_CHASSIS, VLAN, VLAN_GROUP, VRF,
};

/// A model (object type) the fake stores. Object changes live beside the store, not in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Model {
    Site,
    Manufacturer,
    DeviceType,
    DeviceRole,
    Platform,
    Device,
    Interface,
    Cable,
    CableTermination,
    VirtualChassis,
    MacAddress,
    Vrf,
    Prefix,
    IpAddress,
    VlanGroup,
    Vlan,
    Tag,
    CustomField,
    CustomFieldChoiceSet,
    JournalEntry,
}

impl Model {
    /// Every stored model, in a fixed order (also the order of `GET /api/<app>/` listings).
    pub const ALL: [Model; 20] = [
        Model::Site,
        Model::Manufacturer,
        Model::DeviceType,
        Model::DeviceRole,
        Model::Platform,
        Model::Device,
        Model::Interface,
        Model::Cable,
        Model::CableTermination,
        Model::VirtualChassis,
        Model::MacAddress,
        Model::Vrf,
        Model::Prefix,
        Model::IpAddress,
        Model::VlanGroup,
        Model::Vlan,
        Model::Tag,
        Model::CustomField,
        Model::CustomFieldChoiceSet,
        Model::JournalEntry,
    ];

    pub fn meta(self) -> &'static Meta {
        &METAS[self as usize]
    }

    pub fn fields(self) -> &'static [Field] {
        self.meta().fields
    }

    /// Index of the field called `name` in [`Model::fields`].
    pub fn field_index(self, name: &str) -> Option<usize> {
        self.fields().iter().position(|f| f.name == name)
    }

    pub fn field(self, name: &str) -> Option<&'static Field> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// `app_label.model`, e.g. `dcim.device`.
    pub fn label(self) -> String {
        format!("{}.{}", self.meta().app, self.meta().model)
    }

    /// `app.endpoint`, e.g. `dcim.devices` (the request log's `resource`).
    pub fn resource(self) -> String {
        format!("{}.{}", self.meta().app, self.meta().endpoint)
    }

    pub fn from_label(label: &str) -> Option<Model> {
        let (app, model) = label.split_once('.')?;
        Model::ALL
            .into_iter()
            .find(|m| m.meta().app == app && m.meta().model == model)
    }

    pub fn from_endpoint(app: &str, endpoint: &str) -> Option<Model> {
        Model::ALL
            .into_iter()
            .find(|m| m.meta().app == app && m.meta().endpoint == endpoint)
    }

    /// Whether objects of this model carry `custom_fields`.
    pub fn has_custom_fields(self) -> bool {
        self.field_index("custom_fields").is_some()
    }

    pub fn has_tags(self) -> bool {
        self.field_index("tags").is_some()
    }
}

/// Static facts about one model.
#[derive(Debug)]
pub struct Meta {
    /// Django app label: `dcim`, `ipam`, `extras`.
    pub app: &'static str,
    /// Django model name (content type `model`): `device`.
    pub model: &'static str,
    /// REST endpoint under `/api/<app>/`: `devices`.
    pub endpoint: &'static str,
    /// Python class name, used in `No <Class> matches the given query.`
    pub class: &'static str,
    /// Verbose name (`device`, `IP address`), used in change log display strings and errors.
    pub verbose: &'static str,
    /// App verbose name (`DCIM`), the first half of a content type's display.
    pub app_verbose: &'static str,
    /// Content type id on a freshly migrated NetBox 4.7.3.
    pub content_type: u64,
    /// Path of the UI page (`display_url`), relative to the site root.
    pub ui_path: &'static str,
    /// Whether the endpoint accepts writes (cable terminations are read-only in 4.7).
    pub writable: bool,
    /// Whether the viewset has a `trace` action (DRF then advertises `TRACE` in `Allow`).
    pub trace: bool,
    pub fields: &'static [Field],
}

#[allow(clippy::too_many_arguments)] // a table row constructor: one argument per column
const fn meta(
    app: &'static str,
    model: &'static str,
    endpoint: &'static str,
    class: &'static str,
    verbose: &'static str,
    content_type: u64,
    ui_path: &'static str,
    fields: &'static [Field],
) -> Meta {
    let app_verbose = match app.as_bytes()[0] {
        b'd' => "DCIM",
        b'i' => "IPAM",
        _ => "Extras",
    };
    Meta {
        app,
        model,
        endpoint,
        class,
        verbose,
        app_verbose,
        content_type,
        ui_path,
        writable: true,
        trace: false,
        fields,
    }
}

static METAS: [Meta; 20] = [
    meta(
        "dcim",
        "site",
        "sites",
        "Site",
        "site",
        1,
        "dcim/sites",
        SITE,
    ),
    meta(
        "dcim",
        "manufacturer",
        "manufacturers",
        "Manufacturer",
        "manufacturer",
        79,
        "dcim/manufacturers",
        MANUFACTURER,
    ),
    meta(
        "dcim",
        "devicetype",
        "device-types",
        "DeviceType",
        "device type",
        80,
        "dcim/device-types",
        DEVICE_TYPE,
    ),
    meta(
        "dcim",
        "devicerole",
        "device-roles",
        "DeviceRole",
        "device role",
        81,
        "dcim/device-roles",
        DEVICE_ROLE,
    ),
    meta(
        "dcim",
        "platform",
        "platforms",
        "Platform",
        "platform",
        82,
        "dcim/platforms",
        PLATFORM,
    ),
    meta(
        "dcim",
        "device",
        "devices",
        "Device",
        "device",
        9,
        "dcim/devices",
        DEVICE,
    ),
    Meta {
        trace: true,
        ..meta(
            "dcim",
            "interface",
            "interfaces",
            "Interface",
            "interface",
            8,
            "dcim/interfaces",
            INTERFACE,
        )
    },
    meta(
        "dcim",
        "cable",
        "cables",
        "Cable",
        "cable",
        57,
        "dcim/cables",
        CABLE,
    ),
    Meta {
        writable: false,
        ..meta(
            "dcim",
            "cabletermination",
            "cable-terminations",
            "CableTermination",
            "cable termination",
            58,
            "dcim/cable-terminations",
            CABLE_TERMINATION,
        )
    },
    meta(
        "dcim",
        "virtualchassis",
        "virtual-chassis",
        "VirtualChassis",
        "virtual chassis",
        83,
        "dcim/virtual-chassis",
        VIRTUAL_CHASSIS,
    ),
    meta(
        "dcim",
        "macaddress",
        "mac-addresses",
        "MACAddress",
        "MAC address",
        85,
        "dcim/mac-addresses",
        MAC_ADDRESS,
    ),
    meta("ipam", "vrf", "vrfs", "VRF", "VRF", 112, "ipam/vrfs", VRF),
    meta(
        "ipam",
        "prefix",
        "prefixes",
        "Prefix",
        "prefix",
        103,
        "ipam/prefixes",
        PREFIX,
    ),
    meta(
        "ipam",
        "ipaddress",
        "ip-addresses",
        "IPAddress",
        "IP address",
        105,
        "ipam/ip-addresses",
        IP_ADDRESS,
    ),
    meta(
        "ipam",
        "vlangroup",
        "vlan-groups",
        "VLANGroup",
        "VLAN group",
        108,
        "ipam/vlan-groups",
        VLAN_GROUP,
    ),
    meta(
        "ipam",
        "vlan",
        "vlans",
        "VLAN",
        "VLAN",
        109,
        "ipam/vlans",
        VLAN,
    ),
    meta(
        "extras",
        "tag",
        "tags",
        "Tag",
        "tag",
        114,
        "extras/tags",
        TAG,
    ),
    meta(
        "extras",
        "customfield",
        "custom-fields",
        "CustomField",
        "custom field",
        119,
        "extras/custom-fields",
        CUSTOM_FIELD,
    ),
    meta(
        "extras",
        "customfieldchoiceset",
        "custom-field-choice-sets",
        "CustomFieldChoiceSet",
        "custom field choice set",
        120,
        "extras/custom-field-choices",
        CHOICE_SET,
    ),
    meta(
        "extras",
        "journalentry",
        "journal-entries",
        "JournalEntry",
        "journal entry",
        128,
        "extras/journal-entries",
        JOURNAL_ENTRY,
    ),
];

/// Content types NetBox knows but this fake does not serve, accepted where any object type is
/// (custom field and tag `object_types`), so that a setup script written for a real NetBox works.
pub static OTHER_CONTENT_TYPES: &[(&str, u64)] = &[
    ("circuits.circuit", 12),
    ("circuits.provider", 38),
    ("dcim.consoleport", 43),
    ("dcim.frontport", 50),
    ("dcim.location", 95),
    ("dcim.module", 78),
    ("dcim.powerport", 45),
    ("dcim.rack", 91),
    ("dcim.rearport", 51),
    ("dcim.region", 93),
    ("dcim.sitegroup", 94),
    ("ipam.aggregate", 101),
    ("ipam.asn", 97),
    ("ipam.iprange", 104),
    ("ipam.role", 102),
    ("ipam.routetarget", 113),
    ("ipam.service", 107),
    ("tenancy.tenant", 139),
    ("virtualization.cluster", 149),
    ("virtualization.virtualmachine", 10),
];

/// The content type id of `label` (`app.model`), for served and known-but-unserved types.
pub fn content_type_id(label: &str) -> Option<u64> {
    Model::from_label(label)
        .map(|m| m.meta().content_type)
        .or_else(|| {
            OTHER_CONTENT_TYPES
                .iter()
                .find(|(l, _)| *l == label)
                .map(|(_, id)| *id)
        })
}

/// The models a generic relation may point at, per (model, field).
pub fn gfk_targets(model: Model, field: &str) -> &'static [Model] {
    match (model, field) {
        (Model::MacAddress, _) => &[Model::Interface],
        (Model::IpAddress, _) => &[Model::Interface],
        (Model::Prefix, _) | (Model::VlanGroup, _) => &[Model::Site],
        (Model::CableTermination, _) => &[Model::Interface],
        (Model::JournalEntry, _) => &[
            Model::Site,
            Model::Manufacturer,
            Model::DeviceType,
            Model::DeviceRole,
            Model::Platform,
            Model::Device,
            Model::Interface,
            Model::Cable,
            Model::VirtualChassis,
            Model::MacAddress,
            Model::Vrf,
            Model::Prefix,
            Model::IpAddress,
            Model::VlanGroup,
            Model::Vlan,
        ],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_has_an_id_and_a_display() {
        for m in Model::ALL {
            assert_eq!(m.fields()[0].name, "id", "{m:?}");
            assert!(m.field("display").is_some(), "{m:?}");
            assert_eq!(Model::from_label(&m.label()), Some(m));
            let ct = m.meta().content_type;
            assert_eq!(
                Model::ALL.into_iter().find(|x| x.meta().content_type == ct),
                Some(m)
            );
        }
    }

    #[test]
    fn field_names_are_unique_per_model() {
        for m in Model::ALL {
            let mut names: Vec<_> = m.fields().iter().map(|f| f.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "{m:?}");
        }
    }
}

//! The relation tables the deletion collector walks, read from NetBox's model metadata: reverse
//! foreign keys with their `on_delete`, generic relations, the relations `handle_deleted_object`
//! clears with change records, the models a tag can be on, and the cached foreign keys NetBox
//! keeps on cable terminations and prefixes.
//!
//! Data plus one lookup over the store (`refs`); it deletes nothing.

use crate::model::Model;
use crate::store::{Id, Store};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OnDelete {
    Cascade,
    Protect,
    SetNull,
    Restrict,
}

/// A generic relation on a model: to a modelled model (through its content-type field), to the
/// object's tag assignments, or to a model that is not served (never holds objects here).
#[derive(Clone, Copy, Debug)]
pub(super) enum Rel {
    Gfk(Model, &'static str),
    Tags,
    Other(&'static str),
}

/// A model in the collector: a served one or another NetBox model (by label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Model(Model),
    Other(&'static str),
}

const TAGGED_ITEM: Key = Key::Other("extras.taggeditem");

impl Rel {
    pub(super) fn key(self) -> Key {
        match self {
            Rel::Gfk(m, _) => Key::Model(m),
            Rel::Tags => TAGGED_ITEM,
            Rel::Other(label) => Key::Other(label),
        }
    }
}

/// Reverse foreign keys Django's collector visits (`get_candidate_relations_to_delete`), in its
/// order, limited to modelled models.
pub(super) fn candidates(m: Model) -> &'static [(Model, &'static str, OnDelete)] {
    match m {
        Model::Site => &[
            (Model::Interface, "_site", OnDelete::SetNull),
            (Model::CableTermination, "_site", OnDelete::Cascade),
            (Model::Device, "site", OnDelete::Protect),
            (Model::Prefix, "_site", OnDelete::Cascade),
            (Model::Vlan, "site", OnDelete::Protect),
        ],
        Model::Manufacturer => &[
            (Model::DeviceType, "manufacturer", OnDelete::Protect),
            (Model::Platform, "manufacturer", OnDelete::Protect),
        ],
        Model::DeviceType => &[(Model::Device, "device_type", OnDelete::Protect)],
        Model::DeviceRole => &[
            (Model::DeviceRole, "parent", OnDelete::Cascade),
            (Model::Device, "role", OnDelete::Protect),
        ],
        Model::Platform => &[
            (Model::DeviceType, "default_platform", OnDelete::SetNull),
            (Model::Platform, "parent", OnDelete::Cascade),
            (Model::Device, "platform", OnDelete::SetNull),
        ],
        Model::Device => &[
            (Model::Interface, "device", OnDelete::Cascade),
            (Model::CableTermination, "_device", OnDelete::Cascade),
            (Model::VirtualChassis, "master", OnDelete::Protect),
        ],
        Model::Interface => &[
            (Model::Interface, "parent", OnDelete::Restrict),
            (Model::Interface, "bridge", OnDelete::SetNull),
            (Model::Interface, "lag", OnDelete::SetNull),
        ],
        Model::Cable => &[
            (Model::Interface, "cable", OnDelete::SetNull),
            (Model::CableTermination, "cable", OnDelete::Cascade),
        ],
        Model::MacAddress => &[(Model::Interface, "primary_mac_address", OnDelete::SetNull)],
        Model::VirtualChassis => &[(Model::Device, "virtual_chassis", OnDelete::SetNull)],
        Model::Vrf => &[
            (Model::Interface, "vrf", OnDelete::SetNull),
            (Model::Prefix, "vrf", OnDelete::Protect),
            (Model::IpAddress, "vrf", OnDelete::Protect),
        ],
        Model::IpAddress => &[
            (Model::Device, "primary_ip4", OnDelete::SetNull),
            (Model::Device, "primary_ip6", OnDelete::SetNull),
            (Model::Device, "oob_ip", OnDelete::SetNull),
            (Model::IpAddress, "nat_inside", OnDelete::SetNull),
        ],
        Model::VlanGroup => &[(Model::Vlan, "group", OnDelete::Protect)],
        Model::Vlan => &[
            (Model::Interface, "untagged_vlan", OnDelete::SetNull),
            (Model::Interface, "qinq_svlan", OnDelete::SetNull),
            (Model::Prefix, "vlan", OnDelete::Protect),
            (Model::Vlan, "qinq_svlan", OnDelete::Protect),
        ],
        Model::CustomFieldChoiceSet => &[(Model::CustomField, "choice_set", OnDelete::Protect)],
        _ => &[],
    }
}

/// `GenericRelation`s (private fields with `bulk_related_objects`), in Django's order, with the
/// models they point at - modelled or not: all of them take part in the dependency graph.
pub(super) fn generic(m: Model) -> &'static [Rel] {
    match m {
        Model::Site => &[
            Rel::Gfk(Model::Prefix, "scope_type"),
            Rel::Gfk(Model::VlanGroup, "scope_type"),
            Rel::Other("tenancy.contactassignment"),
            Rel::Other("extras.imageattachment"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Manufacturer => &[
            Rel::Other("tenancy.contactassignment"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::DeviceType => &[
            Rel::Other("extras.imageattachment"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::DeviceRole => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Platform => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Device => &[
            Rel::Other("ipam.service"),
            Rel::Other("tenancy.contactassignment"),
            Rel::Other("extras.imageattachment"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Interface => &[
            Rel::Gfk(Model::IpAddress, "assigned_object_type"),
            Rel::Gfk(Model::MacAddress, "assigned_object_type"),
            Rel::Other("ipam.fhrpgroupassignment"),
            Rel::Other("vpn.tunneltermination"),
            Rel::Other("vpn.l2vpntermination"),
            Rel::Other("dcim.inventoryitem"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Gfk(Model::CableTermination, "termination_type"),
            Rel::Tags,
        ],
        Model::Cable => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::MacAddress => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::VirtualChassis => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Vrf => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Prefix => &[
            Rel::Other("tenancy.contactassignment"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::IpAddress => &[
            Rel::Other("tenancy.contactassignment"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::VlanGroup => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Vlan => &[
            Rel::Other("vpn.l2vpntermination"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::JournalEntry => &[Rel::Tags],
        _ => &[],
    }
}

/// Relations `handle_deleted_object` clears with a change record (nullable non-cascading
/// foreign keys are set to null and saved; many-to-many links are removed), in its order.
pub(super) fn logged_relations(m: Model) -> &'static [(Model, &'static str, bool)] {
    match m {
        Model::Site => &[(Model::Device, "site", false), (Model::Vlan, "site", false)],
        Model::Manufacturer => &[
            (Model::DeviceType, "manufacturer", false),
            (Model::Platform, "manufacturer", false),
        ],
        Model::DeviceType => &[(Model::Device, "device_type", false)],
        Model::DeviceRole => &[(Model::Device, "role", false)],
        Model::Platform => &[(Model::Device, "platform", false)],
        Model::Interface => &[
            (Model::Interface, "bridge", false),
            (Model::Interface, "lag", false),
        ],
        Model::VirtualChassis => &[(Model::Device, "virtual_chassis", false)],
        Model::Vrf => &[
            (Model::Interface, "vrf", false),
            (Model::Prefix, "vrf", false),
            (Model::IpAddress, "vrf", false),
        ],
        Model::IpAddress => &[(Model::IpAddress, "nat_inside", false)],
        Model::VlanGroup => &[(Model::Vlan, "group", false)],
        Model::Vlan => &[
            (Model::Interface, "untagged_vlan", false),
            (Model::Interface, "qinq_svlan", false),
            (Model::Interface, "tagged_vlans", true),
            (Model::Prefix, "vlan", false),
            (Model::Vlan, "qinq_svlan", false),
        ],
        Model::CustomFieldChoiceSet => &[(Model::CustomField, "choice_set", false)],
        _ => &[],
    }
}

/// Models whose tags a deleted tag is removed from, in `Tag._meta.related_objects` order.
pub(super) const TAGGED_MODELS: [Model; 16] = [
    Model::Interface,
    Model::Cable,
    Model::Manufacturer,
    Model::DeviceType,
    Model::DeviceRole,
    Model::Platform,
    Model::Device,
    Model::VirtualChassis,
    Model::MacAddress,
    Model::Site,
    Model::Prefix,
    Model::IpAddress,
    Model::VlanGroup,
    Model::Vlan,
    Model::Vrf,
    Model::JournalEntry,
];

/// Objects of `src` referring to `target` through `field`, including the cached `_device` /
/// `_site` foreign keys NetBox keeps on cable terminations and prefixes.
pub(super) fn refs(store: &Store, src: Model, field: &str, target: Id) -> Vec<Id> {
    let ct_of = |iface: Id| {
        store.unique_holder(
            Model::CableTermination,
            "termination",
            &format!("dcim.interface|{iface}"),
        )
    };
    let mut out: Vec<Id> = match (src, field) {
        (Model::CableTermination, "_device") => store
            .referrers(Model::Interface, "device", target)
            .filter_map(ct_of)
            .collect(),
        (Model::CableTermination, "_site") => store
            .referrers(Model::Device, "site", target)
            .flat_map(|d| store.referrers(Model::Interface, "device", d))
            .filter_map(ct_of)
            .collect(),
        (Model::Prefix, "_site") => store
            .gfk_referrers(Model::Prefix, "scope_type", Model::Site, target)
            .collect(),
        (_, f) if f.starts_with('_') => Vec::new(),
        _ => store.referrers(src, field, target).collect(),
    };
    out.sort_unstable();
    out.dedup();
    out
}

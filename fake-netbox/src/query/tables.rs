//! The filter tables of each model, read from NetBox's filter sets: the relation filters
//! (`site`/`site_id` pairs and the path they follow), text, choice and boolean filters, and the
//! fields `?q=` searches.
//!
//! Data only; `filters` interprets it.

use super::predicate::Lookup;
use crate::model::Model;

/// Text fields `?q=` searches, per model.
pub(super) fn search_fields(m: Model) -> &'static [&'static str] {
    match m {
        Model::Site => &[
            "name",
            "slug",
            "facility",
            "description",
            "physical_address",
            "shipping_address",
            "comments",
        ],
        Model::Manufacturer | Model::DeviceRole | Model::Platform | Model::Tag => {
            &["name", "slug", "description"]
        }
        Model::DeviceType => &["model", "part_number", "description", "comments"],
        Model::Device => &["name", "serial", "asset_tag", "description", "comments"],
        Model::Interface => &["name", "label", "description"],
        Model::Cable => &["label", "description"],
        Model::VirtualChassis => &["name", "domain", "description"],
        Model::MacAddress => &["mac_address", "description"],
        Model::Vrf => &["name", "rd", "description"],
        Model::Prefix => &["prefix", "description"],
        Model::IpAddress => &["address", "dns_name", "description"],
        Model::VlanGroup => &["name", "slug", "description"],
        Model::Vlan => &["name", "description"],
        Model::CustomField => &["name", "label", "description"],
        Model::CustomFieldChoiceSet => &["name", "description"],
        Model::JournalEntry => &["comments"],
        Model::CableTermination => &[],
    }
}

/// A relation filter: `site` (slug) / `site_id` style pairs, reached through `path`.
pub(super) struct RelFilter {
    pub(super) name: &'static str,
    pub(super) target: Model,
    pub(super) attr: &'static str,
    pub(super) path: &'static [&'static str],
}

const fn rel(
    name: &'static str,
    target: Model,
    attr: &'static str,
    path: &'static [&'static str],
) -> RelFilter {
    RelFilter {
        name,
        target,
        attr,
        path,
    }
}

/// Relation filters per model. `attr == "id"` means the filter takes ids.
pub(super) fn relation_filters(m: Model) -> &'static [RelFilter] {
    use Model::*;
    match m {
        DeviceType => {
            const RELATIONS: &[RelFilter] = &[
                rel("manufacturer", Manufacturer, "slug", &["manufacturer"]),
                rel("manufacturer_id", Manufacturer, "id", &["manufacturer"]),
                rel("default_platform", Platform, "slug", &["default_platform"]),
                rel("default_platform_id", Platform, "id", &["default_platform"]),
            ];
            RELATIONS
        }
        DeviceRole => {
            const RELATIONS: &[RelFilter] = &[
                rel("parent", DeviceRole, "slug", &["parent"]),
                rel("parent_id", DeviceRole, "id", &["parent"]),
            ];
            RELATIONS
        }
        Platform => {
            const RELATIONS: &[RelFilter] = &[
                rel("manufacturer", Manufacturer, "slug", &["manufacturer"]),
                rel("manufacturer_id", Manufacturer, "id", &["manufacturer"]),
                rel("parent", Platform, "slug", &["parent"]),
                rel("parent_id", Platform, "id", &["parent"]),
            ];
            RELATIONS
        }
        Device => {
            const RELATIONS: &[RelFilter] = &[
                rel("site", Site, "slug", &["site"]),
                rel("site_id", Site, "id", &["site"]),
                rel("role", DeviceRole, "slug", &["role"]),
                rel("role_id", DeviceRole, "id", &["role"]),
                rel("device_type", DeviceType, "slug", &["device_type"]),
                rel("device_type_id", DeviceType, "id", &["device_type"]),
                rel(
                    "manufacturer",
                    Manufacturer,
                    "slug",
                    &["device_type", "manufacturer"],
                ),
                rel(
                    "manufacturer_id",
                    Manufacturer,
                    "id",
                    &["device_type", "manufacturer"],
                ),
                rel("platform", Platform, "slug", &["platform"]),
                rel("platform_id", Platform, "id", &["platform"]),
                rel(
                    "virtual_chassis_id",
                    VirtualChassis,
                    "id",
                    &["virtual_chassis"],
                ),
                rel(
                    "virtual_chassis",
                    VirtualChassis,
                    "name",
                    &["virtual_chassis"],
                ),
            ];
            RELATIONS
        }
        Interface => {
            const RELATIONS: &[RelFilter] = &[
                rel("device", Device, "name", &["device"]),
                rel("device_id", Device, "id", &["device"]),
                rel("site", Site, "slug", &["device", "site"]),
                rel("site_id", Site, "id", &["device", "site"]),
                rel("device_role", DeviceRole, "slug", &["device", "role"]),
                rel("device_role_id", DeviceRole, "id", &["device", "role"]),
                rel(
                    "device_type",
                    DeviceType,
                    "slug",
                    &["device", "device_type"],
                ),
                rel(
                    "device_type_id",
                    DeviceType,
                    "id",
                    &["device", "device_type"],
                ),
                rel(
                    "virtual_chassis_id",
                    VirtualChassis,
                    "id",
                    &["device", "virtual_chassis"],
                ),
                rel("lag_id", Interface, "id", &["lag"]),
                rel("parent_id", Interface, "id", &["parent"]),
                rel("bridge_id", Interface, "id", &["bridge"]),
                rel("cable_id", Cable, "id", &["cable"]),
                rel("vrf_id", Vrf, "id", &["vrf"]),
                rel(
                    "primary_mac_address_id",
                    MacAddress,
                    "id",
                    &["primary_mac_address"],
                ),
            ];
            RELATIONS
        }
        VirtualChassis => {
            const RELATIONS: &[RelFilter] = &[
                rel("master_id", Device, "id", &["master"]),
                rel("master", Device, "name", &["master"]),
                rel("site", Site, "slug", &["master", "site"]),
                rel("site_id", Site, "id", &["master", "site"]),
            ];
            RELATIONS
        }
        Prefix => {
            const RELATIONS: &[RelFilter] = &[
                rel("vrf", Vrf, "rd", &["vrf"]),
                rel("vrf_id", Vrf, "id", &["vrf"]),
                rel("vlan_id", Vlan, "id", &["vlan"]),
            ];
            RELATIONS
        }
        IpAddress => {
            const RELATIONS: &[RelFilter] = &[
                rel("vrf", Vrf, "rd", &["vrf"]),
                rel("vrf_id", Vrf, "id", &["vrf"]),
                rel("nat_inside_id", IpAddress, "id", &["nat_inside"]),
            ];
            RELATIONS
        }
        Vlan => {
            const RELATIONS: &[RelFilter] = &[
                rel("site", Site, "slug", &["site"]),
                rel("site_id", Site, "id", &["site"]),
                rel("group", VlanGroup, "slug", &["group"]),
                rel("group_id", VlanGroup, "id", &["group"]),
            ];
            RELATIONS
        }
        CustomField => {
            const RELATIONS: &[RelFilter] = &[rel(
                "choice_set_id",
                CustomFieldChoiceSet,
                "id",
                &["choice_set"],
            )];
            RELATIONS
        }
        CableTermination => {
            const RELATIONS: &[RelFilter] = &[
                rel("cable_id", Cable, "id", &["cable"]),
                rel("cable", Cable, "id", &["cable"]),
            ];
            RELATIONS
        }
        _ => {
            const RELATIONS: &[RelFilter] = &[];
            RELATIONS
        }
    }
}

/// Text (CharField) filters per model; `IExact` marks NetBox's case-insensitive `name` on devices.
pub(super) fn text_filters(m: Model) -> &'static [(&'static str, Lookup)] {
    use Lookup::*;
    match m {
        Model::Site
        | Model::Manufacturer
        | Model::DeviceRole
        | Model::Platform
        | Model::Tag
        | Model::VlanGroup => &[("name", Exact), ("slug", Exact), ("description", Exact)],
        Model::DeviceType => &[
            ("model", Exact),
            ("slug", Exact),
            ("part_number", Exact),
            ("description", Exact),
        ],
        Model::Device => &[
            ("name", IExact),
            ("serial", IExact),
            ("asset_tag", Exact),
            ("description", Exact),
        ],
        Model::Interface => &[
            ("name", Exact),
            ("label", Exact),
            ("description", Exact),
            ("wwn", Exact),
        ],
        Model::Cable => &[("label", Exact), ("color", Exact), ("description", Exact)],
        Model::VirtualChassis => &[("name", Exact), ("domain", Exact), ("description", Exact)],
        Model::MacAddress => &[("description", Exact)],
        Model::Vrf => &[("name", Exact), ("rd", Exact), ("description", Exact)],
        Model::Prefix => &[("description", Exact)],
        Model::IpAddress => &[("dns_name", Exact), ("description", Exact)],
        Model::Vlan => &[("name", Exact), ("description", Exact)],
        Model::CustomField => &[
            ("name", Exact),
            ("label", Exact),
            ("group_name", Exact),
            ("description", Exact),
        ],
        Model::CustomFieldChoiceSet => &[("name", Exact), ("description", Exact)],
        Model::JournalEntry => &[("comments", Exact)],
        Model::CableTermination => &[],
    }
}

/// Choice filters per model.
pub(super) fn choice_filters(m: Model) -> &'static [&'static str] {
    match m {
        Model::Site
        | Model::Device
        | Model::Cable
        | Model::Prefix
        | Model::IpAddress
        | Model::Vlan => &[
            "status",
            "type",
            "role",
            "face",
            "airflow",
            "length_unit",
            "qinq_role",
        ],
        Model::Interface => &[
            "type",
            "mode",
            "duplex",
            "poe_mode",
            "poe_type",
            "rf_role",
            "rf_channel",
        ],
        Model::DeviceType => &["airflow", "subdevice_role", "weight_unit"],
        Model::CustomField => &["type", "filter_logic", "ui_visible", "ui_editable"],
        Model::JournalEntry => &["kind"],
        Model::CableTermination => &["cable_end"],
        _ => &[],
    }
}

pub(super) fn bool_filters(m: Model) -> &'static [&'static str] {
    match m {
        Model::Interface => &["enabled", "mgmt_only", "mark_connected"],
        Model::Prefix => &["is_pool", "mark_utilized"],
        Model::Vrf => &["enforce_unique"],
        Model::DeviceType => &["is_full_depth", "exclude_from_utilization"],
        Model::DeviceRole => &["vm_role"],
        Model::CustomField => &["required", "unique", "is_cloneable"],
        Model::CustomFieldChoiceSet => &["order_alphabetically"],
        _ => &[],
    }
}

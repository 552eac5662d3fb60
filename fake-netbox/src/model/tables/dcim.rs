//! dcim field tables for sites, manufacturers, device types, device roles, platforms and devices.
//!
//! Data only.

use super::{EDITABLE, HEAD, choice, comp, dec, f, int, opt_choice};
use crate::choices;
use crate::model::Model;
use crate::model::field::{
    BRIEF, Computed, FULL, Field, FieldKind, LOGGED, Nest, NestedCount, PUT_DEFAULT, REQUIRED,
    UNIQUE, WRITABLE,
};

pub(in crate::model) static SITE: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "name",
        FieldKind::Name(100),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED | UNIQUE
    ),
    f(
        "slug",
        FieldKind::Slug(100),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED | UNIQUE
    ),
    f("status", choice(&choices::SITE_STATUS, "active"), EDITABLE),
    f("region", FieldKind::Absent, EDITABLE),
    f("group", FieldKind::Absent, EDITABLE),
    f("tenant", FieldKind::Absent, EDITABLE),
    f("facility", FieldKind::Str(50), EDITABLE),
    f("time_zone", FieldKind::NullStr(63), EDITABLE),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("physical_address", FieldKind::Str(200), EDITABLE),
    f("shipping_address", FieldKind::Str(200), EDITABLE),
    f("latitude", dec(true, 0.0, 6), EDITABLE),
    f("longitude", dec(true, 0.0, 6), EDITABLE),
    f("owner", FieldKind::Absent, EDITABLE),
    f("comments", FieldKind::Text, EDITABLE),
    f("asns", FieldKind::AbsentList, EDITABLE),
    f("tags", FieldKind::Tags, EDITABLE),
    f("custom_fields", FieldKind::CustomFields, EDITABLE),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
    f("circuit_count", FieldKind::Zero, FULL),
    f(
        "device_count",
        comp(Computed::Count(Model::Device, "site", NestedCount::Omit)),
        FULL
    ),
    f(
        "prefix_count",
        comp(Computed::ScopeCount(Model::Prefix, NestedCount::Omit)),
        FULL
    ),
    f("rack_count", FieldKind::Zero, FULL),
    f("virtualmachine_count", FieldKind::Zero, FULL),
    f(
        "vlan_count",
        comp(Computed::Count(Model::Vlan, "site", NestedCount::Omit)),
        FULL
    ),
];

pub(in crate::model) static MANUFACTURER: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "name",
        FieldKind::Name(100),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED | UNIQUE
    ),
    f(
        "slug",
        FieldKind::Slug(100),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED | UNIQUE
    ),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("owner", FieldKind::Absent, EDITABLE),
    f("comments", FieldKind::Text, EDITABLE),
    f("tags", FieldKind::Tags, EDITABLE),
    f("custom_fields", FieldKind::CustomFields, EDITABLE),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
    f(
        "devicetype_count",
        comp(Computed::Count(
            Model::DeviceType,
            "manufacturer",
            NestedCount::Omit
        )),
        FULL
    ),
    f("moduletype_count", FieldKind::Zero, FULL),
    f("inventoryitem_count", FieldKind::Zero, FULL),
    f(
        "platform_count",
        comp(Computed::Count(
            Model::Platform,
            "manufacturer",
            NestedCount::Omit
        )),
        FULL
    ),
];

pub(in crate::model) static DEVICE_TYPE: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "manufacturer",
        FieldKind::ReqFk(Model::Manufacturer, Nest::Brief),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "default_platform",
        FieldKind::Fk(Model::Platform, Nest::Brief),
        EDITABLE
    ),
    f(
        "model",
        FieldKind::Name(100),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "slug",
        FieldKind::Slug(100),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f("part_number", FieldKind::Str(50), EDITABLE),
    f("u_height", dec(false, 1.0, 1), EDITABLE),
    f("exclude_from_utilization", FieldKind::Bool(false), EDITABLE),
    f("is_full_depth", FieldKind::Bool(true), EDITABLE),
    f(
        "subdevice_role",
        opt_choice(&choices::SUBDEVICE_ROLE),
        EDITABLE
    ),
    f("airflow", opt_choice(&choices::AIRFLOW), EDITABLE),
    f(
        "cooling_method",
        opt_choice(&choices::COOLING_METHOD),
        EDITABLE
    ),
    f("weight", dec(true, 0.0, 2), EDITABLE),
    f("weight_unit", opt_choice(&choices::WEIGHT_UNIT), EDITABLE),
    f("end_of_life", FieldKind::Date, EDITABLE),
    f("front_image", FieldKind::Image, FULL | LOGGED),
    f("rear_image", FieldKind::Image, FULL | LOGGED),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("owner", FieldKind::Absent, EDITABLE),
    f("comments", FieldKind::Text, EDITABLE),
    f("tags", FieldKind::Tags, EDITABLE),
    f("custom_fields", FieldKind::CustomFields, EDITABLE),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
    f(
        "device_count",
        comp(Computed::Count(
            Model::Device,
            "device_type",
            NestedCount::Real
        )),
        FULL | BRIEF | LOGGED
    ),
    f(
        "console_port_template_count",
        FieldKind::Zero,
        FULL | LOGGED
    ),
    f(
        "console_server_port_template_count",
        FieldKind::Zero,
        FULL | LOGGED
    ),
    f("power_port_template_count", FieldKind::Zero, FULL | LOGGED),
    f(
        "power_outlet_template_count",
        FieldKind::Zero,
        FULL | LOGGED
    ),
    f(
        "cooling_intake_template_count",
        FieldKind::Zero,
        FULL | LOGGED
    ),
    f(
        "cooling_outflow_template_count",
        FieldKind::Zero,
        FULL | LOGGED
    ),
    f("interface_template_count", FieldKind::Zero, FULL | LOGGED),
    f("front_port_template_count", FieldKind::Zero, FULL | LOGGED),
    f("rear_port_template_count", FieldKind::Zero, FULL | LOGGED),
    f("device_bay_template_count", FieldKind::Zero, FULL | LOGGED),
    f("module_bay_template_count", FieldKind::Zero, FULL | LOGGED),
    f(
        "inventory_item_template_count",
        FieldKind::Zero,
        FULL | LOGGED
    ),
];

pub(in crate::model) static DEVICE_ROLE: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "name",
        FieldKind::Name(100),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "slug",
        FieldKind::Slug(100),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f("color", FieldKind::Color(Some("9e9e9e")), EDITABLE),
    f("vm_role", FieldKind::Bool(true), EDITABLE),
    f("config_template", FieldKind::Absent, EDITABLE),
    f(
        "parent",
        FieldKind::Fk(Model::DeviceRole, Nest::Legacy),
        EDITABLE
    ),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("tags", FieldKind::Tags, EDITABLE),
    f("custom_fields", FieldKind::CustomFields, EDITABLE),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
    f(
        "device_count",
        comp(Computed::Count(Model::Device, "role", NestedCount::Zero)),
        FULL | BRIEF
    ),
    f("virtualmachine_count", FieldKind::Zero, FULL | BRIEF),
    f("owner", FieldKind::Absent, EDITABLE),
    f("comments", FieldKind::Text, EDITABLE),
    f("_depth", comp(Computed::Depth), FULL | BRIEF),
];

pub(in crate::model) static PLATFORM: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "parent",
        FieldKind::Fk(Model::Platform, Nest::Legacy),
        EDITABLE
    ),
    f(
        "name",
        FieldKind::Name(100),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "slug",
        FieldKind::Slug(100),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "manufacturer",
        FieldKind::Fk(Model::Manufacturer, Nest::Brief),
        EDITABLE
    ),
    f("config_template", FieldKind::Absent, EDITABLE),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("owner", FieldKind::Absent, EDITABLE),
    f("comments", FieldKind::Text, EDITABLE),
    f("tags", FieldKind::Tags, EDITABLE),
    f("custom_fields", FieldKind::CustomFields, EDITABLE),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
    f(
        "device_count",
        comp(Computed::Count(
            Model::Device,
            "platform",
            NestedCount::Zero
        )),
        FULL | BRIEF
    ),
    f("virtualmachine_count", FieldKind::Zero, FULL | BRIEF),
    f("_depth", comp(Computed::Depth), FULL | BRIEF),
];

pub(in crate::model) static DEVICE: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "name",
        FieldKind::NullStr(64),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f(
        "device_type",
        FieldKind::ReqFk(Model::DeviceType, Nest::Brief),
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "role",
        FieldKind::ReqFk(Model::DeviceRole, Nest::Brief),
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f("tenant", FieldKind::Absent, EDITABLE),
    f(
        "platform",
        FieldKind::Fk(Model::Platform, Nest::Brief),
        EDITABLE
    ),
    f("serial", FieldKind::Str(50), EDITABLE),
    f("asset_tag", FieldKind::NullStr(50), EDITABLE | UNIQUE),
    f(
        "site",
        FieldKind::ReqFk(Model::Site, Nest::Brief),
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f("location", FieldKind::Absent, EDITABLE | PUT_DEFAULT),
    f("rack", FieldKind::Absent, EDITABLE | PUT_DEFAULT),
    f("position", dec(true, 0.0, 1), EDITABLE),
    f(
        "face",
        FieldKind::Choice {
            set: &choices::DEVICE_FACE,
            null: true,
            default: None,
            plain: false,
            log_blank: true,
        },
        EDITABLE
    ),
    f("latitude", dec(true, 0.0, 6), EDITABLE),
    f("longitude", dec(true, 0.0, 6), EDITABLE),
    f("parent_device", FieldKind::Null, FULL),
    f(
        "status",
        choice(&choices::DEVICE_STATUS, "active"),
        EDITABLE
    ),
    f("airflow", opt_choice(&choices::AIRFLOW), EDITABLE),
    f(
        "cooling_method",
        opt_choice(&choices::COOLING_METHOD),
        EDITABLE
    ),
    f("primary_ip", comp(Computed::PrimaryIp), FULL),
    f(
        "primary_ip4",
        FieldKind::Fk(Model::IpAddress, Nest::Brief),
        EDITABLE
    ),
    f(
        "primary_ip6",
        FieldKind::Fk(Model::IpAddress, Nest::Brief),
        EDITABLE
    ),
    f(
        "oob_ip",
        FieldKind::Fk(Model::IpAddress, Nest::Brief),
        EDITABLE
    ),
    f("cluster", FieldKind::Absent, EDITABLE),
    f(
        "virtual_chassis",
        FieldKind::Fk(Model::VirtualChassis, Nest::Brief),
        EDITABLE | PUT_DEFAULT
    ),
    f("vc_position", int(0, 255, true, 0), EDITABLE | PUT_DEFAULT),
    f("vc_priority", int(0, 255, true, 0), EDITABLE),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("owner", FieldKind::Absent, EDITABLE),
    f("comments", FieldKind::Text, EDITABLE),
    f("config_template", FieldKind::Absent, EDITABLE),
    f("config_context", FieldKind::EmptyObj, FULL),
    f("local_context_data", FieldKind::Json, EDITABLE),
    f("tags", FieldKind::Tags, EDITABLE),
    f("custom_fields", FieldKind::CustomFields, EDITABLE),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
    f("console_port_count", FieldKind::Zero, FULL | LOGGED),
    f("console_server_port_count", FieldKind::Zero, FULL | LOGGED),
    f("power_port_count", FieldKind::Zero, FULL | LOGGED),
    f("power_outlet_count", FieldKind::Zero, FULL | LOGGED),
    f("cooling_intake_count", FieldKind::Zero, FULL | LOGGED),
    f("cooling_outflow_count", FieldKind::Zero, FULL | LOGGED),
    f(
        "interface_count",
        comp(Computed::Count(
            Model::Interface,
            "device",
            NestedCount::Real
        )),
        FULL | LOGGED
    ),
    f("front_port_count", FieldKind::Zero, FULL | LOGGED),
    f("rear_port_count", FieldKind::Zero, FULL | LOGGED),
    f("device_bay_count", FieldKind::Zero, FULL | LOGGED),
    f("module_bay_count", FieldKind::Zero, FULL | LOGGED),
    f("inventory_item_count", FieldKind::Zero, FULL | LOGGED),
];

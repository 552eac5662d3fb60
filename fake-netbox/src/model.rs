//! The registry of NetBox models this fake serves: their endpoints, names, content types and the
//! table of fields of each (API order, brief/nested membership, changelog membership, writability,
//! storage kind).
//!
//! This module is data plus a few lookups. It does not store objects (`store`), render them
//! (`render`) or validate writes (`write`); those modules interpret these tables.

use crate::choices::{self, ChoiceSet};

/// A model (object type) the fake stores. Object changes live beside the store, not in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum M {
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

impl M {
    /// Every stored model, in a fixed order (also the order of `GET /api/<app>/` listings).
    pub const ALL: [M; 20] = [
        M::Site,
        M::Manufacturer,
        M::DeviceType,
        M::DeviceRole,
        M::Platform,
        M::Device,
        M::Interface,
        M::Cable,
        M::CableTermination,
        M::VirtualChassis,
        M::MacAddress,
        M::Vrf,
        M::Prefix,
        M::IpAddress,
        M::VlanGroup,
        M::Vlan,
        M::Tag,
        M::CustomField,
        M::CustomFieldChoiceSet,
        M::JournalEntry,
    ];

    pub fn meta(self) -> &'static Meta {
        &METAS[self as usize]
    }

    pub fn fields(self) -> &'static [F] {
        self.meta().fields
    }

    /// Index of the field called `name` in [`M::fields`].
    pub fn field_index(self, name: &str) -> Option<usize> {
        self.fields().iter().position(|f| f.name == name)
    }

    pub fn field(self, name: &str) -> Option<&'static F> {
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

    pub fn from_label(label: &str) -> Option<M> {
        let (app, model) = label.split_once('.')?;
        M::ALL
            .into_iter()
            .find(|m| m.meta().app == app && m.meta().model == model)
    }

    pub fn from_endpoint(app: &str, endpoint: &str) -> Option<M> {
        M::ALL
            .into_iter()
            .find(|m| m.meta().app == app && m.meta().endpoint == endpoint)
    }

    pub fn from_content_type_id(id: u64) -> Option<M> {
        M::ALL.into_iter().find(|m| m.meta().content_type == id)
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
    pub fields: &'static [F],
}

/// How a related object is represented when nested inside another object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nest {
    /// The model's brief representation (NetBox 4 nested serializers).
    Brief,
    /// The legacy `Nested*Serializer` shape (`display_url` included, fewer fields).
    Legacy,
    /// The bare integer id.
    Id,
}

/// What a count field renders when its object is nested inside another object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NestedCount {
    /// A counter cache: the real number everywhere.
    Real,
    /// An annotation read by `RelatedObjectCountField`: 0 when nested.
    Zero,
    /// An annotation read by a plain `IntegerField`: left out when nested.
    Omit,
}

/// Computed (read-only, not stored) fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum C {
    /// Number of `model` objects whose `field` points at this object.
    Count(M, &'static str, NestedCount),
    /// Number of `model` objects whose scope (`scope_type`/`scope_id`) is this object.
    ScopeCount(M, NestedCount),
    PrimaryIp,
    IfaceMacAddress,
    IfaceMacAddresses,
    IfaceBridgeInterfaces,
    IfaceLinkPeers,
    IfaceLinkPeersType,
    IfaceConnectedEndpoints,
    IfaceConnectedEndpointsType,
    IfaceReachable,
    IfaceCountIpAddresses,
    Occupied,
    CableTerminations(char),
    Termination,
    VcMembers,
    /// The object a generic foreign key (`assigned_object_*`, `scope_*`) points at.
    Gfk(&'static str, &'static str),
    MacIsPrimary,
    Family(&'static str),
    NatOutside,
    PrefixChildren,
    Depth,
    TotalVlanIds,
    Utilization,
    TaggedItems,
    DataType,
    ChoicesCount,
}

/// Storage/parse kind of a field.
#[derive(Clone, Copy, Debug)]
pub enum K {
    Id,
    Url,
    DisplayUrl,
    Display,
    Created,
    LastUpdated,
    /// Text, blank allowed, never null; default "".
    Str(usize),
    /// Text, required and not blank.
    Name(usize),
    /// Text or null (device name, asset tag, VRF RD, time zone, WWN).
    NullStr(usize),
    Slug(usize),
    /// Unlimited text, blank allowed.
    Text,
    /// Six hex digits; `Some(default)` or blank allowed (`None`).
    Color(Option<&'static str>),
    Int {
        min: i64,
        max: i64,
        null: bool,
        default: i64,
    },
    /// A decimal rendered as a JSON number and logged as a string with `places` digits.
    Dec {
        null: bool,
        default: f64,
        places: u8,
        max_digits: u8,
    },
    Bool(bool),
    Choice {
        set: &'static ChoiceSet,
        null: bool,
        default: Option<&'static str>,
        /// Rendered as the bare value (cable `type`, interface `cable_end`) instead of `{value,label}`.
        plain: bool,
        /// Stored (and logged) as "" when empty, rendered as null.
        log_blank: bool,
    },
    /// Arbitrary JSON, default null.
    Json,
    /// A JSON object, default `{}`.
    JsonObj,
    /// `YYYY-MM-DD` or null.
    Date,
    /// An image field: always empty here (rendered null, logged "").
    Image,
    Mac,
    Network,
    Address,
    VidRanges,
    Fk(M, Nest),
    /// A non-null foreign key (required on create).
    ReqFk(M, Nest),
    /// A foreign key to a model this fake does not serve: always null.
    Absent,
    /// A many-to-many relation to a model this fake does not serve: always empty.
    AbsentList,
    M2m(M),
    Tags,
    /// `app.model` of a generic relation (`assigned_object_type`, `scope_type`).
    ContentType {
        null: bool,
    },
    /// The id half of a generic relation.
    ObjectId {
        null: bool,
    },
    /// A list of `app.model` (custom field / tag `object_types`).
    ContentTypes,
    ExtraChoices,
    CustomFields,
    /// A user reference rendered as its id (`created_by`).
    User,
    Computed(C),
    Zero,
    Null,
    EmptyList,
    EmptyObj,
}

/// One field of a model.
#[derive(Clone, Copy, Debug)]
pub struct F {
    pub name: &'static str,
    pub kind: K,
    pub flags: u8,
}

/// Rendered in the full representation.
pub const O: u8 = 1;
/// Part of the brief (and nested) representation.
pub const B: u8 = 2;
/// Part of the change log data (a model field).
pub const L: u8 = 4;
/// Writable through the API.
pub const W: u8 = 8;
/// Required on create and PUT.
pub const R: u8 = 16;
/// Unique on its own (DRF `UniqueValidator`: "<model> with this <field> already exists.").
pub const U: u8 = 32;
/// Has an explicit serializer default: a `PUT` that omits it resets it.
pub const P: u8 = 64;

impl F {
    pub fn is(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Whether the field is held in a record (as opposed to computed on the fly).
    pub fn stored(&self) -> bool {
        !matches!(
            self.kind,
            K::Id
                | K::Url
                | K::DisplayUrl
                | K::Display
                | K::Created
                | K::LastUpdated
                | K::Computed(_)
                | K::Zero
                | K::Null
                | K::EmptyList
                | K::EmptyObj
                | K::Absent
                | K::AbsentList
                | K::Image
                | K::CustomFields
                | K::Tags
        )
    }
}

const fn f(name: &'static str, kind: K, flags: u8) -> F {
    F { name, kind, flags }
}

const OLW: u8 = O | L | W;

const fn int(min: i64, max: i64, null: bool, default: i64) -> K {
    K::Int {
        min,
        max,
        null,
        default,
    }
}

const fn dec(null: bool, default: f64, places: u8, max_digits: u8) -> K {
    K::Dec {
        null,
        default,
        places,
        max_digits,
    }
}

const fn choice(set: &'static ChoiceSet, default: &'static str) -> K {
    K::Choice {
        set,
        null: false,
        default: Some(default),
        plain: false,
        log_blank: false,
    }
}

const fn opt_choice(set: &'static ChoiceSet) -> K {
    K::Choice {
        set,
        null: true,
        default: None,
        plain: false,
        log_blank: false,
    }
}

const fn comp(c: C) -> K {
    K::Computed(c)
}

const HEAD: [F; 4] = [
    f("id", K::Id, O | B),
    f("url", K::Url, O | B),
    f("display_url", K::DisplayUrl, O),
    f("display", K::Display, O | B),
];

macro_rules! fields {
    ($($e:expr),* $(,)?) => { &[$($e),*] };
}

const U16: i64 = 32767;
const POS_INT: i64 = 2_147_483_647;

static SITE: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("name", K::Name(100), O | B | L | W | R | U),
    f("slug", K::Slug(100), O | B | L | W | R | U),
    f("status", choice(&choices::SITE_STATUS, "active"), OLW),
    f("region", K::Absent, OLW),
    f("group", K::Absent, OLW),
    f("tenant", K::Absent, OLW),
    f("facility", K::Str(50), OLW),
    f("time_zone", K::NullStr(63), OLW),
    f("description", K::Str(200), O | B | L | W),
    f("physical_address", K::Str(200), OLW),
    f("shipping_address", K::Str(200), OLW),
    f("latitude", dec(true, 0.0, 6, 8), OLW),
    f("longitude", dec(true, 0.0, 6, 9), OLW),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("asns", K::AbsentList, OLW),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
    f("circuit_count", K::Zero, O),
    f(
        "device_count",
        comp(C::Count(M::Device, "site", NestedCount::Omit)),
        O
    ),
    f(
        "prefix_count",
        comp(C::ScopeCount(M::Prefix, NestedCount::Omit)),
        O
    ),
    f("rack_count", K::Zero, O),
    f("virtualmachine_count", K::Zero, O),
    f(
        "vlan_count",
        comp(C::Count(M::Vlan, "site", NestedCount::Omit)),
        O
    ),
];

static MANUFACTURER: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("name", K::Name(100), O | B | L | W | R | U),
    f("slug", K::Slug(100), O | B | L | W | R | U),
    f("description", K::Str(200), O | B | L | W),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
    f(
        "devicetype_count",
        comp(C::Count(M::DeviceType, "manufacturer", NestedCount::Omit)),
        O
    ),
    f("moduletype_count", K::Zero, O),
    f("inventoryitem_count", K::Zero, O),
    f(
        "platform_count",
        comp(C::Count(M::Platform, "manufacturer", NestedCount::Omit)),
        O
    ),
];

static DEVICE_TYPE: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "manufacturer",
        K::ReqFk(M::Manufacturer, Nest::Brief),
        O | B | L | W | R
    ),
    f("default_platform", K::Fk(M::Platform, Nest::Brief), OLW),
    f("model", K::Name(100), O | B | L | W | R),
    f("slug", K::Slug(100), O | B | L | W | R),
    f("part_number", K::Str(50), OLW),
    f("u_height", dec(false, 1.0, 1, 4), OLW),
    f("exclude_from_utilization", K::Bool(false), OLW),
    f("is_full_depth", K::Bool(true), OLW),
    f("subdevice_role", opt_choice(&choices::SUBDEVICE_ROLE), OLW),
    f("airflow", opt_choice(&choices::AIRFLOW), OLW),
    f("cooling_method", opt_choice(&choices::COOLING_METHOD), OLW),
    f("weight", dec(true, 0.0, 2, 8), OLW),
    f("weight_unit", opt_choice(&choices::WEIGHT_UNIT), OLW),
    f("end_of_life", K::Date, OLW),
    f("front_image", K::Image, O | L),
    f("rear_image", K::Image, O | L),
    f("description", K::Str(200), O | B | L | W),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
    f(
        "device_count",
        comp(C::Count(M::Device, "device_type", NestedCount::Real)),
        O | B | L
    ),
    f("console_port_template_count", K::Zero, O | L),
    f("console_server_port_template_count", K::Zero, O | L),
    f("power_port_template_count", K::Zero, O | L),
    f("power_outlet_template_count", K::Zero, O | L),
    f("cooling_intake_template_count", K::Zero, O | L),
    f("cooling_outflow_template_count", K::Zero, O | L),
    f("interface_template_count", K::Zero, O | L),
    f("front_port_template_count", K::Zero, O | L),
    f("rear_port_template_count", K::Zero, O | L),
    f("device_bay_template_count", K::Zero, O | L),
    f("module_bay_template_count", K::Zero, O | L),
    f("inventory_item_template_count", K::Zero, O | L),
];

static DEVICE_ROLE: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("name", K::Name(100), O | B | L | W | R),
    f("slug", K::Slug(100), O | B | L | W | R),
    f("color", K::Color(Some("9e9e9e")), OLW),
    f("vm_role", K::Bool(true), OLW),
    f("config_template", K::Absent, OLW),
    f("parent", K::Fk(M::DeviceRole, Nest::Legacy), OLW),
    f("description", K::Str(200), O | B | L | W),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
    f(
        "device_count",
        comp(C::Count(M::Device, "role", NestedCount::Zero)),
        O | B
    ),
    f("virtualmachine_count", K::Zero, O | B),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("_depth", comp(C::Depth), O | B),
];

static PLATFORM: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("parent", K::Fk(M::Platform, Nest::Legacy), OLW),
    f("name", K::Name(100), O | B | L | W | R),
    f("slug", K::Slug(100), O | B | L | W | R),
    f("manufacturer", K::Fk(M::Manufacturer, Nest::Brief), OLW),
    f("config_template", K::Absent, OLW),
    f("description", K::Str(200), O | B | L | W),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
    f(
        "device_count",
        comp(C::Count(M::Device, "platform", NestedCount::Zero)),
        O | B
    ),
    f("virtualmachine_count", K::Zero, O | B),
    f("_depth", comp(C::Depth), O | B),
];

static DEVICE: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("name", K::NullStr(64), O | B | L | W),
    f(
        "device_type",
        K::ReqFk(M::DeviceType, Nest::Brief),
        O | L | W | R
    ),
    f("role", K::ReqFk(M::DeviceRole, Nest::Brief), O | L | W | R),
    f("tenant", K::Absent, OLW),
    f("platform", K::Fk(M::Platform, Nest::Brief), OLW),
    f("serial", K::Str(50), OLW),
    f("asset_tag", K::NullStr(50), OLW | U),
    f("site", K::ReqFk(M::Site, Nest::Brief), O | L | W | R),
    f("location", K::Absent, OLW | P),
    f("rack", K::Absent, OLW | P),
    f("position", dec(true, 0.0, 1, 4), OLW),
    f(
        "face",
        K::Choice {
            set: &choices::DEVICE_FACE,
            null: true,
            default: None,
            plain: false,
            log_blank: true,
        },
        OLW
    ),
    f("latitude", dec(true, 0.0, 6, 8), OLW),
    f("longitude", dec(true, 0.0, 6, 9), OLW),
    f("parent_device", K::Null, O),
    f("status", choice(&choices::DEVICE_STATUS, "active"), OLW),
    f("airflow", opt_choice(&choices::AIRFLOW), OLW),
    f("cooling_method", opt_choice(&choices::COOLING_METHOD), OLW),
    f("primary_ip", comp(C::PrimaryIp), O),
    f("primary_ip4", K::Fk(M::IpAddress, Nest::Brief), OLW),
    f("primary_ip6", K::Fk(M::IpAddress, Nest::Brief), OLW),
    f("oob_ip", K::Fk(M::IpAddress, Nest::Brief), OLW),
    f("cluster", K::Absent, OLW),
    f(
        "virtual_chassis",
        K::Fk(M::VirtualChassis, Nest::Brief),
        OLW | P
    ),
    f("vc_position", int(0, 255, true, 0), OLW | P),
    f("vc_priority", int(0, 255, true, 0), OLW),
    f("description", K::Str(200), O | B | L | W),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("config_template", K::Absent, OLW),
    f("config_context", K::EmptyObj, O),
    f("local_context_data", K::Json, OLW),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
    f("console_port_count", K::Zero, O | L),
    f("console_server_port_count", K::Zero, O | L),
    f("power_port_count", K::Zero, O | L),
    f("power_outlet_count", K::Zero, O | L),
    f("cooling_intake_count", K::Zero, O | L),
    f("cooling_outflow_count", K::Zero, O | L),
    f(
        "interface_count",
        comp(C::Count(M::Interface, "device", NestedCount::Real)),
        O | L
    ),
    f("front_port_count", K::Zero, O | L),
    f("rear_port_count", K::Zero, O | L),
    f("device_bay_count", K::Zero, O | L),
    f("module_bay_count", K::Zero, O | L),
    f("inventory_item_count", K::Zero, O | L),
];

static INTERFACE: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "device",
        K::ReqFk(M::Device, Nest::Brief),
        O | B | L | W | R
    ),
    f("vdcs", K::AbsentList, OLW),
    f("module", K::Absent, OLW),
    f("name", K::Name(64), O | B | L | W | R),
    f("label", K::Str(64), OLW),
    f(
        "type",
        K::Choice {
            set: &choices::INTERFACE_TYPE,
            null: false,
            default: None,
            plain: false,
            log_blank: false,
        },
        O | L | W | R
    ),
    f("channels", int(1, U16, true, 0), OLW),
    f("channel_id", int(0, U16, true, 0), OLW),
    f("enabled", K::Bool(true), OLW),
    f("parent", K::Fk(M::Interface, Nest::Legacy), OLW),
    f("bridge", K::Fk(M::Interface, Nest::Legacy), OLW),
    f("bridge_interfaces", comp(C::IfaceBridgeInterfaces), O),
    f("lag", K::Fk(M::Interface, Nest::Legacy), OLW),
    f("mtu", int(1, 65536, true, 0), OLW),
    f("mac_address", comp(C::IfaceMacAddress), O),
    f(
        "primary_mac_address",
        K::Fk(M::MacAddress, Nest::Brief),
        OLW
    ),
    f("mac_addresses", comp(C::IfaceMacAddresses), O),
    f("speed", int(0, POS_INT * 4, true, 0), OLW),
    f("duplex", opt_choice(&choices::DUPLEX), OLW),
    f("wwn", K::NullStr(23), OLW | P),
    f("mgmt_only", K::Bool(false), OLW),
    f("description", K::Str(200), O | B | L | W),
    f("mode", opt_choice(&choices::INTERFACE_MODE), OLW),
    f("rf_role", opt_choice(&choices::RF_ROLE), OLW),
    f("rf_channel", opt_choice(&choices::RF_CHANNEL), OLW),
    f("poe_mode", opt_choice(&choices::POE_MODE), OLW),
    f("poe_type", opt_choice(&choices::POE_TYPE), OLW),
    f("rf_channel_frequency", dec(true, 0.0, 2, 7), OLW),
    f("rf_channel_width", dec(true, 0.0, 3, 7), OLW),
    f("tx_power", int(-40, 127, true, 0), OLW),
    f("untagged_vlan", K::Fk(M::Vlan, Nest::Brief), OLW),
    f("tagged_vlans", K::M2m(M::Vlan), OLW),
    f("qinq_svlan", K::Fk(M::Vlan, Nest::Brief), OLW),
    f("vlan_translation_policy", K::Absent, OLW),
    f("mark_connected", K::Bool(false), OLW),
    f("cable", K::Fk(M::Cable, Nest::Brief), O | B | L),
    f(
        "cable_end",
        K::Choice {
            set: &choices::CABLE_END,
            null: true,
            default: None,
            plain: true,
            log_blank: false,
        },
        O | L
    ),
    f("wireless_link", K::Absent, O | L),
    f("link_peers", comp(C::IfaceLinkPeers), O),
    f("link_peers_type", comp(C::IfaceLinkPeersType), O),
    f("wireless_lans", K::AbsentList, OLW),
    f("vrf", K::Fk(M::Vrf, Nest::Brief), OLW),
    f("l2vpn_termination", K::Null, O),
    f("connected_endpoints", comp(C::IfaceConnectedEndpoints), O),
    f(
        "connected_endpoints_type",
        comp(C::IfaceConnectedEndpointsType),
        O
    ),
    f("connected_endpoints_reachable", comp(C::IfaceReachable), O),
    f("owner", K::Absent, OLW),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
    f("count_ipaddresses", comp(C::IfaceCountIpAddresses), O),
    f("count_fhrp_groups", K::Zero, O),
    f("_occupied", comp(C::Occupied), O | B),
    f("cable_connector", K::Null, L),
    f("cable_positions", K::Null, L),
];

static CABLE: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "type",
        K::Choice {
            set: &choices::CABLE_TYPE,
            null: true,
            default: None,
            plain: true,
            log_blank: false,
        },
        OLW
    ),
    f("a_terminations", comp(C::CableTerminations('A')), O | W),
    f("b_terminations", comp(C::CableTerminations('B')), O | W),
    f("status", choice(&choices::CABLE_STATUS, "connected"), OLW),
    f(
        "profile",
        K::Choice {
            set: &choices::CABLE_PROFILE,
            null: true,
            default: None,
            plain: false,
            log_blank: true,
        },
        OLW
    ),
    f("tenant", K::Absent, OLW),
    f("bundle", K::Absent, OLW),
    f("label", K::Str(100), O | B | L | W),
    f("color", K::Color(None), OLW),
    f("length", dec(true, 0.0, 2, 8), OLW),
    f("length_unit", opt_choice(&choices::LENGTH_UNIT), OLW),
    f("description", K::Str(200), O | B | L | W),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
];

static CABLE_TERMINATION: &[F] = fields![
    HEAD[0],
    HEAD[1],
    f("display", K::Display, O | B),
    f("cable", K::ReqFk(M::Cable, Nest::Id), O | B | L),
    f(
        "cable_end",
        K::Choice {
            set: &choices::CABLE_END,
            null: false,
            default: None,
            plain: true,
            log_blank: false,
        },
        O | B | L
    ),
    f(
        "termination_type",
        K::ContentType { null: false },
        O | B | L
    ),
    f("termination_id", K::ObjectId { null: false }, O | B | L),
    f("termination", comp(C::Termination), O),
    f("connector", K::Null, O | B | L),
    f("positions", K::Null, O | B | L),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
];

static VIRTUAL_CHASSIS: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("name", K::Name(64), O | B | L | W | R),
    f("domain", K::Str(30), OLW),
    f("master", K::Fk(M::Device, Nest::Legacy), O | B | L | W),
    f("description", K::Str(200), O | B | L | W),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
    f(
        "member_count",
        comp(C::Count(M::Device, "virtual_chassis", NestedCount::Real)),
        O | B | L
    ),
    f("members", comp(C::VcMembers), O),
];

static MAC_ADDRESS: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("mac_address", K::Mac, O | B | L | W | R),
    f("assigned_object_type", K::ContentType { null: true }, OLW),
    f("assigned_object_id", K::ObjectId { null: true }, OLW),
    f(
        "assigned_object",
        comp(C::Gfk("assigned_object_type", "assigned_object_id")),
        O
    ),
    f("is_primary", comp(C::MacIsPrimary), O),
    f("description", K::Str(200), O | B | L | W),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
];

static VRF: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("name", K::Name(100), O | B | L | W | R),
    f("rd", K::NullStr(21), O | B | L | W | U),
    f("tenant", K::Absent, OLW),
    f("enforce_unique", K::Bool(true), OLW),
    f("description", K::Str(200), O | B | L | W),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("import_targets", K::AbsentList, OLW),
    f("export_targets", K::AbsentList, OLW),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
    f(
        "ipaddress_count",
        comp(C::Count(M::IpAddress, "vrf", NestedCount::Omit)),
        O
    ),
    f(
        "prefix_count",
        comp(C::Count(M::Prefix, "vrf", NestedCount::Omit)),
        O | B
    ),
];

static PREFIX: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("family", comp(C::Family("prefix")), O | B),
    f("prefix", K::Network, O | B | L | W | R),
    f("vrf", K::Fk(M::Vrf, Nest::Brief), OLW),
    f("scope_type", K::ContentType { null: true }, OLW),
    f("scope_id", K::ObjectId { null: true }, OLW),
    f("scope", comp(C::Gfk("scope_type", "scope_id")), O),
    f("tenant", K::Absent, OLW),
    f("vlan", K::Fk(M::Vlan, Nest::Brief), OLW),
    f("status", choice(&choices::PREFIX_STATUS, "active"), OLW),
    f("role", K::Absent, OLW),
    f("is_pool", K::Bool(false), OLW),
    f("mark_utilized", K::Bool(false), OLW),
    f("description", K::Str(200), O | B | L | W),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
    f("children", comp(C::PrefixChildren), O),
    f("_depth", comp(C::Depth), O | B),
];

static IP_ADDRESS: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("family", comp(C::Family("address")), O | B),
    f("address", K::Address, O | B | L | W | R),
    f("vrf", K::Fk(M::Vrf, Nest::Brief), OLW),
    f("tenant", K::Absent, OLW),
    f("status", choice(&choices::IP_STATUS, "active"), OLW),
    f("role", opt_choice(&choices::IP_ROLE), OLW),
    f("assigned_object_type", K::ContentType { null: true }, OLW),
    f("assigned_object_id", K::ObjectId { null: true }, OLW),
    f(
        "assigned_object",
        comp(C::Gfk("assigned_object_type", "assigned_object_id")),
        O
    ),
    f("nat_inside", K::Fk(M::IpAddress, Nest::Legacy), OLW),
    f("nat_outside", comp(C::NatOutside), O),
    f("dns_name", K::Str(255), OLW),
    f("description", K::Str(200), O | B | L | W),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
];

static VLAN_GROUP: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("name", K::Name(100), O | B | L | W | R),
    f("slug", K::Slug(100), O | B | L | W | R),
    f("scope_type", K::ContentType { null: true }, OLW),
    f("scope_id", K::ObjectId { null: true }, OLW),
    f("scope", comp(C::Gfk("scope_type", "scope_id")), O),
    f("vid_ranges", K::VidRanges, OLW),
    f("total_vlan_ids", comp(C::TotalVlanIds), O | L),
    f("tenant", K::Absent, OLW),
    f("description", K::Str(200), O | B | L | W),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
    f(
        "vlan_count",
        comp(C::Count(M::Vlan, "group", NestedCount::Omit)),
        O | B
    ),
    f("utilization", comp(C::Utilization), O),
];

static VLAN: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("site", K::Fk(M::Site, Nest::Brief), OLW),
    f("group", K::Fk(M::VlanGroup, Nest::Brief), OLW),
    f("vid", int(1, 4094, false, 0), O | B | L | W | R),
    f("name", K::Name(64), O | B | L | W | R),
    f("tenant", K::Absent, OLW),
    f("status", choice(&choices::VLAN_STATUS, "active"), OLW),
    f("role", K::Absent, OLW),
    f("description", K::Str(200), O | B | L | W),
    f("qinq_role", opt_choice(&choices::VLAN_QINQ_ROLE), OLW),
    f("qinq_svlan", K::Fk(M::Vlan, Nest::Brief), OLW),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("l2vpn_termination", K::Null, O),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
    f(
        "prefix_count",
        comp(C::Count(M::Prefix, "vlan", NestedCount::Omit)),
        O
    ),
];

static TAG: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("name", K::Name(100), O | B | L | W | R | U),
    f("slug", K::Slug(100), O | B | L | W | R | U),
    f("color", K::Color(Some("9e9e9e")), O | B | L | W),
    f("description", K::Str(200), O | B | L | W),
    f("weight", int(0, U16, false, 1000), OLW),
    f("object_types", K::ContentTypes, OLW),
    f("tagged_items", comp(C::TaggedItems), O),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
    f("owner", K::Absent, L),
];

static CUSTOM_FIELD: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("object_types", K::ContentTypes, O | L | W | R),
    f("type", choice(&choices::CF_TYPE, "text"), OLW | R),
    f("related_object_type", K::ContentType { null: true }, OLW),
    f("data_type", comp(C::DataType), O),
    f("name", K::Name(50), O | B | L | W | R | U),
    f("label", K::Str(50), OLW),
    f("group_name", K::Str(50), OLW),
    f("description", K::Str(200), O | B | L | W),
    f("required", K::Bool(false), OLW),
    f("unique", K::Bool(false), OLW),
    f("search_weight", int(0, U16, false, 1000), OLW),
    f(
        "filter_logic",
        choice(&choices::CF_FILTER_LOGIC, "loose"),
        OLW
    ),
    f("ui_visible", choice(&choices::CF_UI_VISIBLE, "always"), OLW),
    f("ui_editable", choice(&choices::CF_UI_EDITABLE, "yes"), OLW),
    f("is_cloneable", K::Bool(false), OLW),
    f("nulls_first", K::Bool(true), OLW),
    f("default", K::Json, OLW),
    f("related_object_filter", K::Json, OLW),
    f("weight", int(0, U16, false, 100), OLW),
    f("validation_minimum", dec(true, 0.0, 4, 16), OLW),
    f("validation_maximum", dec(true, 0.0, 4, 16), OLW),
    f("validation_regex", K::Str(500), OLW),
    f("validation_schema", K::Json, OLW),
    f(
        "choice_set",
        K::Fk(M::CustomFieldChoiceSet, Nest::Brief),
        OLW
    ),
    f("status", choice(&choices::CF_STATUS, "active"), O | L),
    f("owner", K::Absent, OLW),
    f("comments", K::Text, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
];

static CHOICE_SET: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("name", K::Name(100), O | B | L | W | R | U),
    f("description", K::Str(200), O | B | L | W),
    f("base_choices", opt_choice(&choices::CHOICE_SET_BASE), OLW),
    f("extra_choices", K::ExtraChoices, O | L | W | R),
    f("choice_colors", K::JsonObj, OLW),
    f("order_alphabetically", K::Bool(false), OLW),
    f("choices_count", comp(C::ChoicesCount), O | B),
    f("owner", K::Absent, OLW),
    f("created", K::Created, O),
    f("last_updated", K::LastUpdated, O),
];

static JOURNAL_ENTRY: &[F] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "assigned_object_type",
        K::ContentType { null: false },
        O | L | W | R
    ),
    f(
        "assigned_object_id",
        K::ObjectId { null: false },
        O | L | W | R
    ),
    f(
        "assigned_object",
        comp(C::Gfk("assigned_object_type", "assigned_object_id")),
        O
    ),
    f("created", K::Created, O | B),
    f("created_by", K::User, OLW),
    f("kind", choice(&choices::JOURNAL_KIND, "info"), OLW),
    f("comments", K::Name(usize::MAX), O | L | W | R),
    f("tags", K::Tags, OLW),
    f("custom_fields", K::CustomFields, OLW),
    f("last_updated", K::LastUpdated, O),
];

#[allow(clippy::too_many_arguments)] // a table row constructor: one argument per column
const fn meta(
    app: &'static str,
    model: &'static str,
    endpoint: &'static str,
    class: &'static str,
    verbose: &'static str,
    content_type: u64,
    ui_path: &'static str,
    fields: &'static [F],
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
    M::from_label(label)
        .map(|m| m.meta().content_type)
        .or_else(|| {
            OTHER_CONTENT_TYPES
                .iter()
                .find(|(l, _)| *l == label)
                .map(|(_, id)| *id)
        })
}

/// The models a generic relation may point at, per (model, field).
pub fn gfk_targets(model: M, field: &str) -> &'static [M] {
    match (model, field) {
        (M::MacAddress, _) => &[M::Interface],
        (M::IpAddress, _) => &[M::Interface],
        (M::Prefix, _) | (M::VlanGroup, _) => &[M::Site],
        (M::CableTermination, _) => &[M::Interface],
        (M::JournalEntry, _) => &[
            M::Site,
            M::Manufacturer,
            M::DeviceType,
            M::DeviceRole,
            M::Platform,
            M::Device,
            M::Interface,
            M::Cable,
            M::VirtualChassis,
            M::MacAddress,
            M::Vrf,
            M::Prefix,
            M::IpAddress,
            M::VlanGroup,
            M::Vlan,
        ],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_has_an_id_and_a_display() {
        for m in M::ALL {
            assert_eq!(m.fields()[0].name, "id", "{m:?}");
            assert!(m.field("display").is_some(), "{m:?}");
            assert_eq!(M::from_label(&m.label()), Some(m));
            assert_eq!(M::from_content_type_id(m.meta().content_type), Some(m));
        }
    }

    #[test]
    fn field_names_are_unique_per_model() {
        for m in M::ALL {
            let mut names: Vec<_> = m.fields().iter().map(|f| f.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "{m:?}");
        }
    }
}

//! The registry of NetBox models this fake serves: their endpoints, names, content types and the
//! table of fields of each (API order, brief/nested membership, changelog membership, writability,
//! storage kind).
//!
//! This module is data plus a few lookups. It does not store objects (`store`), render them
//! (`render`) or validate writes (`write`); those modules interpret these tables.

use crate::choices::{self, ChoiceSet};

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

    pub fn from_content_type_id(id: u64) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.meta().content_type == id)
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
pub enum Computed {
    /// Number of `model` objects whose `field` points at this object.
    Count(Model, &'static str, NestedCount),
    /// Number of `model` objects whose scope (`scope_type`/`scope_id`) is this object.
    ScopeCount(Model, NestedCount),
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
pub enum FieldKind {
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
    Fk(Model, Nest),
    /// A non-null foreign key (required on create).
    ReqFk(Model, Nest),
    /// A foreign key to a model this fake does not serve: always null.
    Absent,
    /// A many-to-many relation to a model this fake does not serve: always empty.
    AbsentList,
    M2m(Model),
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
    Computed(Computed),
    Zero,
    Null,
    EmptyList,
    EmptyObj,
}

/// One field of a model.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldKind,
    pub flags: u8,
}

/// Rendered in the full representation.
pub const FULL: u8 = 1;
/// Part of the brief (and nested) representation.
pub const BRIEF: u8 = 2;
/// Part of the change log data (a model field).
pub const LOGGED: u8 = 4;
/// Writable through the API.
pub const WRITABLE: u8 = 8;
/// Required on create and PUT.
pub const REQUIRED: u8 = 16;
/// Unique on its own (DRF `UniqueValidator`: "<model> with this <field> already exists.").
pub const UNIQUE: u8 = 32;
/// Has an explicit serializer default: a `PUT` that omits it resets it.
pub const PUT_DEFAULT: u8 = 64;

impl Field {
    pub fn is(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Whether the field is held in a record (as opposed to computed on the fly).
    pub fn stored(&self) -> bool {
        !matches!(
            self.kind,
            FieldKind::Id
                | FieldKind::Url
                | FieldKind::DisplayUrl
                | FieldKind::Display
                | FieldKind::Created
                | FieldKind::LastUpdated
                | FieldKind::Computed(_)
                | FieldKind::Zero
                | FieldKind::Null
                | FieldKind::EmptyList
                | FieldKind::EmptyObj
                | FieldKind::Absent
                | FieldKind::AbsentList
                | FieldKind::Image
                | FieldKind::CustomFields
                | FieldKind::Tags
        )
    }
}

const fn f(name: &'static str, kind: FieldKind, flags: u8) -> Field {
    Field { name, kind, flags }
}

const EDITABLE: u8 = FULL | LOGGED | WRITABLE;

const fn int(min: i64, max: i64, null: bool, default: i64) -> FieldKind {
    FieldKind::Int {
        min,
        max,
        null,
        default,
    }
}

const fn dec(null: bool, default: f64, places: u8, max_digits: u8) -> FieldKind {
    FieldKind::Dec {
        null,
        default,
        places,
        max_digits,
    }
}

const fn choice(set: &'static ChoiceSet, default: &'static str) -> FieldKind {
    FieldKind::Choice {
        set,
        null: false,
        default: Some(default),
        plain: false,
        log_blank: false,
    }
}

const fn opt_choice(set: &'static ChoiceSet) -> FieldKind {
    FieldKind::Choice {
        set,
        null: true,
        default: None,
        plain: false,
        log_blank: false,
    }
}

const fn comp(c: Computed) -> FieldKind {
    FieldKind::Computed(c)
}

const HEAD: [Field; 4] = [
    f("id", FieldKind::Id, FULL | BRIEF),
    f("url", FieldKind::Url, FULL | BRIEF),
    f("display_url", FieldKind::DisplayUrl, FULL),
    f("display", FieldKind::Display, FULL | BRIEF),
];

macro_rules! fields {
    ($($e:expr),* $(,)?) => { &[$($e),*] };
}

const U16: i64 = 32767;
const POS_INT: i64 = 2_147_483_647;

static SITE: &[Field] = fields![
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
    f("latitude", dec(true, 0.0, 6, 8), EDITABLE),
    f("longitude", dec(true, 0.0, 6, 9), EDITABLE),
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

static MANUFACTURER: &[Field] = fields![
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

static DEVICE_TYPE: &[Field] = fields![
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
    f("u_height", dec(false, 1.0, 1, 4), EDITABLE),
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
    f("weight", dec(true, 0.0, 2, 8), EDITABLE),
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

static DEVICE_ROLE: &[Field] = fields![
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

static PLATFORM: &[Field] = fields![
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

static DEVICE: &[Field] = fields![
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
    f("position", dec(true, 0.0, 1, 4), EDITABLE),
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
    f("latitude", dec(true, 0.0, 6, 8), EDITABLE),
    f("longitude", dec(true, 0.0, 6, 9), EDITABLE),
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

static INTERFACE: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "device",
        FieldKind::ReqFk(Model::Device, Nest::Brief),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f("vdcs", FieldKind::AbsentList, EDITABLE),
    f("module", FieldKind::Absent, EDITABLE),
    f(
        "name",
        FieldKind::Name(64),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f("label", FieldKind::Str(64), EDITABLE),
    f(
        "type",
        FieldKind::Choice {
            set: &choices::INTERFACE_TYPE,
            null: false,
            default: None,
            plain: false,
            log_blank: false,
        },
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f("channels", int(1, U16, true, 0), EDITABLE),
    f("channel_id", int(0, U16, true, 0), EDITABLE),
    f("enabled", FieldKind::Bool(true), EDITABLE),
    f(
        "parent",
        FieldKind::Fk(Model::Interface, Nest::Legacy),
        EDITABLE
    ),
    f(
        "bridge",
        FieldKind::Fk(Model::Interface, Nest::Legacy),
        EDITABLE
    ),
    f(
        "bridge_interfaces",
        comp(Computed::IfaceBridgeInterfaces),
        FULL
    ),
    f(
        "lag",
        FieldKind::Fk(Model::Interface, Nest::Legacy),
        EDITABLE
    ),
    f("mtu", int(1, 65536, true, 0), EDITABLE),
    f("mac_address", comp(Computed::IfaceMacAddress), FULL),
    f(
        "primary_mac_address",
        FieldKind::Fk(Model::MacAddress, Nest::Brief),
        EDITABLE
    ),
    f("mac_addresses", comp(Computed::IfaceMacAddresses), FULL),
    f("speed", int(0, POS_INT * 4, true, 0), EDITABLE),
    f("duplex", opt_choice(&choices::DUPLEX), EDITABLE),
    f("wwn", FieldKind::NullStr(23), EDITABLE | PUT_DEFAULT),
    f("mgmt_only", FieldKind::Bool(false), EDITABLE),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("mode", opt_choice(&choices::INTERFACE_MODE), EDITABLE),
    f("rf_role", opt_choice(&choices::RF_ROLE), EDITABLE),
    f("rf_channel", opt_choice(&choices::RF_CHANNEL), EDITABLE),
    f("poe_mode", opt_choice(&choices::POE_MODE), EDITABLE),
    f("poe_type", opt_choice(&choices::POE_TYPE), EDITABLE),
    f("rf_channel_frequency", dec(true, 0.0, 2, 7), EDITABLE),
    f("rf_channel_width", dec(true, 0.0, 3, 7), EDITABLE),
    f("tx_power", int(-40, 127, true, 0), EDITABLE),
    f(
        "untagged_vlan",
        FieldKind::Fk(Model::Vlan, Nest::Brief),
        EDITABLE
    ),
    f("tagged_vlans", FieldKind::M2m(Model::Vlan), EDITABLE),
    f(
        "qinq_svlan",
        FieldKind::Fk(Model::Vlan, Nest::Brief),
        EDITABLE
    ),
    f("vlan_translation_policy", FieldKind::Absent, EDITABLE),
    f("mark_connected", FieldKind::Bool(false), EDITABLE),
    f(
        "cable",
        FieldKind::Fk(Model::Cable, Nest::Brief),
        FULL | BRIEF | LOGGED
    ),
    f(
        "cable_end",
        FieldKind::Choice {
            set: &choices::CABLE_END,
            null: true,
            default: None,
            plain: true,
            log_blank: false,
        },
        FULL | LOGGED
    ),
    f("wireless_link", FieldKind::Absent, FULL | LOGGED),
    f("link_peers", comp(Computed::IfaceLinkPeers), FULL),
    f("link_peers_type", comp(Computed::IfaceLinkPeersType), FULL),
    f("wireless_lans", FieldKind::AbsentList, EDITABLE),
    f("vrf", FieldKind::Fk(Model::Vrf, Nest::Brief), EDITABLE),
    f("l2vpn_termination", FieldKind::Null, FULL),
    f(
        "connected_endpoints",
        comp(Computed::IfaceConnectedEndpoints),
        FULL
    ),
    f(
        "connected_endpoints_type",
        comp(Computed::IfaceConnectedEndpointsType),
        FULL
    ),
    f(
        "connected_endpoints_reachable",
        comp(Computed::IfaceReachable),
        FULL
    ),
    f("owner", FieldKind::Absent, EDITABLE),
    f("tags", FieldKind::Tags, EDITABLE),
    f("custom_fields", FieldKind::CustomFields, EDITABLE),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
    f(
        "count_ipaddresses",
        comp(Computed::IfaceCountIpAddresses),
        FULL
    ),
    f("count_fhrp_groups", FieldKind::Zero, FULL),
    f("_occupied", comp(Computed::Occupied), FULL | BRIEF),
    f("cable_connector", FieldKind::Null, LOGGED),
    f("cable_positions", FieldKind::Null, LOGGED),
];

static CABLE: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "type",
        FieldKind::Choice {
            set: &choices::CABLE_TYPE,
            null: true,
            default: None,
            plain: true,
            log_blank: false,
        },
        EDITABLE
    ),
    f(
        "a_terminations",
        comp(Computed::CableTerminations('A')),
        FULL | WRITABLE
    ),
    f(
        "b_terminations",
        comp(Computed::CableTerminations('B')),
        FULL | WRITABLE
    ),
    f(
        "status",
        choice(&choices::CABLE_STATUS, "connected"),
        EDITABLE
    ),
    f(
        "profile",
        FieldKind::Choice {
            set: &choices::CABLE_PROFILE,
            null: true,
            default: None,
            plain: false,
            log_blank: true,
        },
        EDITABLE
    ),
    f("tenant", FieldKind::Absent, EDITABLE),
    f("bundle", FieldKind::Absent, EDITABLE),
    f(
        "label",
        FieldKind::Str(100),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("color", FieldKind::Color(None), EDITABLE),
    f("length", dec(true, 0.0, 2, 8), EDITABLE),
    f("length_unit", opt_choice(&choices::LENGTH_UNIT), EDITABLE),
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
];

static CABLE_TERMINATION: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    f("display", FieldKind::Display, FULL | BRIEF),
    f(
        "cable",
        FieldKind::ReqFk(Model::Cable, Nest::Id),
        FULL | BRIEF | LOGGED
    ),
    f(
        "cable_end",
        FieldKind::Choice {
            set: &choices::CABLE_END,
            null: false,
            default: None,
            plain: true,
            log_blank: false,
        },
        FULL | BRIEF | LOGGED
    ),
    f(
        "termination_type",
        FieldKind::ContentType { null: false },
        FULL | BRIEF | LOGGED
    ),
    f(
        "termination_id",
        FieldKind::ObjectId { null: false },
        FULL | BRIEF | LOGGED
    ),
    f("termination", comp(Computed::Termination), FULL),
    f("connector", FieldKind::Null, FULL | BRIEF | LOGGED),
    f("positions", FieldKind::Null, FULL | BRIEF | LOGGED),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
];

static VIRTUAL_CHASSIS: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "name",
        FieldKind::Name(64),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f("domain", FieldKind::Str(30), EDITABLE),
    f(
        "master",
        FieldKind::Fk(Model::Device, Nest::Legacy),
        FULL | BRIEF | LOGGED | WRITABLE
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
        "member_count",
        comp(Computed::Count(
            Model::Device,
            "virtual_chassis",
            NestedCount::Real
        )),
        FULL | BRIEF | LOGGED
    ),
    f("members", comp(Computed::VcMembers), FULL),
];

static MAC_ADDRESS: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "mac_address",
        FieldKind::Mac,
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "assigned_object_type",
        FieldKind::ContentType { null: true },
        EDITABLE
    ),
    f(
        "assigned_object_id",
        FieldKind::ObjectId { null: true },
        EDITABLE
    ),
    f(
        "assigned_object",
        comp(Computed::Gfk("assigned_object_type", "assigned_object_id")),
        FULL
    ),
    f("is_primary", comp(Computed::MacIsPrimary), FULL),
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
];

static VRF: &[Field] = fields![
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
        "rd",
        FieldKind::NullStr(21),
        FULL | BRIEF | LOGGED | WRITABLE | UNIQUE
    ),
    f("tenant", FieldKind::Absent, EDITABLE),
    f("enforce_unique", FieldKind::Bool(true), EDITABLE),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("owner", FieldKind::Absent, EDITABLE),
    f("comments", FieldKind::Text, EDITABLE),
    f("import_targets", FieldKind::AbsentList, EDITABLE),
    f("export_targets", FieldKind::AbsentList, EDITABLE),
    f("tags", FieldKind::Tags, EDITABLE),
    f("custom_fields", FieldKind::CustomFields, EDITABLE),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
    f(
        "ipaddress_count",
        comp(Computed::Count(Model::IpAddress, "vrf", NestedCount::Omit)),
        FULL
    ),
    f(
        "prefix_count",
        comp(Computed::Count(Model::Prefix, "vrf", NestedCount::Omit)),
        FULL | BRIEF
    ),
];

static PREFIX: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("family", comp(Computed::Family("prefix")), FULL | BRIEF),
    f(
        "prefix",
        FieldKind::Network,
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f("vrf", FieldKind::Fk(Model::Vrf, Nest::Brief), EDITABLE),
    f(
        "scope_type",
        FieldKind::ContentType { null: true },
        EDITABLE
    ),
    f("scope_id", FieldKind::ObjectId { null: true }, EDITABLE),
    f("scope", comp(Computed::Gfk("scope_type", "scope_id")), FULL),
    f("tenant", FieldKind::Absent, EDITABLE),
    f("vlan", FieldKind::Fk(Model::Vlan, Nest::Brief), EDITABLE),
    f(
        "status",
        choice(&choices::PREFIX_STATUS, "active"),
        EDITABLE
    ),
    f("role", FieldKind::Absent, EDITABLE),
    f("is_pool", FieldKind::Bool(false), EDITABLE),
    f("mark_utilized", FieldKind::Bool(false), EDITABLE),
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
    f("children", comp(Computed::PrefixChildren), FULL),
    f("_depth", comp(Computed::Depth), FULL | BRIEF),
];

static IP_ADDRESS: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("family", comp(Computed::Family("address")), FULL | BRIEF),
    f(
        "address",
        FieldKind::Address,
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f("vrf", FieldKind::Fk(Model::Vrf, Nest::Brief), EDITABLE),
    f("tenant", FieldKind::Absent, EDITABLE),
    f("status", choice(&choices::IP_STATUS, "active"), EDITABLE),
    f("role", opt_choice(&choices::IP_ROLE), EDITABLE),
    f(
        "assigned_object_type",
        FieldKind::ContentType { null: true },
        EDITABLE
    ),
    f(
        "assigned_object_id",
        FieldKind::ObjectId { null: true },
        EDITABLE
    ),
    f(
        "assigned_object",
        comp(Computed::Gfk("assigned_object_type", "assigned_object_id")),
        FULL
    ),
    f(
        "nat_inside",
        FieldKind::Fk(Model::IpAddress, Nest::Legacy),
        EDITABLE
    ),
    f("nat_outside", comp(Computed::NatOutside), FULL),
    f("dns_name", FieldKind::Str(255), EDITABLE),
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
];

static VLAN_GROUP: &[Field] = fields![
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
    f(
        "scope_type",
        FieldKind::ContentType { null: true },
        EDITABLE
    ),
    f("scope_id", FieldKind::ObjectId { null: true }, EDITABLE),
    f("scope", comp(Computed::Gfk("scope_type", "scope_id")), FULL),
    f("vid_ranges", FieldKind::VidRanges, EDITABLE),
    f(
        "total_vlan_ids",
        comp(Computed::TotalVlanIds),
        FULL | LOGGED
    ),
    f("tenant", FieldKind::Absent, EDITABLE),
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
        "vlan_count",
        comp(Computed::Count(Model::Vlan, "group", NestedCount::Omit)),
        FULL | BRIEF
    ),
    f("utilization", comp(Computed::Utilization), FULL),
];

static VLAN: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f("site", FieldKind::Fk(Model::Site, Nest::Brief), EDITABLE),
    f(
        "group",
        FieldKind::Fk(Model::VlanGroup, Nest::Brief),
        EDITABLE
    ),
    f(
        "vid",
        int(1, 4094, false, 0),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "name",
        FieldKind::Name(64),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED
    ),
    f("tenant", FieldKind::Absent, EDITABLE),
    f("status", choice(&choices::VLAN_STATUS, "active"), EDITABLE),
    f("role", FieldKind::Absent, EDITABLE),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("qinq_role", opt_choice(&choices::VLAN_QINQ_ROLE), EDITABLE),
    f(
        "qinq_svlan",
        FieldKind::Fk(Model::Vlan, Nest::Brief),
        EDITABLE
    ),
    f("owner", FieldKind::Absent, EDITABLE),
    f("comments", FieldKind::Text, EDITABLE),
    f("l2vpn_termination", FieldKind::Null, FULL),
    f("tags", FieldKind::Tags, EDITABLE),
    f("custom_fields", FieldKind::CustomFields, EDITABLE),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
    f(
        "prefix_count",
        comp(Computed::Count(Model::Prefix, "vlan", NestedCount::Omit)),
        FULL
    ),
];

static TAG: &[Field] = fields![
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
        "color",
        FieldKind::Color(Some("9e9e9e")),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("weight", int(0, U16, false, 1000), EDITABLE),
    f("object_types", FieldKind::ContentTypes, EDITABLE),
    f("tagged_items", comp(Computed::TaggedItems), FULL),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
    f("owner", FieldKind::Absent, LOGGED),
];

static CUSTOM_FIELD: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "object_types",
        FieldKind::ContentTypes,
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "type",
        choice(&choices::CF_TYPE, "text"),
        EDITABLE | REQUIRED
    ),
    f(
        "related_object_type",
        FieldKind::ContentType { null: true },
        EDITABLE
    ),
    f("data_type", comp(Computed::DataType), FULL),
    f(
        "name",
        FieldKind::Name(50),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED | UNIQUE
    ),
    f("label", FieldKind::Str(50), EDITABLE),
    f("group_name", FieldKind::Str(50), EDITABLE),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("required", FieldKind::Bool(false), EDITABLE),
    f("unique", FieldKind::Bool(false), EDITABLE),
    f("search_weight", int(0, U16, false, 1000), EDITABLE),
    f(
        "filter_logic",
        choice(&choices::CF_FILTER_LOGIC, "loose"),
        EDITABLE
    ),
    f(
        "ui_visible",
        choice(&choices::CF_UI_VISIBLE, "always"),
        EDITABLE
    ),
    f(
        "ui_editable",
        choice(&choices::CF_UI_EDITABLE, "yes"),
        EDITABLE
    ),
    f("is_cloneable", FieldKind::Bool(false), EDITABLE),
    f("nulls_first", FieldKind::Bool(true), EDITABLE),
    f("default", FieldKind::Json, EDITABLE),
    f("related_object_filter", FieldKind::Json, EDITABLE),
    f("weight", int(0, U16, false, 100), EDITABLE),
    f("validation_minimum", dec(true, 0.0, 4, 16), EDITABLE),
    f("validation_maximum", dec(true, 0.0, 4, 16), EDITABLE),
    f("validation_regex", FieldKind::Str(500), EDITABLE),
    f("validation_schema", FieldKind::Json, EDITABLE),
    f(
        "choice_set",
        FieldKind::Fk(Model::CustomFieldChoiceSet, Nest::Brief),
        EDITABLE
    ),
    f(
        "status",
        choice(&choices::CF_STATUS, "active"),
        FULL | LOGGED
    ),
    f("owner", FieldKind::Absent, EDITABLE),
    f("comments", FieldKind::Text, EDITABLE),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
];

static CHOICE_SET: &[Field] = fields![
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
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f(
        "base_choices",
        opt_choice(&choices::CHOICE_SET_BASE),
        EDITABLE
    ),
    f(
        "extra_choices",
        FieldKind::ExtraChoices,
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f("choice_colors", FieldKind::JsonObj, EDITABLE),
    f("order_alphabetically", FieldKind::Bool(false), EDITABLE),
    f("choices_count", comp(Computed::ChoicesCount), FULL | BRIEF),
    f("owner", FieldKind::Absent, EDITABLE),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
];

static JOURNAL_ENTRY: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "assigned_object_type",
        FieldKind::ContentType { null: false },
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "assigned_object_id",
        FieldKind::ObjectId { null: false },
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "assigned_object",
        comp(Computed::Gfk("assigned_object_type", "assigned_object_id")),
        FULL
    ),
    f("created", FieldKind::Created, FULL | BRIEF),
    f("created_by", FieldKind::User, EDITABLE),
    f("kind", choice(&choices::JOURNAL_KIND, "info"), EDITABLE),
    f(
        "comments",
        FieldKind::Name(usize::MAX),
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f("tags", FieldKind::Tags, EDITABLE),
    f("custom_fields", FieldKind::CustomFields, EDITABLE),
    f("last_updated", FieldKind::LastUpdated, FULL),
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
            assert_eq!(Model::from_content_type_id(m.meta().content_type), Some(m));
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

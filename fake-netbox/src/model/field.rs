//! The shape of a model's field table: what kind of value a field holds ([`FieldKind`]), the
//! computed fields ([`Computed`]), how related objects nest, and the flags that say where a field
//! appears (full/brief representation, change log, writable, required, unique).
//!
//! Types only; the tables themselves are in `tables`.

use super::Model;
use crate::choices::ChoiceSet;

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
                | FieldKind::EmptyObj
                | FieldKind::Absent
                | FieldKind::AbsentList
                | FieldKind::Image
                | FieldKind::CustomFields
                | FieldKind::Tags
        )
    }
}

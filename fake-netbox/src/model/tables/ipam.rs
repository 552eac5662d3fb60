//! ipam field tables for VRFs, prefixes, IP addresses, VLAN groups and VLANs.
//!
//! Data only.

use super::{EDITABLE, HEAD, choice, comp, f, int, opt_choice};
use crate::choices;
use crate::model::Model;
use crate::model::field::{
    BRIEF, Computed, FULL, Field, FieldKind, LOGGED, Nest, NestedCount, REQUIRED, UNIQUE, WRITABLE,
};

pub(in crate::model) static VRF: &[Field] = fields![
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

pub(in crate::model) static PREFIX: &[Field] = fields![
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

pub(in crate::model) static IP_ADDRESS: &[Field] = fields![
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

pub(in crate::model) static VLAN_GROUP: &[Field] = fields![
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

pub(in crate::model) static VLAN: &[Field] = fields![
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

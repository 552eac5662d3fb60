//! dcim field tables for interfaces, cables, cable terminations, virtual chassis and MAC
//! addresses.
//!
//! Data only.

use super::{EDITABLE, HEAD, POS_INT, U16, choice, comp, dec, f, int, opt_choice};
use crate::choices;
use crate::model::Model;
use crate::model::field::{
    BRIEF, Computed, FULL, Field, FieldKind, LOGGED, Nest, NestedCount, PUT_DEFAULT, REQUIRED,
    WRITABLE,
};

pub(in crate::model) static INTERFACE: &[Field] = fields![
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
    f("rf_channel_frequency", dec(true, 0.0, 2), EDITABLE),
    f("rf_channel_width", dec(true, 0.0, 3), EDITABLE),
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

pub(in crate::model) static CABLE: &[Field] = fields![
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
    f("length", dec(true, 0.0, 2), EDITABLE),
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

pub(in crate::model) static CABLE_TERMINATION: &[Field] = fields![
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

pub(in crate::model) static VIRTUAL_CHASSIS: &[Field] = fields![
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

pub(in crate::model) static MAC_ADDRESS: &[Field] = fields![
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

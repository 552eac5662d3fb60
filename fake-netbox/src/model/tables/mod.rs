//! The field table of every served model, in NetBox's API order, read from NetBox 4.7.3's
//! serializers and models: one file per app ([`dcim`], [`dcim_interfaces`], [`ipam`],
//! [`extras`]), with the constructors they share here.
//!
//! Data only; `model` looks fields up, other modules interpret them.

use super::field::{BRIEF, Computed, FULL, Field, FieldKind, LOGGED, WRITABLE};
use crate::choices::ChoiceSet;

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

const fn dec(null: bool, default: f64, places: u8) -> FieldKind {
    FieldKind::Dec {
        null,
        default,
        places,
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

mod dcim;
mod dcim_interfaces;
mod extras;
mod ipam;

pub(super) use dcim::{DEVICE, DEVICE_ROLE, DEVICE_TYPE, MANUFACTURER, PLATFORM, SITE};
pub(super) use dcim_interfaces::{
    CABLE, CABLE_TERMINATION, INTERFACE, MAC_ADDRESS, VIRTUAL_CHASSIS,
};
pub(super) use extras::{CHOICE_SET, CUSTOM_FIELD, JOURNAL_ENTRY, TAG};
pub(super) use ipam::{IP_ADDRESS, PREFIX, VLAN, VLAN_GROUP, VRF};

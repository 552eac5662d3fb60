//! Validation after parsing, with NetBox's error texts: `full_clean()` (custom field values, the
//! model's `clean()` rules, uniqueness constraints) and the serializer-level checks some models
//! add. The per-model rules live in one file per app ([`dcim`], [`ipam`], [`extras`]); this file
//! dispatches to them.
//!
//! It does not parse request bodies or mutate the store.

mod dcim;
mod extras;
mod ipam;

use super::custom_fields::clean_custom_fields;
use super::{Errs, WriteError, add_err};
use crate::model::Model;
use crate::render::Ctx;
use crate::store::{Id, Rec, Store};

pub(super) use dcim::serializer_validate;

/// `full_clean()`: custom fields and model rules, then uniqueness constraints.
pub(super) fn full_clean(
    store: &Store,
    m: Model,
    rec: &Rec,
    old: Option<&Rec>,
) -> Result<(), WriteError> {
    let mut errs = Errs::new();
    let cf_err = if m.has_custom_fields() {
        clean_custom_fields(store, m, rec.id, &rec.cf)
    } else {
        None
    };
    match cf_err {
        Some(msg) => add_err(&mut errs, "__all__", msg),
        None => {
            for (k, v) in clean_model(store, m, rec, old) {
                errs.insert(k, v);
            }
        }
    }
    for msg in constraint_errors(store, m, rec) {
        add_err(&mut errs, "__all__", msg);
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(WriteError::Invalid(errs))
    }
}

/// Model-specific `clean()` rules, one function per model. Field-keyed errors or a non-field
/// message (`__all__`).
fn clean_model(store: &Store, m: Model, rec: &Rec, old: Option<&Rec>) -> Errs {
    match m {
        Model::Device => dcim::device(store, rec, old),
        Model::Interface => dcim::interface(store, rec, old),
        Model::VirtualChassis => dcim::virtual_chassis(store, rec),
        Model::MacAddress => dcim::mac_address(store, rec, old),
        Model::IpAddress => ipam::ip_address(store, rec, old),
        Model::Prefix | Model::VlanGroup => ipam::scope(store, m, rec),
        Model::Vlan => ipam::vlan(store, rec),
        Model::CustomField => extras::custom_field(rec),
        Model::JournalEntry => extras::journal_entry(store, rec),
        _ => Errs::new(),
    }
}

/// How an error message names object `id` of `model` (empty when there is none).
fn display(ctx: &Ctx, model: Model, id: Option<Id>) -> String {
    id.and_then(|id| ctx.store.get(model, id))
        .map(|r| ctx.display(model, r))
        .unwrap_or_default()
}

/// Uniqueness constraints checked by `validate_constraints()` (non-field errors).
fn constraint_errors(store: &Store, m: Model, rec: &Rec) -> Vec<String> {
    let msg = |name: &str| -> Option<&'static str> {
        Some(match (m, name) {
            (Model::DeviceType, "manufacturer_model") => {
                "Device type with this Manufacturer and Model already exists."
            }
            (Model::DeviceType, "manufacturer_slug") => {
                "Device type with this Manufacturer and Slug already exists."
            }
            (Model::DeviceRole, "scope_name") => "A device role with this name already exists.",
            (Model::DeviceRole, "scope_slug") => "A device role with this slug already exists.",
            (Model::Platform, "scope_name") => "Platform name must be unique.",
            (Model::Platform, "scope_slug") => "Platform slug must be unique.",
            (Model::Device, "name_site") => "Device name must be unique per site and tenant.",
            (Model::Device, "vc_position") => {
                "Device with this Virtual chassis and VC position already exists."
            }
            (Model::Interface, "device_name") => {
                "Interface with this Device and Name already exists."
            }
            (Model::VlanGroup, "scope_name") => {
                "VLAN group with this Scope type, Scope ID and Name already exists."
            }
            (Model::VlanGroup, "scope_slug") => {
                "VLAN group with this Scope type, Scope ID and Slug already exists."
            }
            (Model::Vlan, "group_vid") => "VLAN with this Group and VLAN ID already exists.",
            (Model::Vlan, "group_name") => "VLAN with this Group and Name already exists.",
            _ => return None,
        })
    };
    crate::store::unique_keys(m, rec)
        .into_iter()
        .filter_map(|(name, key)| {
            let text = msg(name)?;
            let holder = store.unique_holder(m, name, &key)?;
            (holder != rec.id).then(|| text.to_string())
        })
        .collect()
}

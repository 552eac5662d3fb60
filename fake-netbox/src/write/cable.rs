//! What a cable write does beyond the cable itself: checking its terminations (NetBox's
//! `Cable.clean()` and `CableTermination.clean()`), creating and removing `CableTermination`
//! objects, and recording the cable fields on the interfaces, each with its change record.
//!
//! It does not parse terminations from a request body (`body` does) or delete cables (`delete`).

use serde_json::{Value, json};

use super::{Tx, WriteError, one};
use crate::model::Model;
use crate::render::Ctx;
use crate::store::{Id, Rec, Store};

/// Validates cable terminations (NetBox's `Cable.clean()` and `CableTermination.clean()`).
pub(super) fn check_terminations(
    store: &Store,
    cable_id: Id,
    a: &[(Model, Id)],
    b: &[(Model, Id)],
) -> Result<(), WriteError> {
    for (mm, id) in a.iter().chain(b.iter()) {
        if store.get(*mm, *id).is_none() {
            return Err(WriteError::Server(json!({
                "error": "Interface matching query does not exist.",
                "exception": "DoesNotExist",
                "netbox_version": crate::NETBOX_VERSION,
                "python_version": crate::PYTHON_VERSION,
            })));
        }
    }
    if a.iter().any(|t| b.contains(t)) {
        return Err(one(
            "__all__",
            "A and B terminations cannot connect to the same object.",
        ));
    }
    let ctx = Ctx::new(store, "");
    for (mm, id) in a.iter().chain(b.iter()) {
        let Some(iface) = store.get(*mm, *id) else {
            continue;
        };
        let ty = iface.str(Model::Interface, "type");
        if matches!(ty, "virtual" | "bridge" | "lag") {
            let label = crate::choices::INTERFACE_TYPE.label(ty).unwrap_or(ty);
            return Err(one(
                "__all__",
                format!("Cables cannot be terminated to {label} interfaces"),
            ));
        }
        if iface.get(Model::Interface, "mark_connected").as_bool() == Some(true) {
            let dev = iface
                .id_of(Model::Interface, "device")
                .and_then(|d| store.get(Model::Device, d))
                .map(|d| ctx.display(Model::Device, d))
                .unwrap_or_default();
            return Err(one(
                "__all__",
                format!(
                    "Cannot connect a cable to {dev} > {} because it is marked as connected.",
                    iface.str(Model::Interface, "name")
                ),
            ));
        }
        if let Some(ct) = store
            .unique_holder(
                Model::CableTermination,
                "termination",
                &format!("dcim.interface|{id}"),
            )
            .and_then(|t| store.get(Model::CableTermination, t))
        {
            let other = ct.id_of(Model::CableTermination, "cable").unwrap_or(0);
            if other != cable_id {
                return Err(one(
                    "__all__",
                    format!("Duplicate termination found for dcim.interface {id}: cable {other}"),
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn set_iface_cable(tx: &mut Tx, iface: Id, cable: Option<(Id, char)>, message: &str) {
    let m = Model::Interface;
    let pre = tx.snapshot(m, iface);
    let Some(mut rec) = tx.store.get(m, iface).cloned() else {
        return;
    };
    let ci = m.field_index("cable").unwrap_or(0);
    let ei = m.field_index("cable_end").unwrap_or(0);
    match cable {
        Some((c, end)) => {
            rec.vals[ci] = Value::from(c);
            rec.vals[ei] = Value::String(end.to_string());
        }
        None => {
            rec.vals[ci] = Value::Null;
            rec.vals[ei] = Value::Null;
        }
    }
    rec.last_updated = tx.actor.now;
    tx.replace(m, rec);
    let post = tx.snapshot(m, iface);
    let repr = tx.repr(m, iface);
    tx.log("update", m, iface, repr, (pre, post), message);
}

/// A new `CableTermination` and the interface's cable fields (records without the request's
/// changelog message: NetBox creates and saves these objects itself).
pub(super) fn add_termination(tx: &mut Tx, cable: Id, end: char, (_, iface): (Model, Id)) {
    let ct = Model::CableTermination;
    let id = tx.store.alloc_id(ct);
    let mut rec = Rec::new(ct, id, tx.actor.now);
    rec.vals[ct.field_index("cable").unwrap_or(0)] = Value::from(cable);
    rec.vals[ct.field_index("cable_end").unwrap_or(0)] = Value::String(end.to_string());
    rec.vals[ct.field_index("termination_type").unwrap_or(0)] =
        Value::String("dcim.interface".into());
    rec.vals[ct.field_index("termination_id").unwrap_or(0)] = Value::from(iface);
    tx.insert(ct, rec);
    let post = tx.snapshot(ct, id);
    let repr = tx.repr(ct, id);
    tx.log("create", ct, id, repr, (None, post), "");
    set_iface_cable(tx, iface, Some((cable, end)), "");
}

pub(super) fn terminations_of(store: &Store, cable: Id) -> Vec<(Id, char, Id)> {
    let ct = Model::CableTermination;
    let mut out: Vec<(Id, char, Id)> = store
        .referrers(ct, "cable", cable)
        .filter_map(|t| {
            let r = store.get(ct, t)?;
            let end = r.str(ct, "cable_end").chars().next().unwrap_or('A');
            Some((t, end, r.id_of(ct, "termination_id")?))
        })
        .collect();
    out.sort_unstable();
    out
}

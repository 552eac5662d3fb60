//! Deletion as NetBox 4.x performs it: Django's `Collector` driven by NetBox's `CustomCollector`
//! (which cascades through generic relations and adds them to the dependency graph), the
//! deletion order that falls out of its dependency sort, and the change records written along the
//! way by `handle_deleted_object` and the model signals (a deleted primary IP saves its device, a
//! deleted cable records the disconnect on its interfaces, a deleted virtual chassis saves its
//! members).
//!
//! The tables below were read from NetBox's model metadata (`_meta.related_objects`,
//! `get_candidate_relations_to_delete`, `private_fields`) and list models this fake does not
//! serve too where they shape the dependency sort.
//!
//! Parts: [`relations`] (those tables), [`collector`] (the collector and its dependency sort),
//! [`signals`] (what the model signals and the database do to other objects). This file runs a
//! delete end to end.

mod collector;
mod relations;
mod signals;

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::model::Model;
use crate::render::Ctx;
use crate::store::{Id, Store};
use crate::write::{Tx, WriteError};
use collector::Collector;
use relations::{Key, refs};
use signals::{clear_quietly, pre_delete, scrub, termination_deleted};

/// An object's change-log data and `str()` as collected.
type Snapshot = (Option<Box<str>>, String);

/// The 409 text NetBox's API gives for `ProtectedError` / `RestrictedError`.
fn conflict(store: &Store, mut objs: Vec<(Model, Id)>) -> WriteError {
    objs.dedup();
    // Python iterates the error's set of instances by primary key hash.
    objs.sort_by_key(|(_, id)| *id);
    let ctx = Ctx::new(store, "");
    let listed: Vec<String> = objs
        .iter()
        .filter_map(|(m, id)| {
            store
                .get(*m, *id)
                .map(|r| format!("{} ({id})", ctx.display(*m, r)))
        })
        .collect();
    WriteError::Conflict(format!(
        "Unable to delete object. {} dependent objects were found: {}",
        listed.len(),
        listed.join(", ")
    ))
}

/// Deletes one object the way `instance.delete()` does in NetBox, with its cascades and change
/// records. `message` (the request's `changelog_message`) goes on the object's own record only.
pub fn delete(tx: &mut Tx, m: Model, id: Id, message: &str) -> Result<(), WriteError> {
    if tx.store.get(m, id).is_none() {
        return Err(WriteError::Invalid(Default::default()));
    }
    if m == Model::VirtualChassis {
        virtual_chassis_delete(tx, id)?;
    }
    let (order, field_updates) = {
        let mut c = Collector::new(tx.store);
        if let Err(protected) = c.collect(Key::Model(m), vec![id], None, false) {
            return Err(conflict(tx.store, protected));
        }
        let mut restricted: Vec<(Model, Id)> = c
            .restricted
            .iter()
            .copied()
            .filter(|(rm, rid)| !c.contains(*rm, *rid))
            .collect();
        restricted.sort_unstable_by_key(|(rm, rid)| (*rid, rm.label()));
        restricted.dedup();
        if !restricted.is_empty() {
            return Err(conflict(tx.store, restricted));
        }
        (c.sorted(), c.field_updates)
    };
    if m == Model::CustomField {
        crate::write::drop_custom_field_data(tx, id);
    }
    // The records show each object as it was collected, before anything below touched it.
    let mut snaps: HashMap<(Model, Id), Snapshot> = HashMap::new();
    for (mm, ids) in &order {
        for oid in ids {
            snaps.insert((*mm, *oid), (tx.snapshot(*mm, *oid), tx.repr(*mm, *oid)));
        }
    }
    let cables_going: HashSet<Id> = order
        .iter()
        .filter(|(mm, _)| *mm == Model::Cable)
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect();
    for (mm, ids) in &order {
        for oid in ids {
            let (pre, repr) = snaps.remove(&(*mm, *oid)).unwrap_or_default();
            let msg = if (*mm, *oid) == (m, id) { message } else { "" };
            pre_delete(tx, *mm, *oid, pre, repr, msg);
        }
    }
    // Django nulls SET_NULL columns with bulk updates (no records). An interface's cable is
    // left to its termination's post_delete handler.
    for (rm, field, targets) in &field_updates {
        if (*rm, *field) == (Model::Interface, "cable") {
            continue;
        }
        for t in targets {
            for rid in refs(tx.store, *rm, field, *t) {
                clear_quietly(tx, *rm, rid, field, *t);
            }
        }
    }
    let mut removed = Vec::new();
    for (mm, ids) in &order {
        for oid in ids.iter().rev() {
            let Some(rec) = tx.remove(*mm, *oid) else {
                continue;
            };
            if *mm == Model::CableTermination {
                termination_deleted(tx, &rec, &cables_going);
            }
            removed.push((*mm, *oid));
        }
    }
    for (mm, oid) in removed {
        scrub(tx, mm, oid);
    }
    Ok(())
}

/// `VirtualChassis.delete()`: refuses cross-chassis LAGs, then clears the members' positions and
/// priorities with a save each (no snapshot, so the records have empty prechange data).
fn virtual_chassis_delete(tx: &mut Tx, vc: Id) -> Result<(), WriteError> {
    let mut members: Vec<Id> = tx
        .store
        .referrers(Model::Device, "virtual_chassis", vc)
        .collect();
    crate::query::sort(tx.store, Model::Device, &mut members, &[]);
    let i = Model::Interface;
    let mut split = Vec::new();
    for d in &members {
        for iface in tx.store.referrers(i, "device", *d) {
            let Some(rec) = tx.store.get(i, iface) else {
                continue;
            };
            let lag_device = rec
                .id_of(i, "lag")
                .and_then(|l| tx.store.get(i, l))
                .and_then(|l| l.id_of(i, "device"));
            if lag_device.is_some() && lag_device != Some(*d) {
                split.push((i, iface));
            }
        }
    }
    if !split.is_empty() {
        return Err(conflict(tx.store, split));
    }
    for d in members {
        let Some(mut rec) = tx.store.get(Model::Device, d).cloned() else {
            continue;
        };
        for f in ["vc_position", "vc_priority"] {
            if let Some(idx) = Model::Device.field_index(f) {
                rec.vals[idx] = Value::Null;
            }
        }
        rec.last_updated = tx.actor.now;
        tx.replace(Model::Device, rec);
        let post = tx.snapshot(Model::Device, d);
        let repr = tx.repr(Model::Device, d);
        tx.log(
            "update",
            Model::Device,
            d,
            repr,
            (Some("{}".into()), post),
            "",
        );
    }
    Ok(())
}

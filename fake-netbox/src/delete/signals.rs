//! What happens to other objects while one is deleted: the `pre_delete` receivers (the delete
//! record, relations cleared with records of their own, primary/OOB IPs), the cable termination
//! `post_delete` handler, and the database's silent clearing of whatever still points at a
//! deleted object.
//!
//! It does not decide what gets deleted (`collector` does).

use std::collections::HashSet;

use serde_json::Value;

use super::relations::{TAGGED_MODELS, logged_relations};
use crate::model::{FieldKind, Model};
use crate::store::Id;
use crate::write::Tx;

/// The `pre_delete` receivers: `handle_deleted_object` (the delete record, then the relations it
/// clears with records of their own) and, for IP addresses, `clear_primary_ip` / `clear_oob_ip`.
pub(super) fn pre_delete(
    tx: &mut Tx,
    m: Model,
    id: Id,
    pre: Option<Box<str>>,
    repr: String,
    message: &str,
) {
    if tx.deleted.insert((m, id)) {
        tx.log("delete", m, id, repr, (pre, None), message);
        if m == Model::Tag {
            for om in TAGGED_MODELS {
                let mut ids: Vec<Id> = tx
                    .store
                    .tagged(id)
                    .filter(|(mm, _)| *mm == om)
                    .map(|(_, i)| i)
                    .collect();
                crate::query::sort(tx.store, om, &mut ids, &[]);
                for rid in ids {
                    if !tx.deleted.contains(&(om, rid)) {
                        remove_link(tx, om, rid, None, id);
                    }
                }
            }
        }
        for &(rm, field, many) in logged_relations(m) {
            let mut ids: Vec<Id> = tx.store.referrers(rm, field, id).collect();
            crate::query::sort(tx.store, rm, &mut ids, &[]);
            for rid in ids {
                if tx.deleted.contains(&(rm, rid)) {
                    continue;
                }
                if many {
                    remove_link(tx, rm, rid, Some(field), id);
                } else {
                    save_without(tx, rm, rid, field);
                }
            }
        }
    }
    if m == Model::IpAddress {
        let family = tx
            .store
            .get(m, id)
            .and_then(|r| crate::net::parse_any(r.str(m, "address")))
            .map(|n| n.family());
        let primary = if family == Some(6) {
            "primary_ip6"
        } else {
            "primary_ip4"
        };
        for field in [primary, "oob_ip"] {
            let mut devices: Vec<Id> = tx.store.referrers(Model::Device, field, id).collect();
            crate::query::sort(tx.store, Model::Device, &mut devices, &[]);
            if let Some(d) = devices.first() {
                save_without(tx, Model::Device, *d, field);
            }
        }
    }
}

/// Snapshot, set `field` to null, `save()`: an update record.
fn save_without(tx: &mut Tx, m: Model, id: Id, field: &str) {
    let pre = tx.snapshot(m, id);
    let Some(mut rec) = tx.store.get(m, id).cloned() else {
        return;
    };
    if let Some(idx) = m.field_index(field) {
        rec.vals[idx] = Value::Null;
    }
    rec.last_updated = tx.actor.now;
    tx.replace(m, rec);
    let post = tx.snapshot(m, id);
    let repr = tx.repr(m, id);
    tx.log("update", m, id, repr, (pre, post), "");
}

/// Removes `target` from a many-to-many field (`None`: the tags). `m2m_changed` records the
/// update, folded into this request's earlier record of the object if there is one.
fn remove_link(tx: &mut Tx, m: Model, id: Id, field: Option<&str>, target: Id) {
    let pre = tx.snapshot(m, id);
    let Some(mut rec) = tx.store.get(m, id).cloned() else {
        return;
    };
    match field.and_then(|f| m.field_index(f)) {
        Some(idx) => {
            if let Value::Array(items) = &mut rec.vals[idx] {
                items.retain(|v| v.as_u64() != Some(target));
            }
        }
        None => rec.tags.retain(|t| *t != target),
    }
    tx.replace(m, rec);
    let post = tx.snapshot(m, id);
    let repr = tx.repr(m, id);
    tx.log_m2m(m, id, repr, (pre, post));
}

/// A bulk `UPDATE … SET field = NULL` (or a through-row delete): no record, no timestamp.
pub(super) fn clear_quietly(tx: &mut Tx, m: Model, id: Id, field: &str, target: Id) {
    let Some(idx) = m.field_index(field) else {
        return;
    };
    let Some(mut rec) = tx.store.get(m, id).cloned() else {
        return;
    };
    match &mut rec.vals[idx] {
        Value::Array(items) => items.retain(|v| v.as_u64() != Some(target)),
        v => *v = Value::Null,
    }
    tx.replace(m, rec);
}

/// `nullify_connected_endpoints` (post_delete of a cable termination): when the cable itself is
/// going, the interface records the disconnect; otherwise its cable fields are cleared quietly.
pub(super) fn termination_deleted(tx: &mut Tx, ct: &crate::store::Rec, cables_going: &HashSet<Id>) {
    let t = Model::CableTermination;
    let Some(iface) = ct.id_of(t, "termination_id") else {
        return;
    };
    let Some(rec) = tx.store.get(Model::Interface, iface).cloned() else {
        return;
    };
    if ct
        .id_of(t, "cable")
        .is_some_and(|c| cables_going.contains(&c))
    {
        crate::write::set_iface_cable(tx, iface, None, "");
    } else {
        let mut rec = rec;
        for f in ["cable", "cable_end"] {
            if let Some(idx) = Model::Interface.field_index(f) {
                rec.vals[idx] = Value::Null;
            }
        }
        tx.replace(Model::Interface, rec);
    }
}

/// Whatever still points at a deleted object (foreign keys, many-to-many links, tags) is
/// cleared the way the database does it: without records.
pub(super) fn scrub(tx: &mut Tx, m: Model, id: Id) {
    for mm in Model::ALL {
        for f in mm.fields() {
            let target = match f.kind {
                FieldKind::Fk(t, _) | FieldKind::ReqFk(t, _) | FieldKind::M2m(t) => t,
                _ => continue,
            };
            if target != m {
                continue;
            }
            let ids: Vec<Id> = tx.store.referrers(mm, f.name, id).collect();
            for rid in ids {
                clear_quietly(tx, mm, rid, f.name, id);
            }
        }
    }
    if m == Model::Tag {
        let objs: Vec<(Model, Id)> = tx.store.tagged(id).collect();
        for (om, oid) in objs {
            if let Some(mut r) = tx.store.get(om, oid).cloned() {
                r.tags.retain(|t| *t != id);
                tx.replace(om, r);
            }
        }
    }
}

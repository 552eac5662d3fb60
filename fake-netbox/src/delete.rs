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

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;

use crate::model::{FieldKind, Model};
use crate::render::Ctx;
use crate::store::{Id, Store};
use crate::write::{Tx, WriteError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnDelete {
    Cascade,
    Protect,
    SetNull,
    Restrict,
}

/// A generic relation on a model: to a modelled model (through its content-type field), to the
/// object's tag assignments, or to a model that is not served (never holds objects here).
#[derive(Clone, Copy, Debug)]
enum Rel {
    Gfk(Model, &'static str),
    Tags,
    Other(&'static str),
}

/// A model in the collector: a served one or another NetBox model (by label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Model(Model),
    Other(&'static str),
}

const TAGGED_ITEM: Key = Key::Other("extras.taggeditem");

impl Rel {
    fn key(self) -> Key {
        match self {
            Rel::Gfk(m, _) => Key::Model(m),
            Rel::Tags => TAGGED_ITEM,
            Rel::Other(label) => Key::Other(label),
        }
    }
}

/// Reverse foreign keys Django's collector visits (`get_candidate_relations_to_delete`), in its
/// order, limited to modelled models.
fn candidates(m: Model) -> &'static [(Model, &'static str, OnDelete)] {
    match m {
        Model::Site => &[
            (Model::Interface, "_site", OnDelete::SetNull),
            (Model::CableTermination, "_site", OnDelete::Cascade),
            (Model::Device, "site", OnDelete::Protect),
            (Model::Prefix, "_site", OnDelete::Cascade),
            (Model::Vlan, "site", OnDelete::Protect),
        ],
        Model::Manufacturer => &[
            (Model::DeviceType, "manufacturer", OnDelete::Protect),
            (Model::Platform, "manufacturer", OnDelete::Protect),
        ],
        Model::DeviceType => &[(Model::Device, "device_type", OnDelete::Protect)],
        Model::DeviceRole => &[
            (Model::DeviceRole, "parent", OnDelete::Cascade),
            (Model::Device, "role", OnDelete::Protect),
        ],
        Model::Platform => &[
            (Model::DeviceType, "default_platform", OnDelete::SetNull),
            (Model::Platform, "parent", OnDelete::Cascade),
            (Model::Device, "platform", OnDelete::SetNull),
        ],
        Model::Device => &[
            (Model::Interface, "device", OnDelete::Cascade),
            (Model::CableTermination, "_device", OnDelete::Cascade),
            (Model::VirtualChassis, "master", OnDelete::Protect),
        ],
        Model::Interface => &[
            (Model::Interface, "parent", OnDelete::Restrict),
            (Model::Interface, "bridge", OnDelete::SetNull),
            (Model::Interface, "lag", OnDelete::SetNull),
        ],
        Model::Cable => &[
            (Model::Interface, "cable", OnDelete::SetNull),
            (Model::CableTermination, "cable", OnDelete::Cascade),
        ],
        Model::MacAddress => &[(Model::Interface, "primary_mac_address", OnDelete::SetNull)],
        Model::VirtualChassis => &[(Model::Device, "virtual_chassis", OnDelete::SetNull)],
        Model::Vrf => &[
            (Model::Interface, "vrf", OnDelete::SetNull),
            (Model::Prefix, "vrf", OnDelete::Protect),
            (Model::IpAddress, "vrf", OnDelete::Protect),
        ],
        Model::IpAddress => &[
            (Model::Device, "primary_ip4", OnDelete::SetNull),
            (Model::Device, "primary_ip6", OnDelete::SetNull),
            (Model::Device, "oob_ip", OnDelete::SetNull),
            (Model::IpAddress, "nat_inside", OnDelete::SetNull),
        ],
        Model::VlanGroup => &[(Model::Vlan, "group", OnDelete::Protect)],
        Model::Vlan => &[
            (Model::Interface, "untagged_vlan", OnDelete::SetNull),
            (Model::Interface, "qinq_svlan", OnDelete::SetNull),
            (Model::Prefix, "vlan", OnDelete::Protect),
            (Model::Vlan, "qinq_svlan", OnDelete::Protect),
        ],
        Model::CustomFieldChoiceSet => &[(Model::CustomField, "choice_set", OnDelete::Protect)],
        _ => &[],
    }
}

/// `GenericRelation`s (private fields with `bulk_related_objects`), in Django's order, with the
/// models they point at - modelled or not: all of them take part in the dependency graph.
fn generic(m: Model) -> &'static [Rel] {
    match m {
        Model::Site => &[
            Rel::Gfk(Model::Prefix, "scope_type"),
            Rel::Gfk(Model::VlanGroup, "scope_type"),
            Rel::Other("tenancy.contactassignment"),
            Rel::Other("extras.imageattachment"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Manufacturer => &[
            Rel::Other("tenancy.contactassignment"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::DeviceType => &[
            Rel::Other("extras.imageattachment"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::DeviceRole => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Platform => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Device => &[
            Rel::Other("ipam.service"),
            Rel::Other("tenancy.contactassignment"),
            Rel::Other("extras.imageattachment"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Interface => &[
            Rel::Gfk(Model::IpAddress, "assigned_object_type"),
            Rel::Gfk(Model::MacAddress, "assigned_object_type"),
            Rel::Other("ipam.fhrpgroupassignment"),
            Rel::Other("vpn.tunneltermination"),
            Rel::Other("vpn.l2vpntermination"),
            Rel::Other("dcim.inventoryitem"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Gfk(Model::CableTermination, "termination_type"),
            Rel::Tags,
        ],
        Model::Cable => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::MacAddress => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::VirtualChassis => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Vrf => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Prefix => &[
            Rel::Other("tenancy.contactassignment"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::IpAddress => &[
            Rel::Other("tenancy.contactassignment"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::VlanGroup => &[
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::Vlan => &[
            Rel::Other("vpn.l2vpntermination"),
            Rel::Other("extras.bookmark"),
            Rel::Gfk(Model::JournalEntry, "assigned_object_type"),
            Rel::Other("extras.subscription"),
            Rel::Tags,
        ],
        Model::JournalEntry => &[Rel::Tags],
        _ => &[],
    }
}

/// Relations `handle_deleted_object` clears with a change record (nullable non-cascading
/// foreign keys are set to null and saved; many-to-many links are removed), in its order.
fn logged_relations(m: Model) -> &'static [(Model, &'static str, bool)] {
    match m {
        Model::Site => &[(Model::Device, "site", false), (Model::Vlan, "site", false)],
        Model::Manufacturer => &[
            (Model::DeviceType, "manufacturer", false),
            (Model::Platform, "manufacturer", false),
        ],
        Model::DeviceType => &[(Model::Device, "device_type", false)],
        Model::DeviceRole => &[(Model::Device, "role", false)],
        Model::Platform => &[(Model::Device, "platform", false)],
        Model::Interface => &[
            (Model::Interface, "bridge", false),
            (Model::Interface, "lag", false),
        ],
        Model::VirtualChassis => &[(Model::Device, "virtual_chassis", false)],
        Model::Vrf => &[
            (Model::Interface, "vrf", false),
            (Model::Prefix, "vrf", false),
            (Model::IpAddress, "vrf", false),
        ],
        Model::IpAddress => &[(Model::IpAddress, "nat_inside", false)],
        Model::VlanGroup => &[(Model::Vlan, "group", false)],
        Model::Vlan => &[
            (Model::Interface, "untagged_vlan", false),
            (Model::Interface, "qinq_svlan", false),
            (Model::Interface, "tagged_vlans", true),
            (Model::Prefix, "vlan", false),
            (Model::Vlan, "qinq_svlan", false),
        ],
        Model::CustomFieldChoiceSet => &[(Model::CustomField, "choice_set", false)],
        _ => &[],
    }
}

/// Models whose tags a deleted tag is removed from, in `Tag._meta.related_objects` order.
const TAGGED_MODELS: [Model; 16] = [
    Model::Interface,
    Model::Cable,
    Model::Manufacturer,
    Model::DeviceType,
    Model::DeviceRole,
    Model::Platform,
    Model::Device,
    Model::VirtualChassis,
    Model::MacAddress,
    Model::Site,
    Model::Prefix,
    Model::IpAddress,
    Model::VlanGroup,
    Model::Vlan,
    Model::Vrf,
    Model::JournalEntry,
];

/// Objects of `src` referring to `target` through `field`, including the cached `_device` /
/// `_site` foreign keys NetBox keeps on cable terminations and prefixes.
fn refs(store: &Store, src: Model, field: &str, target: Id) -> Vec<Id> {
    let ct_of = |iface: Id| {
        store.unique_holder(
            Model::CableTermination,
            "termination",
            &format!("dcim.interface|{iface}"),
        )
    };
    let mut out: Vec<Id> = match (src, field) {
        (Model::CableTermination, "_device") => store
            .referrers(Model::Interface, "device", target)
            .filter_map(ct_of)
            .collect(),
        (Model::CableTermination, "_site") => store
            .referrers(Model::Device, "site", target)
            .flat_map(|d| store.referrers(Model::Interface, "device", d))
            .filter_map(ct_of)
            .collect(),
        (Model::Prefix, "_site") => store
            .gfk_referrers(Model::Prefix, "scope_type", Model::Site, target)
            .collect(),
        (_, f) if f.starts_with('_') => Vec::new(),
        _ => store.referrers(src, field, target).collect(),
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// Django's `Collector` with NetBox's `CustomCollector` additions.
struct Collector<'s> {
    store: &'s Store,
    /// Models in insertion order with the ids collected for each.
    data: Vec<(Key, BTreeSet<Id>)>,
    /// model → models that must be deleted before it.
    deps: HashMap<Key, HashSet<Key>>,
    /// `SET_NULL` columns to clear: (model, field, ids of the deleted targets).
    field_updates: Vec<(Model, &'static str, Vec<Id>)>,
    restricted: Vec<(Model, Id)>,
    /// Pseudo ids for tag assignments (`extras.taggeditem` rows).
    tag_rows: Id,
}

impl<'s> Collector<'s> {
    fn new(store: &'s Store) -> Collector<'s> {
        Collector {
            store,
            data: Vec::new(),
            deps: HashMap::new(),
            field_updates: Vec::new(),
            restricted: Vec::new(),
            tag_rows: 0,
        }
    }

    fn slot(&mut self, key: Key) -> usize {
        match self.data.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.data.push((key, BTreeSet::new()));
                self.data.len() - 1
            }
        }
    }

    fn contains(&self, m: Model, id: Id) -> bool {
        self.data
            .iter()
            .any(|(k, s)| *k == Key::Model(m) && s.contains(&id))
    }

    fn add_dependency(&mut self, model: Key, dependency: Key) {
        self.deps.entry(model).or_default().insert(dependency);
        self.slot(dependency);
    }

    fn add(&mut self, key: Key, objs: &[Id], source: Option<Key>, nullable: bool) -> Vec<Id> {
        if objs.is_empty() {
            return Vec::new();
        }
        let i = self.slot(key);
        let new: Vec<Id> = objs
            .iter()
            .copied()
            .filter(|id| self.data[i].1.insert(*id))
            .collect();
        if let Some(source) = source
            && !nullable
        {
            self.add_dependency(source, key);
        }
        new
    }

    /// `Collector.collect()`; `Err` carries the objects a `PROTECT` relation refuses to lose.
    fn collect(
        &mut self,
        key: Key,
        objs: Vec<Id>,
        source: Option<Key>,
        nullable: bool,
    ) -> Result<(), Vec<(Model, Id)>> {
        let store = self.store;
        let new = self.add(key, &objs, source, nullable);
        if let Key::Model(m) = key
            && !new.is_empty()
        {
            let mut protected = Vec::new();
            for &(rm, field, on_delete) in candidates(m) {
                let mut sub: Vec<Id> = new
                    .iter()
                    .flat_map(|t| refs(store, rm, field, *t))
                    .collect();
                sub.sort_unstable();
                sub.dedup();
                match on_delete {
                    OnDelete::SetNull => self.field_updates.push((rm, field, new.clone())),
                    _ if sub.is_empty() => {}
                    // NetBox's collector makes every CASCADE an ordering dependency.
                    OnDelete::Cascade => self.collect(Key::Model(rm), sub, Some(key), false)?,
                    OnDelete::Protect => protected.extend(sub.into_iter().map(|i| (rm, i))),
                    OnDelete::Restrict => {
                        self.restricted.extend(sub.into_iter().map(|i| (rm, i)));
                        self.add_dependency(key, Key::Model(rm));
                    }
                }
            }
            if !protected.is_empty() {
                return Err(protected);
            }
            for rel in generic(m) {
                let sub: Vec<Id> = match *rel {
                    Rel::Gfk(gm, type_field) => {
                        let mut v: Vec<Id> = new
                            .iter()
                            .flat_map(|t| store.gfk_referrers(gm, type_field, m, *t))
                            .collect();
                        v.sort_unstable();
                        v.dedup();
                        v
                    }
                    Rel::Tags => {
                        let n: usize = new
                            .iter()
                            .filter_map(|t| store.get(m, *t))
                            .map(|r| r.tags.len())
                            .sum();
                        (0..n)
                            .map(|_| {
                                self.tag_rows += 1;
                                self.tag_rows
                            })
                            .collect()
                    }
                    Rel::Other(_) => Vec::new(),
                };
                self.collect(rel.key(), sub, Some(key), true)?;
            }
        }
        // CustomCollector: the models behind every generic relation of a collected model go
        // first, whether or not they hold anything.
        let present: Vec<Model> = self
            .data
            .iter()
            .filter_map(|(k, s)| match k {
                Key::Model(m) if !s.is_empty() => Some(*m),
                _ => None,
            })
            .collect();
        for m in present {
            for rel in generic(m) {
                self.add_dependency(Key::Model(m), rel.key());
            }
        }
        Ok(())
    }

    /// `Collector.sort()`: dependencies first; a cycle (a self-referencing cascade or
    /// restriction) leaves the insertion order. Only served models with objects are returned.
    fn sorted(&self) -> Vec<(Model, Vec<Id>)> {
        let models: Vec<Key> = self.data.iter().map(|(k, _)| *k).collect();
        let mut order: Vec<Key> = Vec::new();
        let mut placed: HashSet<Key> = HashSet::new();
        while order.len() < models.len() {
            let mut found = false;
            for k in &models {
                if placed.contains(k) {
                    continue;
                }
                let ready = self
                    .deps
                    .get(k)
                    .is_none_or(|d| d.iter().all(|x| placed.contains(x)));
                if ready {
                    order.push(*k);
                    placed.insert(*k);
                    found = true;
                }
            }
            if !found {
                order = models.clone();
                break;
            }
        }
        order
            .into_iter()
            .filter_map(|k| {
                let Key::Model(m) = k else { return None };
                let (_, ids) = self.data.iter().find(|(kk, _)| *kk == k)?;
                (!ids.is_empty()).then(|| (m, ids.iter().copied().collect()))
            })
            .collect()
    }
}

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

/// The `pre_delete` receivers: `handle_deleted_object` (the delete record, then the relations it
/// clears with records of their own) and, for IP addresses, `clear_primary_ip` / `clear_oob_ip`.
fn pre_delete(tx: &mut Tx, m: Model, id: Id, pre: Option<Box<str>>, repr: String, message: &str) {
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
fn clear_quietly(tx: &mut Tx, m: Model, id: Id, field: &str, target: Id) {
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
fn termination_deleted(tx: &mut Tx, ct: &crate::store::Rec, cables_going: &HashSet<Id>) {
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
fn scrub(tx: &mut Tx, m: Model, id: Id) {
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

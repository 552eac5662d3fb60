//! The create and update pipeline: parse the body, run serializer validation, build the new
//! record, run `full_clean()`, store it and append the change records NetBox writes (including
//! the side effects of `save()` and of post-save signals).
//!
//! It does not delete (`delete`) and holds no model rules of its own (those are in `clean`).

use serde_json::Value;

use super::body::{Parsed, parse};
use super::cable::{add_termination, check_terminations, set_iface_cable, terminations_of};
use super::clean::{full_clean, serializer_validate};
use super::{Errs, Tx, WriteError, one};
use crate::model::{FieldKind, Model};
use crate::store::{Id, Rec};
use crate::util::to_micros;

/// Builds the new version of a record from parsed input.
fn build(tx: &Tx, m: Model, parsed: &Parsed, existing: Option<&Rec>, partial: bool) -> Rec {
    let store = &*tx.store;
    let mut rec = match existing {
        Some(e) => e.clone(),
        None => Rec::new(m, 0, tx.actor.now),
    };
    if existing.is_some() && !partial {
        // PUT: fields with an explicit serializer default return to it when omitted; the others
        // keep their values (DRF only writes validated data).
        for (i, f) in m.fields().iter().enumerate() {
            if f.is(crate::model::PUT_DEFAULT)
                && f.stored()
                && !parsed.vals.iter().any(|(j, _)| *j == i)
            {
                rec.vals[i] = crate::store::default_value(f);
            }
        }
    }
    for (i, v) in &parsed.vals {
        rec.vals[*i] = v.clone();
    }
    if let Some(tags) = &parsed.tags {
        rec.tags = tags.clone();
    }
    if m.has_custom_fields() {
        let defs = crate::render::cf_defs(store, m);
        let mut data = match (&parsed.cf, existing) {
            (Some(given), Some(e)) => {
                let mut merged = e.cf.clone();
                for (k, v) in given {
                    merged.insert(k.clone(), v.clone());
                }
                merged
            }
            (Some(given), None) => given.clone(),
            (None, Some(e)) => e.cf.clone(),
            (None, None) => defs
                .iter()
                .map(|d| (d.name.clone(), d.default.clone()))
                .collect(),
        };
        data.retain(|k, _| defs.iter().any(|d| &d.name == k));
        for d in defs.iter() {
            if !d.default.is_null() && !data.contains_key(&d.name) {
                data.insert(d.name.clone(), d.default.clone());
            }
        }
        rec.cf = data;
    }
    // Serializer defaults and model save() side effects.
    if existing.is_none() && m == Model::Device {
        let pi = m.field_index("platform").unwrap_or(0);
        if rec.vals[pi].is_null()
            && let Some(dt) = rec
                .id_of(m, "device_type")
                .and_then(|d| store.get(Model::DeviceType, d))
        {
            rec.vals[pi] = dt.get(Model::DeviceType, "default_platform").clone();
        }
    }
    if existing.is_none() && m == Model::JournalEntry {
        let ci = m.field_index("created_by").unwrap_or(0);
        if !parsed.vals.iter().any(|(j, _)| *j == ci) {
            rec.vals[ci] = Value::from(crate::changes::USER_ID);
        }
    }
    if m == Model::Interface {
        let mode = rec.get(m, "mode").as_str().unwrap_or("").to_string();
        let untagged = m.field_index("untagged_vlan").unwrap_or(0);
        let tagged = m.field_index("tagged_vlans").unwrap_or(0);
        if mode.is_empty() {
            rec.vals[untagged] = Value::Null;
        }
        // save() clears tagged VLANs of an existing non-tagged interface; the serializer then
        // writes the given list, if any.
        if mode != "tagged" && existing.is_some() && !parsed.vals.iter().any(|(i, _)| *i == tagged)
        {
            rec.vals[tagged] = Value::Array(Vec::new());
        }
    }
    rec
}

/// Creates one object from a request body. Returns its id.
pub fn create(tx: &mut Tx, m: Model, body: &Value) -> Result<Id, WriteError> {
    create_with(tx, m, body, None)
}

/// Creates one object; `fixed_id` loads it under a given id (fixture import), honouring
/// `created`/`last_updated` in the body when present. The change records are those of an API
/// create either way, so a client reading the change log from zero sees every object.
pub fn create_with(
    tx: &mut Tx,
    m: Model,
    body: &Value,
    fixed_id: Option<Id>,
) -> Result<Id, WriteError> {
    if !m.meta().writable {
        return Err(one(
            "__all__",
            format!("{} objects cannot be created directly.", m.meta().class),
        ));
    }
    if let Some(id) = fixed_id
        && tx.store.get(m, id).is_some()
    {
        return Err(one(
            "id",
            format!("{} with ID {id} already exists.", m.meta().class),
        ));
    }
    let parsed = parse(tx.store, m, body, None, false)?;
    serializer_validate(tx.store, m, &parsed, None)?;
    let mut rec = build(tx, m, &parsed, None, false);
    if m == Model::Cable {
        let (a, b) = (&parsed.terms[0], &parsed.terms[1]);
        let (Some(a), Some(b)) = (a, b) else {
            return Err(one(
                "__all__",
                "Must define A and B terminations when creating a new cable.",
            ));
        };
        if a.is_empty() || b.is_empty() {
            return Err(one(
                "__all__",
                "Must define A and B terminations when creating a new cable.",
            ));
        }
        check_terminations(tx.store, 0, a, b)?;
        if rec.get(m, "length").as_f64().is_some() && rec.get(m, "length_unit").is_null() {
            return Err(one(
                "__all__",
                "Must specify a unit when setting a cable length",
            ));
        }
    }
    rec.id = fixed_id.unwrap_or(0);
    full_clean(tx.store, m, &rec, None)?;
    let id = match fixed_id {
        Some(id) => id,
        None => tx.store.alloc_id(m),
    };
    rec.id = id;
    rec.created = tx.actor.now;
    rec.last_updated = tx.actor.now;
    if fixed_id.is_some() {
        let stamp = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .and_then(crate::util::parse_datetime)
                .map(to_micros)
        };
        if let Some(ts) = stamp("created") {
            rec.created = ts;
        }
        if let Some(ts) = stamp("last_updated") {
            rec.last_updated = ts;
        }
    }
    let message = parsed.message.clone();
    tx.insert(m, rec);
    let mut post = defaults_as_numbers(m, &parsed, tx.snapshot(m, id));
    if m == Model::Cable {
        // Tags are added after save(); their m2m change lands on the cable's last record of the
        // request (the update written once the terminations exist), not on this one.
        post = without_tags(post);
    }
    let repr = tx.repr(m, id);
    tx.log("create", m, id, repr, (None, post), &message);
    // A primary MAC that is not assigned yet gets assigned to the new interface (post_save signal).
    if m == Model::Interface
        && let Some(mac) = tx
            .store
            .get(m, id)
            .and_then(|r| r.id_of(m, "primary_mac_address"))
        && let Some(mac_rec) = tx.store.get(Model::MacAddress, mac).cloned()
        && mac_rec
            .get(Model::MacAddress, "assigned_object_id")
            .is_null()
    {
        let mm = Model::MacAddress;
        let pre = tx.snapshot(mm, mac);
        let mut r = mac_rec;
        r.vals[mm.field_index("assigned_object_type").unwrap_or(0)] =
            Value::String("dcim.interface".into());
        r.vals[mm.field_index("assigned_object_id").unwrap_or(0)] = Value::from(id);
        r.last_updated = tx.actor.now;
        tx.replace(mm, r);
        let post = tx.snapshot(mm, mac);
        let repr = tx.repr(mm, mac);
        tx.log("update", mm, mac, repr, (pre, post), &message);
    }
    if m == Model::Cable {
        let a = parsed.terms[0].clone().unwrap_or_default();
        let b = parsed.terms[1].clone().unwrap_or_default();
        for t in a {
            add_termination(tx, id, 'A', t);
        }
        for t in b {
            add_termination(tx, id, 'B', t);
        }
        let post = tx.snapshot(m, id);
        let repr = tx.repr(m, id);
        tx.log("update", m, id, repr, (None, post), &message);
    }
    Ok(id)
}

fn without_tags(post: Option<Box<str>>) -> Option<Box<str>> {
    let mut data: Value = serde_json::from_str(post.as_deref()?).ok()?;
    if let Some(v) = data.get_mut("tags") {
        *v = Value::Array(Vec::new());
    }
    Some(serde_json::to_string(&data).unwrap_or_default().into())
}

/// A create record serializes the in-memory instance: a decimal left at its model default is
/// still the Python float (`1.0`), while given values went through `Decimal` (`"1.0"`).
fn defaults_as_numbers(m: Model, parsed: &Parsed, post: Option<Box<str>>) -> Option<Box<str>> {
    let fields: Vec<(&str, f64)> = m
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f.kind {
            FieldKind::Dec {
                null: false,
                default,
                ..
            } if f.is(crate::model::LOGGED) && !parsed.vals.iter().any(|(j, _)| *j == i) => {
                Some((f.name, default))
            }
            _ => None,
        })
        .collect();
    if fields.is_empty() {
        return post;
    }
    let mut data: Value = serde_json::from_str(post.as_deref()?).ok()?;
    for (name, default) in fields {
        if let Some(v) = data.get_mut(name) {
            *v = Value::from(default);
        }
    }
    Some(serde_json::to_string(&data).unwrap_or_default().into())
}

/// Updates one object (`PUT` when `partial` is false, `PATCH` otherwise).
pub fn update(
    tx: &mut Tx,
    m: Model,
    id: Id,
    body: &Value,
    partial: bool,
) -> Result<(), WriteError> {
    let Some(existing) = tx.store.get(m, id).cloned() else {
        return Err(WriteError::Invalid(Errs::new()));
    };
    let parsed = parse(tx.store, m, body, Some(&existing), partial)?;
    serializer_validate(tx.store, m, &parsed, Some(&existing))?;
    let mut rec = build(tx, m, &parsed, Some(&existing), partial);
    if m == Model::Cable && (parsed.terms[0].is_some() || parsed.terms[1].is_some()) {
        let current = terminations_of(tx.store, id);
        let side = |end: char, given: &Option<Vec<(Model, Id)>>| -> Vec<(Model, Id)> {
            match given {
                Some(t) => t.clone(),
                None => current
                    .iter()
                    .filter(|(_, e, _)| *e == end)
                    .map(|(_, _, i)| (Model::Interface, *i))
                    .collect(),
            }
        };
        let a = side('A', &parsed.terms[0]);
        let b = side('B', &parsed.terms[1]);
        check_terminations(tx.store, id, &a, &b)?;
    }
    full_clean(tx.store, m, &rec, Some(&existing))?;
    let message = parsed.message.clone();
    let pre = tx.snapshot(m, id);
    rec.last_updated = tx.actor.now;
    tx.replace(m, rec);
    if m == Model::Cable && (parsed.terms[0].is_some() || parsed.terms[1].is_some()) {
        let current = terminations_of(tx.store, id);
        for (end, given) in [('A', &parsed.terms[0]), ('B', &parsed.terms[1])] {
            let Some(given) = given else { continue };
            for (t, _, iface) in current.iter().filter(|(_, e, _)| *e == end) {
                if given.contains(&(Model::Interface, *iface)) {
                    continue;
                }
                // CableTermination.delete(): the interface records the disconnect first.
                let ct_pre = tx.snapshot(Model::CableTermination, *t);
                let repr = tx.repr(Model::CableTermination, *t);
                set_iface_cable(tx, *iface, None, "");
                tx.remove(Model::CableTermination, *t);
                tx.log(
                    "delete",
                    Model::CableTermination,
                    *t,
                    repr,
                    (ct_pre, None),
                    "",
                );
            }
            for (mm, iface) in given {
                if current.iter().any(|(_, e, i)| *e == end && i == iface) {
                    continue;
                }
                add_termination(tx, id, end, (*mm, *iface));
            }
        }
    }
    let post = tx.snapshot(m, id);
    let repr = tx.repr(m, id);
    tx.log("update", m, id, repr, (pre, post), &message);
    Ok(())
}

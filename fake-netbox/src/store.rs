//! The in-memory object store: one table per model, id allocation, and the indexes every request
//! leans on (reverse foreign keys, generic relations, tags, uniqueness keys, cached sort names),
//! plus the object change log.
//!
//! It enforces nothing about NetBox's rules: validation lives in `write`, representation in
//! `render`, filtering in `query`. Every mutation goes through [`Store::insert`],
//! [`Store::replace`] or [`Store::remove`] so the indexes can never drift from the tables.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::model::{Field, FieldKind, Model};
use crate::natural::{NaturalKey, naturalize_interface};

pub type Id = u64;

/// The cached sort name of a record (see `natural`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortName {
    None,
    Natural(NaturalKey),
    Bytes(Box<str>),
}

/// One stored object. `vals` is indexed like the model's field table; computed fields stay null.
#[derive(Clone, Debug)]
pub struct Rec {
    pub id: Id,
    pub created: Timestamp,
    pub last_updated: Timestamp,
    pub vals: Box<[Value]>,
    pub tags: Vec<Id>,
    /// `custom_field_data`: only the keys the object holds (see `write` for NetBox's rules).
    pub cf: Map<String, Value>,
    pub sort: SortName,
}

impl Rec {
    /// A record with every stored field at its default.
    pub fn new(m: Model, id: Id, now: Timestamp) -> Rec {
        let vals = m.fields().iter().map(default_value).collect();
        Rec {
            id,
            created: now,
            last_updated: now,
            vals,
            tags: Vec::new(),
            cf: Map::new(),
            sort: SortName::None,
        }
    }

    pub fn val(&self, idx: usize) -> &Value {
        &self.vals[idx]
    }

    pub fn get(&self, m: Model, name: &str) -> &Value {
        match m.field_index(name) {
            Some(i) => &self.vals[i],
            None => &Value::Null,
        }
    }

    pub fn str(&self, m: Model, name: &str) -> &str {
        self.get(m, name).as_str().unwrap_or("")
    }

    pub fn id_of(&self, m: Model, name: &str) -> Option<Id> {
        self.get(m, name).as_u64()
    }
}

/// The default stored value of a field.
pub fn default_value(f: &Field) -> Value {
    match f.kind {
        FieldKind::Str(_) | FieldKind::Slug(_) | FieldKind::Text | FieldKind::Name(_) => {
            Value::String(String::new())
        }
        FieldKind::Color(Some(c)) => Value::String(c.into()),
        FieldKind::Color(None) => Value::String(String::new()),
        FieldKind::Int {
            null: false,
            default,
            ..
        } => Value::from(default),
        FieldKind::Dec {
            null: false,
            default,
            ..
        } => Value::from(default),
        FieldKind::Bool(b) => Value::Bool(b),
        FieldKind::Choice {
            default: Some(d), ..
        } => Value::String(d.into()),
        FieldKind::JsonObj => Value::Object(Map::new()),
        FieldKind::M2m(_) | FieldKind::ContentTypes | FieldKind::ExtraChoices => {
            Value::Array(Vec::new())
        }
        FieldKind::VidRanges => serde_json::json!([[1, 4094]]),
        _ => Value::Null,
    }
}

/// Key of a reverse index: (source model, field index).
type RefKey = (Model, u8);

/// One object change record (`core.objectchange`).
#[derive(Clone, Debug)]
pub struct Change {
    pub id: Id,
    pub time: Timestamp,
    pub user_name: String,
    pub request_id: String,
    pub action: &'static str,
    pub model: Model,
    pub object_id: Id,
    pub object_repr: String,
    pub message: String,
    /// `prechange_data` as JSON text (jsonb key order), kept serialized to stay small.
    pub pre: Option<Box<str>>,
    /// `postchange_data` as JSON text.
    pub post: Option<Box<str>>,
}

/// All tables and indexes.
#[derive(Clone, Default)]
pub struct Store {
    tables: HashMap<Model, BTreeMap<Id, Rec>>,
    next_id: HashMap<Model, Id>,
    refs: HashMap<RefKey, BTreeMap<Id, BTreeSet<Id>>>,
    gfk: HashMap<RefKey, BTreeMap<(Model, Id), BTreeSet<Id>>>,
    tagged: BTreeMap<Id, BTreeSet<(Model, Id)>>,
    uniq: HashMap<(Model, &'static str, String), Id>,
    pub changes: Vec<Change>,
    /// Last change id handed out (ids are not reused after a rollback, like a sequence).
    change_seq: u64,
    /// Bumped on every mutation; query results are cached per version.
    pub version: u64,
}

/// Uniqueness keys a model maintains, as (constraint name, key). `None` when the key has a null part
/// (SQL unique constraints ignore rows with nulls unless declared otherwise).
pub fn unique_keys(m: Model, rec: &Rec) -> Vec<(&'static str, String)> {
    let s = |n: &str| rec.str(m, n).to_string();
    let id = |n: &str| rec.id_of(m, n).map(|v| v.to_string()).unwrap_or_default();
    let mut out = Vec::new();
    match m {
        Model::Site | Model::Manufacturer | Model::Tag => {
            out.push(("name", s("name")));
            out.push(("slug", s("slug")));
        }
        Model::CustomField | Model::CustomFieldChoiceSet => out.push(("name", s("name"))),
        Model::DeviceType => {
            out.push((
                "manufacturer_model",
                format!("{}|{}", id("manufacturer"), s("model")),
            ));
            out.push((
                "manufacturer_slug",
                format!("{}|{}", id("manufacturer"), s("slug")),
            ));
        }
        Model::DeviceRole | Model::Platform => {
            let scope = if m == Model::Platform {
                id("manufacturer")
            } else {
                id("parent")
            };
            out.push(("scope_name", format!("{scope}|{}", s("name"))));
            out.push(("scope_slug", format!("{scope}|{}", s("slug"))));
        }
        Model::Device => {
            if let Some(name) = rec.get(m, "name").as_str() {
                out.push((
                    "name_site",
                    format!("{}|{}", id("site"), name.to_lowercase()),
                ));
            }
            if let Some(tag) = rec.get(m, "asset_tag").as_str() {
                out.push(("asset_tag", tag.to_string()));
            }
            if let (Some(vc), Some(pos)) = (
                rec.id_of(m, "virtual_chassis"),
                rec.get(m, "vc_position").as_u64(),
            ) {
                out.push(("vc_position", format!("{vc}|{pos}")));
            }
        }
        Model::Interface => out.push(("device_name", format!("{}|{}", id("device"), s("name")))),
        Model::Vrf => {
            if let Some(rd) = rec.get(m, "rd").as_str() {
                out.push(("rd", rd.to_string()));
            }
        }
        // Postgres treats NULLs as distinct: groups without a scope never collide.
        Model::VlanGroup
            if rec.get(m, "scope_type").is_string() && rec.id_of(m, "scope_id").is_some() =>
        {
            let scope = format!("{}|{}", rec.str(m, "scope_type"), id("scope_id"));
            out.push(("scope_name", format!("{scope}|{}", s("name"))));
            out.push(("scope_slug", format!("{scope}|{}", s("slug"))));
        }
        Model::Vlan => {
            if let Some(g) = rec.id_of(m, "group") {
                out.push(("group_vid", format!("{g}|{}", rec.get(m, "vid"))));
                out.push(("group_name", format!("{g}|{}", s("name"))));
            }
        }
        Model::CableTermination => out.push((
            "termination",
            format!(
                "{}|{}",
                rec.str(m, "termination_type"),
                id("termination_id")
            ),
        )),
        _ => {}
    }
    out
}

fn sort_name(m: Model, rec: &Rec) -> SortName {
    match m {
        Model::Device | Model::Site | Model::Vrf | Model::VlanGroup | Model::VirtualChassis => {
            match rec.get(m, "name").as_str() {
                Some(n) => SortName::Natural(NaturalKey::new(n)),
                None => SortName::None,
            }
        }
        Model::Interface => SortName::Bytes(naturalize_interface(rec.str(m, "name")).into()),
        _ => SortName::None,
    }
}

impl Store {
    pub fn iter(&self, m: Model) -> impl Iterator<Item = &Rec> {
        self.tables.get(&m).into_iter().flat_map(|t| t.values())
    }

    pub fn count(&self, m: Model) -> usize {
        self.tables.get(&m).map_or(0, |t| t.len())
    }

    pub fn total_objects(&self) -> usize {
        self.tables.values().map(|t| t.len()).sum()
    }

    pub fn get(&self, m: Model, id: Id) -> Option<&Rec> {
        self.tables.get(&m)?.get(&id)
    }

    /// The next id `m` will hand out (ids are never reused, as in PostgreSQL sequences).
    pub fn alloc_id(&mut self, m: Model) -> Id {
        let next = self.next_id.entry(m).or_insert(1);
        let id = *next;
        *next += 1;
        id
    }

    /// Makes sure the sequence of `m` is past `id` (used when loading fixtures with explicit ids).
    pub fn bump_sequence(&mut self, m: Model, id: Id) {
        let next = self.next_id.entry(m).or_insert(1);
        if *next <= id {
            *next = id + 1;
        }
    }

    /// Ids of `src` objects whose foreign key `field` points at `target`.
    pub fn referrers(&self, src: Model, field: &str, target: Id) -> impl Iterator<Item = Id> + '_ {
        let idx = src.field_index(field).unwrap_or(usize::MAX) as u8;
        self.refs
            .get(&(src, idx))
            .and_then(|m| m.get(&target))
            .into_iter()
            .flat_map(|s| s.iter().copied())
    }

    pub fn referrer_count(&self, src: Model, field: &str, target: Id) -> usize {
        let idx = src.field_index(field).unwrap_or(usize::MAX) as u8;
        self.refs
            .get(&(src, idx))
            .and_then(|m| m.get(&target))
            .map_or(0, |s| s.len())
    }

    /// Ids of `src` objects whose generic relation (named by its `*_type` field) points at
    /// (`target_model`, `target`).
    pub fn gfk_referrers(
        &self,
        src: Model,
        type_field: &str,
        target_model: Model,
        target: Id,
    ) -> impl Iterator<Item = Id> + '_ {
        let idx = src.field_index(type_field).unwrap_or(usize::MAX) as u8;
        self.gfk
            .get(&(src, idx))
            .and_then(|m| m.get(&(target_model, target)))
            .into_iter()
            .flat_map(|s| s.iter().copied())
    }

    /// Objects carrying tag `tag`.
    pub fn tagged(&self, tag: Id) -> impl Iterator<Item = (Model, Id)> + '_ {
        self.tagged
            .get(&tag)
            .into_iter()
            .flat_map(|s| s.iter().copied())
    }

    /// The id holding uniqueness key `key` of constraint `name` in `m`, if any.
    pub fn unique_holder(&self, m: Model, name: &'static str, key: &str) -> Option<Id> {
        self.uniq.get(&(m, name, key.to_string())).copied()
    }

    fn index(&mut self, m: Model, rec: &Rec, add: bool) {
        for (i, f) in m.fields().iter().enumerate() {
            let key = (m, i as u8);
            match f.kind {
                FieldKind::Fk(..) | FieldKind::ReqFk(..) => {
                    if let Some(t) = rec.vals[i].as_u64() {
                        let entry = self.refs.entry(key).or_default();
                        if add {
                            entry.entry(t).or_default().insert(rec.id);
                        } else if let Some(set) = entry.get_mut(&t) {
                            set.remove(&rec.id);
                            if set.is_empty() {
                                entry.remove(&t);
                            }
                        }
                    }
                }
                FieldKind::M2m(_) => {
                    for t in rec.vals[i].as_array().into_iter().flatten() {
                        let Some(t) = t.as_u64() else { continue };
                        let entry = self.refs.entry(key).or_default();
                        if add {
                            entry.entry(t).or_default().insert(rec.id);
                        } else if let Some(set) = entry.get_mut(&t) {
                            set.remove(&rec.id);
                            if set.is_empty() {
                                entry.remove(&t);
                            }
                        }
                    }
                }
                FieldKind::ContentType { .. } => {
                    let Some(label) = rec.vals[i].as_str() else {
                        continue;
                    };
                    let Some(target_model) = Model::from_label(label) else {
                        continue;
                    };
                    let Some(id_field) = m.fields().get(i + 1) else {
                        continue;
                    };
                    if !matches!(id_field.kind, FieldKind::ObjectId { .. }) {
                        continue;
                    }
                    let Some(t) = rec.vals[i + 1].as_u64() else {
                        continue;
                    };
                    let entry = self.gfk.entry(key).or_default();
                    if add {
                        entry.entry((target_model, t)).or_default().insert(rec.id);
                    } else if let Some(set) = entry.get_mut(&(target_model, t)) {
                        set.remove(&rec.id);
                        if set.is_empty() {
                            entry.remove(&(target_model, t));
                        }
                    }
                }
                _ => {}
            }
        }
        for t in &rec.tags {
            if add {
                self.tagged.entry(*t).or_default().insert((m, rec.id));
            } else if let Some(set) = self.tagged.get_mut(t) {
                set.remove(&(m, rec.id));
                if set.is_empty() {
                    self.tagged.remove(t);
                }
            }
        }
        for (name, key) in unique_keys(m, rec) {
            if add {
                self.uniq.insert((m, name, key), rec.id);
            } else if self.uniq.get(&(m, name, key.clone())) == Some(&rec.id) {
                self.uniq.remove(&(m, name, key));
            }
        }
    }

    /// Stores a new record (its id must not be in use).
    pub fn insert(&mut self, m: Model, mut rec: Rec) {
        rec.sort = sort_name(m, &rec);
        self.bump_sequence(m, rec.id);
        self.index(m, &rec, true);
        self.tables.entry(m).or_default().insert(rec.id, rec);
        self.version += 1;
    }

    /// Replaces a stored record with a new version of it.
    pub fn replace(&mut self, m: Model, mut rec: Rec) {
        rec.sort = sort_name(m, &rec);
        if let Some(old) = self.tables.get_mut(&m).and_then(|t| t.remove(&rec.id)) {
            self.index(m, &old, false);
        }
        self.index(m, &rec, true);
        self.tables.entry(m).or_default().insert(rec.id, rec);
        self.version += 1;
    }

    /// Removes a record, returning it.
    pub fn remove(&mut self, m: Model, id: Id) -> Option<Rec> {
        let rec = self.tables.get_mut(&m)?.remove(&id)?;
        self.index(m, &rec, false);
        self.version += 1;
        Some(rec)
    }

    /// Appends a change record, assigning its id.
    pub fn push_change(&mut self, mut change: Change) -> Id {
        self.change_seq += 1;
        change.id = self.change_seq;
        let id = change.id;
        self.changes.push(change);
        self.version += 1;
        id
    }

    pub fn change(&self, id: Id) -> Option<&Change> {
        let pos = self.changes.binary_search_by_key(&id, |c| c.id).ok()?;
        self.changes.get(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn indexes_follow_inserts_replaces_and_removes() {
        let mut s = Store::default();
        let site_idx = Model::Device.field_index("site").unwrap();
        let mut d = Rec::new(Model::Device, 1, ts());
        d.vals[site_idx] = Value::from(7u64);
        d.vals[Model::Device.field_index("name").unwrap()] = Value::from("leaf-01");
        s.insert(Model::Device, d.clone());
        assert_eq!(
            s.referrers(Model::Device, "site", 7).collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(
            s.unique_holder(Model::Device, "name_site", "7|leaf-01"),
            Some(1)
        );
        d.vals[site_idx] = Value::from(8u64);
        s.replace(Model::Device, d);
        assert_eq!(s.referrer_count(Model::Device, "site", 7), 0);
        assert_eq!(s.referrer_count(Model::Device, "site", 8), 1);
        assert_eq!(
            s.unique_holder(Model::Device, "name_site", "7|leaf-01"),
            None
        );
        s.remove(Model::Device, 1);
        assert_eq!(s.referrer_count(Model::Device, "site", 8), 0);
        assert_eq!(s.alloc_id(Model::Device), 2, "ids are never reused");
    }
}

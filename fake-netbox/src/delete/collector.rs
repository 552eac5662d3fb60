//! Django's deletion `Collector` with NetBox's `CustomCollector` additions: which objects a
//! delete takes with it, which relations protect or restrict it, which columns are set to null,
//! and the deletion order its dependency sort yields.
//!
//! It only reads the store; `delete` applies the result.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::relations::{Key, OnDelete, Rel, candidates, generic, refs};
use crate::model::Model;
use crate::store::{Id, Store};

/// Django's `Collector` with NetBox's `CustomCollector` additions.
pub(super) struct Collector<'s> {
    store: &'s Store,
    /// Models in insertion order with the ids collected for each.
    data: Vec<(Key, BTreeSet<Id>)>,
    /// model → models that must be deleted before it.
    deps: HashMap<Key, HashSet<Key>>,
    /// `SET_NULL` columns to clear: (model, field, ids of the deleted targets).
    pub(super) field_updates: Vec<(Model, &'static str, Vec<Id>)>,
    pub(super) restricted: Vec<(Model, Id)>,
    /// Pseudo ids for tag assignments (`extras.taggeditem` rows).
    tag_rows: Id,
}

impl<'s> Collector<'s> {
    pub(super) fn new(store: &'s Store) -> Collector<'s> {
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

    pub(super) fn contains(&self, m: Model, id: Id) -> bool {
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
    pub(super) fn collect(
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
    pub(super) fn sorted(&self) -> Vec<(Model, Vec<Id>)> {
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

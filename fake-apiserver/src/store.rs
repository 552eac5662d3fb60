//! Object storage: one global resourceVersion, per-object version chains (MVCC, so lists can be
//! served at an older revision and continue tokens stay consistent), a bounded event history for
//! watches, and compaction (older revisions answer 410).
//!
//! It knows nothing about HTTP, schemas or admission; callers hand it finished objects.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// (group, plural).
pub type ResKey = (String, String);
/// (namespace, name); namespace is empty for cluster-scoped objects.
pub type ObjKey = (String, String);

/// Watch event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One change in the history.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub res: Arc<ResKey>,
    pub key: ObjKey,
    pub ty: EventType,
    pub obj: Arc<Value>,
    pub prev: Option<Arc<Value>>,
}

/// Versions of one object: (rv, state) ascending; `None` is a deletion tombstone.
type Chain = Vec<(u64, Option<Arc<Value>>)>;

#[derive(Debug, Default)]
struct ResourceStore {
    /// Version chain per object: (rv, state), ascending; `None` is a deletion tombstone.
    objects: BTreeMap<ObjKey, Chain>,
}

/// The store.
#[derive(Debug)]
pub struct Store {
    rv: u64,
    compacted: u64,
    resources: BTreeMap<ResKey, ResourceStore>,
    res_keys: BTreeMap<ResKey, Arc<ResKey>>,
    events: VecDeque<Event>,
    history_limit: usize,
    /// Current objects by label: (resource) → (key, value) → objects.
    label_index: BTreeMap<ResKey, BTreeMap<(String, String), BTreeSet<ObjKey>>>,
    /// Current objects by uid.
    uid_index: BTreeMap<String, (ResKey, ObjKey)>,
    /// Owner uid → objects naming it in `ownerReferences`.
    owner_index: BTreeMap<String, BTreeSet<(ResKey, ObjKey)>>,
    /// Dependents whose every owner is gone, waiting for the garbage collector.
    orphaned: Vec<(ResKey, ObjKey)>,
}

fn uid_of(v: Option<&Value>) -> Option<String> {
    v?.get("metadata")?.get("uid")?.as_str().map(str::to_string)
}

fn owner_uids(v: Option<&Value>) -> Vec<String> {
    v.and_then(|o| o.get("metadata"))
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn labels_of(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(|o| o.get("metadata"))
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|l| {
            l.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn set_rv(obj: &mut Value, rv: u64) {
    if let Some(Value::Object(m)) = obj.get_mut("metadata") {
        m.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

impl Store {
    pub fn new(start_rv: u64, history_limit: usize) -> Self {
        Store {
            rv: start_rv,
            compacted: start_rv,
            resources: BTreeMap::new(),
            res_keys: BTreeMap::new(),
            events: VecDeque::new(),
            history_limit: history_limit.max(16),
            label_index: BTreeMap::new(),
            uid_index: BTreeMap::new(),
            owner_index: BTreeMap::new(),
            orphaned: vec![],
        }
    }

    /// The current global resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// Revisions at or below this are compacted.
    pub fn compacted(&self) -> u64 {
        self.compacted
    }

    fn res_arc(&mut self, res: &ResKey) -> Arc<ResKey> {
        self.res_keys
            .entry(res.clone())
            .or_insert_with(|| Arc::new(res.clone()))
            .clone()
    }

    /// The current state of an object.
    pub fn get(&self, res: &ResKey, key: &ObjKey) -> Option<&Arc<Value>> {
        self.resources
            .get(res)?
            .objects
            .get(key)?
            .last()?
            .1
            .as_ref()
    }

    fn at(chain: &[(u64, Option<Arc<Value>>)], rv: u64) -> Option<&Arc<Value>> {
        let idx = chain.partition_point(|(r, _)| *r <= rv);
        if idx == 0 {
            return None;
        }
        chain[idx - 1].1.as_ref()
    }

    /// Objects of a resource (optionally one namespace) as of `at` (None = now), with keys
    /// strictly after `after`, in key order.
    pub fn list<'a>(
        &'a self,
        res: &ResKey,
        namespace: Option<&'a str>,
        at: Option<u64>,
        after: Option<&'a ObjKey>,
    ) -> Box<dyn Iterator<Item = (&'a ObjKey, &'a Arc<Value>)> + 'a> {
        let Some(rs) = self.resources.get(res) else {
            return Box::new(std::iter::empty());
        };
        use std::ops::Bound;
        let lower: Bound<ObjKey> = match (after, namespace) {
            (Some(k), _) => Bound::Excluded(k.clone()),
            (None, Some(ns)) => Bound::Included((ns.to_string(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        let iter = rs.objects.range((lower, Bound::Unbounded));
        Box::new(
            iter.take_while(move |(k, _)| namespace.is_none_or(|ns| k.0 == ns))
                .filter_map(move |(k, chain)| {
                    let v = match at {
                        None => chain.last()?.1.as_ref(),
                        Some(rv) => Self::at(chain, rv),
                    };
                    v.map(|v| (k, v))
                }),
        )
    }

    fn reindex_owners(
        &mut self,
        res: &ResKey,
        key: &ObjKey,
        old: Option<&Value>,
        new: Option<&Value>,
    ) {
        let (ou, nu) = (uid_of(old), uid_of(new));
        if ou != nu {
            if let Some(u) = &ou {
                self.uid_index.remove(u);
            }
            if let Some(u) = &nu {
                self.uid_index.insert(u.clone(), (res.clone(), key.clone()));
            }
        }
        let (before, after) = (owner_uids(old), owner_uids(new));
        if before == after {
            return;
        }
        let me = (res.clone(), key.clone());
        for o in &before {
            if !after.contains(o)
                && let Some(set) = self.owner_index.get_mut(o)
            {
                set.remove(&me);
                if set.is_empty() {
                    self.owner_index.remove(o);
                }
            }
        }
        for o in after {
            self.owner_index.entry(o).or_default().insert(me.clone());
        }
    }

    /// Dependents left without any existing owner (drained by the garbage collector).
    pub fn take_orphaned(&mut self) -> Vec<(ResKey, ObjKey)> {
        std::mem::take(&mut self.orphaned)
    }

    fn reindex(&mut self, res: &ResKey, key: &ObjKey, old: Option<&Value>, new: Option<&Value>) {
        self.reindex_owners(res, key, old, new);
        let before = labels_of(old);
        let after = labels_of(new);
        if before == after {
            return;
        }
        let idx = self.label_index.entry(res.clone()).or_default();
        for kv in &before {
            if !after.contains(kv)
                && let Some(set) = idx.get_mut(kv)
            {
                set.remove(key);
                if set.is_empty() {
                    idx.remove(kv);
                }
            }
        }
        for kv in after {
            idx.entry(kv).or_default().insert(key.clone());
        }
    }

    /// Current objects of a resource carrying label `k=v` (sorted keys).
    pub fn by_label(&self, res: &ResKey, k: &str, v: &str) -> Option<&BTreeSet<ObjKey>> {
        self.label_index
            .get(res)?
            .get(&(k.to_string(), v.to_string()))
    }

    /// Number of live objects of a resource (optionally one namespace).
    pub fn count(&self, res: &ResKey, namespace: Option<&str>) -> usize {
        self.list(res, namespace, None, None).count()
    }

    /// Stores a new state of an object (create or update); assigns the next resourceVersion.
    pub fn put(&mut self, res: &ResKey, key: ObjKey, mut obj: Value) -> Arc<Value> {
        self.rv += 1;
        let rv = self.rv;
        set_rv(&mut obj, rv);
        let obj = Arc::new(obj);
        let res_arc = self.res_arc(res);
        let chain = self
            .resources
            .entry(res.clone())
            .or_default()
            .objects
            .entry(key.clone())
            .or_default();
        let prev = chain.last().and_then(|(_, o)| o.clone());
        chain.push((rv, Some(obj.clone())));
        self.reindex(res, &key, prev.as_deref(), Some(&obj));
        let ty = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.events.push_back(Event {
            rv,
            res: res_arc,
            key,
            ty,
            obj: obj.clone(),
            prev,
        });
        self.maybe_compact();
        obj
    }

    /// Deletes an object; the DELETED event carries its last state with a new resourceVersion.
    pub fn remove(&mut self, res: &ResKey, key: &ObjKey) -> Option<Arc<Value>> {
        let prev = self.get(res, key)?.clone();
        self.rv += 1;
        let rv = self.rv;
        let mut last = (*prev).clone();
        set_rv(&mut last, rv);
        let last = Arc::new(last);
        let res_arc = self.res_arc(res);
        if let Some(chain) = self
            .resources
            .get_mut(res)
            .and_then(|r| r.objects.get_mut(key))
        {
            chain.push((rv, None));
        }
        self.reindex(res, key, Some(&prev), None);
        if let Some(uid) = uid_of(Some(&prev))
            && let Some(deps) = self.owner_index.get(&uid)
        {
            for d in deps.clone() {
                let owners = self
                    .get(&d.0, &d.1)
                    .map(|o| owner_uids(Some(o)))
                    .unwrap_or_default();
                if !owners.iter().any(|u| self.uid_index.contains_key(u)) {
                    self.orphaned.push(d);
                }
            }
        }
        self.events.push_back(Event {
            rv,
            res: res_arc,
            key: key.clone(),
            ty: EventType::Deleted,
            obj: last.clone(),
            prev: Some(prev),
        });
        self.maybe_compact();
        Some(last)
    }

    /// Events with rv > `after`, oldest first; None if `after` is already compacted.
    pub fn events_after(&self, after: u64) -> Option<impl Iterator<Item = &Event>> {
        if after < self.compacted {
            return None;
        }
        let start = self.events.partition_point(|e| e.rv <= after);
        Some(self.events.range(start..))
    }

    fn maybe_compact(&mut self) {
        if self.events.len() > self.history_limit + self.history_limit / 4 {
            let drop_to = self.events[self.events.len() - self.history_limit - 1].rv;
            self.compact(drop_to);
        }
    }

    /// Compacts every revision up to `upto` (clamped to the current revision).
    pub fn compact(&mut self, upto: u64) {
        let upto = upto.min(self.rv);
        if upto <= self.compacted {
            return;
        }
        self.compacted = upto;
        let mut touched: Vec<(Arc<ResKey>, ObjKey)> = vec![];
        while let Some(e) = self.events.front() {
            if e.rv > upto {
                break;
            }
            let e = self.events.pop_front().expect("front exists");
            touched.push((e.res, e.key));
        }
        for (res, key) in touched {
            let Some(rs) = self.resources.get_mut(res.as_ref()) else {
                continue;
            };
            let Some(chain) = rs.objects.get_mut(&key) else {
                continue;
            };
            let idx = chain.partition_point(|(r, _)| *r <= upto);
            if idx > 1 {
                chain.drain(..idx - 1);
            }
            if chain.len() == 1 && chain[0].1.is_none() && chain[0].0 <= upto {
                rs.objects.remove(&key);
            }
        }
    }

    /// Drops every object of a resource (no events; used when a type disappears).
    pub fn forget_resource(&mut self, res: &ResKey) {
        self.resources.remove(res);
        self.label_index.remove(res);
        self.uid_index.retain(|_, (r, _)| r != res);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mvcc_and_compaction() {
        let mut s = Store::new(100, 1000);
        let r: ResKey = ("g".into(), "things".into());
        let k: ObjKey = ("default".into(), "a".into());
        s.put(&r, k.clone(), json!({"metadata":{"name":"a"},"v":1}));
        let rv1 = s.rv();
        s.put(&r, k.clone(), json!({"metadata":{"name":"a"},"v":2}));
        assert_eq!(s.list(&r, None, Some(rv1), None).next().unwrap().1["v"], 1);
        assert_eq!(s.get(&r, &k).unwrap()["v"], 2);
        s.remove(&r, &k);
        assert!(s.get(&r, &k).is_none());
        assert_eq!(s.list(&r, None, Some(rv1), None).count(), 1);
        assert_eq!(s.events_after(rv1).unwrap().count(), 2);
        s.compact(s.rv());
        assert!(s.events_after(rv1).is_none());
        assert_eq!(s.list(&r, None, None, None).count(), 0);
    }
}

//! Observe and diff: what the cluster holds of the fabric (a metadata list per planned kind) and
//! what a run must do to each object — create, update (NetBox changed, drift, adoption), delete
//! (no longer in NetBox) or nothing — decided by content hashes and the last verified baseline,
//! never by timestamps. Objects whose hash matches but whose version moved are *suspects*: their
//! content is compared (and dry-run applied, to allow for admission defaults) to tell drift from
//! a harmless write.
//!
//! It writes nothing to the cluster and does not order or perform writes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::content::{
    self, ANNOTATION_FIELDS, ANNOTATION_HASH, comparable, content_hash, subset_mismatch,
};
use super::{DesiredHashes, Engine, EngineError};
use crate::cluster::{Cluster, ClusterError};
use crate::config::{ConflictPolicy, FabricConfig};
use crate::hedgehog::Kind;
use crate::plan::{DesiredObject, LABEL_FABRIC};
use crate::store::{Action, ObjectResult, ObservedObject};

/// Above this many objects of one kind to fetch, one list beats many gets.
const LIST_THRESHOLD: usize = 20;

/// The fabric a run or a preview works on: its settings, its cluster, the engine's caches.
#[derive(Clone, Copy)]
pub(super) struct Target<'a> {
    pub engine: &'a Engine,
    pub cfg: &'a FabricConfig,
    pub cluster: &'a Cluster,
}

/// One object in the cluster, from a metadata list.
#[derive(Debug, Clone)]
pub(super) struct LiveMeta {
    pub rv: String,
    pub fabric: Option<String>,
    pub hash: Option<String>,
    /// The fields fabsync last applied (its fields annotation).
    pub fields: Option<String>,
}

/// What the cluster holds of a fabric's kinds, by kind and name.
pub(super) type Live = BTreeMap<(Kind, String), LiveMeta>;

/// Why the diff chose an object's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reason {
    /// Its content hash differs from the live annotation.
    ChangedInNetbox,
    /// It exists without this fabric's label (owned by `owner`, or by nobody fabsync knows).
    Foreign { owner: Option<String> },
    /// Owned by the fabric, no longer planned.
    NoLongerInNetbox,
    /// Same hash, but written since the last verified run (or no baseline): compare content.
    Suspect,
    /// Compared and found changed by hand at `path`.
    Drift { path: String },
    /// The last verified run wrote it, and it is gone from the cluster (deleted by hand).
    MissingInCluster,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::ChangedInNetbox => f.write_str("changed in NetBox"),
            Reason::Foreign { owner: Some(o) } => write!(f, "belongs to fabric {o:?}"),
            Reason::Foreign { owner: None } => f.write_str("exists without fabsync's label"),
            Reason::NoLongerInNetbox => f.write_str("no longer in NetBox"),
            Reason::Suspect => f.write_str("to be compared with the cluster"),
            Reason::Drift { path } => write!(f, "drift: {path} was changed in the cluster by hand"),
            Reason::MissingInCluster => f.write_str("missing in the cluster (deleted by hand)"),
        }
    }
}

/// One object a run looks at.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub kind: Kind,
    pub name: String,
    pub action: Action,
    /// Why the diff chose the action.
    pub reason: Option<Reason>,
    /// Desired manifest with the hash annotation.
    pub desired: Option<Value>,
    pub hash: Option<String>,
    pub live: Option<LiveMeta>,
    /// Full object before the write.
    pub pre: Option<Value>,
    /// Object after the write (server's answer).
    pub written: Option<Value>,
    /// Whether its write took effect in the cluster.
    pub applied: bool,
    /// Adopting an object without fabsync's label (policy force).
    pub adopt: bool,
    /// Preflight must wait until its stage (it references objects this run creates).
    pub deferred: bool,
    /// NetBox changed it and the new apply sets only fields fabsync applied last time (the
    /// object's fields annotation): one another manager owns now was taken over by hand, and
    /// is fabsync's to put back (as for drift).
    pub reclaim: bool,
    pub result: ObjectResult,
    /// What happened to it (an error, a skip, a rollback); takes precedence over the reason.
    pub note: Option<String>,
}

impl Item {
    fn new(kind: Kind, name: String, action: Action) -> Self {
        Self {
            kind,
            name,
            action,
            reason: None,
            desired: None,
            hash: None,
            live: None,
            pre: None,
            written: None,
            applied: false,
            adopt: false,
            deferred: false,
            reclaim: false,
            result: ObjectResult::Ok,
            note: None,
        }
    }

    /// An object the change check found unchanged, from the baseline.
    pub fn unchanged(kind: Kind, name: String, hash: String) -> Self {
        Self {
            hash: Some(hash),
            ..Self::new(kind, name, Action::Unchanged)
        }
    }

    /// `Kind/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind.kind(), self.name)
    }

    /// Whether the run writes it.
    pub fn is_write(&self) -> bool {
        !matches!(self.action, Action::Unchanged) && self.result != ObjectResult::Skipped
    }

    /// Whether the diff repairs drift on it.
    pub fn drift(&self) -> bool {
        matches!(self.reason, Some(Reason::Drift { .. }))
    }

    /// The recorded detail: what happened to it, else why it was written.
    pub fn message(&self) -> Option<String> {
        self.note.clone().or_else(|| {
            self.reason
                .as_ref()
                .filter(|r| **r != Reason::Suspect)
                .map(ToString::to_string)
        })
    }

    /// Whether a write takes fields from other managers: always under policy `force`; for
    /// adopted objects (policy `force` only gets them this far); and to repair drift — a field
    /// fabsync set and verified, then someone changed by hand (the object still carries the
    /// content hash of exactly what fabsync applied), is fabsync's to put back. A field fabsync
    /// never set that another manager owns stays a conflict under the policy.
    pub fn force(&self, cfg: &FabricConfig) -> bool {
        cfg.conflict_policy == ConflictPolicy::Force || self.adopt || self.drift() || self.reclaim
    }
}

impl Target<'_> {
    /// Metadata of every object of every planned kind in the fabric's namespace.
    pub async fn observe(&self) -> Result<Live, EngineError> {
        let mut live = BTreeMap::new();
        for kind in Kind::ALL.into_iter().filter(|k| k.is_planned()) {
            let items = match self
                .cluster
                .list_metadata(
                    &kind.api_resource(),
                    &self.cfg.namespace,
                    "",
                    &[LABEL_FABRIC],
                    &[ANNOTATION_HASH, ANNOTATION_FIELDS],
                )
                .await
            {
                Ok(items) => items,
                // A kind the cluster does not serve holds nothing; applying to it fails later.
                Err(ClusterError::MissingKind { .. }) => continue,
                Err(e) => return Err(EngineError::Cluster(e)),
            };
            for m in items {
                let fabric = m.label(LABEL_FABRIC).map(str::to_string);
                let hash = m.annotation(ANNOTATION_HASH).map(str::to_string);
                let fields = m.annotation(ANNOTATION_FIELDS).map(str::to_string);
                live.insert(
                    (kind, m.name),
                    LiveMeta {
                        rv: m.resource_version,
                        fabric,
                        hash,
                        fields,
                    },
                );
            }
        }
        Ok(live)
    }

    /// The cluster's SwitchProfiles by name (the port and breakout data the planner checks
    /// breakouts against); none when the cluster serves no SwitchProfile kind.
    pub async fn switch_profiles(&self) -> Result<crate::plan::SwitchProfiles, EngineError> {
        let ar = Kind::SwitchProfile.api_resource();
        let objects = match self.cluster.list(&ar, &self.cfg.namespace, "").await {
            Ok(o) => o,
            Err(ClusterError::MissingKind { .. }) => return Ok(Default::default()),
            Err(e) => return Err(e.into()),
        };
        Ok(objects
            .into_iter()
            .filter_map(|o| {
                let name = o.metadata.name.clone()?;
                let spec = serde_json::from_value(o.data.get("spec")?.clone()).ok()?;
                Some((name, spec))
            })
            .collect())
    }

    /// Full objects by name (one list per kind when many, else gets).
    pub async fn fetch_full(
        &self,
        kind: Kind,
        names: &BTreeSet<String>,
        labelled: bool,
    ) -> Result<BTreeMap<String, Value>, EngineError> {
        let ar = kind.api_resource();
        let mut out = BTreeMap::new();
        if names.is_empty() {
            return Ok(out);
        }
        if labelled && names.len() > LIST_THRESHOLD {
            let sel = format!("{LABEL_FABRIC}={}", self.cfg.name);
            for o in self.cluster.list(&ar, &self.cfg.namespace, &sel).await? {
                let name = o.metadata.name.clone().unwrap_or_default();
                if names.contains(&name) {
                    out.insert(name, serde_json::to_value(&o).expect("objects serialize"));
                }
            }
        } else {
            for name in names {
                if let Some(o) = self.cluster.get(&ar, &self.cfg.namespace, name).await? {
                    out.insert(
                        name.clone(),
                        serde_json::to_value(&o).expect("objects serialize"),
                    );
                }
            }
        }
        Ok(out)
    }

    /// What to do to every desired and every owned object, in write order: creates and updates
    /// by ascending reference rank, then deletes by descending rank. Pre-images are fetched for
    /// every write; suspects are compared and turn into drift (an update) or nothing.
    pub async fn diff(
        &self,
        desired: &[DesiredObject],
        live: &Live,
        baseline: &[ObservedObject],
    ) -> Result<Vec<Item>, EngineError> {
        let mut items = self.classify(desired, live, baseline);
        self.fetch_pre_images(&mut items).await?;
        self.compare_suspects(&mut items).await;
        // Writes in reference order: creates/updates by ascending rank, then deletes by
        // descending rank.
        fn order(it: &Item) -> (u8, u8, Kind, &str) {
            match it.action {
                Action::Delete => (1, 255 - it.kind.rank(), it.kind, it.name.as_str()),
                _ => (0, it.kind.rank(), it.kind, it.name.as_str()),
            }
        }
        items.sort_by(|a, b| order(a).cmp(&order(b)));
        Ok(items)
    }

    /// Each object's action from hashes, labels and the baseline alone.
    fn classify(
        &self,
        desired: &[DesiredObject],
        live: &Live,
        baseline: &[ObservedObject],
    ) -> Vec<Item> {
        let fabric = self.cfg.name.as_str();
        let base: BTreeMap<(&str, &str), &ObservedObject> = baseline
            .iter()
            .map(|o| ((o.kind.as_str(), o.name.as_str()), o))
            .collect();
        let mut items = Vec::new();
        let mut wanted = BTreeSet::new();
        let hashes = self.engine.desired_hashes(fabric, desired);
        for (d, hash) in desired.iter().zip(hashes) {
            wanted.insert((d.kind, d.name.clone()));
            let l = live.get(&(d.kind, d.name.clone())).cloned();
            let mut it = Item::new(d.kind, d.name.clone(), Action::Unchanged);
            match &l {
                None => {
                    it.action = Action::Create;
                    if base.contains_key(&(d.kind.kind(), d.name.as_str())) {
                        it.reason = Some(Reason::MissingInCluster);
                    }
                }
                Some(l) if l.fabric.as_deref() != Some(fabric) => {
                    it.action = Action::Update;
                    it.adopt = true;
                    it.reason = Some(Reason::Foreign {
                        owner: l.fabric.clone(),
                    });
                }
                Some(l) if l.hash.as_deref() != Some(hash.as_str()) => {
                    it.action = Action::Update;
                    it.reason = Some(Reason::ChangedInNetbox);
                }
                Some(l) => {
                    let same_rv = base
                        .get(&(d.kind.kind(), d.name.as_str()))
                        .is_some_and(|b| b.resource_version == l.rv && b.content_hash == hash);
                    if !same_rv {
                        // Someone wrote it since the last verified run, or there is no
                        // baseline: compare content.
                        it.reason = Some(Reason::Suspect);
                    }
                }
            }
            // The manifest is built only for what is written or compared.
            if it.action != Action::Unchanged || it.reason.is_some() {
                let desired = content::annotate(d.manifest(), &hash);
                // NetBox changed values of fields fabsync applied last time (the object lists
                // them), and set no new one: any of them another manager owns now was taken
                // from fabsync by hand, and is fabsync's to put back.
                if it.reason == Some(Reason::ChangedInNetbox) {
                    let applied = l.as_ref().and_then(|l| l.fields.as_deref());
                    let wanted = desired
                        .pointer("/metadata/annotations")
                        .and_then(|a| a.get(ANNOTATION_FIELDS))
                        .and_then(Value::as_str);
                    it.reclaim = matches!((wanted, applied), (Some(w), Some(a)) if content::fields_within(w, a));
                }
                it.desired = Some(desired);
            }
            it.hash = Some(hash);
            it.live = l;
            items.push(it);
        }
        for ((kind, name), l) in live {
            let owned = l.fabric.as_deref() == Some(fabric)
                || crate::planted::active(crate::planted::Bug::PruneWithoutLabelCheck);
            if owned && !wanted.contains(&(*kind, name.clone())) {
                let mut it = Item::new(*kind, name.clone(), Action::Delete);
                it.live = Some(l.clone());
                it.reason = Some(Reason::NoLongerInNetbox);
                items.push(it);
            }
        }
        items
    }

    /// Pre-images for every write and content for every suspect.
    async fn fetch_pre_images(&self, items: &mut [Item]) -> Result<(), EngineError> {
        let mut need: BTreeMap<Kind, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        for it in items.iter() {
            let suspect = it.reason == Some(Reason::Suspect);
            if it.action == Action::Create {
                continue;
            }
            if it.action != Action::Unchanged || suspect {
                let e = need.entry(it.kind).or_default();
                if it.adopt {
                    e.1.insert(it.name.clone());
                } else {
                    e.0.insert(it.name.clone());
                }
            }
        }
        let mut full: BTreeMap<(Kind, String), Value> = BTreeMap::new();
        for (kind, (labelled, foreign)) in need {
            for (n, v) in self.fetch_full(kind, &labelled, true).await? {
                full.insert((kind, n), v);
            }
            for (n, v) in self.fetch_full(kind, &foreign, false).await? {
                full.insert((kind, n), v);
            }
        }
        for it in items.iter_mut() {
            it.pre = full.get(&(it.kind, it.name.clone())).cloned();
        }
        Ok(())
    }

    /// Turns every suspect into drift (an update that repairs it), a create (gone since the
    /// list) or nothing (equal, or equal once the server's defaults are applied).
    async fn compare_suspects(&self, items: &mut [Item]) {
        for it in items.iter_mut() {
            if it.reason != Some(Reason::Suspect) {
                continue;
            }
            it.reason = None;
            let desired = it.desired.as_ref().expect("suspects are desired");
            let Some(pre) = &it.pre else {
                // Gone between the list and the get.
                it.action = Action::Create;
                it.reason = Some(Reason::MissingInCluster);
                continue;
            };
            let Some(path) = subset_mismatch(desired, pre) else {
                continue;
            };
            // The server may normalise what we send (mutating admission): compare with what
            // applying would produce.
            let post = self
                .cluster
                .apply(
                    &it.kind.api_resource(),
                    &self.cfg.namespace,
                    &it.name,
                    desired,
                    true,
                    true,
                )
                .await;
            let equal = match &post {
                Ok(post) => {
                    comparable(&serde_json::to_value(post).expect("objects serialize"))
                        == comparable(pre)
                }
                Err(_) => false,
            };
            if !equal {
                it.action = Action::Update;
                it.reason = Some(Reason::Drift { path });
            }
        }
    }

    /// Objects that exist without the fabric's label, under the fabric's conflict policy:
    /// `fail` stops the run with nothing written, `skip` leaves them alone, `force` adopts them.
    pub fn settle_foreign(&self, items: &mut [Item]) -> Result<(), EngineError> {
        let foreign: Vec<String> = items.iter().filter(|i| i.adopt).map(Item::key).collect();
        if foreign.is_empty() {
            return Ok(());
        }
        match self.cfg.conflict_policy {
            ConflictPolicy::Fail => Err(EngineError::Foreign {
                fabric: self.cfg.name.clone(),
                objects: foreign,
            }),
            ConflictPolicy::Skip => {
                for it in items.iter_mut().filter(|i| i.adopt) {
                    it.result = ObjectResult::Skipped;
                    it.note = Some(format!(
                        "exists without the label {LABEL_FABRIC}={}: left alone (conflict policy skip)",
                        self.cfg.name
                    ));
                }
                Ok(())
            }
            ConflictPolicy::Force => Ok(()),
        }
    }
}

impl Engine {
    /// The content hash of every desired object, reusing the last run's hash of an object
    /// that has not changed since (hashing means building and serialising every manifest).
    fn desired_hashes(&self, fabric: &str, desired: &[DesiredObject]) -> Vec<String> {
        let cache = self.hashes.lock().unwrap_or_else(|e| e.into_inner());
        let prev = cache.get(fabric);
        desired
            .iter()
            .map(|d| {
                prev.and_then(|p| p.get(&d.kind)?.get(d.name.as_str()))
                    .filter(|(old, _)| old == d)
                    .map(|(_, h)| h.clone())
                    .unwrap_or_else(|| content_hash(&d.manifest()))
            })
            .collect()
    }

    /// Keeps a run's desired objects and their hashes for the next run's
    /// [`Self::desired_hashes`].
    pub(super) fn remember_hashes(
        &self,
        fabric: &str,
        desired: Vec<DesiredObject>,
        items: &[Item],
    ) {
        let hashes: HashMap<(Kind, &str), &str> = items
            .iter()
            .filter_map(|it| Some(((it.kind, it.name.as_str()), it.hash.as_deref()?)))
            .collect();
        let mut map = DesiredHashes::new();
        for d in desired {
            if let Some(h) = hashes.get(&(d.kind, d.name.as_str())) {
                let h = h.to_string();
                map.entry(d.kind)
                    .or_default()
                    .insert(d.name.clone(), (d, h));
            }
        }
        self.hashes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fabric.to_string(), map);
    }
}

/// Whether the cluster's owned objects are exactly the baseline (same names and versions).
pub(super) fn baseline_matches(baseline: &[ObservedObject], live: &Live, fabric: &str) -> bool {
    let owned = live
        .values()
        .filter(|l| l.fabric.as_deref() == Some(fabric))
        .count();
    owned == baseline.len()
        && baseline.iter().all(|o| {
            Kind::from_kind(&o.kind).is_some_and(|kind| {
                live.get(&(kind, o.name.clone())).is_some_and(|l| {
                    l.rv == o.resource_version && l.fabric.as_deref() == Some(fabric)
                })
            })
        })
}

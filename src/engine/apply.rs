//! Preflight and apply. Preflight dry-runs every write on the server (`dryRun=All`): conflicts
//! follow the fabric's policy, other refusals stop the run with nothing written, and admission
//! refusals of objects that reference what this run creates first are checked again at their
//! stage. Apply writes stage by stage in reference order (deletes in reverse), with bounded
//! concurrency, the lease fence and the deadline checked before every write, and an audit
//! entry for every write that took effect.
//!
//! It does not undo anything (see `rollback`) and does not read back (see `verify`).

use std::collections::BTreeSet;

use futures::StreamExt;
use serde_json::Value;
use tokio::time::Instant;

use super::EngineError;
use super::diff::{Item, Target};
use super::run::RunCx;
use crate::cluster::ClusterError;
use crate::config::ConflictPolicy;
use crate::store::{Action, AuditWrite, Intent, ObjectResult, RunStep};

/// A write's result: the server's answer for applies, nothing for deletes.
type WriteResult = Result<Option<Value>, EngineError>;

impl Target<'_> {
    /// The server's answer to a write as a dry run (`None` for deletes and unchanged objects).
    pub async fn dry_run(&self, it: &Item, force: bool) -> Result<Option<Value>, ClusterError> {
        let ar = it.kind.api_resource();
        let ns = &self.cfg.namespace;
        match it.action {
            Action::Create | Action::Update => self
                .cluster
                .apply(&ar, ns, &it.name, manifest(it), true, force)
                .await
                .map(|o| Some(serde_json::to_value(o).expect("objects serialize"))),
            Action::Delete => self
                .cluster
                .delete(
                    &ar,
                    ns,
                    &it.name,
                    true,
                    it.live.as_ref().map(|l| l.rv.as_str()),
                )
                .await
                .map(|_| None),
            Action::Unchanged => Ok(None),
        }
    }

    /// Dry-runs every write. Conflicts follow the policy; other refusals stop the run with
    /// nothing written, except admission refusals of objects that may reference objects this
    /// run creates first: those are checked again just before their stage.
    pub async fn preflight(&self, items: &mut [Item]) -> Result<(), EngineError> {
        let cfg = self.cfg;
        let writes: Vec<usize> = (0..items.len()).filter(|i| items[*i].is_write()).collect();
        // Collected first: a lazy iterator of borrowing futures is not `Send` enough for the
        // scheduler's boxed future.
        let jobs: Vec<_> = writes
            .iter()
            .map(|i| {
                let it = &items[*i];
                async move { self.dry_run(it, it.force(cfg)).await }
            })
            .collect();
        let done: Vec<Result<Option<Value>, ClusterError>> = futures::stream::iter(jobs)
            .buffered(cfg.limits.concurrency)
            .collect()
            .await;
        let mut results: Vec<Result<Option<Value>, ClusterError>> =
            (0..items.len()).map(|_| Ok(None)).collect();
        for (i, r) in writes.into_iter().zip(done) {
            results[i] = r;
        }
        // Admission may refuse a write because of objects this run writes first (a reference
        // created in an earlier stage, a referrer deleted in an earlier stage): such writes are
        // checked again just before their stage.
        // A create or update refused while deletes of this run are still to come may be waiting
        // for them (a renamed object takes over the ports of the one it replaces), even when
        // nothing else of the run comes first (another process created the new object before
        // it stopped).
        let mut earlier_stages = BTreeSet::new();
        let mut has_earlier_stage = Vec::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            has_earlier_stage.push(
                earlier_stages.iter().any(|s| *s != stage(it))
                    || (it.action != Action::Delete && deletes_after(items, i + 1)),
            );
            if it.is_write() {
                earlier_stages.insert(stage(it));
            }
        }
        let mut conflicts = Vec::new();
        let mut refused: Option<ClusterError> = None;
        for ((it, r), has_earlier) in items.iter_mut().zip(results).zip(has_earlier_stage) {
            match r {
                Ok(_) => {}
                Err(ClusterError::Conflict {
                    kind,
                    name,
                    conflicts: c,
                }) => match cfg.conflict_policy {
                    ConflictPolicy::Skip => {
                        it.result = ObjectResult::Skipped;
                        let fields: Vec<String> = c
                            .iter()
                            .map(|c| format!("{} owned by {:?}", c.field, c.manager))
                            .collect();
                        it.note = Some(format!(
                            "skipped (conflict policy skip): {}",
                            fields.join(", ")
                        ));
                    }
                    _ => {
                        it.result = ObjectResult::Failed;
                        let e = ClusterError::Conflict {
                            kind: kind.clone(),
                            name: name.clone(),
                            conflicts: c.clone(),
                        };
                        it.note = Some(e.to_string());
                        conflicts.push((kind, name, c));
                    }
                },
                Err(ClusterError::Denied { .. }) if has_earlier => {
                    it.deferred = true;
                }
                Err(e) => {
                    it.result = ObjectResult::Failed;
                    it.note = Some(e.to_string());
                    if refused.is_none() {
                        refused = Some(e);
                    }
                }
            }
        }
        if !conflicts.is_empty() {
            return Err(EngineError::Conflicts(conflicts));
        }
        if let Some(e) = refused {
            return Err(EngineError::Cluster(e));
        }
        Ok(())
    }
}

/// The stage of a write: deletes after creates and updates, by reference rank.
fn stage(it: &Item) -> (bool, u8) {
    (it.action == Action::Delete, it.kind.rank())
}

/// The manifest of a create or update.
fn manifest(it: &Item) -> &Value {
    it.desired.as_ref().expect("writes have a manifest")
}

/// The audit verb of a forward write.
fn verb(it: &Item) -> &'static str {
    if it.action == Action::Delete {
        "delete"
    } else {
        "apply"
    }
}

/// Whether any delete of this run is still to be written from `from` on.
fn deletes_after(items: &[Item], from: usize) -> bool {
    items[from..]
        .iter()
        .any(|i| i.action == Action::Delete && i.is_write())
}

impl RunCx<'_> {
    /// Applies the writes stage by stage (reference order; deletes in reverse). A create or
    /// update that admission refuses while deletes of this run are still to come is postponed
    /// until after them (a renamed object takes over the ports of the object it replaces).
    /// `order` receives the indices of the writes that took effect, in the order they did.
    pub async fn apply(
        &self,
        items: &mut [Item],
        order: &mut Vec<usize>,
    ) -> Result<(), EngineError> {
        let result = self.apply_stages(items, order).await;
        if result.is_err() {
            // Nothing after a failed write runs.
            let done: BTreeSet<usize> = order.iter().copied().collect();
            for (i, it) in items.iter_mut().enumerate() {
                if it.is_write() && !done.contains(&i) && it.result != ObjectResult::Failed {
                    it.result = ObjectResult::NotApplied;
                    it.note = Some("not written: the run stopped at an earlier failure".into());
                }
            }
        }
        result
    }

    async fn apply_stages(
        &self,
        items: &mut [Item],
        order: &mut Vec<usize>,
    ) -> Result<(), EngineError> {
        let mut stages: Vec<std::ops::Range<usize>> = Vec::new();
        let mut start = 0;
        while start < items.len() {
            let key = stage(&items[start]);
            let mut end = start;
            while end < items.len() && stage(&items[end]) == key {
                end += 1;
            }
            stages.push(start..end);
            start = end;
        }
        let mut postponed: Vec<usize> = Vec::new();
        for range in stages {
            let delete_stage = items[range.start].action == Action::Delete;
            let mut batch = Vec::new();
            for i in range.clone() {
                if !items[i].is_write() {
                    continue;
                }
                if items[i].deferred {
                    // Deferred preflight: the objects it references exist now.
                    let force = items[i].force(self.target.cfg);
                    match self.target.dry_run(&items[i], force).await {
                        Ok(_) => {}
                        Err(ClusterError::Denied { .. })
                            if !delete_stage && deletes_after(items, range.end) =>
                        {
                            postponed.push(i);
                            continue;
                        }
                        Err(e) => {
                            items[i].result = ObjectResult::Failed;
                            items[i].note = Some(e.to_string());
                            return Err(EngineError::Cluster(e));
                        }
                    }
                }
                batch.push(i);
            }
            let results = self.write_batch(items, &batch).await?;
            let can_wait = !delete_stage && deletes_after(items, range.end);
            let wait = can_wait.then_some(&mut postponed);
            self.absorb(items, order, results, wait)?;
        }
        // Writes that waited for the deletes, in reference order.
        postponed.sort_by_key(|&i| (items[i].kind.rank(), i));
        let mut k = 0;
        while k < postponed.len() {
            let rank = items[postponed[k]].kind.rank();
            let batch: Vec<usize> = postponed[k..]
                .iter()
                .copied()
                .take_while(|&i| items[i].kind.rank() == rank)
                .collect();
            k += batch.len();
            let results = self.write_batch(items, &batch).await?;
            self.absorb(items, order, results, None)?;
        }
        Ok(())
    }

    /// Writes one item (no checks but the fence and the deadline); returns the server's answer
    /// for applies.
    async fn write_one(&self, it: &Item) -> WriteResult {
        let cfg = self.target.cfg;
        if !self.p.fence.is_valid()
            && !crate::planted::active(crate::planted::Bug::IgnoreLeaseFence)
        {
            return Err(EngineError::Fenced);
        }
        if self.lock_lost.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(EngineError::LockLost);
        }
        if Instant::now() > self.deadline {
            return Err(EngineError::Deadline {
                secs: cfg.limits.deadline_secs,
                step: RunStep::Apply,
            });
        }
        let ar = it.kind.api_resource();
        let cluster = self.target.cluster;
        let r = match it.action {
            Action::Delete => cluster
                .delete(
                    &ar,
                    &cfg.namespace,
                    &it.name,
                    false,
                    it.live.as_ref().map(|l| l.rv.as_str()),
                )
                .await
                .map(|_| None),
            _ => cluster
                .apply(
                    &ar,
                    &cfg.namespace,
                    &it.name,
                    manifest(it),
                    false,
                    it.force(cfg),
                )
                .await
                .map(|o| Some(serde_json::to_value(o).expect("objects serialize"))),
        };
        r.map_err(|e| match e {
            ClusterError::Fenced { .. } => EngineError::Fenced,
            e => EngineError::Cluster(e),
        })
    }

    /// Writes a batch with bounded concurrency, each write's intent recorded durably before
    /// any is sent; returns results in batch order with the intents' numbers. A store that
    /// cannot record the intents fails the batch with nothing sent.
    async fn write_batch(
        &self,
        items: &[Item],
        batch: &[usize],
    ) -> Result<Vec<(usize, i64, WriteResult)>, EngineError> {
        let engine = self.target.engine;
        let ns = &self.target.cfg.namespace;
        let intents: Vec<Intent<'_>> = batch
            .iter()
            .map(|&i| {
                let it = &items[i];
                Intent {
                    kind: it.kind.kind(),
                    namespace: ns,
                    name: &it.name,
                    verb: verb(it),
                    before_hash: it.live.as_ref().and_then(|l| l.hash.as_deref()),
                    after_hash: it.hash.as_deref(),
                }
            })
            .collect();
        let seqs =
            engine
                .store
                .intend(self.run_id, &self.target.cfg.name, engine.now(), &intents)?;
        let jobs: Vec<_> = batch
            .iter()
            .zip(seqs)
            .map(|(&i, seq)| {
                let it = &items[i];
                async move { (i, seq, self.write_one(it).await) }
            })
            .collect();
        Ok(futures::stream::iter(jobs)
            .buffered(self.target.cfg.limits.concurrency)
            .collect()
            .await)
    }

    /// Takes a batch's results: records the writes that took effect (in `order`, each intent
    /// replaced by its audit entry), drops the intents of writes the cluster refused, keeps
    /// those of writes whose outcome is unknown (the object is named as in an unknown state),
    /// sets aside admission refusals into `postpone` when given, and returns the first failure
    /// — after taking every result of the batch, so no write that took effect goes unrecorded.
    fn absorb(
        &self,
        items: &mut [Item],
        order: &mut Vec<usize>,
        results: Vec<(usize, i64, WriteResult)>,
        mut postpone: Option<&mut Vec<usize>>,
    ) -> Result<(), EngineError> {
        let store = &self.target.engine.store;
        let mut first_err = None;
        for (i, seq, r) in results {
            match (r, postpone.as_deref_mut()) {
                (Ok(written), _) => {
                    // The write took effect: it is undone by a rollback even if the store
                    // cannot record it (its intent stays open and is settled later).
                    order.push(i);
                    if let Err(e) = self.record_write(&mut items[i], written, seq) {
                        first_err.get_or_insert(e);
                    }
                }
                (Err(EngineError::Cluster(e @ ClusterError::Denied { .. })), Some(later)) => {
                    if let Err(se) = store.write_refused(self.run_id, seq) {
                        first_err.get_or_insert(se.into());
                    }
                    drop(e);
                    later.push(i);
                }
                (Err(e), _) => {
                    let it = &mut items[i];
                    if e.may_have_applied() {
                        it.result = ObjectResult::Unknown;
                        it.note = Some(format!("the write's outcome is unknown: {e}"));
                    } else {
                        it.result = ObjectResult::Failed;
                        it.note = Some(e.to_string());
                        if let Err(se) = store.write_refused(self.run_id, seq) {
                            first_err.get_or_insert(se.into());
                        }
                    }
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Records a write that took effect: its answer, and its audit entry in place of its intent.
    fn record_write(
        &self,
        it: &mut Item,
        written: Option<Value>,
        seq: i64,
    ) -> Result<(), EngineError> {
        it.written = written;
        it.applied = true;
        it.result = ObjectResult::Ok;
        let before = it.live.as_ref().and_then(|l| l.hash.clone());
        let rv = it
            .written
            .as_ref()
            .and_then(|w| w.pointer("/metadata/resourceVersion"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let engine = self.target.engine;
        engine.store.write_done(
            seq,
            &AuditWrite {
                run_id: self.run_id,
                time: engine.now(),
                kind: it.kind.kind(),
                namespace: &self.target.cfg.namespace,
                name: &it.name,
                verb: verb(it),
                before_hash: before.as_deref(),
                after_hash: it.hash.as_deref(),
                resource_version: rv.as_deref(),
            },
        )?;
        Ok(())
    }
}

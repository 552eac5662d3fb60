//! The end of a run: per-object results and counts (overall and per kind), the one-line
//! outcome, the run record and the fabric's status and connection states in the store, and the
//! run's trace in NetBox (a journal entry and the site's status custom fields).
//!
//! It decides nothing about the cluster; it records what the stages did.

use std::collections::BTreeMap;

use tokio::time::Instant;

use super::run::RunState;
use super::{Engine, EngineError, RunReport};
use crate::clock::format_ts;
use crate::config::FabricConfig;
use crate::netbox::writer::JournalKind;
use crate::plan::Severity;
use crate::store::{
    Action, Counts, FabricStatus, ObjectResult, Phase, RunEnd, RunObject, StatusEvent,
};

/// Requests a run sent.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Calls {
    pub netbox: u64,
    pub cluster: u64,
    pub writes: u64,
}

/// Records the end of one run.
pub(super) struct Summary<'a> {
    pub engine: &'a Engine,
    /// The fabric's status before the run started.
    pub before: FabricStatus,
    pub cfg: &'a FabricConfig,
    pub run_id: i64,
    pub started: Instant,
    pub calls: Calls,
}

/// Overall and per-kind counts of a run's objects.
fn count(st: &RunState) -> (Counts, BTreeMap<String, Counts>) {
    let mut counts = Counts::default();
    let mut kinds: BTreeMap<&'static str, Counts> = BTreeMap::new();
    for it in &st.items {
        let k = kinds.entry(it.kind.kind()).or_default();
        for c in [&mut counts, k] {
            match (it.result, it.action) {
                (ObjectResult::Ok, Action::Create) => c.created += 1,
                (ObjectResult::Ok, Action::Update) => c.updated += 1,
                (ObjectResult::Ok, Action::Delete) => c.deleted += 1,
                (ObjectResult::Ok, Action::Unchanged) => c.unchanged += 1,
                (ObjectResult::Skipped, _) => c.skipped += 1,
                (ObjectResult::Failed | ObjectResult::Unknown, _) => c.failed += 1,
                (ObjectResult::RolledBack | ObjectResult::NotApplied, _) => {}
            }
        }
    }
    let by_kind = kinds.into_iter().map(|(k, c)| (k.to_string(), c)).collect();
    (counts, by_kind)
}

/// A failed run: every write that did not take effect and has no other result says so, with
/// the reason (nothing reached the cluster for it).
fn mark_not_applied(st: &mut RunState, e: &EngineError) {
    let why = match e {
        EngineError::InvalidData(_) | EngineError::Conflicts(_) | EngineError::Foreign { .. } => {
            "not applied: the run stopped before writing anything"
        }
        EngineError::Held(_) => "not applied: the run's deletions await approval",
        _ if st.step <= crate::store::RunStep::Preflight => {
            "not applied: the run stopped before writing anything"
        }
        _ => "not applied: the run stopped before writing it",
    };
    for it in st.items.iter_mut() {
        if it.is_write() && !it.applied && it.result == ObjectResult::Ok {
            it.result = ObjectResult::NotApplied;
            it.note = Some(why.into());
        }
    }
}

/// A message as a sentence: ends with one full stop.
fn sentence(mut text: String) -> String {
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

/// The one-line outcome of a successful run.
fn success_message(st: &RunState, counts: &Counts, warnings: usize) -> String {
    let mut msg = if st.no_changes {
        "no changes".to_string()
    } else if counts.created + counts.updated + counts.deleted == 0 {
        "in sync: nothing to write".to_string()
    } else {
        format!(
            "synced: {} created, {} updated, {} deleted, {} unchanged",
            counts.created, counts.updated, counts.deleted, counts.unchanged
        )
    };
    let drift = st.drift();
    if drift > 0 {
        msg.push_str(&format!(
            "; repaired drift on {drift} object(s) changed in the cluster by hand"
        ));
    }
    if counts.skipped > 0 {
        msg.push_str(&format!(
            "; {} object(s) left alone (conflict policy skip, or prune off)",
            counts.skipped
        ));
    }
    if warnings > 0 {
        msg.push_str(&format!("; {warnings} warning(s)"));
    }
    if let Some(why) = &st.log_note {
        msg.push_str(&format!("; read NetBox in full: {why}"));
    }
    msg
}

impl Summary<'_> {
    /// Closes the run record, sets the fabric's status and connection states, and leaves the
    /// run's trace in NetBox.
    pub async fn record(
        self,
        st: RunState,
        result: Result<(), EngineError>,
    ) -> Result<RunReport, EngineError> {
        let store = &self.engine.store;
        let cfg = self.cfg;
        let mut st = st;
        if let Err(e) = &result {
            mark_not_applied(&mut st, e);
        }
        // Writes whose outcome stayed unknown (their intent still open) go into the audit log as
        // unconfirmed: it must hold every write that may have reached the cluster.
        let now = self.engine.now();
        let unconfirmed = store.settle_intents(self.run_id, now)?;
        for i in &unconfirmed {
            if let Some(it) = st
                .items
                .iter_mut()
                .find(|it| it.kind.kind() == i.kind && it.name == i.name)
                && it.result == ObjectResult::Ok
            {
                it.result = ObjectResult::Unknown;
                it.note = Some("written, but fabsync could not record it: the store failed".into());
            }
        }
        let (counts, by_kind) = count(&st);
        let objects: Vec<RunObject> = st
            .items
            .iter()
            .filter(|it| it.action != Action::Unchanged || it.result != ObjectResult::Ok)
            .map(|it| RunObject {
                kind: it.kind.kind().to_string(),
                namespace: cfg.namespace.clone(),
                name: it.name.clone(),
                action: it.action,
                result: it.result,
                message: it.message(),
            })
            .collect();
        let warnings: Vec<String> = st
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .map(|f| f.to_string())
            .collect();
        let (phase, message, error_kind, error_text) = match &result {
            Ok(()) => (
                Phase::Success,
                success_message(&st, &counts, warnings.len()),
                None,
                None,
            ),
            Err(e) => (
                Phase::Failure,
                e.short().to_string(),
                Some(e.kind().to_string()),
                Some(e.to_string()),
            ),
        };
        let end = RunEnd {
            phase,
            step: st.step,
            finished_at: Some(self.engine.now()),
            duration_ms: Some(self.started.elapsed().as_millis() as u64),
            counts,
            cluster_calls: self.calls.cluster,
            netbox_calls: self.calls.netbox,
            writes: self.calls.writes,
            drift: st.drift(),
            message: Some(message),
            error_kind,
            error: error_text.map(|t| {
                if warnings.is_empty() {
                    t
                } else {
                    format!("{t}\nWarnings: {}", warnings.join("; "))
                }
            }),
        };
        let object_count = result.as_ref().ok().map(|_| {
            st.items
                .iter()
                .filter(|it| it.action != Action::Delete && it.result == ObjectResult::Ok)
                .count() as u64
        });
        store.finish_run(self.run_id, &end, &objects, object_count)?;
        let (nb_state, cl_state) = match &result {
            Ok(()) => (st.netbox_state, st.cluster_state),
            Err(e) => {
                let (n, c) = e.connection_states();
                (n.or(st.netbox_state), c.or(st.cluster_state))
            }
        };
        store.set_connection_states(&cfg.name, nb_state, cl_state)?;
        let event = match &result {
            Ok(()) if counts.skipped > 0 => StatusEvent::RunPartial,
            Ok(()) => StatusEvent::RunVerified,
            Err(EngineError::Held(_)) => StatusEvent::RunHeld,
            Err(_) => StatusEvent::RunFailed,
        };
        let status = store.status_event(&cfg.name, &event)?;
        self.record_in_netbox(&st, &end, status, result.as_ref().err())
            .await;
        // One line per run, for people and log pipelines (the run's span adds fabric, run and
        // trigger).
        tracing::info!(
            outcome = end.message.as_deref().unwrap_or_default(),
            phase = phase.as_str(),
            error_kind = end.error_kind.as_deref().unwrap_or_default(),
            created = counts.created,
            updated = counts.updated,
            deleted = counts.deleted,
            unchanged = counts.unchanged,
            failed = counts.failed,
            duration_ms = end.duration_ms.unwrap_or_default(),
            "run finished"
        );
        Ok(RunReport {
            run_id: self.run_id,
            phase,
            end,
            objects,
            by_kind,
            findings: st.findings,
            error: result.err(),
        })
    }

    /// The journal entry (and site custom fields) in NetBox after a run. Best effort: a
    /// failure here is logged, it does not change the run's result.
    async fn record_in_netbox(
        &self,
        st: &RunState,
        end: &RunEnd,
        status: FabricStatus,
        error: Option<&EngineError>,
    ) {
        let cfg = self.cfg;
        let run_id = self.run_id;
        let Some(site_id) = st.site_id else { return };
        let wrote = end.counts.created + end.counts.updated + end.counts.deleted > 0;
        let changed = self.before != status;
        // NetBox shows the truth after every status change and every write; quiet runs (no
        // changes, or the same failure again) leave nothing: NetBox would fill up every interval.
        if !changed && !wrote && st.drift() == 0 {
            return;
        }
        let Ok(nb) = self.engine.connector.netbox(cfg) else {
            return;
        };
        let transition = if changed {
            format!(" Status {} → {status}.", self.before)
        } else {
            String::new()
        };
        let (kind, text) = match error {
            None => (
                if changed && self.before != FabricStatus::NeverSynced {
                    JournalKind::Success
                } else {
                    JournalKind::Info
                },
                format!(
                    "fabsync run {run_id} ({}): SUCCESS — {}. Cluster: {} created, {} updated, {} deleted, {} unchanged.{transition}",
                    cfg.name,
                    end.message.clone().unwrap_or_default(),
                    end.counts.created,
                    end.counts.updated,
                    end.counts.deleted,
                    end.counts.unchanged
                ),
            ),
            Some(e @ EngineError::Held(_)) => (
                JournalKind::Warning,
                format!(
                    "fabsync run {run_id} ({}): HELD — {}{transition}",
                    cfg.name,
                    sentence(e.to_string())
                ),
            ),
            Some(e) => (
                JournalKind::Danger,
                format!(
                    "fabsync run {run_id} ({}): FAILURE — {}{transition}",
                    cfg.name,
                    sentence(e.to_string())
                ),
            ),
        };
        if let Err(e) = nb.client.create_journal_entry(site_id, kind, &text).await {
            tracing::warn!(fabric = %cfg.name, error = %e, "could not write the NetBox journal entry");
        }
        let last_sync = match error {
            None => end.finished_at.map(format_ts),
            Some(_) => None,
        };
        // Only when the site has the fields (netbox-setup creates them); otherwise NetBox says 400.
        if let Err(e) = nb
            .client
            .record_fabric_status(site_id, status.as_str(), last_sync.as_deref())
            .await
        {
            tracing::debug!(fabric = %cfg.name, error = %e, "site custom fields not updated");
        }
    }
}

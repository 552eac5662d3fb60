//! The first stages of a run: the change check of periodic runs (NetBox's change log since the
//! stored cursor, the cluster's metadata against the baseline: nothing changed on either side
//! means "no changes", no full read, no write) and the read of the fabric from NetBox — in full,
//! or, for runs other than manual ones, by bringing the engine's last snapshot up to date from
//! the change log when that is exact.
//!
//! It plans nothing and writes nothing to the cluster.

use super::diff::{Item, Live, baseline_matches};
use super::run::{RunCx, RunState};
use super::{CachedSnapshot, EngineError, SnapshotSource};
use crate::netbox::changes::{ChangesAfter, LogPosition, ObjectChange};
use crate::netbox::{NetboxClient, Snapshot};
use crate::store::{ChangeCursor, ConnectionState, ObservedObject, Trigger};

/// What the change check found.
pub(super) enum ChangeCheck {
    /// Nothing changed on either side: the run ends here, with the baseline standing.
    NoChanges,
    /// Something changed; the metadata list already taken, for the observe stage.
    Changed(Live),
}

/// A snapshot read for a run, with where it came from (to cache it after planning).
pub(super) struct Read {
    pub snapshot: Snapshot,
    pub source: SnapshotSource,
}

/// The change log since `from`, when it can be trusted: `Err(why)` when the log was rewound,
/// replaced or pruned past `from` (then only a full read tells what NetBox holds).
async fn log_since(
    nb: &NetboxClient,
    from: &LogPosition,
    latest: Option<&LogPosition>,
) -> Result<Result<Vec<ObjectChange>, String>, EngineError> {
    let Some(latest) = latest else {
        return Ok(Err(format!(
            "NetBox's change log is empty while the cursor is at change {}: NetBox was recreated or its change log purged",
            from.id
        )));
    };
    if latest.id <= from.id && crate::planted::active(crate::planted::Bug::TrustCursorBlindly) {
        return Ok(Ok(Vec::new()));
    }
    if latest.id < from.id {
        return Ok(Err(format!(
            "NetBox's change ids went backwards (from {} to {}): NetBox was restored from a backup or recreated",
            from.id, latest.id
        )));
    }
    if latest.id == from.id {
        return Ok(if latest == from {
            Ok(Vec::new())
        } else {
            Err(format!(
                "the change record at the cursor (id {}) is not the one seen before: NetBox was restored from a backup or replaced",
                from.id
            ))
        });
    }
    Ok(match nb.changes_after(from).await? {
        ChangesAfter::Continuous(c) => Ok(c),
        ChangesAfter::Broken(why) => Err(why),
    })
}

/// A stored cursor as a log position (one stored without a fingerprint cannot be checked and
/// matches nothing).
fn position_of(c: &ChangeCursor) -> LogPosition {
    LogPosition {
        id: u64::try_from(c.id).unwrap_or(0),
        fingerprint: c.fingerprint.clone().unwrap_or_default(),
    }
}

/// A log position as stored.
pub(super) fn cursor_of(p: &LogPosition) -> ChangeCursor {
    ChangeCursor {
        id: i64::try_from(p.id).unwrap_or(i64::MAX),
        fingerprint: Some(p.fingerprint.clone()),
    }
}

impl RunCx<'_> {
    /// Periodic runs with a baseline: whether anything changed since the last verified run.
    pub async fn change_check(
        &self,
        st: &mut RunState,
        baseline: &[ObservedObject],
        cursor: &ChangeCursor,
    ) -> Result<ChangeCheck, EngineError> {
        let nb = &self.nb.client;
        let latest = nb.latest_change().await?;
        st.netbox_state = Some(ConnectionState::Connected);
        let relevant = match log_since(nb, &position_of(cursor), latest.as_ref()).await? {
            Ok(changes) => changes.iter().filter(|c| c.can_affect_fabric()).count(),
            Err(why) => {
                tracing::warn!(fabric = %self.target.cfg.name, "{why}; reading NetBox in full");
                st.log_note = Some(why);
                usize::MAX
            }
        };
        let live = self.target.observe().await?;
        st.cluster_state = Some(ConnectionState::Connected);
        let same = baseline_matches(baseline, &live, &self.target.cfg.name);
        if relevant > 0 || !same {
            return Ok(ChangeCheck::Changed(live));
        }
        st.no_changes = true;
        for o in baseline {
            if let Some(kind) = crate::hedgehog::Kind::from_kind(&o.kind) {
                st.items.push(Item::unchanged(
                    kind,
                    o.name.clone(),
                    o.content_hash.clone(),
                ));
            }
        }
        let engine = self.target.engine;
        engine.store.set_cursor(
            &self.target.cfg.name,
            latest.as_ref().map(cursor_of).as_ref(),
            engine.now(),
        )?;
        Ok(ChangeCheck::NoChanges)
    }

    /// The fabric's NetBox snapshot: refreshed from the change log when the cached one allows
    /// it exactly and the run is not manual, else read in full. Records the cursor it is
    /// current to in `st`.
    pub async fn read(&self, st: &mut RunState) -> Result<Read, EngineError> {
        let cfg = self.target.cfg;
        let nb = &self.nb.client;
        st.cursor = nb.latest_change().await?;
        let source = (
            cfg.netbox.url.clone(),
            cfg.site_slug().to_string(),
            cfg.tag.clone(),
        );
        let cached = self
            .target
            .engine
            .snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&cfg.name)
            .filter(|c| c.source == source);
        let mut refreshed = None;
        // Manual runs read everything; the others bring the last snapshot up to date when
        // the change log allows it exactly.
        if self.p.trigger != Trigger::Manual
            && let Some(mut c) = cached
        {
            match log_since(nb, &c.cursor, st.cursor.as_ref()).await? {
                Ok(changes) => {
                    let changes: Vec<ObjectChange> = changes
                        .into_iter()
                        .filter(ObjectChange::can_affect_fabric)
                        .collect();
                    if nb.refresh_fabric(&mut c.snapshot, &changes).await? {
                        refreshed = Some(c.snapshot);
                    }
                }
                Err(why) => {
                    tracing::warn!(fabric = %cfg.name, "{why}; reading NetBox in full");
                    st.log_note.get_or_insert(why);
                }
            }
        }
        let snapshot = match refreshed {
            Some(s) => s,
            None => nb.read_fabric(cfg.site_slug(), cfg.tag.as_deref()).await?,
        };
        st.netbox_state = Some(ConnectionState::Connected);
        st.site_id = Some(snapshot.site.id);
        st.netbox_devices = Some(snapshot.devices.len());
        Ok(Read { snapshot, source })
    }

    /// Keeps the snapshot for the next run to refresh, when its cursor is known.
    pub fn cache_snapshot(&self, st: &RunState, read: Read) {
        if let Some(cursor) = st.cursor.clone() {
            self.target
                .engine
                .snapshots
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(
                    self.target.cfg.name.clone(),
                    CachedSnapshot {
                        source: read.source,
                        cursor,
                        snapshot: read.snapshot,
                    },
                );
        }
    }
}

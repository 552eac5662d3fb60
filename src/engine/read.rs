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
use crate::netbox::Snapshot;
use crate::netbox::changes::ObjectChange;
use crate::store::{ConnectionState, ObservedObject, Trigger};

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

impl RunCx<'_> {
    /// Periodic runs with a baseline: whether anything changed since the last verified run.
    pub async fn change_check(
        &self,
        st: &mut RunState,
        baseline: &[ObservedObject],
        cursor: i64,
    ) -> Result<ChangeCheck, EngineError> {
        let nb = &self.nb.client;
        let latest = nb.latest_change_id().await?.unwrap_or(0);
        st.netbox_state = Some(ConnectionState::Connected);
        let changes = if latest as i64 > cursor {
            nb.changes_since(cursor as u64, &[]).await?
        } else {
            Vec::new()
        };
        let relevant = changes.iter().filter(|c| c.can_affect_fabric()).count();
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
        engine
            .store
            .set_cursor(&self.target.cfg.name, Some(latest as i64), engine.now())?;
        Ok(ChangeCheck::NoChanges)
    }

    /// The fabric's NetBox snapshot: refreshed from the change log when the cached one allows
    /// it exactly and the run is not manual, else read in full. Records the cursor it is
    /// current to in `st`.
    pub async fn read(&self, st: &mut RunState) -> Result<Read, EngineError> {
        let cfg = self.target.cfg;
        let nb = &self.nb.client;
        st.cursor = nb.latest_change_id().await?;
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
            && let (Some(mut c), Some(latest)) = (cached, st.cursor)
            && latest >= c.cursor
        {
            let changes: Vec<ObjectChange> = if latest > c.cursor {
                nb.changes_since(c.cursor, &[])
                    .await?
                    .into_iter()
                    .filter(ObjectChange::can_affect_fabric)
                    .collect()
            } else {
                Vec::new()
            };
            if nb.refresh_fabric(&mut c.snapshot, &changes).await? {
                refreshed = Some(c.snapshot);
            }
        }
        let snapshot = match refreshed {
            Some(s) => s,
            None => nb.read_fabric(cfg.site_slug(), cfg.tag.as_deref()).await?,
        };
        st.netbox_state = Some(ConnectionState::Connected);
        st.site_id = Some(snapshot.site.id);
        Ok(Read { snapshot, source })
    }

    /// Keeps the snapshot for the next run to refresh, when its cursor is known.
    pub fn cache_snapshot(&self, st: &RunState, read: Read) {
        if let Some(cursor) = st.cursor {
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

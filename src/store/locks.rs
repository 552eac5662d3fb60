//! Who may run what, across processes sharing one store: a fabric lock per running sync (owner,
//! run, expiry; renewed while the run lives) and a heartbeat per scheduler replica (so a task
//! or run whose process died can be told from one that is still going).
//!
//! Times are the caller's (the world's clock), stored as RFC 3339 at second precision, which
//! order as strings; compared here at that precision. It decides nothing about leases in the
//! cluster (`scheduler::lease`).

use super::Cached as _;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{At, Ctx, Store, StoreError};
use crate::clock::{format_ts, whole_seconds};

/// Who holds a fabric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FabricLock {
    /// The fabric.
    pub fabric: String,
    /// The process (replica or CLI) that holds it.
    pub owner: String,
    /// Its run, once recorded.
    pub run_id: Option<i64>,
    /// Since when.
    pub acquired_at: Timestamp,
    /// Until when, unless renewed.
    pub expires_at: Timestamp,
}

/// The answer to a lock request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    /// The caller holds the fabric now. `stale` is the lock it replaced, when that one's owner
    /// had stopped renewing it (its run, if any, was interrupted).
    Acquired {
        /// The expired lock taken over.
        stale: Option<FabricLock>,
    },
    /// Someone else holds it.
    Held(FabricLock),
}

impl Store {
    /// Takes a fabric for `owner` until `expires_at`, unless another owner holds an unexpired
    /// lock. One immediate transaction, so two processes cannot both win.
    pub fn lock_fabric(
        &self,
        fabric: &str,
        owner: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<LockOutcome, StoreError> {
        let now = whole_seconds(now);
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("begin fabric lock")?;
        let current = tx
            .row_cached(
                "SELECT fabric, owner, run_id, acquired_at, expires_at FROM fabric_locks WHERE fabric = ?1",
                params![fabric],
                lock_from_row,
            )
            .optional()
            .ctx("read fabric lock")?
            .transpose()?;
        let stale = match current {
            Some(l) if l.owner != owner && l.expires_at > now => {
                return Ok(LockOutcome::Held(l));
            }
            Some(l) if l.owner != owner => Some(l),
            _ => None,
        };
        tx.exec_cached(
            "INSERT INTO fabric_locks (fabric, owner, run_id, acquired_at, expires_at)
             VALUES (?1, ?2, NULL, ?3, ?4)
             ON CONFLICT(fabric) DO UPDATE SET owner = ?2, run_id = NULL, acquired_at = ?3, expires_at = ?4",
            params![fabric, owner, format_ts(now), format_ts(expires_at)],
        )
        .ctx("take fabric lock")?;
        tx.commit().ctx("commit fabric lock")?;
        Ok(LockOutcome::Acquired { stale })
    }

    /// Names the run a lock covers.
    pub fn lock_run(&self, fabric: &str, owner: &str, run_id: i64) -> Result<(), StoreError> {
        self.lock()
            .exec_cached(
                "UPDATE fabric_locks SET run_id = ?3 WHERE fabric = ?1 AND owner = ?2",
                params![fabric, owner, run_id],
            )
            .ctx("link run to fabric lock")?;
        Ok(())
    }

    /// Extends a lock the caller holds; `false` when it no longer holds it (it expired and
    /// someone else took the fabric).
    pub fn renew_fabric_lock(
        &self,
        fabric: &str,
        owner: &str,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .lock()
            .exec_cached(
                "UPDATE fabric_locks SET expires_at = ?3 WHERE fabric = ?1 AND owner = ?2",
                params![fabric, owner, format_ts(expires_at)],
            )
            .ctx("renew fabric lock")?;
        Ok(n == 1)
    }

    /// Gives a fabric back (only if the caller holds it).
    pub fn unlock_fabric(&self, fabric: &str, owner: &str) -> Result<(), StoreError> {
        self.lock()
            .exec_cached(
                "DELETE FROM fabric_locks WHERE fabric = ?1 AND owner = ?2",
                params![fabric, owner],
            )
            .ctx("release fabric lock")?;
        Ok(())
    }

    /// The lock on a fabric, expired or not.
    pub fn fabric_lock(&self, fabric: &str) -> Result<Option<FabricLock>, StoreError> {
        self.lock()
            .row_cached(
                "SELECT fabric, owner, run_id, acquired_at, expires_at FROM fabric_locks WHERE fabric = ?1",
                params![fabric],
                lock_from_row,
            )
            .optional()
            .ctx("read fabric lock")?
            .transpose()
    }

    /// Every fabric lock, by fabric.
    pub fn fabric_locks(&self) -> Result<Vec<FabricLock>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT fabric, owner, run_id, acquired_at, expires_at FROM fabric_locks ORDER BY fabric",
            )
            .ctx("list fabric locks")?;
        let rows = stmt
            .query_map([], lock_from_row)
            .ctx("list fabric locks")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("list fabric locks")?;
        rows.into_iter().collect()
    }

    /// Records that a scheduler replica is alive (registering it the first time).
    pub fn replica_heartbeat(&self, id: &str, now: Timestamp) -> Result<(), StoreError> {
        self.lock()
            .exec_cached(
                "INSERT INTO replicas (id, started_at, heartbeat_at) VALUES (?1, ?2, ?2)
                 ON CONFLICT(id) DO UPDATE SET heartbeat_at = ?2",
                params![id, format_ts(now)],
            )
            .ctx("replica heartbeat")?;
        Ok(())
    }

    /// Removes a replica that stops cleanly.
    pub fn replica_gone(&self, id: &str) -> Result<(), StoreError> {
        self.lock()
            .exec_cached("DELETE FROM replicas WHERE id = ?1", params![id])
            .ctx("unregister replica")?;
        Ok(())
    }
}

fn lock_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<FabricLock, StoreError>> {
    let fabric: String = r.get(0)?;
    let (owner, run_id) = (r.get(1)?, r.get(2)?);
    let (acquired_at, expires_at): (String, String) = (r.get(3)?, r.get(4)?);
    Ok((|| {
        let at = At {
            table: "fabric_locks",
            key: "fabric",
            id: &fabric,
        };
        Ok(FabricLock {
            acquired_at: at.time("acquired_at", acquired_at)?,
            expires_at: at.time("expires_at", expires_at)?,
            owner,
            run_id,
            fabric,
        })
    })())
}

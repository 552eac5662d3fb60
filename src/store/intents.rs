//! Write intents: every cluster write is recorded here, durably, before it is sent, and replaced
//! by its audit entry (in one transaction) once it took effect. An intent still open when a run
//! ends or is found interrupted names a write that may have reached the cluster; it becomes an
//! `unconfirmed-…` audit entry, so the audit log holds every write that reached the cluster.
//!
//! It sends nothing; the engine writes and reports back.

use super::Cached as _;
use jiff::Timestamp;
use rusqlite::params;

use super::audit::AuditWrite;
use super::{At, Ctx, Store, StoreError};
use crate::clock::format_ts;

/// A cluster write about to be sent.
#[derive(Debug, Clone, Copy)]
pub struct Intent<'a> {
    /// Kind (`Switch`).
    pub kind: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Name.
    pub name: &'a str,
    /// `apply`, `delete`, `rollback-delete`, `rollback-create`, `rollback-restore`.
    pub verb: &'a str,
    /// Content hash before.
    pub before_hash: Option<&'a str>,
    /// Content hash after.
    pub after_hash: Option<&'a str>,
}

/// An intent as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentRecord {
    /// The run.
    pub run_id: i64,
    /// Its number within the run.
    pub seq: i64,
    /// The fabric.
    pub fabric: String,
    /// When it was recorded.
    pub time: Timestamp,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The write's verb.
    pub verb: String,
    /// Content hash before.
    pub before_hash: Option<String>,
    /// Content hash after.
    pub after_hash: Option<String>,
}

impl Store {
    /// Records writes about to be sent, in one transaction; returns their numbers in order.
    pub fn intend(
        &self,
        run_id: i64,
        fabric: &str,
        time: Timestamp,
        writes: &[Intent<'_>],
    ) -> Result<Vec<i64>, StoreError> {
        let time = format_ts(time);
        let mut conn = self.lock();
        let tx = conn.transaction().ctx("begin intents")?;
        let first: i64 = tx
            .row_cached(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM intents WHERE run_id = ?1",
                params![run_id],
                |r| r.get(0),
            )
            .ctx("number intents")?;
        let mut seqs = Vec::with_capacity(writes.len());
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO intents (run_id, seq, fabric, time, kind, namespace, name, verb, before_hash, after_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .ctx("record intents")?;
            for (i, w) in writes.iter().enumerate() {
                let seq = first + i as i64;
                stmt.execute(params![
                    run_id,
                    seq,
                    fabric,
                    time,
                    w.kind,
                    w.namespace,
                    w.name,
                    w.verb,
                    w.before_hash,
                    w.after_hash
                ])
                .ctx("record intent")?;
                seqs.push(seq);
            }
        }
        tx.commit().ctx("commit intents")?;
        Ok(seqs)
    }

    /// A write took effect: its audit entry replaces its intent, atomically.
    pub fn write_done(&self, seq: i64, w: &AuditWrite<'_>) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction().ctx("begin audit")?;
        if !crate::planted::strikes(crate::planted::Bug::DropAuditRows) {
            super::audit::insert_audit(&tx, w)?;
        }
        tx.exec_cached(
            "DELETE FROM intents WHERE run_id = ?1 AND seq = ?2",
            params![w.run_id, seq],
        )
        .ctx("close intent")?;
        tx.commit().ctx("commit audit")
    }

    /// The cluster refused a write (nothing changed): its intent goes.
    pub fn write_refused(&self, run_id: i64, seq: i64) -> Result<(), StoreError> {
        self.lock()
            .exec_cached(
                "DELETE FROM intents WHERE run_id = ?1 AND seq = ?2",
                params![run_id, seq],
            )
            .ctx("drop intent")?;
        Ok(())
    }

    /// The intents of a run still open (writes that may have reached the cluster).
    pub fn open_intents(&self, run_id: i64) -> Result<Vec<IntentRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT run_id, seq, fabric, time, kind, namespace, name, verb, before_hash, after_hash
                 FROM intents WHERE run_id = ?1 ORDER BY seq",
            )
            .ctx("list intents")?;
        let rows = stmt
            .query_map(params![run_id], |r| {
                let (run_id, seq): (i64, i64) = (r.get(0)?, r.get(1)?);
                let at = At {
                    table: "intents",
                    key: "run_id/seq",
                    id: &format_args!("{run_id}/{seq}"),
                };
                let time = match at.time("time", r.get(3)?) {
                    Ok(t) => t,
                    Err(e) => return Ok(Err(e)),
                };
                Ok(Ok(IntentRecord {
                    run_id,
                    seq,
                    fabric: r.get(2)?,
                    time,
                    kind: r.get(4)?,
                    namespace: r.get(5)?,
                    name: r.get(6)?,
                    verb: r.get(7)?,
                    before_hash: r.get(8)?,
                    after_hash: r.get(9)?,
                }))
            })
            .ctx("list intents")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("list intents")?;
        rows.into_iter().collect()
    }

    /// Closes a run's open intents: each becomes an `unconfirmed-<verb>` audit entry at `now`
    /// (the write may have reached the cluster). Returns them.
    pub fn settle_intents(
        &self,
        run_id: i64,
        now: Timestamp,
    ) -> Result<Vec<IntentRecord>, StoreError> {
        let open = self.open_intents(run_id)?;
        if open.is_empty() {
            return Ok(open);
        }
        let mut conn = self.lock();
        let tx = conn.transaction().ctx("begin settle intents")?;
        for i in &open {
            let verb = format!("unconfirmed-{}", i.verb);
            super::audit::insert_audit(
                &tx,
                &AuditWrite {
                    run_id,
                    time: now,
                    kind: &i.kind,
                    namespace: &i.namespace,
                    name: &i.name,
                    verb: &verb,
                    before_hash: i.before_hash.as_deref(),
                    after_hash: i.after_hash.as_deref(),
                    resource_version: None,
                },
            )?;
        }
        tx.exec_cached("DELETE FROM intents WHERE run_id = ?1", params![run_id])
            .ctx("settle intents")?;
        tx.commit().ctx("commit settle intents")?;
        Ok(open)
    }
}

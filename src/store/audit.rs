//! The audit log of every cluster write, the NetBox change cursor of each fabric, and the
//! baseline (what fabsync last verified in the cluster), served from memory until another
//! connection commits (SQLite `data_version`).
//!
//! It decides nothing about what changed; the engine compares.

use super::Cached as _;
use std::sync::Arc;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::model::{AuditEntry, ChangeCursor, ObservedObject};
use super::{At, Ctx, Store, StoreError};
use crate::clock::format_ts;

/// One cluster write to append to the audit log.
#[derive(Debug, Clone, Copy)]
pub struct AuditWrite<'a> {
    /// The run that wrote.
    pub run_id: i64,
    /// When (from the world's clock).
    pub time: Timestamp,
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
    /// The server's resourceVersion after the write.
    pub resource_version: Option<&'a str>,
}

impl Store {
    /// Appends one write to the audit log.
    pub fn audit(&self, w: &AuditWrite<'_>) -> Result<(), StoreError> {
        insert_audit(&self.lock(), w)
    }

    /// The audit entries of a run (or all when `run_id` is `None`), in write order.
    pub fn audit_entries(&self, run_id: Option<i64>) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, run_id, time, kind, namespace, name, verb, before_hash, after_hash, resource_version
                 FROM audit WHERE (?1 IS NULL OR run_id = ?1) ORDER BY id",
            )
            .ctx("list audit")?;
        let rows = stmt
            .query_map(params![run_id], |r| {
                let id: i64 = r.get(0)?;
                let at = At {
                    table: "audit",
                    key: "id",
                    id: &id,
                };
                let time = match at.time("time", r.get(2)?) {
                    Ok(t) => t,
                    Err(e) => return Ok(Err(e)),
                };
                Ok(Ok(AuditEntry {
                    id,
                    run_id: r.get(1)?,
                    time,
                    kind: r.get(3)?,
                    namespace: r.get(4)?,
                    name: r.get(5)?,
                    verb: r.get(6)?,
                    before_hash: r.get(7)?,
                    after_hash: r.get(8)?,
                    resource_version: r.get(9)?,
                }))
            })
            .ctx("list audit")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("list audit")?;
        rows.into_iter().collect()
    }

    /// The NetBox change id a fabric's last successful run started from.
    pub fn cursor(&self, fabric: &str) -> Result<Option<ChangeCursor>, StoreError> {
        Ok(self
            .lock()
            .row_cached(
                "SELECT netbox_change_id, fingerprint FROM cursors WHERE fabric = ?1",
                params![fabric],
                |r| {
                    let id: Option<i64> = r.get(0)?;
                    let fingerprint: Option<String> = r.get(1)?;
                    Ok(id.map(|id| ChangeCursor { id, fingerprint }))
                },
            )
            .optional()
            .ctx("read cursor")?
            .flatten())
    }

    /// Stores a fabric's NetBox change cursor.
    pub fn set_cursor(
        &self,
        fabric: &str,
        cursor: Option<&ChangeCursor>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.lock()
            .exec_cached(
                "INSERT INTO cursors (fabric, netbox_change_id, fingerprint, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(fabric) DO UPDATE SET netbox_change_id = ?2, fingerprint = ?3, updated_at = ?4",
                params![
                    fabric,
                    cursor.map(|c| c.id),
                    cursor.and_then(|c| c.fingerprint.as_deref()),
                    format_ts(now)
                ],
            )
            .ctx("write cursor")?;
        Ok(())
    }

    /// Forgets a fabric's cursor and baseline (next run reads and compares everything).
    pub fn reset_baseline(&self, fabric: &str) -> Result<(), StoreError> {
        let conn = self.lock();
        self.forget_baseline(fabric);
        conn.exec_cached("DELETE FROM cursors WHERE fabric = ?1", params![fabric])
            .ctx("reset cursor")?;
        conn.exec_cached("DELETE FROM observed WHERE fabric = ?1", params![fabric])
            .ctx("reset baseline")?;
        Ok(())
    }

    /// Replaces the baseline of what fabsync verified in the cluster for a fabric. Only rows
    /// that differ are written (a run that changed one object rewrites one row, not 11 000).
    pub fn replace_observed(
        &self,
        fabric: &str,
        objects: &[ObservedObject],
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let version = data_version(&conn)?;
        let cached = self.cached_baseline(fabric, version);
        self.forget_baseline(fabric);
        let tx = conn.transaction().ctx("begin baseline")?;
        {
            let before = match cached {
                Some(b) => b,
                None => Arc::new(read_baseline(&tx, fabric)?),
            };
            let mut old: std::collections::HashMap<(&str, &str, &str), (&str, &str)> = before
                .iter()
                .map(|o| {
                    (
                        (o.kind.as_str(), o.namespace.as_str(), o.name.as_str()),
                        (o.resource_version.as_str(), o.content_hash.as_str()),
                    )
                })
                .collect();
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO observed (fabric, kind, namespace, name, resource_version, content_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(fabric, kind, namespace, name)
                     DO UPDATE SET resource_version = ?5, content_hash = ?6",
                )
                .ctx("prepare baseline")?;
            for o in objects {
                let key = (o.kind.as_str(), o.namespace.as_str(), o.name.as_str());
                let same = old
                    .remove(&key)
                    .is_some_and(|(rv, hash)| rv == o.resource_version && hash == o.content_hash);
                if !same {
                    upsert
                        .execute(params![
                            fabric,
                            o.kind,
                            o.namespace,
                            o.name,
                            o.resource_version,
                            o.content_hash
                        ])
                        .ctx("write baseline")?;
                }
            }
            let mut delete = tx
                .prepare_cached(
                    "DELETE FROM observed WHERE fabric = ?1 AND kind = ?2 AND namespace = ?3 AND name = ?4",
                )
                .ctx("prepare baseline")?;
            let mut gone: Vec<_> = old.into_keys().collect();
            gone.sort_unstable();
            for (kind, namespace, name) in gone {
                delete
                    .execute(params![fabric, kind, namespace, name])
                    .ctx("write baseline")?;
            }
        }
        tx.commit().ctx("commit baseline")?;
        // What was just written is the baseline (as of the data_version read before writing:
        // a commit by another connection since then makes the next read go to the database).
        let mut rows = objects.to_vec();
        rows.sort_unstable_by(|a, b| {
            (&a.kind, &a.namespace, &a.name).cmp(&(&b.kind, &b.namespace, &b.name))
        });
        rows.dedup_by(|a, b| (&a.kind, &a.namespace, &a.name) == (&b.kind, &b.namespace, &b.name));
        self.baselines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fabric.to_string(), (version, Arc::new(rows)));
        Ok(())
    }

    fn forget_baseline(&self, fabric: &str) {
        self.baselines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(fabric);
    }

    fn cached_baseline(&self, fabric: &str, version: i64) -> Option<Arc<Vec<ObservedObject>>> {
        self.baselines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(fabric)
            .filter(|(v, _)| *v == version)
            .map(|(_, b)| b.clone())
    }

    /// The baseline of a fabric (read once, then served from memory until it is written here or
    /// another connection commits to the database).
    pub fn observed(&self, fabric: &str) -> Result<Arc<Vec<ObservedObject>>, StoreError> {
        let conn = self.lock();
        let version = data_version(&conn)?;
        if let Some(b) = self.cached_baseline(fabric, version) {
            return Ok(b);
        }
        let rows = Arc::new(read_baseline(&conn, fabric)?);
        self.baselines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fabric.to_string(), (version, rows.clone()));
        Ok(rows)
    }
}

fn data_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.row_cached("PRAGMA data_version", [], |r| r.get(0))
        .ctx("read data_version")
}

/// A fabric's baseline rows, in (kind, namespace, name) order.
fn read_baseline(conn: &Connection, fabric: &str) -> Result<Vec<ObservedObject>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT kind, namespace, name, resource_version, content_hash FROM observed
             WHERE fabric = ?1 ORDER BY kind, namespace, name",
        )
        .ctx("read baseline")?;
    stmt.query_map(params![fabric], |r| {
        Ok(ObservedObject {
            kind: r.get(0)?,
            namespace: r.get(1)?,
            name: r.get(2)?,
            resource_version: r.get(3)?,
            content_hash: r.get(4)?,
        })
    })
    .ctx("read baseline")?
    .collect::<Result<_, _>>()
    .ctx("read baseline")
}

/// Inserts one audit row (inside the caller's transaction, if any).
pub(super) fn insert_audit(conn: &Connection, w: &AuditWrite<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO audit (run_id, time, kind, namespace, name, verb, before_hash, after_hash, resource_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .ctx("append audit")?
    .execute(params![
        w.run_id,
        format_ts(w.time),
        w.kind,
        w.namespace,
        w.name,
        w.verb,
        w.before_hash,
        w.after_hash,
        w.resource_version
    ])
    .ctx("append audit")?;
    Ok(())
}

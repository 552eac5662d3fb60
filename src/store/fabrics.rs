//! Fabrics in the store: their settings (from the config file or the UI), status (changed only
//! through [`Store::status_event`]), connection states and next run time.
//!
//! No network, no secrets: settings name token files or variables, never token values.

use super::Cached as _;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};

use super::model::{ConnectionState, FabricRecord, FabricStatus, StatusEvent, next_status};
use super::{At, Ctx, Store, StoreError};
use crate::clock::format_ts;
use crate::config::FabricConfig;

impl Store {
    /// Adds a fabric from a config file, or replaces its settings when the file's section changed
    /// since it was last imported (`source_hash`). Settings edited in the UI survive restarts
    /// until the file's section for that fabric changes. Returns whether anything changed.
    pub fn import_fabric(
        &self,
        config: &FabricConfig,
        source_hash: &str,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(config).expect("FabricConfig serializes");
        let conn = self.lock();
        let existing: Option<Option<String>> = conn
            .row_cached(
                "SELECT source_hash FROM fabrics WHERE name = ?1",
                params![config.name],
                |r| r.get(0),
            )
            .optional()
            .ctx("read fabric")?;
        match existing {
            None => {
                conn.exec_cached(
                    "INSERT INTO fabrics (name, config_json, source_hash) VALUES (?1, ?2, ?3)",
                    params![config.name, json, source_hash],
                )
                .ctx("insert fabric")?;
                Ok(true)
            }
            Some(Some(h)) if h == source_hash => Ok(false),
            Some(_) => {
                conn.exec_cached(
                    "UPDATE fabrics SET config_json = ?2, source_hash = ?3 WHERE name = ?1",
                    params![config.name, json, source_hash],
                )
                .ctx("update fabric")?;
                Ok(true)
            }
        }
    }

    /// Replaces a fabric's settings (UI/API edits). The caller validated them.
    pub fn update_fabric_config(&self, config: &FabricConfig) -> Result<(), StoreError> {
        let json = serde_json::to_string(config).expect("FabricConfig serializes");
        let n = self
            .lock()
            .exec_cached(
                "UPDATE fabrics SET config_json = ?2 WHERE name = ?1",
                params![config.name, json],
            )
            .ctx("update fabric settings")?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: format!("fabric {:?}", config.name),
            });
        }
        Ok(())
    }

    /// One fabric.
    pub fn fabric(&self, name: &str) -> Result<FabricRecord, StoreError> {
        let conn = self.lock();
        let mut f = conn
            .row_cached(
                &format!("{FABRIC_SELECT} WHERE name = ?1"),
                params![name],
                fabric_from_row,
            )
            .optional()
            .ctx("read fabric")?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("fabric {name:?}"),
            })??;
        super::texts::resolve(&conn, &mut f.last_error)?;
        Ok(f)
    }

    /// All fabrics, by name.
    pub fn fabrics(&self) -> Result<Vec<FabricRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(&format!("{FABRIC_SELECT} ORDER BY name"))
            .ctx("list fabrics")?;
        let rows = stmt
            .query_map([], fabric_from_row)
            .ctx("list fabrics")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("list fabrics")?;
        rows.into_iter()
            .map(|f| {
                let mut f = f?;
                super::texts::resolve(&conn, &mut f.last_error)?;
                Ok(f)
            })
            .collect()
    }

    /// Applies a status event to a fabric: the only way its status changes.
    pub fn status_event(
        &self,
        fabric: &str,
        event: &StatusEvent,
    ) -> Result<FabricStatus, StoreError> {
        let conn = self.lock();
        let current: String = conn
            .row_cached(
                "SELECT status FROM fabrics WHERE name = ?1",
                params![fabric],
                |r| r.get(0),
            )
            .optional()
            .ctx("read status")?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("fabric {fabric:?}"),
            })?;
        let current = FabricStatus::parse(&current)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown status {current:?}")))?;
        let next = next_status(current, event);
        conn.exec_cached(
            "UPDATE fabrics SET status = ?2 WHERE name = ?1",
            params![fabric, next.as_str()],
        )
        .ctx("write status")?;
        Ok(next)
    }

    /// Records the reachability of NetBox and/or the cluster as a run saw them.
    pub fn set_connection_states(
        &self,
        fabric: &str,
        netbox: Option<ConnectionState>,
        cluster: Option<ConnectionState>,
    ) -> Result<(), StoreError> {
        let conn = self.lock();
        if let Some(s) = netbox {
            conn.exec_cached(
                "UPDATE fabrics SET netbox_state = ?2 WHERE name = ?1",
                params![fabric, s.as_str()],
            )
            .ctx("write netbox state")?;
        }
        if let Some(s) = cluster {
            conn.exec_cached(
                "UPDATE fabrics SET cluster_state = ?2 WHERE name = ?1",
                params![fabric, s.as_str()],
            )
            .ctx("write cluster state")?;
        }
        Ok(())
    }

    /// Records when the scheduler will run a fabric next (`None`: not scheduled).
    pub fn set_next_run(&self, fabric: &str, at: Option<Timestamp>) -> Result<(), StoreError> {
        self.lock()
            .exec_cached(
                "UPDATE fabrics SET next_run_at = ?2 WHERE name = ?1",
                params![fabric, at.map(format_ts)],
            )
            .ctx("write next run")?;
        Ok(())
    }
}

const FABRIC_SELECT: &str =
    "SELECT name, config_json, status, netbox_state, cluster_state, last_run_id,
    last_success_at, last_finished_at, last_error, next_run_at, object_count FROM fabrics";

fn fabric_from_row(r: &Row<'_>) -> rusqlite::Result<Result<FabricRecord, StoreError>> {
    let name: String = r.get(0)?;
    let config_json: String = r.get(1)?;
    let status: String = r.get(2)?;
    let netbox_state: String = r.get(3)?;
    let cluster_state: String = r.get(4)?;
    let rest = (
        r.get::<_, Option<i64>>(5)?,
        r.get::<_, Option<String>>(6)?,
        r.get::<_, Option<String>>(7)?,
        r.get::<_, Option<String>>(8)?,
        r.get::<_, Option<String>>(9)?,
        r.get::<_, Option<i64>>(10)?,
    );
    Ok((|| {
        let config = serde_json::from_str(&config_json).map_err(|e| {
            StoreError::Corrupt(format!("fabric {name:?}: stored settings unreadable: {e}"))
        })?;
        let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("unknown {what} {v:?}"));
        let at = At {
            table: "fabrics",
            key: "name",
            id: &name,
        };
        Ok(FabricRecord {
            config,
            status: FabricStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            netbox_state: ConnectionState::parse(&netbox_state)
                .ok_or_else(|| corrupt("connection state", &netbox_state))?,
            cluster_state: ConnectionState::parse(&cluster_state)
                .ok_or_else(|| corrupt("connection state", &cluster_state))?,
            last_run_id: rest.0,
            last_success_at: at.opt_time("last_success_at", rest.1)?,
            last_finished_at: at.opt_time("last_finished_at", rest.2)?,
            last_error: rest.3,
            next_run_at: at.opt_time("next_run_at", rest.4)?,
            object_count: rest.5.map(|n| n as u64),
            name,
        })
    })())
}

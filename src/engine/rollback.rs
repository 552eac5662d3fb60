//! Rollback: when a write fails after others took effect, every write of the run is undone in
//! the reverse of the order it took effect — creates deleted, updates restored to their
//! pre-image (re-applying what fabsync owned, then replacing other content), deletes created
//! again — each with an audit entry. What cannot be undone is named as in an unknown state.
//!
//! It decides nothing about whether to roll back; the run does.

use serde_json::Value;

use super::EngineError;
use super::content::comparable;
use super::diff::Item;
use super::run::RunCx;
use crate::cluster::FIELD_MANAGER;
use crate::cluster::object::{owned_apply_config, recreatable, replacement};
use crate::store::{Action, AuditWrite, Intent, ObjectResult};

impl RunCx<'_> {
    /// Restores every write of this run in reverse order; returns the run's error, naming
    /// what was undone or left in an unknown state.
    pub async fn rollback(
        &self,
        items: &mut [Item],
        order: &[usize],
        cause: EngineError,
    ) -> EngineError {
        let cfg = self.target.cfg;
        let engine = self.target.engine;
        let mut restored = 0;
        for &i in order.iter().rev() {
            let it = &mut items[i];
            let verb = match it.action {
                Action::Create => "rollback-delete",
                Action::Delete => "rollback-create",
                _ => "rollback-restore",
            };
            let before = it.hash.clone();
            let after = it.live.as_ref().and_then(|l| l.hash.clone());
            let intent = Intent {
                kind: it.kind.kind(),
                namespace: &cfg.namespace,
                name: &it.name,
                verb,
                before_hash: before.as_deref(),
                after_hash: after.as_deref(),
            };
            // No write without its intent on record: when the store refuses it, the object is
            // left as written and named.
            let r = match engine
                .store
                .intend(self.run_id, &cfg.name, engine.now(), &[intent])
            {
                Err(e) => Err(format!(
                    "not undone: the store could not record the intent ({e})"
                )),
                Ok(seqs) => {
                    let r = match it.action {
                        _ if crate::planted::active(crate::planted::Bug::SkipRollback) => Ok(None),
                        Action::Create => self.undo_create(it).await,
                        Action::Update => self.restore(it).await,
                        Action::Delete => self.undo_delete(it).await,
                        Action::Unchanged => Ok(None),
                    };
                    let recorded = match &r {
                        Ok(rv) => engine.store.write_done(
                            seqs[0],
                            &AuditWrite {
                                run_id: self.run_id,
                                time: engine.now(),
                                kind: it.kind.kind(),
                                namespace: &cfg.namespace,
                                name: &it.name,
                                verb,
                                before_hash: before.as_deref(),
                                after_hash: after.as_deref(),
                                resource_version: rv.as_deref(),
                            },
                        ),
                        // An undo may take several requests (a restore applies, then
                        // replaces): one that failed may still have changed the object. Its
                        // intent stays open and is settled as unconfirmed when the run ends;
                        // the object is named as unknown.
                        Err(_) => Ok(()),
                    };
                    if let Err(e) = recorded {
                        // The intent stays open and is settled as unconfirmed when the run ends.
                        tracing::warn!(object = %it.key(), error = %e, "could not record a rollback write");
                    }
                    r
                }
            };
            match r {
                Ok(_) => {
                    restored += 1;
                    it.result = ObjectResult::RolledBack;
                    it.note = Some("written, then rolled back".into());
                }
                Err(e) => {
                    it.result = ObjectResult::Unknown;
                    it.note = Some(format!("rollback failed: {e}"));
                }
            }
        }
        // Unknown: rollbacks that failed, and failed writes that may have taken effect.
        let unknown: Vec<String> = items
            .iter()
            .filter(|it| it.result == ObjectResult::Unknown)
            .map(Item::key)
            .collect();
        // The baseline no longer describes the cluster exactly.
        let _ = engine.store.reset_baseline(&cfg.name);
        if unknown.is_empty() {
            EngineError::RolledBack {
                cause: Box::new(cause),
                restored,
            }
        } else {
            EngineError::RollbackFailed {
                cause: Box::new(cause),
                unknown,
            }
        }
    }

    /// Deletes an object this run created (guarded by the version it wrote). The rollback
    /// functions return the resourceVersion their last write produced (none for a delete), for
    /// the audit log: a later hand edit is told from fabsync's own write by it.
    async fn undo_create(&self, it: &Item) -> Result<Option<String>, String> {
        let rv = it
            .written
            .as_ref()
            .and_then(|w| w.pointer("/metadata/resourceVersion"))
            .and_then(Value::as_str);
        self.target
            .cluster
            .delete(
                &it.kind.api_resource(),
                &self.target.cfg.namespace,
                &it.name,
                false,
                rv,
            )
            .await
            .map(|_| None)
            .map_err(|e| e.to_string())
    }

    /// Creates again an object this run deleted, from its pre-image.
    async fn undo_delete(&self, it: &Item) -> Result<Option<String>, String> {
        let pre = it.pre.as_ref().ok_or("no pre-image was kept")?;
        let obj: kube::api::DynamicObject = serde_json::from_value(recreatable(pre))
            .map_err(|e| format!("pre-image unreadable: {e}"))?;
        self.target
            .cluster
            .create(&it.kind.api_resource(), &self.target.cfg.namespace, &obj)
            .await
            .map(|o| o.metadata.resource_version)
            .map_err(|e| e.to_string())
    }

    /// Puts an updated object back to its pre-image: re-apply what fabsync owned before (so
    /// ownership is as before), then, if other content differs (an adopted object), replace.
    async fn restore(&self, it: &Item) -> Result<Option<String>, String> {
        let pre = it.pre.as_ref().ok_or("no pre-image was kept")?;
        let ar = it.kind.api_resource();
        let ns = &self.target.cfg.namespace;
        let cluster = self.target.cluster;
        if let Some(owned) = owned_apply_config(
            pre,
            FIELD_MANAGER,
            it.kind.api_version(),
            it.kind.kind(),
            &it.name,
            ns,
        ) {
            cluster
                .apply(&ar, ns, &it.name, &owned, false, true)
                .await
                .map_err(|e| e.to_string())?;
        }
        let now = cluster
            .get(&ar, ns, &it.name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the object disappeared")?;
        let now = serde_json::to_value(now).expect("objects serialize");
        if comparable(&now) == comparable(pre) {
            return Ok(now
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_string));
        }
        let obj: kube::api::DynamicObject =
            serde_json::from_value(replacement(&now, pre)).map_err(|e| e.to_string())?;
        cluster
            .replace(&ar, ns, &obj)
            .await
            .map(|o| o.metadata.resource_version)
            .map_err(|e| e.to_string())
    }
}

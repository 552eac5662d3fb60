//! Verify and record: every write is read back — present and holding what was written, or gone
//! for deletes — and only then does the run store the new baseline (each owned object's
//! resourceVersion and content hash) and the NetBox change cursor it is current to.
//!
//! It writes nothing to the cluster; a difference fails the run.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::EngineError;
use super::content::{self, comparable, subset_mismatch};
use super::diff::{Item, Target};
use super::run::{RunCx, RunState};
use crate::hedgehog::Kind;
use crate::store::{Action, ObjectResult, ObservedObject};

impl Target<'_> {
    /// Reads back every write: present and holding what was written (or gone, for deletes).
    pub async fn verify(&self, items: &mut [Item]) -> Result<(), EngineError> {
        if crate::planted::active(crate::planted::Bug::SkipVerify) {
            return Ok(());
        }
        let written = |i: &Item| i.is_write() && i.result == ObjectResult::Ok;
        let mut by_kind: BTreeMap<Kind, BTreeSet<String>> = BTreeMap::new();
        for it in items.iter().filter(|i| written(i)) {
            by_kind.entry(it.kind).or_default().insert(it.name.clone());
        }
        let mut live: BTreeMap<(Kind, String), Value> = BTreeMap::new();
        for (kind, names) in &by_kind {
            // Adopted objects carry the label only now; deletes are gone from lists.
            for (n, v) in self.fetch_full(*kind, names, true).await? {
                live.insert((*kind, n), v);
            }
        }
        for it in items.iter_mut().filter(|i| written(i)) {
            let got = live.get(&(it.kind, it.name.clone()));
            if it.action == Action::Delete {
                if let Some(obj) = got
                    && obj.pointer("/metadata/deletionTimestamp").is_none()
                {
                    return Err(verify_error(it, "is still present after its delete".into()));
                }
                continue;
            }
            let Some(obj) = got else {
                return Err(verify_error(it, "is missing after it was written".into()));
            };
            let desired = it.desired.as_ref().expect("writes have a manifest");
            if let Some(path) = subset_mismatch(desired, obj) {
                let as_written = it.written.as_ref().map(comparable);
                if as_written.as_ref() != Some(&comparable(obj)) {
                    let show = |v: &Value| {
                        content::at_path(v, &path)
                            .map(|v| v.to_string())
                            .unwrap_or_else(|| "nothing".into())
                    };
                    let detail = format!(
                        "holds {} at {path}, not what was written ({})",
                        show(obj),
                        show(desired)
                    );
                    return Err(verify_error(it, detail));
                }
            }
            // The object as it stands is the baseline (its resourceVersion may have moved if
            // the server wrote status after our apply).
            it.written = Some(obj.clone());
        }
        Ok(())
    }
}

fn verify_error(it: &Item, detail: String) -> EngineError {
    EngineError::Verify {
        kind: it.kind.kind().into(),
        name: it.name.clone(),
        detail,
    }
}

impl RunCx<'_> {
    /// Stores the verified state as the baseline, with the change cursor it is current to. A
    /// run that skipped objects clears the baseline instead: they are not equal to NetBox.
    pub fn record_baseline(&self, st: &RunState) -> Result<(), EngineError> {
        let cfg = self.target.cfg;
        let engine = self.target.engine;
        let observed: Vec<ObservedObject> = st
            .items
            .iter()
            .filter(|it| it.action != Action::Delete && it.result == ObjectResult::Ok)
            .filter_map(|it| {
                let rv = it
                    .written
                    .as_ref()
                    .and_then(|w| w.pointer("/metadata/resourceVersion"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| it.live.as_ref().map(|l| l.rv.clone()))?;
                Some(ObservedObject {
                    kind: it.kind.kind().to_string(),
                    namespace: cfg.namespace.clone(),
                    name: it.name.clone(),
                    resource_version: rv,
                    content_hash: it.hash.clone()?,
                })
            })
            .collect();
        if st.items.iter().any(|i| i.result == ObjectResult::Skipped) {
            // Skipped objects are not equal to NetBox: the next run must look again.
            engine.store.reset_baseline(&cfg.name)?;
        } else {
            engine.store.replace_observed(&cfg.name, &observed)?;
            engine.store.set_cursor(
                &cfg.name,
                st.cursor.as_ref().map(super::read::cursor_of).as_ref(),
                engine.now(),
            )?;
        }
        Ok(())
    }
}

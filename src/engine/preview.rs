//! The preview: what a sync would change now, object by object and field by field, with the
//! server's dry-run answer (and its refusal, if any) — behind `fabsync diff` and the UI's
//! "Preview changes". A preview that finds differences marks the fabric out of sync.
//!
//! It writes nothing to the cluster and records no run.

use super::content::{FieldChange, field_changes, unified_diff};
use super::diff::Target;
use super::guard::{self, HeldDeletes};
use super::{Engine, EngineError};
use crate::plan::{Finding, PlanConfig, plan_with_profiles};
use crate::store::{Action, StatusEvent};

/// A change the preview found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PreviewItem {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// What a sync would do.
    pub action: Action,
    /// Why (NetBox changed, drift, pruned, …).
    pub reason: String,
    /// Field-level changes.
    pub fields: Vec<FieldChange>,
    /// `kubectl diff`-style unified diff.
    pub unified: String,
    /// Whether the cluster would refuse it (dry-run error), with the message.
    pub refused: Option<String>,
}

/// What a sync would change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Preview {
    /// Fabric.
    pub fabric: String,
    /// Plan findings.
    pub findings: Vec<FindingView>,
    /// Objects that would change.
    pub changes: Vec<PreviewItem>,
    /// Objects already equal.
    pub unchanged: u64,
    /// Deletions a sync would hold for approval (none when it may delete them).
    pub held: Option<HeldDeletes>,
}

/// A finding in JSON-friendly form.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FindingView {
    /// fatal or warning.
    pub severity: String,
    /// Machine code.
    pub code: String,
    /// The sentence.
    pub message: String,
}

impl From<&Finding> for FindingView {
    fn from(f: &Finding) -> Self {
        Self {
            severity: f.severity.as_str().to_string(),
            code: f.code.to_string(),
            message: f.to_string(),
        }
    }
}

impl Engine {
    /// What a sync would change now, without writing (server-side dry runs).
    pub async fn preview(&self, fabric: &str) -> Result<Preview, EngineError> {
        let cfg = self.store.fabric(fabric)?.config;
        let nb = self.connector.netbox(&cfg)?;
        let cluster = self.connector.cluster(&cfg).await?;
        let snapshot = nb
            .client
            .read_fabric(cfg.site_slug(), cfg.tag.as_deref())
            .await?;
        let target = Target {
            engine: self,
            cfg: &cfg,
            cluster: &cluster,
        };
        let profiles = target.switch_profiles().await?;
        let plan = plan_with_profiles(
            &snapshot,
            &PlanConfig {
                fabric: cfg.name.clone(),
                namespace: cfg.namespace.clone(),
            },
            &profiles,
        );
        let findings: Vec<FindingView> = plan.findings.iter().map(FindingView::from).collect();
        if plan.has_fatal() {
            return Ok(Preview {
                fabric: cfg.name.clone(),
                findings,
                changes: Vec::new(),
                unchanged: 0,
                held: None,
            });
        }
        let live = target.observe().await?;
        let baseline = self.store.observed(&cfg.name)?;
        let mut items = target.diff(&plan.objects, &live, &baseline).await?;
        guard::keep_unpruned(&cfg, &mut items);
        let held = guard::hold(&cfg, &items, &live, snapshot.devices.len());
        let mut changes = Vec::new();
        let mut unchanged = 0;
        for it in &items {
            if it.action == Action::Unchanged {
                unchanged += 1;
                continue;
            }
            let (post, refused) = match target.dry_run(it, it.force(&cfg)).await {
                Ok(v) => (v, None),
                Err(e) => (it.desired.clone(), Some(e.to_string())),
            };
            let after = if it.action == Action::Delete {
                None
            } else {
                post.as_ref()
            };
            let label = it.key();
            changes.push(PreviewItem {
                kind: it.kind.kind().to_string(),
                name: it.name.clone(),
                action: it.action,
                reason: match (it.action, it.message()) {
                    (Action::Create, None) => "new in NetBox".to_string(),
                    (Action::Delete, Some(m)) if held.is_some() => {
                        format!("{m}; held: the deletion awaits approval")
                    }
                    (_, m) => m.unwrap_or_default(),
                },
                fields: field_changes(it.pre.as_ref(), after),
                unified: unified_diff(&label, it.pre.as_ref(), after),
                refused,
            });
        }
        self.store.status_event(
            &cfg.name,
            &StatusEvent::Previewed {
                differs: !changes.is_empty(),
            },
        )?;
        Ok(Preview {
            fabric: cfg.name,
            findings,
            changes,
            unchanged,
            held,
        })
    }
}

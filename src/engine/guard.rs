//! The deletion guard: deleting is the dangerous verb. A run whose plan deletes more than the
//! fabric's budget (`max_deletes`, `max_delete_percent` of the fabric's objects in the cluster),
//! every deletion under prune `confirm`, or any deletion while NetBox's read holds no device of
//! the fabric (a site or tag that matched nothing), is *held*: it writes nothing and names the
//! count per kind and the likely cause until a person approves that many deletions (`fabsync
//! sync --allow-deletes N`, the Sync dialog). Periodic runs never approve. Under prune `off`
//! nothing is deleted and the objects are reported.
//!
//! It decides only whether deletions may happen; it writes nothing.

use std::collections::BTreeMap;

use super::diff::{Item, Live};
use crate::config::{FabricConfig, PruneMode};
use crate::store::{Action, ObjectResult};

/// Why a run's deletions wait for a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HoldCause {
    /// NetBox's read of the fabric holds no device while the cluster holds its objects.
    NothingInNetbox {
        /// The site slug read.
        site: String,
        /// The tag narrowing it.
        tag: Option<String>,
    },
    /// More deletions than the fabric's budget allows.
    OverBudget {
        /// `max_deletes`.
        max_deletes: u64,
        /// `max_delete_percent`.
        max_delete_percent: u8,
    },
    /// The fabric's prune mode is `confirm`.
    Confirm,
}

/// Deletions a run holds back for approval.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HeldDeletes {
    /// How many objects the run would delete.
    pub total: u64,
    /// Per kind.
    pub by_kind: BTreeMap<String, u64>,
    /// The fabric's objects in the cluster.
    pub owned: u64,
    /// Why they are held.
    pub cause: HoldCause,
}

impl HeldDeletes {
    /// Per kind, `Connection 35, Server 6`.
    pub fn per_kind(&self) -> String {
        let parts: Vec<String> = self
            .by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        parts.join(", ")
    }

    /// The likely cause, as a sentence.
    pub fn cause_text(&self) -> String {
        match &self.cause {
            HoldCause::NothingInNetbox { site, tag } => format!(
                "NetBox's site {site:?}{} holds no device, while the cluster holds {} object(s) of this fabric: the site or tag probably matched nothing (a typo, a renamed tag, devices moved or deleted)",
                tag.as_ref()
                    .map(|t| format!(" with tag {t:?}"))
                    .unwrap_or_default(),
                self.owned
            ),
            HoldCause::OverBudget {
                max_deletes,
                max_delete_percent,
            } => format!(
                "that is more than the fabric allows without approval (at most {max_deletes} deletions and {max_delete_percent}% of its {} object(s) in the cluster)",
                self.owned
            ),
            HoldCause::Confirm => {
                "the fabric's prune mode is confirm: every deletion waits for approval".into()
            }
        }
    }
}

impl std::fmt::Display for HeldDeletes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "held: {} deletion(s) await approval ({}); {}; nothing was written",
            self.total,
            self.per_kind(),
            self.cause_text()
        )
    }
}

/// Objects the run would delete.
fn deletes(items: &[Item]) -> impl Iterator<Item = &Item> {
    items
        .iter()
        .filter(|i| i.action == Action::Delete && i.is_write())
}

/// Whether `cfg` holds this run's deletions, without approval. `devices` is how many devices
/// NetBox's read holds; `live` what the cluster holds.
pub(super) fn hold(
    cfg: &FabricConfig,
    items: &[Item],
    live: &Live,
    devices: usize,
) -> Option<HeldDeletes> {
    let total = deletes(items).count() as u64;
    if total == 0 || cfg.prune == PruneMode::Off {
        return None;
    }
    let owned = live
        .values()
        .filter(|l| l.fabric.as_deref() == Some(cfg.name.as_str()))
        .count() as u64;
    let cause = if devices == 0 && owned > 0 {
        HoldCause::NothingInNetbox {
            site: cfg.site_slug().to_string(),
            tag: cfg.tag.clone(),
        }
    } else if cfg.prune == PruneMode::Confirm {
        HoldCause::Confirm
    } else if total > cfg.max_deletes || total * 100 > u64::from(cfg.max_delete_percent) * owned {
        HoldCause::OverBudget {
            max_deletes: cfg.max_deletes,
            max_delete_percent: cfg.max_delete_percent,
        }
    } else {
        return None;
    };
    let mut by_kind = BTreeMap::new();
    for it in deletes(items) {
        *by_kind.entry(it.kind.kind().to_string()).or_insert(0) += 1;
    }
    Some(HeldDeletes {
        total,
        by_kind,
        owned,
        cause,
    })
}

/// Under prune `off`: deletions become skipped objects, reported.
pub(super) fn keep_unpruned(cfg: &FabricConfig, items: &mut [Item]) {
    if cfg.prune != PruneMode::Off {
        return;
    }
    for it in items
        .iter_mut()
        .filter(|i| i.action == Action::Delete && i.is_write())
    {
        it.result = ObjectResult::Skipped;
        it.note =
            Some("not deleted: prune is off for this fabric (NetBox no longer has it)".into());
    }
}

//! The data every part of a validation shares: what to run ([`Options`], [`Scale`]), one API call
//! as the request logs record it ([`ApiCall`]), the results — step, workflow and requirement
//! results and the whole report — and the finished bundle ([`Outcome`]), as plain serialisable
//! data. Renderers (`report.rs`) turn it into files; nothing here does IO.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::requirements::{Category, REQUIREMENTS};

/// One executed step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// Step name.
    pub name: String,
    /// What was done.
    pub action: String,
    /// What should happen.
    pub expected: String,
    /// What was seen.
    pub observed: String,
    /// Whether the expectation held.
    pub passed: bool,
    /// Requirements this step proves when it passes.
    pub requirements: Vec<String>,
    /// Evidence files (relative to the bundle).
    pub evidence: Vec<String>,
    /// Time the step took on the world's clock (virtual in the simulation), ms.
    pub clock_ms: u64,
}

/// Who a workflow serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserType {
    /// Uses the UI.
    NetworkEngineer,
    /// Nobody: the scheduler.
    Automation,
    /// Runs fabsync in production.
    Operator,
}

impl UserType {
    /// Display name.
    pub fn title(self) -> &'static str {
        match self {
            Self::NetworkEngineer => "network engineer",
            Self::Automation => "automation (scheduler)",
            Self::Operator => "operator",
        }
    }
}

/// One executed workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowReport {
    /// Stable id (`manual-sync`).
    pub id: String,
    /// The business goal.
    pub goal: String,
    /// Who it is for.
    pub user: UserType,
    /// Whether every step passed.
    pub passed: bool,
    /// Steps in order (a failed step is the last one).
    pub steps: Vec<StepReport>,
    /// Why it failed (step, expectation, observation), if it did.
    pub failure: Option<String>,
    /// Snapshot and other workflow-level evidence files.
    pub evidence: Vec<String>,
}

impl WorkflowReport {
    /// A report of checks that ran as steps of their own (no workflow-level evidence): passed
    /// when every step passed, failing with the first failed step.
    pub fn from_steps(id: &str, goal: &str, user: UserType, steps: Vec<StepReport>) -> Self {
        Self {
            id: id.into(),
            goal: goal.into(),
            user,
            passed: steps.iter().all(|s| s.passed),
            failure: steps
                .iter()
                .find(|s| !s.passed)
                .map(|s| format!("step \"{}\" failed: {}", s.name, s.observed)),
            steps,
            evidence: vec![],
        }
    }
}

/// A requirement's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReqStatus {
    /// A passing step proved it.
    #[serde(rename = "PROVEN")]
    Proven,
    /// A step meant to prove it failed.
    #[serde(rename = "FAILED")]
    Failed,
    /// No step covered it.
    #[serde(rename = "NOT_COVERED")]
    NotCovered,
}

impl ReqStatus {
    /// As written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proven => "PROVEN",
            Self::Failed => "FAILED",
            Self::NotCovered => "NOT_COVERED",
        }
    }
}

/// One line of `requirements.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequirementResult {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Verdict.
    pub status: ReqStatus,
    /// The workflow that proved (or failed) it.
    pub workflow: Option<String>,
    /// The step.
    pub step: Option<String>,
    /// Evidence files.
    pub evidence: Vec<String>,
    /// Category (not in the minimal shape, but useful).
    pub category: Category,
}

/// The whole validation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationReport {
    /// fabsync version.
    pub fabsync_version: String,
    /// sim, local or real.
    pub target: String,
    /// The seed.
    pub seed: u64,
    /// Fixture scale of the large-fabric workflow.
    pub scale: String,
    /// Workflows in the order they ran.
    pub workflows: Vec<WorkflowReport>,
    /// Every requirement's verdict.
    pub requirements: Vec<RequirementResult>,
    /// Whether every requirement is PROVEN.
    pub passed: bool,
}

impl ValidationReport {
    /// Builds the requirement verdicts from the workflows: PROVEN by the first passing step
    /// naming it; FAILED if a step naming it failed and none proved it; else NOT COVERED.
    pub fn new(
        target: &str,
        seed: u64,
        scale: &str,
        workflows: Vec<WorkflowReport>,
    ) -> ValidationReport {
        let mut requirements = Vec::new();
        for r in REQUIREMENTS {
            let mut proven = None;
            let mut failed = None;
            for w in &workflows {
                for s in &w.steps {
                    if s.requirements.iter().any(|id| id == r.id) {
                        if s.passed && proven.is_none() {
                            proven = Some((w, s));
                        } else if !s.passed && failed.is_none() {
                            failed = Some((w, s));
                        }
                    }
                }
            }
            let (status, at) = match (proven, failed) {
                (_, Some(f)) => (ReqStatus::Failed, Some(f)),
                (Some(p), None) => (ReqStatus::Proven, Some(p)),
                (None, None) => (ReqStatus::NotCovered, None),
            };
            requirements.push(RequirementResult {
                id: r.id.to_string(),
                title: r.title.to_string(),
                status,
                workflow: at.map(|(w, _)| w.id.clone()),
                step: at.map(|(_, s)| s.name.clone()),
                evidence: at.map(|(_, s)| s.evidence.clone()).unwrap_or_default(),
                category: r.category,
            });
        }
        let passed = requirements.iter().all(|r| r.status == ReqStatus::Proven)
            && workflows.iter().all(|w| w.passed);
        ValidationReport {
            fabsync_version: env!("CARGO_PKG_VERSION").to_string(),
            target: target.to_string(),
            seed,
            scale: scale.to_string(),
            workflows,
            requirements,
            passed,
        }
    }

    /// Requirement counts: (proven, failed, not covered).
    pub fn counts(&self) -> (usize, usize, usize) {
        let c = |s| self.requirements.iter().filter(|r| r.status == s).count();
        (
            c(ReqStatus::Proven),
            c(ReqStatus::Failed),
            c(ReqStatus::NotCovered),
        )
    }
}

/// Fixture scale of the large-fabric workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// `large` (thousands of NetBox objects).
    Large,
    /// `xlarge` (at least 50 000 NetBox objects).
    Xlarge,
}

impl Scale {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Large => "large",
            Self::Xlarge => "xlarge",
        }
    }
}

/// What to validate.
#[derive(Debug, Clone)]
pub struct Options {
    /// The seed.
    pub seed: u64,
    /// Scale of the large-fabric workflow.
    pub scale: Scale,
    /// Only these workflows (empty: all).
    pub only: Vec<String>,
    /// Print progress lines to stderr.
    pub progress: bool,
}

/// The evidence files a validation writes, by path (deterministic order).
pub type Files = BTreeMap<String, Vec<u8>>;

/// A finished validation: the report, every evidence file, and wall-clock timings.
#[derive(Debug)]
pub struct Outcome {
    /// The report.
    pub report: ValidationReport,
    /// Every file of the bundle, by relative path.
    pub files: Files,
}

/// One request either system answered (the shared request-log shape of ARCHITECTURE.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiCall {
    /// `apiserver` or `netbox`.
    pub server: String,
    /// The server's sequence number of this request.
    #[serde(default)]
    pub seq: u64,
    /// The client's User-Agent.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// When (world clock).
    pub time: String,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query string.
    #[serde(default)]
    pub query: String,
    /// Status code.
    pub status: u16,
    /// Kubernetes verb or NetBox action.
    #[serde(default)]
    pub verb: Option<String>,
    /// Object name (cluster).
    #[serde(default)]
    pub name: Option<String>,
    /// A dry run.
    #[serde(default)]
    pub dry_run: bool,
    /// A write that took effect.
    #[serde(default)]
    pub write: bool,
    /// The fault that fired, if any.
    #[serde(default)]
    pub fault: Option<String>,
    /// How the caller authenticated (never the secret).
    #[serde(default)]
    pub auth: String,
}

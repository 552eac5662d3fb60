//! Findings: what the plan reports about bad or surprising NetBox input, each naming the NetBox
//! object (type, id, name), the field and the reason. Findings stay short whatever the input:
//! values are shown through [`show`] (at most 60 characters), object names and reasons are cut.
//!
//! Data and formatting only; the rules that raise findings live in the other plan modules.

use serde::{Deserialize, Serialize};

/// Most characters of a NetBox value a finding shows (object names too).
const SHOWN_CHARS: usize = 60;
/// Most characters of a reason (a reason shows values through [`show`]; this bounds lists).
const REASON_CHARS: usize = 400;

/// `s` cut to `max` characters, with "…" when something was cut.
pub(crate) fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_string(),
    }
}

/// A NetBox value as a finding shows it: quoted and escaped like Rust's `{:?}` (control
/// characters and NUL bytes never appear raw), at most 60 characters of it, "…" when cut.
pub(crate) fn show(value: &str) -> String {
    match value.char_indices().nth(SHOWN_CHARS) {
        Some((end, _)) => format!("{:?}…", &value[..end]),
        None => format!("{value:?}"),
    }
}

/// How bad a finding is. A fatal finding means the run writes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Fatal,
    Warning,
}

impl Severity {
    /// `fatal` / `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Fatal => "fatal",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in the NetBox data.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Stable machine-readable code (`invalid-name`, `port-in-two-connections`, …).
    pub code: &'static str,
    /// NetBox object type (`dcim.cable`).
    pub object_type: String,
    pub object_id: u64,
    /// The object's name as NetBox shows it (cable label or `#id` when it has none).
    pub object_name: String,
    /// The field the problem is in (`name`, `role`, `custom_fields.hedgehog_redundancy_group`).
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: NetBox {} {} ({:?}), field {}: {} [{}]",
            self.severity.as_str(),
            self.object_type,
            self.object_id,
            self.object_name,
            self.field,
            self.reason,
            self.code
        )
    }
}

impl Finding {
    /// A finding about NetBox object `object_type` #`object_id` (shown as `object_name`, cut to
    /// 60 characters), field `field`; the reason is cut to 400 characters.
    fn new(
        severity: Severity,
        code: &'static str,
        object_type: &str,
        object_id: u64,
        object_name: &str,
        field: &str,
        reason: impl Into<String>,
    ) -> Finding {
        Finding {
            severity,
            code,
            object_type: object_type.to_string(),
            object_id,
            object_name: cut(object_name, SHOWN_CHARS),
            field: field.to_string(),
            reason: cut(&reason.into(), REASON_CHARS),
        }
    }
}

/// Collects findings while planning.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    list: Vec<Finding>,
}

impl Findings {
    pub(crate) fn fatal(
        &mut self,
        code: &'static str,
        object_type: &str,
        object_id: u64,
        object_name: &str,
        field: &str,
        reason: impl Into<String>,
    ) {
        self.list.push(Finding::new(
            Severity::Fatal,
            code,
            object_type,
            object_id,
            object_name,
            field,
            reason,
        ));
    }

    pub(crate) fn warn(
        &mut self,
        code: &'static str,
        object_type: &str,
        object_id: u64,
        object_name: &str,
        field: &str,
        reason: impl Into<String>,
    ) {
        self.list.push(Finding::new(
            Severity::Warning,
            code,
            object_type,
            object_id,
            object_name,
            field,
            reason,
        ));
    }

    /// Sorted (fatal first, then by object), deduplicated.
    pub(crate) fn into_sorted(mut self) -> Vec<Finding> {
        self.list.sort_by(|a, b| {
            (
                a.severity,
                &a.object_type,
                a.object_id,
                &a.field,
                a.code,
                &a.reason,
            )
                .cmp(&(
                    b.severity,
                    &b.object_type,
                    b.object_id,
                    &b.field,
                    b.code,
                    &b.reason,
                ))
        });
        self.list.dedup();
        self.list
    }
}

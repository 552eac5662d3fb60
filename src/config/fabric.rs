//! One fabric's settings: where its NetBox and cluster are, its namespace and interval, the
//! conflict and prune policies, the deletion budget and client-side limits, and the checks that
//! name the field of every bad value.
//!
//! It reads no secret and opens no connection.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::secret::SecretRef;
use super::{ConfigError, is_dns_label};

/// What to do when a field fabsync wants to set is owned by another field manager.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ConflictPolicy {
    /// Stop the run with nothing written and report the field and the other manager.
    #[default]
    Fail,
    /// Take ownership of the field (server-side apply `force`).
    Force,
    /// Leave that object alone, report it, and sync the rest.
    Skip,
}

impl ConflictPolicy {
    /// The lowercase name used in config files, the UI and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fail => "fail",
            Self::Force => "force",
            Self::Skip => "skip",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "fail" => Some(Self::Fail),
            "force" => Some(Self::Force),
            "skip" => Some(Self::Skip),
            _ => None,
        }
    }
}

/// What a run does with owned objects NetBox no longer has.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum PruneMode {
    /// Deletes them, within the fabric's deletion budget; a run over the budget, or one whose
    /// NetBox read holds no device while the cluster holds the fabric's objects, is held for
    /// approval and writes nothing.
    #[default]
    Auto,
    /// Every deletion waits for a person's approval (the run is held and writes nothing).
    Confirm,
    /// Never deletes: such objects are left in the cluster and reported (the fabric is then
    /// `out_of_sync`).
    Off,
}

impl PruneMode {
    /// The lowercase name used in config files, the UI and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Confirm => "confirm",
            Self::Off => "off",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "confirm" => Some(Self::Confirm),
            "off" => Some(Self::Off),
            _ => None,
        }
    }
}

/// The NetBox a fabric is read from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NetboxTarget {
    /// Base URL (`https://netbox.example.com`).
    pub url: String,
    /// A file whose content is the API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// An environment variable holding the API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
}

impl NetboxTarget {
    /// Where the API token comes from.
    pub fn token(&self) -> SecretRef {
        SecretRef {
            token_file: self.token_file.clone(),
            token_env: self.token_env.clone(),
        }
    }
}

/// The cluster a fabric is written to: a kubeconfig (and context), or a server URL with a token.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterTarget {
    /// Kubeconfig file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    /// Context in the kubeconfig (its current context when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// API server URL (instead of a kubeconfig).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// A file holding the bearer token for `server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// An environment variable holding the bearer token for `server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// CA bundle (PEM) for `server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Allows an `http://` server: the bearer token then crosses the network in cleartext.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_insecure_http: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl ClusterTarget {
    /// Where the bearer token comes from.
    pub fn token(&self) -> SecretRef {
        SecretRef {
            token_file: self.token_file.clone(),
            token_env: self.token_env.clone(),
        }
    }

    /// One line saying where the cluster is, for pages and logs (no secrets).
    pub fn describe(&self) -> String {
        match (&self.server, &self.kubeconfig) {
            (Some(server), _) => server.clone(),
            (None, Some(path)) => match &self.context {
                Some(ctx) => format!("{} (context {ctx})", path.display()),
                None => format!("{} (current context)", path.display()),
            },
            (None, None) => "default kubeconfig".to_string(),
        }
    }
}

/// Client-side limits of one fabric's runs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Requests per second to the cluster (token-bucket rate).
    #[serde(default = "default_qps")]
    pub qps: f64,
    /// Token-bucket burst.
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// Writes in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// A run taking longer than this fails ("deadline exceeded").
    #[serde(default = "default_deadline_secs")]
    pub deadline_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            qps: default_qps(),
            burst: default_burst(),
            concurrency: default_concurrency(),
            deadline_secs: default_deadline_secs(),
        }
    }
}

fn default_qps() -> f64 {
    50.0
}
fn default_burst() -> u32 {
    100
}
fn default_concurrency() -> usize {
    8
}
fn default_deadline_secs() -> u64 {
    300
}

/// One fabric: a NetBox site mirrored into one cluster namespace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FabricConfig {
    /// Fabric name (an RFC 1123 label): the value of the ownership label.
    pub name: String,
    /// NetBox site slug (defaults to the fabric name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Optional NetBox tag narrowing the fabric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The NetBox.
    pub netbox: NetboxTarget,
    /// The cluster.
    #[serde(default)]
    pub cluster: ClusterTarget,
    /// Namespace of the Hedgehog objects.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Periodic sync interval in seconds (0: no periodic sync).
    #[serde(default = "default_interval_secs")]
    pub interval_secs: u64,
    /// Whether periodic sync runs.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Field-manager conflict policy.
    #[serde(default)]
    pub conflict_policy: ConflictPolicy,
    /// Client-side limits.
    #[serde(default)]
    pub limits: Limits,
    /// What happens to owned objects NetBox no longer has.
    #[serde(default)]
    pub prune: PruneMode,
    /// Deletions one run may make without approval (prune `auto`).
    #[serde(default = "default_max_deletes")]
    pub max_deletes: u64,
    /// Deletions one run may make without approval, as a percentage of the fabric's objects in
    /// the cluster (prune `auto`). A run over either bound is held.
    #[serde(default = "default_max_delete_percent")]
    pub max_delete_percent: u8,
}

fn default_max_deletes() -> u64 {
    10
}
fn default_max_delete_percent() -> u8 {
    25
}

fn default_namespace() -> String {
    "default".to_string()
}
fn default_interval_secs() -> u64 {
    300
}
fn default_true() -> bool {
    true
}

/// Smallest periodic interval accepted (seconds). A periodic run with nothing changed costs one
/// changelog query and one metadata list per kind, so a lab can sync every few seconds.
pub const MIN_INTERVAL_SECS: u64 = 5;

impl FabricConfig {
    /// The NetBox site slug.
    pub fn site_slug(&self) -> &str {
        self.site.as_deref().unwrap_or(&self.name)
    }

    /// Checks every field; the first problem is returned naming the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &str, reason: String| ConfigError::Invalid {
            fabric: self.name.clone(),
            field: field.to_string(),
            reason,
        };
        if !is_dns_label(&self.name) {
            return Err(bad(
                "name",
                "must be a lowercase RFC 1123 label (a-z, 0-9, '-', at most 63 characters, starting and ending with a letter or digit)".into(),
            ));
        }
        if !is_dns_label(&self.namespace) {
            return Err(bad(
                "namespace",
                format!(
                    "{:?} is not a valid Kubernetes namespace name",
                    self.namespace
                ),
            ));
        }
        if let Some(site) = &self.site
            && (site.is_empty() || site.contains(char::is_whitespace))
        {
            return Err(bad("site", format!("{site:?} is not a NetBox slug")));
        }
        let url = self.netbox.url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(bad(
                "netbox.url",
                format!("{url:?} must start with http:// or https://"),
            ));
        }
        if has_credentials(url) {
            return Err(bad(
                "netbox.url",
                "holds a user name or password: put credentials in netbox.token_file or netbox.token_env, never in the URL (it is stored and shown)".into(),
            ));
        }
        check_secret_ref(&self.netbox.token(), "netbox", &self.name, true)?;
        if let Some(server) = &self.cluster.server {
            if !server.starts_with("https://") && !server.starts_with("http://") {
                return Err(bad(
                    "cluster.server",
                    format!("{server:?} must start with https:// or http://"),
                ));
            }
            if has_credentials(server) {
                return Err(bad(
                    "cluster.server",
                    "holds a user name or password: use cluster.token_file or cluster.token_env"
                        .into(),
                ));
            }
            if server.starts_with("http://") && !self.cluster.allow_insecure_http {
                return Err(bad(
                    "cluster.server",
                    format!(
                        "{server:?} is plain HTTP: the bearer token would cross the network in cleartext. Use https://, or set cluster.allow_insecure_http = true for a lab"
                    ),
                ));
            }
            if self.cluster.kubeconfig.is_some() {
                return Err(bad(
                    "cluster",
                    "give either kubeconfig (and context) or server (and token), not both".into(),
                ));
            }
            check_secret_ref(&self.cluster.token(), "cluster", &self.name, false)?;
        } else if self.cluster.token().is_set() {
            return Err(bad(
                "cluster.token_file",
                "a cluster token needs cluster.server".into(),
            ));
        }
        if self.interval_secs != 0 && self.interval_secs < MIN_INTERVAL_SECS {
            return Err(bad(
                "interval_secs",
                format!(
                    "{} is below the minimum of {MIN_INTERVAL_SECS} seconds (0 turns periodic sync off)",
                    self.interval_secs
                ),
            ));
        }
        let l = &self.limits;
        if !(l.qps.is_finite() && l.qps > 0.0 && l.qps <= 10_000.0) {
            return Err(bad(
                "limits.qps",
                format!("{} must be above 0 and at most 10000", l.qps),
            ));
        }
        if l.burst == 0 || l.burst > 10_000 {
            return Err(bad(
                "limits.burst",
                format!("{} must be between 1 and 10000", l.burst),
            ));
        }
        if l.concurrency == 0 || l.concurrency > 64 {
            return Err(bad(
                "limits.concurrency",
                format!("{} must be between 1 and 64", l.concurrency),
            ));
        }
        if self.max_delete_percent > 100 {
            return Err(bad(
                "max_delete_percent",
                format!("{} must be between 0 and 100", self.max_delete_percent),
            ));
        }
        if l.deadline_secs == 0 || l.deadline_secs > 24 * 3600 {
            return Err(bad(
                "limits.deadline_secs",
                format!("{} must be between 1 and 86400", l.deadline_secs),
            ));
        }
        Ok(())
    }
}

/// Whether a URL carries `user[:password]@` before its host.
fn has_credentials(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.contains('@')
}

fn check_secret_ref(
    r: &SecretRef,
    section: &str,
    fabric: &str,
    required: bool,
) -> Result<(), ConfigError> {
    match (&r.token_file, &r.token_env) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid {
            fabric: fabric.to_string(),
            field: format!("{section}.token_file"),
            reason: "give token_file or token_env, not both".into(),
        }),
        (None, None) if required => Err(ConfigError::Invalid {
            fabric: fabric.to_string(),
            field: format!("{section}.token_file"),
            reason: "a token is required: set token_file or token_env".into(),
        }),
        _ => Ok(()),
    }
}

//! `fabsync.toml`: the fabrics to keep in sync, where their NetBox and cluster are, and limits.
//!
//! Parses and validates configuration and resolves secret references (token files or environment
//! variables) at the moment they are needed. It never stores a secret value in a config struct,
//! and never prints one: [`Secret`] redacts itself. It does not open connections.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Errors in configuration files, settings and secret references.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("config file {path} is invalid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A value is out of its allowed range or shape.
    #[error("fabric {fabric:?}: {field}: {reason}")]
    Invalid {
        /// The fabric (empty for global settings).
        fabric: String,
        /// The field, dotted (`limits.qps`).
        field: String,
        /// Why it is refused.
        reason: String,
    },
    /// A secret reference could not be resolved.
    #[error("fabric {fabric:?}: {field}: {reason}")]
    Secret {
        /// The fabric.
        fabric: String,
        /// The field naming the secret (`netbox.token_file`).
        field: String,
        /// Why it could not be read (never the secret itself).
        reason: String,
    },
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite store lives.
    #[serde(default)]
    pub store: StoreConfig,
    /// The web server and scheduler.
    #[serde(default)]
    pub server: ServerConfig,
    /// The fabrics.
    #[serde(default, rename = "fabric")]
    pub fabrics: Vec<FabricConfig>,
}

/// Store location.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// A file path, or `:memory:`.
    #[serde(default = "default_store_path")]
    pub path: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: default_store_path(),
        }
    }
}

fn default_store_path() -> String {
    "fabsync.sqlite".to_string()
}

/// Web server and scheduler settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address of `fabsync serve`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// File holding the UI/API access token; without it the server binds to loopback only.
    #[serde(default)]
    pub auth_token_file: Option<PathBuf>,
    /// Runs allowed at once across all fabrics.
    #[serde(default = "default_max_concurrent_runs")]
    pub max_concurrent_runs: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            auth_token_file: None,
            max_concurrent_runs: default_max_concurrent_runs(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".to_string()
}

fn default_max_concurrent_runs() -> usize {
    4
}

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

/// Where a secret comes from. The value itself is read only when needed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// A file whose content (trimmed) is the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// An environment variable holding the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
}

/// A secret value. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
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
        check_secret_ref(&self.netbox.token(), "netbox", &self.name, true)?;
        if let Some(server) = &self.cluster.server {
            if !server.starts_with("https://") && !server.starts_with("http://") {
                return Err(bad(
                    "cluster.server",
                    format!("{server:?} must start with https:// or http://"),
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

impl SecretRef {
    /// A reference to a file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            token_file: Some(path.into()),
            token_env: None,
        }
    }

    /// A reference to an environment variable.
    pub fn env(name: impl Into<String>) -> Self {
        Self {
            token_file: None,
            token_env: Some(name.into()),
        }
    }

    /// Whether a secret is referenced at all.
    pub fn is_set(&self) -> bool {
        self.token_file.is_some() || self.token_env.is_some()
    }

    /// Reads the secret. `fabric` and `field` only name it in errors.
    pub fn resolve(&self, fabric: &str, field: &str) -> Result<Secret, ConfigError> {
        let err = |reason: String| ConfigError::Secret {
            fabric: fabric.to_string(),
            field: field.to_string(),
            reason,
        };
        let value = if let Some(path) = &self.token_file {
            std::fs::read_to_string(path)
                .map_err(|e| err(format!("cannot read token file {}: {e}", path.display())))?
        } else if let Some(var) = &self.token_env {
            std::env::var(var).map_err(|_| err(format!("environment variable {var} is not set")))?
        } else {
            return Err(err("no token_file or token_env configured".into()));
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(err("the token is empty".into()));
        }
        // A token travels in an HTTP header: only visible ASCII can (never say which bytes the
        // token holds, only where the bad one is).
        if let Some((at, c)) = value.char_indices().find(|(_, c)| !c.is_ascii_graphic()) {
            let what = if c.is_whitespace() {
                "a space or control character".to_string()
            } else if c.is_ascii() {
                format!("a control character (0x{:02x})", c as u32)
            } else {
                "a non-ASCII character".to_string()
            };
            return Err(err(format!(
                "the token holds {what} at byte {at}, which an HTTP header cannot carry: check the token's file or variable"
            )));
        }
        Ok(Secret::new(value))
    }
}

impl Config {
    /// Reads every token the fabrics name (NetBox, and the cluster's when a server is given)
    /// and checks it can be sent: a missing file, an unset variable or a token an HTTP header
    /// cannot carry is an error naming the fabric and the field, before anything connects.
    pub fn check_secrets(&self) -> Result<(), ConfigError> {
        for f in &self.fabrics {
            let field = if f.netbox.token_file.is_some() {
                "netbox.token_file"
            } else {
                "netbox.token_env"
            };
            f.netbox.token().resolve(&f.name, field)?;
            if f.cluster.token().is_set() {
                let field = if f.cluster.token_file.is_some() {
                    "cluster.token_file"
                } else {
                    "cluster.token_env"
                };
                f.cluster.token().resolve(&f.name, field)?;
            }
        }
        Ok(())
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates config text; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Validates every fabric and global setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.server.max_concurrent_runs == 0 || self.server.max_concurrent_runs > 64 {
            return Err(ConfigError::Invalid {
                fabric: String::new(),
                field: "server.max_concurrent_runs".into(),
                reason: format!(
                    "{} must be between 1 and 64",
                    self.server.max_concurrent_runs
                ),
            });
        }
        let mut seen = BTreeSet::new();
        for fabric in &self.fabrics {
            fabric.validate()?;
            if !seen.insert(fabric.name.as_str()) {
                return Err(ConfigError::Invalid {
                    fabric: fabric.name.clone(),
                    field: "name".into(),
                    reason: "two fabrics have this name".into(),
                });
            }
        }
        Ok(())
    }

    /// The fabric named `name`.
    pub fn fabric(&self, name: &str) -> Option<&FabricConfig> {
        self.fabrics.iter().find(|f| f.name == name)
    }
}

/// RFC 1123 label: lowercase alphanumerics and '-', 1–63 characters, alphanumeric at both ends.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[store]
path = ":memory:"

[[fabric]]
name = "dc1"
interval_secs = 60

[fabric.netbox]
url = "https://netbox.example.com"
token_env = "NETBOX_TOKEN"

[fabric.cluster]
kubeconfig = "/etc/fabsync/kubeconfig"
context = "hedgehog"
"#;

    #[test]
    fn parses_defaults_and_values() {
        let c = Config::parse(EXAMPLE, Path::new("fabsync.toml")).unwrap();
        let f = &c.fabrics[0];
        assert_eq!(f.site_slug(), "dc1");
        assert_eq!(f.namespace, "default");
        assert_eq!(f.interval_secs, 60);
        assert_eq!(f.conflict_policy, ConflictPolicy::Fail);
        assert_eq!(f.limits.qps, 50.0);
        assert_eq!(f.limits.burst, 100);
        assert_eq!(
            f.cluster.describe(),
            "/etc/fabsync/kubeconfig (context hedgehog)"
        );
        assert_eq!(c.server.listen, "127.0.0.1:8080");
    }

    #[test]
    fn errors_name_the_field() {
        let text = EXAMPLE.replace("interval_secs = 60", "interval_secs = 3");
        let e = Config::parse(&text, Path::new("f.toml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "fabric \"dc1\": interval_secs: 3 is below the minimum of 5 seconds (0 turns periodic sync off)"
        );
        let text = EXAMPLE.replace("name = \"dc1\"", "name = \"DC 1\"");
        let e = Config::parse(&text, Path::new("f.toml")).unwrap_err();
        assert!(
            e.to_string()
                .contains(": name: must be a lowercase RFC 1123 label")
        );
        let text = EXAMPLE.replace("token_env = \"NETBOX_TOKEN\"", "");
        let e = Config::parse(&text, Path::new("f.toml")).unwrap_err();
        assert!(
            e.to_string()
                .contains("netbox.token_file: a token is required")
        );
        let e = Config::parse("[[fabric]]\nnme = 1", Path::new("f.toml")).unwrap_err();
        assert!(e.to_string().starts_with("config file f.toml is invalid"));
    }

    #[test]
    fn the_documented_example_parses() {
        let text = include_str!("../docs/fabsync.example.toml");
        let c = Config::parse(text, Path::new("docs/fabsync.example.toml")).unwrap();
        assert_eq!(c.fabrics.len(), 1);
        assert_eq!(c.fabrics[0].conflict_policy, ConflictPolicy::Fail);
        assert_eq!(c.server.max_concurrent_runs, 4);
    }

    #[test]
    fn secrets_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cr3t-value\n").unwrap();
        let secret = SecretRef::file(&path)
            .resolve("dc1", "netbox.token_file")
            .unwrap();
        assert_eq!(secret.expose(), "s3cr3t-value");
        assert!(!format!("{secret:?} {secret}").contains("s3cr3t"));
        let missing = SecretRef::env("FABSYNC_TEST_SURELY_UNSET_VAR")
            .resolve("dc1", "netbox.token_env")
            .unwrap_err();
        assert_eq!(
            missing.to_string(),
            "fabric \"dc1\": netbox.token_env: environment variable FABSYNC_TEST_SURELY_UNSET_VAR is not set"
        );
    }
}

//! `fabsync.toml`: the fabrics to keep in sync, where their NetBox and cluster are, and limits.
//!
//! Parses and validates configuration and resolves secret references (token files or environment
//! variables) at the moment they are needed. It never stores a secret value in a config struct,
//! and never prints one: [`Secret`] redacts itself. It does not open connections.

mod fabric;
mod secret;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use fabric::{
    ClusterTarget, ConflictPolicy, FabricConfig, Limits, MIN_INTERVAL_SECS, NetboxTarget, PruneMode,
};
pub use secret::{Secret, SecretRef};

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
    /// Runs kept per fabric, with their per-object results, tasks and audit entries (0: all).
    #[serde(default = "default_keep_runs")]
    pub keep_runs: u64,
}

fn default_keep_runs() -> u64 {
    DEFAULT_KEEP_RUNS
}

/// Runs kept per fabric unless `[store] keep_runs` says otherwise.
pub const DEFAULT_KEEP_RUNS: u64 = 1000;

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: default_store_path(),
            keep_runs: default_keep_runs(),
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
        let mut config = Self::parse(&text, path)?;
        if let Some(dir) = path.parent() {
            config.resolve_relative_paths(dir);
        }
        Ok(config)
    }

    /// Makes every relative path in the file (token files, kubeconfigs, CA files, the store,
    /// the UI token file) relative to `dir`, the file's directory, not to wherever fabsync was
    /// started.
    pub fn resolve_relative_paths(&mut self, dir: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        if self.store.path != ":memory:" && Path::new(&self.store.path).is_relative() {
            self.store.path = dir.join(&self.store.path).to_string_lossy().into_owned();
        }
        if let Some(p) = &mut self.server.auth_token_file {
            fix(p);
        }
        for f in &mut self.fabrics {
            for p in [
                &mut f.netbox.token_file,
                &mut f.cluster.kubeconfig,
                &mut f.cluster.token_file,
                &mut f.cluster.ca_file,
            ]
            .into_iter()
            .flatten()
            {
                fix(p);
            }
        }
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
        let text = include_str!("../../docs/fabsync.example.toml");
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

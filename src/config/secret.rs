//! Secret references: a token is named by a file or an environment variable in the settings and
//! read only when needed; [`Secret`] never prints its value. A token an HTTP header cannot carry
//! is refused when read.
//!
//! It stores no secret value in a settings struct.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;

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

//! A private temporary folder (`tempfile`, mode 0700) for what a validation writes next to the
//! systems it reaches — kubeconfig variants, token files, a browser profile — with its files
//! written mode 0600; removed when dropped.
//!
//! It knows nothing about what the files mean.

use std::path::{Path, PathBuf};

use super::error::{Context, ValidateError};

/// A private folder, removed when dropped.
#[derive(Debug)]
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    /// Creates it under the system's temporary folder, its name starting with `prefix`.
    pub fn new(prefix: &str) -> Result<Self, ValidateError> {
        tempfile::Builder::new()
            .prefix(&format!("{prefix}-"))
            .tempdir()
            .map(Self)
            .with_context(|| {
                format!(
                    "creating a folder {prefix}-… in {}",
                    std::env::temp_dir().display()
                )
            })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes a private file (mode 0600) and returns its path.
    pub fn write(&self, name: &str, content: &[u8]) -> Result<PathBuf, ValidateError> {
        let p = self.0.path().join(name);
        std::fs::write(&p, content).with_context(|| format!("writing {}", p.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
        Ok(p)
    }
}

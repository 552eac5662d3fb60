//! Long texts kept once: a run's error, a fabric's last error and per-object messages are capped
//! at [`MAX_TEXT`] bytes, and one longer than [`INLINE`] is stored once in `texts` under its
//! hash, its columns holding a reference. A failure repeated on every run (a huge bad value in
//! NetBox) then costs its text once, not once per run.
//!
//! Transparent to the store's readers; it knows nothing of what the texts say.

use super::Cached as _;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{Ctx, StoreError};

/// The longest text kept (bytes); the rest is cut with a note of how much.
pub const MAX_TEXT: usize = 4096;
/// Texts up to this many bytes stay in their column.
const INLINE: usize = 256;
/// How a column refers to a stored text (a control character no message starts with).
const MARK: &str = "\u{1}text:";

/// `s` cut to [`MAX_TEXT`] bytes at a character boundary, with a note of what was cut.
pub fn cap(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_string();
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes not kept)", &s[..end], s.len() - end)
}

/// The value to store for `s`: capped, and a reference when long.
pub(super) fn put(conn: &Connection, s: Option<&str>) -> Result<Option<String>, StoreError> {
    let Some(s) = s else { return Ok(None) };
    let s = cap(s);
    if s.len() <= INLINE {
        return Ok(Some(s));
    }
    let hash = hex::encode(Sha256::digest(s.as_bytes()));
    conn.prepare_cached(
        "INSERT INTO texts (hash, text) VALUES (?1, ?2) ON CONFLICT(hash) DO NOTHING",
    )
    .ctx("store text")?
    .execute(params![hash, s])
    .ctx("store text")?;
    Ok(Some(format!("{MARK}{hash}")))
}

/// Replaces a stored reference by its text.
pub(super) fn resolve(conn: &Connection, s: &mut Option<String>) -> Result<(), StoreError> {
    let Some(hash) = s.as_deref().and_then(|v| v.strip_prefix(MARK)) else {
        return Ok(());
    };
    let text: Option<String> = conn
        .prepare_cached("SELECT text FROM texts WHERE hash = ?1")
        .ctx("read text")?
        .query_row(params![hash], |r| r.get(0))
        .optional()
        .ctx("read text")?;
    *s =
        Some(text.ok_or_else(|| {
            StoreError::Corrupt(format!("text {hash} is referenced but not stored"))
        })?);
    Ok(())
}

/// Removes texts nothing refers to any more (after old runs were removed).
pub(super) fn collect_garbage(conn: &Connection) -> Result<(), StoreError> {
    conn.exec_cached(
        "DELETE FROM texts WHERE (?1 || hash) NOT IN (
             SELECT error FROM runs WHERE error IS NOT NULL
             UNION SELECT message FROM run_objects WHERE message IS NOT NULL
             UNION SELECT last_error FROM fabrics WHERE last_error IS NOT NULL)",
        params![MARK],
    )
    .ctx("collect unused texts")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_cuts_at_a_character_boundary_and_says_how_much() {
        let long = "é".repeat(MAX_TEXT);
        let c = cap(&long);
        assert!(c.len() < MAX_TEXT + 40, "{}", c.len());
        assert!(c.ends_with(&format!(
            "({} more bytes not kept)",
            2 * MAX_TEXT - MAX_TEXT
        )));
        assert_eq!(cap("short"), "short");
    }
}

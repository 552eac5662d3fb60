//! House rules for `fake-netbox/src`, checked with the tests: every file opens with a `//!` doc
//! saying its job, no file passes 800 lines, and time is read through the fake's `Clock` and
//! `tokio::time` only (`std::time::Instant`, `SystemTime` and `Timestamp::now` appear nowhere but
//! in the allow-list below, each entry with its reason).

use std::path::{Path, PathBuf};

use regex::Regex;

const MAX_LINES: usize = 800;

/// Files that may read real time, what they may use, and why.
const REAL_TIME_ALLOWED: &[(&str, &str, &str)] = &[(
    "src/lib.rs",
    "Timestamp::now",
    "`system_clock()` is the real wall clock the binary gives the fake; the library reads the \
     time only through the `Clock` it was built with",
)];

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The sources as (path relative to the crate, text).
fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    rust_files(&root.join("src"))
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
            let rel = p
                .strip_prefix(root)
                .expect("under the crate")
                .display()
                .to_string();
            (rel, text)
        })
        .collect()
}

/// The text without `//` comments (doc comments included), so prose may name what code may not use.
fn code_only(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_source_file_opens_with_a_module_doc() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| {
            !text
                .lines()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.starts_with("//!"))
        })
        .map(|(path, _)| path)
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading `//!` doc: {missing:?}"
    );
}

#[test]
fn no_source_file_passes_800_lines() {
    let long: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| text.lines().count() > MAX_LINES)
        .map(|(path, text)| format!("{path} ({} lines)", text.lines().count()))
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}

#[test]
fn real_time_is_read_only_where_the_allow_list_says() {
    let uses = [
        (
            "std::time::Instant",
            Regex::new(r"std::time::Instant\b").expect("re"),
        ),
        (
            "std::time::Instant",
            Regex::new(r"use\s+std::time::\{[^}]*\bInstant\b").expect("re"),
        ),
        ("SystemTime", Regex::new(r"\bSystemTime\b").expect("re")),
        (
            "Timestamp::now",
            Regex::new(r"\bTimestamp::now\b").expect("re"),
        ),
    ];
    let mut found = Vec::new();
    for (path, text) in sources() {
        let code = code_only(&text);
        for (what, re) in &uses {
            let allowed = REAL_TIME_ALLOWED
                .iter()
                .any(|(p, w, _)| *p == path && w == what);
            if !allowed && re.is_match(&code) {
                found.push(format!("{path}: {what}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "real time read outside the allow-list (use the Clock or tokio::time, or add an entry \
         with its reason): {found:?}"
    );
    for (path, what, reason) in REAL_TIME_ALLOWED {
        assert!(!reason.is_empty(), "{path}: {what} needs a reason");
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
            .unwrap_or_else(|e| panic!("allow-list entry {path}: {e}"));
        assert!(
            code_only(&text).contains(what),
            "allow-list entry {path}: {what} is no longer used there; remove the entry"
        );
    }
}

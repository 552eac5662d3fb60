//! Tidy rules for the source of all three crates (`src/`, `fake-apiserver/src/`,
//! `fake-netbox/src/`): every file opens with a `//!` doc saying its job, no file passes 800
//! lines, and the real clock is read only in the files listed here with a reason.

use std::path::Path;

/// Longest a source file may be.
const MAX_LINES: usize = 800;

/// Files that may read the real clock, and why. Everything else takes the time from the server's
/// `Clock` (simulated under tests) or from `tokio::time`, which a paused test runtime controls.
const REAL_CLOCK: &[(&str, &str)] = &[
    (
        "src/clock.rs",
        "SystemClock is the wall clock of worlds that talk to real systems",
    ),
    (
        "src/validate/stopwatch.rs",
        "the wall-clock duration of a validation, reported in timings.json (the one file a seed does not fix)",
    ),
    (
        "fake-apiserver/src/clock.rs",
        "system_clock() is the wall clock of the binary and of fabsync's local validation",
    ),
    (
        "fake-netbox/src/lib.rs",
        "system_clock() is the wall clock of the binary",
    ),
];

/// The crates whose `src/` the rules cover, relative to the workspace root.
const CRATES: &[&str] = &["", "fake-apiserver/", "fake-netbox/"];

/// Every `.rs` file under each crate's `src/`, as (path relative to the workspace root, text),
/// sorted by path.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("read src dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let rel = path.strip_prefix(root).expect("under src");
                let rel = rel.to_string_lossy().replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&path).expect("read source")));
            }
        }
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![];
    for krate in CRATES {
        let root = workspace.join(format!("{krate}src"));
        let mut files = vec![];
        walk(&root, &root, &mut files);
        assert!(
            files.len() > 10,
            "found only {} files under {root:?}",
            files.len()
        );
        out.extend(
            files
                .into_iter()
                .map(|(rel, text)| (format!("{krate}src/{rel}"), text)),
        );
    }
    out.sort();
    out
}

/// The ways a file reads the real clock (comment lines ignored).
fn real_clock_uses(text: &str) -> Vec<&'static str> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = vec![];
    if code.contains("SystemTime") {
        found.push("std::time::SystemTime");
    }
    if code.contains("Timestamp::now") {
        found.push("jiff::Timestamp::now");
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut rest = code.as_str();
    while let Some(i) = rest.find("std::time::") {
        rest = &rest[i + "std::time::".len()..];
        let item = match rest.strip_prefix('{') {
            Some(group) => &group[..group.find('}').unwrap_or(group.len())],
            None => &rest[..rest.find(|c: char| !word(c)).unwrap_or(rest.len())],
        };
        if item.split(|c: char| !word(c)).any(|w| w == "Instant") {
            found.push("std::time::Instant");
        }
    }
    found
}

#[test]
fn every_source_file_opens_with_a_module_doc() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| !text.starts_with("//!"))
        .map(|(path, _)| path)
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not open with a `//!` doc saying their job: {missing:?}"
    );
}

#[test]
fn no_source_file_passes_800_lines() {
    let long: Vec<String> = sources()
        .into_iter()
        .map(|(path, text)| (path, text.lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .map(|(path, n)| format!("{path}: {n} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "split these files by job (at most {MAX_LINES} lines): {long:?}"
    );
}

#[test]
fn the_real_clock_is_read_only_where_allowed() {
    // The detector itself.
    assert_eq!(
        real_clock_uses("use std::time::{\n    Duration,\n    Instant,\n};"),
        ["std::time::Instant"]
    );
    assert_eq!(
        real_clock_uses("let t = std::time::SystemTime::now();"),
        ["std::time::SystemTime"]
    );
    assert!(real_clock_uses("use std::time::Duration;\nuse tokio::time::Instant;").is_empty());
    assert!(real_clock_uses("// std::time::Instant in a comment").is_empty());

    let files = sources();
    let mut bad = vec![];
    for (path, text) in &files {
        let uses = real_clock_uses(text);
        let allowed = REAL_CLOCK.iter().any(|(p, _)| p == path);
        if !uses.is_empty() && !allowed {
            bad.push(format!("{path}: {uses:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "these files read the real clock; use the server's Clock or tokio::time, or add them to \
         REAL_CLOCK with a reason: {bad:?}"
    );
    for (path, why) in REAL_CLOCK {
        let text = files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, t)| t)
            .unwrap_or_else(|| panic!("REAL_CLOCK names {path}, which does not exist ({why})"));
        assert!(
            !real_clock_uses(text).is_empty(),
            "REAL_CLOCK names {path}, which no longer reads the real clock: remove it"
        );
    }
}

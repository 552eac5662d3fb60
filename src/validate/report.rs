//! Renders a [`ValidationReport`] for people (`report.html`, `report.md`), machines
//! (`report.json`, `requirements.json`) and CI (`junit.xml`), and the terminal summary table.
//!
//! Pure text rendering: deterministic (no wall-clock time), no IO.

use maud::{DOCTYPE, html};

use super::model::{ReqStatus, ValidationReport};
use super::requirements::{Category, REQUIREMENTS};

/// `report.json`.
pub fn json(r: &ValidationReport) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(r).expect("the report serializes");
    v.push(b'\n');
    v
}

/// `requirements.json`: `[{"id","title","status","workflow","step","evidence"}]`.
pub fn requirements_json(r: &ValidationReport) -> Vec<u8> {
    let items: Vec<serde_json::Value> = r
        .requirements
        .iter()
        .map(|q| {
            serde_json::json!({
                "id": q.id, "title": q.title, "status": q.status.as_str(),
                "workflow": q.workflow, "step": q.step, "evidence": q.evidence,
                "category": q.category,
            })
        })
        .collect();
    let mut v = serde_json::to_vec_pretty(&items).expect("requirements serialize");
    v.push(b'\n');
    v
}

fn verdict(r: &ValidationReport) -> &'static str {
    if r.passed {
        "PASSED: every requirement is PROVEN"
    } else {
        "FAILED: not every requirement is PROVEN"
    }
}

/// `report.md`.
pub fn markdown(r: &ValidationReport) -> String {
    let (p, f, n) = r.counts();
    let mut s = format!(
        "# fabsync validation — {}\n\nTarget `{}`, seed {}, scale `{}`, fabsync {}.\n\n**{p} proven, {f} failed, {n} not covered** of {} requirements.\n\n",
        verdict(r),
        r.target,
        r.seed,
        r.scale,
        r.fabsync_version,
        r.requirements.len()
    );
    let mut cat: Option<Category> = None;
    for q in &r.requirements {
        if cat != Some(q.category) {
            cat = Some(q.category);
            s.push_str(&format!(
                "\n## {}\n\n| id | requirement | status | proven by | evidence |\n|---|---|---|---|---|\n",
                q.category.title()
            ));
        }
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            q.id,
            q.title.replace('|', "\\|"),
            q.status.as_str(),
            match (&q.workflow, &q.step) {
                (Some(w), Some(st)) => format!("{w} / {st}"),
                _ => "—".into(),
            },
            q.evidence
                .iter()
                .map(|e| format!("[{e}]({e})"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    s.push_str(
        "\n## Workflows\n\n| workflow | user | goal | result | steps |\n|---|---|---|---|---|\n",
    );
    for w in &r.workflows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            w.id,
            w.user.title(),
            w.goal,
            if w.passed { "passed" } else { "FAILED" },
            w.steps.len()
        ));
    }
    for w in &r.workflows {
        s.push_str(&format!(
            "\n### {}\n\n{} ({})\n\n",
            w.id,
            w.goal,
            w.user.title()
        ));
        if let Some(f) = &w.failure {
            s.push_str(&format!("**Failed:** {f}\n\n"));
        }
        for (i, st) in w.steps.iter().enumerate() {
            s.push_str(&format!(
                "{}. {} **{}** — {}. Expected: {}. Observed: {}.{}{}\n",
                i + 1,
                if st.passed { "✔" } else { "✘" },
                st.name,
                st.action,
                st.expected,
                st.observed,
                if st.requirements.is_empty() {
                    String::new()
                } else {
                    format!(" Proves {}.", st.requirements.join(", "))
                },
                if st.evidence.is_empty() {
                    String::new()
                } else {
                    format!(" Evidence: {}.", st.evidence.join(", "))
                }
            ));
        }
        if !w.evidence.is_empty() {
            s.push_str(&format!("\nSnapshots: {}\n", w.evidence.join(", ")));
        }
    }
    s
}

/// `report.html` (with `screenshots`, paths relative to the bundle, when a browser ran).
pub fn html(r: &ValidationReport, screenshots: &[String]) -> String {
    let (p, f, n) = r.counts();
    let status_class = |s: ReqStatus| match s {
        ReqStatus::Proven => "proven",
        ReqStatus::Failed => "failed",
        ReqStatus::NotCovered => "uncovered",
    };
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "fabsync validation — " (verdict(r)) }
                style { (CSS) }
            }
            body {
                h1 { "fabsync validation" }
                p.verdict.(if r.passed { "proven" } else { "failed" }) { (verdict(r)) }
                p { "Target " code { (r.target) } ", seed " (r.seed) ", scale " code { (r.scale) } ", fabsync " (r.fabsync_version) ". "
                    strong { (p) " proven, " (f) " failed, " (n) " not covered" } " of " (r.requirements.len()) " requirements." }
                h2 { "Requirements" }
                table {
                    thead { tr { th { "id" } th { "requirement" } th { "status" } th { "proven by" } th { "evidence" } } }
                    tbody {
                        @for q in &r.requirements {
                            tr {
                                td { (q.id) }
                                td { (q.title) }
                                td.(status_class(q.status)) { (q.status.as_str()) }
                                td { @if let (Some(w), Some(s)) = (&q.workflow, &q.step) { a href=(format!("#{w}")) { (w) } " / " (s) } @else { "—" } }
                                td { @for e in &q.evidence { a href=(e) { (e) } " " } }
                            }
                        }
                    }
                }
                @if !screenshots.is_empty() {
                    h2 { "Browser" }
                    @for s in screenshots { figure { img src=(s) alt=(s) width="640"; figcaption { (s) } } }
                }
                h2 { "Workflows" }
                @for w in &r.workflows {
                    section id=(w.id) {
                        h3 { (w.id) " — " span.(if w.passed { "proven" } else { "failed" }) { @if w.passed { "passed" } @else { "FAILED" } } }
                        p { (w.goal) " (" (w.user.title()) ")" }
                        @if let Some(f) = &w.failure { p.failed { (f) } }
                        ol {
                            @for st in &w.steps {
                                li.(if st.passed { "proven" } else { "failed" }) {
                                    strong { (st.name) } ": " (st.action) ". "
                                    em { "Expected " } (st.expected) ". " em { "Observed " } (st.observed) "."
                                    @if !st.requirements.is_empty() { " Proves " (st.requirements.join(", ")) "." }
                                    @for e in &st.evidence { " " a href=(e) { (e) } }
                                }
                            }
                        }
                        @if !w.evidence.is_empty() { p { "Snapshots: " @for e in &w.evidence { a href=(e) { (e) } " " } } }
                    }
                }
            }
        }
    };
    page.into_string()
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:75rem}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem;text-align:left;vertical-align:top}.proven{color:#176f2c}.failed{color:#b00020;font-weight:bold}.uncovered{color:#8a5a00;font-weight:bold}.verdict{font-size:1.3rem;font-weight:bold}li{margin:.3rem 0}";

/// `junit.xml`: one test suite per workflow, one test case per step.
pub fn junit(r: &ValidationReport) -> Vec<u8> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("fabsync validate");
    for w in &r.workflows {
        let mut suite = TestSuite::new(w.id.clone());
        for st in &w.steps {
            let status = if st.passed {
                TestCaseStatus::success()
            } else {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!(
                    "expected {}; observed {}",
                    st.expected, st.observed
                ));
                s
            };
            let mut case = TestCase::new(st.name.clone(), status);
            case.set_classname(w.id.clone());
            case.set_time(std::time::Duration::from_millis(st.clock_ms));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    // Requirements nobody proved are failures too.
    let mut reqs = TestSuite::new("requirements");
    for q in &r.requirements {
        let status = if q.status == ReqStatus::Proven {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("{}: {}", q.id, q.status.as_str()));
            s
        };
        let mut case = TestCase::new(format!("{} {}", q.id, q.title), status);
        case.set_classname("requirements");
        reqs.add_test_case(case);
    }
    report.add_test_suite(reqs);
    report.to_string().expect("JUnit XML renders").into_bytes()
}

/// The terminal summary: one row per requirement category and the verdict.
pub fn summary_table(r: &ValidationReport) -> String {
    let mut rows = vec![[
        "CATEGORY".to_string(),
        "PROVEN".into(),
        "FAILED".into(),
        "NOT COVERED".into(),
    ]];
    let mut cats: Vec<Category> = REQUIREMENTS.iter().map(|q| q.category).collect();
    cats.dedup();
    for c in cats {
        let of = |s| {
            r.requirements
                .iter()
                .filter(|q| q.category == c && q.status == s)
                .count()
                .to_string()
        };
        rows.push([
            c.title().to_string(),
            of(ReqStatus::Proven),
            of(ReqStatus::Failed),
            of(ReqStatus::NotCovered),
        ]);
    }
    let mut s = crate::text::table(&rows);
    s.push_str(&format!("\n{}\n", verdict(r)));
    for q in r
        .requirements
        .iter()
        .filter(|q| q.status != ReqStatus::Proven)
    {
        s.push_str(&format!("  {} {}: {}\n", q.status.as_str(), q.id, q.title));
    }
    for w in r.workflows.iter().filter(|w| !w.passed) {
        s.push_str(&format!(
            "  workflow {}: {}\n",
            w.id,
            w.failure.clone().unwrap_or_default()
        ));
    }
    s
}

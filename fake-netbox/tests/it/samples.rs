//! Replays the exchanges recorded against a real NetBox 4.7.3
//! (`/work/shared/reference/netbox-samples/NN-*.txt`, recorded from a freshly reset database) on a
//! fresh fake, in order, and compares each answer: status, `Content-Type`, `Allow`, `Location`,
//! and the JSON body field for field (timestamps and uuids normalized; ids are compared as is
//! because both start from an empty database).

use serde_json::Value;

use crate::common::{self, Client, V1, V2, normalize};

/// One recorded exchange.
#[derive(Debug)]
struct Sample {
    file: String,
    method: String,
    path: String,
    auth: Option<Option<String>>,
    body: Option<String>,
    status: u16,
    headers: Vec<(String, String)>,
    response: Response,
}

#[derive(Debug)]
enum Response {
    Json(Value),
    Html(String),
    Empty,
}

fn parse(file: &str, text: &str) -> Sample {
    let mut lines = text.lines();
    let first = lines.next().expect("request line");
    let (method, path) = first.split_once(' ').expect("METHOD PATH");
    let mut auth = None;
    let mut body = None;
    let mut status = 0;
    let mut headers = Vec::new();
    let mut rest = Vec::new();
    let mut in_headers = false;
    while let Some(line) = lines.next() {
        if in_headers {
            if line.is_empty() {
                rest = lines.by_ref().map(String::from).collect();
                break;
            }
            let (k, v) = line.split_once(": ").expect("header");
            headers.push((k.to_string(), v.to_string()));
        } else if line == "(no Authorization header)" {
            auth = Some(None);
        } else if let Some(h) = line.strip_prefix("(header: Authorization: ") {
            auth = Some(Some(h.trim_end_matches(')').to_string()));
        } else if line == "request body:" {
            body = lines.next().map(String::from);
        } else if let Some(st) = line.strip_prefix("--> HTTP/1.1 ") {
            status = st[..3].parse().expect("status");
            in_headers = true;
        }
    }
    let rest = rest.join("\n");
    let response = if rest.trim().is_empty() {
        Response::Empty
    } else if let Some(t) = rest.trim().strip_prefix("(HTML page") {
        Response::Html(t.to_string())
    } else {
        Response::Json(serde_json::from_str(&rest).unwrap_or_else(|e| panic!("{file}: {e}")))
    };
    Sample {
        file: file.to_string(),
        method: method.to_string(),
        path: path.to_string(),
        auth,
        body,
        status,
        headers,
        response,
    }
}

/// Fields whose recorded value depends on the recording machine, not on NetBox's behaviour.
const MACHINE_SPECIFIC: &[&str] = &["hostname"];

fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !MACHINE_SPECIFIC.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
        other => other.clone(),
    }
}

fn first_difference(path: &str, want: &Value, got: &Value) -> Option<String> {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            if ka != kb {
                return Some(format!(
                    "{path}: keys differ\n  real: {ka:?}\n  fake: {kb:?}"
                ));
            }
            a.iter()
                .find_map(|(k, v)| first_difference(&format!("{path}.{k}"), v, &b[k]))
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!(
                    "{path}: {} items recorded, fake returned {}",
                    a.len(),
                    b.len()
                ));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| first_difference(&format!("{path}[{i}]"), x, y))
        }
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: real {a} fake {b}")),
    }
}

/// Samples that exercise endpoints this fake does not serve (documented in the README).
const NOT_SERVED: &[&str] = &["09-token-list.txt"];

#[tokio::test(start_paused = true)]
async fn recorded_real_netbox_exchanges_replay_identically() {
    let Some(reference) = common::reference("replaying recorded NetBox exchanges") else {
        return;
    };
    let dir = reference.join("netbox-samples");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("samples dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| {
            n.ends_with(".txt") && n.as_bytes()[0].is_ascii_digit() && !n.contains("openapi")
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 50,
        "expected the recorded samples, found {}",
        files.len()
    );
    // The recording filters on times of its own run (2026-11-25T19:59:48.738759Z); run the fake's
    // clock from just after that instant.
    let epoch: jiff::Timestamp = "2026-11-25T19:59:49Z".parse().expect("epoch");
    let start = tokio::time::Instant::now();
    let clock: fake_netbox::Clock = std::sync::Arc::new(move || {
        epoch
            .checked_add(jiff::SignedDuration::try_from(start.elapsed()).unwrap_or_default())
            .unwrap_or(epoch)
    });
    let nb = fake_netbox::FakeNetBox::builder()
        .token(V1)
        .token(V2)
        .clock(clock)
        .build()
        .expect("fake builds");
    let mut client = Client::new(&nb);
    client.host = "127.0.0.1:8000".into();
    let mut compared = 0;
    let mut failures = Vec::new();
    for file in &files {
        if NOT_SERVED.contains(&file.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(dir.join(file)).expect("sample");
        let s = parse(file, &text);
        let c = match &s.auth {
            Some(None) => client.with_auth(None),
            Some(Some(h)) => client.with_auth(Some(h)),
            None => client.with_auth(Some(&format!("Bearer {V2}"))),
        };
        let _ = V1;
        let resp = c.send(&s.method, &s.path, s.body.as_deref(), &[]).await;
        compared += 1;
        let mut problems = Vec::new();
        if resp.status != s.status {
            problems.push(format!(
                "status: real {} fake {} ({})",
                s.status, resp.status, resp.text
            ));
        }
        for (k, v) in &s.headers {
            let k_lower = k.to_ascii_lowercase();
            if matches!(
                k_lower.as_str(),
                "content-type" | "allow" | "location" | "api-version"
            ) {
                let got = resp.header(&k_lower).unwrap_or("<missing>");
                if got != v {
                    problems.push(format!("header {k}: real {v:?} fake {got:?}"));
                }
            }
            if k_lower == "x-request-id" && resp.header("x-request-id").is_none() {
                problems.push("header X-Request-ID missing".into());
            }
        }
        match &s.response {
            Response::Json(want) => {
                let want = strip(&normalize(want));
                let got = strip(&normalize(&resp.json));
                if let Some(d) = first_difference("$", &want, &got) {
                    problems.push(d);
                }
            }
            Response::Html(title) => {
                if !resp.text.contains("<title>Page Not Found | NetBox</title>") {
                    problems.push(format!("expected the HTML page {title}, got {}", resp.text));
                }
            }
            Response::Empty => {
                if !resp.text.is_empty() {
                    problems.push(format!("expected an empty body, got {}", resp.text));
                }
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {} {}\n    {}",
                s.file,
                s.method,
                s.path,
                problems.join("\n    ")
            ));
        }
    }
    println!("replayed {compared} recorded exchanges");
    assert!(
        failures.is_empty(),
        "{} of {compared} exchanges differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

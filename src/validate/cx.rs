//! A workflow's context: its systems, the steps it has recorded, its evidence files, and the two
//! ways a person drives fabsync — the browser's HTTP exchanges with the real web router (find the
//! `#sync-now-button` form on the fabric page, submit it with its CSRF token and session cookie,
//! follow the task) and the JSON API.
//!
//! With `--browser` the click is a real Chromium's: the fabric page is served on a loopback port,
//! the browser clicks `#sync-now-button`, and screenshots of the page and of the outcome go into
//! the bundle (`screenshots/`).
//!
//! Steps are recorded here with their expectation and observation; a failed check ends the
//! workflow, and a step the target cannot be given the conditions for is recorded as not
//! provable (its requirements stay NOT COVERED, with the reason). It holds no sync logic.

use super::stopwatch::Stopwatch;
use std::collections::BTreeMap;
use std::time::Duration;

use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::browser::{self, Browser, Served};
use super::error::{Context, ValidateError};
use super::model::{Files, StepReport};
use super::systems::Env;

/// A step's declaration.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Name.
    pub name: &'static str,
    /// The action.
    pub action: &'static str,
    /// The expected result.
    pub expected: &'static str,
    /// Requirements it proves.
    pub proves: &'static [&'static str],
}

/// A workflow stopped at a failed step (the failure as the report shows it).
#[derive(Debug, Clone)]
pub struct Stop(pub String);

impl From<ValidateError> for Stop {
    fn from(e: ValidateError) -> Self {
        Stop(e.to_string())
    }
}

/// One HTTP answer of the web layer.
#[derive(Debug, Clone)]
pub struct Page {
    /// Status.
    pub status: StatusCode,
    /// `Location` header.
    pub location: Option<String>,
    /// Body.
    pub body: String,
}

/// A workflow in progress.
pub struct Cx<'a> {
    /// The systems.
    pub env: &'a mut Env,
    /// Workflow id.
    pub id: String,
    /// Steps so far.
    pub steps: Vec<StepReport>,
    /// Evidence files written so far (whole bundle).
    pub files: &'a mut Files,
    /// Wall-clock durations (for timings.json only).
    pub timings: &'a mut Vec<(String, f64)>,
    /// Requirements a step could not prove on this target, with the reason.
    pub uncovered: Vec<(String, String)>,
    /// The browser's cookies.
    cookies: BTreeMap<String, String>,
    /// The page the real browser works on, while a click is followed.
    served: Option<Served>,
    /// The task the real browser's last click created.
    browser_task: Option<String>,
    shots: usize,
    step_started: jiff::Timestamp,
    wall: Stopwatch,
}

impl<'a> Cx<'a> {
    /// A context for workflow `id`.
    pub fn new(
        env: &'a mut Env,
        id: &str,
        files: &'a mut Files,
        timings: &'a mut Vec<(String, f64)>,
    ) -> Self {
        let now = env.clock.now();
        Cx {
            env,
            id: id.to_string(),
            steps: Vec::new(),
            files,
            timings,
            uncovered: Vec::new(),
            cookies: BTreeMap::new(),
            served: None,
            browser_task: None,
            shots: 0,
            step_started: now,
            wall: Stopwatch::start(),
        }
    }

    /// Writes an evidence file under this workflow's folder; returns its bundle path.
    pub fn evidence(&mut self, name: &str, content: impl Into<Vec<u8>>) -> String {
        let path = format!("workflows/{}/{name}", self.id);
        self.files.insert(path.clone(), content.into());
        path
    }

    /// Records a step. `passed == false` ends the workflow with the step, the expectation and
    /// the observation.
    pub fn check(
        &mut self,
        step: Step,
        passed: bool,
        observed: impl Into<String>,
        evidence: Vec<String>,
    ) -> Result<(), Stop> {
        let observed = observed.into();
        let now = self.env.clock.now();
        let clock_ms = now.duration_since(self.step_started).as_millis().max(0) as u64;
        self.step_started = now;
        self.timings
            .push((format!("{}/{}", self.id, step.name), self.wall.lap_ms()));
        self.steps.push(StepReport {
            name: step.name.to_string(),
            action: step.action.to_string(),
            expected: step.expected.to_string(),
            observed: observed.clone(),
            passed,
            requirements: step.proves.iter().map(|s| s.to_string()).collect(),
            evidence,
            clock_ms,
        });
        if passed {
            Ok(())
        } else {
            Err(Stop(format!(
                "step \"{}\" failed: expected {}; observed {}",
                step.name, step.expected, observed
            )))
        }
    }

    /// Records a step this target cannot be given the conditions for: not passed, proving
    /// nothing, and its requirements noted as not covered with `reason`. Ends the workflow.
    pub fn not_provable(&mut self, step: Step, reason: impl Into<String>) -> Stop {
        let reason = reason.into();
        for r in step.proves {
            self.uncovered.push((r.to_string(), reason.clone()));
        }
        self.steps.push(StepReport {
            name: step.name.to_string(),
            action: step.action.to_string(),
            expected: step.expected.to_string(),
            observed: format!("not provable on this target: {reason}"),
            passed: false,
            requirements: vec![],
            evidence: vec![],
            clock_ms: 0,
        });
        Stop(format!(
            "step \"{}\" is not provable on this target (it would prove {}): {reason}",
            step.name,
            step.proves.join(", ")
        ))
    }

    /// Waits (virtual time in the simulation).
    pub async fn wait(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }

    // ----- the browser --------------------------------------------------------------------

    /// One request to the web layer with the browser's cookies; stores the cookies it sets.
    pub async fn http(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Result<Page, ValidateError> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::ACCEPT, "text/html");
        if !self.cookies.is_empty() {
            let c = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.header(header::COOKIE, c);
        }
        let body = match form {
            Some(pairs) => {
                req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                let mut s = form_urlencoded::Serializer::new(String::new());
                for (k, v) in pairs {
                    s.append_pair(k, v);
                }
                axum::body::Body::from(s.finish())
            }
            None => axum::body::Body::empty(),
        };
        let req = req.body(body).map_err(ValidateError::http)?;
        let resp = self
            .env
            .web
            .clone()
            .oneshot(req)
            .await
            .map_err(ValidateError::http)
            .with_context(|| format!("{method} {path}"))?;
        for v in resp.headers().get_all(header::SET_COOKIE) {
            if let Ok(v) = v.to_str()
                && let Some((kv, _)) = v.split_once(';').or(Some((v, "")))
                && let Some((k, val)) = kv.split_once('=')
            {
                self.cookies
                    .insert(k.trim().to_string(), val.trim().to_string());
            }
        }
        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(ValidateError::http)?
            .to_bytes();
        Ok(Page {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// A JSON API call.
    pub async fn api(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), ValidateError> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::ACCEPT, "application/json");
        let b = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                axum::body::Body::from(serde_json::to_vec(v).expect("JSON serializes"))
            }
            None => axum::body::Body::empty(),
        };
        let resp = self
            .env
            .web
            .clone()
            .oneshot(req.body(b).map_err(ValidateError::http)?)
            .await
            .map_err(ValidateError::http)
            .with_context(|| format!("{method} {path}"))?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(ValidateError::http)?
            .to_bytes();
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, v))
    }

    /// Opens the fabric page, finds the Sync Now form and submits it exactly as a browser does
    /// (its action, method and hidden fields, the session cookie). Returns the task id and the
    /// page evidence.
    pub async fn click_sync_now(&mut self) -> Result<(String, Vec<String>), ValidateError> {
        if let Some(b) = self.env.browser.clone() {
            return self.click_in_browser(&b).await;
        }
        let fabric = self.env.fabric.clone();
        let page = self
            .http(Method::GET, &format!("/fabrics/{fabric}"), None)
            .await?;
        if page.status != StatusCode::OK {
            return Err(ValidateError::Unexpected {
                request: "the fabric page".into(),
                answer: page.status.to_string(),
            });
        }
        let form = find_sync_form(&page.body)?;
        let page_file = self.evidence("fabric-page.html", page.body.clone());
        let pairs: Vec<(&str, &str)> = form
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let resp = self
            .http(
                form.method.parse().unwrap_or(Method::POST),
                &form.action,
                Some(&pairs),
            )
            .await?;
        let task_page = match (resp.status, &resp.location) {
            (s, Some(loc)) if s.is_redirection() => loc.clone(),
            (s, _) => {
                return Err(ValidateError::Unexpected {
                    request: "submitting the Sync Now form".into(),
                    answer: format!(
                        "{s} without a redirect to its task: {}",
                        resp.body.chars().take(300).collect::<String>()
                    ),
                });
            }
        };
        // The task is named in the redirect: `…?task=<id>` or `/tasks/<id>`.
        let (path, query) = task_page.split_once('?').unwrap_or((&task_page, ""));
        let from_query = form_urlencoded::parse(query.split('#').next().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "task")
            .map(|(_, v)| v.into_owned());
        let task_id = match from_query {
            Some(id) => id,
            None => path
                .strip_prefix("/tasks/")
                .map(str::to_string)
                .ok_or_else(|| {
                    ValidateError::Missing(format!("the redirect {task_page} names no task"))
                })?,
        };
        Ok((task_id, vec![page_file]))
    }

    /// A screenshot of what the browser shows, saved in the bundle; returns its path.
    async fn shot(&mut self, b: &Browser, what: &str) -> Result<String, ValidateError> {
        let png = b.screenshot().await?;
        self.shots += 1;
        let path = browser::screenshot_name(self.shots, &self.id, what);
        self.files.insert(path.clone(), png);
        Ok(path)
    }

    /// Sync Now in the real browser: serve the web router on loopback, open the fabric page,
    /// click `#sync-now-button`, wait for the task view.
    async fn click_in_browser(
        &mut self,
        b: &Browser,
    ) -> Result<(String, Vec<String>), ValidateError> {
        let fabric = self.env.fabric.clone();
        let served = Served::start(self.env.web.clone()).await?;
        b.goto(&format!("{}/fabrics/{fabric}", served.base)).await?;
        let button = b.wait_for("#sync-now-button").await?;
        let page = self.shot(b, "fabric-page").await?;
        b.click(&button).await?;
        let task_id = b.wait_for_task_url().await?;
        let clicked = self.shot(b, "clicked").await?;
        self.served = Some(served);
        self.browser_task = Some(task_id.clone());
        Ok((task_id, vec![page, clicked]))
    }

    /// When the browser's task has ended: wait for the page's outcome message and keep a
    /// screenshot of it.
    async fn browser_outcome(&mut self, task_id: &str) -> Result<(), ValidateError> {
        if self.browser_task.as_deref() != Some(task_id) {
            return Ok(());
        }
        let (Some(b), Some(base)) = (
            self.env.browser.clone(),
            self.served.as_ref().map(|s| s.base.clone()),
        ) else {
            return Ok(());
        };
        // The page polls on its own; opening the task view again shows the final state for
        // sure (a retried task shows its earlier attempt's error until then).
        let fabric = self.env.fabric.clone();
        b.goto(&format!("{base}/fabrics/{fabric}?task={task_id}"))
            .await?;
        b.wait_for(".sync-success-message, .sync-error-message")
            .await?;
        self.shot(&b, "outcome").await?;
        self.browser_task = None;
        self.served = None;
        Ok(())
    }

    /// Follows a task like the page's polling does, until SUCCESS or FAILURE or `limit`.
    pub async fn follow_task(
        &mut self,
        task_id: &str,
        limit: Duration,
    ) -> Result<Value, ValidateError> {
        self.follow_task_until(task_id, limit, false).await
    }

    /// Follows a task until SUCCESS or FAILURE (or RETRY when `stop_at_retry`) or `limit`.
    pub async fn follow_task_until(
        &mut self,
        task_id: &str,
        limit: Duration,
        stop_at_retry: bool,
    ) -> Result<Value, ValidateError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let (status, v) = self
                .api(Method::GET, &format!("/api/tasks/{task_id}"), None)
                .await?;
            if status != StatusCode::OK {
                return Err(ValidateError::Unexpected {
                    request: format!("GET /api/tasks/{task_id}"),
                    answer: format!("{status}: {v}"),
                });
            }
            let state = v["state"].as_str().unwrap_or_default().to_string();
            if state == "SUCCESS" || state == "FAILURE" {
                self.browser_outcome(task_id).await?;
                return Ok(v);
            }
            if stop_at_retry && state == "RETRY" {
                return Ok(v);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ValidateError::Timeout(format!(
                    "task {task_id} still {state} after {} s",
                    limit.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// GET that follows redirects, as a browser does.
    pub async fn get_page(&mut self, path: &str) -> Result<Page, ValidateError> {
        let mut path = path.to_string();
        for _ in 0..5 {
            let page = self.http(Method::GET, &path, None).await?;
            match (&page.location, page.status.is_redirection()) {
                (Some(loc), true) => path = loc.split('#').next().unwrap_or(loc).to_string(),
                _ => return Ok(page),
            }
        }
        Err(ValidateError::Redirects { from: path })
    }

    /// The task page as the browser shows it when the task is done.
    pub async fn task_page(&mut self, task_id: &str) -> Result<Page, ValidateError> {
        self.get_page(&format!("/tasks/{task_id}")).await
    }
}

/// The Sync Now form found in a page.
#[derive(Debug, Clone)]
pub struct SyncForm {
    /// Form action.
    pub action: String,
    /// Form method.
    pub method: String,
    /// Hidden fields (the CSRF token among them).
    pub fields: Vec<(String, String)>,
}

/// Finds `#sync-now-button` and the form around it (as a browser resolves a submit button).
pub fn find_sync_form(html: &str) -> Result<SyncForm, ValidateError> {
    let doc = scraper::Html::parse_document(html);
    let button_sel = scraper::Selector::parse("#sync-now-button").expect("valid selector");
    let button = doc.select(&button_sel).next().ok_or_else(|| {
        ValidateError::Missing("the fabric page has no element #sync-now-button".into())
    })?;
    let form = button
        .ancestors()
        .filter_map(scraper::ElementRef::wrap)
        .find(|e| e.value().name() == "form")
        .ok_or_else(|| ValidateError::Missing("#sync-now-button is not inside a form".into()))?;
    let input_sel = scraper::Selector::parse("input[type=hidden]").expect("valid selector");
    let fields: Vec<(String, String)> = form
        .select(&input_sel)
        .filter_map(|i| {
            Some((
                i.value().attr("name")?.to_string(),
                i.value().attr("value").unwrap_or_default().to_string(),
            ))
        })
        .collect();
    if !fields.iter().any(|(k, _)| k == "csrf_token") {
        return Err(ValidateError::Missing(
            "the Sync Now form carries no csrf_token field".into(),
        ));
    }
    Ok(SyncForm {
        action: form.value().attr("action").unwrap_or_default().to_string(),
        method: form
            .value()
            .attr("method")
            .unwrap_or("get")
            .to_ascii_uppercase(),
        fields,
    })
}

/// The text of the first element matching a CSS selector.
pub fn text_of(html: &str, selector: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).ok()?;
    doc.select(&sel).next().map(|e| {
        e.text()
            .collect::<Vec<_>>()
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    })
}

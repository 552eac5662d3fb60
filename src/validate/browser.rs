//! `fabsync validate --browser`: a real Chromium, driven over W3C WebDriver by chromedriver,
//! clicks Sync Now on fabsync's own pages and leaves PNG screenshots.
//!
//! The validation's web router is served on a loopback port for the browser while a click is
//! in progress. This module speaks the handful of WebDriver commands a click needs (new session,
//! navigate, find element, click, current URL, screenshot, delete session) as JSON over HTTP to
//! chromedriver on loopback; it knows nothing about sync.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

use super::error::{Context, ValidateError};
use super::scratch::Scratch;

/// Longest wait for one browser step.
const STEP: Duration = Duration::from_secs(120);

/// The W3C key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where Chromium and chromedriver are.
#[derive(Debug, Clone)]
pub struct BrowserPaths {
    /// The Chromium executable.
    pub chromium: PathBuf,
    /// The chromedriver executable.
    pub chromedriver: PathBuf,
}

impl BrowserPaths {
    /// Finds `chromium` and `chromedriver` on PATH.
    pub fn from_path() -> Result<Self, ValidateError> {
        let find = |name: &str| {
            std::env::var_os("PATH").and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        };
        match (find("chromium"), find("chromedriver")) {
            (Some(chromium), Some(chromedriver)) => Ok(Self {
                chromium,
                chromedriver,
            }),
            (c, d) => Err(ValidateError::Setup(format!(
                "--browser needs {} on PATH (Debian: apt-get install chromium chromium-driver)",
                [("chromium", c.is_none()), ("chromedriver", d.is_none())]
                    .iter()
                    .filter(|(_, m)| *m)
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))),
        }
    }
}

struct Inner {
    driver: tokio::sync::Mutex<Option<tokio::process::Child>>,
    base: String,
    session: String,
    http: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
    profile: Scratch,
}

/// One headless Chromium session (cheap to clone).
#[derive(Clone)]
pub struct Browser {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("driver", &self.inner.base)
            .finish()
    }
}

async fn request(
    http: &hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
    method: http::Method,
    url: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), ValidateError> {
    let bytes = body
        .map(|b| serde_json::to_vec(b).expect("JSON serializes"))
        .unwrap_or_default();
    let req = http::Request::builder()
        .method(method.clone())
        .uri(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(bytes)))
        .map_err(ValidateError::http)?;
    let resp = tokio::time::timeout(STEP, http.request(req))
        .await
        .map_err(|_| {
            ValidateError::Timeout(format!(
                "WebDriver {method} {url}: no answer within {STEP:?}"
            ))
        })?
        .map_err(ValidateError::http)
        .with_context(|| format!("WebDriver {method} {url}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(ValidateError::http)?
        .to_bytes();
    let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok((status, v))
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session.
    pub async fn start(paths: &BrowserPaths) -> Result<Self, ValidateError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .context("finding a port for chromedriver")?;
        let child = tokio::process::Command::new(&paths.chromedriver)
            .arg(format!("--port={port}"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", paths.chromedriver.display()))?;
        let base = format!("http://127.0.0.1:{port}");
        let http =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<Bytes>>();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, v)) =
                request(&http, http::Method::GET, &format!("{base}/status"), None).await
                && v["value"]["ready"] == true
            {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ValidateError::Timeout(format!(
                    "chromedriver did not answer on {base} within 30 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = Scratch::new("fabsync-validate-chromium")?;
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": paths.chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1100",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let (status, v) = request(
            &http,
            http::Method::POST,
            &format!("{base}/session"),
            Some(&caps),
        )
        .await?;
        let session = v["value"]["sessionId"]
            .as_str()
            .filter(|_| status == 200)
            .ok_or_else(|| {
                ValidateError::Browser(format!("chromedriver refused a session ({status}): {v}"))
            })?
            .to_string();
        Ok(Self {
            inner: Arc::new(Inner {
                driver: tokio::sync::Mutex::new(Some(child)),
                base,
                session,
                http,
                profile,
            }),
        })
    }

    async fn cmd(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ValidateError> {
        let url = format!("{}/session/{}{path}", self.inner.base, self.inner.session);
        let (status, v) = request(&self.inner.http, method.clone(), &url, body.as_ref()).await?;
        if status == 200 {
            Ok(v["value"].clone())
        } else {
            Err(ValidateError::Browser(format!(
                "WebDriver {method} {path}: {} ({})",
                v["value"]["error"].as_str().unwrap_or("error"),
                v["value"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default()
            )))
        }
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) -> Result<(), ValidateError> {
        self.cmd(http::Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(|_| ())
    }

    /// The page's URL.
    pub async fn current_url(&self) -> Result<String, ValidateError> {
        self.cmd(http::Method::GET, "/url", None)
            .await
            .map(|v| v.as_str().unwrap_or_default().to_string())
    }

    async fn find(&self, css: &str) -> Result<Option<String>, ValidateError> {
        let url = format!("{}/session/{}/element", self.inner.base, self.inner.session);
        let (status, v) = request(
            &self.inner.http,
            http::Method::POST,
            &url,
            Some(&json!({"using": "css selector", "value": css})),
        )
        .await?;
        match status {
            200 => Ok(v["value"][ELEMENT_KEY].as_str().map(str::to_string)),
            404 => Ok(None),
            s => Err(ValidateError::Browser(format!(
                "WebDriver find {css}: HTTP {s}: {v}"
            ))),
        }
    }

    /// Waits (bounded) until an element matching `css` exists; returns its reference.
    pub async fn wait_for(&self, css: &str) -> Result<String, ValidateError> {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            if let Some(e) = self.find(css).await? {
                return Ok(e);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ValidateError::Timeout(format!(
                    "{css} did not appear within {STEP:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks an element.
    pub async fn click(&self, element: &str) -> Result<(), ValidateError> {
        self.cmd(
            http::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await
        .map(|_| ())
    }

    /// An element's visible text.
    pub async fn text(&self, element: &str) -> Result<String, ValidateError> {
        self.cmd(http::Method::GET, &format!("/element/{element}/text"), None)
            .await
            .map(|v| v.as_str().unwrap_or_default().to_string())
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Result<Vec<u8>, ValidateError> {
        use base64::Engine as _;
        let v = self.cmd(http::Method::GET, "/screenshot", None).await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .context("screenshot is not base64")?;
        if !png.starts_with(b"\x89PNG") {
            return Err(ValidateError::Browser("the screenshot is not a PNG".into()));
        }
        Ok(png)
    }

    /// Waits (bounded) until the page's URL carries `?task=ID`; returns the id.
    pub async fn wait_for_task_url(&self) -> Result<String, ValidateError> {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let url = self.current_url().await?;
            let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
            if let Some((_, id)) =
                form_urlencoded::parse(query.split('#').next().unwrap_or("").as_bytes())
                    .find(|(k, _)| k == "task")
            {
                return Ok(id.into_owned());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ValidateError::Timeout(format!(
                    "Sync Now did not lead to the task view within {STEP:?}: {url}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Ends the session and stops chromedriver.
    pub async fn close(&self) {
        let _ = self.cmd(http::Method::DELETE, "", None).await;
        if let Some(mut child) = self.inner.driver.lock().await.take() {
            let _ = child.kill().await;
        }
        let _ = self.inner.profile.path();
    }
}

/// fabsync's web router on a loopback port for the browser, stopped when dropped.
#[derive(Debug)]
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    /// Serves `router` on a free loopback port.
    pub async fn start(router: axum::Router) -> Result<Self, ValidateError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a loopback port for the browser")?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self {
            base: format!("http://{addr}"),
            task,
        })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A file name for a screenshot: `screenshots/<workflow>-NN-<what>.png`.
pub fn screenshot_name(n: usize, workflow: &str, what: &str) -> String {
    format!("screenshots/{workflow}-{n:02}-{what}.png")
}

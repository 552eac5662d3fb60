//! `NetboxClient`: authenticated JSON requests to NetBox's REST API over an [`HttpService`],
//! pagination (limit 1000, following `next`), bounded concurrency and typed errors.
//!
//! It knows URLs, headers, status codes and JSON bodies; it does not know what a fabric is
//! (that is `reader.rs`) and never logs or returns the token.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::error::NetboxError;
use super::token::Token;
use super::transport::{BoxBody, BoxError, HttpService, full_body};

/// Page size used for every list (NetBox's `MAX_PAGE_SIZE`).
pub const PAGE_SIZE: usize = 1000;
/// Default number of requests in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Upper bound on pages followed for one list (a guard against a `next` loop).
const MAX_PAGES: usize = 100_000;

/// A NetBox REST client.
#[derive(Clone)]
pub struct NetboxClient {
    svc: HttpService,
    scheme: String,
    authority: String,
    prefix: String,
    token: Token,
    permits: Arc<Semaphore>,
    concurrency: usize,
    user_agent: String,
}

impl std::fmt::Debug for NetboxClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetboxClient")
            .field("base_url", &self.base_url())
            .field("token", &self.token)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

/// Encodes a query string from ordered pairs (repeated keys allowed: NetBox ORs them).
pub fn encode_query(pairs: &[(&str, String)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

impl NetboxClient {
    /// A client for the NetBox at `base_url` (`https://netbox.example.com`, optionally with a
    /// path prefix) reached through `svc`.
    pub fn new(
        svc: HttpService,
        base_url: &str,
        token: Token,
    ) -> Result<NetboxClient, NetboxError> {
        let config = |reason: &str| NetboxError::Config {
            what: "NetBox URL".into(),
            reason: reason.to_string(),
        };
        let uri: Uri = base_url
            .trim()
            .parse()
            .map_err(|e: http::uri::InvalidUri| {
                config(&format!("{base_url:?} is not a URL: {e}"))
            })?;
        let scheme = uri
            .scheme_str()
            .ok_or_else(|| config(&format!("{base_url:?} has no scheme (http:// or https://)")))?
            .to_string();
        if scheme != "http" && scheme != "https" {
            return Err(config(&format!(
                "{base_url:?}: scheme must be http or https"
            )));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| config(&format!("{base_url:?} has no host")))?
            .to_string();
        let mut prefix = uri.path().trim_end_matches('/').to_string();
        if prefix.ends_with("/api") {
            prefix.truncate(prefix.len() - 4);
        }
        if token.is_empty() {
            return Err(NetboxError::Config {
                what: "NetBox token".into(),
                reason: "the token is empty".into(),
            });
        }
        if token.header_value().is_none() {
            return Err(NetboxError::Config {
                what: "NetBox token".into(),
                reason: "the token contains characters an HTTP header cannot carry".into(),
            });
        }
        Ok(NetboxClient {
            svc,
            scheme,
            authority,
            prefix,
            token,
            permits: Arc::new(Semaphore::new(DEFAULT_CONCURRENCY)),
            concurrency: DEFAULT_CONCURRENCY,
            user_agent: format!("fabsync/{}", env!("CARGO_PKG_VERSION")),
        })
    }

    /// Sets how many requests may be in flight at once (at least 1).
    pub fn with_concurrency(mut self, n: usize) -> NetboxClient {
        let n = n.max(1);
        self.concurrency = n;
        self.permits = Arc::new(Semaphore::new(n));
        self
    }

    /// The base URL (`scheme://host[:port][/prefix]`).
    pub fn base_url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.prefix)
    }

    /// `/api/<path>/` under the base prefix (`path` like `dcim/devices` or `dcim/devices/12`).
    pub fn api_path(&self, path: &str) -> String {
        format!("{}/api/{}/", self.prefix, path.trim_matches('/'))
    }

    /// Sends a request to an absolute path (`/api/dcim/devices/?limit=1000`) and returns the
    /// decoded JSON body (`Value::Null` for 204), or the typed error for the status. Reads
    /// (GET) that fail transiently — 429, 500, 502, 503, 504, a dropped connection — are sent
    /// again, up to [`READ_RETRIES`] times, after the `Retry-After` NetBox asked for (at most
    /// [`MAX_RETRY_WAIT`]) or 1, 2, 4, 8 s. Writes are sent once.
    ///
    /// The returned future is `Send` (the client is `Sync`), so it may be awaited in spawned tasks.
    pub async fn request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Value, NetboxError> {
        let (endpoint, status, bytes) = self.request_raw(method, path_and_query, body).await?;
        parse_body(&endpoint, status, &bytes)
    }

    /// Sends a request (reads are tried again on a transient failure, idempotent writes once on
    /// a connection dropped before the answer) and returns the endpoint it names, the status and
    /// the body of a successful answer; a failed one is an error.
    async fn request_raw(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<(String, StatusCode, Bytes), NetboxError> {
        let mut attempt = 0;
        loop {
            let result = self
                .request_once(method.clone(), path_and_query, body)
                .await;
            let wait = match &result {
                Err(e) if method == Method::GET && attempt < READ_RETRIES => retry_wait(e, attempt),
                // A connection the server closed or reset before answering (a keep-alive
                // connection it had just timed out): an idempotent write is sent again, once.
                // fabsync's PATCHes set values, never increment them. POST is never resent.
                Err(NetboxError::Unreachable { reason, .. })
                    if attempt == 0
                        && matches!(method, Method::PUT | Method::PATCH | Method::DELETE)
                        && connection_dropped(reason) =>
                {
                    Some(Duration::ZERO)
                }
                _ => None,
            };
            let Some(wait) = wait else { return result };
            attempt += 1;
            tracing::warn!(
                error = %result.as_ref().err().map(ToString::to_string).unwrap_or_default(),
                wait_ms = wait.as_millis() as u64,
                attempt,
                "NetBox request failed; trying again"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends one request, once.
    async fn request_once(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<(String, StatusCode, Bytes), NetboxError> {
        let path_only = path_and_query.split('?').next().unwrap_or(path_and_query);
        let endpoint = format!("{method} {path_only}");
        let uri = format!("{}://{}{}", self.scheme, self.authority, path_and_query);
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(&uri)
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::USER_AGENT, &self.user_agent);
        if let Some(auth) = self.token.header_value() {
            builder = builder.header(http::header::AUTHORIZATION, auth);
        }
        let payload = match body {
            Some(v) => {
                builder = builder.header(http::header::CONTENT_TYPE, "application/json");
                Bytes::from(serde_json::to_vec(v).map_err(|e| NetboxError::Decode {
                    endpoint: endpoint.clone(),
                    reason: format!("request body: {e}"),
                })?)
            }
            None => Bytes::new(),
        };
        let req = builder
            .body(full_body(payload))
            .map_err(|e| NetboxError::Config {
                what: endpoint.clone(),
                reason: e.to_string(),
            })?;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| NetboxError::Unreachable {
                endpoint: endpoint.clone(),
                reason: "client shut down".into(),
            })?;
        tracing::debug!(%endpoint, "netbox request");
        let resp = send(self.svc.clone(), req)
            .await
            .map_err(|e| NetboxError::Unreachable {
                endpoint: endpoint.clone(),
                reason: error_chain(e.as_ref()),
            })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| NetboxError::Unreachable {
                endpoint: endpoint.clone(),
                reason: format!(
                    "connection lost while reading the answer: {}",
                    error_chain(e.as_ref())
                ),
            })?
            .to_bytes();
        check_status(&endpoint, status, &headers, &bytes)?;
        Ok((endpoint, status, bytes))
    }

    /// GET an absolute API path (`dcim/devices/12`).
    pub async fn get(&self, path: &str) -> Result<Value, NetboxError> {
        self.request(Method::GET, &self.api_path(path), None).await
    }

    /// `GET /api/status/`.
    pub async fn status(&self) -> Result<Value, NetboxError> {
        self.get("status").await
    }

    /// Lists every object of an endpoint (`dcim/devices`) matching `query`, following `next`
    /// until the last page. Results keep NetBox's order.
    pub async fn list_values(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<Value>, NetboxError> {
        self.list(path, query).await
    }

    /// Lists and decodes every object of an endpoint. Each page is decoded straight into `T`
    /// (a NetBox object has many more fields than fabsync reads); only a page that does not
    /// decode is read again as JSON, to say which object and field are wrong.
    pub async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<T>, NetboxError> {
        #[derive(serde::Deserialize)]
        struct Page<T> {
            results: Vec<T>,
            #[serde(default)]
            next: Option<String>,
        }
        let mut pairs: Vec<(&str, String)> = query.to_vec();
        pairs.push(("limit", PAGE_SIZE.to_string()));
        let mut next = Some(format!("{}?{}", self.api_path(path), encode_query(&pairs)));
        let mut out = Vec::new();
        let mut pages = 0usize;
        let list_endpoint = format!("GET {}", self.api_path(path));
        while let Some(pq) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(NetboxError::Decode {
                    endpoint: list_endpoint,
                    reason: format!("pagination did not end after {MAX_PAGES} pages"),
                });
            }
            let (endpoint, status, bytes) = self.request_raw(Method::GET, &pq, None).await?;
            let page: Page<T> = match serde_json::from_slice(&bytes) {
                Ok(page) => page,
                Err(_) => return Err(page_error::<T>(&endpoint, &list_endpoint, status, &bytes)),
            };
            let empty = page.results.is_empty();
            out.extend(page.results);
            next = match page.next {
                Some(url) if !empty => {
                    let pq_next = next_path(&url).ok_or_else(|| NetboxError::Decode {
                        endpoint: list_endpoint.clone(),
                        reason: format!("\"next\" is not a URL: {url:?}"),
                    })?;
                    if pq_next == pq {
                        return Err(NetboxError::Decode {
                            endpoint: list_endpoint,
                            reason: "\"next\" points at the same page".into(),
                        });
                    }
                    Some(pq_next)
                }
                _ => None,
            };
        }
        Ok(out)
    }

    /// Lists with one filter repeated for many values, in chunks of `chunk` values per request
    /// (NetBox ORs repeated filters). Empty `values` makes no request.
    pub async fn list_chunked<T: DeserializeOwned>(
        &self,
        path: &str,
        base_query: &[(&str, String)],
        key: &str,
        values: &[u64],
        chunk: usize,
    ) -> Result<Vec<T>, NetboxError> {
        let mut out = Vec::new();
        for part in values.chunks(chunk.max(1)) {
            let mut q = base_query.to_vec();
            q.extend(part.iter().map(|v| (key, v.to_string())));
            out.extend(self.list::<T>(path, &q).await?);
        }
        Ok(out)
    }

    /// `POST /api/<path>/` with one object; returns the created object.
    pub async fn create<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<T, NetboxError> {
        let p = self.api_path(path);
        let v = self.request(Method::POST, &p, Some(body)).await?;
        decode(&format!("POST {p}"), v)
    }

    /// `POST /api/<path>/` with a list (atomic bulk create); returns the created objects.
    pub async fn create_bulk<T: DeserializeOwned>(
        &self,
        path: &str,
        bodies: &[Value],
    ) -> Result<Vec<T>, NetboxError> {
        if bodies.is_empty() {
            return Ok(Vec::new());
        }
        let p = self.api_path(path);
        let v = self
            .request(Method::POST, &p, Some(&Value::Array(bodies.to_vec())))
            .await?;
        decode(&format!("POST {p}"), v)
    }

    /// `PATCH /api/<path>/<id>/` with the changed fields; returns the updated object.
    pub async fn patch(&self, path: &str, id: u64, body: &Value) -> Result<Value, NetboxError> {
        let p = self.api_path(&format!("{}/{id}", path.trim_matches('/')));
        self.request(Method::PATCH, &p, Some(body)).await
    }

    /// `PATCH /api/<path>/` with a list of `{"id": …, <fields>}` (NetBox's bulk update, one
    /// transaction); returns the updated objects.
    pub async fn patch_bulk(
        &self,
        path: &str,
        bodies: &[Value],
    ) -> Result<Vec<Value>, NetboxError> {
        if bodies.is_empty() {
            return Ok(Vec::new());
        }
        let p = self.api_path(path);
        let v = self
            .request(Method::PATCH, &p, Some(&Value::Array(bodies.to_vec())))
            .await?;
        decode(&format!("PATCH {p}"), v)
    }

    /// `DELETE /api/<path>/<id>/`.
    pub async fn delete(&self, path: &str, id: u64) -> Result<(), NetboxError> {
        let p = self.api_path(&format!("{}/{id}", path.trim_matches('/')));
        self.request(Method::DELETE, &p, None).await.map(|_| ())
    }
}

/// Why a list page did not decode: not JSON, no `results` array, or the first object that is
/// not a `T` (by its id).
fn page_error<T: DeserializeOwned>(
    endpoint: &str,
    list_endpoint: &str,
    status: StatusCode,
    bytes: &[u8],
) -> NetboxError {
    let mut page = match parse_body(endpoint, status, bytes) {
        Ok(page) => page,
        Err(e) => return e,
    };
    let results = match page.get_mut("results") {
        Some(Value::Array(a)) => std::mem::take(a),
        _ => {
            return NetboxError::Decode {
                endpoint: list_endpoint.to_string(),
                reason: "list answer has no \"results\" array".into(),
            };
        }
    };
    for v in results {
        if let Err(e) = decode::<T>(list_endpoint, v) {
            return e;
        }
    }
    let reason = match page.get("next") {
        Some(Value::String(_) | Value::Null) | None => "the list page does not decode".into(),
        Some(other) => format!("\"next\" is neither a URL nor null: {other}"),
    };
    NetboxError::Decode {
        endpoint: list_endpoint.to_string(),
        reason,
    }
}

fn decode<T: DeserializeOwned>(endpoint: &str, v: Value) -> Result<T, NetboxError> {
    let id = v.get("id").cloned();
    serde_json::from_value(v).map_err(|e| NetboxError::Decode {
        endpoint: endpoint.to_string(),
        reason: match id {
            Some(id) => format!("object id {id}: {e}"),
            None => e.to_string(),
        },
    })
}

/// The path and query of a `next` link (absolute URL built from the request's Host).
fn next_path(url: &str) -> Option<String> {
    let uri: Uri = url.parse().ok()?;
    uri.path_and_query().map(|pq| pq.as_str().to_string())
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !parts.last().is_some_and(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        cur = s.source();
    }
    parts.join(": ")
}

fn detail_of(bytes: &[u8]) -> String {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => match m.get("detail") {
            Some(Value::String(s)) => s.clone(),
            _ => Value::Object(m).to_string(),
        },
        Ok(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(" "),
        Ok(other) => other.to_string(),
        Err(_) if bytes.is_empty() => "empty answer".into(),
        Err(_) => {
            let text = String::from_utf8_lossy(bytes);
            if text.contains("<html") || text.contains("<!DOCTYPE") {
                "non-JSON (HTML) answer".into()
            } else {
                text.chars().take(200).collect()
            }
        }
    }
}

fn field_errors(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<String>> {
    use std::collections::BTreeMap;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let msgs = |v: &Value| -> Vec<String> {
        match v {
            Value::Array(a) => a
                .iter()
                .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_string))
                .collect(),
            Value::String(s) => vec![s.clone()],
            other => vec![other.to_string()],
        }
    };
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => {
            if let Some(Value::Array(errors)) = m.get("errors") {
                for e in errors {
                    let at = e
                        .get("index")
                        .map(|i| format!("[{i}]"))
                        .or_else(|| e.get("id").map(|i| format!("[id {i}]")))
                        .unwrap_or_default();
                    if let Some(Value::Object(fields)) = e.get("errors") {
                        for (f, v) in fields {
                            out.entry(format!("{at}.{f}")).or_default().extend(msgs(v));
                        }
                    }
                }
                if let Some(Value::String(d)) = m.get("detail") {
                    out.entry("detail".into()).or_default().push(d.clone());
                }
            } else {
                for (f, v) in &m {
                    out.entry(f.clone()).or_default().extend(msgs(v));
                }
            }
        }
        Ok(v @ Value::Array(_)) => {
            out.insert("detail".into(), msgs(&v));
        }
        _ => {
            out.insert("detail".into(), vec![detail_of(bytes)]);
        }
    }
    out
}

/// How many times a read that failed transiently is sent again.
pub const READ_RETRIES: u32 = 4;
/// The longest `Retry-After` honoured; a longer one ends the retries.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// How long to wait before sending a read again after `e`, or `None` when retrying cannot help.
/// Does a transport error say the connection went away before an answer came?
fn connection_dropped(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    [
        "connection reset",
        "closed before message completed",
        "broken pipe",
        "connection closed",
    ]
    .iter()
    .any(|s| r.contains(s))
}

fn retry_wait(e: &NetboxError, attempt: u32) -> Option<Duration> {
    let backoff = Duration::from_secs(1 << attempt.min(3));
    match e {
        NetboxError::Server {
            status: 429 | 500 | 502 | 503 | 504,
            retry_after,
            ..
        } => match retry_after {
            Some(d) if *d > MAX_RETRY_WAIT => None,
            Some(d) => Some(*d),
            None => Some(backoff),
        },
        // A dropped or reset connection may work again; one refused (NetBox down) or a name
        // that does not resolve will not within a run.
        NetboxError::Unreachable { reason, .. }
            if !reason.contains("refused") && !reason.contains("dns error") =>
        {
            Some(backoff)
        }
        _ => None,
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The body of a successful answer as JSON (`null` when there is none).
fn parse_body(endpoint: &str, status: StatusCode, bytes: &[u8]) -> Result<Value, NetboxError> {
    if bytes.is_empty() || status == StatusCode::NO_CONTENT {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|e| NetboxError::Decode {
        endpoint: endpoint.to_string(),
        reason: format!("HTTP {} with a body that is not JSON: {e}", status.as_u16()),
    })
}

/// An unsuccessful answer as the error it says.
fn check_status(
    endpoint: &str,
    status: StatusCode,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<(), NetboxError> {
    let endpoint = endpoint.to_string();
    if status.is_success() {
        return Ok(());
    }
    match status.as_u16() {
        401 | 403 => Err(NetboxError::Unauthorized {
            endpoint,
            detail: detail_of(bytes),
        }),
        404 => Err(NetboxError::NotFound {
            endpoint,
            detail: detail_of(bytes),
        }),
        400 => Err(NetboxError::Invalid {
            endpoint,
            errors: field_errors(bytes),
        }),
        429 | 500..=599 => Err(NetboxError::Server {
            endpoint,
            status: status.as_u16(),
            retry_after: retry_after(headers),
            detail: detail_of(bytes),
        }),
        other => Err(NetboxError::Unexpected {
            endpoint,
            status: other,
            detail: detail_of(bytes),
        }),
    }
}

/// Sends one request; a named, non-generic boundary so the future's `Send` bound is checked with
/// concrete lifetimes (rustc cannot prove it through `oneshot` inside a larger async fn).
fn send(
    svc: HttpService,
    req: Request<BoxBody>,
) -> std::pin::Pin<Box<dyn Future<Output = Result<http::Response<BoxBody>, BoxError>> + Send>> {
    Box::pin(svc.oneshot(req))
}

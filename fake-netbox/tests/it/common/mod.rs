//! Helpers shared by the integration tests: an in-process HTTP client over `client_service()`,
//! JSON normalization for comparisons, and access to the read-only reference data.

#![allow(dead_code)]

use std::path::PathBuf;

use fake_netbox::FakeNetBox;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const V1: &str = "0123456789abcdef0123456789abcdef01234567";
pub const V2: &str = "nbt_realnetbox01.abcdefghijklmnopqrstuvwxyz0123456789ABCD";
pub const RO: &str = "nbt_readonly0001.abcdefghijklmnopqrstuvwxyz0123456789ABCD";
pub const ADMIN: &str = "adminadminadminadminadminadminadminadmin";
pub const HOST: &str = "netbox.sim";

/// A response as the tests see it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn results(&self) -> &Vec<Value> {
        self.json["results"].as_array().expect("a list response")
    }

    pub fn names(&self) -> Vec<String> {
        self.results()
            .iter()
            .map(|r| r["display"].as_str().unwrap_or("").to_string())
            .collect()
    }

    pub fn keys(&self) -> Vec<String> {
        keys(&self.json)
    }
}

pub fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// An in-process client speaking HTTP to a fake through `client_service()`.
#[derive(Clone)]
pub struct Client {
    pub nb: FakeNetBox,
    pub auth: Option<String>,
    pub host: String,
}

impl Client {
    pub fn new(nb: &FakeNetBox) -> Client {
        Client {
            nb: nb.clone(),
            auth: Some(format!("Token {V1}")),
            host: HOST.into(),
        }
    }

    pub fn with_auth(&self, auth: Option<&str>) -> Client {
        Client {
            auth: auth.map(String::from),
            ..self.clone()
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("accept", "application/json");
        if let Some(a) = &self.auth {
            req = req.header("authorization", a);
        }
        if body.is_some()
            && !extra
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let req = req
            .body(axum::body::Body::from(body.unwrap_or("").to_string()))
            .expect("request");
        let resp = self
            .nb
            .client_service()
            .oneshot(req)
            .await
            .expect("transport");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send("POST", path, Some(&body.to_string()), &[]).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send("PATCH", path, Some(&body.to_string()), &[]).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send("PUT", path, Some(&body.to_string()), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, None, &[]).await
    }

    pub async fn delete_body(&self, path: &str, body: Value) -> Resp {
        self.send("DELETE", path, Some(&body.to_string()), &[])
            .await
    }

    /// POSTs and returns the new id, panicking with the body on failure.
    pub async fn create(&self, path: &str, body: Value) -> u64 {
        let r = self.post(path, body).await;
        assert_eq!(r.status, 201, "POST {path}: {}", r.text);
        r.json["id"].as_u64().expect("id")
    }
}

/// A fake with the tokens every test uses.
pub fn fake(fixture: fake_netbox::Fixture) -> FakeNetBox {
    FakeNetBox::builder()
        .token(V1)
        .token(V2)
        .read_only_token(RO)
        .admin_token(ADMIN)
        .seed(42)
        .fixture(fixture)
        .build()
        .expect("fake builds")
}

/// Replaces volatile values (timestamps, uuids, hosts) so two servers' answers compare.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::String(s) => Value::String(normalize_str(s)),
        other => other.clone(),
    }
}

pub fn normalize_str(s: &str) -> String {
    let ts = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)").expect("re");
    let uuid = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
        .expect("re");
    let minute = regex::Regex::new(r"\d{4}-\d\d-\d\d \d\d:\d\d").expect("re");
    let s = ts.replace_all(s, "<ts>");
    let s = uuid.replace_all(&s, "<uuid>");
    minute.replace_all(&s, "<minute>").to_string()
}

/// The read-only reference directory, or `None` (with one line saying what is skipped) when it is
/// absent. Under `CI=true` its absence fails the test.
pub fn reference(what: &str) -> Option<PathBuf> {
    let dir = PathBuf::from("/work/shared/reference");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "reference data {} is missing (required under CI=true)",
            dir.display()
        );
    }
    println!(
        "skipped {what}: reference data {} not present",
        dir.display()
    );
    None
}

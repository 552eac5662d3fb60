//! The contract suite: one scenario of shapes and behaviours (field sets, status codes, error
//! bodies, pagination links, filter results, change records) that must hold for the fake and for a
//! real NetBox 4.7 alike. It runs against the fake (served on a loopback port) by default, and
//! against a real NetBox when `NETBOX_URL` and `NETBOX_TOKEN` are set; it says which it ran.
//! On a real NetBox it creates everything it needs under names unique to the run and deletes it
//! all at the end. It never compares ids or timestamps.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

struct Api {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    auth: String,
}

struct Resp {
    status: u16,
    headers: http::HeaderMap,
    json: Value,
    text: String,
}

impl Resp {
    fn header(&self, n: &str) -> Option<&str> {
        self.headers.get(n).and_then(|v| v.to_str().ok())
    }
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

impl Api {
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        auth: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("accept", "application/json");
        match auth {
            Some(a) => req = req.header("authorization", a),
            None if extra.iter().any(|(k, _)| *k == "no-auth") => {}
            None => req = req.header("authorization", &self.auth),
        }
        let payload = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Bytes::from(b.to_string())
            }
            None => Bytes::new(),
        };
        for (k, v) in extra.iter().filter(|(k, _)| *k != "no-auth") {
            req = req.header(*k, *v);
        }
        let resp = tokio::time::timeout(
            Duration::from_secs(120),
            self.client.request(req.body(Full::new(payload)).unwrap()),
        )
        .await
        .unwrap_or_else(|_| panic!("{method} {url}: no answer within 120 s"))
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        Resp {
            status,
            headers,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
        }
    }

    async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None, None, &[]).await
    }

    async fn post(&self, path: &str, body: Value) -> Resp {
        self.send("POST", path, Some(body), None, &[]).await
    }

    async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send("PATCH", path, Some(body), None, &[]).await
    }

    async fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, None, None, &[]).await
    }

    async fn create(&self, path: &str, body: Value) -> Value {
        let r = self.post(path, body).await;
        assert_eq!(r.status, 201, "POST {path}: {}", r.text);
        r.json
    }
}

const SITE_KEYS: &[&str] = &[
    "id",
    "url",
    "display_url",
    "display",
    "name",
    "slug",
    "status",
    "region",
    "group",
    "tenant",
    "facility",
    "time_zone",
    "description",
    "physical_address",
    "shipping_address",
    "latitude",
    "longitude",
    "owner",
    "comments",
    "asns",
    "tags",
    "custom_fields",
    "created",
    "last_updated",
    "circuit_count",
    "device_count",
    "prefix_count",
    "rack_count",
    "virtualmachine_count",
    "vlan_count",
];
const DEVICE_KEYS: &[&str] = &[
    "id",
    "url",
    "display_url",
    "display",
    "name",
    "device_type",
    "role",
    "tenant",
    "platform",
    "serial",
    "asset_tag",
    "site",
    "location",
    "rack",
    "position",
    "face",
    "latitude",
    "longitude",
    "parent_device",
    "status",
    "airflow",
    "cooling_method",
    "primary_ip",
    "primary_ip4",
    "primary_ip6",
    "oob_ip",
    "cluster",
    "virtual_chassis",
    "vc_position",
    "vc_priority",
    "description",
    "owner",
    "comments",
    "config_template",
    "config_context",
    "local_context_data",
    "tags",
    "custom_fields",
    "created",
    "last_updated",
    "console_port_count",
    "console_server_port_count",
    "power_port_count",
    "power_outlet_count",
    "cooling_intake_count",
    "cooling_outflow_count",
    "interface_count",
    "front_port_count",
    "rear_port_count",
    "device_bay_count",
    "module_bay_count",
    "inventory_item_count",
];
const INTERFACE_KEYS: &[&str] = &[
    "id",
    "url",
    "display_url",
    "display",
    "device",
    "vdcs",
    "module",
    "name",
    "label",
    "type",
    "channels",
    "channel_id",
    "enabled",
    "parent",
    "bridge",
    "bridge_interfaces",
    "lag",
    "mtu",
    "mac_address",
    "primary_mac_address",
    "mac_addresses",
    "speed",
    "duplex",
    "wwn",
    "mgmt_only",
    "description",
    "mode",
    "rf_role",
    "rf_channel",
    "poe_mode",
    "poe_type",
    "rf_channel_frequency",
    "rf_channel_width",
    "tx_power",
    "untagged_vlan",
    "tagged_vlans",
    "qinq_svlan",
    "vlan_translation_policy",
    "mark_connected",
    "cable",
    "cable_end",
    "wireless_link",
    "link_peers",
    "link_peers_type",
    "wireless_lans",
    "vrf",
    "l2vpn_termination",
    "connected_endpoints",
    "connected_endpoints_type",
    "connected_endpoints_reachable",
    "owner",
    "tags",
    "custom_fields",
    "created",
    "last_updated",
    "count_ipaddresses",
    "count_fhrp_groups",
    "_occupied",
];
const CABLE_KEYS: &[&str] = &[
    "id",
    "url",
    "display_url",
    "display",
    "type",
    "a_terminations",
    "b_terminations",
    "status",
    "profile",
    "tenant",
    "bundle",
    "label",
    "color",
    "length",
    "length_unit",
    "description",
    "owner",
    "comments",
    "tags",
    "custom_fields",
    "created",
    "last_updated",
];
const MAC_KEYS: &[&str] = &[
    "id",
    "url",
    "display_url",
    "display",
    "mac_address",
    "assigned_object_type",
    "assigned_object_id",
    "assigned_object",
    "is_primary",
    "description",
    "owner",
    "comments",
    "tags",
    "custom_fields",
    "created",
    "last_updated",
];
const VLAN_GROUP_KEYS: &[&str] = &[
    "id",
    "url",
    "display_url",
    "display",
    "name",
    "slug",
    "scope_type",
    "scope_id",
    "scope",
    "vid_ranges",
    "total_vlan_ids",
    "tenant",
    "description",
    "owner",
    "comments",
    "tags",
    "custom_fields",
    "created",
    "last_updated",
    "vlan_count",
    "utilization",
];
const VLAN_KEYS: &[&str] = &[
    "id",
    "url",
    "display_url",
    "display",
    "site",
    "group",
    "vid",
    "name",
    "tenant",
    "status",
    "role",
    "description",
    "qinq_role",
    "qinq_svlan",
    "owner",
    "comments",
    "l2vpn_termination",
    "tags",
    "custom_fields",
    "created",
    "last_updated",
    "prefix_count",
];
const VRF_KEYS: &[&str] = &[
    "id",
    "url",
    "display_url",
    "display",
    "name",
    "rd",
    "tenant",
    "enforce_unique",
    "description",
    "owner",
    "comments",
    "import_targets",
    "export_targets",
    "tags",
    "custom_fields",
    "created",
    "last_updated",
    "ipaddress_count",
    "prefix_count",
];
const PREFIX_KEYS: &[&str] = &[
    "id",
    "url",
    "display_url",
    "display",
    "family",
    "prefix",
    "vrf",
    "scope_type",
    "scope_id",
    "scope",
    "tenant",
    "vlan",
    "status",
    "role",
    "is_pool",
    "mark_utilized",
    "description",
    "owner",
    "comments",
    "tags",
    "custom_fields",
    "created",
    "last_updated",
    "children",
    "_depth",
];
const IP_KEYS: &[&str] = &[
    "id",
    "url",
    "display_url",
    "display",
    "family",
    "address",
    "vrf",
    "tenant",
    "status",
    "role",
    "assigned_object_type",
    "assigned_object_id",
    "assigned_object",
    "nat_inside",
    "nat_outside",
    "dns_name",
    "description",
    "owner",
    "comments",
    "tags",
    "custom_fields",
    "created",
    "last_updated",
];
const TAG_KEYS: &[&str] = &[
    "id",
    "url",
    "display_url",
    "display",
    "name",
    "slug",
    "color",
    "description",
    "weight",
    "object_types",
    "tagged_items",
    "created",
    "last_updated",
];
const JOURNAL_KEYS: &[&str] = &[
    "id",
    "url",
    "display_url",
    "display",
    "assigned_object_type",
    "assigned_object_id",
    "assigned_object",
    "created",
    "created_by",
    "kind",
    "comments",
    "tags",
    "custom_fields",
    "last_updated",
];
const CHANGE_KEYS: &[&str] = &[
    "id",
    "url",
    "display_url",
    "display",
    "time",
    "user",
    "user_name",
    "request_id",
    "action",
    "changed_object_type",
    "changed_object_id",
    "changed_object",
    "object_repr",
    "message",
    "prechange_data",
    "postchange_data",
];

fn assert_keys(what: &str, v: &Value, want: &[&str]) {
    assert_eq!(keys(v), want, "{what}: field set and order");
}

/// gunicorn (`keepalive = 2`) closes a keep-alive connection that stayed idle for 2 s: a
/// client that reused it later met a reset. Reads on a raw connection until the server closes it
/// and checks when (the bound is loose: a real NetBox answers in tens of milliseconds).
async fn idle_connection_is_closed(base: &str, auth: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let uri: http::Uri = base.parse().expect("base URL");
    let host = uri.authority().expect("host").as_str().to_string();
    let mut s = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    let req = format!("GET /api/status/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("send");
    let mut buf = vec![0u8; 1 << 16];
    let mut head = Vec::new();
    // The whole answer (its length is in the head; the body is small).
    let answered = loop {
        let n = s.read(&mut buf).await.expect("read the answer");
        assert!(n > 0, "closed before answering");
        head.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&head).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if head.len() >= end + 4 + len {
                break std::time::Instant::now();
            }
        }
    };
    let closed = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
    let idle = answered.elapsed();
    match closed {
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!("{n} more bytes on an idle connection"),
        Err(_) => panic!("an idle keep-alive connection stayed open for 10 s"),
    }
    assert!(
        idle >= Duration::from_millis(1500) && idle < Duration::from_secs(5),
        "closed after {idle:?} idle (gunicorn: 2 s)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_suite() {
    let real = match (std::env::var("NETBOX_URL"), std::env::var("NETBOX_TOKEN")) {
        (Ok(u), Ok(t)) if !u.is_empty() && !t.is_empty() => {
            Some((u.trim_end_matches('/').to_string(), t))
        }
        _ => None,
    };
    let client: Client<HttpConnector, Full<Bytes>> =
        // Idle connections leave the pool before NetBox's gunicorn (and the fake) closes them
        // after 2 s; reusing one later races the server's close.
        Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(1))
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build_http();
    // Fake mode: the library served on a loopback port, spoken to exactly like a real NetBox.
    let fake_token = "nbt_contract0001.abcdefghijklmnopqrstuvwxyz0123456789ABCD";
    let (base, token, run, _fake) = match &real {
        Some((url, token)) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let run = format!("ct{}{}", std::process::id() % 1000, nanos % 1_000_000);
            println!("contract suite: running against the REAL NetBox at {url} (run {run})");
            (url.clone(), token.clone(), run, None)
        }
        None => {
            let nb = fake_netbox::FakeNetBox::builder()
                .token(fake_token)
                .seed(5)
                .build()
                .expect("fake");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let served = nb.clone();
            tokio::spawn(async move { served.serve(listener).await });
            println!(
                "contract suite: running against the FAKE NetBox at http://{addr} (set NETBOX_URL and NETBOX_TOKEN for a real one)"
            );
            (
                format!("http://{addr}"),
                fake_token.to_string(),
                "ct0".to_string(),
                Some(nb),
            )
        }
    };
    let auth = if token.starts_with("nbt_") {
        format!("Bearer {token}")
    } else {
        format!("Token {token}")
    };
    let api = Api {
        client,
        base: base.clone(),
        auth,
    };

    // --- Service, headers, auth --------------------------------------------------------------
    let st = api.get("/api/status/").await;
    assert_eq!(st.status, 200, "{}", st.text);
    for k in [
        "django-version",
        "installed_apps",
        "netbox-version",
        "netbox-full-version",
        "plugins",
        "python-version",
        "rq-workers-running",
    ] {
        assert!(st.json.get(k).is_some(), "status has {k}");
    }
    assert!(
        st.json["netbox-version"]
            .as_str()
            .unwrap()
            .starts_with("4.7")
    );
    assert_eq!(st.header("api-version"), Some("4.7"));
    assert!(st.header("x-request-id").is_some_and(|r| r.len() == 36));
    assert_eq!(
        st.header("connection"),
        Some("keep-alive"),
        "gunicorn's header"
    );
    idle_connection_is_closed(&base, &api.auth).await;
    // The app roots list every endpoint NetBox has, sorted, each as an absolute URL.
    for (app, count, unserved) in [
        ("dcim", 54, "racks"),
        ("ipam", 18, "asns"),
        ("extras", 21, "webhooks"),
        ("core", 8, "jobs"),
    ] {
        let root = api.get(&format!("/api/{app}/")).await;
        let names = keys(&root.json);
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "/api/{app}/ is sorted");
        assert_eq!(names.len(), count, "/api/{app}/ lists {names:?}");
        assert_eq!(
            root.json[unserved],
            json!(format!("{base}/api/{app}/{unserved}/")),
            "/api/{app}/"
        );
    }
    // A path without its trailing slash: Django's redirect, before NetBox's API middleware
    // (no API-Version, no X-Request-ID, an HTML content type, no security headers).
    let moved = api.get("/api/dcim/sites").await;
    assert_eq!(moved.status, 301);
    assert_eq!(moved.header("location"), Some("/api/dcim/sites/"));
    assert_eq!(
        moved.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    for absent in [
        "api-version",
        "x-request-id",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "cross-origin-opener-policy",
    ] {
        assert_eq!(moved.header(absent), None, "the 301 has no {absent}");
    }
    assert_eq!(
        moved.header("vary"),
        Some("Accept-Language, Cookie, origin")
    );
    let no_auth = api
        .send("GET", "/api/dcim/sites/", None, None, &[("no-auth", "")])
        .await;
    assert_eq!(
        (no_auth.status, no_auth.json.clone()),
        (
            403,
            json!({"detail": "Authentication credentials were not provided."})
        )
    );
    for (header, detail) in [
        (
            "Token 0000000000000000000000000000000000000000",
            "Invalid v1 token",
        ),
        (
            "Bearer nbt_nosuchkey123.abcdefghijklmnopqrstuvwxyz0123456789ABCD",
            "Invalid v2 token",
        ),
        (
            "Token a b",
            "Invalid authorization header: Must be in the form \"Bearer <key>.<token>\" or \"Token <token>\"",
        ),
    ] {
        let r = api
            .send("GET", "/api/dcim/sites/", None, Some(header), &[])
            .await;
        assert_eq!(
            (r.status, r.json),
            (403, json!({ "detail": detail })),
            "{header}"
        );
    }

    // --- Build a small fabric ----------------------------------------------------------------
    let site_slug = format!("{run}-site");
    let tag = api
        .create(
            "/api/extras/tags/",
            json!({"name": format!("{run}-tag"), "slug": format!("{run}-tag"), "color": "2196f3"}),
        )
        .await;
    assert_keys("tag", &tag, TAG_KEYS);
    let cset = api
        .create("/api/extras/custom-field-choice-sets/", json!({"name": format!("{run}-redundancy"), "extra_choices": [["eslag", "ESLAG"], ["mclag", "MCLAG"]]}))
        .await;
    let cf_owner = format!("{run}_owner");
    let cf_asn = format!("{run}_asn");
    let cf_mode = format!("{run}_mode");
    let mut cfs = Vec::new();
    for body in [
        json!({"name": cf_owner, "type": "text", "object_types": ["dcim.device"]}),
        json!({"name": cf_asn, "type": "integer", "object_types": ["dcim.device"], "validation_minimum": 1}),
        json!({"name": cf_mode, "type": "select", "object_types": ["dcim.device"], "choice_set": cset["id"]}),
    ] {
        cfs.push(api.create("/api/extras/custom-fields/", body).await);
    }
    let site_resp = api.post("/api/dcim/sites/", json!({"name": format!("{run} site"), "slug": site_slug, "tags": [{"slug": format!("{run}-tag")}]})).await;
    assert_eq!(site_resp.status, 201);
    let site = site_resp.json.clone();
    assert_keys("site", &site, SITE_KEYS);
    assert_eq!(
        site_resp.header("location"),
        site["url"].as_str(),
        "Location is the new object's URL"
    );
    assert!(
        site["url"].as_str().unwrap().starts_with(&base),
        "absolute URLs from the request's Host"
    );
    let etag = site_resp
        .header("etag")
        .expect("201 carries an ETag")
        .to_string();
    assert!(
        etag.starts_with("W/\"") && etag.ends_with("+00:00\""),
        "{etag}"
    );
    let dup = api
        .post(
            "/api/dcim/sites/",
            json!({"name": format!("{run} site"), "slug": site_slug}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.json),
        (
            400,
            json!({"name": ["site with this name already exists."], "slug": ["site with this slug already exists."]})
        )
    );
    let mfr = api
        .create(
            "/api/dcim/manufacturers/",
            json!({"name": format!("{run} mfr"), "slug": format!("{run}-mfr")}),
        )
        .await;
    let dt = api
        .create("/api/dcim/device-types/", json!({"manufacturer": mfr["id"], "model": format!("{run} vs"), "slug": format!("{run}-vs")}))
        .await;
    let spine_role = api
        .create(
            "/api/dcim/device-roles/",
            json!({"name": format!("{run} spine"), "slug": format!("{run}-spine")}),
        )
        .await;
    let leaf_role = api
        .create(
            "/api/dcim/device-roles/",
            json!({"name": format!("{run} leaf"), "slug": format!("{run}-leaf")}),
        )
        .await;
    let mut devices = Vec::new();
    for (name, role, extra) in [
        (
            "spine-01",
            &spine_role,
            json!({"custom_fields": {cf_owner.clone(): "netops", cf_asn.clone(): 65100, cf_mode.clone(): "eslag"}, "tags": [tag["id"]]}),
        ),
        ("leaf-10", &leaf_role, json!({"status": "planned"})),
        ("leaf-2", &leaf_role, json!({})),
    ] {
        let mut body = json!({"name": format!("{run}-{name}"), "device_type": dt["id"], "role": role["id"], "site": site["id"]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        devices.push(api.create("/api/dcim/devices/", body).await);
    }
    assert_keys("device", &devices[0], DEVICE_KEYS);
    assert_eq!(
        devices[0]["custom_fields"][&cf_mode],
        json!({"value": "eslag", "label": "ESLAG"})
    );
    assert_eq!(
        devices[1]["custom_fields"][&cf_owner],
        Value::Null,
        "unset custom fields are null"
    );
    // `?format=json` stays on every link of the answer (Django REST framework's reverse).
    let id0 = devices[0]["id"].as_u64().unwrap();
    let fj = api
        .get(&format!("/api/dcim/devices/{id0}/?format=json"))
        .await;
    assert_eq!(fj.status, 200, "{}", fj.text);
    for link in [
        &fj.json["url"],
        &fj.json["display_url"],
        &fj.json["site"]["url"],
        &fj.json["role"]["url"],
        &fj.json["device_type"]["url"],
    ] {
        let link = link.as_str().unwrap_or_default();
        assert!(link.ends_with("/?format=json"), "link {link:?}");
    }
    let root = api.get("/api/?format=json").await;
    assert!(
        root.json["dcim"]
            .as_str()
            .is_some_and(|u| u.ends_with("/api/dcim/?format=json")),
        "{}",
        root.text
    );
    let plain = api.get(&format!("/api/dcim/devices/{id0}/")).await;
    assert!(
        plain.json["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/api/dcim/devices/{id0}/"))),
        "{}",
        plain.json["url"]
    );
    let invalid = api
        .post(
            "/api/dcim/devices/",
            json!({"name": format!("{run}-broken"), "status": "bogus"}),
        )
        .await;
    assert_eq!(
        (invalid.status, invalid.json),
        (
            400,
            json!({"device_type": ["This field is required."], "role": ["This field is required."], "site": ["This field is required."], "status": ["bogus is not a valid choice."]})
        )
    );
    let badfk = api.post("/api/dcim/devices/", json!({"name": "x", "device_type": 999999999, "role": leaf_role["id"], "site": site["id"]})).await;
    assert_eq!(
        badfk.json,
        json!({"device_type": ["Related object not found using the provided numeric ID: 999999999"]})
    );
    let badcf = api
        .post("/api/dcim/devices/", json!({"name": format!("{run}-x"), "device_type": dt["id"], "role": leaf_role["id"], "site": site["id"], "custom_fields": {cf_asn.clone(): "abc"}}))
        .await;
    assert_eq!(
        badcf.json,
        json!({"__all__": [format!("Invalid value for custom field '{cf_asn}': Value must be an integer.")]})
    );

    // Interfaces (bulk, atomic), a LAG, a MAC, a VLAN group with VLANs, a VRF, a prefix, an IP.
    let (spine, leaf10, leaf2) = (&devices[0], &devices[1], &devices[2]);
    let bulk_bad = api
        .post("/api/dcim/interfaces/", json!([{"device": spine["id"], "name": "E1/1", "type": "100gbase-x-qsfp28"}, {"device": spine["id"], "name": "E1/2"}]))
        .await;
    assert_eq!(
        (bulk_bad.status, bulk_bad.json),
        (
            400,
            json!({"detail": "1 of 2 objects could not be created.", "errors": [{"index": 1, "errors": {"type": ["This field is required."]}}]})
        )
    );
    assert_eq!(
        api.get(&format!("/api/dcim/interfaces/?device_id={}", spine["id"]))
            .await
            .json["count"],
        0,
        "bulk create is atomic"
    );
    let ifaces = api
        .create(
            "/api/dcim/interfaces/",
            json!([
                {"device": spine["id"], "name": "E1/1", "type": "100gbase-x-qsfp28"},
                {"device": spine["id"], "name": "M1", "type": "1000base-t", "mgmt_only": true},
                {"device": leaf2["id"], "name": "E1/49", "type": "100gbase-x-qsfp28"},
                {"device": leaf2["id"], "name": "bond0", "type": "lag"},
            ]),
        )
        .await;
    let ifaces = ifaces.as_array().unwrap().clone();
    assert_keys("interface", &ifaces[0], INTERFACE_KEYS);
    let member = api
        .create("/api/dcim/interfaces/", json!({"device": leaf2["id"], "name": "E1/2", "type": "25gbase-x-sfp28", "lag": ifaces[3]["id"]}))
        .await;
    assert_eq!(
        keys(&member["lag"]),
        [
            "id",
            "url",
            "display_url",
            "display",
            "device",
            "name",
            "cable",
            "_occupied"
        ]
    );
    let mac = api
        .create("/api/dcim/mac-addresses/", json!({"mac_address": "0c:20:12:ff:01:00", "assigned_object_type": "dcim.interface", "assigned_object_id": ifaces[1]["id"]}))
        .await;
    assert_keys("MAC address", &mac, MAC_KEYS);
    assert_eq!(mac["mac_address"], "0C:20:12:FF:01:00");
    let m1 = api
        .patch(
            &format!("/api/dcim/interfaces/{}/", ifaces[1]["id"]),
            json!({"primary_mac_address": mac["id"]}),
        )
        .await;
    assert_eq!(m1.json["mac_address"], "0C:20:12:FF:01:00");
    let vg = api
        .create("/api/ipam/vlan-groups/", json!({"name": format!("{run} ns"), "slug": format!("{run}-ns"), "scope_type": "dcim.site", "scope_id": site["id"], "vid_ranges": [[1000, 2999]]}))
        .await;
    assert_keys("VLAN group", &vg, VLAN_GROUP_KEYS);
    assert_eq!(
        (vg["total_vlan_ids"].clone(), vg["vid_ranges"].clone()),
        (json!(2000), json!([[1000, 2999]]))
    );
    let out_of_range = api
        .post(
            "/api/ipam/vlans/",
            json!({"vid": 10, "name": "low", "group": vg["id"]}),
        )
        .await;
    assert_eq!(
        out_of_range.json,
        json!({"vid": [format!("VID must be in ranges 1000-2999 for VLANs in group {run} ns")]})
    );
    let vlan = api
        .create(
            "/api/ipam/vlans/",
            json!({"vid": 1001, "name": format!("{run}-v1001"), "group": vg["id"]}),
        )
        .await;
    assert_keys("VLAN", &vlan, VLAN_KEYS);
    let tagged = api
        .patch(
            &format!("/api/dcim/interfaces/{}/", ifaces[3]["id"]),
            json!({"tagged_vlans": [vlan["id"]]}),
        )
        .await;
    assert_eq!(
        tagged.json,
        json!({"tagged_vlans": ["Interface mode does not support tagged vlans"]})
    );
    let access = api
        .patch(
            &format!("/api/dcim/interfaces/{}/", ifaces[3]["id"]),
            json!({"mode": "access", "untagged_vlan": vlan["id"]}),
        )
        .await;
    assert_eq!(access.json["untagged_vlan"]["vid"], 1001);
    let vrf = api
        .create(
            "/api/ipam/vrfs/",
            json!({"name": format!("{run}v"), "rd": format!("6{}:1", run.len())}),
        )
        .await;
    assert_keys("VRF", &vrf, VRF_KEYS);
    let prefix = api
        .create("/api/ipam/prefixes/", json!({"prefix": "10.251.1.0/24", "vrf": vrf["id"], "vlan": vlan["id"], "scope_type": "dcim.site", "scope_id": site["id"]}))
        .await;
    assert_keys("prefix", &prefix, PREFIX_KEYS);
    let host_bits = api
        .post("/api/ipam/prefixes/", json!({"prefix": "10.251.2.5/24"}))
        .await;
    assert_eq!(
        host_bits.json,
        json!({"prefix": ["10.251.2.5/24 is not a valid prefix. Did you mean 10.251.2.0/24?"]})
    );
    let ip = api
        .create("/api/ipam/ip-addresses/", json!({"address": "172.31.250.10/21", "vrf": vrf["id"], "assigned_object_type": "dcim.interface", "assigned_object_id": ifaces[1]["id"]}))
        .await;
    assert_keys("IP address", &ip, IP_KEYS);
    let wrong = api
        .patch(
            &format!("/api/dcim/devices/{}/", leaf2["id"]),
            json!({"primary_ip4": ip["id"]}),
        )
        .await;
    assert_eq!(
        wrong.json,
        json!({"primary_ip4": ["The specified IP address (172.31.250.10/21) is not assigned to this device."]})
    );
    let primary = api
        .patch(
            &format!("/api/dcim/devices/{}/", spine["id"]),
            json!({"primary_ip4": ip["id"]}),
        )
        .await;
    assert_eq!(primary.json["primary_ip4"]["address"], "172.31.250.10/21");
    assert_eq!(
        keys(&primary.json["primary_ip4"]),
        [
            "id",
            "url",
            "display",
            "family",
            "address",
            "nat_inside",
            "nat_outside",
            "dns_name",
            "description"
        ]
    );

    // A cable, and the change records it writes.
    let cable_resp = api
        .post(
            "/api/dcim/cables/",
            json!({"a_terminations": [{"object_type": "dcim.interface", "object_id": ifaces[0]["id"]}], "b_terminations": [{"object_type": "dcim.interface", "object_id": ifaces[2]["id"]}], "status": "connected", "label": format!("{run}-c1")}),
        )
        .await;
    assert_eq!(cable_resp.status, 201, "{}", cable_resp.text);
    let cable = cable_resp.json.clone();
    assert_keys("cable", &cable, CABLE_KEYS);
    assert_eq!(
        keys(&cable["a_terminations"][0]),
        ["object_type", "object_id", "object"]
    );
    let request_id = cable_resp
        .header("x-request-id")
        .expect("X-Request-ID")
        .to_string();
    let recs = api
        .get(&format!(
            "/api/core/object-changes/?request_id={request_id}&ordering=id"
        ))
        .await;
    let seq: Vec<(String, String)> = recs.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"]["value"].as_str().unwrap().to_string(),
                c["changed_object_type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("create", "dcim.cable"),
        ("create", "dcim.cabletermination"),
        ("update", "dcim.interface"),
        ("create", "dcim.cabletermination"),
        ("update", "dcim.interface"),
        ("update", "dcim.cable"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(seq, want, "X-Request-ID is the change records' request_id");
    assert_keys("object change", &recs.json["results"][0], CHANGE_KEYS);
    let peer = api
        .get(&format!("/api/dcim/interfaces/{}/", ifaces[0]["id"]))
        .await;
    assert_eq!(
        (
            peer.json["cable_end"].clone(),
            peer.json["_occupied"].clone()
        ),
        (json!("A"), json!(true))
    );
    assert_eq!(peer.json["link_peers"][0]["id"], ifaces[2]["id"]);
    assert_eq!(peer.json["connected_endpoints_reachable"], true);
    let occupied = api
        .post("/api/dcim/cables/", json!({"a_terminations": [{"object_type": "dcim.interface", "object_id": ifaces[0]["id"]}], "b_terminations": [{"object_type": "dcim.interface", "object_id": member["id"]}]}))
        .await;
    assert_eq!(
        occupied.json,
        json!({"__all__": [format!("Duplicate termination found for dcim.interface {}: cable {}", ifaces[0]["id"], cable["id"])]})
    );
    let journal = api
        .create("/api/extras/journal-entries/", json!({"assigned_object_type": "dcim.site", "assigned_object_id": site["id"], "comments": "contract run", "kind": "success"}))
        .await;
    assert_keys("journal entry", &journal, JOURNAL_KEYS);

    // --- Reads: filters, pagination, shapes ---------------------------------------------------
    let names = |r: &Resp| -> Vec<String> {
        r.json["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect()
    };
    let by_site = api
        .get(&format!("/api/dcim/devices/?site={site_slug}"))
        .await;
    assert_eq!(
        names(&by_site),
        [
            format!("{run}-leaf-2"),
            format!("{run}-leaf-10"),
            format!("{run}-spine-01")
        ],
        "natural order"
    );
    let by_role = api
        .get(&format!(
            "/api/dcim/devices/?site={site_slug}&role={run}-leaf"
        ))
        .await;
    assert_eq!(by_role.json["count"], 2);
    assert_eq!(
        api.get(&format!(
            "/api/dcim/devices/?site_id={}&status=planned",
            site["id"]
        ))
        .await
        .json["count"],
        1
    );
    assert_eq!(
        api.get(&format!("/api/dcim/devices/?tag={run}-tag"))
            .await
            .json["count"],
        1
    );
    assert_eq!(
        api.get(&format!("/api/dcim/devices/?cf_{cf_asn}=65100"))
            .await
            .json["count"],
        1
    );
    assert_eq!(
        api.get(&format!(
            "/api/dcim/devices/?site={site_slug}&name={run}-SPINE-01"
        ))
        .await
        .json["count"],
        1
    );
    assert_eq!(
        api.get(&format!(
            "/api/dcim/devices/?site={site_slug}&nosuchfilter=1"
        ))
        .await
        .json["count"],
        3,
        "unknown filters are ignored"
    );
    let bad = api.get("/api/dcim/devices/?site=no-such-site-slug").await;
    assert_eq!(
        (bad.status, bad.json),
        (
            400,
            json!({"site": ["Select a valid choice. no-such-site-slug is not one of the available choices."]})
        )
    );
    let p1 = api
        .get(&format!("/api/dcim/devices/?site={site_slug}&limit=1"))
        .await;
    assert_eq!(p1.json["count"], 3);
    assert_eq!(
        p1.json["next"],
        format!("{base}/api/dcim/devices/?limit=1&offset=1&site={site_slug}")
    );
    assert_eq!(p1.json["previous"], Value::Null);
    let p2 = api.get(p1.json["next"].as_str().unwrap()).await;
    assert_eq!(
        p2.json["previous"],
        format!("{base}/api/dcim/devices/?limit=1&site={site_slug}")
    );
    let first_id = by_site.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .min()
        .unwrap();
    let cursor = api
        .get(&format!(
            "/api/dcim/devices/?site={site_slug}&start={first_id}&limit=2"
        ))
        .await;
    assert_eq!(cursor.json["count"], Value::Null);
    let cursor_ids: Vec<u64> = cursor.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .collect();
    assert!(
        cursor_ids.windows(2).all(|w| w[0] < w[1]),
        "cursor pages are ordered by id"
    );
    assert_eq!(
        cursor.json["next"],
        format!(
            "{base}/api/dcim/devices/?limit=2&site={site_slug}&start={}",
            cursor_ids[1] + 1
        )
    );
    let both = api
        .get(&format!("/api/dcim/devices/?start={first_id}&offset=1"))
        .await;
    assert_eq!(
        (both.status, both.json),
        (400, json!(["'start' and 'offset' are mutually exclusive."]))
    );
    let brief = api
        .get(&format!(
            "/api/dcim/devices/?site={site_slug}&brief=1&limit=1"
        ))
        .await;
    assert_eq!(
        keys(&brief.json["results"][0]),
        ["id", "url", "display", "name", "description"]
    );
    let fields = api
        .get(&format!(
            "/api/dcim/devices/?site={site_slug}&fields=id,name&limit=1"
        ))
        .await;
    assert_eq!(keys(&fields.json["results"][0]), ["id", "name"]);
    let ifs = api
        .get(&format!(
            "/api/dcim/interfaces/?device_id={}&limit=1&brief=1",
            leaf2["id"]
        ))
        .await;
    assert_eq!(
        keys(&ifs.json["results"][0]),
        [
            "id",
            "url",
            "display",
            "device",
            "name",
            "description",
            "cable",
            "_occupied"
        ]
    );
    assert_eq!(
        api.get(&format!(
            "/api/dcim/interfaces/?device_id={}&type=lag",
            leaf2["id"]
        ))
        .await
        .json["count"],
        1
    );
    assert_eq!(
        api.get(&format!("/api/dcim/cables/?device_id={}", leaf2["id"]))
            .await
            .json["count"],
        1
    );
    assert_eq!(
        api.get(&format!("/api/dcim/interfaces/?lag_id={}", ifaces[3]["id"]))
            .await
            .json["count"],
        1
    );

    // --- Updates, preconditions, change history ---------------------------------------------
    let dev_path = format!("/api/dcim/devices/{}/", leaf10["id"]);
    let current = api.get(&dev_path).await;
    let stale = api
        .send(
            "PATCH",
            &dev_path,
            Some(json!({"serial": "X"})),
            None,
            &[("if-match", "W/\"2000-01-01T00:00:00+00:00\"")],
        )
        .await;
    assert_eq!(
        (stale.status, stale.json.clone()),
        (412, json!({"detail": "Precondition failed."}))
    );
    assert_eq!(stale.header("etag"), current.header("etag"));
    let patched = api
        .patch(
            &dev_path,
            json!({"serial": "SN-CT", "custom_fields": {cf_owner.clone(): "dc-team"}}),
        )
        .await;
    assert_eq!(
        (
            patched.json["serial"].clone(),
            patched.json["status"]["value"].clone()
        ),
        (json!("SN-CT"), json!("planned"))
    );
    let history = api
        .get(&format!(
            "/api/core/object-changes/?changed_object_type=dcim.device&changed_object_id={}",
            leaf10["id"]
        ))
        .await;
    let actions: Vec<&str> = history.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["update", "create"], "newest first");
    let upd = &history.json["results"][0];
    assert_eq!(
        (
            upd["prechange_data"]["serial"].clone(),
            upd["postchange_data"]["serial"].clone()
        ),
        (json!(""), json!("SN-CT"))
    );
    assert_eq!(
        upd["postchange_data"]["custom_fields"][&cf_owner],
        "dc-team"
    );
    let since = api
        .get(&format!(
            "/api/core/object-changes/?time_after={}&changed_object_type=dcim.site&limit=1000",
            site["created"].as_str().unwrap()
        ))
        .await;
    assert!(
        since.json["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["changed_object_id"] == site["id"]),
        "time_after includes the site's creation"
    );
    assert_eq!(
        api.get("/api/core/object-changes/?time_after=1700000000")
            .await
            .json,
        json!({"time": ["Enter a valid date/time."]})
    );
    let nf = api.get("/api/dcim/devices/999999999/").await;
    assert_eq!(
        (nf.status, nf.json),
        (404, json!({"detail": "No Device matches the given query."}))
    );
    let not_allowed = api.post("/api/status/", json!({})).await;
    assert_eq!(
        (not_allowed.status, not_allowed.json),
        (405, json!({"detail": "Method \"POST\" not allowed."}))
    );
    let protected = api
        .delete(&format!("/api/dcim/device-roles/{}/", leaf_role["id"]))
        .await;
    assert_eq!(protected.status, 409);
    assert!(
        protected.json["detail"]
            .as_str()
            .unwrap()
            .starts_with("Unable to delete object. 2 dependent objects were found: ")
    );

    // --- Clean up everything this run created -----------------------------------------------
    let deletes: Vec<String> = vec![
        format!("/api/extras/journal-entries/{}/", journal["id"]),
        format!("/api/dcim/cables/{}/", cable["id"]),
        format!("/api/dcim/devices/{}/", spine["id"]),
        format!("/api/dcim/devices/{}/", leaf10["id"]),
        format!("/api/dcim/devices/{}/", leaf2["id"]),
        format!("/api/ipam/prefixes/{}/", prefix["id"]),
        format!("/api/ipam/vrfs/{}/", vrf["id"]),
        format!("/api/ipam/vlans/{}/", vlan["id"]),
        format!("/api/ipam/vlan-groups/{}/", vg["id"]),
        format!("/api/dcim/device-types/{}/", dt["id"]),
        format!("/api/dcim/manufacturers/{}/", mfr["id"]),
        format!("/api/dcim/device-roles/{}/", spine_role["id"]),
        format!("/api/dcim/device-roles/{}/", leaf_role["id"]),
        format!("/api/dcim/sites/{}/", site["id"]),
        format!("/api/extras/custom-fields/{}/", cfs[0]["id"]),
        format!("/api/extras/custom-fields/{}/", cfs[1]["id"]),
        format!("/api/extras/custom-fields/{}/", cfs[2]["id"]),
        format!("/api/extras/custom-field-choice-sets/{}/", cset["id"]),
        format!("/api/extras/tags/{}/", tag["id"]),
    ];
    for path in &deletes {
        let r = api.delete(path).await;
        assert_eq!(r.status, 204, "DELETE {path}: {}", r.text);
    }
    assert_eq!(
        api.get(&format!("/api/dcim/sites/{}/", site["id"]))
            .await
            .status,
        404
    );
    assert_eq!(
        api.get(&format!("/api/ipam/ip-addresses/{}/", ip["id"]))
            .await
            .status,
        404,
        "the device's interface IPs went with it"
    );
    assert_eq!(
        api.get(&format!("/api/dcim/mac-addresses/{}/", mac["id"]))
            .await
            .status,
        404
    );
    let gone = api.get(&format!("/api/core/object-changes/?changed_object_type=dcim.device&changed_object_id={}&action=delete", spine["id"])).await;
    assert_eq!(gone.json["results"][0]["changed_object"], Value::Null);
    println!(
        "contract suite passed against {}",
        if real.is_some() {
            "the REAL NetBox"
        } else {
            "the FAKE NetBox"
        }
    );
}

//! The NetBox client against a mock server (wiremock) serving bodies shaped like real NetBox
//! 4.7.3 answers (`shared/reference/netbox-samples`): auth header per token version,
//! pagination through `next`, error mapping, fabric reading, custom field setup, changelog.

use fabsync::netbox::writer::JournalKind;
use fabsync::netbox::{NetboxClient, NetboxError, Token, https_service};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const V2: &str = "nbt_abcdef123456.0123456789012345678901234567890123456789";
const V1: &str = "0123456789abcdef0123456789abcdef01234567";

fn client(server: &MockServer, token: &str) -> NetboxClient {
    NetboxClient::new(
        https_service(None).unwrap(),
        &server.uri(),
        Token::new(token),
    )
    .unwrap()
}

fn page(server: &MockServer, results: Value, next: Option<&str>) -> Value {
    json!({"count": results.as_array().map_or(0, |a| a.len()), "next": next.map(|n| format!("{}{}", server.uri(), n)), "previous": null, "results": results})
}

#[tokio::test]
async fn v2_token_is_sent_as_bearer_and_v1_as_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/status/"))
        .and(header("authorization", format!("Bearer {V2}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"netbox-version": "4.7.3"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/status/"))
        .and(header("authorization", format!("Token {V1}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"netbox-version": "4.7.3"})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client(&server, V2).status().await.unwrap()["netbox-version"],
        "4.7.3"
    );
    assert_eq!(
        client(&server, V1).status().await.unwrap()["netbox-version"],
        "4.7.3"
    );
}

#[tokio::test]
async fn forbidden_maps_to_unauthorized_with_netbox_detail_and_no_secret() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/dcim/sites/"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"detail": "Invalid v2 token"})),
        )
        .mount(&server)
        .await;
    let c = client(&server, V2);
    let e = c.list::<Value>("dcim/sites", &[]).await.unwrap_err();
    match &e {
        NetboxError::Unauthorized { endpoint, detail } => {
            assert_eq!(endpoint, "GET /api/dcim/sites/");
            assert_eq!(detail, "Invalid v2 token");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    let shown = format!("{e} {e:?} {c:?}");
    assert!(
        !shown.contains("0123456789012345678901234567890123456789"),
        "secret leaked: {shown}"
    );
    assert!(!shown.contains("abcdef123456"), "token key leaked: {shown}");
}

#[tokio::test]
async fn pagination_follows_next_until_the_end() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/dcim/devices/"))
        .and(query_param("site_id", "1"))
        .and(query_param("limit", "1000"))
        .and(query_param("offset", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            &server,
            json!([{"id": 3}]),
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/dcim/devices/"))
        .and(query_param("site_id", "1"))
        .and(query_param("limit", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            &server,
            json!([{"id": 1}, {"id": 2}]),
            Some("/api/dcim/devices/?limit=1000&offset=1000&site_id=1"),
        )))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let got = client(&server, V2)
        .list_values("dcim/devices", &[("site_id", "1".into())])
        .await
        .unwrap();
    let ids: Vec<u64> = got.iter().map(|v| v["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![1, 2, 3]);
}

#[tokio::test]
async fn status_codes_map_to_typed_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/api/dcim/devices/"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"device_type": ["This field is required."], "status": ["bogus is not a valid choice."]})))
        .mount(&server).await;
    Mock::given(method("POST")).and(path("/api/dcim/interfaces/"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"detail": "1 of 2 objects could not be created.", "errors": [{"index": 1, "errors": {"name": ["This field is required."]}}]})))
        .mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/dcim/devices/99/"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"detail": "No Device matches the given query."})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/dcim/cables/"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "7")
                .set_body_json(json!({"detail": "Request was throttled."})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/ipam/vrfs/"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>oops</html>"))
        .mount(&server)
        .await;
    let c = client(&server, V1);
    match c
        .create::<Value>("dcim/devices", &json!({"name": "x", "status": "bogus"}))
        .await
        .unwrap_err()
    {
        NetboxError::Invalid { endpoint, errors } => {
            assert_eq!(endpoint, "POST /api/dcim/devices/");
            assert_eq!(errors["status"], vec!["bogus is not a valid choice."]);
            assert_eq!(errors["device_type"], vec!["This field is required."]);
        }
        other => panic!("{other:?}"),
    }
    match c
        .create_bulk::<Value>("dcim/interfaces", &[json!({}), json!({})])
        .await
        .unwrap_err()
    {
        NetboxError::Invalid { errors, .. } => {
            assert_eq!(errors["[1].name"], vec!["This field is required."])
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(c.get("dcim/devices/99").await.unwrap_err(), NetboxError::NotFound { detail, .. } if detail == "No Device matches the given query.")
    );
    match c.list::<Value>("dcim/cables", &[]).await.unwrap_err() {
        NetboxError::Server {
            status,
            retry_after,
            ..
        } => {
            assert_eq!(status, 429);
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(7)));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(c.list::<Value>("ipam/vrfs", &[]).await.unwrap_err(), NetboxError::Decode { endpoint, .. } if endpoint == "GET /api/ipam/vrfs/")
    );
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    // a port that was just free: nothing listens there
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!("http://127.0.0.1:{port}");
    let c = NetboxClient::new(https_service(None).unwrap(), &uri, Token::new(V2)).unwrap();
    let e = c.status().await.unwrap_err();
    assert!(matches!(e, NetboxError::Unreachable { .. }), "{e:?}");
    assert!(e.is_transient());
}

fn dev(id: u64, name: &str, role: &str, dt: &str) -> Value {
    json!({"id": id, "name": name, "device_type": {"id": 1, "slug": dt, "model": dt}, "role": {"id": 1, "slug": role, "name": role},
           "site": {"id": 1, "slug": "fab"}, "status": {"value": "active", "label": "Active"}, "serial": "", "description": "",
           "primary_ip4": null, "virtual_chassis": null, "tags": [], "custom_fields": {"hedgehog_role": null}})
}

fn iface(id: u64, dev_id: u64, dev: &str, name: &str, cable: Option<u64>) -> Value {
    json!({"id": id, "device": {"id": dev_id, "name": dev}, "name": name, "type": {"value": "other", "label": "Other"}, "mgmt_only": false,
           "lag": null, "primary_mac_address": null, "mode": null, "untagged_vlan": null, "tagged_vlans": [],
           "cable": cable.map(|c| json!({"id": c})), "description": "", "custom_fields": {}})
}

#[tokio::test]
async fn read_fabric_collects_the_site_and_filters_to_its_devices() {
    let server = MockServer::start().await;
    let list = |p: &str, results: Value| {
        let body = json!({"count": results.as_array().unwrap().len(), "next": null, "previous": null, "results": results});
        Mock::given(method("GET"))
            .and(path(p.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
    };
    list(
        "/api/dcim/sites/",
        json!([{"id": 1, "name": "Fab", "slug": "fab", "custom_fields": {}}]),
    )
    .mount(&server)
    .await;
    list(
        "/api/dcim/devices/",
        json!([
            dev(1, "spine-01", "spine", "vs"),
            dev(2, "leaf-01", "server-leaf", "vs")
        ]),
    )
    .mount(&server)
    .await;
    // an interface of a device outside the site sneaks into the answer: it must be dropped
    list(
        "/api/dcim/interfaces/",
        json!([
            iface(10, 1, "spine-01", "E1/1", Some(5)),
            iface(11, 2, "leaf-01", "E1/8", Some(5)),
            iface(12, 9, "other", "E1/1", None)
        ]),
    )
    .mount(&server)
    .await;
    list("/api/dcim/cables/", json!([{"id": 5, "label": "", "status": {"value": "connected"},
        "a_terminations": [{"object_type": "dcim.interface", "object_id": 10}], "b_terminations": [{"object_type": "dcim.interface", "object_id": 11}], "custom_fields": {}}])).mount(&server).await;
    list("/api/dcim/device-types/", json!([{"id": 1, "model": "vs", "slug": "vs", "custom_fields": {}}, {"id": 2, "model": "x", "slug": "x", "custom_fields": {}}])).mount(&server).await;
    list(
        "/api/dcim/device-roles/",
        json!([{"id": 1, "name": "Spine", "slug": "spine"}]),
    )
    .mount(&server)
    .await;
    for p in [
        "/api/dcim/virtual-chassis/",
        "/api/ipam/vlan-groups/",
        "/api/ipam/prefixes/",
        "/api/ipam/vrfs/",
        "/api/extras/custom-fields/",
        "/api/dcim/mac-addresses/",
        "/api/ipam/ip-addresses/",
        "/api/ipam/vlans/",
    ] {
        list(p, json!([])).mount(&server).await;
    }
    let snap = client(&server, V2).read_fabric("fab", None).await.unwrap();
    assert_eq!(snap.site.slug, "fab");
    assert_eq!(snap.devices.len(), 2);
    assert_eq!(
        snap.interfaces.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![10, 11]
    );
    assert_eq!(snap.cables.len(), 1);
    assert_eq!(
        snap.device_types
            .iter()
            .map(|t| t.slug.as_str())
            .collect::<Vec<_>>(),
        vec!["vs"]
    );
    let reqs: Vec<Request> = server.received_requests().await.unwrap();
    let dev_req = reqs
        .iter()
        .find(|r| r.url.path() == "/api/dcim/devices/")
        .unwrap();
    assert!(dev_req.url.query().unwrap().contains("site_id=1"));
    // the snapshot plans into a fabric connection
    let p = fabsync::plan::plan(&snap, &fabsync::plan::PlanConfig::new("fab"));
    assert!(
        p.get(
            fabsync::hedgehog::Kind::Connection,
            "spine-01--fabric--leaf-01"
        )
        .is_some(),
        "{:#?}",
        p
    );
}

#[tokio::test]
async fn read_fabric_of_unknown_site_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/dcim/sites/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"count": 0, "next": null, "previous": null, "results": []})),
        )
        .mount(&server)
        .await;
    let e = client(&server, V2)
        .read_fabric("nope", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, NetboxError::NotFound { detail, .. } if detail.contains("nope")),
        "{e:?}"
    );
}

#[tokio::test]
async fn custom_field_setup_creates_only_what_is_missing() {
    let server = MockServer::start().await;
    let existing = json!([{"id": 1, "name": "hedgehog_role", "object_types": ["dcim.device"], "type": {"value": "text"}},
                          {"id": 2, "name": "hedgehog_ipv4_namespace", "object_types": ["dcim.device"], "type": {"value": "text"}}]);
    Mock::given(method("GET"))
        .and(path("/api/extras/custom-fields/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"count": 2, "next": null, "previous": null, "results": existing}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/extras/custom-fields/"))
        .respond_with(|r: &Request| {
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": 100, "name": r.body_json::<Value>().unwrap()["name"]}))
        })
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/api/extras/custom-fields/2/"))
        .and(body_partial_json(
            json!({"object_types": ["dcim.device", "ipam.prefix", "ipam.vrf"]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 2})))
        .expect(1)
        .mount(&server)
        .await;
    let r = client(&server, V2)
        .ensure_fabsync_custom_fields()
        .await
        .unwrap();
    assert_eq!(r.unchanged, vec!["hedgehog_role"]);
    assert_eq!(r.updated, vec!["hedgehog_ipv4_namespace"]);
    assert_eq!(
        r.created.len(),
        fabsync::netbox::writer::FABSYNC_CUSTOM_FIELDS.len() - 2
    );
    assert!(r.created.contains(&"fabsync_last_sync".to_string()));
}

#[tokio::test]
async fn changelog_and_journal_calls() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/api/core/object-changes/")).and(query_param("id__gt", "7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"count": 2, "next": null, "previous": null, "results": [
            {"id": 9, "time": "2026-01-01T00:00:02Z", "action": {"value": "update", "label": "Updated"}, "changed_object_type": "dcim.device", "changed_object_id": 1, "object_repr": "spine-01"},
            {"id": 8, "time": "2026-01-01T00:00:01Z", "action": {"value": "create", "label": "Created"}, "changed_object_type": "dcim.cable", "changed_object_id": 4, "object_repr": "#4"}]})))
        .mount(&server).await;
    Mock::given(method("GET")).and(path("/api/core/object-changes/")).and(query_param("limit", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"count": 9, "next": null, "previous": null, "results": [{"id": 9, "action": {"value": "update"}, "changed_object_type": "dcim.device", "changed_object_id": 1}]})))
        .mount(&server).await;
    Mock::given(method("POST")).and(path("/api/extras/journal-entries/"))
        .and(body_partial_json(json!({"assigned_object_type": "dcim.site", "assigned_object_id": 3, "kind": "success"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 41})))
        .expect(1).mount(&server).await;
    let c = client(&server, V2);
    assert_eq!(c.latest_change_id().await.unwrap(), Some(9));
    let ch = c
        .changes_since(7, &["dcim.device", "dcim.cable"])
        .await
        .unwrap();
    assert_eq!(ch.iter().map(|c| c.id).collect::<Vec<_>>(), vec![8, 9]);
    let reqs = server.received_requests().await.unwrap();
    let q = reqs
        .iter()
        .find(|r| r.url.query().is_some_and(|q| q.contains("id__gt")))
        .unwrap()
        .url
        .query()
        .unwrap()
        .to_string();
    assert!(
        q.contains("changed_object_type=dcim.device")
            && q.contains("changed_object_type=dcim.cable"),
        "{q}"
    );
    assert_eq!(
        c.create_journal_entry(3, JournalKind::Success, "sync ok")
            .await
            .unwrap(),
        41
    );
}

/// Pages are decoded straight into fabsync's types; one that does not decode still names the
/// list, the object (by id) and the field, the same as when every object went through JSON
/// values first. A page without `results`, or whose `next` is no URL, is named too.
#[tokio::test]
async fn a_list_page_that_does_not_decode_names_the_object_and_the_field() {
    use fabsync::netbox::model::Interface;
    let server = MockServer::start().await;
    let good = iface(1, 10, "leaf-01", "E1/1", None);
    let mut bad = iface(7, 10, "leaf-01", "E1/2", None);
    bad["name"] = json!(42);
    Mock::given(method("GET"))
        .and(path("/api/dcim/interfaces/"))
        .and(query_param("device_id", "10"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            &server,
            json!([good, bad]),
            None,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/dcim/interfaces/"))
        .and(query_param("device_id", "11"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"count": 0})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/dcim/interfaces/"))
        .and(query_param("device_id", "12"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"count": 1, "next": 5, "results": [iface(1, 12, "leaf-02", "E1/1", None)]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/dcim/interfaces/"))
        .and(query_param("device_id", "13"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>oops</html>"))
        .mount(&server)
        .await;
    let c = client(&server, V2);
    let list = |dev: &'static str| {
        let c = c.clone();
        async move {
            c.list::<Interface>("dcim/interfaces", &[("device_id", dev.to_string())])
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let e = list("10").await;
    assert!(
        e.contains("GET /api/dcim/interfaces/") && e.contains("object id 7") && e.contains("42"),
        "{e}"
    );
    let e = list("11").await;
    assert!(e.contains("no \"results\" array"), "{e}");
    let e = list("12").await;
    assert!(e.contains("\"next\" is neither a URL nor null"), "{e}");
    let e = list("13").await;
    assert!(e.contains("not JSON"), "{e}");
    // The same page as JSON values decodes: nothing in it is malformed JSON.
    let values = c
        .list_values("dcim/interfaces", &[("device_id", "10".to_string())])
        .await
        .unwrap();
    assert_eq!(values.len(), 2);
}

const FAKE_TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

/// The fake NetBox on a loopback port with gunicorn's idle keep-alive timeout (or none), and a
/// client over the same HTTPS transport fabsync uses against a real NetBox.
async fn served_fake(
    keepalive: Option<std::time::Duration>,
) -> (fake_netbox::FakeNetBox, NetboxClient) {
    let nb = fake_netbox::FakeNetBox::builder()
        .token(FAKE_TOKEN)
        .fixture(fake_netbox::Fixture::Vlab)
        .keepalive(keepalive)
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = nb.clone();
    tokio::spawn(async move { served.serve(listener).await });
    let c = NetboxClient::new(https_service(None).unwrap(), &url, Token::new(FAKE_TOKEN)).unwrap();
    (nb, c)
}

/// Real NetBox (gunicorn, `keepalive = 2`) closes a keep-alive connection idle for 2 s; a client
/// that reused it after 2.5 s got "Connection reset by peer" (the drift-repaired workflow's
/// setup against NetBox 4.7.3). fabsync's pool lets idle connections go after 1 s. Fails
/// without the pool's idle timeout: the second request reuses the first connection.
#[tokio::test(start_paused = true)]
async fn idle_connections_leave_the_pool_before_netbox_closes_them() {
    let (nb, c) = served_fake(None).await;
    c.list_values("dcim/sites", &[]).await.unwrap();
    c.list_values("dcim/sites", &[]).await.unwrap();
    assert_eq!(nb.connections_accepted(), 1, "back to back, one connection");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    c.list_values("dcim/sites", &[]).await.unwrap();
    assert_eq!(
        nb.connections_accepted(),
        2,
        "a connection idle for 1.5 s is not reused"
    );
}

/// The fake closes idle connections as gunicorn does, and fabsync's reads and writes spaced
/// past that keep working; the fake says `Connection: keep-alive` on every answer.
#[tokio::test(start_paused = true)]
async fn requests_spaced_past_the_keepalive_all_succeed() {
    let (nb, c) = served_fake(Some(std::time::Duration::from_secs(2))).await;
    let sites = c.list_values("dcim/sites", &[]).await.unwrap();
    let id = sites[0]["id"].as_u64().unwrap();
    for i in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        c.patch(
            "dcim/sites",
            id,
            &json!({"description": format!("edit {i}")}),
        )
        .await
        .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let site = c.get(&format!("dcim/sites/{id}")).await.unwrap();
        assert_eq!(site["description"], format!("edit {i}"));
    }
    assert_eq!(nb.connections_accepted(), 9);
}

/// The fake's server side of the same rule, seen from a raw socket: an idle connection is
/// closed after the keep-alive time, not before, and not while a request is in flight.
#[tokio::test(start_paused = true)]
async fn the_fake_closes_a_connection_idle_for_its_keepalive() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let nb = fake_netbox::FakeNetBox::builder()
        .token(FAKE_TOKEN)
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = nb.clone();
    tokio::spawn(async move { served.serve(listener).await });
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /api/status/ HTTP/1.1\r\nHost: x\r\nAuthorization: Token {FAKE_TOKEN}\r\n\r\n"
    );
    let mut buf = vec![0u8; 65536];
    for _ in 0..2 {
        s.write_all(req.as_bytes()).await.unwrap();
        let n = s.read(&mut buf).await.unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("connection: keep-alive"), "{head}");
        tokio::time::sleep(std::time::Duration::from_millis(1900)).await;
    }
    let before = tokio::time::Instant::now();
    let n = s.read(&mut buf).await.unwrap();
    assert_eq!(n, 0, "the server closed the idle connection");
    let waited = before.elapsed() + std::time::Duration::from_millis(1900);
    assert!(
        waited >= std::time::Duration::from_secs(2)
            && waited < std::time::Duration::from_millis(2100),
        "closed after {waited:?} idle"
    );
}

/// A server that resets the first connection after reading its request (a keep-alive
/// connection it had just timed out) and answers 200 on the next. fabsync sends an idempotent
/// write (PATCH) again once; a POST is never sent twice. Fails without the write retry.
#[tokio::test]
async fn a_patch_on_a_connection_reset_before_the_answer_is_sent_again_once() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = vec![0u8; 65536];
            let _ = s.read(&mut buf).await;
            if n.is_multiple_of(2) {
                // Reset: close with a zero linger time (deprecated because a non-zero linger
                // blocks the thread on drop; a zero one sends RST at once).
                #[allow(deprecated)]
                s.set_linger(Some(std::time::Duration::ZERO)).unwrap();
                drop(s);
                continue;
            }
            let body = r#"{"id": 1, "name": "x"}"#;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        }
    });
    let c = NetboxClient::new(https_service(None).unwrap(), &url, Token::new(FAKE_TOKEN)).unwrap();
    let v = c
        .patch("dcim/sites", 1, &json!({"description": "d"}))
        .await
        .unwrap();
    assert_eq!(v["id"], 1);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    let e = c
        .create::<Value>("dcim/sites", &json!({"name": "x", "slug": "x"}))
        .await
        .unwrap_err();
    assert!(matches!(e, NetboxError::Unreachable { .. }), "{e:?}");
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "the POST was sent once"
    );
}

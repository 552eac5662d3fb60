//! HTTP-level tests of every endpoint, filter and error the fake serves, through the in-process
//! `client_service()` on a paused clock. Expected texts and shapes are NetBox 4.7.3's (see
//! `/work/shared/reference/netbox-api.md` and the recorded samples).

use serde_json::{Value, json};

use crate::common::{self, Client, RO, V1, V2, fake, keys};
use fake_netbox::Fixture;

async fn vlab() -> Client {
    Client::new(&fake(Fixture::Vlab))
}

async fn empty() -> Client {
    Client::new(&fake(Fixture::Empty))
}

/// A small world built through the API: site, manufacturer, type, two roles, a tag, a text custom
/// field, three devices.
async fn small_world(c: &Client) -> Value {
    let tag = c
        .create(
            "/api/extras/tags/",
            json!({"name": "spine", "slug": "spine", "color": "f44336"}),
        )
        .await;
    c.create(
        "/api/extras/custom-fields/",
        json!({"name": "asset_owner", "type": "text", "object_types": ["dcim.device"]}),
    )
    .await;
    let site = c
        .create("/api/dcim/sites/", json!({"name": "DC1", "slug": "dc1"}))
        .await;
    let mfr = c
        .create(
            "/api/dcim/manufacturers/",
            json!({"name": "Acme", "slug": "acme"}),
        )
        .await;
    let dt = c
        .create(
            "/api/dcim/device-types/",
            json!({"manufacturer": mfr, "model": "Switch 9000", "slug": "switch-9000"}),
        )
        .await;
    let spine = c
        .create(
            "/api/dcim/device-roles/",
            json!({"name": "Spine", "slug": "spine"}),
        )
        .await;
    let leaf = c
        .create(
            "/api/dcim/device-roles/",
            json!({"name": "Leaf", "slug": "leaf"}),
        )
        .await;
    let s1 = c
        .create(
            "/api/dcim/devices/",
            json!({"name": "spine1", "device_type": dt, "role": spine, "site": site, "tags": [{"slug": "spine"}], "custom_fields": {"asset_owner": "netops"}}),
        )
        .await;
    let s2 = c
        .create("/api/dcim/devices/", json!({"name": "spine10", "device_type": dt, "role": spine, "site": site, "status": "planned"}))
        .await;
    let l1 = c
        .create(
            "/api/dcim/devices/",
            json!({"name": "leaf2", "device_type": dt, "role": leaf, "site": site}),
        )
        .await;
    json!({"tag": tag, "site": site, "mfr": mfr, "dt": dt, "spine": spine, "leaf": leaf, "s1": s1, "s2": s2, "l1": l1})
}

#[tokio::test(start_paused = true)]
async fn api_root_and_status_need_a_token_and_answer_like_netbox() {
    let c = empty().await;
    let r = c.with_auth(None).get("/api/").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json,
        json!({"detail": "Authentication credentials were not provided."})
    );
    let r = c.get("/api/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["dcim"], "http://netbox.sim/api/dcim/");
    assert_eq!(r.header("api-version"), Some("4.7"));
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    let r = c.get("/api/status/").await;
    assert_eq!(r.json["netbox-version"], "4.7.3");
    assert_eq!(r.json["rq-workers-running"], 1);
    let r = c.get("/api/dcim/").await;
    assert_eq!(
        r.json["interfaces"],
        "http://netbox.sim/api/dcim/interfaces/"
    );
    assert_eq!(
        c.get("/api/core/").await.json["object-changes"],
        "http://netbox.sim/api/core/object-changes/"
    );
}

#[tokio::test(start_paused = true)]
async fn both_token_versions_are_accepted_and_every_refusal_has_netboxs_text() {
    let c = empty().await;
    for auth in [
        format!("Token {V1}"),
        format!("Bearer {V1}"),
        format!("bearer {V2}"),
        format!("Token {V2}"),
    ] {
        assert_eq!(
            c.with_auth(Some(&auth))
                .get("/api/dcim/sites/")
                .await
                .status,
            200,
            "{auth}"
        );
    }
    let cases = [
        (None, "Authentication credentials were not provided."),
        (
            Some("Basic YWRtaW46YWRtaW4="),
            "Authentication credentials were not provided.",
        ),
        (
            Some("Bearer nbt_realnetbox01.wrongsecret"),
            "Invalid v2 token",
        ),
        (
            Some("Bearer nbt_nosuchkey00.abcdefghijklmnopqrstuvwxyz0123456789ABCD"),
            "Invalid v2 token",
        ),
        (
            Some("Token 0000000000000000000000000000000000000000"),
            "Invalid v1 token",
        ),
        (
            Some("Bearer nbt_realnetbox01"),
            "Invalid authorization header: Could not parse key from v2 token. Did you mean to use 'Token' instead of 'Bearer'?",
        ),
        (
            Some("Token a b"),
            "Invalid authorization header: Must be in the form \"Bearer <key>.<token>\" or \"Token <token>\"",
        ),
    ];
    for (auth, detail) in cases {
        let r = c.with_auth(auth).get("/api/dcim/sites/").await;
        assert_eq!(r.status, 403, "{auth:?}");
        assert_eq!(r.json, json!({ "detail": detail }), "{auth:?}");
        assert_eq!(
            r.header("allow"),
            Some("GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS")
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_read_only_token_reads_but_every_write_is_refused() {
    let c = vlab().await;
    let ro = c.with_auth(Some(&format!("Bearer {RO}")));
    assert_eq!(ro.get("/api/dcim/devices/?limit=1").await.status, 200);
    let refused = json!({"detail": "You do not have permission to perform this action."});
    let r = ro
        .post("/api/dcim/sites/", json!({"name": "x", "slug": "x"}))
        .await;
    assert_eq!((r.status, &r.json), (403, &refused));
    let r = ro
        .patch("/api/dcim/sites/1/", json!({"description": "x"}))
        .await;
    assert_eq!((r.status, &r.json), (403, &refused));
    let r = ro.delete("/api/dcim/sites/1/").await;
    assert_eq!((r.status, &r.json), (403, &refused));
    assert_eq!(
        c.get("/api/dcim/sites/1/").await.json["description"],
        "Hedgehog fabric vlab"
    );
}

#[tokio::test(start_paused = true)]
async fn list_envelope_page_sizes_and_limits() {
    let c = vlab().await;
    let r = c.get("/api/dcim/interfaces/").await;
    assert_eq!(keys(&r.json), ["count", "next", "previous", "results"]);
    assert_eq!(r.results().len(), 50, "default page size");
    assert_eq!(
        r.json["next"],
        "http://netbox.sim/api/dcim/interfaces/?limit=50&offset=50"
    );
    assert_eq!(r.json["previous"], Value::Null);
    assert!(r.header("etag").is_none(), "lists carry no ETag");
    let total = r.json["count"].as_u64().unwrap();
    assert_eq!(
        c.get("/api/dcim/interfaces/?limit=0").await.results().len() as u64,
        total.min(1000)
    );
    assert_eq!(
        c.get("/api/dcim/interfaces/?limit=5000")
            .await
            .results()
            .len() as u64,
        total.min(1000)
    );
    for bad in ["?limit=abc", "?limit=-1&offset=-3"] {
        let r = c.get(&format!("/api/dcim/interfaces/{bad}")).await;
        assert_eq!(r.results().len(), 50, "{bad} is ignored");
        assert_eq!(r.json["previous"], Value::Null);
    }
    let r = c
        .get(&format!(
            "/api/dcim/interfaces/?limit=10&offset={}",
            total + 10
        ))
        .await;
    assert!(r.results().is_empty());
    assert_eq!(
        r.json["previous"],
        format!(
            "http://netbox.sim/api/dcim/interfaces/?limit=10&offset={}",
            total
        )
    );
}

#[tokio::test(start_paused = true)]
async fn pagination_links_rebuild_the_query_sorted_by_key_and_drop_offset_zero() {
    let c = vlab().await;
    let r = c
        .get("/api/dcim/devices/?site=vlab&limit=5&offset=5&role=server")
        .await;
    assert_eq!(r.json["count"], 6);
    assert_eq!(r.json["next"], Value::Null);
    assert_eq!(
        r.json["previous"],
        "http://netbox.sim/api/dcim/devices/?limit=5&role=server&site=vlab"
    );
    let r = c
        .get("/api/dcim/devices/?role=server&limit=2&offset=2")
        .await;
    assert_eq!(
        r.json["next"],
        "http://netbox.sim/api/dcim/devices/?limit=2&offset=4&role=server"
    );
    let r = c.get("/api/dcim/devices/?offset=5").await;
    assert_eq!(
        r.json["previous"],
        "http://netbox.sim/api/dcim/devices/?limit=50"
    );
    let r = c
        .get("/api/core/object-changes/?time_after=2026-01-01T00:00:00Z&limit=2")
        .await;
    assert_eq!(
        r.json["next"],
        "http://netbox.sim/api/core/object-changes/?limit=2&offset=2&time_after=2026-01-01T00%3A00%3A00Z"
    );
    // Following `next` reads every object exactly once.
    let mut url = "/api/dcim/interfaces/?limit=37&device=leaf-01".to_string();
    let mut seen = Vec::new();
    loop {
        let r = c.get(&url).await;
        seen.extend(r.results().iter().map(|x| x["id"].as_u64().unwrap()));
        match r.json["next"].as_str() {
            Some(n) => url = n.replace("http://netbox.sim", ""),
            None => break,
        }
    }
    let count = c
        .get("/api/dcim/interfaces/?device=leaf-01&limit=1")
        .await
        .json["count"]
        .as_u64()
        .unwrap();
    let mut dedup = seen.clone();
    dedup.sort_unstable();
    dedup.dedup();
    assert_eq!((seen.len() as u64, dedup.len() as u64), (count, count));
}

#[tokio::test(start_paused = true)]
async fn cursor_pagination_orders_by_id_without_count() {
    let c = vlab().await;
    let r = c.get("/api/dcim/devices/?start=3&limit=3").await;
    assert_eq!(r.json["count"], Value::Null);
    let ids: Vec<u64> = r
        .results()
        .iter()
        .map(|x| x["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [3, 4, 5]);
    assert_eq!(
        r.json["next"],
        "http://netbox.sim/api/dcim/devices/?limit=3&start=6"
    );
    assert_eq!(r.json["previous"], Value::Null);
    let last = c.get("/api/dcim/devices/?start=11&limit=3").await;
    assert_eq!(last.json["next"], Value::Null);
    let bare = |r: &common::Resp| (r.status, r.json.clone());
    assert_eq!(
        bare(&c.get("/api/dcim/devices/?start=3&offset=1").await),
        (400, json!(["'start' and 'offset' are mutually exclusive."]))
    );
    assert_eq!(
        bare(&c.get("/api/dcim/devices/?start=-1").await),
        (
            400,
            json!(["Invalid 'start' parameter: must be a non-negative integer."])
        )
    );
    assert_eq!(
        bare(&c.get("/api/dcim/devices/?start=1&ordering=name").await),
        (
            400,
            json!(["Ordering cannot be specified in conjunction with cursor-based pagination."])
        )
    );
}

#[tokio::test(start_paused = true)]
async fn brief_fields_and_omit_shape_objects() {
    let c = vlab().await;
    let r = c.get("/api/dcim/devices/?brief=1&limit=1").await;
    assert_eq!(
        keys(&r.results()[0]),
        ["id", "url", "display", "name", "description"]
    );
    let r = c.get("/api/dcim/interfaces/?brief=true&limit=1").await;
    assert_eq!(
        keys(&r.results()[0]),
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
    let r = c
        .get("/api/dcim/devices/?fields=id,name,last_updated&limit=1")
        .await;
    assert_eq!(keys(&r.results()[0]), ["id", "name", "last_updated"]);
    let r = c.get("/api/dcim/devices/?fields=nosuch&limit=1").await;
    assert_eq!(r.results()[0], json!({}));
    let full = c.get("/api/dcim/devices/?limit=1").await;
    let omitted = c
        .get("/api/dcim/devices/?omit=config_context,tags&limit=1")
        .await;
    assert_eq!(
        keys(&full.results()[0]).len(),
        keys(&omitted.results()[0]).len() + 2
    );
    assert!(omitted.results()[0].get("tags").is_none());
    let one = c.get("/api/dcim/devices/1/?fields=id,name").await;
    assert_eq!(keys(&one.json), ["id", "name"]);
}

#[tokio::test(start_paused = true)]
async fn default_orderings_are_natural_and_ordering_param_sorts() {
    let c = empty().await;
    small_world(&c).await;
    let r = c.get("/api/dcim/devices/").await;
    assert_eq!(r.names(), ["leaf2", "spine1", "spine10"]);
    let r = c.get("/api/dcim/devices/?ordering=-name").await;
    assert_eq!(r.names(), ["spine10", "spine1", "leaf2"]);
    let r = c.get("/api/dcim/devices/?ordering=-id").await;
    assert_eq!(r.names(), ["leaf2", "spine10", "spine1"]);
    let r = c.get("/api/dcim/devices/?ordering=nosuch").await;
    assert_eq!(
        r.names(),
        ["leaf2", "spine1", "spine10"],
        "unknown ordering fields are ignored"
    );
    let v = vlab().await;
    let r = v.get("/api/dcim/interfaces/?device=spine-01&limit=4").await;
    assert_eq!(r.names(), ["E1/1", "E1/2", "E1/3", "E1/4"]);
    let names = v
        .get("/api/dcim/interfaces/?device=spine-01&limit=1000")
        .await
        .names();
    assert_eq!(
        names.last().map(String::as_str),
        Some("M1"),
        "M1 sorts after E1/n as naturalize_interface does"
    );
    let changes = v.get("/api/core/object-changes/?limit=3").await;
    let ids: Vec<u64> = changes
        .results()
        .iter()
        .map(|x| x["id"].as_u64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
}

#[tokio::test(start_paused = true)]
async fn device_filters_a_sync_needs() {
    let c = empty().await;
    let w = small_world(&c).await;
    let names = |q: String| {
        let c = c.clone();
        async move { c.get(&format!("/api/dcim/devices/{q}")).await.names() }
    };
    assert_eq!(
        names("?site=dc1".into()).await,
        ["leaf2", "spine1", "spine10"]
    );
    assert_eq!(names(format!("?site_id={}", w["site"])).await.len(), 3);
    assert_eq!(names("?role=spine".into()).await, ["spine1", "spine10"]);
    assert_eq!(
        names("?role=spine&role=leaf".into()).await.len(),
        3,
        "repeated = OR"
    );
    assert_eq!(names("?tag=spine".into()).await, ["spine1"]);
    assert_eq!(names("?status=planned".into()).await, ["spine10"]);
    assert_eq!(names("?status=active&status=planned".into()).await.len(), 3);
    assert_eq!(
        names("?name=SPINE1".into()).await,
        ["spine1"],
        "device name filter is case-insensitive"
    );
    assert_eq!(names("?name__ic=PINE".into()).await, ["spine1", "spine10"]);
    assert_eq!(names("?name__isw=lea".into()).await, ["leaf2"]);
    assert_eq!(names("?name__n=spine1".into()).await, ["leaf2", "spine10"]);
    assert_eq!(names("?q=spine1".into()).await, ["spine1", "spine10"]);
    assert_eq!(names("?cf_asset_owner=netops".into()).await, ["spine1"]);
    assert_eq!(
        names("?cf_asset_owner=NET".into()).await,
        ["spine1"],
        "text custom fields filter loosely"
    );
    assert_eq!(
        names(format!("?id={}&id={}", w["s1"], w["l1"])).await,
        ["leaf2", "spine1"]
    );
    assert_eq!(
        names(format!("?id__gt={}", w["s1"])).await,
        ["leaf2", "spine10"]
    );
    assert_eq!(names(format!("?id__lte={}", w["s1"])).await, ["spine1"]);
    assert_eq!(
        names("?id__in=1,2".into()).await.len(),
        3,
        "id__in is not a filter: ignored"
    );
    assert_eq!(
        names("?nosuchfilter=1".into()).await.len(),
        3,
        "unknown filters are ignored"
    );
    assert_eq!(names("?last_updated__gte=2026-01-01".into()).await.len(), 3);
    assert_eq!(
        names("?created__gte=2099-01-01T00:00:00Z".into())
            .await
            .len(),
        0
    );
    assert_eq!(names("?has_primary_ip=false".into()).await.len(), 3);
    assert_eq!(
        names("?device_type=switch-9000&manufacturer=acme".into())
            .await
            .len(),
        3
    );
    assert_eq!(
        c.get("/api/dcim/devices/?site=dc1&limit=1&brief=1")
            .await
            .json["count"],
        3
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_filter_values_are_rejected_with_netboxs_texts() {
    let c = empty().await;
    small_world(&c).await;
    let cases = [
        (
            "?site=nope",
            json!({"site": ["Select a valid choice. nope is not one of the available choices."]}),
        ),
        (
            "?site_id=999",
            json!({"site_id": ["Select a valid choice. 999 is not one of the available choices."]}),
        ),
        (
            "?site_id=abc",
            json!({"site_id": ["\u{201c}abc\u{201d} is not a valid value."]}),
        ),
        (
            "?status=bogus",
            json!({"status": ["Select a valid choice. bogus is not one of the available choices."]}),
        ),
        (
            "?role=nope",
            json!({"role": ["Select a valid choice. nope is not one of the available choices."]}),
        ),
        (
            "?tag=nope",
            json!({"tag": ["Select a valid choice. nope is not one of the available choices."]}),
        ),
        ("?id=abc", json!({"id": ["Enter a whole number."]})),
        (
            "?last_updated__gte=garbage",
            json!({"last_updated__gte": ["Enter a valid date/time."]}),
        ),
    ];
    for (q, body) in cases {
        let r = c.get(&format!("/api/dcim/devices/{q}")).await;
        assert_eq!((r.status, r.json), (400, body), "{q}");
    }
    let r = c.get("/api/dcim/interfaces/?device=nope").await;
    assert_eq!(
        r.json,
        json!({"device": ["Select a valid choice. nope is not one of the available choices."]})
    );
    let r = c.get("/api/dcim/interfaces/?type=bogus").await;
    assert_eq!(
        r.json,
        json!({"type": ["Select a valid choice. bogus is not one of the available choices."]})
    );
}

#[tokio::test(start_paused = true)]
async fn interface_and_cable_filters() {
    let c = vlab().await;
    let count = |q: &'static str| {
        let c = c.clone();
        async move {
            let r = c.get(&format!("{q}&limit=1")).await;
            assert_eq!(r.status, 200, "{q}: {}", r.text);
            r.json["count"].as_u64().unwrap()
        }
    };
    assert_eq!(
        count("/api/dcim/interfaces/?type=lag").await,
        4,
        "4 LAG servers in VLAB"
    );
    assert_eq!(
        count("/api/dcim/interfaces/?mgmt_only=true").await,
        5,
        "one M1 per switch"
    );
    let bond = c
        .get("/api/dcim/interfaces/?device=server-01&name=bond0")
        .await;
    let bond_id = bond.results()[0]["id"].as_u64().unwrap();
    let members = c
        .get(&format!("/api/dcim/interfaces/?lag_id={bond_id}"))
        .await;
    assert_eq!(members.names(), ["enp2s1", "enp2s2"]);
    assert_eq!(
        count("/api/dcim/interfaces/?device=leaf-01&cabled=true").await,
        4 + 3
    );
    assert_eq!(
        count("/api/dcim/interfaces/?site=vlab&kind=virtual").await,
        4
    );
    let r = c.get("/api/dcim/interfaces/?device_id=999999").await;
    assert_eq!(
        r.json,
        json!({"device_id": ["Select a valid choice. 999999 is not one of the available choices."]})
    );
    let r = c.get("/api/dcim/cables/?device=leaf-03").await;
    assert!(r.json["count"].as_u64().unwrap() >= 6);
    let by_site = c.get("/api/dcim/cables/?site=vlab&limit=1").await.json["count"].clone();
    assert_eq!(
        by_site,
        c.get("/api/dcim/cables/?limit=1").await.json["count"]
    );
    let access = count("/api/dcim/interfaces/?mode=access").await;
    assert!(
        access >= 5,
        "server attachments and the external port: {access}"
    );
}

#[tokio::test(start_paused = true)]
async fn create_returns_201_location_etag_and_duplicates_are_400() {
    let c = empty().await;
    let r = c
        .post(
            "/api/dcim/sites/",
            json!({"name": "DC1", "slug": "dc1", "status": "active"}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.header("location"),
        Some("http://netbox.sim/api/dcim/sites/1/")
    );
    assert!(
        r.header("etag")
            .unwrap()
            .starts_with("W/\"2026-01-01T00:00:00")
    );
    assert_eq!(
        r.json["status"],
        json!({"value": "active", "label": "Active"})
    );
    assert_eq!(r.json["display_url"], "http://netbox.sim/dcim/sites/1/");
    let r = c
        .post("/api/dcim/sites/", json!({"name": "DC1", "slug": "dc1"}))
        .await;
    assert_eq!(
        (r.status, r.json),
        (
            400,
            json!({"name": ["site with this name already exists."], "slug": ["site with this slug already exists."]})
        )
    );
    let r = c
        .post("/api/dcim/sites/", json!({"name": "", "slug": "bad slug!"}))
        .await;
    assert_eq!(
        r.json,
        json!({"name": ["This field may not be blank."], "slug": ["Enter a valid \"slug\" consisting of letters, numbers, underscores or hyphens."]})
    );
}

#[tokio::test(start_paused = true)]
async fn device_validation_errors_and_related_object_references() {
    let c = empty().await;
    let w = small_world(&c).await;
    let r = c
        .post(
            "/api/dcim/devices/",
            json!({"name": "broken", "status": "bogus"}),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"device_type": ["This field is required."], "role": ["This field is required."], "site": ["This field is required."], "status": ["bogus is not a valid choice."]})
    );
    let r = c
        .post(
            "/api/dcim/devices/",
            json!({"name": "x", "device_type": 99999, "role": w["spine"], "site": w["site"]}),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"device_type": ["Related object not found using the provided numeric ID: 99999"]})
    );
    let r = c
        .post("/api/dcim/devices/", json!({"name": "x", "device_type": {"slug": "nope"}, "role": w["spine"], "site": w["site"], "tags": [{"slug": "nosuchtag"}]}))
        .await;
    assert_eq!(
        r.json,
        json!({"device_type": ["Related object not found using the provided attributes: {'slug': 'nope'}"], "tags": ["Related object not found using the provided attributes: {'slug': 'nosuchtag'}"]})
    );
    let r = c.post("/api/dcim/devices/", json!({"name": "x", "device_type": "vs", "role": w["spine"], "site": w["site"], "tags": ["spine"]})).await;
    assert_eq!(
        r.json["device_type"],
        json!([
            "Related objects must be referenced by numeric ID or by dictionary of attributes. Received an unrecognized value: vs"
        ])
    );
    assert_eq!(
        r.json["tags"],
        json!([
            "Related objects must be referenced by numeric ID or by dictionary of attributes. Received an unrecognized value: spine"
        ])
    );
    let r = c.post("/api/dcim/devices/", json!({"name": "SPINE1", "device_type": w["dt"], "role": w["spine"], "site": w["site"]})).await;
    assert_eq!(
        r.json,
        json!({"__all__": ["Device name must be unique per site and tenant."]})
    );
    let r = c
        .post("/api/dcim/devices/", json!({"name": "byattr", "device_type": {"slug": "switch-9000"}, "role": {"slug": "leaf"}, "site": {"slug": "dc1"}, "tags": [w["tag"]]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["role"]["slug"], "leaf");
    assert_eq!(r.json["tags"][0]["slug"], "spine");
    assert_eq!(r.json["custom_fields"], json!({"asset_owner": null}));
    assert_eq!(
        c.get("/api/dcim/devices/?limit=1").await.json["count"],
        4,
        "failed creates changed nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn bulk_create_is_atomic_and_bulk_update_and_delete_work() {
    let c = empty().await;
    let w = small_world(&c).await;
    let r = c
        .post("/api/dcim/interfaces/", json!([{"device": w["s1"], "name": "E1/1", "type": "100gbase-x-qsfp28"}, {"device": w["s1"], "name": "E1/2"}]))
        .await;
    assert_eq!(
        (r.status, r.json),
        (
            400,
            json!({"detail": "1 of 2 objects could not be created.", "errors": [{"index": 1, "errors": {"type": ["This field is required."]}}]})
        )
    );
    assert_eq!(
        c.get("/api/dcim/interfaces/").await.json["count"],
        0,
        "nothing created"
    );
    let r = c
        .post("/api/dcim/interfaces/", json!([{"device": w["s1"], "name": "E1/1", "type": "100gbase-x-qsfp28"}, {"device": w["l1"], "name": "E1/1", "type": "100gbase-x-qsfp28"}]))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json.as_array().unwrap().len(), 2);
    assert!(r.header("location").is_none());
    let r = c
        .patch(
            "/api/dcim/devices/",
            json!([{"id": w["s1"], "description": "a"}, {"id": w["l1"], "description": "b"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        c.get(&format!("/api/dcim/devices/{}/", w["l1"])).await.json["description"],
        "b"
    );
    let r = c
        .patch("/api/dcim/devices/", json!([{"description": "x"}]))
        .await;
    assert_eq!(
        r.json,
        json!({"detail": "1 of 1 objects failed validation.", "errors": [{"index": 0, "errors": {"id": ["This field is required."]}}]})
    );
    let r = c
        .delete_body("/api/dcim/devices/", json!([{"id": 99999}]))
        .await;
    assert_eq!(
        (r.status, r.json),
        (
            400,
            json!({"detail": "1 of 1 objects could not be found.", "errors": [{"id": 99999, "errors": {"id": ["Object with ID 99999 does not exist"]}}]})
        )
    );
    let r = c.delete_body("/api/dcim/devices/", json!({"id": 1})).await;
    assert_eq!(
        r.json,
        json!({"detail": "Expected a list of objects, but got dict."})
    );
    let r = c
        .delete_body(
            "/api/dcim/devices/",
            json!([{"id": w["s2"]}, {"id": w["l1"]}]),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(c.get("/api/dcim/devices/").await.names(), ["spine1"]);
}

#[tokio::test(start_paused = true)]
async fn put_requires_required_fields_and_patch_is_partial() {
    let c = empty().await;
    let w = small_world(&c).await;
    let path = format!("/api/dcim/devices/{}/", w["s2"]);
    let r = c.put(&path, json!({"name": "spine10"})).await;
    assert_eq!(
        r.json,
        json!({"device_type": ["This field is required."], "role": ["This field is required."], "site": ["This field is required."]})
    );
    let r = c.put(&path, json!({"name": "spine10", "device_type": w["dt"], "role": w["spine"], "site": w["site"]})).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json["status"]["value"], "planned",
        "PUT keeps fields it does not name"
    );
    let before = c.get(&path).await;
    tokio::time::advance(std::time::Duration::from_secs(5)).await;
    let r = c.patch(&path, json!({"serial": "SN-1"})).await;
    assert_eq!(r.json["serial"], "SN-1");
    assert_eq!(r.json["name"], "spine10");
    assert!(
        r.json["last_updated"].as_str() > before.json["last_updated"].as_str(),
        "PATCH bumps last_updated"
    );
    assert_ne!(r.header("etag"), before.header("etag"));
}

#[tokio::test(start_paused = true)]
async fn if_match_with_a_stale_etag_is_412() {
    let c = empty().await;
    let w = small_world(&c).await;
    let path = format!("/api/dcim/devices/{}/", w["s1"]);
    let etag = c.get(&path).await.header("etag").unwrap().to_string();
    assert!(
        etag.starts_with("W/\"") && etag.ends_with("+00:00\""),
        "{etag}"
    );
    let stale = "W/\"2000-01-01T00:00:00+00:00\"";
    let r = c
        .send(
            "PATCH",
            &path,
            Some(r#"{"serial":"X"}"#),
            &[("if-match", stale)],
        )
        .await;
    assert_eq!(
        (r.status, &r.json),
        (412, &json!({"detail": "Precondition failed."}))
    );
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = c
        .send(
            "PATCH",
            &path,
            Some(r#"{"serial":"Y"}"#),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 200);
    let r = c.send("DELETE", &path, None, &[("if-match", stale)]).await;
    assert_eq!(r.status, 412);
}

#[tokio::test(start_paused = true)]
async fn delete_is_204_and_protected_objects_are_409() {
    let c = empty().await;
    let w = small_world(&c).await;
    let r = c
        .delete(&format!("/api/dcim/device-roles/{}/", w["leaf"]))
        .await;
    assert_eq!(
        (r.status, r.json),
        (
            409,
            json!({"detail": format!("Unable to delete object. 1 dependent objects were found: leaf2 ({})", w["l1"])})
        )
    );
    let r = c.delete(&format!("/api/dcim/devices/{}/", w["l1"])).await;
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    assert!(r.header("content-type").is_none());
    assert_eq!(
        c.delete(&format!("/api/dcim/device-roles/{}/", w["leaf"]))
            .await
            .status,
        204
    );
}

#[tokio::test(start_paused = true)]
async fn not_found_method_not_allowed_bad_json_and_media_type() {
    let c = empty().await;
    let r = c.get("/api/dcim/devices/99999/").await;
    assert_eq!(
        (r.status, r.json),
        (404, json!({"detail": "No Device matches the given query."}))
    );
    let r = c.get("/api/ipam/ip-addresses/99999/").await;
    assert_eq!(
        r.json,
        json!({"detail": "No IPAddress matches the given query."})
    );
    for path in ["/api/dcim/nosuchthing/", "/api/extras/object-changes/"] {
        let r = c.get(path).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(r.text.contains("<title>Page Not Found | NetBox</title>"));
    }
    let r = c.post("/api/status/", json!({})).await;
    assert_eq!(
        (r.status, r.json),
        (405, json!({"detail": "Method \"POST\" not allowed."}))
    );
    let r = c.post("/api/core/object-changes/", json!({})).await;
    assert_eq!(r.status, 405);
    let r = c
        .send("POST", "/api/dcim/sites/", Some("{\"name\": "), &[])
        .await;
    assert_eq!(
        (r.status, r.json),
        (
            400,
            json!({"detail": "JSON parse error - Expecting value: line 1 column 10 (char 9)"})
        )
    );
    let r = c
        .send(
            "POST",
            "/api/dcim/sites/",
            Some("{\"name\":\"a\"}"),
            &[("content-type", "text/plain")],
        )
        .await;
    assert_eq!(
        (r.status, r.json),
        (
            415,
            json!({"detail": "Unsupported media type \"text/plain\" in request."})
        )
    );
    let r = c.get("/api/dcim/devices").await;
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/api/dcim/devices/"));
}

#[tokio::test(start_paused = true)]
async fn custom_fields_are_validated_by_type_and_null_when_unset() {
    let c = empty().await;
    let w = small_world(&c).await;
    c.create(
        "/api/extras/custom-field-choice-sets/",
        json!({"name": "redundancy", "extra_choices": [["eslag", "ESLAG"], ["mclag", "MCLAG"]]}),
    )
    .await;
    for cf in [
        json!({"name": "asn", "type": "integer", "object_types": ["dcim.device"], "validation_minimum": 1, "validation_maximum": 70000}),
        json!({"name": "lab", "type": "boolean", "object_types": ["dcim.device"]}),
        json!({"name": "mode", "type": "select", "object_types": ["dcim.device"], "choice_set": {"name": "redundancy"}}),
        json!({"name": "synced", "type": "datetime", "object_types": ["dcim.device"]}),
        json!({"name": "born", "type": "date", "object_types": ["dcim.device"]}),
    ] {
        c.create("/api/extras/custom-fields/", cf).await;
    }
    let dev = format!("/api/dcim/devices/{}/", w["l1"]);
    let r = c.get(&dev).await;
    assert_eq!(
        r.json["custom_fields"],
        json!({"asn": null, "asset_owner": null, "born": null, "lab": null, "mode": null, "synced": null}),
        "every assigned field, null when unset, in NetBox's order"
    );
    let cases = [
        (
            json!({"asn": "abc"}),
            "Invalid value for custom field 'asn': Value must be an integer.",
        ),
        (
            json!({"asn": 0}),
            "Invalid value for custom field 'asn': Value must be at least 1.0000",
        ),
        (
            json!({"asn": 70001}),
            "Invalid value for custom field 'asn': Value must not exceed 70000.0000",
        ),
        (
            json!({"lab": "maybe"}),
            "Invalid value for custom field 'lab': Value must be true or false.",
        ),
        (
            json!({"mode": "nope"}),
            "Invalid value for custom field 'mode': Invalid choice (nope) for choice set redundancy.",
        ),
        (
            json!({"synced": "yesterday"}),
            "Invalid value for custom field 'synced': Date and time values must be in ISO 8601 format (YYYY-MM-DD HH:MM:SS).",
        ),
        (
            json!({"born": "2026-13-45"}),
            "Invalid value for custom field 'born': Date values must be in ISO 8601 format (YYYY-MM-DD).",
        ),
        (
            json!({"asset_owner": 5}),
            "Invalid value for custom field 'asset_owner': Value must be a string.",
        ),
    ];
    for (cf, msg) in cases {
        let r = c.patch(&dev, json!({"custom_fields": cf})).await;
        assert_eq!((r.status, r.json), (400, json!({"__all__": [msg]})), "{cf}");
    }
    let r = c.patch(&dev, json!({"custom_fields": {"nosuch": 1}})).await;
    assert_eq!(
        r.json,
        json!({"custom_fields": {"nosuch": "Custom field 'nosuch' does not exist for this object type."}})
    );
    let r = c.patch(&dev, json!({"custom_fields": "x"})).await;
    assert_eq!(
        r.json,
        json!({"custom_fields": ["Invalid data format. Custom field data must be passed as a dictionary mapping field names to their values."]})
    );
    let r = c
        .patch(&dev, json!({"custom_fields": {"asn": 65101, "lab": true, "mode": "eslag", "synced": "2026-01-02T03:04:05Z", "born": "2026-01-02"}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json["custom_fields"]["mode"],
        json!({"value": "eslag", "label": "ESLAG"})
    );
    assert_eq!(r.json["custom_fields"]["asn"], 65101);
    let names = c.get("/api/dcim/devices/?cf_asn=65101").await.names();
    assert_eq!(names, ["leaf2"]);
    assert_eq!(
        c.get("/api/dcim/devices/?cf_lab=true").await.names(),
        ["leaf2"]
    );
    assert_eq!(
        c.get("/api/dcim/devices/?cf_mode=eslag").await.names(),
        ["leaf2"]
    );
    assert_eq!(
        c.get("/api/dcim/devices/?cf_asn=abc").await.json,
        json!({"cf_asn": ["Enter a whole number."]})
    );
    let r = c.patch(&dev, json!({"custom_fields": {"lab": null}})).await;
    assert_eq!(
        r.json["custom_fields"]["asn"], 65101,
        "PATCH merges custom field data"
    );
}

#[tokio::test(start_paused = true)]
async fn interfaces_lags_mac_addresses_vlans_and_ips() {
    let c = empty().await;
    let w = small_world(&c).await;
    let bond = c
        .create(
            "/api/dcim/interfaces/",
            json!({"device": w["l1"], "name": "bond0", "type": "lag"}),
        )
        .await;
    let e1 = c
        .create(
            "/api/dcim/interfaces/",
            json!({"device": w["l1"], "name": "enp2s1", "type": "25gbase-x-sfp28", "lag": bond}),
        )
        .await;
    let r = c.get(&format!("/api/dcim/interfaces/{e1}/")).await;
    assert_eq!(
        keys(&r.json["lag"]),
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
    let other = c
        .create(
            "/api/dcim/interfaces/",
            json!({"device": w["s1"], "name": "E1/1", "type": "100gbase-x-qsfp28"}),
        )
        .await;
    let r = c
        .patch(
            &format!("/api/dcim/interfaces/{other}/"),
            json!({"lag": bond}),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"lag": ["The selected LAG interface (bond0) belongs to a different device (leaf2)."]})
    );
    let mac = c
        .create("/api/dcim/mac-addresses/", json!({"mac_address": "0c:20:12:ff:01:00", "assigned_object_type": "dcim.interface", "assigned_object_id": e1}))
        .await;
    let r = c
        .patch(
            &format!("/api/dcim/interfaces/{e1}/"),
            json!({"primary_mac_address": mac}),
        )
        .await;
    assert_eq!(r.json["mac_address"], "0C:20:12:FF:01:00");
    assert_eq!(
        r.json["mac_addresses"][0]["mac_address"],
        "0C:20:12:FF:01:00"
    );
    assert_eq!(
        c.get(&format!("/api/dcim/mac-addresses/{mac}/")).await.json["is_primary"],
        true
    );
    let r = c
        .post("/api/dcim/mac-addresses/", json!({"mac_address": "zz:zz"}))
        .await;
    assert_eq!(
        r.json,
        json!({"mac_address": ["Invalid MAC address format: zz:zz"]})
    );
    let vg = c
        .create("/api/ipam/vlan-groups/", json!({"name": "default", "slug": "default", "scope_type": "dcim.site", "scope_id": w["site"], "vid_ranges": [[1000, 2999]]}))
        .await;
    let r = c.get(&format!("/api/ipam/vlan-groups/{vg}/")).await;
    assert_eq!(r.json["vid_ranges"], json!([[1000, 2999]]));
    assert_eq!(r.json["total_vlan_ids"], 2000);
    assert_eq!(r.json["scope"]["slug"], "dc1");
    let r = c
        .post(
            "/api/ipam/vlans/",
            json!({"vid": 10, "name": "low", "group": vg}),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"vid": ["VID must be in ranges 1000-2999 for VLANs in group default"]})
    );
    let v1 = c
        .create(
            "/api/ipam/vlans/",
            json!({"vid": 1001, "name": "v1001", "group": vg}),
        )
        .await;
    let v2 = c
        .create(
            "/api/ipam/vlans/",
            json!({"vid": 1002, "name": "v1002", "group": vg}),
        )
        .await;
    let r = c
        .patch(
            &format!("/api/dcim/interfaces/{bond}/"),
            json!({"tagged_vlans": [v1]}),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"tagged_vlans": ["Interface mode does not support tagged vlans"]})
    );
    let r = c
        .patch(
            &format!("/api/dcim/interfaces/{bond}/"),
            json!({"mode": "tagged", "tagged_vlans": [v1, v2]}),
        )
        .await;
    assert_eq!(
        r.json["mode"],
        json!({"value": "tagged", "label": "Tagged"})
    );
    assert_eq!(r.json["tagged_vlans"].as_array().unwrap().len(), 2);
    assert_eq!(
        c.get(&format!("/api/dcim/interfaces/?vlan_id={v2}"))
            .await
            .names(),
        ["bond0"]
    );
    // Leaving tagged mode with tagged VLANs still assigned is refused (as NetBox 4.7 does)...
    let r = c
        .patch(
            &format!("/api/dcim/interfaces/{bond}/"),
            json!({"mode": "access", "untagged_vlan": v1}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json,
        json!({"tagged_vlans": ["Interface mode does not support tagged vlans"]})
    );
    // ...but q-in-q is allowed, and save() then clears them.
    let r = c
        .patch(
            &format!("/api/dcim/interfaces/{bond}/"),
            json!({"mode": "q-in-q"}),
        )
        .await;
    assert_eq!(
        r.json["tagged_vlans"],
        json!([]),
        "leaving tagged mode clears tagged VLANs"
    );
    let r = c
        .patch(
            &format!("/api/dcim/interfaces/{bond}/"),
            json!({"mode": "access", "untagged_vlan": v1}),
        )
        .await;
    assert_eq!(r.json["untagged_vlan"]["vid"], 1001);
    let m1 = c
        .create(
            "/api/dcim/interfaces/",
            json!({"device": w["l1"], "name": "M1", "type": "1000base-t", "mgmt_only": true}),
        )
        .await;
    let ip = c
        .create("/api/ipam/ip-addresses/", json!({"address": "172.30.0.10/21", "assigned_object_type": "dcim.interface", "assigned_object_id": m1}))
        .await;
    let r = c
        .patch(
            &format!("/api/dcim/devices/{}/", w["s1"]),
            json!({"primary_ip4": ip}),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"primary_ip4": ["The specified IP address (172.30.0.10/21) is not assigned to this device."]})
    );
    let r = c
        .patch(
            &format!("/api/dcim/devices/{}/", w["l1"]),
            json!({"primary_ip4": ip}),
        )
        .await;
    assert_eq!(r.json["primary_ip4"]["address"], "172.30.0.10/21");
    assert_eq!(r.json["primary_ip"]["id"], ip);
    assert_eq!(
        c.get(&format!("/api/ipam/ip-addresses/?device_id={}", w["l1"]))
            .await
            .json["count"],
        1
    );
    assert_eq!(
        c.get("/api/ipam/ip-addresses/?parent=172.30.0.0/16")
            .await
            .json["count"],
        1
    );
    let r = c.get(&format!("/api/ipam/ip-addresses/{ip}/")).await;
    assert_eq!(r.json["family"], json!({"value": 4, "label": "IPv4"}));
    assert_eq!(r.json["assigned_object"]["device"]["name"], "leaf2");
}

#[tokio::test(start_paused = true)]
async fn vrfs_prefixes_scopes_and_ipam_errors() {
    let c = empty().await;
    let w = small_world(&c).await;
    let vrf = c
        .create("/api/ipam/vrfs/", json!({"name": "vpc-1", "rd": "65000:1"}))
        .await;
    let p = c
        .create("/api/ipam/prefixes/", json!({"prefix": "10.0.1.0/24", "vrf": vrf, "scope_type": "dcim.site", "scope_id": w["site"]}))
        .await;
    let r = c.get(&format!("/api/ipam/prefixes/{p}/")).await;
    assert_eq!(r.json["vrf"]["display"], "vpc-1 (65000:1)");
    assert_eq!(r.json["scope"]["slug"], "dc1");
    assert_eq!(r.json["family"]["value"], 4);
    assert_eq!(
        c.get(&format!("/api/ipam/prefixes/?site_id={}", w["site"]))
            .await
            .json["count"],
        1
    );
    assert_eq!(
        c.get("/api/ipam/prefixes/?vrf=65000:1").await.json["count"],
        1
    );
    assert_eq!(
        c.get(&format!("/api/ipam/vrfs/{vrf}/")).await.json["prefix_count"],
        1
    );
    let r = c
        .post("/api/ipam/prefixes/", json!({"prefix": "10.0.2.5/24"}))
        .await;
    assert_eq!(
        r.json,
        json!({"prefix": ["10.0.2.5/24 is not a valid prefix. Did you mean 10.0.2.0/24?"]})
    );
    let r = c
        .post("/api/ipam/ip-addresses/", json!({"address": "nope"}))
        .await;
    assert_eq!(
        r.json,
        json!({"address": ["Invalid IP address format: nope"]})
    );
    let r = c
        .post(
            "/api/ipam/vlan-groups/",
            json!({"name": "x", "slug": "x", "vid_ranges": [[3000, 2000]]}),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"vid_ranges": ["Ending VLAN ID in range must be greater than or equal to the starting VLAN ID (3000-2000)"]})
    );
    let r = c.delete(&format!("/api/ipam/vrfs/{vrf}/")).await;
    assert_eq!(r.status, 409);
}

#[tokio::test(start_paused = true)]
async fn virtual_chassis_members_and_journal_entries() {
    let c = empty().await;
    let w = small_world(&c).await;
    let vc = c
        .create("/api/dcim/virtual-chassis/", json!({"name": "mclag-1"}))
        .await;
    for (d, pos) in [(&w["l1"], 1), (&w["s2"], 2)] {
        let r = c
            .patch(
                &format!("/api/dcim/devices/{d}/"),
                json!({"virtual_chassis": vc, "vc_position": pos}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = c
        .patch(
            &format!("/api/dcim/virtual-chassis/{vc}/"),
            json!({"master": w["l1"]}),
        )
        .await;
    assert_eq!(r.json["member_count"], 2);
    assert_eq!(
        keys(&r.json["master"]),
        ["id", "url", "display_url", "display", "name"]
    );
    assert_eq!(r.json["members"].as_array().unwrap().len(), 2);
    let r = c.delete(&format!("/api/dcim/devices/{}/", w["l1"])).await;
    assert_eq!(
        r.json,
        json!({"detail": format!("Unable to delete object. 1 dependent objects were found: mclag-1 ({vc})")})
    );
    let j = c
        .post("/api/extras/journal-entries/", json!({"assigned_object_type": "dcim.site", "assigned_object_id": w["site"], "comments": "synced", "kind": "success"}))
        .await;
    assert_eq!(j.status, 201);
    assert_eq!(j.json["display"], "2026-01-01 00:00 (Success)");
    assert_eq!(j.json["created_by"], 1);
    assert_eq!(j.json["assigned_object"]["slug"], "dc1");
    let r = c.post("/api/extras/journal-entries/", json!({"assigned_object_type": "dcim.site", "assigned_object_id": 9999, "comments": "x"})).await;
    assert_eq!(
        r.json,
        json!({"__all__": ["Invalid assigned_object: DCIM > Site ID 9999"]})
    );
    let list = c
        .get(&format!(
            "/api/extras/journal-entries/?assigned_object_type=dcim.site&assigned_object_id={}",
            w["site"]
        ))
        .await;
    assert_eq!(list.json["count"], 1);
}

#[tokio::test(start_paused = true)]
async fn cables_write_the_change_records_netbox_writes() {
    let c = empty().await;
    let w = small_world(&c).await;
    let a = c
        .create(
            "/api/dcim/interfaces/",
            json!({"device": w["s1"], "name": "E1/1", "type": "100gbase-x-qsfp28"}),
        )
        .await;
    let b = c
        .create(
            "/api/dcim/interfaces/",
            json!({"device": w["l1"], "name": "E1/1", "type": "100gbase-x-qsfp28"}),
        )
        .await;
    let r = c
        .post(
            "/api/dcim/cables/",
            json!({"a_terminations": [{"object_type": "dcim.interface", "object_id": a}], "b_terminations": [{"object_type": "dcim.interface", "object_id": b}], "status": "connected", "label": "c1"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let cable = r.json["id"].as_u64().unwrap();
    let rid = r.header("x-request-id").unwrap().to_string();
    assert_eq!(
        r.json["a_terminations"][0]["object"]["cable"]["display"],
        "c1"
    );
    let changes = c
        .get(&format!(
            "/api/core/object-changes/?request_id={rid}&ordering=id"
        ))
        .await;
    let seq: Vec<(String, String)> = changes
        .results()
        .iter()
        .map(|x| {
            (
                x["action"]["value"].as_str().unwrap().into(),
                x["changed_object_type"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("create", "dcim.cable"),
        ("create", "dcim.cabletermination"),
        ("update", "dcim.interface"),
        ("create", "dcim.cabletermination"),
        ("update", "dcim.interface"),
        ("update", "dcim.cable"),
    ];
    assert_eq!(
        seq,
        want.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    );
    let last = &changes.results()[5];
    assert_eq!(last["prechange_data"], json!({}));
    assert_eq!(last["postchange_data"]["a_terminations"], json!([1]));
    let peer = c.get(&format!("/api/dcim/interfaces/{a}/")).await;
    assert_eq!(peer.json["cable_end"], "A");
    assert_eq!(peer.json["link_peers"][0]["device"]["name"], "leaf2");
    assert_eq!(peer.json["link_peers_type"], "dcim.interface");
    assert_eq!(peer.json["connected_endpoints"][0]["name"], "E1/1");
    assert_eq!(peer.json["connected_endpoints_reachable"], true);
    assert_eq!(peer.json["_occupied"], true);
    let r = c
        .post("/api/dcim/cables/", json!({"a_terminations": [{"object_type": "dcim.interface", "object_id": a}], "b_terminations": [{"object_type": "dcim.interface", "object_id": b}]}))
        .await;
    assert_eq!(
        r.json,
        json!({"__all__": [format!("Duplicate termination found for dcim.interface {a}: cable {cable}")]})
    );
    let r = c
        .post(
            "/api/dcim/cables/",
            json!({"a_terminations": [{"object_type": "dcim.interface", "object_id": a}]}),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"__all__": ["Must define A and B terminations when creating a new cable."]})
    );
    assert_eq!(
        c.get(&format!("/api/dcim/cables/?device_id={}", w["l1"]))
            .await
            .json["count"],
        1
    );
    let r = c.delete(&format!("/api/dcim/cables/{cable}/")).await;
    assert_eq!(r.status, 204);
    let after = c.get(&format!("/api/dcim/interfaces/{a}/")).await;
    assert_eq!(
        (after.json["cable"].clone(), after.json["_occupied"].clone()),
        (Value::Null, json!(false))
    );
}

#[tokio::test(start_paused = true)]
async fn every_write_appends_change_records_a_client_can_follow() {
    let c = empty().await;
    let w = small_world(&c).await;
    let all = c
        .get("/api/core/object-changes/?ordering=id&limit=1000")
        .await;
    let first_create = &all.results()[0];
    assert_eq!(
        first_create["action"],
        json!({"value": "create", "label": "Created"})
    );
    assert_eq!(
        first_create["display"],
        "Extras | tag spine created by admin"
    );
    assert_eq!(first_create["user"]["username"], "admin");
    let cursor = all.results().last().unwrap()["id"].as_u64().unwrap();
    let path = format!("/api/dcim/devices/{}/", w["s1"]);
    let r = c.patch(&path, json!({"serial": "SN-9"})).await;
    let rid = r.header("x-request-id").unwrap().to_string();
    let noop = c.patch(&path, json!({})).await;
    assert_eq!(noop.status, 200);
    let delta = c
        .get(&format!(
            "/api/core/object-changes/?id__gt={cursor}&ordering=id"
        ))
        .await;
    assert_eq!(
        delta.json["count"], 1,
        "a PATCH that changes nothing writes no record"
    );
    let ch = &delta.results()[0];
    assert_eq!(ch["request_id"], rid);
    assert_eq!(ch["changed_object_type"], "dcim.device");
    assert_eq!(ch["changed_object_id"], w["s1"]);
    assert_eq!(ch["prechange_data"]["serial"], "");
    assert_eq!(ch["postchange_data"]["serial"], "SN-9");
    assert_eq!(
        ch["postchange_data"]["tags"],
        json!(["spine"]),
        "data holds tag names and raw ids"
    );
    assert_eq!(ch["postchange_data"]["site"], w["site"]);
    let keys_in_order = keys(&ch["postchange_data"]);
    let mut sorted = keys_in_order.clone();
    sorted.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
    assert_eq!(keys_in_order, sorted, "jsonb key order");
    assert!(ch["postchange_data"].get("last_updated").is_none());
    let by_type = c
        .get(&format!(
            "/api/core/object-changes/?changed_object_type=dcim.device&changed_object_id={}",
            w["s1"]
        ))
        .await;
    assert_eq!(by_type.json["count"], 2);
    assert_eq!(
        c.get("/api/core/object-changes/?changed_object_type=dcim.nosuch")
            .await
            .json["count"],
        0
    );
    assert_eq!(
        c.get("/api/core/object-changes/?time_after=1700000000")
            .await
            .json,
        json!({"time": ["Enter a valid date/time."]})
    );
    assert_eq!(
        c.get("/api/core/object-changes/?user=nobody").await.json,
        json!({"user": ["Select a valid choice. nobody is not one of the available choices."]})
    );
    tokio::time::advance(std::time::Duration::from_secs(60)).await;
    c.delete(&path).await;
    let after = c
        .get("/api/core/object-changes/?time_after=2026-01-01T00:00:30Z")
        .await;
    assert_eq!(after.json["count"], 1);
    assert_eq!(after.results()[0]["action"]["value"], "delete");
    assert_eq!(after.results()[0]["changed_object"], Value::Null);
    assert_eq!(after.results()[0]["postchange_data"], json!({}));
}

#[tokio::test(start_paused = true)]
async fn options_lists_writable_fields_and_choices() {
    let c = empty().await;
    let r = c.send("OPTIONS", "/api/dcim/devices/", None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["name"], "Device List");
    let status = &r.json["actions"]["POST"]["status"];
    assert_eq!(
        status["choices"][1],
        json!({"value": "active", "display_name": "Active"})
    );
    assert_eq!(r.json["actions"]["POST"]["device_type"]["required"], true);
}

#[tokio::test(start_paused = true)]
async fn hosts_build_absolute_urls() {
    let nb = fake(Fixture::Vlab);
    let mut c = Client::new(&nb);
    c.host = "10.1.2.3:8080".into();
    let r = c.get("/api/dcim/sites/1/").await;
    assert_eq!(r.json["url"], "http://10.1.2.3:8080/api/dcim/sites/1/");
    assert_eq!(r.json["display_url"], "http://10.1.2.3:8080/dcim/sites/1/");
}

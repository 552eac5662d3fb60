//! The web UI and JSON API driven in-process through the real router (`tower::ServiceExt::oneshot`,
//! no socket), on a paused clock, against a real simulated world (fake NetBox + fake cluster +
//! engine + scheduler). Requests are made the way a browser or an API client makes them: cookies
//! from `Set-Cookie`, CSRF tokens read from the served forms, Bearer tokens in headers. Every
//! refusal is checked to have changed nothing in the store or the cluster.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use fabsync::cli::serve::SimDemo;
use fabsync::config::Secret;
use fabsync::hedgehog::Kind;
use fabsync::scheduler::{Scheduler, SchedulerConfig};
use fabsync::sim::{CLUSTER_TOKEN, NETBOX_TOKEN, World, WorldConfig};
use fabsync::store::Phase;
use fabsync::web::{AppState, DemoHooks, router};
use kube::api::{Api, DynamicObject};
use serde_json::{Value, json};
use tower::ServiceExt;

const AUTH_TOKEN: &str = "web-test-access-token-0123456789";

pub(crate) struct App {
    pub(crate) world: World,
    pub(crate) scheduler: Scheduler,
    pub(crate) router: Router,
}

#[derive(Default)]
pub(crate) struct Opts {
    pub(crate) auth: bool,
    pub(crate) demo: bool,
    pub(crate) interval_secs: u64,
}

pub(crate) async fn app_with(o: Opts) -> App {
    let world = World::new(WorldConfig {
        interval_secs: o.interval_secs,
        ..WorldConfig::default()
    });
    world
        .install_hedgehog()
        .await
        .expect("install SwitchProfiles");
    let scheduler = Scheduler::start(
        world.store.clone(),
        world.clock.clone(),
        Arc::new(world.engine.clone()),
        SchedulerConfig::default(),
        None,
    )
    .expect("scheduler starts");
    let state = AppState {
        store: world.store.clone(),
        scheduler: scheduler.clone(),
        engine: world.engine.clone(),
        clock: world.clock.clone(),
        auth_token: o.auth.then(|| Secret::new(AUTH_TOKEN)),
        secret_key: [42u8; 32],
        demo: o.demo.then(|| DemoHooks::new(SimDemo::new(world.clone()))),
    };
    App {
        world,
        scheduler,
        router: router(state),
    }
}

pub(crate) async fn app() -> App {
    app_with(Opts::default()).await
}

#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Resp {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub(crate) fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .unwrap_or_else(|| panic!("no Location on {}: {}", self.status, self.body))
            .to_str()
            .unwrap()
            .to_string()
    }
    pub(crate) fn content_type(&self) -> String {
        self.headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

/// A client with a cookie jar of one cookie (fabsync sets only one), like a browser.
pub(crate) struct Client {
    router: Router,
    cookie: Option<String>,
    bearer: Option<String>,
    extra: Vec<(&'static str, String)>,
}

impl Client {
    pub(crate) fn browser(app: &App) -> Self {
        Client {
            router: app.router.clone(),
            cookie: None,
            bearer: None,
            extra: vec![],
        }
    }

    pub(crate) fn api(app: &App, token: Option<&str>) -> Self {
        Client {
            router: app.router.clone(),
            cookie: None,
            bearer: token.map(str::to_string),
            extra: vec![],
        }
    }

    pub(crate) async fn send(
        &mut self,
        method: Method,
        path: &str,
        ctype: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(c) = &self.cookie {
            b = b.header(header::COOKIE, c);
        }
        if let Some(t) = &self.bearer {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(ct) = ctype {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        for (k, v) in &self.extra {
            b = b.header(*k, v);
        }
        let resp = self
            .router
            .clone()
            .oneshot(b.body(Body::from(body)).unwrap())
            .await
            .expect("the router is infallible");
        for v in resp.headers().get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap().to_string();
            if v.contains("Max-Age=0") {
                self.cookie = None;
            } else {
                self.cookie = Some(pair);
            }
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        Resp {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).expect("UTF-8 body"),
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Resp {
        self.send(Method::GET, path, None, vec![]).await
    }

    pub(crate) async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            Method::POST,
            path,
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
        )
        .await
    }

    pub(crate) async fn post_json(&mut self, path: &str, body: &Value) -> Resp {
        self.send(
            Method::POST,
            path,
            Some("application/json"),
            serde_json::to_vec(body).unwrap(),
        )
        .await
    }

    pub(crate) async fn patch_raw(&mut self, path: &str, ctype: &str, body: &str) -> Resp {
        self.send(Method::PATCH, path, Some(ctype), body.as_bytes().to_vec())
            .await
    }
}

/// The keys of a JSON object, in order, duplicates included (`serde_json::Value` keeps only the
/// last of two equal keys, so it cannot see them).
pub(crate) fn top_level_keys(text: &str) -> Vec<String> {
    struct Keys;
    impl<'de> serde::de::Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some((k, _)) = m.next_entry::<String, serde::de::IgnoredAny>()? {
                out.push(k);
            }
            Ok(out)
        }
    }
    use serde::Deserializer as _;
    serde_json::Deserializer::from_str(text)
        .deserialize_map(Keys)
        .expect("a JSON object")
}

/// The value of the first `csrf_token` hidden field of a page.
pub(crate) fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf_token field in: {html}"))
        + marker.len();
    html[at..].split('"').next().unwrap().to_string()
}

/// The inner HTML of the first element with `class` (up to its closing `</div>`/`</section>`),
/// good enough for the flat messages fabsync renders.
pub(crate) fn element_with_class<'a>(html: &'a str, class: &str) -> Option<&'a str> {
    let at = html.find(&format!("class=\"{class}"))?;
    let rest = &html[at..];
    let end = rest.find("</div>").unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Waits (virtual time) until a task is SUCCESS, FAILURE or, with `retry_ok`, RETRY.
pub(crate) async fn wait_task(c: &mut Client, id: &str, retry_ok: bool) -> Value {
    for _ in 0..600 {
        let r = c.get(&format!("/api/tasks/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let t = r.json();
        let state = t["state"].as_str().unwrap().to_string();
        if state == "SUCCESS" || state == "FAILURE" || (retry_ok && state == "RETRY") {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("task {id} did not end within 150 s of virtual time");
}

/// Objects of a kind in the cluster, seen through kube-rs as a person would.
pub(crate) async fn cluster_objects(w: &World, kind: Kind) -> Vec<DynamicObject> {
    let api: Api<DynamicObject> = Api::namespaced_with(w.kube(), "default", &kind.api_resource());
    api.list(&Default::default()).await.expect("list").items
}

pub(crate) async fn owned_object_count(w: &World) -> usize {
    let mut n = 0;
    for kind in Kind::ALL.into_iter().filter(|k| k.is_planned()) {
        n += cluster_objects(w, kind)
            .await
            .iter()
            .filter(|o| {
                o.metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l.contains_key(fabsync::plan::LABEL_FABRIC))
            })
            .count();
    }
    n
}

/// What a refused request must not change: fabric rows, tasks, runs, and cluster writes.
#[derive(Debug, PartialEq)]
struct Snapshot {
    fabrics: String,
    tasks: usize,
    runs: usize,
    cluster_writes: usize,
}

fn snapshot(app: &App) -> Snapshot {
    Snapshot {
        fabrics: format!("{:?}", app.world.store.fabrics().unwrap()),
        tasks: app.world.store.all_tasks().unwrap().len(),
        runs: app.world.store.all_runs().unwrap().len(),
        cluster_writes: app
            .world
            .apiserver
            .log()
            .entries()
            .iter()
            .filter(|e| e.write)
            .count(),
    }
}

fn assert_no_secret(text: &str) {
    for s in [NETBOX_TOKEN, CLUSTER_TOKEN, AUTH_TOKEN] {
        assert!(!text.contains(s), "a secret leaked into a response: {text}");
    }
}

// ----- pages ---------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn list_and_detail_pages_show_status_times_config_and_no_secrets() {
    let app = app_with(Opts {
        interval_secs: 600,
        ..Opts::default()
    })
    .await;
    // Interval 600 and never synced: the scheduler queued a catch-up run; let it finish.
    app.scheduler.idle().await;
    let mut b = Client::browser(&app);
    let list = b.get("/").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.content_type().starts_with("text/html"));
    let row = &list.body[list
        .body
        .find("id=\"fabric-vlab\"")
        .expect("a row for vlab")..];
    assert!(row.contains("href=\"/fabrics/vlab\""));
    assert!(row.contains("data-status=\"in_sync\""), "{row}");
    // Last sync relative and exact; next run in ~10 min with its exact time.
    let f = app.world.store.fabric("vlab").unwrap();
    let last = fabsync::clock::format_ts(f.last_finished_at.unwrap());
    assert!(row.contains(&format!("<time datetime=\"{last}\" title=\"{last}\">")));
    let next = fabsync::clock::format_ts(f.next_run_at.expect("next run scheduled"));
    assert!(row.contains(&format!("datetime=\"{next}\"")));
    assert!(
        row.contains(">in 10 min<") || row.contains(">in 11 min<"),
        "{row}"
    );
    assert!(row.contains(&format!(">{}<", f.object_count.unwrap())));
    assert!(list.body.contains("No access token configured"));
    assert_no_secret(&list.body);

    let page = b.get("/fabrics/vlab").await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        "id=\"sync-now-button\"",
        "href=\"/fabrics/vlab/preview\"",
        "href=\"/fabrics/vlab/settings\"",
        "environment variable FABSYNC_SIM_NETBOX_TOKEN",
        "environment variable FABSYNC_SIM_CLUSTER_TOKEN",
        "https://apiserver.sim",
        "id=\"run-history\"",
        "every 600 s",
    ] {
        assert!(page.body.contains(needle), "detail page lacks {needle}");
    }
    // The catch-up run is in the history with its counts.
    let run = &app.world.store.all_runs().unwrap()[0];
    let hist = &page.body[page.body.find(&format!("id=\"run-{}\"", run.id)).unwrap()..];
    assert!(hist.contains("catchup"));
    assert!(hist.contains(&format!(">{}<", run.end.counts.created)));
    assert_no_secret(&page.body);

    // Unknown run or task: clear 404 pages.
    let r = b.get("/runs/999").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("run 999 does not exist"));
    let r = b.get("/tasks/no-such-task").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.content_type().starts_with("text/html"));
    // Unknown fabric: a clear 404 page.
    let missing = b.get("/fabrics/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing
            .body
            .contains("fabric &quot;nope&quot; does not exist"),
        "{}",
        missing.body
    );
    assert_eq!(b.get("/no/such/page").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(start_paused = true)]
async fn sync_now_form_post_runs_a_real_sync_with_live_progress_and_ends_in_success() {
    let app = app().await;
    let mut b = Client::browser(&app);
    let page = b.get("/fabrics/vlab").await;
    assert!(page.body.contains("data-status=\"never_synced\""));
    assert!(!page.body.contains("id=\"sync-progress\""));
    let csrf = csrf_of(&page.body);
    // Slow the cluster down so the run is visibly in progress.
    app.world
        .apiserver
        .faults()
        .add(fake_apiserver::Fault::Latency {
            millis: 2000,
            when: fake_apiserver::When::always().times(3),
        })
        .unwrap();

    let post = b
        .post_form("/fabrics/vlab/sync", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(post.status, StatusCode::SEE_OTHER, "{}", post.body);
    let loc = post.location();
    assert!(loc.starts_with("/fabrics/vlab?task="), "{loc}");
    let task_id = loc
        .trim_start_matches("/fabrics/vlab?task=")
        .trim_end_matches("#sync-progress")
        .to_string();

    // While it runs: the page shows the task, its step, and reloads itself without JS.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let running = b.get(&loc).await;
    assert!(
        running
            .body
            .contains(&format!("data-task-id=\"{task_id}\""))
    );
    assert!(running.body.contains("data-done=\"false\""));
    assert!(
        running
            .body
            .contains("<noscript><meta http-equiv=\"refresh\"")
    );
    assert!(running.body.contains("step: "), "{}", running.body);
    assert!(!running.body.contains("sync-success-message"));
    let t = b.get(&format!("/api/tasks/{task_id}")).await.json();
    assert_eq!(t["state"], "STARTED");
    assert_eq!(t["done"], false);
    assert!(t["run"]["step"].is_string());
    assert_eq!(t["fabric"]["status"], "syncing");

    let t = wait_task(&mut b, &task_id, false).await;
    assert_eq!(t["state"], "SUCCESS", "{t}");
    assert_eq!(t["outcome"], "success");
    let run_id = t["run_id"].as_i64().unwrap();
    let run = app.world.store.run(run_id).unwrap();
    assert_eq!(run.end.phase, Phase::Success);

    // The objects exist in the cluster (through kube-rs), and the page says so.
    let owned = owned_object_count(&app.world).await;
    assert!(owned > 0);
    assert_eq!(owned as u64, run.end.counts.created);
    let done = b.get(&loc).await;
    let msg = element_with_class(&done.body, "sync-success-message").expect("success message");
    assert!(msg.contains(run.end.message.as_deref().unwrap()), "{msg}");
    assert!(msg.contains(&format!("href=\"/runs/{run_id}\"")));
    assert!(done.body.contains("data-status=\"in_sync\""));
    assert!(done.body.contains("data-done=\"true\""));
    assert!(!done.body.contains("http-equiv=\"refresh\""));
    assert!(!done.body.contains("sync-error-message"));

    // The task page redirects to the same view.
    let tp = b.get(&format!("/tasks/{task_id}")).await;
    assert_eq!(tp.status, StatusCode::SEE_OTHER);
    assert_eq!(tp.location(), loc);

    // The run page lists every object's result.
    let rp = b.get(&format!("/runs/{run_id}")).await;
    assert_eq!(rp.status, StatusCode::OK);
    let rows = rp.body.matches("result-ok").count();
    assert_eq!(
        rows as u64, run.end.counts.created,
        "one row per written object"
    );
    assert!(rp.body.contains("leaf-01") && rp.body.contains("server-01--eslag--leaf-01--leaf-02"));
    assert!(rp.body.contains(&format!(
        "{} (cluster {}, NetBox {})",
        run.end.cluster_calls + run.end.netbox_calls,
        run.end.cluster_calls,
        run.end.netbox_calls
    )));
    // History row with trigger, counts and API calls.
    let hist = &done.body[done.body.find(&format!("id=\"run-{run_id}\"")).unwrap()..];
    assert!(hist.contains("manual"));
    assert!(hist.contains(&format!(
        ">{}<",
        run.end.cluster_calls + run.end.netbox_calls
    )));
}

#[tokio::test(start_paused = true)]
async fn a_failed_sync_shows_the_cause_and_recovers_after_the_retry() {
    let app = app().await;
    let mut b = Client::browser(&app);
    let csrf = csrf_of(&b.get("/fabrics/vlab").await.body);
    let mark = app.world.apiserver.log().len();
    let fault = app
        .world
        .apiserver
        .faults()
        .add(fake_apiserver::Fault::Unreachable {
            when: fake_apiserver::When::always(),
        })
        .unwrap()
        .unwrap();
    let loc = b
        .post_form("/fabrics/vlab/sync", &[("csrf_token", &csrf)])
        .await
        .location();
    let task_id = loc
        .split("task=")
        .nth(1)
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .to_string();
    let t = wait_task(&mut b, &task_id, true).await;
    assert_eq!(t["state"], "RETRY", "{t}");
    assert_eq!(t["outcome"], "failure");
    let run = app.world.store.run(t["run_id"].as_i64().unwrap()).unwrap();
    let error = run.end.error.clone().unwrap();
    assert!(error.contains("unreachable"), "{error}");

    let page = b.get(&loc).await;
    let msg = element_with_class(&page.body, "sync-error-message").expect("error message");
    assert!(msg.contains("Check the cluster address"), "{msg}");
    assert!(msg.contains(&maud::html! { (error) }.into_string()));
    assert!(msg.contains("cluster_unreachable"));
    assert!(
        msg.contains("fabsync retries on its own: attempt 2 at"),
        "{msg}"
    );
    assert!(msg.contains(t["retry_at"].as_str().unwrap()));
    assert!(page.body.contains("data-status=\"error\""));
    assert!(page.body.contains("conn-unreachable"));
    assert!(page.body.contains("id=\"last-error\""));
    // The run page shows the error in full.
    let rp = b.get(&format!("/runs/{}", run.id)).await;
    assert!(rp.body.contains("id=\"run-error\""));
    assert!(rp.body.contains("phase-FAILURE"));
    // Nothing was written.
    assert!(
        app.world.apiserver.log().entries()[mark..]
            .iter()
            .all(|e| !e.write)
    );

    // Repair: the scheduled retry succeeds and the same page says so.
    app.world.apiserver.faults().remove(fault);
    let t = wait_task(&mut b, &task_id, false).await;
    assert_eq!(t["state"], "SUCCESS", "{t}");
    let page = b.get(&loc).await;
    assert!(element_with_class(&page.body, "sync-success-message").is_some());
    assert!(page.body.contains("data-status=\"in_sync\""));
}

#[tokio::test(start_paused = true)]
async fn posts_without_a_valid_csrf_token_are_refused_and_change_nothing() {
    let app = app().await;
    let mut b = Client::browser(&app);
    let csrf = csrf_of(&b.get("/fabrics/vlab").await.body);
    let before = snapshot(&app);

    // No token.
    let r = b.post_form("/fabrics/vlab/sync", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("CSRF token missing"), "{}", r.body);
    // A wrong token.
    let r = b
        .post_form("/fabrics/vlab/sync", &[("csrf_token", "AAAA")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("CSRF token invalid"));
    // Another session's token.
    let mut other = Client::browser(&app);
    let theirs = csrf_of(&other.get("/fabrics/vlab").await.body);
    assert_ne!(theirs, csrf);
    let r = b
        .post_form("/fabrics/vlab/sync", &[("csrf_token", &theirs)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A valid token without the session cookie it belongs to.
    let mut cookieless = Client::browser(&app);
    let r = cookieless
        .post_form("/fabrics/vlab/sync", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Settings and demo forms are guarded the same way.
    let r = b
        .post_form("/fabrics/vlab/settings", &[("interval_secs", "900")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A cross-site POST even with the right token.
    b.extra = vec![
        ("origin", "https://evil.example".into()),
        ("host", "127.0.0.1:8080".into()),
    ];
    let r = b
        .post_form("/fabrics/vlab/sync", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("cross-site request refused"));
    b.extra = vec![("sec-fetch-site", "cross-site".into())];
    let r = b.post_json("/api/fabrics/vlab/sync", &json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    b.extra.clear();

    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(snapshot(&app), before, "refused requests changed something");
    assert_eq!(owned_object_count(&app.world).await, 0);

    // The right token works.
    let r = b
        .post_form("/fabrics/vlab/sync", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test(start_paused = true)]
async fn without_a_token_only_loopback_host_names_are_served() {
    let app = app().await;
    let mut b = Client::browser(&app);
    for host in ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"] {
        b.extra = vec![("host", host.into())];
        assert_eq!(b.get("/").await.status, StatusCode::OK, "{host}");
    }
    b.extra = vec![("host", "rebound.evil.example:8080".into())];
    let r = b.get("/api/fabrics").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.json()["message"].as_str().unwrap().contains("loopback"));
    // With an access token configured, any name is served (after login).
    let authed = app_with(Opts {
        auth: true,
        ..Opts::default()
    })
    .await;
    let mut c = Client::api(&authed, Some(AUTH_TOKEN));
    c.extra = vec![("host", "fabsync.example.com".into())];
    assert_eq!(c.get("/api/fabrics").await.status, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn the_access_token_protects_pages_and_api() {
    let app = app_with(Opts {
        auth: true,
        ..Opts::default()
    })
    .await;
    let before = snapshot(&app);

    // API: no credentials, wrong token.
    let mut anon = Client::api(&app, None);
    let r = anon.get("/api/fabrics").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(r.json()["error"], "unauthorized");
    let r = anon.post_json("/api/fabrics/vlab/sync", &json!({})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anon.get("/metrics").await.status, StatusCode::UNAUTHORIZED);
    let mut wrong = Client::api(&app, Some("not-the-token"));
    assert_eq!(
        wrong.get("/api/fabrics").await.status,
        StatusCode::UNAUTHORIZED
    );
    // Health stays open.
    assert_eq!(anon.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(anon.get("/readyz").await.status, StatusCode::OK);

    // Pages redirect to the login page, keeping where the person wanted to go.
    let mut b = Client::browser(&app);
    let r = b.get("/fabrics/vlab").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login?next=%2Ffabrics%2Fvlab");
    // A form POST without a session does nothing and lands on the login page (not JSON).
    let r = b.post_form("/fabrics/vlab/sync", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().starts_with("/login"));
    let login = b.get("/login?next=%2Ffabrics%2Fvlab").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains("type=\"password\""));
    let csrf = csrf_of(&login.body);
    let r = b
        .post_form("/fabrics/vlab/sync", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/login"), "not logged in yet");
    // Wrong token at login.
    let r = b
        .post_form(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("token", "guess"),
                ("next", "/fabrics/vlab"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.body.contains("not fabsync&apos;s access token")
            || r.body.contains("not fabsync's access token")
    );
    assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);
    // Login without the CSRF token is refused too.
    let r = b
        .post_form("/login", &[("token", AUTH_TOKEN), ("next", "/")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(snapshot(&app), before, "refused requests changed something");

    // Log in.
    let csrf = csrf_of(&b.get("/login").await.body);
    let r = b
        .post_form(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("token", AUTH_TOKEN),
                ("next", "/fabrics/vlab"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/fabrics/vlab");
    let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(flag), "{set}");
    }
    let page = b.get("/fabrics/vlab").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Log out"));
    assert!(!page.body.contains("No access token configured"));
    assert_no_secret(&page.body);
    // The session reads the API too (the page's script polls it).
    assert_eq!(b.get("/api/fabrics/vlab").await.status, StatusCode::OK);
    // But writes through the API with a cookie need the CSRF header.
    let r = b.post_json("/api/fabrics/vlab/sync", &json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let session_csrf = csrf_of(&page.body);
    b.extra = vec![("x-csrf-token", session_csrf.clone())];
    let r = b.post_json("/api/fabrics/vlab/sync", &json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    b.extra.clear();
    app.scheduler.idle().await;
    // The form with the session's token.
    let r = b
        .post_form("/fabrics/vlab/sync", &[("csrf_token", &session_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/fabrics/vlab?task="));
    app.scheduler.idle().await;

    // Bearer: no CSRF needed.
    let mut api = Client::api(&app, Some(AUTH_TOKEN));
    let r = api.post_json("/api/fabrics/vlab/sync", &json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_no_secret(&r.body);
    app.scheduler.idle().await;
    assert_eq!(app.world.store.all_tasks().unwrap().len(), 3);

    // Log out: the session is over.
    let r = b
        .post_form("/logout", &[("csrf_token", &session_csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login");
    assert_eq!(b.get("/fabrics/vlab").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(start_paused = true)]
async fn a_session_signed_for_another_token_or_key_is_worthless() {
    let a = app_with(Opts {
        auth: true,
        ..Opts::default()
    })
    .await;
    let mut b = Client::browser(&a);
    let csrf = csrf_of(&b.get("/login").await.body);
    b.post_form(
        "/login",
        &[("csrf_token", &csrf), ("token", AUTH_TOKEN), ("next", "/")],
    )
    .await;
    assert_eq!(b.get("/").await.status, StatusCode::OK);
    // Tampered: flip the logged-in flag of an anonymous session.
    let mut anon = Client::browser(&a);
    anon.get("/login").await;
    let forged = anon.cookie.clone().unwrap().replacen(".0.", ".1.", 1);
    anon.cookie = Some(forged);
    assert_eq!(anon.get("/").await.status, StatusCode::SEE_OTHER);
    // Expired after 12 hours.
    tokio::time::sleep(Duration::from_secs(12 * 3600)).await;
    assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);
}

// ----- settings ------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn settings_form_validates_and_changes_take_effect_at_once() {
    let app = app().await;
    let mut b = Client::browser(&app);
    let form = b.get("/fabrics/vlab/settings").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("name=\"interval_secs\" value=\"0\""));
    assert!(
        form.body
            .contains("name=\"cluster_token_env\" value=\"FABSYNC_SIM_CLUSTER_TOKEN\"")
    );
    assert!(form.body.contains("<option value=\"fail\" selected>"));
    assert_no_secret(&form.body);
    let csrf = csrf_of(&form.body);
    let before = snapshot(&app);

    // Too short an interval: 422, the message names the field, what was typed stays.
    let r = b
        .post_form(
            "/fabrics/vlab/settings",
            &[("csrf_token", &csrf), ("interval_secs", "4")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("interval_secs: 4 is below the minimum of 5 seconds")
    );
    assert!(r.body.contains("id=\"interval_secs-error\""));
    assert!(
        r.body
            .contains("name=\"interval_secs\" value=\"4\" aria-invalid=\"true\"")
    );
    // Not a number.
    let r = b
        .post_form(
            "/fabrics/vlab/settings",
            &[("csrf_token", &csrf), ("limits_qps", "fast")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("limits.qps: &quot;fast&quot; is not a number"),
        "{}",
        r.body
    );
    // A namespace Kubernetes would refuse.
    let r = b
        .post_form(
            "/fabrics/vlab/settings",
            &[("csrf_token", &csrf), ("namespace", "Fab Ric")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("namespace: &quot;Fab Ric&quot; is not a valid Kubernetes namespace name")
    );
    // A kubeconfig and a server at once.
    let r = b
        .post_form(
            "/fabrics/vlab/settings",
            &[
                ("csrf_token", &csrf),
                ("cluster_kubeconfig", "/etc/kube.conf"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("give either kubeconfig (and context) or server (and token), not both")
    );
    // Unknown fields.
    let r = b
        .post_form(
            "/fabrics/vlab/settings",
            &[
                ("csrf_token", &csrf),
                ("name", "other"),
                ("netbox_url", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("name, netbox_url"));
    assert_eq!(snapshot(&app), before, "invalid settings changed something");

    // Valid: saved, and the scheduler plans the next run at once.
    assert!(
        app.world
            .store
            .fabric("vlab")
            .unwrap()
            .next_run_at
            .is_none()
    );
    let r = b
        .post_form(
            "/fabrics/vlab/settings",
            &[
                ("csrf_token", &csrf),
                ("namespace", "default"),
                ("interval_secs", "900"),
                ("enabled", "off"),
                ("enabled", "on"),
                ("conflict_policy", "skip"),
                ("limits_qps", "20"),
                ("limits_burst", "40"),
                ("limits_concurrency", "4"),
                ("limits_deadline_secs", "120"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/fabrics/vlab?saved=1");
    let f = app.world.store.fabric("vlab").unwrap();
    assert_eq!(f.config.interval_secs, 900);
    assert_eq!(
        f.config.conflict_policy,
        fabsync::config::ConflictPolicy::Skip
    );
    assert_eq!(f.config.limits.qps, 20.0);
    assert_eq!(f.config.limits.deadline_secs, 120);
    let next = f.next_run_at.expect("rescheduled");
    let wait = next.as_second() - app.world.clock.now().as_second();
    assert!((900..=990).contains(&wait), "next run in {wait} s");
    let page = b.get(&r.location()).await;
    assert!(page.body.contains("Settings saved"));
    assert!(page.body.contains("every 900 s"));
    // Unticking the checkbox (only the hidden "off" is sent) turns periodic sync off at once.
    let r = b
        .post_form(
            "/fabrics/vlab/settings",
            &[("csrf_token", &csrf), ("enabled", "off")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let f = app.world.store.fabric("vlab").unwrap();
    assert!(!f.config.enabled);
    assert_eq!(f.next_run_at, None);
    assert!(app.scheduler.next_periodic("vlab").is_none());

    assert_eq!(
        b.get("/fabrics/nope/settings").await.status,
        StatusCode::NOT_FOUND
    );
}

// ----- preview -------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn preview_shows_the_diff_a_sync_would_make_and_writes_nothing() {
    let app = app().await;
    let mut b = Client::browser(&app);
    let mark = app.world.apiserver.log().len();
    let page = b.get("/fabrics/vlab/preview").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("id=\"preview-changes\""));
    assert!(page.body.contains("change action-create"));
    assert!(page.body.contains("Switch"));
    assert!(page.body.contains("+ "), "unified diffs are shown");
    let api = Client::api(&app, None).get("/api/fabrics/vlab/diff").await;
    assert_eq!(api.status, StatusCode::OK);
    let d = api.json();
    let changes = d["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    assert!(changes.iter().all(|c| c["action"] == "create"));
    assert_eq!(
        page.body.matches("change action-create").count(),
        changes.len()
    );
    // Dry runs only.
    let writes: Vec<_> = app.world.apiserver.log().entries()[mark..]
        .iter()
        .filter(|e| e.write)
        .map(|e| e.path.clone())
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(owned_object_count(&app.world).await, 0);

    // After a sync there is nothing left to change.
    let mut api = Client::api(&app, None);
    let t = api
        .post_json("/api/fabrics/vlab/sync", &json!({}))
        .await
        .json();
    wait_task(&mut api, t["id"].as_str().unwrap(), false).await;
    let d = api.get("/api/fabrics/vlab/diff").await.json();
    assert_eq!(d["changes"].as_array().unwrap().len(), 0);
    assert!(d["unchanged"].as_u64().unwrap() > 0);
    let page = b.get("/fabrics/vlab/preview").await;
    assert!(
        page.body
            .contains("No changes: the cluster already holds what NetBox says.")
    );

    // Invalid NetBox data: the preview names the fatal finding and says a sync would stop.
    let nb = app.world.netbox_client();
    let leaf: Vec<fabsync::netbox::model::Device> = nb
        .list("dcim/devices", &[("name", "leaf-03".to_string())])
        .await
        .unwrap();
    nb.patch("dcim/devices", leaf[0].id, &json!({"name": "Leaf 03"}))
        .await
        .unwrap();
    let page = b.get("/fabrics/vlab/preview").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("finding finding-fatal"), "{}", page.body);
    assert!(page.body.contains("Leaf 03"));
    assert!(
        page.body
            .contains("A sync would stop before writing anything")
    );
    nb.patch("dcim/devices", leaf[0].id, &json!({"name": "leaf-03"}))
        .await
        .unwrap();

    // A preview that cannot reach the cluster says so (502), naming the cause.
    app.world
        .apiserver
        .faults()
        .add(fake_apiserver::Fault::Unreachable {
            when: fake_apiserver::When::always(),
        })
        .unwrap();
    let r = api.get("/api/fabrics/vlab/diff").await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("unreachable")
    );
    assert_eq!(
        api.get("/api/fabrics/nope/diff").await.status,
        StatusCode::NOT_FOUND
    );
}

// ----- JSON API ------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn json_api_serves_fabrics_tasks_and_runs() {
    let app = app().await;
    let mut api = Client::api(&app, None);
    let list = api.get("/api/fabrics").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.content_type().starts_with("application/json"));
    let list = list.json();
    assert_eq!(list["fabrics"].as_array().unwrap().len(), 1);
    let f = &list["fabrics"][0];
    assert_eq!(f["name"], "vlab");
    assert_eq!(f["status"], "never_synced");
    assert_eq!(f["cluster_state"], "unknown");
    assert_eq!(
        f["config"]["cluster"]["token_env"],
        "FABSYNC_SIM_CLUSTER_TOKEN"
    );
    assert_eq!(f["links"]["sync"], "/api/fabrics/vlab/sync");
    assert_no_secret(&list.to_string());

    let one = api.get("/api/fabrics/vlab").await.json();
    assert_eq!(one["name"], "vlab");
    let r = api.get("/api/fabrics/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json(),
        json!({"status": 404, "error": "not_found", "message": "fabric \"nope\" does not exist"})
    );

    // Sync: 202 with the task, its URL in Location.
    let r = api.post_json("/api/fabrics/vlab/sync", &json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let t = r.json();
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(r.location(), format!("/api/tasks/{id}"));
    assert_eq!(t["state"], "PENDING");
    assert_eq!(t["trigger"], "manual");
    assert_eq!(t["done"], false);
    // A second trigger while pending coalesces into the same task.
    let again = api
        .post_json("/api/fabrics/vlab/sync", &json!({}))
        .await
        .json();
    assert_eq!(again["id"], id.as_str());
    let t = wait_task(&mut api, &id, false).await;
    assert_eq!(t["state"], "SUCCESS");
    assert_eq!(t["done"], true);
    let run_id = t["run_id"].as_i64().unwrap();
    assert_eq!(t["run"]["id"], run_id);
    assert_eq!(t["fabric"]["status"], "in_sync");
    assert_eq!(t["links"]["run_page"], format!("/runs/{run_id}"));
    // Valid JSON for every parser: no key twice (task JSON had "fabric" twice).
    let raw = api.get(&format!("/api/tasks/{id}")).await.body;
    let keys = top_level_keys(&raw);
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "duplicate keys in {keys:?}");

    let runs = api.get("/api/fabrics/vlab/runs").await.json();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1);
    assert_eq!(runs["runs"][0]["id"], run_id);
    assert_eq!(runs["has_more"], false);
    let run = api.get(&format!("/api/runs/{run_id}")).await.json();
    assert_eq!(run["phase"], "SUCCESS");
    let created = run["counts"]["created"].as_u64().unwrap();
    assert_eq!(run["objects"].as_array().unwrap().len() as u64, created);
    assert!(
        run["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["result"] == "ok" && o["action"] == "create")
    );
    assert_eq!(
        run["api_calls"].as_u64().unwrap(),
        run["cluster_calls"].as_u64().unwrap() + run["netbox_calls"].as_u64().unwrap()
    );

    // Paging.
    let t2 = api
        .post_json("/api/fabrics/vlab/sync", &json!({}))
        .await
        .json();
    wait_task(&mut api, t2["id"].as_str().unwrap(), false).await;
    let p1 = api.get("/api/fabrics/vlab/runs?per_page=1").await.json();
    assert_eq!(p1["runs"].as_array().unwrap().len(), 1);
    assert_eq!(p1["has_more"], true);
    assert_ne!(p1["runs"][0]["id"], run_id);
    let p2 = api
        .get("/api/fabrics/vlab/runs?per_page=1&page=2")
        .await
        .json();
    assert_eq!(p2["runs"][0]["id"], run_id);
    assert_eq!(p2["has_more"], false);
    let bad = api.get("/api/fabrics/vlab/runs?page=zero").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["message"].as_str().unwrap().contains("page"));

    // Unknowns.
    assert_eq!(api.get("/api/runs/999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/api/runs/abc").await.status, StatusCode::NOT_FOUND);
    let r = api.get("/api/tasks/no-such-task").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("no-such-task")
    );
    assert_eq!(
        api.get("/api/fabrics/nope/runs").await.status,
        StatusCode::NOT_FOUND
    );
    let before = snapshot(&app);
    let r = api.post_json("/api/fabrics/nope/sync", &json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/api/nothing").await.json()["error"], "not_found");
    let r = api
        .send(Method::DELETE, "/api/fabrics/vlab", None, vec![])
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(snapshot(&app), before);
}

#[tokio::test(start_paused = true)]
async fn patch_applies_valid_settings_and_refuses_bad_input_changing_nothing() {
    let app = app().await;
    let mut api = Client::api(&app, None);
    let before = snapshot(&app);
    let refuse = |r: &Resp, status: StatusCode| {
        assert_eq!(r.status, status, "{}", r.body);
        r.json()
    };
    let j = "application/json";
    let e = refuse(
        &api.patch_raw("/api/fabrics/vlab", j, "{\"interval_secs\": 60")
            .await,
        StatusCode::BAD_REQUEST,
    );
    assert!(e["message"].as_str().unwrap().starts_with("malformed JSON"));
    let e = refuse(
        &api.patch_raw("/api/fabrics/vlab", j, "[1,2]").await,
        StatusCode::BAD_REQUEST,
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("must be a JSON object")
    );
    let e = refuse(
        &api.patch_raw(
            "/api/fabrics/vlab",
            j,
            r#"{"interval_secs": 60, "colour": "red", "cluster": {"user": "x"}}"#,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(e["error"], "unknown_fields");
    assert_eq!(e["fields"], json!(["colour", "cluster.user"]));
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("colour, cluster.user")
    );
    let e = refuse(
        &api.patch_raw("/api/fabrics/vlab", j, r#"{"name": "x"}"#)
            .await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(e["fields"], json!(["name"]));
    let e = refuse(
        &api.patch_raw("/api/fabrics/vlab", j, r#"{"interval_secs": "soon"}"#)
            .await,
        StatusCode::BAD_REQUEST,
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("interval_secs: expected a whole number")
    );
    let e = refuse(
        &api.patch_raw("/api/fabrics/vlab", j, r#"{"interval_secs": 3}"#)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_eq!(e["field"], "interval_secs");
    assert_eq!(
        e["message"],
        "fabric \"vlab\": interval_secs: 3 is below the minimum of 5 seconds (0 turns periodic sync off)"
    );
    let e = refuse(
        &api.patch_raw("/api/fabrics/vlab", j, r#"{"conflict_policy": "yolo"}"#)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_eq!(e["field"], "conflict_policy");
    let e = refuse(
        &api.patch_raw("/api/fabrics/vlab", j, r#"{"limits": {"concurrency": 0}}"#)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_eq!(e["field"], "limits.concurrency");
    let e = refuse(
        &api.patch_raw(
            "/api/fabrics/vlab",
            j,
            r#"{"cluster": {"token_file": "/run/t", "token_env": "T"}}"#,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_eq!(e["field"], "cluster.token_file");
    refuse(
        &api.patch_raw("/api/fabrics/vlab", "text/plain", r#"{"enabled": false}"#)
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
    refuse(
        &api.patch_raw("/api/fabrics/nope", j, r#"{"enabled": false}"#)
            .await,
        StatusCode::NOT_FOUND,
    );
    assert_eq!(snapshot(&app), before, "refused PATCHes changed something");

    // Valid: applied and rescheduled at once.
    let r = api
        .patch_raw(
            "/api/fabrics/vlab",
            "application/merge-patch+json",
            r#"{"interval_secs": 120, "conflict_policy": "force",
                "cluster": {"ca_file": "/etc/fabsync/ca.pem"}, "limits": {"qps": 5, "burst": 10}}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["config"]["interval_secs"], 120);
    assert_eq!(v["config"]["conflict_policy"], "force");
    assert_eq!(v["config"]["cluster"]["ca_file"], "/etc/fabsync/ca.pem");
    assert_eq!(v["config"]["cluster"]["server"], "https://apiserver.sim");
    assert!(v["next_run_at"].is_string(), "{v}");
    let f = app.world.store.fabric("vlab").unwrap();
    assert_eq!(f.config.limits.qps, 5.0);
    assert_eq!(f.config.limits.burst, 10);
    assert_eq!(
        f.config.limits.concurrency, 8,
        "untouched limits keep their value"
    );
    assert!(app.scheduler.next_periodic("vlab").is_some());
    // null resets a field.
    let v = api
        .patch_raw(
            "/api/fabrics/vlab",
            j,
            r#"{"cluster": {"ca_file": null}, "enabled": false}"#,
        )
        .await
        .json();
    assert!(v["config"]["cluster"].get("ca_file").is_none());
    assert!(v["next_run_at"].is_null());
    assert!(app.scheduler.next_periodic("vlab").is_none());
}

// ----- health, readiness, metrics ------------------------------------------------------------

fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn health_readiness_and_metrics_follow_the_run_records() {
    let app = app().await;
    let mut api = Client::api(&app, None);
    let h = api.get("/healthz").await;
    assert_eq!((h.status, h.body.as_str()), (StatusCode::OK, "ok\n"));
    let r = api.get("/readyz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"ready": true, "store": "ok", "scheduler": "running",
               "internal_errors": 0, "last_internal_error": null})
    );

    let m = api.get("/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    assert_eq!(m.content_type(), "text/plain; version=0.0.4; charset=utf-8");
    assert!(
        m.body.contains("# TYPE fabsync_runs_total counter"),
        "{}",
        m.body
    );
    assert!(
        m.body
            .contains("# TYPE fabsync_run_duration_seconds histogram")
    );
    // OpenMetrics for scrapers that ask for it.
    api.extra = vec![(
        "accept",
        "application/openmetrics-text; version=1.0.0".into(),
    )];
    let om = api.get("/metrics").await;
    api.extra.clear();
    assert!(
        om.content_type()
            .starts_with("application/openmetrics-text")
    );
    assert!(om.body.ends_with("# EOF\n"));
    assert_eq!(metric(&m.body, "fabsync_scheduler_up"), 1.0);
    assert_eq!(
        metric(
            &m.body,
            "fabsync_fabric_status{fabric=\"vlab\",status=\"never_synced\"}"
        ),
        1.0
    );
    assert!(!m.body.contains("fabsync_runs_total{"));

    // One successful run (scraped once while it runs: it is counted once it ended, once), then
    // a failed one.
    app.world
        .apiserver
        .faults()
        .add(fake_apiserver::Fault::Latency {
            millis: 3000,
            when: fake_apiserver::When::always().times(2),
        })
        .unwrap();
    let t = api
        .post_json("/api/fabrics/vlab/sync", &json!({}))
        .await
        .json();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(app.scheduler.is_running("vlab"));
    let m = api.get("/metrics").await.body;
    assert!(!m.contains("fabsync_runs_total{"), "{m}");
    assert_eq!(metric(&m, "fabsync_fabric_running{fabric=\"vlab\"}"), 1.0);
    assert_eq!(
        metric(
            &m,
            "fabsync_fabric_status{fabric=\"vlab\",status=\"syncing\"}"
        ),
        1.0
    );
    wait_task(&mut api, t["id"].as_str().unwrap(), false).await;
    for _ in 0..2 {
        let m = api.get("/metrics").await.body;
        assert_eq!(
            metric(
                &m,
                "fabsync_runs_total{fabric=\"vlab\",trigger=\"manual\",result=\"success\"}"
            ),
            1.0
        );
    }
    app.world
        .apiserver
        .faults()
        .add(fake_apiserver::Fault::Status {
            code: 500,
            retry_after_seconds: None,
            when: fake_apiserver::When::always(),
        })
        .unwrap();
    let t = api
        .post_json("/api/fabrics/vlab/sync", &json!({}))
        .await
        .json();
    wait_task(&mut api, t["id"].as_str().unwrap(), true).await;

    let runs = app.world.store.all_runs().unwrap();
    let ok = runs.iter().find(|r| r.end.phase == Phase::Success).unwrap();
    let failed: Vec<_> = runs
        .iter()
        .filter(|r| r.end.phase == Phase::Failure)
        .collect();
    assert!(!failed.is_empty());
    let m = api.get("/metrics").await.body;
    assert_eq!(
        metric(
            &m,
            "fabsync_runs_total{fabric=\"vlab\",trigger=\"manual\",result=\"success\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            "fabsync_runs_total{fabric=\"vlab\",trigger=\"manual\",result=\"failure\"}"
        ),
        failed.len() as f64
    );
    assert_eq!(
        metric(
            &m,
            "fabsync_run_duration_seconds_count{fabric=\"vlab\",result=\"success\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            "fabsync_run_duration_seconds_sum{fabric=\"vlab\",result=\"success\"}"
        ),
        ok.end.duration_ms.unwrap() as f64 / 1000.0
    );
    assert_eq!(
        metric(
            &m,
            "fabsync_objects_written_total{fabric=\"vlab\",action=\"create\"}"
        ),
        ok.end.counts.created as f64
    );
    assert_eq!(
        metric(
            &m,
            "fabsync_objects_written_total{fabric=\"vlab\",action=\"delete\"}"
        ),
        0.0
    );
    let cluster_calls: u64 = runs.iter().map(|r| r.end.cluster_calls).sum();
    let netbox_calls: u64 = runs.iter().map(|r| r.end.netbox_calls).sum();
    assert_eq!(
        metric(
            &m,
            "fabsync_api_calls_total{fabric=\"vlab\",server=\"cluster\"}"
        ),
        cluster_calls as f64
    );
    assert_eq!(
        metric(
            &m,
            "fabsync_api_calls_total{fabric=\"vlab\",server=\"netbox\"}"
        ),
        netbox_calls as f64
    );
    let f = app.world.store.fabric("vlab").unwrap();
    let last = f.last_success_at.unwrap();
    assert_eq!(
        metric(
            &m,
            "fabsync_last_success_timestamp_seconds{fabric=\"vlab\"}"
        ),
        last.as_second() as f64
    );
    assert_eq!(
        metric(
            &m,
            "fabsync_fabric_status{fabric=\"vlab\",status=\"error\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(&m, "fabsync_fabric_objects{fabric=\"vlab\"}"),
        f.object_count.unwrap() as f64
    );

    // A fresh server over the same store (a restart) reports the same totals: they come from
    // the run records.
    let restarted = router(AppState {
        store: app.world.store.clone(),
        scheduler: app.scheduler.clone(),
        engine: app.world.engine.clone(),
        clock: app.world.clock.clone(),
        auth_token: None,
        secret_key: [7u8; 32],
        demo: None,
    });
    let m2 = Client {
        router: restarted,
        cookie: None,
        bearer: None,
        extra: vec![],
    }
    .get("/metrics")
    .await
    .body;
    // Byte for byte: series come out sorted.
    assert_eq!(m2, m);

    // The scheduler stopped: not ready.
    app.scheduler.shutdown(Duration::from_secs(1)).await;
    let r = api.get("/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["scheduler"], "stopped");
    // And Sync Now says why instead of queueing.
    let r = api.post_json("/api/fabrics/vlab/sync", &json!({})).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("shutting down")
    );
}

// ----- static, demo ----------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn pages_carry_security_headers_and_static_files_are_served() {
    let app = app().await;
    let mut b = Client::browser(&app);
    let page = b.get("/").await;
    let csp = page
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(page.headers.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
    assert_eq!(page.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    assert!(!page.body.contains("<script>"), "no inline scripts (CSP)");
    let js = b.get("/static/fabsync.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.content_type().starts_with("text/javascript"));
    assert!(js.body.contains("/api/tasks/"));
    let css = b.get("/static/fabsync.css").await;
    assert!(css.content_type().starts_with("text/css"));
    assert!(css.body.contains(".sync-success-message"));
    // Without demo mode the demo routes do not exist.
    assert_eq!(b.get("/demo").await.status, StatusCode::NOT_FOUND);
    let mut k = Client::api(&app, Some(CLUSTER_TOKEN));
    assert_eq!(
        k.get("/demo/cluster/api").await.status,
        StatusCode::NOT_FOUND
    );
    let csrf = csrf_of(&b.get("/fabrics/vlab").await.body);
    let r = b
        .post_form("/demo/faults/cluster-unreachable", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(app.world.apiserver.faults().list().is_empty());
}

#[tokio::test(start_paused = true)]
async fn demo_mode_breaks_and_repairs_the_simulated_world() {
    let app = app_with(Opts {
        demo: true,
        ..Opts::default()
    })
    .await;
    let mut b = Client::browser(&app);
    let page = b.get("/fabrics/vlab").await;
    assert!(
        page.body
            .contains("in-process simulated NetBox and a simulated Kubernetes cluster")
    );
    let demo = b.get("/demo").await;
    assert_eq!(demo.status, StatusCode::OK);
    assert!(demo.body.contains("id=\"break-cluster-unreachable\""));
    let csrf = csrf_of(&demo.body);

    // Without the CSRF token: refused, nothing broken.
    let r = b.post_form("/demo/faults/cluster-unreachable", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(app.world.apiserver.faults().list().is_empty());

    let r = b
        .post_form(
            "/demo/faults/cluster-unreachable",
            &[("csrf_token", &csrf), ("next", "/fabrics/vlab")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/fabrics/vlab");
    assert_eq!(app.world.apiserver.faults().list().len(), 1);
    assert!(
        b.get("/demo")
            .await
            .body
            .contains("id=\"repair-cluster-unreachable\"")
    );
    let loc = b
        .post_form("/fabrics/vlab/sync", &[("csrf_token", &csrf)])
        .await
        .location();
    let id = loc
        .split("task=")
        .nth(1)
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .to_string();
    let t = wait_task(&mut b, &id, true).await;
    assert_eq!(t["outcome"], "failure");
    assert_eq!(t["run"]["error_kind"], "cluster_unreachable");

    // Repair through the API form of the route (JSON answer), then the retry succeeds.
    let r = b
        .send(
            Method::DELETE,
            "/demo/faults/cluster-unreachable",
            None,
            vec![],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a browser session needs the CSRF header"
    );
    b.extra = vec![("x-csrf-token", csrf.clone())];
    let r = b
        .send(
            Method::DELETE,
            "/demo/faults/cluster-unreachable",
            None,
            vec![],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"fault": "cluster-unreachable", "active": false, "changed": true})
    );
    b.extra.clear();
    assert!(app.world.apiserver.faults().list().is_empty());
    let t = wait_task(&mut b, &id, false).await;
    assert_eq!(t["state"], "SUCCESS");

    // A wrong cluster token: 401 from the cluster, named in the run's error.
    b.post_form(
        "/demo/faults/cluster-unauthorized",
        &[("csrf_token", &csrf)],
    )
    .await;
    let mut api = Client::api(&app, None);
    let t = api
        .post_json("/api/fabrics/vlab/sync", &json!({}))
        .await
        .json();
    let t = wait_task(&mut api, t["id"].as_str().unwrap(), true).await;
    assert_eq!(t["run"]["error_kind"], "cluster_unauthorized", "{t}");
    assert_eq!(t["fabric"]["cluster_state"], "unauthorized");
    b.post_form(
        "/demo/faults/cluster-unauthorized/clear",
        &[("csrf_token", &csrf)],
    )
    .await;
    // The simulated cluster's API is served for kubectl / kube-rs, behind its own token.
    let mut k = Client::api(&app, Some(CLUSTER_TOKEN));
    let r = k
        .get("/demo/cluster/apis/wiring.githedgehog.com/v1beta1/namespaces/default/switches")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let names: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"leaf-01".to_string()), "{names:?}");
    let mut nobody = Client::api(&app, Some("wrong"));
    let r = nobody
        .get("/demo/cluster/apis/wiring.githedgehog.com/v1beta1/namespaces/default/switches")
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = b
        .post_form("/demo/faults/no-such-fault", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("cluster-unreachable, cluster-unauthorized"));
}

/// The same requests against two worlds with the same seed give the same bytes.
#[tokio::test(start_paused = true)]
async fn same_seed_same_pages_byte_for_byte() {
    async fn session() -> Vec<String> {
        let app = app().await;
        let mut b = Client::browser(&app);
        let page = b.get("/fabrics/vlab").await;
        let csrf = csrf_of(&page.body);
        let loc = b
            .post_form("/fabrics/vlab/sync", &[("csrf_token", &csrf)])
            .await
            .location();
        let id = loc
            .split("task=")
            .nth(1)
            .unwrap()
            .split('#')
            .next()
            .unwrap()
            .to_string();
        let t = wait_task(&mut b, &id, false).await;
        let mut out = vec![page.body, loc.clone(), b.get(&loc).await.body];
        out.push(b.get(&format!("/runs/{}", t["run_id"])).await.body);
        out.push(b.get("/").await.body);
        out.push(b.get("/api/fabrics").await.body);
        out.push(b.get("/metrics").await.body);
        out.push(b.cookie.clone().unwrap());
        out
    }
    let a = session().await;
    let b = session().await;
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}

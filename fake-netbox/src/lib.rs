//! An in-process NetBox 4.7 for Hedgehog fabrics: the REST API subset a fabric needs (dcim, ipam,
//! extras, core object changes), shaped field for field like a real NetBox 4.7.3, with fixtures of
//! Hedgehog fabrics, fault injection and a request log. Usable as an axum `Router`, as a tower
//! service for in-process clients (`client_service`), or on a socket (`serve`, the binary).
//!
//! It knows nothing about Kubernetes and never depends on the `fabsync` crate.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use fake_netbox::{FakeNetBox, Fixture};
//! let nb = FakeNetBox::builder()
//!     .token("0123456789abcdef0123456789abcdef01234567")
//!     .seed(7)
//!     .fixture(Fixture::Vlab)
//!     .build()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! nb.serve(listener).await?;
//! # Ok(()) }
//! ```

mod admin;
mod api;
mod auth;
mod changes;
mod choices;
mod client;
mod delete;
mod faults;
mod fixture;
mod jsonw;
mod log;
mod model;
mod natural;
mod net;
mod query;
mod render;
mod store;
mod util;
mod write;

use std::io;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use client::{BoxError, ClientService};
pub use faults::{FaultKind, FaultRule, Faults, Mutation};
pub use fixture::spec::{FabricSpec, ServerSpec, SwitchProfile};
pub use fixture::{FixtureError, MAX_FABRICS};
pub use log::{LogEntry, RequestLog};

/// Wall-clock source (see ARCHITECTURE.md). The default is simulated: 2026-01-01T00:00:00Z plus
/// the `tokio::time` elapsed since the server was built.
pub type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

/// The NetBox release this fake imitates.
pub const NETBOX_VERSION: &str = "4.7.3";
/// The `API-Version` header value.
pub const API_VERSION: &str = "4.7";
pub(crate) const PYTHON_VERSION: &str = "3.13.5";
pub(crate) const DJANGO_VERSION: &str = "6.1.2";

/// What the fake starts with.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // built once per server; boxing would only complicate callers
pub enum Fixture {
    Empty,
    /// [`FabricSpec::vlab`].
    Vlab,
    /// [`FabricSpec::large`].
    Large,
    /// [`FabricSpec::xlarge`].
    Xlarge,
    Spec(FabricSpec),
    /// Several fabrics (1 to [`MAX_FABRICS`]), each its own site, in one NetBox: tags, custom
    /// fields, manufacturers, platform, roles and device types exist once; each fabric keeps the
    /// device names a single fabric has, and its VPC numbers (VRF names, RDs), prefixes, IP and
    /// MAC addresses, ASNs and communities are moved by its index so no two fabrics share one
    /// (the first fabric keeps a single fabric's). One spec loads exactly as [`Fixture::Spec`].
    Specs(Vec<FabricSpec>),
    /// A fixture document (`fake-netbox-fixture/1`, described in the README), e.g. one
    /// `GET /__fake/export` returned.
    Json(serde_json::Value),
}

impl Fixture {
    /// The fixture document this fixture loads (`None` for [`Fixture::Empty`]).
    pub fn document(&self, seed: u64) -> Result<Option<serde_json::Value>, FakeNetBoxError> {
        let preset = match self {
            Fixture::Empty => return Ok(None),
            Fixture::Json(v) => return Ok(Some(v.clone())),
            Fixture::Specs(specs) => {
                return fixture::generate_many(specs, seed)
                    .map(Some)
                    .map_err(FakeNetBoxError::Spec);
            }
            Fixture::Spec(s) => {
                return fixture::generate(s, seed)
                    .map(Some)
                    .map_err(FakeNetBoxError::Spec);
            }
            Fixture::Vlab => FabricSpec::vlab(),
            Fixture::Large => FabricSpec::large(),
            Fixture::Xlarge => FabricSpec::xlarge(),
        };
        fixture::generate(&preset, seed)
            .map(Some)
            .map_err(FakeNetBoxError::Spec)
    }
}

/// Errors at the crate boundary (building and serving). Token values never appear in them.
#[derive(Debug, thiserror::Error)]
pub enum FakeNetBoxError {
    #[error("token #{index}: {reason}")]
    Token {
        index: usize,
        reason: auth::TokenFormatError,
    },
    #[error("admin token: {0}")]
    AdminToken(auth::TokenFormatError),
    #[error("fabric spec: {0}")]
    Spec(String),
    #[error(transparent)]
    Fixture(#[from] FixtureError),
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
}

/// A list query result: (query key, store version, ordered ids).
pub(crate) type CachedQuery = (String, u64, Arc<Vec<store::Id>>);

/// Shared state behind every handle.
/// A copy of a fake NetBox's database (see [`FakeNetBox::backup`]).
#[derive(Clone)]
pub struct Backup(store::Store);

impl std::fmt::Debug for Backup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Backup({} changes)", self.0.changes.len())
    }
}

pub(crate) struct Inner {
    store: RwLock<store::Store>,
    pub(crate) tokens: Vec<auth::Token>,
    pub(crate) admin: Option<auth::Token>,
    clock: Clock,
    rng: Mutex<ChaCha8Rng>,
    pub(crate) faults: Faults,
    pub(crate) log: RequestLog,
    pub(crate) log_bodies: bool,
    pub(crate) cache: Mutex<Vec<CachedQuery>>,
    /// How long the socket server keeps an idle connection open (`None`: for ever).
    pub(crate) keepalive: Option<std::time::Duration>,
    /// Connections the socket server accepted.
    pub(crate) connections: std::sync::atomic::AtomicU64,
}

impl Inner {
    pub(crate) fn now(&self) -> jiff::Timestamp {
        (self.clock)()
    }

    /// A fresh request id (uuid4) drawn from the seeded generator.
    pub(crate) fn request_id(&self) -> String {
        let mut bytes = [0u8; 16];
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, store::Store> {
        self.store.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, store::Store> {
        self.store.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// A fake NetBox. Cloning is cheap (an `Arc` inside); clones share everything.
#[derive(Clone)]
pub struct FakeNetBox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FakeNetBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeNetBox")
            .field("objects", &self.object_count())
            .field("tokens", &self.inner.tokens.len())
            .finish_non_exhaustive()
    }
}

/// Configures a [`FakeNetBox`].
pub struct Builder {
    tokens: Vec<(String, bool)>,
    admin: Option<String>,
    seed: u64,
    clock: Option<Clock>,
    fixture: Fixture,
    log_bodies: bool,
    keepalive: Option<std::time::Duration>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("tokens", &self.tokens.len())
            .field("admin_token", &self.admin.is_some())
            .field("seed", &self.seed)
            .field("fixture", &self.fixture)
            .field("log_bodies", &self.log_bodies)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// Accepts a read-write token: v1 (40 letters/digits) or v2 (`nbt_<key>.<secret>`).
    pub fn token(mut self, token: impl Into<String>) -> Builder {
        self.tokens.push((token.into(), true));
        self
    }

    pub fn tokens<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tokens: I) -> Builder {
        for t in tokens {
            self.tokens.push((t.into(), true));
        }
        self
    }

    /// Accepts a token that may only read (writes get NetBox's 403).
    pub fn read_only_token(mut self, token: impl Into<String>) -> Builder {
        self.tokens.push((token.into(), false));
        self
    }

    pub fn read_only_tokens<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        tokens: I,
    ) -> Builder {
        for t in tokens {
            self.tokens.push((t.into(), false));
        }
        self
    }

    /// The token that guards `/__fake/…` (faults, log, export). Without one those are disabled.
    pub fn admin_token(mut self, token: impl Into<String>) -> Builder {
        self.admin = Some(token.into());
        self
    }

    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = seed;
        self
    }

    pub fn clock(mut self, clock: Clock) -> Builder {
        self.clock = Some(clock);
        self
    }

    pub fn fixture(mut self, fixture: Fixture) -> Builder {
        self.fixture = fixture;
        self
    }

    /// Include request and response bodies (secrets redacted) in the request log.
    pub fn log_bodies(mut self, on: bool) -> Builder {
        self.log_bodies = on;
        self
    }

    /// How long the socket server keeps an idle keep-alive connection open before it closes it
    /// (NetBox's gunicorn: 2 s, the default); `None` never closes one.
    pub fn keepalive(mut self, keepalive: Option<std::time::Duration>) -> Builder {
        self.keepalive = keepalive;
        self
    }

    pub fn build(self) -> Result<FakeNetBox, FakeNetBoxError> {
        let tokens = self
            .tokens
            .iter()
            .enumerate()
            .map(|(index, (t, write))| {
                auth::Token::parse(t, *write)
                    .map_err(|reason| FakeNetBoxError::Token { index, reason })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let admin = self
            .admin
            .as_deref()
            .map(|a| auth::Token::parse(a, true).map_err(FakeNetBoxError::AdminToken))
            .transpose()?;
        let clock = self.clock.unwrap_or_else(simulated_clock);
        let inner = Inner {
            store: RwLock::new(store::Store::default()),
            tokens,
            admin,
            clock,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(self.seed)),
            faults: Faults::new(self.seed),
            log: RequestLog::default(),
            log_bodies: self.log_bodies,
            cache: Mutex::new(Vec::new()),
            keepalive: self.keepalive,
            connections: Default::default(),
        };
        if let Some(doc) = self.fixture.document(self.seed)? {
            let actor = write::Actor {
                user: changes::USER.into(),
                request_id: inner.request_id(),
                now: inner.now(),
            };
            let mut store = inner.write();
            fixture::load(&mut store, &doc, actor)?;
        }
        Ok(FakeNetBox {
            inner: Arc::new(inner),
        })
    }
}

/// The default clock: a fixed epoch plus `tokio::time` elapsed since creation.
pub fn simulated_clock() -> Clock {
    let epoch: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().expect("valid epoch");
    let start = tokio::time::Instant::now();
    Arc::new(move || {
        let elapsed = start.elapsed();
        epoch
            .checked_add(jiff::SignedDuration::try_from(elapsed).unwrap_or_default())
            .unwrap_or(epoch)
    })
}

/// The system clock, for the binary.
pub fn system_clock() -> Clock {
    Arc::new(jiff::Timestamp::now)
}

impl FakeNetBox {
    pub fn builder() -> Builder {
        Builder {
            tokens: Vec::new(),
            admin: None,
            seed: 0,
            clock: None,
            fixture: Fixture::Empty,
            log_bodies: false,
            keepalive: Some(std::time::Duration::from_secs(2)),
        }
    }

    /// The whole API as an axum router (no transport faults: use [`FakeNetBox::client_service`]).
    pub fn router(&self) -> axum::Router {
        let inner = self.inner.clone();
        axum::Router::new().fallback(move |req: http::Request<axum::body::Body>| {
            let inner = inner.clone();
            async move { api::handle(inner, req).await }
        })
    }

    /// The router as a tower service for in-process clients, with transport faults
    /// ("unreachable" surfaces as an `io::Error` of kind `ConnectionRefused`).
    pub fn client_service(&self) -> ClientService {
        ClientService::new(self.inner.clone(), self.router())
    }

    pub fn faults(&self) -> Faults {
        self.inner.faults.clone()
    }

    pub fn log(&self) -> RequestLog {
        self.inner.log.clone()
    }

    /// Number of stored NetBox objects across every endpoint (object changes not included).
    pub fn object_count(&self) -> usize {
        self.inner.read().total_objects()
    }

    /// Number of stored objects per endpoint (`dcim.interfaces` → n), plus `core.object-changes`.
    pub fn object_counts(&self) -> std::collections::BTreeMap<String, usize> {
        let store = self.inner.read();
        let mut out: std::collections::BTreeMap<String, usize> = model::Model::ALL
            .iter()
            .map(|m| (m.resource(), store.count(*m)))
            .collect();
        out.insert("core.object-changes".into(), store.changes.len());
        out
    }

    /// A copy of the whole database, objects and change log, as a `pg_dump` of NetBox takes it.
    pub fn backup(&self) -> Backup {
        Backup(self.inner.read().clone())
    }

    /// Puts a backup back, as restoring NetBox's database does: objects and the change log
    /// return to what they were, and the next changes take the ids that follow the backup's
    /// last change again (a client's change cursor may now point past the end, or at a
    /// different record).
    pub fn restore(&self, backup: &Backup) {
        let mut store = self.inner.write();
        let version = store.version;
        *store = backup.0.clone();
        // Cached query results belong to the data before the restore.
        store.version = version + 1;
    }

    /// Deletes change records older than `keep_from` (by id), as NetBox's changelog retention
    /// (`CHANGELOG_RETENTION`) does with records older than its number of days.
    pub fn prune_changes_before(&self, keep_from: u64) {
        let mut store = self.inner.write();
        store.changes.retain(|c| c.id >= keep_from);
        store.version += 1;
    }

    /// Connections the socket server has accepted so far.
    pub fn connections_accepted(&self) -> u64 {
        self.inner
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current data as a fixture document (what `GET /__fake/export` returns).
    pub fn export(&self) -> serde_json::Value {
        fixture::export(&self.inner.read())
    }

    /// Serves the API on a listener until the listener fails. An "unreachable" fault drops
    /// matching connections without a response.
    pub async fn serve(&self, listener: tokio::net::TcpListener) -> io::Result<()> {
        client::serve(self.inner.clone(), self.router(), listener).await
    }
}

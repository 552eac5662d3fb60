//! The implementations of the subcommands: argument structs, reading files, building the NetBox
//! client, printing results. Each returns the process exit code.
//!
//! Only glue: the work itself is done by `crate::hedgehog`, `crate::netbox` and `crate::plan`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use fake_netbox::{FabricSpec, FakeNetBox, Fixture};

use super::{EXIT_ERROR, EXIT_INVALID, EXIT_OK};
use crate::hedgehog::diagram::Diagram;
use crate::netbox::{NetboxClient, Token, https_service, into_http_service};
use crate::plan::{Plan, PlanConfig, Severity};

/// How to reach a real NetBox.
#[derive(Debug, Clone, Args)]
pub struct NetboxArgs {
    /// NetBox base URL, e.g. https://netbox.example.com
    #[arg(long, value_name = "URL")]
    pub netbox_url: Option<String>,
    /// File holding the API token (v1 40-character token or v2 nbt_<key>.<secret>)
    #[arg(long, value_name = "FILE", conflicts_with = "netbox_token_env")]
    pub netbox_token_file: Option<PathBuf>,
    /// Environment variable holding the API token (instead of --netbox-token-file)
    #[arg(long, value_name = "VAR")]
    pub netbox_token_env: Option<String>,
    /// Extra CA certificate (PEM) to trust for the NetBox URL
    #[arg(long, value_name = "FILE")]
    pub netbox_ca_file: Option<PathBuf>,
}

/// A built-in fabric of the fake NetBox (`fake-netbox --fixture …` serves the same data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixtureArg {
    /// Hedgehog's VLAB: 2 spines, an ESLAG pair and an orphan leaf, 6 servers, 2 VPCs, 1 external
    Vlab,
    /// A mid-size fabric (about 5 000–10 000 NetBox objects) with every connection kind
    Large,
    /// A very large fabric (50 000+ NetBox objects)
    Xlarge,
    /// A spine-less fabric whose leaves are meshed
    Mesh,
}

impl FixtureArg {
    /// The generator spec of this fixture.
    pub fn spec(self) -> FabricSpec {
        match self {
            FixtureArg::Vlab => FabricSpec::vlab(),
            FixtureArg::Large => FabricSpec::large(),
            FixtureArg::Xlarge => FabricSpec::xlarge(),
            FixtureArg::Mesh => FabricSpec::mesh(),
        }
    }

    fn fixture(self) -> Fixture {
        match self {
            FixtureArg::Vlab => Fixture::Vlab,
            FixtureArg::Large => Fixture::Large,
            FixtureArg::Xlarge => Fixture::Xlarge,
            FixtureArg::Mesh => Fixture::Spec(FabricSpec::mesh()),
        }
    }
}

/// `fabsync plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub netbox: NetboxArgs,
    /// Plan a built-in fabric held by an in-process fake NetBox (no network) instead of a real
    /// NetBox
    #[arg(
        long,
        value_enum,
        value_name = "NAME",
        conflicts_with_all = ["netbox_url", "netbox_token_file", "netbox_token_env", "netbox_ca_file"]
    )]
    pub fixture: Option<FixtureArg>,
    /// Seed of the fixture (it drives the generated serial numbers) [default: 0, as fake-netbox]
    #[arg(long, value_name = "N", requires = "fixture")]
    pub seed: Option<u64>,
    /// Slug of the NetBox site that is the fabric (default with --fixture: the fixture's site)
    #[arg(long, value_name = "SLUG")]
    pub site: Option<String>,
    /// Only devices, VLAN groups, VRFs and prefixes with this tag belong to the fabric
    #[arg(long, value_name = "SLUG")]
    pub tag: Option<String>,
    /// Fabric name for labels (default: the site slug)
    #[arg(long)]
    pub fabric: Option<String>,
}

/// `fabsync import-wiring`.
#[derive(Debug, Clone, Args)]
pub struct ImportWiringArgs {
    /// Hedgehog wiring diagram (multi-document YAML)
    pub file: PathBuf,
    #[command(flatten)]
    pub netbox: NetboxArgs,
    /// Slug of the NetBox site to import into (created when missing)
    #[arg(long, value_name = "SLUG")]
    pub site: String,
}

/// `fabsync netbox-setup`.
#[derive(Debug, Clone, Args)]
pub struct NetboxSetupArgs {
    #[command(flatten)]
    pub netbox: NetboxArgs,
}

fn err(msg: impl std::fmt::Display) -> u8 {
    eprintln!("error: {msg}");
    EXIT_ERROR
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime can always be built")
}

/// Builds a client for a real NetBox from the flags (exit code on error).
fn real_client(a: &NetboxArgs) -> Result<NetboxClient, u8> {
    let Some(url) = &a.netbox_url else {
        return Err(err("--netbox-url is required"));
    };
    let token = match (&a.netbox_token_file, &a.netbox_token_env) {
        (Some(file), _) => std::fs::read_to_string(file)
            .map_err(|e| err(format!("cannot read token file {}: {e}", file.display())))?,
        (None, Some(var)) => std::env::var(var).map_err(|_| {
            err(format!(
                "--netbox-token-env: environment variable {var} is not set"
            ))
        })?,
        (None, None) => {
            return Err(err(
                "a NetBox token is required: --netbox-token-file or --netbox-token-env",
            ));
        }
    };
    let svc = https_service(a.netbox_ca_file.as_deref()).map_err(err)?;
    NetboxClient::new(svc, url, Token::new(token)).map_err(err)
}

pub(super) fn crds() -> u8 {
    match crate::hedgehog::crds_yaml() {
        Ok(yaml) => write_stdout(&yaml),
        Err(e) => {
            eprintln!("error: cannot encode CRDs: {e}");
            EXIT_ERROR
        }
    }
}

fn write_stdout(s: &str) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => EXIT_OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            eprintln!("error: cannot write output: {e}");
            EXIT_ERROR
        }
    }
}

/// The NetBox a plan reads: a real one by URL, or a fixture in an in-process fake NetBox that
/// the real [`NetboxClient`] reads through the fake's tower service (no socket).
fn plan_source(args: &PlanArgs) -> Result<(NetboxClient, String), u8> {
    match args.fixture {
        Some(fixture) => {
            let nb = FakeNetBox::builder()
                .token(crate::sim::NETBOX_TOKEN)
                .seed(args.seed.unwrap_or(0))
                .fixture(fixture.fixture())
                .build()
                .map_err(|e| {
                    eprintln!("error: fixture {fixture:?}: {e}");
                    EXIT_ERROR
                })?;
            let client = NetboxClient::new(
                into_http_service(nb.client_service()),
                crate::sim::NETBOX_URL,
                Token::new(crate::sim::NETBOX_TOKEN),
            )
            .map_err(err)?;
            let site = args.site.clone().unwrap_or_else(|| fixture.spec().site);
            Ok((client, site))
        }
        None => {
            if args.netbox.netbox_url.is_none() {
                return Err(err(
                    "give --fixture NAME, or --netbox-url with a token and --site",
                ));
            }
            let Some(site) = args.site.clone() else {
                return Err(err("--site is required with --netbox-url"));
            };
            Ok((real_client(&args.netbox)?, site))
        }
    }
}

/// One stderr line: how many objects of each kind, and how many findings.
fn plan_summary(p: &Plan, fabric: &str, site: &str) -> String {
    let mut kinds: Vec<(crate::hedgehog::Kind, usize)> = Vec::new();
    for o in &p.objects {
        match kinds.last_mut() {
            Some((k, n)) if *k == o.kind => *n += 1,
            _ => kinds.push((o.kind, 1)),
        }
    }
    let per_kind: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let warnings = p
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    format!(
        "planned {} objects for fabric {fabric} (site {site}): {}; {warnings} warning(s)",
        p.objects.len(),
        if per_kind.is_empty() {
            "none".to_string()
        } else {
            per_kind.join(", ")
        }
    )
}

pub(super) fn plan(args: PlanArgs) -> u8 {
    let rt = runtime();
    let (client, site) = match rt.block_on(async { plan_source(&args) }) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let fabric = args.fabric.clone().unwrap_or_else(|| site.clone());
    let snapshot = match rt.block_on(client.read_fabric(&site, args.tag.as_deref())) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let p = crate::plan::plan(&snapshot, &PlanConfig::new(fabric.clone()));
    for f in &p.findings {
        eprintln!("{f}");
    }
    let fatal = p
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Fatal)
        .count();
    if fatal > 0 {
        eprintln!("error: {fatal} fatal finding(s); no objects printed");
        return EXIT_INVALID;
    }
    let yaml = match p.to_yaml() {
        Ok(yaml) => yaml,
        Err(e) => {
            eprintln!("error: cannot encode objects: {e}");
            return EXIT_ERROR;
        }
    };
    let code = write_stdout(&yaml);
    if code == EXIT_OK {
        eprintln!("{}", plan_summary(&p, &fabric, &site));
    }
    code
}

pub(super) fn import_wiring(args: ImportWiringArgs) -> u8 {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => return err(format!("cannot read {}: {e}", args.file.display())),
    };
    let diagram = match Diagram::parse(&text) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {}: {e}", args.file.display());
            return EXIT_INVALID;
        }
    };
    let client = match real_client(&args.netbox) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let rt = runtime();
    match rt.block_on(crate::netbox::import::import_wiring(
        &client, &diagram, &args.site,
    )) {
        Ok(report) => {
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            println!("{}", report.summary());
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            match &e {
                crate::netbox::import::ImportError::Netbox(_) => EXIT_ERROR,
                crate::netbox::import::ImportError::Diagram(_) => EXIT_INVALID,
            }
        }
    }
}

pub(super) fn netbox_setup(args: NetboxSetupArgs) -> u8 {
    let client = match real_client(&args.netbox) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let rt = runtime();
    match rt.block_on(client.ensure_fabsync_custom_fields()) {
        Ok(r) => {
            for n in &r.created {
                println!("created custom field {n}");
            }
            for n in &r.updated {
                println!("widened object types of custom field {n}");
            }
            println!(
                "{} created, {} updated, {} already present",
                r.created.len(),
                r.updated.len(),
                r.unchanged.len()
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}

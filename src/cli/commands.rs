//! The implementations of the subcommands: argument structs, reading files, building the NetBox
//! client, printing results. Each returns the process exit code.
//!
//! Only glue: the work itself is done by `crate::hedgehog`, `crate::netbox` and `crate::plan`.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::hedgehog::diagram::Diagram;
use crate::netbox::{NetboxClient, NetboxError, Token, https_service};
use crate::plan::{PlanConfig, Severity};

/// How to reach a real NetBox.
#[derive(Debug, Clone, Args)]
pub struct NetboxArgs {
    /// NetBox base URL, e.g. https://netbox.example.com
    #[arg(long, value_name = "URL")]
    pub netbox_url: Option<String>,
    /// File holding the API token (v1 40-character token or v2 nbt_<key>.<secret>)
    #[arg(long, value_name = "FILE")]
    pub netbox_token_file: Option<PathBuf>,
    /// Extra CA certificate (PEM) to trust for the NetBox URL
    #[arg(long, value_name = "FILE")]
    pub netbox_ca_file: Option<PathBuf>,
}

/// `fabsync plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub netbox: NetboxArgs,
    /// Slug of the NetBox site that is the fabric
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
    EXIT_USAGE
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
    let Some(token_file) = &a.netbox_token_file else {
        return Err(err("--netbox-token-file is required"));
    };
    let token = std::fs::read_to_string(token_file).map_err(|e| {
        err(format!(
            "cannot read token file {}: {e}",
            token_file.display()
        ))
    })?;
    let svc = https_service(a.netbox_ca_file.as_deref()).map_err(err)?;
    NetboxClient::new(svc, url, Token::new(token)).map_err(err)
}

fn netbox_exit(e: &NetboxError) -> u8 {
    match e {
        NetboxError::Invalid { .. } | NetboxError::Decode { .. } | NetboxError::NotFound { .. } => {
            EXIT_FAILED
        }
        _ => EXIT_USAGE,
    }
}

pub(super) fn crds() -> u8 {
    match crate::hedgehog::crds_yaml() {
        Ok(yaml) => write_stdout(&yaml),
        Err(e) => {
            eprintln!("error: cannot encode CRDs: {e}");
            EXIT_FAILED
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
            EXIT_FAILED
        }
    }
}

pub(super) fn plan(args: PlanArgs) -> u8 {
    let rt = runtime();
    let (snapshot, fabric) = {
        let Some(site) = &args.site else {
            return err("--netbox-url, --netbox-token-file and --site are required");
        };
        let client = match real_client(&args.netbox) {
            Ok(c) => c,
            Err(code) => return code,
        };
        match rt.block_on(client.read_fabric(site, args.tag.as_deref())) {
            Ok(s) => (s, args.fabric.clone().unwrap_or_else(|| site.clone())),
            Err(e) => {
                eprintln!("error: {e}");
                return netbox_exit(&e);
            }
        }
    };
    let p = crate::plan::plan(&snapshot, &PlanConfig::new(fabric));
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
        return EXIT_FAILED;
    }
    match p.to_yaml() {
        Ok(yaml) => write_stdout(&yaml),
        Err(e) => {
            eprintln!("error: cannot encode objects: {e}");
            EXIT_FAILED
        }
    }
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
            return EXIT_FAILED;
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
                crate::netbox::import::ImportError::Netbox(n) => netbox_exit(n),
                _ => EXIT_FAILED,
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
            netbox_exit(&e)
        }
    }
}

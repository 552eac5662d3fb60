//! `fabsync validate`: every workflow end to end, with evidence and a completeness verdict. Exit
//! code 0 only when every requirement is PROVEN.
//!
//! Glue over `crate::validate`: options, progress, the summary table, the bundle folder.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_CHANGES, EXIT_ERROR, EXIT_OK};
use crate::clock::{Clock, SystemClock};
use crate::validate::real::RealSystems;
use crate::validate::{
    Options, Scale, ValidateError, default_out, run_local_blocking, run_real_blocking,
    run_sim_blocking, write_bundle,
};

/// Which systems the workflows run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// In-process fakes on a paused clock (embedded, deterministic).
    Sim,
    /// The fakes served on loopback ports (HTTPS for the cluster), real time, reached exactly
    /// like real systems; their fault endpoints cover what real systems cannot be given.
    Local,
    /// Real systems: --kubeconfig [--context] --netbox-url --netbox-token-file. Use a test
    /// cluster and NetBox: the validation creates (and removes) sites and Hedgehog objects.
    Real,
}

/// `fabsync validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Systems to run against
    #[arg(long, value_enum, default_value = "sim")]
    pub target: Target,
    /// Evidence folder (default ./evidence/<timestamp>)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Seed of every random choice in the simulated world
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Size of the large-fabric workflow's fixture
    #[arg(long, value_enum, default_value = "large")]
    pub scale: Scale,
    /// Run only this workflow (repeatable); a partial run cannot prove every requirement
    #[arg(long = "workflow", value_name = "ID")]
    pub workflows: Vec<String>,
    /// Kubeconfig of the cluster (--target real)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Context in the kubeconfig (--target real; default: its current context)
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// NetBox base URL (--target real)
    #[arg(long, value_name = "URL")]
    pub netbox_url: Option<String>,
    /// File holding the NetBox API token (--target real)
    #[arg(long, value_name = "FILE")]
    pub netbox_token_file: Option<PathBuf>,
    /// Click Sync Now in a real headless Chromium over WebDriver, with screenshots (--target local)
    #[arg(long)]
    pub browser: bool,
}

/// The real systems named by the flags, or the usage error naming the flag.
fn real_systems(args: &ValidateArgs) -> Result<Option<RealSystems>, String> {
    let given: Vec<&str> = [
        ("--kubeconfig", args.kubeconfig.is_some()),
        ("--context", args.context.is_some()),
        ("--netbox-url", args.netbox_url.is_some()),
        ("--netbox-token-file", args.netbox_token_file.is_some()),
    ]
    .iter()
    .filter(|(_, g)| *g)
    .map(|(n, _)| *n)
    .collect();
    if args.browser && args.target != Target::Local {
        return Err(
            "--browser needs --target local (the browser must reach fabsync's pages on loopback)"
                .into(),
        );
    }
    if args.target != Target::Real {
        if let Some(flag) = given.first() {
            return Err(format!("{flag} is only for --target real"));
        }
        return Ok(None);
    }
    let missing: Vec<&str> = [
        ("--kubeconfig FILE", args.kubeconfig.is_none()),
        ("--netbox-url URL", args.netbox_url.is_none()),
        ("--netbox-token-file FILE", args.netbox_token_file.is_none()),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(n, _)| *n)
    .collect();
    if !missing.is_empty() {
        return Err(format!("--target real needs {}", missing.join(", ")));
    }
    let url = args.netbox_url.clone().unwrap_or_default();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "--netbox-url {url:?} must start with http:// or https://"
        ));
    }
    for (flag, path) in [
        ("--kubeconfig", args.kubeconfig.as_ref()),
        ("--netbox-token-file", args.netbox_token_file.as_ref()),
    ] {
        if let Some(p) = path
            && !p.is_file()
        {
            return Err(format!("{flag} {}: no such file", p.display()));
        }
    }
    Ok(Some(RealSystems {
        kubeconfig: args.kubeconfig.clone().unwrap_or_default(),
        context: args.context.clone(),
        netbox_url: url,
        netbox_token_file: args.netbox_token_file.clone().unwrap_or_default(),
    }))
}

/// `fabsync validate`.
pub fn validate(args: ValidateArgs) -> u8 {
    let known: Vec<&str> = crate::validate::workflows::WORKFLOWS
        .iter()
        .map(|w| w.id)
        .collect();
    if let Some(bad) = args.workflows.iter().find(|w| !known.contains(&w.as_str())) {
        eprintln!(
            "error: unknown workflow {bad:?}; workflows: {}",
            known.join(", ")
        );
        return EXIT_ERROR;
    }
    crate::simulate::keep_freed_c_memory();
    let systems = match real_systems(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let browser = if args.browser {
        match crate::validate::browser::BrowserPaths::from_path() {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        }
    } else {
        None
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(SystemClock.now()));
    let opts = Options {
        seed: args.seed,
        scale: args.scale,
        only: args.workflows.clone(),
        progress: true,
    };
    eprintln!(
        "fabsync validate: target {}, seed {}, scale {}, evidence in {}",
        match args.target {
            Target::Sim => "sim",
            Target::Local => "local",
            Target::Real => "real",
        },
        args.seed,
        args.scale.as_str(),
        out.display()
    );
    let result = match (args.target, systems) {
        (Target::Sim, _) => run_sim_blocking(&opts),
        (Target::Local, _) => run_local_blocking(&opts, browser),
        (Target::Real, Some(systems)) => run_real_blocking(&opts, systems),
        (Target::Real, None) => Err(ValidateError::Setup(
            "--target real needs its systems".into(),
        )),
    };
    let (outcome, timings) = match result {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    if let Err(e) = write_bundle(&out, &outcome, &timings) {
        eprintln!("error: {e}");
        return EXIT_ERROR;
    }
    println!(
        "{}",
        crate::validate::report::summary_table(&outcome.report)
    );
    if let Ok(reqs) = serde_json::from_slice::<Vec<serde_json::Value>>(
        outcome
            .files
            .get("requirements.json")
            .map(Vec::as_slice)
            .unwrap_or_default(),
    ) {
        // Why a requirement could not be proven on this target (the table lists them all).
        for r in &reqs {
            if let Some(reason) = r["reason"].as_str()
                && reason.starts_with("not provable")
            {
                println!(
                    "{} {}: {reason}",
                    r["status"].as_str().unwrap_or_default(),
                    r["id"].as_str().unwrap_or_default()
                );
            }
        }
    }
    println!("evidence: {}", out.display());
    if outcome.report.passed {
        EXIT_OK
    } else {
        EXIT_CHANGES
    }
}

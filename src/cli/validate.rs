//! `fabsync validate`: every workflow end to end, with evidence and a completeness verdict. Exit
//! code 0 only when every requirement is PROVEN.
//!
//! Glue over `crate::validate`: options, progress, the summary table, the bundle folder.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::clock::{Clock, SystemClock};
use crate::validate::{Options, Scale, default_out, run_sim_blocking, write_bundle};

/// Which systems the workflows run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// In-process fakes on a paused clock (embedded, deterministic).
    Sim,
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
        return EXIT_USAGE;
    }
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
        "fabsync validate: target {:?}, seed {}, scale {}, evidence in {}",
        args.target,
        args.seed,
        args.scale.as_str(),
        out.display()
    );
    let (outcome, timings) = match args.target {
        Target::Sim => match run_sim_blocking(&opts) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILED;
            }
        },
    };
    if let Err(e) = write_bundle(&out, &outcome, &timings) {
        eprintln!("error: {e}");
        return EXIT_FAILED;
    }
    println!(
        "{}",
        crate::validate::report::summary_table(&outcome.report)
    );
    println!("evidence: {}", out.display());
    if outcome.report.passed {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

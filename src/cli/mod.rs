//! The `fabsync` command line (clap derive): parses arguments, wires the library parts together
//! and maps outcomes to exit codes (0 ok, 1 fatal findings / failed run, 2 usage or connection
//! errors).
//!
//! No business logic lives here: planning is `crate::plan`, NetBox IO is `crate::netbox`.

mod commands;
pub mod ops;
pub mod serve;
pub mod simulate;
pub mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use commands::{FixtureArg, ImportWiringArgs, NetboxArgs, NetboxSetupArgs, PlanArgs};

/// Exit code: done (synced, in sync, every requirement proven, output written).
pub const EXIT_OK: u8 = 0;
/// Exit code: differences (`diff` found changes; `validate`: a requirement is not proven).
pub const EXIT_CHANGES: u8 = 1;
/// Exit code: an error (usage or configuration, a system unreachable or refusing the
/// credentials, a failed run, another process syncing the fabric, I/O).
pub const EXIT_ERROR: u8 = 2;
/// Exit code: invalid data (fatal findings in NetBox's data or in a wiring diagram); nothing
/// was written.
pub const EXIT_INVALID: u8 = 3;
/// Exit code: a sync's deletions are held for approval; nothing was written.
pub const EXIT_HELD: u8 = 4;

/// fabsync keeps Hedgehog fabric resources in Kubernetes equal to what NetBox says.
#[derive(Debug, Parser)]
#[command(name = "fabsync", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand. New commands are new variants plus one arm in [`run`].
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CustomResourceDefinitions of the 14 Hedgehog kinds fabsync knows (multi-document YAML).
    Crds,
    /// Print the desired Hedgehog objects for a fabric (a NetBox site, or a built-in --fixture) as
    /// multi-document YAML for `kubectl apply -f`; findings go to stderr, exit 3 on a fatal one.
    Plan(PlanArgs),
    /// Bootstrap NetBox from an existing Hedgehog wiring diagram (idempotent).
    ImportWiring(ImportWiringArgs),
    /// Create the custom fields fabsync reads and writes in NetBox (idempotent).
    NetboxSetup(NetboxSetupArgs),
    /// Sync one fabric now: NetBox → cluster, verified; prints a summary. Exit 0 synced, 2 failed,
    /// 3 invalid NetBox data, 4 deletions held for approval (--allow-deletes N approves them).
    Sync(ops::SyncArgs),
    /// Show what a sync of one fabric would change, field by field; exit 0 in sync, 1 when it
    /// would change something, 3 on invalid NetBox data.
    Diff(ops::DiffArgs),
    /// Show every fabric's status, last sync, next run and last error.
    Status(ops::StatusArgs),
    /// List a fabric's runs, or show one run's per-object results.
    Runs(ops::RunsArgs),
    /// Run the scheduler and the web UI/API (with --demo: against an in-process simulated NetBox and cluster).
    Serve(serve::ServeArgs),
    /// Prove every sync workflow end to end and write an evidence bundle; exit 0 only if every requirement is PROVEN.
    Validate(validate::ValidateArgs),
    /// Randomized deterministic simulation: seeds of random edits, faults and crashes against
    /// fabsync replicas on virtual time, checking the invariants after every step; exit 1 when a
    /// seed breaks one (it prints the command that replays it).
    Simulate(simulate::SimulateArgs),
}

/// Entry point of the binary: parses `std::env::args` and runs the command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { EXIT_OK });
        }
    };
    ExitCode::from(run(cli))
}

/// Runs a parsed command, writing to the process's stdout/stderr; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    init_tracing();
    match cli.command {
        Command::Crds => commands::crds(),
        Command::Plan(args) => commands::plan(args),
        Command::ImportWiring(args) => commands::import_wiring(args),
        Command::NetboxSetup(args) => commands::netbox_setup(args),
        Command::Sync(args) => ops::sync(args),
        Command::Diff(args) => ops::diff(args),
        Command::Status(args) => ops::status(args),
        Command::Runs(args) => ops::runs(args),
        Command::Serve(args) => serve::serve(args),
        Command::Validate(args) => validate::validate(args),
        Command::Simulate(args) => simulate::simulate(args),
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FABSYNC_LOG")
        // kube-rs logs every failed connection at ERROR; fabsync reports the same failure once,
        // classified and naming the cluster, so its line would only repeat it.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("warn,kube_client::client::builder=off")
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

//! `fabsync simulate`: runs seeds of the randomized simulation, prints one line per failing seed
//! with the command that replays it (and, with --shrink, a minimal operation stream), and a
//! summary. Exit 0 when no seed broke an invariant, 1 when one did, 2 on usage errors.
//!
//! Glue over `crate::simulate`. Standard output depends on the seeds and options only (same
//! seed ⇒ same bytes); wall-clock speed goes to standard error.

use clap::Args;

use super::{EXIT_CHANGES, EXIT_ERROR, EXIT_OK};
use crate::planted::Bug;
use crate::simulate::{self, Limits, Options, SeedReport};

/// `fabsync simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Run this many seeds (from --first)
    #[arg(long, default_value_t = 100, conflicts_with = "seed")]
    pub seeds: u64,
    /// The first seed of --seeds
    #[arg(long, default_value_t = 0)]
    pub first: u64,
    /// Run this one seed, printing every operation
    #[arg(long)]
    pub seed: Option<u64>,
    /// Virtual hours of operations per seed (a liveness phase follows)
    #[arg(long, default_value_t = 24)]
    pub hours: u64,
    /// Virtual minutes of operations per seed, instead of --hours
    #[arg(long, conflicts_with = "hours")]
    pub minutes: Option<u64>,
    /// At most this many fabrics per seed
    #[arg(long, default_value_t = 2)]
    pub fabrics: u32,
    /// At most this many fabsync replicas per seed (each with its own store; Leases on)
    #[arg(long, default_value_t = 2)]
    pub replicas: u32,
    /// Reduce each failing seed's operations to a minimal stream that still fails
    #[arg(long)]
    pub shrink: bool,
    /// Replay only these operations of the seed (indices, as --shrink prints them)
    #[arg(long, value_delimiter = ',', requires = "seed")]
    pub ops: Option<Vec<usize>>,
    /// Plant a known bug (test builds with the planted-bugs feature only)
    #[arg(long, value_parser = parse_bug)]
    pub plant: Option<Bug>,
    /// Threads (default: the machine's cores)
    #[arg(long)]
    pub threads: Option<usize>,
}

fn parse_bug(s: &str) -> Result<Bug, String> {
    Bug::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
        format!("unknown bug {s:?}; one of {}", names.join(", "))
    })
}

fn print_failure(r: &SeedReport, opts: &Options) {
    let Some(v) = &r.violation else { return };
    let op = match (r.in_liveness, r.after_op) {
        (true, _) => "in the liveness phase".to_string(),
        (false, Some(i)) => format!("after operation #{i}"),
        (false, None) => "before the first operation".to_string(),
    };
    println!(
        "seed {}: VIOLATION {} {op} (t = {} s): {}",
        r.seed, v.invariant, v.at, v.detail
    );
    println!("  replay: {}", simulate::replay_command(r.seed, opts));
}

/// Runs `fabsync simulate`.
pub fn simulate(args: SimulateArgs) -> u8 {
    let limits = Limits {
        minutes: args.minutes.unwrap_or(args.hours * 60).max(1),
        fabrics: args.fabrics.max(1),
        replicas: args.replicas.max(1),
    };
    let opts = Options {
        limits,
        plant: args.plant,
        only: args.ops.clone(),
        trace: args.seed.is_some(),
    };
    if let Err(e) = crate::planted::plant(args.plant).and_then(|_| crate::planted::plant(None)) {
        eprintln!("fabsync simulate: {e}");
        return EXIT_ERROR;
    }
    let seeds: Vec<u64> = match args.seed {
        Some(s) => vec![s],
        None => (args.first..args.first.saturating_add(args.seeds)).collect(),
    };
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    simulate::keep_freed_c_memory();
    let wall = crate::validate::stopwatch::Stopwatch::start();
    let reports = match simulate::run_seeds(&seeds, &opts, threads) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fabsync simulate: {e}");
            return EXIT_ERROR;
        }
    };
    let elapsed = wall.elapsed_ms() / 1000.0;
    let mut failed = 0;
    let mut virtual_secs = 0u64;
    let mut runs = 0u64;
    let mut writes = 0u64;
    let mut oracle = 0u64;
    let mut resolved = 0u64;
    for r in &reports {
        virtual_secs += r.virtual_secs;
        runs += r.stats.runs;
        writes += r.stats.writes;
        oracle += r.stats.oracle_checks;
        resolved += r.stats.conflicts_resolved;
        if args.seed.is_some() {
            println!(
                "seed {}: fabrics {} · replicas {}",
                r.seed,
                r.fabrics.join(" "),
                r.replicas
            );
            for line in &r.trace {
                println!("{line}");
            }
        }
        if r.violation.is_some() {
            failed += 1;
            print_failure(r, &opts);
            if args.shrink {
                match simulate::shrink(r.seed, &opts, 400) {
                    Ok(Some(s)) => {
                        let o = Options {
                            only: Some(s.kept.clone()),
                            ..opts.clone()
                        };
                        println!(
                            "  shrunk to {} operation(s): {}",
                            s.kept.len(),
                            simulate::replay_command(r.seed, &o)
                        );
                        for line in &s.trace {
                            println!("    {line}");
                        }
                    }
                    Ok(None) => println!("  (does not fail again: not shrunk)"),
                    Err(e) => println!("  shrinking failed: {e}"),
                }
            }
        }
    }
    println!(
        "{} seed(s), {failed} with a violation · {:.1} virtual hours · {runs} runs · {writes} cluster writes · {oracle} oracle checks · {resolved} conflict(s) a person resolved",
        reports.len(),
        virtual_secs as f64 / 3600.0
    );
    eprintln!(
        "{:.2} s wall on {threads} thread(s): {:.1} seeds/s, {:.0} virtual hours per wall second",
        elapsed,
        reports.len() as f64 / elapsed.max(1e-9),
        virtual_secs as f64 / 3600.0 / elapsed.max(1e-9)
    );
    if failed > 0 { EXIT_CHANGES } else { EXIT_OK }
}

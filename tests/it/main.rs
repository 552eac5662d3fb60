//! fabsync's end-to-end tests, as one test binary (one link instead of one per file): engine
//! runs, the scheduler, the HTTP routes, the binary as a process (with the fake binaries as
//! processes), kubectl, a browser, and the planner against upstream's examples.

mod common;
mod procs;

mod browser;
mod cli_real;
mod config_safety;
mod crash;
mod crds;
mod cursor;
mod guard;
mod import_roundtrip;
mod netbox_client;
mod one_run;
mod plan_apply_upstream;
mod plan_cli;
mod plan_props;
mod plan_rules;
mod plan_snapshots;
mod scheduler;
mod serve_real;
mod simulate;
mod sync;
mod tidy;
mod validate_real;
mod validate_sim;
mod web_http;

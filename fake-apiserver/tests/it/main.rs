//! The integration tests of `fake-apiserver`, as one test binary (one link instead of one per
//! file): kube-rs against the in-process server per behaviour, the binary over HTTPS with kube-rs,
//! kubectl and the Python client, replays of real apiserver traffic.
#![recursion_limit = "256"]

mod common;
mod crud;
mod discovery;
mod faults;
mod kubectl;
mod list;
mod python_client;
mod replay;
mod ssa;
mod tls;
mod validation;
mod watch;

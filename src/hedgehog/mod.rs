//! Hedgehog Open Network Fabric API types (`wiring.githedgehog.com` and `vpc.githedgehog.com`
//! `v1beta1`), the kind registry, name and value-format rules, wiring-diagram parsing and the
//! admission module for the simulated cluster.
//!
//! Does no IO: reading files, talking to NetBox or to a cluster happens elsewhere.

pub mod admission;
mod admission_spec;
pub mod diagram;
pub mod formats;
pub mod kinds;
pub mod names;
pub mod schema;
pub mod vpc;
pub mod wiring;

pub use kinds::{Kind, all_crds, crds_yaml};

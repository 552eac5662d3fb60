//! fabsync keeps Hedgehog Open Network Fabric resources in Kubernetes equal to what NetBox says,
//! and proves it. See `ARCHITECTURE.md` for the code map and invariants.

pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod engine;
pub mod hedgehog;
pub mod identity;
pub mod netbox;
pub mod plan;
pub mod planted;
pub mod scheduler;
pub mod service;
pub mod sim;
pub mod simulate;
pub mod store;
pub(crate) mod text;
pub mod validate;
pub mod web;

//! fabsync
pub mod hedgehog;
pub mod netbox;
pub mod plan;
pub mod cli;

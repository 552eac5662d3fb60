//! The integration tests of `fake-netbox`, as one test binary (one link instead of one per file):
//! each module is one suite, `common` holds what they share. The house rules of `src/` are
//! checked for the whole workspace by `../tests/it/tidy.rs`.

mod api;
mod common;
mod contract;
mod deletes;
mod details;
mod faults;
mod fixtures;
mod multi_fabric;
mod openapi;
mod pynetbox;
mod samples;

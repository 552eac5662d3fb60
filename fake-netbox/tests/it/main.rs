//! The integration tests of `fake-netbox`, as one test binary (one link instead of one per file):
//! each module is one suite, `common` holds what they share, `tidy` checks the house rules of
//! `src/`.

mod api;
mod common;
mod contract;
mod deletes;
mod details;
mod faults;
mod fixtures;
mod openapi;
mod pynetbox;
mod samples;
mod tidy;

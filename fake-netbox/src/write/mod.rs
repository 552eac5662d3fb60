//! Every create and update NetBox's REST API accepts for the served models, as one pipeline:
//! parse the request body the way DRF does ([`body`], [`field`]), run the serializer and model
//! validation with NetBox's error texts ([`clean`]), then apply the result to the store inside a
//! transaction ([`tx`]) with the change records NetBox writes ([`pipeline`], [`cable`] for the
//! extra records a cable write makes).
//!
//! It does not speak HTTP (`api` maps [`WriteError`] to responses), does not render objects, and
//! does not cascade deletes (`delete` does; it is re-exported here so callers find every write in
//! one place).

mod body;
mod cable;
mod clean;
mod custom_fields;
mod field;
mod pipeline;
mod tx;

use jiff::Timestamp;
use serde_json::{Map, Value};

pub use crate::delete::delete;
pub(crate) use cable::set_iface_cable;
pub(crate) use custom_fields::drop_custom_field_data;
pub use pipeline::{create, create_with, update};
pub use tx::Tx;

/// Who writes and under which request id (one id per API request, as NetBox does).
#[derive(Clone, Debug)]
pub struct Actor {
    pub user: String,
    pub request_id: String,
    pub now: Timestamp,
}

/// Why a write was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteError {
    /// 400 with a field → messages body.
    Invalid(Map<String, Value>),
    /// 409 `{"detail": …}` (dependent objects block a delete).
    Conflict(String),
    /// 500 with NetBox's server error body (NetBox raises instead of validating a few inputs).
    Server(Value),
}

type Errs = Map<String, Value>;

fn add_err(errs: &mut Errs, key: &str, msg: impl Into<String>) {
    let entry = errs
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(a) = entry {
        a.push(Value::String(msg.into()));
    }
}

fn one(key: &str, msg: impl Into<String>) -> WriteError {
    let mut e = Errs::new();
    add_err(&mut e, key, msg);
    WriteError::Invalid(e)
}

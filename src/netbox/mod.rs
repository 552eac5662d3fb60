//! The NetBox side of fabsync and the only code that knows NetBox's wire format: the HTTP
//! client (over any tower service), the snapshot model, the fabric reader, the writers the
//! sync engine uses (change log, journal, custom fields), the pure wiring diagram → snapshot
//! conversion (`from_diagram`), the importer that writes such a snapshot (`import`), and the
//! housekeeping a validation run needs around the sites it creates (`admin`).
//!
//! It never plans or decides what a fabric should look like.

pub mod admin;
pub mod changes;
pub mod client;
pub mod error;
pub mod from_diagram;
pub mod import;
pub mod model;
pub mod reader;
pub mod token;
pub mod transport;
pub mod writer;

pub use client::NetboxClient;
pub use error::NetboxError;
pub use model::Snapshot;
pub use token::Token;
pub use transport::{BoxBody, BoxError, HttpService, https_service, into_http_service};

//! Content negotiation and rendering of single objects: the representation an Accept header asks
//! for (JSON, Table, PartialObjectMetadata), `includeObject`, and `Warning` headers.
//!
//! It shapes answers; lists are serialised by `list.rs`, and no handler logic lives here.

use super::object::meta_str;
use crate::reply::{Reply, json_reply};
use crate::request::Req;
use crate::state::Inner;
use crate::table::{self, IncludeObject};
use serde_json::{Value, json};

/// What representation the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Table,
    Partial,
    PartialList,
}

/// Picks the first acceptable media type of an Accept header.
pub(crate) fn negotiate(accept: &str) -> Option<Format> {
    if accept.trim().is_empty() {
        return Some(Format::Json);
    }
    for part in accept.split(',') {
        let mut it = part.split(';').map(str::trim);
        let mt = it.next().unwrap_or("").to_ascii_lowercase();
        let mut params = std::collections::BTreeMap::new();
        for p in it {
            if let Some((k, v)) = p.split_once('=') {
                params.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        if mt == "application/json" || mt == "*/*" || mt == "application/*" {
            match (
                params.get("as").map(String::as_str),
                params.get("g").map(String::as_str),
            ) {
                (None, _) => return Some(Format::Json),
                (Some("Table"), Some("meta.k8s.io")) => return Some(Format::Table),
                (Some("PartialObjectMetadata"), Some("meta.k8s.io")) => {
                    return Some(Format::Partial);
                }
                (Some("PartialObjectMetadataList"), Some("meta.k8s.io")) => {
                    return Some(Format::PartialList);
                }
                _ => continue,
            }
        }
    }
    None
}

pub(crate) fn warnings_headers(w: &[String]) -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeSet::new();
    w.iter()
        .filter(|x| seen.insert((*x).clone()))
        .map(|x| ("Warning".to_string(), format!("299 - {:?}", x)))
        .collect()
}

fn render(inner: &Inner, ctx_cols: &[table::Column], obj: &Value, fmt: Format, r: &Req) -> Value {
    match fmt {
        Format::Json => obj.clone(),
        Format::Partial | Format::PartialList => table::partial(obj),
        Format::Table => {
            let rv = meta_str(obj, "resourceVersion").to_string();
            table::table(
                &[obj],
                ctx_cols,
                inner.now().as_second(),
                include_object(r),
                json!({"resourceVersion": rv}),
                true,
            )
        }
    }
}

pub(crate) fn include_object(r: &Req) -> IncludeObject {
    match r.q("includeObject") {
        Some("None") => IncludeObject::None,
        Some("Object") => IncludeObject::Object,
        _ => IncludeObject::Metadata,
    }
}

/// Renders the answers of one request in the representation its Accept header asked for.
pub(crate) struct Responder<'a> {
    pub inner: &'a Inner,
    pub r: &'a Req,
    pub fmt: Format,
    pub columns: &'a [table::Column],
}

impl Responder<'_> {
    /// An object (or its Table / PartialObjectMetadata form) with `Warning` headers.
    pub(crate) fn object(&self, code: u16, obj: &Value, warnings: &[String]) -> Reply {
        let body = self.render(obj);
        json_reply(
            self.inner,
            code,
            &body,
            "application/json",
            &warnings_headers(warnings),
        )
    }

    /// An object in the asked-for representation.
    pub(crate) fn render(&self, obj: &Value) -> Value {
        render(self.inner, self.columns, obj, self.fmt, self.r)
    }
}

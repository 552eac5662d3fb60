//! Lists: label and field selectors (with the label index), `limit`/`continue` tokens,
//! resourceVersion semantics (`0`, exact, not older than, 410 on expired tokens), and the JSON,
//! Table and PartialObjectMetadataList encodings, reusing cached serialisations of stored objects.
//!
//! It only reads the store.

use super::context::Ctx;
use super::negotiate::{Format, include_object};
use super::object::{at_version, meta_str};
use crate::request::Req;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::sercache::Form;
use crate::state::State;
use crate::status::{self, ApiError};
use crate::store::ObjKey;
use crate::table;
use crate::types::{Strategy, TypeVersion};
use base64::Engine;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Parses the label and field selectors of a request.
pub(crate) fn selectors(
    r: &Req,
    ver: &TypeVersion,
) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let label =
        LabelSelector::parse(r.q("labelSelector").unwrap_or("")).map_err(status::bad_request)?;
    let field = FieldSelector::parse(r.q("fieldSelector").unwrap_or(""), &ver.field_keys)
        .map_err(status::bad_request)?;
    Ok((label, field))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: i64,
    start: String,
}

pub(crate) fn list(
    ctx: &Ctx<'_>,
    st: &State,
    r: &Req,
    fmt: Format,
) -> Result<bytes::Bytes, ApiError> {
    let (label, field) = selectors(r, &ctx.ver)?;
    let res = ctx.res();
    let ns = if ctx.rt.namespaced && !ctx.ns.is_empty() {
        Some(ctx.ns.as_str())
    } else {
        None
    };
    let current = st.store.rv();
    let rv_param = r.q("resourceVersion").unwrap_or("");
    let rv_match = r.q("resourceVersionMatch").unwrap_or("");
    let mut limit: usize = r
        .q("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| *l > 0)
        .map(|l| l as usize)
        .unwrap_or(0);
    let cont = r.q("continue").unwrap_or("");
    let mut after: Option<ObjKey> = None;
    let (at, list_rv) = if !cont.is_empty() {
        if !rv_param.is_empty() && rv_param != "0" {
            return Err(status::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cont.trim_end_matches('='))
            .map_err(|_| status::bad_request("continue key is not valid: illegal base64 data"))?;
        let tok: ContinueToken = serde_json::from_slice(&raw)
            .map_err(|e| status::bad_request(format!("continue key is not valid: {e}")))?;
        if tok.v != "meta.k8s.io/v1" {
            return Err(status::bad_request(
                "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
            ));
        }
        let trv = tok.rv as u64;
        if trv < st.store.compacted() {
            return Err(status::continue_expired());
        }
        let start = tok.start.trim_end_matches('\u{0}').to_string();
        let key = if ns.is_none() && ctx.rt.namespaced {
            match start.split_once('/') {
                Some((a, b)) => (a.to_string(), b.to_string()),
                None => (String::new(), start.clone()),
            }
        } else if let Some(n) = ns {
            (n.to_string(), start.clone())
        } else {
            (String::new(), start.clone())
        };
        after = Some(key);
        (Some(trv), trv)
    } else if rv_param.is_empty() {
        (None, current)
    } else if rv_param == "0" {
        limit = 0;
        (None, current)
    } else {
        let n: u64 = rv_param
            .parse()
            .map_err(|_| status::bad_request(format!("invalid resource version: {rv_param}")))?;
        if n > current {
            return Err(status::too_large_rv(n, current));
        }
        if rv_match == "Exact" {
            if n < st.store.compacted() {
                return Err(status::list_rv_too_old());
            }
            (Some(n), n)
        } else {
            (None, current)
        }
    };
    let api_version = ctx.api_version();
    let mut items: Vec<Arc<Value>> = vec![];
    let mut next_key: Option<ObjKey> = None;
    let mut remaining: usize = 0;
    if let (Some(name), None) = (field.exact_name(), at) {
        let keys: Vec<ObjKey> = match ns {
            Some(n) => vec![(n.to_string(), name.to_string())],
            None if !ctx.rt.namespaced => vec![(String::new(), name.to_string())],
            None => st
                .store
                .list(&res, None, None, None)
                .filter(|(k, _)| k.1 == name)
                .map(|(k, _)| k.clone())
                .collect(),
        };
        for k in keys {
            if let Some(o) = st.store.get(&res, &k)
                && label.matches(o)
                && field.matches(o, &ctx.ver.field_keys)
                && after.as_ref().is_none_or(|a| &k > a)
            {
                items.push(o.clone());
            }
        }
    } else {
        let indexed: Option<Vec<(ObjKey, Arc<Value>)>> = match (at, label.index_hint()) {
            (None, Some((k, vs))) => {
                let mut keys: std::collections::BTreeSet<&ObjKey> =
                    std::collections::BTreeSet::new();
                for v in vs {
                    if let Some(set) = st.store.by_label(&res, k, v) {
                        keys.extend(set.iter());
                    }
                }
                Some(
                    keys.into_iter()
                        .filter(|k| {
                            ns.is_none_or(|n| k.0 == n) && after.as_ref().is_none_or(|a| *k > a)
                        })
                        .filter_map(|k| st.store.get(&res, k).map(|o| (k.clone(), o.clone())))
                        .collect(),
                )
            }
            _ => None,
        };
        let source: Box<dyn Iterator<Item = (&ObjKey, &Arc<Value>)>> = match &indexed {
            Some(v) => Box::new(v.iter().map(|(k, o)| (k, o))),
            None => st.store.list(&res, ns, at, after.as_ref()),
        };
        let mut it =
            source.filter(|(_, o)| label.matches(o) && field.matches(o, &ctx.ver.field_keys));
        for (k, o) in it.by_ref() {
            if limit > 0 && items.len() == limit {
                next_key = Some(k.clone());
                remaining = 1;
                break;
            }
            items.push(o.clone());
        }
        if next_key.is_some() {
            remaining += it.count();
            // The token resumes after the last returned item.
        }
    }
    let mut meta = Map::new();
    let mut continue_token = String::new();
    if next_key.is_some()
        && let Some(last) = items.last()
    {
        let ln = meta_str(last, "name");
        let lns = meta_str(last, "namespace");
        let start = if ns.is_none() && ctx.rt.namespaced {
            format!("{lns}/{ln}\u{0}")
        } else {
            format!("{ln}\u{0}")
        };
        let tok = ContinueToken {
            v: "meta.k8s.io/v1".into(),
            rv: list_rv as i64,
            start,
        };
        continue_token = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&tok).unwrap_or_default());
    }
    meta.insert("continue".into(), json!(continue_token));
    if next_key.is_some() && label.is_empty() && field.is_empty() {
        meta.insert("remainingItemCount".into(), json!(remaining));
    }
    meta.insert("resourceVersion".into(), json!(list_rv.to_string()));
    // (object, whether it is the stored one: only those have reusable serialisations)
    let items: Vec<(Arc<Value>, bool)> = items
        .iter()
        .map(|o| {
            // Metadata lists carry no apiVersion per object: nothing to convert.
            let v = if matches!(fmt, Format::Partial | Format::PartialList) {
                o.clone()
            } else {
                at_version(o, &api_version)
            };
            let stored = Arc::ptr_eq(&v, o);
            (v, stored)
        })
        .collect();
    let mut cache = st.ser_cache.borrow_mut();
    let mut ser = |form: Form, (o, stored): &(Arc<Value>, bool), out: &mut Vec<u8>| {
        let f = |v: &Value| {
            let mut b = Vec::new();
            match form {
                Form::Whole => write_json(&mut b, v),
                Form::Metadata => write_json(&mut b, v.get("metadata").unwrap_or(&Value::Null)),
            }
            b
        };
        if *stored {
            out.extend_from_slice(&cache.get(form, o, f));
        } else {
            out.extend_from_slice(&f(o));
        }
    };
    let meta = Value::Object(meta);
    Ok(match fmt {
        Format::Table => {
            let refs: Vec<&Value> = items.iter().map(|(a, _)| a.as_ref()).collect();
            bytes::Bytes::from(
                serde_json::to_vec(&table::table(
                    &refs,
                    &ctx.ver.columns,
                    ctx.inner.now().as_second(),
                    include_object(r),
                    meta,
                    true,
                ))
                .unwrap_or_default(),
            )
        }
        Format::Partial | Format::PartialList => {
            let mut out = Vec::with_capacity(items.len() * 512 + 128);
            out.extend_from_slice(b"{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":");
            write_json(&mut out, &meta);
            out.extend_from_slice(b",\"items\":[");
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":");
                ser(Form::Metadata, it, &mut out);
                out.push(b'}');
            }
            out.extend_from_slice(b"]}");
            bytes::Bytes::from(out)
        }
        Format::Json => {
            let mut out = Vec::with_capacity(items.len() * 1024 + 128);
            let custom = ctx.rt.strategy == Strategy::Custom;
            let mut write_items = |out: &mut Vec<u8>| {
                out.push(b'[');
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    if custom {
                        ser(Form::Whole, it, out);
                    } else {
                        write_json(out, &WithoutTypeMeta(&it.0));
                    }
                }
                out.push(b']');
            };
            if custom {
                out.extend_from_slice(b"{\"apiVersion\":");
                write_json(&mut out, &api_version);
                out.extend_from_slice(b",\"items\":");
                write_items(&mut out);
                out.extend_from_slice(b",\"kind\":");
                write_json(&mut out, &ctx.rt.list_kind);
                out.extend_from_slice(b",\"metadata\":");
                write_json(&mut out, &meta);
            } else {
                out.extend_from_slice(b"{\"kind\":");
                write_json(&mut out, &ctx.rt.list_kind);
                out.extend_from_slice(b",\"apiVersion\":");
                write_json(&mut out, &api_version);
                out.extend_from_slice(b",\"metadata\":");
                write_json(&mut out, &meta);
                out.extend_from_slice(b",\"items\":");
                write_items(&mut out);
            }
            out.push(b'}');
            bytes::Bytes::from(out)
        }
    })
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    let _ = serde_json::to_writer(out, v);
}

/// Serialises an object without `kind`/`apiVersion` (items of built-in lists), borrowing it.
struct WithoutTypeMeta<'a>(&'a Value);

impl serde::Serialize for WithoutTypeMeta<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self.0 {
            Value::Object(m) => {
                let mut map = s.serialize_map(None)?;
                for (k, v) in m {
                    if k != "kind" && k != "apiVersion" {
                        map.serialize_entry(k, v)?;
                    }
                }
                map.end()
            }
            other => other.serialize(s),
        }
    }
}

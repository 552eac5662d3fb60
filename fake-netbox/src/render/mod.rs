//! Turns stored records into NetBox's JSON: the full representation, the brief one (`?brief=1`),
//! the nested shapes used inside other objects, and the raw "serialized object" NetBox writes into
//! change records.
//!
//! Read-only over the store; never validates or mutates anything.
//!
//! Parts: [`custom_fields`] (definitions and the `custom_fields` object), [`display`] (`str(obj)`),
//! [`computed`] (read-only computed fields), [`change_data`] (change record data). This file holds
//! the per-request context and writes objects field by field.

mod change_data;
mod computed;
mod custom_fields;
mod display;

use computed::occupied;
pub use custom_fields::{CfDef, cf_defs};

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::Value;

use crate::jsonw::JsonWriter;
use crate::model::{Computed, FieldKind, Model, Nest, NestedCount};
use crate::net;
use crate::store::{Id, Rec, Store};
use crate::util::fmt_ts;

/// Rendering context for one request: the store, the absolute base URL built from the request's
/// Host, and per-request caches.
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub base: String,
    /// Appended to every link: `?format=json` when the request asked for that format (as
    /// Django REST framework keeps it), else nothing.
    pub suffix: &'static str,
    cfs: RefCell<HashMap<Model, std::rc::Rc<Vec<CfDef>>>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Full,
    Brief,
    Nested,
}

/// Which representation of an object to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The full representation.
    Full,
    /// `?brief=1`.
    Brief,
}

/// Counts read through a plain `IntegerField` are left out when their object is nested.
fn omitted(kind: FieldKind, mode: Mode) -> bool {
    matches!(
        (kind, mode),
        (
            FieldKind::Computed(
                Computed::Count(_, _, NestedCount::Omit)
                    | Computed::ScopeCount(_, NestedCount::Omit)
            ),
            Mode::Nested
        )
    )
}

/// What links end with: `?format=json` when the request asked for that format (Django REST
/// framework's reverse keeps it), else nothing.
pub fn format_suffix(format: Option<&str>) -> &'static str {
    if format == Some("json") {
        "?format=json"
    } else {
        ""
    }
}

fn parse(w: &JsonWriter) -> Value {
    serde_json::from_slice(&w.buf).unwrap_or(Value::Null)
}

impl<'a> Ctx<'a> {
    pub fn new(store: &'a Store, base: impl Into<String>) -> Ctx<'a> {
        Ctx {
            store,
            base: base.into(),
            suffix: "",
            cfs: RefCell::new(HashMap::new()),
        }
    }

    /// Links keep `?format=json` when the request had it.
    pub fn with_format(mut self, format: Option<&str>) -> Ctx<'a> {
        self.suffix = format_suffix(format);
        self
    }

    pub fn cf_defs(&self, m: Model) -> std::rc::Rc<Vec<CfDef>> {
        self.cfs
            .borrow_mut()
            .entry(m)
            .or_insert_with(|| std::rc::Rc::new(cf_defs(self.store, m)))
            .clone()
    }

    pub fn url(&self, m: Model, id: Id) -> String {
        let meta = m.meta();
        format!(
            "{}/api/{}/{}/{}/{}",
            self.base, meta.app, meta.endpoint, id, self.suffix
        )
    }

    /// The full representation (`GET /api/<app>/<endpoint>/<id>/`).
    pub fn full(&self, m: Model, rec: &Rec) -> Value {
        let mut w = JsonWriter::with_capacity(2048);
        self.write(&mut w, m, rec, Shape::Full, None);
        parse(&w)
    }

    pub fn nested_id(&self, m: Model, id: Option<Id>, style: Nest) -> Value {
        let mut w = JsonWriter::with_capacity(256);
        self.write_nested_id(&mut w, m, id, style);
        parse(&w)
    }

    /// Writes one object: full (optionally restricted to fields `keep` accepts, as `?fields=` and
    /// `?omit=` do) or brief.
    pub fn write(
        &self,
        w: &mut JsonWriter,
        m: Model,
        rec: &Rec,
        shape: Shape,
        keep: Option<&dyn Fn(&str) -> bool>,
    ) {
        let mode = match shape {
            Shape::Full => Mode::Full,
            Shape::Brief => Mode::Brief,
        };
        self.write_mode(w, m, rec, mode, keep);
    }

    fn write_mode(
        &self,
        w: &mut JsonWriter,
        m: Model,
        rec: &Rec,
        mode: Mode,
        keep: Option<&dyn Fn(&str) -> bool>,
    ) {
        let mut o = w.obj();
        for (i, f) in m.fields().iter().enumerate() {
            let wanted = match mode {
                Mode::Full => f.is(crate::model::FULL),
                Mode::Brief | Mode::Nested => f.is(crate::model::BRIEF),
            };
            if !wanted || keep.is_some_and(|k| !k(f.name)) || omitted(f.kind, mode) {
                continue;
            }
            let v = o.key(f.name);
            self.write_field(v, m, rec, i, mode);
        }
        o.end();
    }

    fn write_url(&self, w: &mut JsonWriter, m: Model, id: Id) {
        let meta = m.meta();
        w.byte(b'"');
        w.escaped(&self.base);
        w.raw("/api/");
        w.raw(meta.app);
        w.byte(b'/');
        w.raw(meta.endpoint);
        w.byte(b'/');
        w.u64(id);
        w.byte(b'/');
        w.raw(self.suffix);
        w.byte(b'"');
    }

    fn write_display_url(&self, w: &mut JsonWriter, m: Model, id: Id) {
        w.byte(b'"');
        w.escaped(&self.base);
        w.byte(b'/');
        w.raw(m.meta().ui_path);
        w.byte(b'/');
        w.u64(id);
        w.byte(b'/');
        w.raw(self.suffix);
        w.byte(b'"');
    }

    /// Writes `m` nested inside another object.
    pub fn write_nested(&self, w: &mut JsonWriter, m: Model, rec: &Rec, style: Nest) {
        match style {
            Nest::Id => w.u64(rec.id),
            Nest::Brief => self.write_mode(w, m, rec, Mode::Nested, None),
            Nest::Legacy => self.write_legacy(w, m, rec),
        }
    }

    pub fn write_nested_id(&self, w: &mut JsonWriter, m: Model, id: Option<Id>, style: Nest) {
        match id.and_then(|id| self.store.get(m, id)) {
            Some(rec) => self.write_nested(w, m, rec, style),
            None => match (style, id) {
                (Nest::Id, Some(id)) => w.u64(id),
                _ => w.null(),
            },
        }
    }

    /// A related object behind a foreign key field. IP addresses nested this way carry
    /// `nat_inside`/`nat_outside`/`dns_name` as well (NetBox's nested IP serializer).
    fn write_nested_fk(&self, w: &mut JsonWriter, m: Model, id: Option<Id>, style: Nest) {
        let Some(rec) = id.and_then(|id| self.store.get(m, id)) else {
            return self.write_nested_id(w, m, id, style);
        };
        if m != Model::IpAddress || style != Nest::Brief {
            return self.write_nested(w, m, rec, style);
        }
        let mut o = w.obj();
        o.key("id").u64(rec.id);
        self.write_url(o.key("url"), m, rec.id);
        o.key("display").str(&self.display(m, rec));
        self.write_field(
            o.key("family"),
            m,
            rec,
            m.field_index("family").unwrap_or(0),
            Mode::Nested,
        );
        o.key("address").val(rec.get(m, "address"));
        let nat = rec.id_of(m, "nat_inside");
        self.write_nested_id(o.key("nat_inside"), m, nat, Nest::Legacy);
        self.write_computed(
            o.key("nat_outside"),
            m,
            rec,
            Computed::NatOutside,
            Mode::Nested,
        );
        o.key("dns_name").val(rec.get(m, "dns_name"));
        o.key("description").val(rec.get(m, "description"));
        o.end();
    }

    /// The `Nested*Serializer` shapes NetBox still uses for a few relations.
    fn write_legacy(&self, w: &mut JsonWriter, m: Model, rec: &Rec) {
        let mut o = w.obj();
        o.key("id").u64(rec.id);
        self.write_url(o.key("url"), m, rec.id);
        self.write_display_url(o.key("display_url"), m, rec.id);
        o.key("display").str(&self.display(m, rec));
        if m == Model::Interface {
            let dev = rec.id_of(m, "device");
            self.write_nested_id(o.key("device"), Model::Device, dev, Nest::Legacy);
            o.key("name").val(rec.get(m, "name"));
            o.key("cable").val(rec.get(m, "cable"));
            o.key("_occupied").bool(occupied(m, rec));
        } else if m == Model::IpAddress {
            let family = net::parse_any(rec.str(m, "address")).map_or(4, |n| n.family());
            o.key("family").u64(u64::from(family));
            o.key("address").val(rec.get(m, "address"));
        } else {
            o.key("name").val(rec.get(m, "name"));
        }
        o.end();
    }

    /// The nested tag shape (`NestedTagSerializer`).
    fn write_tag(&self, w: &mut JsonWriter, rec: &Rec) {
        let t = Model::Tag;
        let mut o = w.obj();
        o.key("id").u64(rec.id);
        self.write_url(o.key("url"), t, rec.id);
        self.write_display_url(o.key("display_url"), t, rec.id);
        o.key("display").str(&self.display(t, rec));
        o.key("name").val(rec.get(t, "name"));
        o.key("slug").val(rec.get(t, "slug"));
        o.key("color").val(rec.get(t, "color"));
        o.end();
    }

    fn write_field(&self, w: &mut JsonWriter, m: Model, rec: &Rec, i: usize, mode: Mode) {
        let f = &m.fields()[i];
        let raw = rec.val(i);
        match f.kind {
            FieldKind::Id => w.u64(rec.id),
            FieldKind::Url => self.write_url(w, m, rec.id),
            FieldKind::DisplayUrl => self.write_display_url(w, m, rec.id),
            FieldKind::Display => w.str(&self.display(m, rec)),
            FieldKind::Created => w.str(&fmt_ts(rec.created)),
            FieldKind::LastUpdated => w.str(&fmt_ts(rec.last_updated)),
            FieldKind::Choice { set, plain, .. } => match raw.as_str() {
                Some(v) if !v.is_empty() => {
                    if plain {
                        w.str(v);
                    } else {
                        let mut o = w.obj();
                        o.key("value").str(v);
                        o.key("label").str(set.label(v).unwrap_or(v));
                        o.end();
                    }
                }
                _ => w.null(),
            },
            FieldKind::Fk(target, style) | FieldKind::ReqFk(target, style) => {
                self.write_nested_fk(w, target, raw.as_u64(), style)
            }
            FieldKind::Absent | FieldKind::Null | FieldKind::Image => w.null(),
            FieldKind::AbsentList => w.raw("[]"),
            FieldKind::EmptyObj => w.raw("{}"),
            FieldKind::Zero => w.raw("0"),
            FieldKind::M2m(target) => {
                let mut ids: Vec<Id> = raw
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                    .collect();
                crate::query::sort(self.store, target, &mut ids, &[]);
                let mut a = w.arr();
                for r in ids.into_iter().filter_map(|id| self.store.get(target, id)) {
                    self.write_nested(a.item(), target, r, Nest::Brief);
                }
                a.end();
            }
            FieldKind::Tags => {
                let mut tags: Vec<&Rec> = rec
                    .tags
                    .iter()
                    .filter_map(|t| self.store.get(Model::Tag, *t))
                    .collect();
                tags.sort_by(|a, b| a.str(Model::Tag, "name").cmp(b.str(Model::Tag, "name")));
                let mut a = w.arr();
                for t in tags {
                    self.write_tag(a.item(), t);
                }
                a.end();
            }
            FieldKind::CustomFields => self.write_custom_fields(w, m, rec),
            FieldKind::Computed(c) => self.write_computed(w, m, rec, c, mode),
            _ => w.val(raw),
        }
    }
}

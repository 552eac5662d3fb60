//! Every write NetBox's REST API accepts for the served models: parsing a request body the way
//! DRF does, validating it the way NetBox's serializers and models do (with their error texts),
//! applying it to the store, cascading deletes, and appending the change records NetBox writes
//! (including the extra ones a cable write makes).
//!
//! It does not speak HTTP (`http` maps [`WriteError`] to responses) and does not render objects.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::model::{Computed, Field, FieldKind, Model, REQUIRED, UNIQUE, WRITABLE};
use crate::net;
use crate::render::{CfDef, Ctx};
use crate::store::{Change, Id, Rec, Store};
use crate::util::{
    is_iso_date, is_iso_datetime, py_dict_repr, py_repr, py_str, py_type_name, to_micros,
};

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

/// Undo journal entry, so that a failed bulk request leaves nothing behind.
#[derive(Debug)]
enum Undo {
    Insert(Model, Id),
    Replace(Model, Box<Rec>),
    Remove(Model, Box<Rec>),
    Change,
    /// A change record's `postchange_data` before a many-to-many update was folded into it.
    Post(usize, Option<Box<str>>),
}

/// A transaction over the store: every mutation is journaled and undone on [`Tx::rollback`].
pub struct Tx<'a> {
    pub store: &'a mut Store,
    pub actor: Actor,
    undo: Vec<Undo>,
    /// Objects whose deletion this request has recorded (NetBox's `_signals_received`).
    pub(crate) deleted: std::collections::HashSet<(Model, Id)>,
}

impl<'a> Tx<'a> {
    pub fn new(store: &'a mut Store, actor: Actor) -> Tx<'a> {
        let mut actor = actor;
        actor.now = to_micros(actor.now);
        Tx {
            store,
            actor,
            undo: Vec::new(),
            deleted: Default::default(),
        }
    }

    pub fn rollback(mut self) {
        while let Some(u) = self.undo.pop() {
            match u {
                Undo::Insert(m, id) => {
                    self.store.remove(m, id);
                }
                Undo::Replace(m, rec) => self.store.replace(m, *rec),
                Undo::Remove(m, rec) => self.store.insert(m, *rec),
                Undo::Change => {
                    self.store.changes.pop();
                    self.store.version += 1;
                }
                Undo::Post(i, post) => {
                    if let Some(c) = self.store.changes.get_mut(i) {
                        c.post = post;
                    }
                    self.store.version += 1;
                }
            }
        }
    }

    pub fn commit(self) {}

    pub(crate) fn insert(&mut self, m: Model, rec: Rec) {
        self.undo.push(Undo::Insert(m, rec.id));
        self.store.insert(m, rec);
    }

    pub(crate) fn replace(&mut self, m: Model, rec: Rec) {
        if let Some(old) = self.store.get(m, rec.id) {
            self.undo.push(Undo::Replace(m, Box::new(old.clone())));
        }
        self.store.replace(m, rec);
    }

    pub(crate) fn remove(&mut self, m: Model, id: Id) -> Option<Rec> {
        let rec = self.store.remove(m, id)?;
        self.undo.push(Undo::Remove(m, Box::new(rec.clone())));
        Some(rec)
    }

    pub(crate) fn snapshot(&self, m: Model, id: Id) -> Option<Box<str>> {
        let rec = self.store.get(m, id)?;
        let data = Ctx::new(self.store, "").log_data(m, rec);
        Some(serde_json::to_string(&data).unwrap_or_default().into())
    }

    pub(crate) fn repr(&self, m: Model, id: Id) -> String {
        self.store
            .get(m, id)
            .map(|r| Ctx::new(self.store, "").display(m, r))
            .unwrap_or_default()
    }

    /// Appends one change record. Updates whose data did not change are skipped, as NetBox does
    /// with `CHANGELOG_SKIP_EMPTY_CHANGES`.
    pub(crate) fn log(
        &mut self,
        action: &'static str,
        m: Model,
        id: Id,
        repr: String,
        (pre, post): (Option<Box<str>>, Option<Box<str>>),
        message: &str,
    ) {
        if action == "update" && pre.is_some() && pre == post {
            return;
        }
        let change = Change {
            id: 0,
            time: self.actor.now,
            user_name: self.actor.user.clone(),
            request_id: self.actor.request_id.clone(),
            action,
            model: m,
            object_id: id,
            object_repr: repr.chars().take(200).collect(),
            message: message.to_string(),
            pre,
            post,
        };
        self.store.push_change(change);
        self.undo.push(Undo::Change);
    }
}

impl Tx<'_> {
    /// A many-to-many change (`m2m_changed`): folded into the latest record this request wrote
    /// for the object, else recorded as an update.
    pub(crate) fn log_m2m(
        &mut self,
        m: Model,
        id: Id,
        repr: String,
        (pre, post): (Option<Box<str>>, Option<Box<str>>),
    ) {
        let request = self.actor.request_id.clone();
        let prev = self
            .store
            .changes
            .iter()
            .enumerate()
            .rev()
            .take_while(|(_, c)| c.request_id == request)
            .find(|(_, c)| c.model == m && c.object_id == id)
            .map(|(i, _)| i);
        match prev {
            Some(i) => {
                let old = std::mem::replace(&mut self.store.changes[i].post, post);
                self.store.version += 1;
                self.undo.push(Undo::Post(i, old));
            }
            None => self.log("update", m, id, repr, (pre, post), ""),
        }
    }
}

/// What a request body parsed into, before model validation.
#[derive(Default)]
struct Parsed {
    vals: Vec<(usize, Value)>,
    tags: Option<Vec<Id>>,
    cf: Option<Map<String, Value>>,
    terms: [Option<Vec<(Model, Id)>>; 2],
    message: String,
}

// ---------------------------------------------------------------------------------------------
// Parsing (DRF field semantics)
// ---------------------------------------------------------------------------------------------

fn parse_string(v: &Value, f: &Field) -> Result<Value, String> {
    let s = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => {
            return match f.kind {
                FieldKind::NullStr(_) => Ok(Value::Null),
                _ => Err("This field may not be null.".into()),
            };
        }
        _ => return Err("Not a valid string.".into()),
    };
    let max = match f.kind {
        FieldKind::Str(n) | FieldKind::Name(n) | FieldKind::NullStr(n) | FieldKind::Slug(n) => n,
        _ => usize::MAX,
    };
    if s.is_empty() {
        return match f.kind {
            FieldKind::Name(_) | FieldKind::Slug(_) => Err("This field may not be blank.".into()),
            FieldKind::Color(Some(_)) => Err("This field may not be blank.".into()),
            _ => Ok(Value::String(s)),
        };
    }
    if s.chars().count() > max {
        return Err(format!(
            "Ensure this field has no more than {max} characters."
        ));
    }
    if matches!(f.kind, FieldKind::Slug(_))
        && !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(
            "Enter a valid \"slug\" consisting of letters, numbers, underscores or hyphens.".into(),
        );
    }
    if matches!(f.kind, FieldKind::Color(_))
        && !(s.len() == 6
            && s.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
    {
        return Err("Enter a valid hexadecimal RGB color code.".into());
    }
    Ok(Value::String(s))
}

fn parse_int(v: &Value, min: i64, max: i64, null: bool) -> Result<Value, String> {
    let n = match v {
        Value::Null if null => return Ok(Value::Null),
        Value::Null => return Err("This field may not be null.".into()),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i,
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9e15 => f as i64,
            _ => return Err("A valid integer is required.".into()),
        },
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(i) => i,
            Err(_) => match s.trim().parse::<f64>() {
                Ok(f) if f.fract() == 0.0 => f as i64,
                _ => return Err("A valid integer is required.".into()),
            },
        },
        _ => return Err("A valid integer is required.".into()),
    };
    if n < min {
        return Err(format!(
            "Ensure this value is greater than or equal to {min}."
        ));
    }
    if n > max {
        return Err(format!("Ensure this value is less than or equal to {max}."));
    }
    Ok(Value::from(n))
}

fn parse_dec(v: &Value, null: bool) -> Result<Value, String> {
    match v {
        Value::Null if null => Ok(Value::Null),
        Value::Null => Err("This field may not be null.".into()),
        Value::Number(n) => Ok(Value::from(n.as_f64().unwrap_or(0.0))),
        Value::String(s) if s.trim().is_empty() && null => Ok(Value::Null),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::from)
            .ok_or_else(|| "A valid number is required.".into()),
        _ => Err("A valid number is required.".into()),
    }
}

fn parse_bool(v: &Value) -> Result<Value, String> {
    let b = match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.as_str() {
            "t" | "T" | "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on"
            | "On" | "ON" | "1" => Some(true),
            "f" | "F" | "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off"
            | "Off" | "OFF" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    };
    b.map(Value::Bool)
        .ok_or_else(|| "Must be a valid boolean.".into())
}

/// Resolves a related object reference (`5`, `"5"`, `{"slug": "x"}`) on `target`.
pub fn resolve_ref(store: &Store, target: Model, v: &Value) -> Result<Id, String> {
    let by_id = |id: u64| {
        if store.get(target, id).is_some() {
            Ok(id)
        } else {
            Err(format!(
                "Related object not found using the provided numeric ID: {id}"
            ))
        }
    };
    match v {
        Value::Number(n) if n.as_u64().is_some() => by_id(n.as_u64().unwrap_or(0)),
        Value::String(s) if s.trim().parse::<u64>().is_ok() => {
            by_id(s.trim().parse::<u64>().unwrap_or(0))
        }
        Value::Object(attrs) => {
            let matches: Vec<Id> = store
                .iter(target)
                .filter(|r| {
                    attrs.iter().all(|(k, want)| {
                        if k == "id" {
                            return want.as_u64() == Some(r.id)
                                || want.as_str().and_then(|s| s.parse().ok()) == Some(r.id);
                        }
                        let Some(i) = target.field_index(k) else {
                            return false;
                        };
                        let have = r.val(i);
                        have == want
                            || (have.as_u64().is_some()
                                && want.as_str().and_then(|s| s.parse::<u64>().ok())
                                    == have.as_u64())
                    })
                })
                .map(|r| r.id)
                .take(2)
                .collect();
            match matches.len() {
                1 => Ok(matches[0]),
                0 => Err(format!(
                    "Related object not found using the provided attributes: {}",
                    py_dict_repr(attrs)
                )),
                _ => Err(format!(
                    "Multiple objects match the provided attributes: {}",
                    py_dict_repr(attrs)
                )),
            }
        }
        other => Err(format!(
            "Related objects must be referenced by numeric ID or by dictionary of attributes. Received an unrecognized value: {}",
            py_str(other)
        )),
    }
}

/// References to a model this fake does not serve can never resolve.
fn resolve_absent(v: &Value) -> Result<Value, String> {
    match v {
        Value::Null => Ok(Value::Null),
        Value::Number(n) if n.as_u64().is_some() => Err(format!(
            "Related object not found using the provided numeric ID: {n}"
        )),
        Value::String(s) if s.trim().parse::<u64>().is_ok() => Err(format!(
            "Related object not found using the provided numeric ID: {}",
            s.trim()
        )),
        Value::Object(attrs) => Err(format!(
            "Related object not found using the provided attributes: {}",
            py_dict_repr(attrs)
        )),
        other => Err(format!(
            "Related objects must be referenced by numeric ID or by dictionary of attributes. Received an unrecognized value: {}",
            py_str(other)
        )),
    }
}

fn expect_list(v: &Value) -> Result<&Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a),
        other => Err(format!(
            "Expected a list of items but got type \"{}\".",
            py_type_name(other)
        )),
    }
}

fn parse_content_type(m: Model, f: &Field, v: &Value, null: bool) -> Result<Value, String> {
    match v {
        Value::Null if null => Ok(Value::Null),
        Value::Null => Err("This field may not be null.".into()),
        Value::String(s) => {
            let known = Model::from_label(s);
            let targets = crate::model::gfk_targets(m, f.name);
            match known {
                Some(t) if targets.is_empty() || targets.contains(&t) => {
                    Ok(Value::String(s.clone()))
                }
                _ if crate::model::content_type_id(s).is_some() && targets.is_empty() => {
                    Ok(Value::String(s.clone()))
                }
                _ => Err(format!("Invalid content type: {s}")),
            }
        }
        other => Err(format!("Invalid content type: {}", py_str(other))),
    }
}

fn parse_vid_ranges(v: &Value) -> Result<Value, String> {
    let items = expect_list(v)?;
    let mut out = Vec::new();
    for item in items {
        let pair = item
            .as_array()
            .filter(|p| p.len() == 2)
            .ok_or_else(|| "Enter two valid integers.".to_string())?;
        let lo = pair[0]
            .as_i64()
            .ok_or_else(|| "Enter two valid integers.".to_string())?;
        let hi = pair[1]
            .as_i64()
            .ok_or_else(|| "Enter two valid integers.".to_string())?;
        if hi < lo {
            return Err(format!(
                "Ending VLAN ID in range must be greater than or equal to the starting VLAN ID ({lo}-{hi})"
            ));
        }
        if lo < 1 {
            return Err(format!(
                "Starting VLAN ID in range ({lo}) cannot be less than 1"
            ));
        }
        if hi > 4094 {
            return Err(format!("Ending VLAN ID in range ({hi}) cannot exceed 4094"));
        }
        out.push((lo, hi));
    }
    out.sort_unstable();
    for w in out.windows(2) {
        if w[1].0 <= w[0].1 {
            return Err("Ranges cannot overlap.".into());
        }
    }
    Ok(Value::Array(
        out.into_iter().map(|(a, b)| json!([a, b])).collect(),
    ))
}

fn parse_field(store: &Store, m: Model, f: &Field, v: &Value) -> Result<Value, String> {
    match f.kind {
        FieldKind::Str(_)
        | FieldKind::Name(_)
        | FieldKind::NullStr(_)
        | FieldKind::Slug(_)
        | FieldKind::Text
        | FieldKind::Color(_) => parse_string(v, f),
        FieldKind::Int { min, max, null, .. } => parse_int(v, min, max, null),
        FieldKind::Dec { null, .. } => parse_dec(v, null),
        FieldKind::Bool(_) => match v {
            Value::Null => Err("This field may not be null.".into()),
            v => parse_bool(v),
        },
        // NetBox's ChoiceField: null becomes "" unless the field allows null; "" needs
        // `allow_blank` (stored as "", rendered as null).
        FieldKind::Choice { set, null, .. } => match v {
            Value::Null if null && !choice_null_is_blank(m, f.name) => Ok(Value::Null),
            Value::Null | Value::String(_) if v.as_str().unwrap_or("").is_empty() => {
                if null && choice_allows_blank(m, f.name) {
                    Ok(Value::String(String::new()))
                } else {
                    Err("This field may not be blank.".into())
                }
            }
            Value::String(s) if set.label(s).is_some() => Ok(Value::String(s.clone())),
            Value::Number(n) if set.label(&n.to_string()).is_some() => {
                Ok(Value::String(n.to_string()))
            }
            other => Err(format!("{} is not a valid choice.", py_str(other))),
        },
        FieldKind::Json => Ok(v.clone()),
        FieldKind::JsonObj => match v {
            Value::Object(_) => Ok(v.clone()),
            Value::Null => Ok(Value::Object(Map::new())),
            _ => Err("Value must be valid JSON.".into()),
        },
        FieldKind::Date => match v {
            Value::Null => Ok(Value::Null),
            Value::String(s) if is_iso_date(s) => Ok(v.clone()),
            _ => Err("Date has wrong format. Use one of these formats instead: YYYY-MM-DD.".into()),
        },
        FieldKind::Mac => match v {
            Value::String(s) => net::parse_mac(s).map(Value::String),
            Value::Null => Err("This field may not be null.".into()),
            other => Err(format!("Invalid MAC address format: {}", py_str(other))),
        },
        FieldKind::Network => match v {
            Value::String(s) => net::parse_prefix(s).map(|n| Value::String(n.text())),
            Value::Null => Err("This field may not be null.".into()),
            other => Err(format!("Invalid IP prefix format: {}", py_str(other))),
        },
        FieldKind::Address => match v {
            Value::String(s) => net::parse_address(s).map(|n| Value::String(n.text())),
            Value::Null => Err("This field may not be null.".into()),
            other => Err(format!("Invalid IP address format: {}", py_str(other))),
        },
        FieldKind::VidRanges => parse_vid_ranges(v),
        FieldKind::Fk(target, _) => match v {
            Value::Null => Ok(Value::Null),
            v => resolve_ref(store, target, v).map(Value::from),
        },
        FieldKind::ReqFk(target, _) => match v {
            Value::Null => Err("This field may not be null.".into()),
            v => resolve_ref(store, target, v).map(Value::from),
        },
        FieldKind::Absent => resolve_absent(v),
        FieldKind::AbsentList => {
            for item in expect_list(v)? {
                resolve_absent(item)?;
            }
            Ok(Value::Array(Vec::new()))
        }
        FieldKind::M2m(target) => {
            let mut ids = Vec::new();
            for item in expect_list(v)? {
                let id = resolve_ref(store, target, item)?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Ok(Value::Array(ids.into_iter().map(Value::from).collect()))
        }
        FieldKind::ContentType { null } => parse_content_type(m, f, v, null),
        FieldKind::ObjectId { null } => match v {
            Value::Null if null => Ok(Value::Null),
            v => parse_int(v, 0, i64::MAX, false),
        },
        FieldKind::ContentTypes => {
            let mut out = Vec::new();
            for item in expect_list(v)? {
                match item.as_str() {
                    Some(s) if crate::model::content_type_id(s).is_some() => {
                        if !out.contains(&Value::String(s.to_string())) {
                            out.push(Value::String(s.to_string()));
                        }
                    }
                    _ => return Err(format!("Invalid content type: {}", py_str(item))),
                }
            }
            Ok(Value::Array(out))
        }
        FieldKind::ExtraChoices => match v {
            Value::Null => Ok(Value::Null),
            v => {
                let mut out = Vec::new();
                for item in expect_list(v)? {
                    let pair = item.as_array().filter(|p| p.len() == 2).ok_or_else(|| {
                        format!(
                            "Invalid choice: {}. Choices must be given as [value, label] pairs.",
                            py_repr(item)
                        )
                    })?;
                    out.push(json!([py_str(&pair[0]), py_str(&pair[1])]));
                }
                Ok(Value::Array(out))
            }
        },
        FieldKind::User => match v {
            Value::Null => Ok(Value::Null),
            Value::Number(n) if n.as_u64() == Some(1) => Ok(Value::from(1)),
            other => Err(format!(
                "Invalid pk \"{}\" - object does not exist.",
                py_str(other)
            )),
        },
        _ => Ok(v.clone()),
    }
}

/// Choice fields whose serializer does not allow null (null is read as "").
fn choice_null_is_blank(m: Model, field: &str) -> bool {
    matches!(
        (m, field),
        (Model::Device, "face" | "airflow")
            | (
                Model::Interface,
                "mode" | "rf_role" | "rf_channel" | "poe_mode" | "poe_type"
            )
            | (Model::IpAddress, "role")
    )
}

/// Optional choice fields whose serializer refuses "".
fn choice_allows_blank(m: Model, field: &str) -> bool {
    !matches!(
        (m, field),
        (Model::Vlan, "qinq_role") | (Model::CustomFieldChoiceSet, "base_choices")
    )
}

fn parse_terminations(store: &Store, v: &Value) -> Result<Vec<(Model, Id)>, Value> {
    let items = expect_list(v).map_err(|e| json!([e]))?;
    let mut out = Vec::new();
    let mut errs = Map::new();
    for (i, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            errs.insert(
                i.to_string(),
                json!({"non_field_errors": [format!("Invalid data. Expected a dictionary, but got {}.", py_type_name(item))]}),
            );
            continue;
        };
        let mut e = Map::new();
        let ty = obj.get("object_type");
        let model = match ty.and_then(Value::as_str) {
            Some(s) => match Model::from_label(s) {
                Some(Model::Interface) => Some(Model::Interface),
                _ => {
                    add_err(&mut e, "object_type", format!("Invalid content type: {s}"));
                    None
                }
            },
            None => {
                add_err(&mut e, "object_type", "This field is required.");
                None
            }
        };
        let id = match obj.get("object_id") {
            Some(v) => match parse_int(v, 0, i64::MAX, false) {
                Ok(v) => v.as_u64(),
                Err(msg) => {
                    add_err(&mut e, "object_id", msg);
                    None
                }
            },
            None => {
                add_err(&mut e, "object_id", "This field is required.");
                None
            }
        };
        if !e.is_empty() {
            errs.insert(i.to_string(), Value::Object(e));
            continue;
        }
        if let (Some(m), Some(id)) = (model, id) {
            let _ = store;
            out.push((m, id));
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(Value::Object(errs))
    }
}

/// Parses a request body for `m` (DRF's `to_internal_value`), collecting field errors.
fn parse(
    store: &Store,
    m: Model,
    body: &Value,
    existing: Option<&Rec>,
    partial: bool,
) -> Result<Parsed, WriteError> {
    let Some(input) = body.as_object() else {
        return Err(one(
            "__all__",
            format!(
                "Invalid data. Expected a dictionary, but got {}.",
                py_type_name(body)
            ),
        ));
    };
    let mut errs = Errs::new();
    let mut parsed = Parsed::default();
    let creating = existing.is_none();
    for (i, f) in m.fields().iter().enumerate() {
        if !f.is(WRITABLE) {
            continue;
        }
        let Some(v) = input.get(f.name) else {
            if f.is(REQUIRED) && (creating || !partial) {
                add_err(&mut errs, f.name, "This field is required.");
            }
            continue;
        };
        match f.kind {
            FieldKind::Tags => match expect_list(v) {
                Ok(items) => {
                    let mut ids = Vec::new();
                    let mut bad = None;
                    for item in items {
                        match resolve_ref(store, Model::Tag, item) {
                            Ok(id) if !ids.contains(&id) => ids.push(id),
                            Ok(_) => {}
                            Err(e) => {
                                bad = Some(e);
                                break;
                            }
                        }
                    }
                    match bad {
                        Some(e) => add_err(&mut errs, f.name, e),
                        None => parsed.tags = Some(ids),
                    }
                }
                Err(e) => add_err(&mut errs, f.name, e),
            },
            FieldKind::CustomFields => match v {
                Value::Object(map) => {
                    let defs = crate::render::cf_defs(store, m);
                    let mut unknown: Vec<&String> = map
                        .keys()
                        .filter(|k| !defs.iter().any(|d| &d.name == *k))
                        .collect();
                    unknown.sort();
                    if unknown.is_empty() {
                        let mut data = map.clone();
                        for d in &defs {
                            if d.ty == "url"
                                && let Some(Value::String(s)) = data.get(&d.name)
                                && !s.is_empty()
                                && !s.contains("://")
                            {
                                let fixed = format!("https://{s}");
                                data.insert(d.name.clone(), Value::String(fixed));
                            }
                        }
                        parsed.cf = Some(data);
                    } else {
                        let mut inner = Map::new();
                        for k in unknown {
                            inner.insert(
                                k.clone(),
                                Value::String(format!(
                                    "Custom field '{k}' does not exist for this object type."
                                )),
                            );
                        }
                        errs.insert(f.name.into(), Value::Object(inner));
                    }
                }
                _ => add_err(
                    &mut errs,
                    f.name,
                    "Invalid data format. Custom field data must be passed as a dictionary mapping field names to their values.",
                ),
            },
            FieldKind::Computed(Computed::CableTerminations(end)) => {
                match parse_terminations(store, v) {
                    Ok(t) => parsed.terms[usize::from(end == 'B')] = Some(t),
                    Err(e) => {
                        errs.insert(f.name.into(), e);
                    }
                }
            }
            _ => match parse_field(store, m, f, v) {
                Ok(v) => parsed.vals.push((i, v)),
                Err(e) => add_err(&mut errs, f.name, e),
            },
        }
    }
    if let Some(msg) = input.get("changelog_message") {
        match msg {
            Value::String(s) if s.chars().count() <= 200 => parsed.message = s.clone(),
            Value::Null => {}
            Value::String(_) => add_err(
                &mut errs,
                "changelog_message",
                "Ensure this field has no more than 200 characters.",
            ),
            _ => add_err(&mut errs, "changelog_message", "Not a valid string."),
        }
    }
    // DRF UniqueValidator on single unique fields runs with the field validation.
    for (i, v) in &parsed.vals {
        let f = &m.fields()[*i];
        if !f.is(UNIQUE) || v.is_null() || errs.contains_key(f.name) {
            continue;
        }
        let key = v
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| v.to_string());
        if let Some(holder) = store.unique_holder(m, f.name, &key)
            && Some(holder) != existing.map(|e| e.id)
        {
            add_err(
                &mut errs,
                f.name,
                format!(
                    "{} with this {} already exists.",
                    m.meta().verbose,
                    field_verbose(f.name)
                ),
            );
        }
    }
    if errs.is_empty() {
        Ok(parsed)
    } else {
        Err(WriteError::Invalid(errs))
    }
}

fn field_verbose(name: &str) -> String {
    match name {
        "rd" => "route distinguisher".into(),
        other => other.replace('_', " "),
    }
}

// ---------------------------------------------------------------------------------------------
// Model validation (`full_clean()`)
// ---------------------------------------------------------------------------------------------

fn validate_cf_value(def: &CfDef, v: &Value) -> Result<(), String> {
    if v.is_null() || v.as_str() == Some("") {
        if def.required {
            return Err("Required field cannot be empty.".into());
        }
        return Ok(());
    }
    let bounds = |x: f64| -> Result<(), String> {
        if let Some(min) = def.min
            && x < min
        {
            return Err(format!("Value must be at least {min:.4}"));
        }
        if let Some(max) = def.max
            && x > max
        {
            return Err(format!("Value must not exceed {max:.4}"));
        }
        Ok(())
    };
    match def.ty.as_str() {
        "text" | "longtext" => {
            let Some(s) = v.as_str() else {
                return Err("Value must be a string.".into());
            };
            if !def.regex.is_empty() {
                let ok = regex::Regex::new(&format!("^(?:{})", def.regex))
                    .map(|r| r.is_match(s))
                    .unwrap_or(true);
                if !ok {
                    return Err(format!("Value must match regex '{}'", def.regex));
                }
            }
            Ok(())
        }
        "integer" => match v {
            Value::Number(n) if n.as_i64().is_some() => bounds(n.as_f64().unwrap_or(0.0)),
            _ => Err("Value must be an integer.".into()),
        },
        "decimal" => {
            let x = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            match x {
                Some(x) => bounds(x),
                None => Err("Value must be a decimal.".into()),
            }
        }
        "boolean" => match v {
            Value::Bool(_) => Ok(()),
            Value::Number(n) if matches!(n.as_i64(), Some(0 | 1)) => Ok(()),
            _ => Err("Value must be true or false.".into()),
        },
        "date" => match v.as_str() {
            Some(s) if is_iso_date(s) => Ok(()),
            _ => Err("Date values must be in ISO 8601 format (YYYY-MM-DD).".into()),
        },
        "datetime" => match v.as_str() {
            Some(s) if is_iso_datetime(s) => Ok(()),
            _ => {
                Err("Date and time values must be in ISO 8601 format (YYYY-MM-DD HH:MM:SS).".into())
            }
        },
        "select" => {
            let ok = v
                .as_str()
                .is_some_and(|s| def.choices.iter().any(|(c, _)| c == s));
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "Invalid choice ({}) for choice set {}.",
                    py_str(v),
                    def.choice_set_name
                ))
            }
        }
        "multiselect" => {
            let ok = v.as_array().is_some_and(|items| {
                items.iter().all(|i| {
                    i.as_str()
                        .is_some_and(|s| def.choices.iter().any(|(c, _)| c == s))
                })
            });
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "Invalid choice(s) ({}) for choice set {}.",
                    py_repr(v),
                    def.choice_set_name
                ))
            }
        }
        _ => Ok(()),
    }
}

/// NetBox's `CustomFieldsMixin.clean()`: the first invalid value, then missing required fields.
fn clean_custom_fields(
    store: &Store,
    m: Model,
    id: Id,
    data: &Map<String, Value>,
) -> Option<String> {
    let defs = crate::render::cf_defs(store, m);
    for (name, value) in data {
        let Some(def) = defs.iter().find(|d| &d.name == name) else {
            continue;
        };
        if let Err(e) = validate_cf_value(def, value) {
            return Some(format!("Invalid value for custom field '{name}': {e}"));
        }
        if def.unique && !value.is_null() && value.as_str() != Some("") {
            let clash = store
                .iter(m)
                .any(|r| r.id != id && r.cf.get(name) == Some(value));
            if clash {
                return Some(format!("Custom field '{name}' must have a unique value."));
            }
        }
    }
    for def in defs.iter() {
        if def.required && !data.contains_key(&def.name) {
            return Some(format!("Missing required custom field '{}'.", def.name));
        }
    }
    None
}

/// Uniqueness constraints checked by `validate_constraints()` (non-field errors).
fn constraint_errors(store: &Store, m: Model, rec: &Rec) -> Vec<String> {
    let msg = |name: &str| -> Option<&'static str> {
        Some(match (m, name) {
            (Model::DeviceType, "manufacturer_model") => {
                "Device type with this Manufacturer and Model already exists."
            }
            (Model::DeviceType, "manufacturer_slug") => {
                "Device type with this Manufacturer and Slug already exists."
            }
            (Model::DeviceRole, "scope_name") => "A device role with this name already exists.",
            (Model::DeviceRole, "scope_slug") => "A device role with this slug already exists.",
            (Model::Platform, "scope_name") => "Platform name must be unique.",
            (Model::Platform, "scope_slug") => "Platform slug must be unique.",
            (Model::Device, "name_site") => "Device name must be unique per site and tenant.",
            (Model::Device, "vc_position") => {
                "Device with this Virtual chassis and VC position already exists."
            }
            (Model::Interface, "device_name") => {
                "Interface with this Device and Name already exists."
            }
            (Model::VlanGroup, "scope_name") => {
                "VLAN group with this Scope type, Scope ID and Name already exists."
            }
            (Model::VlanGroup, "scope_slug") => {
                "VLAN group with this Scope type, Scope ID and Slug already exists."
            }
            (Model::Vlan, "group_vid") => "VLAN with this Group and VLAN ID already exists.",
            (Model::Vlan, "group_name") => "VLAN with this Group and Name already exists.",
            _ => return None,
        })
    };
    crate::store::unique_keys(m, rec)
        .into_iter()
        .filter_map(|(name, key)| {
            let text = msg(name)?;
            let holder = store.unique_holder(m, name, &key)?;
            (holder != rec.id).then(|| text.to_string())
        })
        .collect()
}

fn iface_device(store: &Store, iface: Id) -> Option<&Rec> {
    let i = store.get(Model::Interface, iface)?;
    store.get(Model::Device, i.id_of(Model::Interface, "device")?)
}

/// Interfaces of a device and of the other members of its virtual chassis.
fn vc_interfaces(store: &Store, dev: &Rec) -> Vec<Id> {
    let mut devices = vec![dev.id];
    if let Some(vc) = dev.id_of(Model::Device, "virtual_chassis") {
        devices = store
            .referrers(Model::Device, "virtual_chassis", vc)
            .collect();
        if !devices.contains(&dev.id) {
            devices.push(dev.id);
        }
    }
    devices
        .into_iter()
        .flat_map(|d| {
            store
                .referrers(Model::Interface, "device", d)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Model-specific `clean()` rules. Field-keyed errors or a non-field message.
fn clean_model(store: &Store, m: Model, rec: &Rec, old: Option<&Rec>) -> Errs {
    let mut e = Errs::new();
    let ctx = Ctx::new(store, "");
    let disp = |mm: Model, id: Option<Id>| {
        id.and_then(|id| store.get(mm, id))
            .map(|r| ctx.display(mm, r))
            .unwrap_or_default()
    };
    match m {
        Model::Device => {
            let ifaces = vc_interfaces(store, rec);
            for (field, family) in [("primary_ip4", 4u8), ("primary_ip6", 6), ("oob_ip", 0)] {
                let Some(ip) = rec
                    .id_of(m, field)
                    .and_then(|i| store.get(Model::IpAddress, i))
                else {
                    continue;
                };
                let text = ip.str(Model::IpAddress, "address");
                let fam = net::parse_any(text).map_or(4, |n| n.family());
                if family != 0 && fam != family {
                    add_err(
                        &mut e,
                        field,
                        format!("{text} is not an IPv{family} address."),
                    );
                    break;
                }
                let assigned = |ip: &Rec| {
                    ip.str(Model::IpAddress, "assigned_object_type") == "dcim.interface"
                        && ip
                            .id_of(Model::IpAddress, "assigned_object_id")
                            .is_some_and(|i| ifaces.contains(&i))
                };
                let nat_ok = ip
                    .id_of(Model::IpAddress, "nat_inside")
                    .and_then(|n| store.get(Model::IpAddress, n))
                    .is_some_and(assigned);
                if !assigned(ip) && !nat_ok {
                    add_err(
                        &mut e,
                        field,
                        format!(
                            "The specified IP address ({text}) is not assigned to this device."
                        ),
                    );
                    break;
                }
            }
            if e.is_empty()
                && let (Some(pl), Some(dt)) = (
                    rec.id_of(m, "platform")
                        .and_then(|p| store.get(Model::Platform, p)),
                    rec.id_of(m, "device_type")
                        .and_then(|d| store.get(Model::DeviceType, d)),
                )
                && let Some(pm) = pl.id_of(Model::Platform, "manufacturer")
                && Some(pm) != dt.id_of(Model::DeviceType, "manufacturer")
            {
                add_err(
                    &mut e,
                    "platform",
                    format!(
                        "The assigned platform is limited to {} device types, but this device's type belongs to {}.",
                        disp(Model::Manufacturer, Some(pm)),
                        disp(
                            Model::Manufacturer,
                            dt.id_of(Model::DeviceType, "manufacturer")
                        )
                    ),
                );
            }
            if e.is_empty()
                && rec.id_of(m, "virtual_chassis").is_some()
                && rec.get(m, "vc_position").is_null()
            {
                add_err(
                    &mut e,
                    "vc_position",
                    "A device assigned to a virtual chassis must have its position defined.",
                );
            }
            if e.is_empty()
                && let Some(old) = old
            {
                let master_of: Option<Id> = store
                    .referrers(Model::VirtualChassis, "master", old.id)
                    .next();
                if let Some(vc) = master_of
                    && rec.id_of(m, "virtual_chassis") != Some(vc)
                {
                    add_err(
                        &mut e,
                        "virtual_chassis",
                        format!(
                            "Device cannot be removed from virtual chassis {} because it is currently designated as its master.",
                            disp(Model::VirtualChassis, Some(vc))
                        ),
                    );
                }
            }
        }
        Model::Interface => {
            let dev = rec
                .id_of(m, "device")
                .and_then(|d| store.get(Model::Device, d));
            let dev_vc = dev.and_then(|d| d.id_of(Model::Device, "virtual_chassis"));
            let ty = rec.str(m, "type");
            let is_virtual = matches!(ty, "virtual" | "bridge" | "lag");
            if is_virtual && rec.id_of(m, "cable").is_some() {
                let label = crate::choices::INTERFACE_TYPE.label(ty).unwrap_or(ty);
                add_err(
                    &mut e,
                    "type",
                    format!("{label} interfaces cannot have a cable attached."),
                );
                return e;
            }
            if is_virtual && rec.get(m, "mark_connected").as_bool() == Some(true) {
                let label = crate::choices::INTERFACE_TYPE.label(ty).unwrap_or(ty);
                add_err(
                    &mut e,
                    "mark_connected",
                    format!("{label} interfaces cannot be marked as connected."),
                );
                return e;
            }
            for (field, what) in [
                ("parent", "parent interface"),
                ("bridge", "bridge interface"),
                ("lag", "LAG interface"),
            ] {
                let Some(other) = rec.id_of(m, field) else {
                    continue;
                };
                if field == "lag" && ty == "virtual" {
                    add_err(
                        &mut e,
                        "lag",
                        "Virtual interfaces cannot have a parent LAG interface.",
                    );
                    return e;
                }
                if other == rec.id && rec.id != 0 {
                    let msg = match field {
                        "lag" => "A LAG interface cannot be its own parent.",
                        "parent" => "An interface cannot be its own parent.",
                        _ => "An interface cannot be bridged to itself.",
                    };
                    add_err(&mut e, field, msg);
                    return e;
                }
                let Some(other_rec) = store.get(m, other) else {
                    continue;
                };
                let other_dev = other_rec.id_of(m, "device");
                if other_dev == rec.id_of(m, "device") {
                    continue;
                }
                let other_name = other_rec.str(m, "name");
                let other_dev_name = disp(Model::Device, other_dev);
                let other_vc = other_dev
                    .and_then(|d| store.get(Model::Device, d))
                    .and_then(|d| d.id_of(Model::Device, "virtual_chassis"));
                let msg = match dev_vc {
                    None => format!(
                        "The selected {what} ({other_name}) belongs to a different device ({other_dev_name}){}",
                        if field == "parent" { "" } else { "." }
                    ),
                    Some(vc) if other_vc != Some(vc) => format!(
                        "The selected {what} ({other_name}) belongs to {other_dev_name}, which is not part of virtual chassis {}.",
                        disp(Model::VirtualChassis, Some(vc))
                    ),
                    Some(_) => continue,
                };
                add_err(&mut e, field, msg);
                return e;
            }
            let mode = rec.get(m, "mode").as_str().unwrap_or("");
            if mode.is_empty() && rec.id_of(m, "untagged_vlan").is_some() {
                add_err(
                    &mut e,
                    "untagged_vlan",
                    "Interface mode does not support an untagged vlan.",
                );
                return e;
            }
            if let Some(v) = rec
                .id_of(m, "untagged_vlan")
                .and_then(|v| store.get(Model::Vlan, v))
            {
                let vsite = v.id_of(Model::Vlan, "site");
                if vsite.is_some() && vsite != dev.and_then(|d| d.id_of(Model::Device, "site")) {
                    add_err(
                        &mut e,
                        "untagged_vlan",
                        format!(
                            "The untagged VLAN ({}) must belong to the same site as the interface's parent device, or it must be global.",
                            ctx.display(Model::Vlan, v)
                        ),
                    );
                    return e;
                }
            }
            if rec.id_of(m, "qinq_svlan").is_some() && mode != "q-in-q" {
                add_err(
                    &mut e,
                    "qinq_svlan",
                    "Only Q-in-Q interfaces may specify a service VLAN.",
                );
                return e;
            }
            if let Some(mac) = rec
                .id_of(m, "primary_mac_address")
                .and_then(|id| store.get(Model::MacAddress, id))
            {
                let assigned = mac.id_of(Model::MacAddress, "assigned_object_id");
                match assigned {
                    None if old.is_some() => add_err(
                        &mut e,
                        "__all__",
                        "Only a MAC address assigned to this interface can be its primary MAC address.",
                    ),
                    Some(other) if other != rec.id => add_err(
                        &mut e,
                        "__all__",
                        format!(
                            "MAC address {} is assigned to a different interface ({}).",
                            mac.str(Model::MacAddress, "mac_address"),
                            disp(Model::Interface, Some(other))
                        ),
                    ),
                    _ => {}
                }
            }
        }
        Model::VirtualChassis => {
            if let Some(master) = rec.id_of(m, "master") {
                let member = store
                    .get(Model::Device, master)
                    .and_then(|d| d.id_of(Model::Device, "virtual_chassis"));
                if member != Some(rec.id) {
                    add_err(
                        &mut e,
                        "master",
                        format!(
                            "The selected master ({}) is not assigned to this virtual chassis.",
                            disp(Model::Device, Some(master))
                        ),
                    );
                }
            }
        }
        Model::MacAddress => {
            if let Some(old) = old {
                let was = old.id_of(m, "assigned_object_id");
                let is_primary = was
                    .and_then(|i| store.get(Model::Interface, i))
                    .is_some_and(|i| {
                        i.id_of(Model::Interface, "primary_mac_address") == Some(rec.id)
                    });
                let now = rec.id_of(m, "assigned_object_id");
                if is_primary && now != was {
                    let msg = if now.is_none() {
                        "Cannot unassign MAC Address while it is designated as the primary MAC for an object"
                    } else {
                        "Cannot reassign MAC Address while it is designated as the primary MAC for an object"
                    };
                    add_err(&mut e, "__all__", msg);
                }
            }
            if e.is_empty()
                && let Some(id) = rec.id_of(m, "assigned_object_id")
                && rec.get(m, "assigned_object_type").is_string()
                && store.get(Model::Interface, id).is_none()
            {
                add_err(
                    &mut e,
                    "__all__",
                    format!("Invalid assigned_object: DCIM > Interface ID {id}"),
                );
            }
        }
        Model::IpAddress => {
            if let Some(id) = rec.id_of(m, "assigned_object_id")
                && rec.get(m, "assigned_object_type").is_string()
                && store.get(Model::Interface, id).is_none()
            {
                add_err(
                    &mut e,
                    "__all__",
                    format!("Invalid assigned_object: DCIM > Interface ID {id}"),
                );
            }
            if let Some(old) = old
                && let Some(dev) = old
                    .id_of(m, "assigned_object_id")
                    .and_then(|i| iface_device(store, i))
            {
                // Only moving the address away from its device is refused.
                let new_dev = rec
                    .id_of(m, "assigned_object_id")
                    .and_then(|i| iface_device(store, i))
                    .map(|d| d.id);
                if new_dev != Some(dev.id) {
                    let family = net::parse_any(rec.str(m, "address")).map(|n| n.family());
                    let field = if family == Some(6) {
                        "primary_ip6"
                    } else {
                        "primary_ip4"
                    };
                    if dev.id_of(Model::Device, field) == Some(rec.id) {
                        add_err(
                            &mut e,
                            "__all__",
                            "Cannot reassign IP address while it is designated as the primary IP for the parent object",
                        );
                    } else if dev.id_of(Model::Device, "oob_ip") == Some(rec.id) {
                        add_err(
                            &mut e,
                            "__all__",
                            "Cannot reassign IP address while it is designated as the OOB IP for the parent object",
                        );
                    }
                }
            }
            if rec.str(m, "status") == "slaac"
                && net::parse_any(rec.str(m, "address")).is_some_and(|n| n.family() == 4)
            {
                add_err(
                    &mut e,
                    "status",
                    "Only IPv6 addresses can be assigned SLAAC status",
                );
            }
        }
        Model::Prefix | Model::VlanGroup => {
            let ty = rec.get(m, "scope_type").as_str();
            let id = rec.id_of(m, "scope_id");
            match (ty, id) {
                (Some(t), None) => {
                    let model = t.split('.').nth(1).unwrap_or(t);
                    add_err(&mut e, "__all__", format!("Please select a {model}."));
                }
                (None, Some(_)) => add_err(&mut e, "scope_type", "Please select a scope type."),
                (Some(t), Some(id)) => {
                    if Model::from_label(t)
                        .and_then(|mm| store.get(mm, id))
                        .is_none()
                    {
                        add_err(
                            &mut e,
                            "scope",
                            format!("Related object not found using the provided numeric ID: {id}"),
                        );
                    }
                }
                (None, None) => {}
            }
        }
        Model::Vlan => {
            if let Some(g) = rec
                .id_of(m, "group")
                .and_then(|g| store.get(Model::VlanGroup, g))
            {
                let vid = rec.get(m, "vid").as_i64().unwrap_or(0);
                let ranges = g.get(Model::VlanGroup, "vid_ranges");
                let inside = ranges.as_array().into_iter().flatten().any(|r| {
                    let lo = r.get(0).and_then(Value::as_i64).unwrap_or(0);
                    let hi = r.get(1).and_then(Value::as_i64).unwrap_or(0);
                    (lo..=hi).contains(&vid)
                });
                if !inside {
                    let text: Vec<String> = ranges
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| {
                            let lo = r.get(0).and_then(Value::as_i64).unwrap_or(0);
                            let hi = r.get(1).and_then(Value::as_i64).unwrap_or(0);
                            if lo == hi {
                                lo.to_string()
                            } else {
                                format!("{lo}-{hi}")
                            }
                        })
                        .collect();
                    add_err(
                        &mut e,
                        "vid",
                        format!(
                            "VID must be in ranges {} for VLANs in group {}",
                            text.join(","),
                            g.str(Model::VlanGroup, "name")
                        ),
                    );
                }
            }
        }
        Model::CustomField => {
            let name = rec.str(m, "name");
            if !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                add_err(
                    &mut e,
                    "name",
                    "Only alphanumeric characters and underscores are allowed.",
                );
            } else if name.contains("__") {
                add_err(
                    &mut e,
                    "name",
                    "Double underscores are not permitted in custom field names.",
                );
            }
            let ty = rec.str(m, "type");
            if matches!(ty, "select" | "multiselect") && rec.id_of(m, "choice_set").is_none() {
                add_err(
                    &mut e,
                    "choice_set",
                    "Selection fields must specify a set of choices.",
                );
            } else if !matches!(ty, "select" | "multiselect")
                && rec.id_of(m, "choice_set").is_some()
            {
                add_err(
                    &mut e,
                    "choice_set",
                    "Choices may be set only on selection fields.",
                );
            }
            if matches!(ty, "object" | "multiobject") && rec.get(m, "related_object_type").is_null()
            {
                add_err(
                    &mut e,
                    "related_object_type",
                    "Object fields must define an object type.",
                );
            }
            if rec
                .get(m, "object_types")
                .as_array()
                .is_some_and(Vec::is_empty)
            {
                add_err(&mut e, "object_types", "This list may not be empty.");
            }
        }
        Model::JournalEntry => {
            let target = rec
                .get(m, "assigned_object_type")
                .as_str()
                .and_then(Model::from_label);
            let id = rec.id_of(m, "assigned_object_id");
            if let (Some(t), Some(id)) = (target, id)
                && store.get(t, id).is_none()
            {
                add_err(
                    &mut e,
                    "__all__",
                    format!(
                        "Invalid assigned_object: {} > {} ID {id}",
                        t.meta().app_verbose,
                        title_case(t.meta().verbose)
                    ),
                );
            }
            if rec.str(m, "comments").trim().is_empty() {
                add_err(&mut e, "comments", "This field may not be blank.");
            }
        }
        _ => {}
    }
    e
}

fn title_case(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            if w.chars().all(|c| c.is_uppercase()) {
                w.to_string()
            } else {
                let mut c = w.chars();
                match c.next() {
                    Some(f) => f.to_uppercase().chain(c).collect(),
                    None => String::new(),
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `full_clean()`: custom fields and model rules, then uniqueness constraints.
fn full_clean(store: &Store, m: Model, rec: &Rec, old: Option<&Rec>) -> Result<(), WriteError> {
    let mut errs = Errs::new();
    let cf_err = if m.has_custom_fields() {
        clean_custom_fields(store, m, rec.id, &rec.cf)
    } else {
        None
    };
    match cf_err {
        Some(msg) => add_err(&mut errs, "__all__", msg),
        None => {
            for (k, v) in clean_model(store, m, rec, old) {
                errs.insert(k, v);
            }
        }
    }
    for msg in constraint_errors(store, m, rec) {
        add_err(&mut errs, "__all__", msg);
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(WriteError::Invalid(errs))
    }
}

// ---------------------------------------------------------------------------------------------
// Applying writes
// ---------------------------------------------------------------------------------------------

/// Builds the new version of a record from parsed input.
fn build(tx: &Tx, m: Model, parsed: &Parsed, existing: Option<&Rec>, partial: bool) -> Rec {
    let store = &*tx.store;
    let mut rec = match existing {
        Some(e) => e.clone(),
        None => Rec::new(m, 0, tx.actor.now),
    };
    if existing.is_some() && !partial {
        // PUT: fields with an explicit serializer default return to it when omitted; the others
        // keep their values (DRF only writes validated data).
        for (i, f) in m.fields().iter().enumerate() {
            if f.is(crate::model::PUT_DEFAULT)
                && f.stored()
                && !parsed.vals.iter().any(|(j, _)| *j == i)
            {
                rec.vals[i] = crate::store::default_value(f);
            }
        }
    }
    for (i, v) in &parsed.vals {
        rec.vals[*i] = v.clone();
    }
    if let Some(tags) = &parsed.tags {
        rec.tags = tags.clone();
    }
    if m.has_custom_fields() {
        let defs = crate::render::cf_defs(store, m);
        let mut data = match (&parsed.cf, existing) {
            (Some(given), Some(e)) => {
                let mut merged = e.cf.clone();
                for (k, v) in given {
                    merged.insert(k.clone(), v.clone());
                }
                merged
            }
            (Some(given), None) => given.clone(),
            (None, Some(e)) => e.cf.clone(),
            (None, None) => defs
                .iter()
                .map(|d| (d.name.clone(), d.default.clone()))
                .collect(),
        };
        data.retain(|k, _| defs.iter().any(|d| &d.name == k));
        for d in defs.iter() {
            if !d.default.is_null() && !data.contains_key(&d.name) {
                data.insert(d.name.clone(), d.default.clone());
            }
        }
        rec.cf = data;
    }
    // Serializer defaults and model save() side effects.
    if existing.is_none() && m == Model::Device {
        let pi = m.field_index("platform").unwrap_or(0);
        if rec.vals[pi].is_null()
            && let Some(dt) = rec
                .id_of(m, "device_type")
                .and_then(|d| store.get(Model::DeviceType, d))
        {
            rec.vals[pi] = dt.get(Model::DeviceType, "default_platform").clone();
        }
    }
    if existing.is_none() && m == Model::JournalEntry {
        let ci = m.field_index("created_by").unwrap_or(0);
        if !parsed.vals.iter().any(|(j, _)| *j == ci) {
            rec.vals[ci] = Value::from(crate::changes::USER_ID);
        }
    }
    if m == Model::Interface {
        let mode = rec.get(m, "mode").as_str().unwrap_or("").to_string();
        let untagged = m.field_index("untagged_vlan").unwrap_or(0);
        let tagged = m.field_index("tagged_vlans").unwrap_or(0);
        if mode.is_empty() {
            rec.vals[untagged] = Value::Null;
        }
        // save() clears tagged VLANs of an existing non-tagged interface; the serializer then
        // writes the given list, if any.
        if mode != "tagged" && existing.is_some() && !parsed.vals.iter().any(|(i, _)| *i == tagged)
        {
            rec.vals[tagged] = Value::Array(Vec::new());
        }
    }
    rec
}

/// Interface-specific serializer validation (`InterfaceSerializer.validate`): the 802.1Q mode
/// decides which VLAN fields may be set; values come from the request, else from the instance.
fn serializer_validate(
    store: &Store,
    m: Model,
    parsed: &Parsed,
    existing: Option<&Rec>,
) -> Result<(), WriteError> {
    if m != Model::Interface {
        return Ok(());
    }
    let given = |name: &str| -> Option<&Value> {
        let idx = m.field_index(name)?;
        parsed.vals.iter().find(|(i, _)| *i == idx).map(|(_, v)| v)
    };
    let value = |name: &str| -> Value {
        match (given(name), existing) {
            (Some(v), _) => v.clone(),
            (None, Some(e)) => e.get(m, name).clone(),
            (None, None) => Value::Null,
        }
    };
    let truthy = |v: &Value| match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::String(s) => !s.is_empty(),
        _ => true,
    };
    let mode = value("mode");
    let mode = mode.as_str().unwrap_or("");
    let mut e = Errs::new();
    if mode != "q-in-q" && truthy(&value("qinq_svlan")) {
        add_err(
            &mut e,
            "qinq_svlan",
            "Interface mode does not support q-in-q service vlan",
        );
    }
    let tagged = value("tagged_vlans");
    if mode.is_empty() {
        if truthy(&value("untagged_vlan")) {
            add_err(
                &mut e,
                "untagged_vlan",
                "Interface mode does not support untagged vlan",
            );
        }
        if truthy(&tagged) {
            add_err(
                &mut e,
                "tagged_vlans",
                "Interface mode does not support tagged vlans",
            );
        }
    } else if (mode == "tagged-all" || mode == "access") && truthy(&tagged) {
        add_err(
            &mut e,
            "tagged_vlans",
            "Interface mode does not support tagged vlans",
        );
    }
    if !e.is_empty() {
        return Err(WriteError::Invalid(e));
    }
    let device = match existing {
        Some(r) => r.id_of(m, "device"),
        None => given("device").and_then(Value::as_u64),
    };
    let site = device
        .and_then(|d| store.get(Model::Device, d))
        .and_then(|d| d.id_of(Model::Device, "site"));
    for vid in given("tagged_vlans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
    {
        let Some(vlan) = store.get(Model::Vlan, vid) else {
            continue;
        };
        let vsite = vlan.id_of(Model::Vlan, "site");
        if vsite.is_some() && vsite != site {
            return Err(one(
                "tagged_vlans",
                format!(
                    "VLAN {} ({}) must belong to the same site as the interface's parent device, or it must be global.",
                    vlan.str(Model::Vlan, "name"),
                    vlan.get(Model::Vlan, "vid")
                ),
            ));
        }
    }
    Ok(())
}

/// Validates cable terminations (NetBox's `Cable.clean()` and `CableTermination.clean()`).
fn check_terminations(
    store: &Store,
    cable_id: Id,
    a: &[(Model, Id)],
    b: &[(Model, Id)],
) -> Result<(), WriteError> {
    for (mm, id) in a.iter().chain(b.iter()) {
        if store.get(*mm, *id).is_none() {
            return Err(WriteError::Server(json!({
                "error": "Interface matching query does not exist.",
                "exception": "DoesNotExist",
                "netbox_version": crate::NETBOX_VERSION,
                "python_version": crate::PYTHON_VERSION,
            })));
        }
    }
    if a.iter().any(|t| b.contains(t)) {
        return Err(one(
            "__all__",
            "A and B terminations cannot connect to the same object.",
        ));
    }
    let ctx = Ctx::new(store, "");
    for (mm, id) in a.iter().chain(b.iter()) {
        let Some(iface) = store.get(*mm, *id) else {
            continue;
        };
        let ty = iface.str(Model::Interface, "type");
        if matches!(ty, "virtual" | "bridge" | "lag") {
            let label = crate::choices::INTERFACE_TYPE.label(ty).unwrap_or(ty);
            return Err(one(
                "__all__",
                format!("Cables cannot be terminated to {label} interfaces"),
            ));
        }
        if iface.get(Model::Interface, "mark_connected").as_bool() == Some(true) {
            let dev = iface
                .id_of(Model::Interface, "device")
                .and_then(|d| store.get(Model::Device, d))
                .map(|d| ctx.display(Model::Device, d))
                .unwrap_or_default();
            return Err(one(
                "__all__",
                format!(
                    "Cannot connect a cable to {dev} > {} because it is marked as connected.",
                    iface.str(Model::Interface, "name")
                ),
            ));
        }
        if let Some(ct) = store
            .unique_holder(
                Model::CableTermination,
                "termination",
                &format!("dcim.interface|{id}"),
            )
            .and_then(|t| store.get(Model::CableTermination, t))
        {
            let other = ct.id_of(Model::CableTermination, "cable").unwrap_or(0);
            if other != cable_id {
                return Err(one(
                    "__all__",
                    format!("Duplicate termination found for dcim.interface {id}: cable {other}"),
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn set_iface_cable(tx: &mut Tx, iface: Id, cable: Option<(Id, char)>, message: &str) {
    let m = Model::Interface;
    let pre = tx.snapshot(m, iface);
    let Some(mut rec) = tx.store.get(m, iface).cloned() else {
        return;
    };
    let ci = m.field_index("cable").unwrap_or(0);
    let ei = m.field_index("cable_end").unwrap_or(0);
    match cable {
        Some((c, end)) => {
            rec.vals[ci] = Value::from(c);
            rec.vals[ei] = Value::String(end.to_string());
        }
        None => {
            rec.vals[ci] = Value::Null;
            rec.vals[ei] = Value::Null;
        }
    }
    rec.last_updated = tx.actor.now;
    tx.replace(m, rec);
    let post = tx.snapshot(m, iface);
    let repr = tx.repr(m, iface);
    tx.log("update", m, iface, repr, (pre, post), message);
}

/// A new `CableTermination` and the interface's cable fields (records without the request's
/// changelog message: NetBox creates and saves these objects itself).
fn add_termination(tx: &mut Tx, cable: Id, end: char, (_, iface): (Model, Id)) {
    let ct = Model::CableTermination;
    let id = tx.store.alloc_id(ct);
    let mut rec = Rec::new(ct, id, tx.actor.now);
    rec.vals[ct.field_index("cable").unwrap_or(0)] = Value::from(cable);
    rec.vals[ct.field_index("cable_end").unwrap_or(0)] = Value::String(end.to_string());
    rec.vals[ct.field_index("termination_type").unwrap_or(0)] =
        Value::String("dcim.interface".into());
    rec.vals[ct.field_index("termination_id").unwrap_or(0)] = Value::from(iface);
    tx.insert(ct, rec);
    let post = tx.snapshot(ct, id);
    let repr = tx.repr(ct, id);
    tx.log("create", ct, id, repr, (None, post), "");
    set_iface_cable(tx, iface, Some((cable, end)), "");
}

fn terminations_of(store: &Store, cable: Id) -> Vec<(Id, char, Id)> {
    let ct = Model::CableTermination;
    let mut out: Vec<(Id, char, Id)> = store
        .referrers(ct, "cable", cable)
        .filter_map(|t| {
            let r = store.get(ct, t)?;
            let end = r.str(ct, "cable_end").chars().next().unwrap_or('A');
            Some((t, end, r.id_of(ct, "termination_id")?))
        })
        .collect();
    out.sort_unstable();
    out
}

/// Creates one object from a request body. Returns its id.
pub fn create(tx: &mut Tx, m: Model, body: &Value) -> Result<Id, WriteError> {
    create_with(tx, m, body, None)
}

/// Creates one object; `fixed_id` loads it under a given id (fixture import), honouring
/// `created`/`last_updated` in the body when present. The change records are those of an API
/// create either way, so a client reading the change log from zero sees every object.
pub fn create_with(
    tx: &mut Tx,
    m: Model,
    body: &Value,
    fixed_id: Option<Id>,
) -> Result<Id, WriteError> {
    if !m.meta().writable {
        return Err(one(
            "__all__",
            format!("{} objects cannot be created directly.", m.meta().class),
        ));
    }
    if let Some(id) = fixed_id
        && tx.store.get(m, id).is_some()
    {
        return Err(one(
            "id",
            format!("{} with ID {id} already exists.", m.meta().class),
        ));
    }
    let parsed = parse(tx.store, m, body, None, false)?;
    serializer_validate(tx.store, m, &parsed, None)?;
    let mut rec = build(tx, m, &parsed, None, false);
    if m == Model::Cable {
        let (a, b) = (&parsed.terms[0], &parsed.terms[1]);
        let (Some(a), Some(b)) = (a, b) else {
            return Err(one(
                "__all__",
                "Must define A and B terminations when creating a new cable.",
            ));
        };
        if a.is_empty() || b.is_empty() {
            return Err(one(
                "__all__",
                "Must define A and B terminations when creating a new cable.",
            ));
        }
        check_terminations(tx.store, 0, a, b)?;
        if rec.get(m, "length").as_f64().is_some() && rec.get(m, "length_unit").is_null() {
            return Err(one(
                "__all__",
                "Must specify a unit when setting a cable length",
            ));
        }
    }
    rec.id = fixed_id.unwrap_or(0);
    full_clean(tx.store, m, &rec, None)?;
    let id = match fixed_id {
        Some(id) => id,
        None => tx.store.alloc_id(m),
    };
    rec.id = id;
    rec.created = tx.actor.now;
    rec.last_updated = tx.actor.now;
    if fixed_id.is_some() {
        let stamp = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .and_then(crate::util::parse_datetime)
                .map(to_micros)
        };
        if let Some(ts) = stamp("created") {
            rec.created = ts;
        }
        if let Some(ts) = stamp("last_updated") {
            rec.last_updated = ts;
        }
    }
    let message = parsed.message.clone();
    tx.insert(m, rec);
    let mut post = defaults_as_numbers(m, &parsed, tx.snapshot(m, id));
    if m == Model::Cable {
        // Tags are added after save(); their m2m change lands on the cable's last record of the
        // request (the update written once the terminations exist), not on this one.
        post = without_tags(post);
    }
    let repr = tx.repr(m, id);
    tx.log("create", m, id, repr, (None, post), &message);
    // A primary MAC that is not assigned yet gets assigned to the new interface (post_save signal).
    if m == Model::Interface
        && let Some(mac) = tx
            .store
            .get(m, id)
            .and_then(|r| r.id_of(m, "primary_mac_address"))
        && let Some(mac_rec) = tx.store.get(Model::MacAddress, mac).cloned()
        && mac_rec
            .get(Model::MacAddress, "assigned_object_id")
            .is_null()
    {
        let mm = Model::MacAddress;
        let pre = tx.snapshot(mm, mac);
        let mut r = mac_rec;
        r.vals[mm.field_index("assigned_object_type").unwrap_or(0)] =
            Value::String("dcim.interface".into());
        r.vals[mm.field_index("assigned_object_id").unwrap_or(0)] = Value::from(id);
        r.last_updated = tx.actor.now;
        tx.replace(mm, r);
        let post = tx.snapshot(mm, mac);
        let repr = tx.repr(mm, mac);
        tx.log("update", mm, mac, repr, (pre, post), &message);
    }
    if m == Model::Cable {
        let a = parsed.terms[0].clone().unwrap_or_default();
        let b = parsed.terms[1].clone().unwrap_or_default();
        for t in a {
            add_termination(tx, id, 'A', t);
        }
        for t in b {
            add_termination(tx, id, 'B', t);
        }
        let post = tx.snapshot(m, id);
        let repr = tx.repr(m, id);
        tx.log("update", m, id, repr, (None, post), &message);
    }
    Ok(id)
}

fn without_tags(post: Option<Box<str>>) -> Option<Box<str>> {
    let mut data: Value = serde_json::from_str(post.as_deref()?).ok()?;
    if let Some(v) = data.get_mut("tags") {
        *v = Value::Array(Vec::new());
    }
    Some(serde_json::to_string(&data).unwrap_or_default().into())
}

/// A create record serializes the in-memory instance: a decimal left at its model default is
/// still the Python float (`1.0`), while given values went through `Decimal` (`"1.0"`).
fn defaults_as_numbers(m: Model, parsed: &Parsed, post: Option<Box<str>>) -> Option<Box<str>> {
    let fields: Vec<(&str, f64)> = m
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f.kind {
            FieldKind::Dec {
                null: false,
                default,
                ..
            } if f.is(crate::model::LOGGED) && !parsed.vals.iter().any(|(j, _)| *j == i) => {
                Some((f.name, default))
            }
            _ => None,
        })
        .collect();
    if fields.is_empty() {
        return post;
    }
    let mut data: Value = serde_json::from_str(post.as_deref()?).ok()?;
    for (name, default) in fields {
        if let Some(v) = data.get_mut(name) {
            *v = Value::from(default);
        }
    }
    Some(serde_json::to_string(&data).unwrap_or_default().into())
}

/// Updates one object (`PUT` when `partial` is false, `PATCH` otherwise).
pub fn update(
    tx: &mut Tx,
    m: Model,
    id: Id,
    body: &Value,
    partial: bool,
) -> Result<(), WriteError> {
    let Some(existing) = tx.store.get(m, id).cloned() else {
        return Err(WriteError::Invalid(Errs::new()));
    };
    let parsed = parse(tx.store, m, body, Some(&existing), partial)?;
    serializer_validate(tx.store, m, &parsed, Some(&existing))?;
    let mut rec = build(tx, m, &parsed, Some(&existing), partial);
    if m == Model::Cable && (parsed.terms[0].is_some() || parsed.terms[1].is_some()) {
        let current = terminations_of(tx.store, id);
        let side = |end: char, given: &Option<Vec<(Model, Id)>>| -> Vec<(Model, Id)> {
            match given {
                Some(t) => t.clone(),
                None => current
                    .iter()
                    .filter(|(_, e, _)| *e == end)
                    .map(|(_, _, i)| (Model::Interface, *i))
                    .collect(),
            }
        };
        let a = side('A', &parsed.terms[0]);
        let b = side('B', &parsed.terms[1]);
        check_terminations(tx.store, id, &a, &b)?;
    }
    full_clean(tx.store, m, &rec, Some(&existing))?;
    let message = parsed.message.clone();
    let pre = tx.snapshot(m, id);
    rec.last_updated = tx.actor.now;
    tx.replace(m, rec);
    if m == Model::Cable && (parsed.terms[0].is_some() || parsed.terms[1].is_some()) {
        let current = terminations_of(tx.store, id);
        for (end, given) in [('A', &parsed.terms[0]), ('B', &parsed.terms[1])] {
            let Some(given) = given else { continue };
            for (t, e, iface) in current.iter().filter(|(_, e, _)| *e == end) {
                if given.contains(&(Model::Interface, *iface)) {
                    continue;
                }
                // CableTermination.delete(): the interface records the disconnect first.
                let ct_pre = tx.snapshot(Model::CableTermination, *t);
                let repr = tx.repr(Model::CableTermination, *t);
                set_iface_cable(tx, *iface, None, "");
                tx.remove(Model::CableTermination, *t);
                tx.log(
                    "delete",
                    Model::CableTermination,
                    *t,
                    repr,
                    (ct_pre, None),
                    "",
                );
                let _ = e;
            }
            for (mm, iface) in given {
                if current.iter().any(|(_, e, i)| *e == end && i == iface) {
                    continue;
                }
                add_termination(tx, id, end, (*mm, *iface));
            }
        }
    }
    let post = tx.snapshot(m, id);
    let repr = tx.repr(m, id);
    tx.log("update", m, id, repr, (pre, post), &message);
    Ok(())
}

pub use crate::delete::delete;

/// Removes a deleted custom field's values from every object (a queryset update: no records).
pub(crate) fn drop_custom_field_data(tx: &mut Tx, id: Id) {
    let m = Model::CustomField;
    let name = tx
        .store
        .get(m, id)
        .map(|r| r.str(m, "name").to_string())
        .unwrap_or_default();
    for om in Model::ALL {
        let ids: Vec<Id> = tx
            .store
            .iter(om)
            .filter(|r| r.cf.contains_key(&name))
            .map(|r| r.id)
            .collect();
        for oid in ids {
            if let Some(mut r) = tx.store.get(om, oid).cloned() {
                r.cf.remove(&name);
                tx.replace(om, r);
            }
        }
    }
}

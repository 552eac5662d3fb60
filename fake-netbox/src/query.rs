//! List queries: NetBox's filter sets (the filters a sync needs, with django-filter's validation
//! and error texts), orderings (model defaults and `?ordering=`), and pagination (limit/offset and
//! cursor `start`, with DRF's `next`/`previous` links).
//!
//! Pure functions over a read-only store; rendering and HTTP live elsewhere.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::model::{FieldKind, Model};
use crate::net::{self, Net};
use crate::render::cf_defs;
use crate::store::{Id, Rec, SortName, Store};
use crate::util::parse_datetime;

/// Query parameters that are not filters.
pub const CONTROL_PARAMS: &[&str] = &[
    "limit", "offset", "start", "ordering", "brief", "fields", "omit", "format", "exclude",
];

/// A 400 raised while parsing filters: `{param: [messages]}`.
pub type FilterErrors = Map<String, Value>;

fn err(param: &str, msg: impl Into<String>) -> FilterErrors {
    let mut m = Map::new();
    m.insert(
        param.to_string(),
        Value::Array(vec![Value::String(msg.into())]),
    );
    m
}

fn select_err(param: &str, v: &str) -> FilterErrors {
    err(
        param,
        format!("Select a valid choice. {v} is not one of the available choices."),
    )
}

/// A predicate too specific for the other variants.
type Check = Box<dyn Fn(&Store, &Rec) -> bool + Send + Sync>;

/// One parsed filter predicate.
enum Pred {
    Ids(BTreeSet<Id>, bool),
    IdCmp(Ordering, bool, Id),
    Text {
        field: &'static str,
        values: Vec<String>,
        lookup: Lookup,
        negate: bool,
    },
    Empty(&'static str, bool),
    RefIn {
        path: &'static [&'static str],
        ids: BTreeSet<Id>,
        negate: bool,
    },
    RefNull(&'static [&'static str], bool),
    Tags(Vec<Id>),
    TagsNot(Vec<Id>),
    Bool(&'static str, bool),
    Cf {
        name: String,
        ty: String,
        values: Vec<Value>,
        lookup: Lookup,
    },
    CfEmpty(String, bool),
    Time(&'static str, Ordering, bool, Timestamp),
    Q(String),
    Custom(Check),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lookup {
    Exact,
    IExact,
    IContains,
    IStartsWith,
    IEndsWith,
    Regex,
    IRegex,
}

/// Follows a chain of foreign keys from `rec` (e.g. interface → device → site) to an id.
fn follow(store: &Store, m: Model, rec: &Rec, path: &[&str]) -> Option<Id> {
    let mut model = m;
    let mut cur = rec;
    let mut id = None;
    for (n, field) in path.iter().enumerate() {
        let f = model.field(field)?;
        let next = cur.get(model, field).as_u64()?;
        id = Some(next);
        if n + 1 < path.len() {
            let target = match f.kind {
                FieldKind::Fk(t, _) | FieldKind::ReqFk(t, _) => t,
                _ => return None,
            };
            cur = store.get(target, next)?;
            model = target;
        }
    }
    id
}

fn text_match(have: &str, want: &str, lookup: Lookup) -> bool {
    match lookup {
        Lookup::Exact => have == want,
        Lookup::IExact => have.to_lowercase() == want.to_lowercase(),
        Lookup::IContains => have.to_lowercase().contains(&want.to_lowercase()),
        Lookup::IStartsWith => have.to_lowercase().starts_with(&want.to_lowercase()),
        Lookup::IEndsWith => have.to_lowercase().ends_with(&want.to_lowercase()),
        Lookup::Regex => regex::Regex::new(want).is_ok_and(|r| r.is_match(have)),
        Lookup::IRegex => regex::Regex::new(&format!("(?i){want}")).is_ok_and(|r| r.is_match(have)),
    }
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Text fields `?q=` searches, per model.
fn search_fields(m: Model) -> &'static [&'static str] {
    match m {
        Model::Site => &[
            "name",
            "slug",
            "facility",
            "description",
            "physical_address",
            "shipping_address",
            "comments",
        ],
        Model::Manufacturer | Model::DeviceRole | Model::Platform | Model::Tag => {
            &["name", "slug", "description"]
        }
        Model::DeviceType => &["model", "part_number", "description", "comments"],
        Model::Device => &["name", "serial", "asset_tag", "description", "comments"],
        Model::Interface => &["name", "label", "description"],
        Model::Cable => &["label", "description"],
        Model::VirtualChassis => &["name", "domain", "description"],
        Model::MacAddress => &["mac_address", "description"],
        Model::Vrf => &["name", "rd", "description"],
        Model::Prefix => &["prefix", "description"],
        Model::IpAddress => &["address", "dns_name", "description"],
        Model::VlanGroup => &["name", "slug", "description"],
        Model::Vlan => &["name", "description"],
        Model::CustomField => &["name", "label", "description"],
        Model::CustomFieldChoiceSet => &["name", "description"],
        Model::JournalEntry => &["comments"],
        Model::CableTermination => &[],
    }
}

impl Pred {
    fn matches(&self, store: &Store, m: Model, rec: &Rec) -> bool {
        match self {
            Pred::Ids(ids, negate) => ids.contains(&rec.id) != *negate,
            Pred::IdCmp(ord, eq, v) => {
                let c = rec.id.cmp(v);
                c == *ord || (*eq && c == Ordering::Equal)
            }
            Pred::Text {
                field,
                values,
                lookup,
                negate,
            } => {
                let have = value_text(rec.get(m, field));
                let hit = match &have {
                    Some(h) => values.iter().any(|w| text_match(h, w, *lookup)),
                    None => false,
                };
                hit != *negate
            }
            Pred::Empty(field, want) => {
                let v = rec.get(m, field);
                let empty = v.is_null() || v.as_str() == Some("");
                empty == *want
            }
            Pred::RefIn { path, ids, negate } => {
                let hit = follow(store, m, rec, path).is_some_and(|id| ids.contains(&id));
                hit != *negate
            }
            Pred::RefNull(path, want_null) => follow(store, m, rec, path).is_none() == *want_null,
            Pred::Tags(tags) => tags.iter().all(|t| rec.tags.contains(t)),
            Pred::TagsNot(tags) => !tags.iter().any(|t| rec.tags.contains(t)),
            Pred::Bool(field, want) => rec.get(m, field).as_bool() == Some(*want),
            Pred::Cf {
                name,
                ty,
                values,
                lookup,
            } => {
                let have = rec.cf.get(name).unwrap_or(&Value::Null);
                if have.is_null() {
                    return false;
                }
                values.iter().any(|want| match ty.as_str() {
                    "text" | "longtext" | "url" | "select" => {
                        match (have.as_str(), want.as_str()) {
                            (Some(h), Some(w)) => text_match(h, w, *lookup),
                            _ => false,
                        }
                    }
                    "multiselect" => have.as_array().is_some_and(|a| a.iter().any(|x| x == want)),
                    "integer" | "decimal" => match (have.as_f64(), want.as_f64()) {
                        (Some(h), Some(w)) => match lookup {
                            Lookup::Regex => h >= w,
                            Lookup::IRegex => h <= w,
                            _ => (h - w).abs() < f64::EPSILON,
                        },
                        _ => false,
                    },
                    _ => have == want,
                })
            }
            Pred::CfEmpty(name, want) => {
                let v = rec.cf.get(name).unwrap_or(&Value::Null);
                let empty = v.is_null() || v.as_str() == Some("");
                empty == *want
            }
            Pred::Time(field, ord, eq, ts) => {
                let have = if *field == "created" {
                    rec.created
                } else {
                    rec.last_updated
                };
                let c = have.cmp(ts);
                c == *ord || (*eq && c == Ordering::Equal)
            }
            Pred::Q(q) => {
                let q = q.to_lowercase();
                search_fields(m).iter().any(|f| {
                    rec.get(m, f)
                        .as_str()
                        .is_some_and(|s| s.to_lowercase().contains(&q))
                })
            }
            Pred::Custom(f) => f(store, rec),
        }
    }
}

/// Resolves slug/name filter values to ids on `target`, 400 when one does not exist.
fn resolve_values(
    store: &Store,
    target: Model,
    attr: &str,
    param: &str,
    values: &[&str],
) -> Result<BTreeSet<Id>, FilterErrors> {
    let mut out = BTreeSet::new();
    for v in values {
        let hits: Vec<Id> = store
            .iter(target)
            .filter(|r| match attr {
                "id" => v.parse::<u64>().ok() == Some(r.id),
                _ => r.get(target, attr).as_str() == Some(v),
            })
            .map(|r| r.id)
            .collect();
        if hits.is_empty() {
            return Err(select_err(param, v));
        }
        out.extend(hits);
    }
    Ok(out)
}

fn resolve_ids(
    store: &Store,
    target: Model,
    param: &str,
    values: &[&str],
) -> Result<BTreeSet<Id>, FilterErrors> {
    let mut out = BTreeSet::new();
    for v in values {
        if *v == "null" {
            continue;
        }
        let Ok(id) = v.trim().parse::<u64>() else {
            return Err(err(
                param,
                format!("\u{201c}{v}\u{201d} is not a valid value."),
            ));
        };
        if store.get(target, id).is_none() {
            return Err(select_err(param, v));
        }
        out.insert(id);
    }
    Ok(out)
}

fn parse_ids(param: &str, values: &[&str]) -> Result<Vec<Id>, FilterErrors> {
    values
        .iter()
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| err(param, "Enter a whole number."))
        })
        .collect()
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A relation filter: `site` (slug) / `site_id` style pairs, reached through `path`.
struct RelFilter {
    name: &'static str,
    target: Model,
    attr: &'static str,
    path: &'static [&'static str],
}

const fn rel(
    name: &'static str,
    target: Model,
    attr: &'static str,
    path: &'static [&'static str],
) -> RelFilter {
    RelFilter {
        name,
        target,
        attr,
        path,
    }
}

/// Relation filters per model. `attr == "id"` means the filter takes ids.
fn relation_filters(m: Model) -> &'static [RelFilter] {
    use Model::*;
    match m {
        DeviceType => {
            const RELATIONS: &[RelFilter] = &[
                rel("manufacturer", Manufacturer, "slug", &["manufacturer"]),
                rel("manufacturer_id", Manufacturer, "id", &["manufacturer"]),
                rel("default_platform", Platform, "slug", &["default_platform"]),
                rel("default_platform_id", Platform, "id", &["default_platform"]),
            ];
            RELATIONS
        }
        DeviceRole => {
            const RELATIONS: &[RelFilter] = &[
                rel("parent", DeviceRole, "slug", &["parent"]),
                rel("parent_id", DeviceRole, "id", &["parent"]),
            ];
            RELATIONS
        }
        Platform => {
            const RELATIONS: &[RelFilter] = &[
                rel("manufacturer", Manufacturer, "slug", &["manufacturer"]),
                rel("manufacturer_id", Manufacturer, "id", &["manufacturer"]),
                rel("parent", Platform, "slug", &["parent"]),
                rel("parent_id", Platform, "id", &["parent"]),
            ];
            RELATIONS
        }
        Device => {
            const RELATIONS: &[RelFilter] = &[
                rel("site", Site, "slug", &["site"]),
                rel("site_id", Site, "id", &["site"]),
                rel("role", DeviceRole, "slug", &["role"]),
                rel("role_id", DeviceRole, "id", &["role"]),
                rel("device_type", DeviceType, "slug", &["device_type"]),
                rel("device_type_id", DeviceType, "id", &["device_type"]),
                rel(
                    "manufacturer",
                    Manufacturer,
                    "slug",
                    &["device_type", "manufacturer"],
                ),
                rel(
                    "manufacturer_id",
                    Manufacturer,
                    "id",
                    &["device_type", "manufacturer"],
                ),
                rel("platform", Platform, "slug", &["platform"]),
                rel("platform_id", Platform, "id", &["platform"]),
                rel(
                    "virtual_chassis_id",
                    VirtualChassis,
                    "id",
                    &["virtual_chassis"],
                ),
                rel(
                    "virtual_chassis",
                    VirtualChassis,
                    "name",
                    &["virtual_chassis"],
                ),
            ];
            RELATIONS
        }
        Interface => {
            const RELATIONS: &[RelFilter] = &[
                rel("device", Device, "name", &["device"]),
                rel("device_id", Device, "id", &["device"]),
                rel("site", Site, "slug", &["device", "site"]),
                rel("site_id", Site, "id", &["device", "site"]),
                rel("device_role", DeviceRole, "slug", &["device", "role"]),
                rel("device_role_id", DeviceRole, "id", &["device", "role"]),
                rel(
                    "device_type",
                    DeviceType,
                    "slug",
                    &["device", "device_type"],
                ),
                rel(
                    "device_type_id",
                    DeviceType,
                    "id",
                    &["device", "device_type"],
                ),
                rel(
                    "virtual_chassis_id",
                    VirtualChassis,
                    "id",
                    &["device", "virtual_chassis"],
                ),
                rel("lag_id", Interface, "id", &["lag"]),
                rel("parent_id", Interface, "id", &["parent"]),
                rel("bridge_id", Interface, "id", &["bridge"]),
                rel("cable_id", Cable, "id", &["cable"]),
                rel("vrf_id", Vrf, "id", &["vrf"]),
                rel(
                    "primary_mac_address_id",
                    MacAddress,
                    "id",
                    &["primary_mac_address"],
                ),
            ];
            RELATIONS
        }
        VirtualChassis => {
            const RELATIONS: &[RelFilter] = &[
                rel("master_id", Device, "id", &["master"]),
                rel("master", Device, "name", &["master"]),
                rel("site", Site, "slug", &["master", "site"]),
                rel("site_id", Site, "id", &["master", "site"]),
            ];
            RELATIONS
        }
        Prefix => {
            const RELATIONS: &[RelFilter] = &[
                rel("vrf", Vrf, "rd", &["vrf"]),
                rel("vrf_id", Vrf, "id", &["vrf"]),
                rel("vlan_id", Vlan, "id", &["vlan"]),
            ];
            RELATIONS
        }
        IpAddress => {
            const RELATIONS: &[RelFilter] = &[
                rel("vrf", Vrf, "rd", &["vrf"]),
                rel("vrf_id", Vrf, "id", &["vrf"]),
                rel("nat_inside_id", IpAddress, "id", &["nat_inside"]),
            ];
            RELATIONS
        }
        Vlan => {
            const RELATIONS: &[RelFilter] = &[
                rel("site", Site, "slug", &["site"]),
                rel("site_id", Site, "id", &["site"]),
                rel("group", VlanGroup, "slug", &["group"]),
                rel("group_id", VlanGroup, "id", &["group"]),
            ];
            RELATIONS
        }
        CustomField => {
            const RELATIONS: &[RelFilter] = &[rel(
                "choice_set_id",
                CustomFieldChoiceSet,
                "id",
                &["choice_set"],
            )];
            RELATIONS
        }
        CableTermination => {
            const RELATIONS: &[RelFilter] = &[
                rel("cable_id", Cable, "id", &["cable"]),
                rel("cable", Cable, "id", &["cable"]),
            ];
            RELATIONS
        }
        _ => {
            const RELATIONS: &[RelFilter] = &[];
            RELATIONS
        }
    }
}

/// Text (CharField) filters per model; `IExact` marks NetBox's case-insensitive `name` on devices.
fn text_filters(m: Model) -> &'static [(&'static str, Lookup)] {
    use Lookup::*;
    match m {
        Model::Site
        | Model::Manufacturer
        | Model::DeviceRole
        | Model::Platform
        | Model::Tag
        | Model::VlanGroup => &[("name", Exact), ("slug", Exact), ("description", Exact)],
        Model::DeviceType => &[
            ("model", Exact),
            ("slug", Exact),
            ("part_number", Exact),
            ("description", Exact),
        ],
        Model::Device => &[
            ("name", IExact),
            ("serial", IExact),
            ("asset_tag", Exact),
            ("description", Exact),
        ],
        Model::Interface => &[
            ("name", Exact),
            ("label", Exact),
            ("description", Exact),
            ("wwn", Exact),
        ],
        Model::Cable => &[("label", Exact), ("color", Exact), ("description", Exact)],
        Model::VirtualChassis => &[("name", Exact), ("domain", Exact), ("description", Exact)],
        Model::MacAddress => &[("description", Exact)],
        Model::Vrf => &[("name", Exact), ("rd", Exact), ("description", Exact)],
        Model::Prefix => &[("description", Exact)],
        Model::IpAddress => &[("dns_name", Exact), ("description", Exact)],
        Model::Vlan => &[("name", Exact), ("description", Exact)],
        Model::CustomField => &[
            ("name", Exact),
            ("label", Exact),
            ("group_name", Exact),
            ("description", Exact),
        ],
        Model::CustomFieldChoiceSet => &[("name", Exact), ("description", Exact)],
        Model::JournalEntry => &[("comments", Exact)],
        Model::CableTermination => &[],
    }
}

/// Choice filters per model.
fn choice_filters(m: Model) -> &'static [&'static str] {
    match m {
        Model::Site
        | Model::Device
        | Model::Cable
        | Model::Prefix
        | Model::IpAddress
        | Model::Vlan => &[
            "status",
            "type",
            "role",
            "face",
            "airflow",
            "length_unit",
            "qinq_role",
        ],
        Model::Interface => &[
            "type",
            "mode",
            "duplex",
            "poe_mode",
            "poe_type",
            "rf_role",
            "rf_channel",
        ],
        Model::DeviceType => &["airflow", "subdevice_role", "weight_unit"],
        Model::CustomField => &["type", "filter_logic", "ui_visible", "ui_editable"],
        Model::JournalEntry => &["kind"],
        Model::CableTermination => &["cable_end"],
        _ => &[],
    }
}

fn bool_filters(m: Model) -> &'static [&'static str] {
    match m {
        Model::Interface => &["enabled", "mgmt_only", "mark_connected"],
        Model::Prefix => &["is_pool", "mark_utilized"],
        Model::Vrf => &["enforce_unique"],
        Model::DeviceType => &["is_full_depth", "exclude_from_utilization"],
        Model::DeviceRole => &["vm_role"],
        Model::CustomField => &["required", "unique", "is_cloneable"],
        Model::CustomFieldChoiceSet => &["order_alphabetically"],
        _ => &[],
    }
}

fn lookup_of(suffix: &str) -> Option<(Lookup, bool)> {
    Some(match suffix {
        "" => (Lookup::Exact, false),
        "n" => (Lookup::Exact, true),
        "ie" => (Lookup::IExact, false),
        "nie" => (Lookup::IExact, true),
        "ic" => (Lookup::IContains, false),
        "nic" => (Lookup::IContains, true),
        "isw" => (Lookup::IStartsWith, false),
        "nisw" => (Lookup::IStartsWith, true),
        "iew" => (Lookup::IEndsWith, false),
        "niew" => (Lookup::IEndsWith, true),
        "regex" => (Lookup::Regex, false),
        "iregex" => (Lookup::IRegex, false),
        _ => return None,
    })
}

/// A parsed set of filters for one model.
pub struct Filters {
    preds: Vec<Pred>,
    /// Parameters that shaped the result (for the query cache key), sorted.
    pub key: Vec<(String, String)>,
}

impl Filters {
    pub fn matches(&self, store: &Store, m: Model, rec: &Rec) -> bool {
        self.preds.iter().all(|p| p.matches(store, m, rec))
    }
}

/// Groups query pairs by name, keeping value order.
pub fn grouped(params: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in params {
        match out.iter_mut().find(|(n, _)| n == k) {
            Some((_, vals)) => vals.push(v.clone()),
            None => out.push((k.clone(), vec![v.clone()])),
        }
    }
    out
}

fn split_lookup(name: &str) -> (&str, &str) {
    match name.rsplit_once("__") {
        Some((base, suffix)) => (base, suffix),
        None => (name, ""),
    }
}

/// Parses the filter parameters of a list request on `m`.
pub fn parse_filters(
    store: &Store,
    m: Model,
    params: &[(String, String)],
) -> Result<Filters, FilterErrors> {
    let mut preds = Vec::new();
    let mut key: Vec<(String, String)> = Vec::new();
    let cfs = cf_defs(store, m);
    for (name, values) in grouped(params) {
        if CONTROL_PARAMS.contains(&name.as_str()) {
            continue;
        }
        let vals: Vec<&str> = values.iter().map(String::as_str).collect();
        let before = preds.len();
        parse_one(store, m, &name, &vals, &cfs, &mut preds)?;
        if preds.len() != before {
            for v in &values {
                key.push((name.clone(), v.clone()));
            }
        }
    }
    key.sort();
    Ok(Filters { preds, key })
}

#[allow(clippy::too_many_lines)]
fn parse_one(
    store: &Store,
    m: Model,
    name: &str,
    vals: &[&str],
    cfs: &[crate::render::CfDef],
    preds: &mut Vec<Pred>,
) -> Result<(), FilterErrors> {
    let (base, suffix) = split_lookup(name);
    // id, id__n, id__gt, ...
    if base == "id" && matches!(suffix, "" | "n" | "gt" | "gte" | "lt" | "lte") {
        let ids = parse_ids(name, vals)?;
        match suffix {
            "" => preds.push(Pred::Ids(ids.into_iter().collect(), false)),
            "n" => preds.push(Pred::Ids(ids.into_iter().collect(), true)),
            "gt" | "gte" | "lt" | "lte" => {
                let v = *ids.last().unwrap_or(&0);
                let (ord, eq) = match suffix {
                    "gt" => (Ordering::Greater, false),
                    "gte" => (Ordering::Greater, true),
                    "lt" => (Ordering::Less, false),
                    _ => (Ordering::Less, true),
                };
                preds.push(Pred::IdCmp(ord, eq, v));
            }
            _ => {}
        }
        return Ok(());
    }
    if name == "q" {
        if let Some(q) = vals.last().filter(|q| !q.trim().is_empty()) {
            let q = q.trim().to_string();
            match m {
                Model::Prefix | Model::IpAddress => {
                    let field = if m == Model::Prefix {
                        "prefix"
                    } else {
                        "address"
                    };
                    let qq = q.clone();
                    preds.push(Pred::Custom(Box::new(move |_, rec| {
                        rec.str(m, field).starts_with(&qq)
                            || rec
                                .str(m, "description")
                                .to_lowercase()
                                .contains(&qq.to_lowercase())
                    })));
                }
                _ => preds.push(Pred::Q(q)),
            }
        }
        return Ok(());
    }
    if matches!(base, "created" | "last_updated") {
        let field = if base == "created" {
            "created"
        } else {
            "last_updated"
        };
        let (ord, eq) = match suffix {
            "" => (Ordering::Equal, true),
            "gte" => (Ordering::Greater, true),
            "gt" => (Ordering::Greater, false),
            "lte" => (Ordering::Less, true),
            "lt" => (Ordering::Less, false),
            _ => return Ok(()),
        };
        for v in vals {
            let Some(ts) = parse_datetime(v) else {
                return Err(err(name, "Enter a valid date/time."));
            };
            preds.push(Pred::Time(field, ord, eq, ts));
        }
        return Ok(());
    }
    if base == "tag" || base == "tag_id" {
        let ids: Vec<Id> = if base == "tag" {
            let mut out = Vec::new();
            for v in vals {
                let id = store
                    .iter(Model::Tag)
                    .find(|t| t.str(Model::Tag, "slug") == *v)
                    .map(|t| t.id)
                    .ok_or_else(|| select_err(name, v))?;
                out.push(id);
            }
            out
        } else {
            resolve_ids(store, Model::Tag, name, vals)?
                .into_iter()
                .collect()
        };
        if !m.has_tags() {
            return Ok(());
        }
        match suffix {
            "" | "id" => preds.push(Pred::Tags(ids)),
            "n" => preds.push(Pred::TagsNot(ids)),
            _ => {}
        }
        return Ok(());
    }
    if let Some(cf_name) = base.strip_prefix("cf_") {
        let Some(def) = cfs.iter().find(|d| d.name == cf_name) else {
            return Ok(());
        };
        if def.filter_logic == "disabled" {
            return Ok(());
        }
        if suffix == "empty" {
            if let Some(b) = vals.last().and_then(|v| parse_bool(v)) {
                preds.push(Pred::CfEmpty(def.name.clone(), b));
            }
            return Ok(());
        }
        let mut values = Vec::new();
        for v in vals {
            let parsed = match def.ty.as_str() {
                "integer" => match v.trim().parse::<i64>() {
                    Ok(i) => Value::from(i),
                    Err(_) => return Err(err(name, "Enter a whole number.")),
                },
                "decimal" => match v.trim().parse::<f64>() {
                    Ok(f) => Value::from(f),
                    Err(_) => return Err(err(name, "Enter a number.")),
                },
                "boolean" => match parse_bool(v) {
                    Some(b) => Value::Bool(b),
                    None => return Ok(()),
                },
                _ => Value::String(v.to_string()),
            };
            values.push(parsed);
        }
        let loose = def.filter_logic == "loose";
        let lookup = match (def.ty.as_str(), suffix) {
            ("integer" | "decimal", "gte") => Lookup::Regex,
            ("integer" | "decimal", "lte") => Lookup::IRegex,
            ("text" | "longtext" | "url", "") if loose => Lookup::IContains,
            (_, "ic") => Lookup::IContains,
            (_, "isw") => Lookup::IStartsWith,
            (_, "iew") => Lookup::IEndsWith,
            (_, "ie") => Lookup::IExact,
            (_, "") => Lookup::Exact,
            _ => return Ok(()),
        };
        preds.push(Pred::Cf {
            name: def.name.clone(),
            ty: def.ty.clone(),
            values,
            lookup,
        });
        return Ok(());
    }
    for r in relation_filters(m) {
        let (rbase, rsuffix) = split_lookup(name);
        let negate = if r.name == name {
            false
        } else if r.name == rbase && rsuffix == "n" {
            true
        } else {
            continue;
        };
        let wants_null = vals.contains(&"null");
        let ids = if r.attr == "id" {
            resolve_ids(store, r.target, name, vals)?
        } else {
            let non_null: Vec<&str> = vals.iter().copied().filter(|v| *v != "null").collect();
            resolve_values(store, r.target, r.attr, name, &non_null)?
        };
        if wants_null && ids.is_empty() {
            preds.push(Pred::RefNull(r.path, !negate));
        } else if wants_null {
            let path = r.path;
            let set = ids.clone();
            preds.push(Pred::Custom(Box::new(move |s, rec| {
                let v = follow(s, m, rec, path);
                (v.is_none() || v.is_some_and(|i| set.contains(&i))) != negate
            })));
        } else {
            preds.push(Pred::RefIn {
                path: r.path,
                ids,
                negate,
            });
        }
        return Ok(());
    }
    for (field, lookup) in text_filters(m) {
        if base != *field && name != *field {
            continue;
        }
        let sfx = if name == *field { "" } else { suffix };
        if sfx == "empty" {
            if let Some(b) = vals.last().and_then(|v| parse_bool(v)) {
                preds.push(Pred::Empty(field, b));
            }
            return Ok(());
        }
        let Some((lk, negate)) = lookup_of(sfx) else {
            return Ok(());
        };
        let lk = if sfx.is_empty() || sfx == "n" {
            *lookup
        } else {
            lk
        };
        preds.push(Pred::Text {
            field,
            values: vals.iter().map(|s| s.to_string()).collect(),
            lookup: lk,
            negate,
        });
        return Ok(());
    }
    for field in choice_filters(m) {
        if base != *field && name != *field {
            continue;
        }
        let Some(f) = m.field(field) else { continue };
        let FieldKind::Choice { set, .. } = f.kind else {
            continue;
        };
        let sfx = if name == *field { "" } else { suffix };
        if sfx == "empty" {
            if let Some(b) = vals.last().and_then(|v| parse_bool(v)) {
                preds.push(Pred::Empty(field, b));
            }
            return Ok(());
        }
        if !matches!(sfx, "" | "n") {
            return Ok(());
        }
        for v in vals {
            if *v != "null" && set.label(v).is_none() {
                return Err(select_err(name, v));
            }
        }
        preds.push(Pred::Text {
            field,
            values: vals.iter().map(|s| s.to_string()).collect(),
            lookup: Lookup::Exact,
            negate: sfx == "n",
        });
        return Ok(());
    }
    for field in bool_filters(m) {
        if name == *field {
            if let Some(b) = vals.last().and_then(|v| parse_bool(v)) {
                preds.push(Pred::Bool(field, b));
            }
            return Ok(());
        }
    }
    special(store, m, name, vals, preds)
}

fn iface_device_of(store: &Store, iface: Id) -> Option<Id> {
    store
        .get(Model::Interface, iface)?
        .id_of(Model::Interface, "device")
}

/// Devices with an interface whose primary MAC is one of `macs`.
fn devices_by_mac(store: &Store, macs: &[String]) -> BTreeSet<Id> {
    ifaces_by_mac(store, macs)
        .into_iter()
        .filter_map(|i| iface_device_of(store, i))
        .collect()
}

fn ifaces_by_mac(store: &Store, macs: &[String]) -> BTreeSet<Id> {
    store
        .iter(Model::MacAddress)
        .filter(|r| {
            macs.iter()
                .any(|m| m == r.str(Model::MacAddress, "mac_address"))
        })
        .filter(|r| r.str(Model::MacAddress, "assigned_object_type") == "dcim.interface")
        .filter_map(|r| r.id_of(Model::MacAddress, "assigned_object_id"))
        .collect()
}

#[allow(clippy::too_many_lines)]
fn special(
    store: &Store,
    m: Model,
    name: &str,
    vals: &[&str],
    preds: &mut Vec<Pred>,
) -> Result<(), FilterErrors> {
    let first = vals.last().copied().unwrap_or("");
    match (m, name) {
        (Model::Device, "has_primary_ip") => {
            if let Some(b) = parse_bool(first) {
                preds.push(Pred::Custom(Box::new(move |_, r| {
                    let has = r.id_of(Model::Device, "primary_ip4").is_some()
                        || r.id_of(Model::Device, "primary_ip6").is_some();
                    has == b
                })));
            }
        }
        (Model::Device | Model::Interface, "mac_address") => {
            let macs: Vec<String> = vals.iter().filter_map(|v| net::parse_mac(v).ok()).collect();
            let set = if m == Model::Device {
                devices_by_mac(store, &macs)
            } else {
                ifaces_by_mac(store, &macs)
            };
            preds.push(Pred::Ids(set, false));
        }
        (Model::Device, "vc_position")
        | (Model::Vlan, "vid")
        | (Model::CableTermination, "termination_id") => {
            let field = match name {
                "vc_position" => "vc_position",
                "vid" => "vid",
                _ => "termination_id",
            };
            let nums = parse_ids(name, vals)?;
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.get(m, field).as_u64().is_some_and(|v| nums.contains(&v))
            })));
        }
        (Model::Interface, "cabled") => {
            if let Some(b) = parse_bool(first) {
                preds.push(Pred::Custom(Box::new(move |_, r| {
                    r.id_of(Model::Interface, "cable").is_some() == b
                })));
            }
        }
        (Model::Interface, "connected") => {
            if let Some(b) = parse_bool(first) {
                preds.push(Pred::Custom(Box::new(move |s, r| {
                    let connected = r
                        .id_of(Model::Interface, "cable")
                        .and_then(|c| s.get(Model::Cable, c))
                        .is_some_and(|c| c.str(Model::Cable, "status") == "connected");
                    connected == b
                })));
            }
        }
        (Model::Interface, "kind") => {
            let kind = first.to_string();
            preds.push(Pred::Custom(Box::new(move |_, r| {
                let ty = r.str(Model::Interface, "type");
                let virtual_ = matches!(ty, "virtual" | "bridge" | "lag");
                let wireless = ty.starts_with("ieee802.11") || ty.starts_with("other-wireless");
                match kind.as_str() {
                    "virtual" => virtual_,
                    "wireless" => wireless,
                    "physical" => !virtual_ && !wireless,
                    _ => true,
                }
            })));
        }
        (Model::Interface, "vlan_id" | "vlan") => {
            let ids: Vec<Id> = if name == "vlan_id" {
                parse_ids(name, vals)?
            } else {
                let vids: Vec<u64> = parse_ids(name, vals)?;
                store
                    .iter(Model::Vlan)
                    .filter(|v| {
                        v.get(Model::Vlan, "vid")
                            .as_u64()
                            .is_some_and(|x| vids.contains(&x))
                    })
                    .map(|v| v.id)
                    .collect()
            };
            preds.push(Pred::Custom(Box::new(move |_, r| {
                let i = Model::Interface;
                let untagged = r
                    .id_of(i, "untagged_vlan")
                    .is_some_and(|v| ids.contains(&v));
                let tagged = r.get(i, "tagged_vlans").as_array().is_some_and(|a| {
                    a.iter()
                        .any(|v| v.as_u64().is_some_and(|v| ids.contains(&v)))
                });
                untagged || tagged
            })));
        }
        (
            Model::Cable,
            "device_id" | "device" | "site_id" | "site" | "termination_a_id" | "termination_b_id"
            | "interface_id",
        ) => {
            let devices: BTreeSet<Id> = match name {
                "device_id" => resolve_ids(store, Model::Device, name, vals)?,
                "device" => {
                    let mut out = BTreeSet::new();
                    for v in vals {
                        out.extend(
                            store
                                .iter(Model::Device)
                                .filter(|d| d.get(Model::Device, "name").as_str() == Some(v))
                                .map(|d| d.id),
                        );
                    }
                    out
                }
                "site_id" | "site" => {
                    let sites = if name == "site_id" {
                        resolve_ids(store, Model::Site, name, vals)?
                    } else {
                        resolve_values(store, Model::Site, "slug", name, vals)?
                    };
                    sites
                        .iter()
                        .flat_map(|s| {
                            store
                                .referrers(Model::Device, "site", *s)
                                .collect::<Vec<_>>()
                        })
                        .collect()
                }
                _ => BTreeSet::new(),
            };
            let ifaces: Option<BTreeSet<Id>> = match name {
                "termination_a_id" | "termination_b_id" | "interface_id" => {
                    Some(parse_ids(name, vals)?.into_iter().collect())
                }
                _ => None,
            };
            let end = match name {
                "termination_a_id" => Some("A"),
                "termination_b_id" => Some("B"),
                _ => None,
            };
            preds.push(Pred::Custom(Box::new(move |s, r| {
                s.referrers(Model::CableTermination, "cable", r.id)
                    .any(|t| {
                        let Some(t) = s.get(Model::CableTermination, t) else {
                            return false;
                        };
                        if let Some(e) = end
                            && t.str(Model::CableTermination, "cable_end") != e
                        {
                            return false;
                        }
                        let Some(iface) = t.id_of(Model::CableTermination, "termination_id") else {
                            return false;
                        };
                        match &ifaces {
                            Some(set) => set.contains(&iface),
                            None => iface_device_of(s, iface).is_some_and(|d| devices.contains(&d)),
                        }
                    })
            })));
        }
        (Model::MacAddress | Model::IpAddress | Model::JournalEntry, "assigned_object_type")
        | (Model::Prefix | Model::VlanGroup, "scope_type")
        | (Model::CableTermination, "termination_type") => {
            let field = match name {
                "scope_type" => "scope_type",
                "termination_type" => "termination_type",
                _ => "assigned_object_type",
            };
            for v in vals {
                if crate::model::content_type_id(v).is_none() {
                    return Err(select_err(name, v));
                }
            }
            preds.push(Pred::Text {
                field,
                values: vals.iter().map(|s| s.to_string()).collect(),
                lookup: Lookup::Exact,
                negate: false,
            });
        }
        (Model::MacAddress | Model::IpAddress | Model::JournalEntry, "assigned_object_id")
        | (Model::Prefix | Model::VlanGroup, "scope_id") => {
            let field = if name == "scope_id" {
                "scope_id"
            } else {
                "assigned_object_id"
            };
            let ids = parse_ids(name, vals)?;
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.get(m, field).as_u64().is_some_and(|v| ids.contains(&v))
            })));
        }
        (
            Model::MacAddress | Model::IpAddress,
            "interface_id" | "interface" | "device_id" | "device",
        ) => {
            let ifaces: BTreeSet<Id> = match name {
                "interface_id" => parse_ids(name, vals)?.into_iter().collect(),
                "interface" => store
                    .iter(Model::Interface)
                    .filter(|i| vals.contains(&i.str(Model::Interface, "name")))
                    .map(|i| i.id)
                    .collect(),
                "device_id" => {
                    let devs = parse_ids(name, vals)?;
                    devs.iter()
                        .flat_map(|d| {
                            store
                                .referrers(Model::Interface, "device", *d)
                                .collect::<Vec<_>>()
                        })
                        .collect()
                }
                _ => {
                    let devs: Vec<Id> = store
                        .iter(Model::Device)
                        .filter(|d| {
                            d.get(Model::Device, "name")
                                .as_str()
                                .is_some_and(|n| vals.contains(&n))
                        })
                        .map(|d| d.id)
                        .collect();
                    devs.iter()
                        .flat_map(|d| {
                            store
                                .referrers(Model::Interface, "device", *d)
                                .collect::<Vec<_>>()
                        })
                        .collect()
                }
            };
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.str(m, "assigned_object_type") == "dcim.interface"
                    && r.get(m, "assigned_object_id")
                        .as_u64()
                        .is_some_and(|i| ifaces.contains(&i))
            })));
        }
        (Model::MacAddress | Model::IpAddress, "assigned") => {
            if let Some(b) = parse_bool(first) {
                preds.push(Pred::Custom(Box::new(move |_, r| {
                    r.get(m, "assigned_object_id").is_null() != b
                })));
            }
        }
        (Model::MacAddress, "mac_address") => {
            let macs: Vec<String> = vals.iter().filter_map(|v| net::parse_mac(v).ok()).collect();
            preds.push(Pred::Custom(Box::new(move |_, r| {
                macs.iter()
                    .any(|x| x == r.str(Model::MacAddress, "mac_address"))
            })));
        }
        (Model::Prefix | Model::IpAddress | Model::VlanGroup, "site_id" | "site")
            if m != Model::VlanGroup || name == "site_id" =>
        {
            let sites = if name == "site_id" {
                resolve_ids(store, Model::Site, name, vals)?
            } else {
                resolve_values(store, Model::Site, "slug", name, vals)?
            };
            if m == Model::IpAddress {
                return Ok(());
            }
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.str(m, "scope_type") == "dcim.site"
                    && r.get(m, "scope_id")
                        .as_u64()
                        .is_some_and(|v| sites.contains(&v))
            })));
        }
        (Model::VlanGroup, "site") => {
            let ids = parse_ids(name, vals)?;
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.str(m, "scope_type") == "dcim.site"
                    && r.get(m, "scope_id")
                        .as_u64()
                        .is_some_and(|v| ids.contains(&v))
            })));
        }
        (Model::Prefix, "prefix") | (Model::IpAddress, "address") => {
            let field = if m == Model::Prefix {
                "prefix"
            } else {
                "address"
            };
            let nets: Vec<Net> = vals.iter().filter_map(|v| net::parse_any(v)).collect();
            let bare: Vec<bool> = vals.iter().map(|v| !v.contains('/')).collect();
            preds.push(Pred::Custom(Box::new(move |_, r| {
                let Some(have) = net::parse_any(r.str(m, field)) else {
                    return false;
                };
                nets.iter()
                    .zip(&bare)
                    .any(|(n, b)| if *b { n.addr == have.addr } else { *n == have })
            })));
        }
        (Model::Prefix, "within" | "within_include" | "contains")
        | (Model::IpAddress, "parent") => {
            let Some(target) = net::parse_any(first) else {
                return Ok(());
            };
            let field = if m == Model::Prefix {
                "prefix"
            } else {
                "address"
            };
            let mode = name.to_string();
            preds.push(Pred::Custom(Box::new(move |_, r| {
                let Some(have) = net::parse_any(r.str(m, field)) else {
                    return false;
                };
                match mode.as_str() {
                    "within" => target.strictly_contains(&have),
                    "contains" => have.contains(&target),
                    _ => target.contains(&Net {
                        addr: have.addr,
                        len: have.len.max(target.len),
                    }),
                }
            })));
        }
        (Model::Prefix | Model::IpAddress, "family") => {
            let fam: Option<u8> = first.parse().ok();
            let field = if m == Model::Prefix {
                "prefix"
            } else {
                "address"
            };
            if let Some(fam) = fam {
                preds.push(Pred::Custom(Box::new(move |_, r| {
                    net::parse_any(r.str(m, field)).is_some_and(|n| n.family() == fam)
                })));
            }
        }
        (Model::Prefix | Model::IpAddress, "mask_length") => {
            let lens = parse_ids(name, vals)?;
            let field = if m == Model::Prefix {
                "prefix"
            } else {
                "address"
            };
            preds.push(Pred::Custom(Box::new(move |_, r| {
                net::parse_any(r.str(m, field)).is_some_and(|n| lens.contains(&(n.len as u64)))
            })));
        }
        (Model::CustomField, "object_type" | "object_types") => {
            let wanted: Vec<String> = vals.iter().map(|s| s.to_string()).collect();
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.get(Model::CustomField, "object_types")
                    .as_array()
                    .is_some_and(|a| {
                        a.iter()
                            .any(|t| t.as_str().is_some_and(|t| wanted.iter().any(|w| w == t)))
                    })
            })));
        }
        (Model::Tag, "for_object_type_id" | "content_type_id") => {}
        (Model::JournalEntry, "created_by_id") => {
            let ids = parse_ids(name, vals)?;
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.get(Model::JournalEntry, "created_by")
                    .as_u64()
                    .is_some_and(|v| ids.contains(&v))
            })));
        }
        (Model::JournalEntry, "created_after" | "created_before") => {
            let Some(ts) = parse_datetime(first) else {
                return Err(err("created", "Enter a valid date/time."));
            };
            let after = name == "created_after";
            preds.push(Pred::Time(
                "created",
                if after {
                    Ordering::Greater
                } else {
                    Ordering::Less
                },
                true,
                ts,
            ));
        }
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Ordering
// ---------------------------------------------------------------------------------------------

/// One component of a sort key. Nulls compare last.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    Val(Val),
    Null,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Val {
    Int(i64),
    Float(u64),
    Bytes(Box<str>),
    Net(u8, u128, u8),
    Name(SortName),
}

fn float_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

fn net_val(n: Net) -> Val {
    let bits = match n.addr {
        std::net::IpAddr::V4(a) => u32::from(a) as u128,
        std::net::IpAddr::V6(a) => u128::from(a),
    };
    Val::Net(n.family(), bits, n.len)
}

/// The parts of the sort key of `rec` for one ordering field.
fn field_parts(store: &Store, m: Model, rec: &Rec, field: &str, depth: u8) -> Vec<Part> {
    if field == "id" || field == "pk" {
        return vec![Part::Val(Val::Int(rec.id as i64))];
    }
    if field == "created" {
        return vec![Part::Val(Val::Int(rec.created.as_microsecond()))];
    }
    if field == "last_updated" {
        return vec![Part::Val(Val::Int(rec.last_updated.as_microsecond()))];
    }
    let Some(f) = m.field(field) else {
        return Vec::new();
    };
    let raw = rec.get(m, field);
    match f.kind {
        FieldKind::Fk(target, _) | FieldKind::ReqFk(target, _) => {
            match raw.as_u64().and_then(|id| store.get(target, id)) {
                Some(r) if depth < 2 => default_key(store, target, r, depth + 1),
                Some(r) => vec![Part::Val(Val::Int(r.id as i64))],
                None => vec![Part::Null],
            }
        }
        FieldKind::Network | FieldKind::Address => match net::parse_any(raw.as_str().unwrap_or(""))
        {
            Some(n) => vec![Part::Val(net_val(n))],
            None => vec![Part::Null],
        },
        _ => match raw {
            Value::Null => vec![Part::Null],
            Value::Number(n) => match n.as_i64() {
                Some(i) => vec![Part::Val(Val::Int(i))],
                None => vec![Part::Val(Val::Float(float_key(n.as_f64().unwrap_or(0.0))))],
            },
            Value::Bool(b) => vec![Part::Val(Val::Int(i64::from(*b)))],
            Value::String(s) => {
                if field == "name" && !matches!(rec.sort, SortName::None | SortName::Bytes(_)) {
                    vec![Part::Val(Val::Name(rec.sort.clone()))]
                } else {
                    vec![Part::Val(Val::Bytes(s.as_str().into()))]
                }
            }
            other => vec![Part::Val(Val::Bytes(other.to_string().into()))],
        },
    }
}

/// The model's default ordering key (Django `Meta.ordering`).
pub fn default_key(store: &Store, m: Model, rec: &Rec, depth: u8) -> Vec<Part> {
    let fp = |f: &str| field_parts(store, m, rec, f, depth);
    let id = Part::Val(Val::Int(rec.id as i64));
    let mut k: Vec<Part> = match m {
        Model::Device | Model::Site | Model::Vrf | Model::VlanGroup | Model::VirtualChassis => {
            let mut k = match &rec.sort {
                SortName::None => vec![Part::Null],
                s => vec![Part::Val(Val::Name(s.clone()))],
            };
            if m == Model::Vrf {
                k.extend(fp("rd"));
            }
            k
        }
        Model::Interface => {
            let mut k = fp("device");
            if let Some(d) = rec.id_of(m, "device") {
                k.push(Part::Val(Val::Int(d as i64)));
            }
            k.push(match &rec.sort {
                SortName::Bytes(b) => Part::Val(Val::Bytes(b.clone())),
                _ => Part::Null,
            });
            k
        }
        Model::DeviceType => {
            let mut k = fp("manufacturer");
            k.extend(fp("model"));
            k
        }
        Model::Prefix => {
            let mut k = match rec.id_of(m, "vrf") {
                None => vec![Part::Val(Val::Int(i64::MIN))],
                Some(_) => fp("vrf"),
            };
            k.extend(fp("prefix"));
            k
        }
        Model::IpAddress => fp("address"),
        Model::MacAddress => fp("mac_address"),
        Model::Vlan => {
            let mut k = fp("site");
            k.extend(fp("group"));
            k.extend(fp("vid"));
            k
        }
        Model::Tag => {
            let mut k = fp("weight");
            k.extend(fp("name"));
            k
        }
        Model::CustomField => {
            let mut k = fp("group_name");
            k.extend(fp("weight"));
            k.extend(fp("name"));
            k
        }
        Model::CableTermination => {
            let mut k = fp("cable");
            k.extend(fp("cable_end"));
            k
        }
        Model::Cable => Vec::new(),
        Model::JournalEntry => vec![
            Part::Val(Val::Int(-(rec.created.as_microsecond()))),
            Part::Val(Val::Int(-(rec.id as i64))),
        ],
        _ => fp("name"),
    };
    k.push(id);
    k
}

/// An `?ordering=` clause: fields with direction.
pub fn parse_ordering(m: Model, spec: &str) -> Vec<(String, bool)> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            let (desc, name) = match s.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, s),
            };
            let known = matches!(name, "id" | "pk" | "created" | "last_updated")
                || m.field(name).is_some_and(|f| {
                    f.is(crate::model::FULL)
                        && !matches!(
                            f.kind,
                            FieldKind::Computed(_) | FieldKind::CustomFields | FieldKind::Tags
                        )
                });
            known.then(|| (name.to_string(), desc))
        })
        .collect()
}

fn cmp_parts(a: &[Part], b: &[Part], desc: bool) -> Ordering {
    let c = a.cmp(b);
    if desc { c.reverse() } else { c }
}

/// Sorts ids by the default ordering or by an explicit ordering.
pub fn sort(store: &Store, m: Model, ids: &mut Vec<Id>, ordering: &[(String, bool)]) {
    if ordering.is_empty() {
        if m == Model::Cable {
            ids.sort_unstable();
            return;
        }
        let mut keyed: Vec<(Vec<Part>, Id)> = ids
            .iter()
            .filter_map(|id| {
                store
                    .get(m, *id)
                    .map(|r| (default_key(store, m, r, 0), *id))
            })
            .collect();
        keyed.sort();
        *ids = keyed.into_iter().map(|(_, id)| id).collect();
        return;
    }
    let mut keyed: Vec<(Vec<Vec<Part>>, Id)> = ids
        .iter()
        .filter_map(|id| {
            let r = store.get(m, *id)?;
            Some((
                ordering
                    .iter()
                    .map(|(f, _)| field_parts(store, m, r, f, 0))
                    .collect(),
                *id,
            ))
        })
        .collect();
    keyed.sort_by(|a, b| {
        for (i, (_, desc)) in ordering.iter().enumerate() {
            let c = cmp_parts(&a.0[i], &b.0[i], *desc);
            if c != Ordering::Equal {
                return c;
            }
        }
        a.1.cmp(&b.1)
    });
    *ids = keyed.into_iter().map(|(_, id)| id).collect();
}

// ---------------------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------------------

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 1000;

/// Limit/offset/start as NetBox's paginator reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageReq {
    pub limit: usize,
    pub offset: usize,
    pub start: Option<u64>,
}

/// Parses pagination parameters; errors are the bare-list bodies NetBox returns.
pub fn page_req(params: &[(String, String)]) -> Result<PageReq, Vec<String>> {
    let get = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let start = match get("start") {
        None => None,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Some(n as u64),
            _ => {
                return Err(vec![
                    "Invalid 'start' parameter: must be a non-negative integer.".into(),
                ]);
            }
        },
    };
    let limit = match get("limit").and_then(|v| v.trim().parse::<i64>().ok()) {
        Some(0) => MAX_PAGE,
        Some(n) if n > 0 => (n as usize).min(MAX_PAGE),
        _ => DEFAULT_PAGE,
    };
    if start.is_some() {
        if params.iter().any(|(k, _)| k == "offset") {
            return Err(vec!["'start' and 'offset' are mutually exclusive.".into()]);
        }
        if params.iter().any(|(k, _)| k == "ordering") {
            return Err(vec![
                "Ordering cannot be specified in conjunction with cursor-based pagination.".into(),
            ]);
        }
    }
    let offset = match get("offset").and_then(|v| v.trim().parse::<i64>().ok()) {
        Some(n) if n > 0 => n as usize,
        _ => 0,
    };
    Ok(PageReq {
        limit,
        offset,
        start,
    })
}

/// Python's `quote_plus` (safe: letters, digits, `_.-~`).
pub fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// DRF's `replace_query_param`/`remove_query_param`: rebuilds the query with keys sorted.
pub fn rebuild_url(
    base_path: &str,
    params: &[(String, String)],
    set: &[(&str, String)],
    remove: &[&str],
) -> String {
    let mut groups = grouped(params);
    for key in remove {
        groups.retain(|(k, _)| k != key);
    }
    for (k, v) in set {
        match groups.iter_mut().find(|(n, _)| n == k) {
            Some((_, vals)) => *vals = vec![v.clone()],
            None => groups.push((k.to_string(), vec![v.clone()])),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let query: Vec<String> = groups
        .iter()
        .flat_map(|(k, vals)| {
            vals.iter()
                .map(move |v| format!("{}={}", quote_plus(k), quote_plus(v)))
        })
        .collect();
    if query.is_empty() {
        base_path.to_string()
    } else {
        format!("{base_path}?{}", query.join("&"))
    }
}

/// A page of ids with its envelope values.
#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    pub count: Option<usize>,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub ids: Vec<Id>,
}

/// Cuts a page out of ordered ids. `url` is the absolute URL of the request without query.
pub fn paginate(all: &[Id], req: PageReq, url: &str, params: &[(String, String)]) -> Page {
    if let Some(start) = req.start {
        let mut sorted: Vec<Id> = all.iter().copied().filter(|id| *id >= start).collect();
        sorted.sort_unstable();
        sorted.truncate(req.limit);
        let next = (sorted.len() == req.limit).then(|| {
            let last = sorted.last().copied().unwrap_or(start);
            rebuild_url(
                url,
                params,
                &[
                    ("start", (last + 1).to_string()),
                    ("limit", req.limit.to_string()),
                ],
                &["offset"],
            )
        });
        return Page {
            count: None,
            next,
            previous: None,
            ids: sorted,
        };
    }
    let count = all.len();
    let ids: Vec<Id> = if count == 0 || req.offset > count {
        Vec::new()
    } else {
        all.iter()
            .skip(req.offset)
            .take(req.limit)
            .copied()
            .collect()
    };
    let next = (req.offset + req.limit < count).then(|| {
        rebuild_url(
            url,
            params,
            &[
                ("limit", req.limit.to_string()),
                ("offset", (req.offset + req.limit).to_string()),
            ],
            &[],
        )
    });
    let previous = (req.offset > 0).then(|| {
        if req.offset <= req.limit {
            rebuild_url(
                url,
                params,
                &[("limit", req.limit.to_string())],
                &["offset"],
            )
        } else {
            rebuild_url(
                url,
                params,
                &[
                    ("limit", req.limit.to_string()),
                    ("offset", (req.offset - req.limit).to_string()),
                ],
                &[],
            )
        }
    });
    Page {
        count: Some(count),
        next,
        previous,
        ids,
    }
}

/// Runs filters and ordering over a model's table.
pub fn select(store: &Store, m: Model, filters: &Filters, ordering: &[(String, bool)]) -> Vec<Id> {
    let mut ids: Vec<Id> = match filters.candidates(store, m) {
        // An index narrowed the search: check the remaining predicates on the candidates only.
        Some(cands) => cands
            .into_iter()
            .filter_map(|id| store.get(m, id))
            .filter(|r| filters.matches(store, m, r))
            .map(|r| r.id)
            .collect(),
        None => store
            .iter(m)
            .filter(|r| filters.matches(store, m, r))
            .map(|r| r.id)
            .collect(),
    };
    sort(store, m, &mut ids, ordering);
    ids
}

/// The models along a foreign key path starting at `m` (`[m, target of path[0], …]`).
fn path_models(m: Model, path: &[&str]) -> Option<Vec<Model>> {
    let mut models = vec![m];
    for field in path {
        let f = models.last()?.field(field)?;
        match f.kind {
            FieldKind::Fk(t, _) | FieldKind::ReqFk(t, _) => models.push(t),
            _ => return None,
        }
    }
    Some(models)
}

impl Filters {
    /// The smallest candidate set the store's indexes give for these filters (reverse foreign
    /// keys for relation filters, explicit ids, tags), or `None` when no index applies.
    fn candidates(&self, store: &Store, m: Model) -> Option<BTreeSet<Id>> {
        let mut best: Option<BTreeSet<Id>> = None;
        for p in &self.preds {
            let set = match p {
                Pred::Ids(ids, false) => ids.clone(),
                Pred::Tags(tags) if !tags.is_empty() => {
                    let mut sets = tags.iter().map(|t| {
                        store
                            .tagged(*t)
                            .filter(|(mm, _)| *mm == m)
                            .map(|(_, id)| id)
                            .collect::<BTreeSet<Id>>()
                    });
                    let first = sets.next().unwrap_or_default();
                    sets.fold(first, |acc, s| acc.intersection(&s).copied().collect())
                }
                Pred::RefIn {
                    path,
                    ids,
                    negate: false,
                } => {
                    let Some(models) = path_models(m, path) else {
                        continue;
                    };
                    // Walk the path backwards: objects of models[i] whose path[i] is in `cur`.
                    let mut cur = ids.clone();
                    for i in (0..path.len()).rev() {
                        cur = cur
                            .iter()
                            .flat_map(|t| {
                                store.referrers(models[i], path[i], *t).collect::<Vec<_>>()
                            })
                            .collect();
                    }
                    cur
                }
                _ => continue,
            };
            if best.as_ref().is_none_or(|b| set.len() < b.len()) {
                best = Some(set);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn links_are_rebuilt_with_sorted_keys_like_drf() {
        let params = p(&[("site", "fabric-dc"), ("limit", "5"), ("offset", "10")]);
        let page = paginate(
            &(1..=14).collect::<Vec<_>>(),
            page_req(&params).unwrap(),
            "http://h/api/dcim/devices/",
            &params,
        );
        assert_eq!(page.count, Some(14));
        assert_eq!(page.next, None);
        assert_eq!(
            page.previous.as_deref(),
            Some("http://h/api/dcim/devices/?limit=5&offset=5&site=fabric-dc")
        );
        let params = p(&[("limit", "1"), ("offset", "1")]);
        let page = paginate(&[1, 2], page_req(&params).unwrap(), "http://h/x/", &params);
        assert_eq!(page.previous.as_deref(), Some("http://h/x/?limit=1"));
        let params = p(&[
            ("time_after", "2026-11-25T19:59:48.738759Z"),
            ("limit", "2"),
        ]);
        let page = paginate(
            &(1..=18).collect::<Vec<_>>(),
            page_req(&params).unwrap(),
            "http://h/c/",
            &params,
        );
        assert_eq!(
            page.next.as_deref(),
            Some("http://h/c/?limit=2&offset=2&time_after=2026-11-25T19%3A59%3A48.738759Z")
        );
    }

    #[test]
    fn cursor_pages_and_their_errors() {
        let params = p(&[("start", "1"), ("limit", "3")]);
        let page = paginate(
            &[5, 1, 2, 3, 4],
            page_req(&params).unwrap(),
            "http://h/d/",
            &params,
        );
        assert_eq!(page.ids, vec![1, 2, 3]);
        assert_eq!(page.count, None);
        assert_eq!(page.next.as_deref(), Some("http://h/d/?limit=3&start=4"));
        assert_eq!(
            page_req(&p(&[("start", "3"), ("offset", "1")])).unwrap_err(),
            vec!["'start' and 'offset' are mutually exclusive.".to_string()]
        );
        assert_eq!(page_req(&p(&[("limit", "0")])).unwrap().limit, 1000);
        assert_eq!(page_req(&p(&[("limit", "5000")])).unwrap().limit, 1000);
        assert_eq!(
            page_req(&p(&[("limit", "abc"), ("offset", "-3")])).unwrap(),
            PageReq {
                limit: 50,
                offset: 0,
                start: None
            }
        );
    }
}

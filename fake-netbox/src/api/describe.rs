//! What the API says about itself: `OPTIONS` metadata of an endpoint (DRF's `actions` with each
//! writable field), the API root and app roots, and `/api/status/`.
//!
//! It serves no objects.

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::reply::{Reply, Req};
use super::route::APPS;
use crate::model::{FULL, FieldKind, Model, WRITABLE};
use crate::{NETBOX_VERSION, PYTHON_VERSION};

pub(super) fn options(m: Model, detail: bool) -> Reply {
    let mut fields = Map::new();
    for f in m.fields() {
        if !f.is(FULL) && !f.is(WRITABLE) {
            continue;
        }
        let label = {
            let s = f.name.trim_start_matches('_').replace('_', " ");
            let mut c = s.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        };
        let label = if f.name == "id" {
            "ID".to_string()
        } else {
            label
        };
        let ty = match f.kind {
            FieldKind::Id | FieldKind::Int { .. } | FieldKind::ObjectId { .. } => "integer",
            FieldKind::Str(_)
            | FieldKind::Name(_)
            | FieldKind::NullStr(_)
            | FieldKind::Text
            | FieldKind::Slug(_)
            | FieldKind::Color(_)
            | FieldKind::Mac
            | FieldKind::Network
            | FieldKind::Address => "string",
            FieldKind::Bool(_) => "boolean",
            FieldKind::Dec { .. } => "decimal",
            FieldKind::Created | FieldKind::LastUpdated => "datetime",
            FieldKind::Date => "date",
            FieldKind::Fk(..) | FieldKind::ReqFk(..) | FieldKind::Absent => "nested object",
            _ => "field",
        };
        let mut e = Map::new();
        e.insert("type".into(), json!(ty));
        e.insert("required".into(), json!(f.is(crate::model::REQUIRED)));
        e.insert("read_only".into(), json!(!f.is(WRITABLE)));
        e.insert("label".into(), json!(label));
        match f.kind {
            FieldKind::Str(n) | FieldKind::Name(n) | FieldKind::NullStr(n) | FieldKind::Slug(n)
                if n < usize::MAX =>
            {
                e.insert("max_length".into(), json!(n));
            }
            FieldKind::Int { min, max, .. } => {
                e.insert("min_value".into(), json!(min));
                e.insert("max_value".into(), json!(max));
            }
            FieldKind::Choice { set, .. } => {
                e.insert(
                    "choices".into(),
                    Value::Array(
                        set.choices
                            .iter()
                            .map(|(v, l)| json!({"value": v, "display_name": l}))
                            .collect(),
                    ),
                );
            }
            _ => {}
        }
        fields.insert(f.name.into(), Value::Object(e));
    }
    let class = m.meta().class;
    let name = if detail {
        format!("{class} Instance")
    } else {
        format!("{class} List")
    };
    let mut actions = Map::new();
    actions.insert("PUT".into(), Value::Object(fields.clone()));
    if !detail {
        actions.insert("POST".into(), Value::Object(fields));
    }
    let mut body = json!({
        "name": name,
        "description": "",
        "renders": ["application/json", "text/html"],
        "parses": ["application/json", "multipart/form-data"],
    });
    if m.meta().writable {
        body["actions"] = Value::Object(actions);
    }
    Reply::json(StatusCode::OK, body).verb("options")
}

pub(super) fn root(req: &Req) -> Reply {
    let mut map = Map::new();
    let suffix = crate::render::format_suffix(req.param("format"));
    for app in APPS {
        map.insert(
            app.to_string(),
            json!(format!("{}/api/{app}/{suffix}", req.base)),
        );
    }
    Reply::json(StatusCode::OK, Value::Object(map))
}

pub(super) fn app_root(app: &str, req: &Req) -> Reply {
    let suffix = crate::render::format_suffix(req.param("format"));
    let mut endpoints: Vec<(String, String)> = Model::ALL
        .iter()
        .filter(|m| m.meta().app == app)
        .map(|m| {
            (
                m.meta().endpoint.to_string(),
                format!("{}/api/{app}/{}/{suffix}", req.base, m.meta().endpoint),
            )
        })
        .collect();
    // NetBox lists every endpoint of the app, also the ones this fake does not serve.
    for name in app_endpoints(app) {
        if !endpoints.iter().any(|(k, _)| k == name) {
            endpoints.push((
                (*name).to_string(),
                format!("{}/api/{app}/{name}/{suffix}", req.base),
            ));
        }
    }
    endpoints.sort();
    Reply::json(
        StatusCode::OK,
        Value::Object(endpoints.into_iter().map(|(k, v)| (k, json!(v))).collect()),
    )
}

pub(super) fn status() -> Reply {
    Reply::json(
        StatusCode::OK,
        json!({
            "django-version": crate::DJANGO_VERSION,
            "hostname": "fake-netbox",
            "installed_apps": {
                "django_filters": "26.2",
                "django_prometheus": "2.4.0",
                "django_rq": "4.2.0",
                "django_tables2": "3.0.1",
                "drf_spectacular": "0.30.0",
                "drf_spectacular_sidecar": "2026.10.1",
                "mptt": "0.18.0",
                "rest_framework": "3.18.0",
                "social_django": "6.1.0",
                "taggit": "6.1.0",
                "timezone_field": "7.2.2",
            },
            "netbox-version": NETBOX_VERSION,
            "netbox-full-version": NETBOX_VERSION,
            "plugins": {},
            "python-version": PYTHON_VERSION,
            "rq-workers-running": 1,
        }),
    )
}

/// The endpoints NetBox 4.7 lists at an app's root (`GET /api/<app>/`).
fn app_endpoints(app: &str) -> &'static [&'static str] {
    match app {
        "dcim" => &[
            "cable-bundles",
            "cable-terminations",
            "cables",
            "connected-device",
            "console-port-templates",
            "console-ports",
            "console-server-port-templates",
            "console-server-ports",
            "cooling-feeds",
            "cooling-intake-templates",
            "cooling-intakes",
            "cooling-outflow-templates",
            "cooling-outflows",
            "cooling-sources",
            "device-bay-templates",
            "device-bays",
            "device-roles",
            "device-types",
            "devices",
            "front-port-templates",
            "front-ports",
            "interface-templates",
            "interfaces",
            "inventory-item-roles",
            "inventory-item-templates",
            "inventory-items",
            "locations",
            "mac-addresses",
            "manufacturers",
            "module-bay-templates",
            "module-bay-types",
            "module-bays",
            "module-type-profiles",
            "module-types",
            "modules",
            "platforms",
            "power-feeds",
            "power-outlet-templates",
            "power-outlets",
            "power-panels",
            "power-port-templates",
            "power-ports",
            "rack-groups",
            "rack-reservations",
            "rack-roles",
            "rack-types",
            "racks",
            "rear-port-templates",
            "rear-ports",
            "regions",
            "site-groups",
            "sites",
            "virtual-chassis",
            "virtual-device-contexts",
        ],
        "ipam" => &[
            "aggregates",
            "asn-ranges",
            "asns",
            "fhrp-group-assignments",
            "fhrp-groups",
            "ip-addresses",
            "ip-ranges",
            "prefixes",
            "rirs",
            "roles",
            "route-targets",
            "service-templates",
            "services",
            "vlan-groups",
            "vlan-translation-policies",
            "vlan-translation-rules",
            "vlans",
            "vrfs",
        ],
        "extras" => &[
            "bookmarks",
            "config-context-profiles",
            "config-contexts",
            "config-templates",
            "custom-field-choice-sets",
            "custom-fields",
            "custom-links",
            "event-rules",
            "export-templates",
            "image-attachments",
            "journal-entries",
            "notification-groups",
            "notifications",
            "saved-filters",
            "scripts",
            "scripts/upload",
            "subscriptions",
            "table-configs",
            "tagged-objects",
            "tags",
            "webhooks",
        ],
        "core" => &[
            "background-queues",
            "background-tasks",
            "background-workers",
            "data-files",
            "data-sources",
            "jobs",
            "object-changes",
            "object-types",
        ],
        _ => &[],
    }
}

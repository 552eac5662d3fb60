//! `meta.k8s.io/v1` Table and PartialObjectMetadata(List) renderings of stored objects, with the
//! server-side printer columns of a CRD version (JSONPath cells, `date` cells as human ages).
//!
//! It formats responses only; it does not choose which format a client asked for.

use serde_json::{Map, Value, json};

/// One printer column of a CRD version.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// The default `Age` column a CRD gets when it lists none.
pub fn age_column() -> Column {
    Column {
        name: "Age".into(),
        ty: "date".into(),
        format: String::new(),
        description: AGE_DESC.into(),
        priority: 0,
        json_path: ".metadata.creationTimestamp".into(),
    }
}

/// Parses `additionalPrinterColumns`.
pub fn columns_from_crd(v: Option<&Value>) -> Vec<Column> {
    let Some(Value::Array(cols)) = v else {
        return vec![age_column()];
    };
    cols.iter()
        .map(|c| {
            let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            Column {
                name: s("name"),
                ty: s("type"),
                format: s("format"),
                description: s("description"),
                priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                json_path: s("jsonPath"),
            }
        })
        .collect()
}

/// `HumanDuration` of apimachinery.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Evaluates the JSONPath subset printer columns use: `.a.b`, `.a[0]`, `.a[*].b`,
/// `.a[?(@.type=="Ready")].status`.
pub fn json_path(obj: &Value, path: &str) -> Vec<Value> {
    let p = path.trim().trim_start_matches('{').trim_end_matches('}');
    let mut cur: Vec<Value> = vec![obj.clone()];
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let mut key = String::new();
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    key.push(chars[i]);
                    i += 1;
                }
                if key.is_empty() {
                    continue;
                }
                cur = cur.iter().filter_map(|v| v.get(&key).cloned()).collect();
            }
            '[' => {
                let start = i + 1;
                let mut depth = 1;
                i += 1;
                while i < chars.len() && depth > 0 {
                    if chars[i] == '[' {
                        depth += 1
                    }
                    if chars[i] == ']' {
                        depth -= 1
                    }
                    i += 1;
                }
                let inner: String = chars[start..i.saturating_sub(1)].iter().collect();
                cur = apply_index(&cur, inner.trim());
            }
            _ => i += 1,
        }
    }
    cur
}

fn apply_index(cur: &[Value], inner: &str) -> Vec<Value> {
    let mut out = vec![];
    for v in cur {
        let Value::Array(items) = v else { continue };
        if inner == "*" {
            out.extend(items.iter().cloned());
        } else if let Ok(n) = inner.parse::<i64>() {
            let idx = if n < 0 { items.len() as i64 + n } else { n };
            if let Some(x) = usize::try_from(idx).ok().and_then(|i| items.get(i)) {
                out.push(x.clone());
            }
        } else if let Some(f) = inner.strip_prefix("?(").and_then(|s| s.strip_suffix(')'))
            && let Some((lhs, rhs)) = f.split_once("==")
        {
            let key = lhs.trim().trim_start_matches("@.");
            let want = rhs.trim().trim_matches('"').trim_matches('\'');
            for it in items {
                let got = json_path(it, &format!(".{key}"));
                if got.iter().any(|g| match g {
                    Value::String(s) => s == want,
                    other => *other == want,
                }) {
                    out.push(it.clone());
                }
            }
        }
    }
    out
}

fn cell(obj: &Value, col: &Column, now_secs: i64) -> Value {
    let vals = json_path(obj, &col.json_path);
    let Some(v) = vals.first() else {
        return Value::Null;
    };
    match col.ty.as_str() {
        "date" => match v.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok()) {
            Some(t) => Value::String(human_duration(now_secs - t.as_second())),
            None => Value::Null,
        },
        "integer" => v.as_i64().map(Value::from).unwrap_or(Value::Null),
        "number" => v.as_f64().map(Value::from).unwrap_or(Value::Null),
        "boolean" => v.as_bool().map(Value::from).unwrap_or(Value::Null),
        _ => match v {
            Value::String(s) => Value::String(s.clone()),
            Value::Array(a) if vals.len() == 1 => Value::String(
                a.iter()
                    .map(|x| x.as_str().map(str::to_string).unwrap_or(x.to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => Value::String(
                vals.iter()
                    .map(|x| x.as_str().map(str::to_string).unwrap_or(x.to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        },
    }
}

/// The column definitions (Name first).
pub fn column_definitions(cols: &[Column]) -> Value {
    let mut defs = vec![
        json!({"name":"Name","type":"string","format":"name","description":NAME_DESC,"priority":0}),
    ];
    for c in cols {
        defs.push(json!({"name":c.name,"type":c.ty,"format":c.format,"description":c.description,"priority":c.priority}));
    }
    Value::Array(defs)
}

/// What a Table row carries as its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

/// One Table row for an object.
pub fn row(obj: &Value, cols: &[Column], now_secs: i64, include: IncludeObject) -> Value {
    let mut cells = vec![
        obj.pointer("/metadata/name")
            .cloned()
            .unwrap_or(Value::Null),
    ];
    for c in cols {
        cells.push(cell(obj, c, now_secs));
    }
    let mut r = Map::new();
    r.insert("cells".into(), Value::Array(cells));
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            r.insert("object".into(), partial(obj));
        }
        IncludeObject::Object => {
            r.insert("object".into(), obj.clone());
        }
    }
    Value::Object(r)
}

/// A Table for objects; `headers` false omits columnDefinitions (watch events after the first).
pub fn table(
    objs: &[&Value],
    cols: &[Column],
    now_secs: i64,
    include: IncludeObject,
    list_meta: Value,
    headers: bool,
) -> Value {
    let mut t = Map::new();
    t.insert("kind".into(), json!("Table"));
    t.insert("apiVersion".into(), json!("meta.k8s.io/v1"));
    t.insert("metadata".into(), list_meta);
    t.insert(
        "columnDefinitions".into(),
        if headers {
            column_definitions(cols)
        } else {
            Value::Null
        },
    );
    t.insert(
        "rows".into(),
        Value::Array(
            objs.iter()
                .map(|o| row(o, cols, now_secs, include))
                .collect(),
        ),
    );
    Value::Object(t)
}

/// `PartialObjectMetadata` of an object.
pub fn partial(obj: &Value) -> Value {
    json!({"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata": obj.get("metadata").cloned().unwrap_or(json!({}))})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_paths() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(3 * 86400), "3d");
        let o = json!({"status":{"conditions":[{"type":"A","status":"x"},{"type":"Ready","status":"True"}]}});
        assert_eq!(
            json_path(&o, r#".status.conditions[?(@.type=="Ready")].status"#),
            vec![json!("True")]
        );
        assert_eq!(
            json_path(&o, ".status.conditions[0].type"),
            vec![json!("A")]
        );
        let l = json!({"metadata":{"labels":{"fabric.githedgehog.com/connection-type":"mclag"}}});
        assert_eq!(
            json_path(
                &l,
                r".metadata.labels.fabric\.githedgehog\.com/connection-type"
            ),
            vec![json!("mclag")]
        );
    }
}

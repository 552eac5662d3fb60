//! What fabsync owns in an object, and how two versions of it compare: canonical JSON, the
//! content hash stored on every object, the "desired ⊆ live" check used for drift and
//! verification, and readable field-by-field and unified diffs.
//!
//! Pure functions over `serde_json::Value`; no IO.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Annotation holding the hash of the owned content fabsync last applied.
pub const ANNOTATION_HASH: &str = "fabsync.githedgehog.com/content-hash";

/// Annotation listing the fields fabsync last applied (a short hash of each field's path, not
/// its value): every replica can tell from the object alone whether a new apply sets only
/// fields fabsync set before (another manager owning one of them took it over by hand) or new
/// ones.
pub const ANNOTATION_FIELDS: &str = "fabsync.githedgehog.com/fields";

/// fabsync's own annotations: never part of the hashed or compared content.
pub fn is_own_annotation(key: &str) -> bool {
    key == ANNOTATION_HASH || key == ANNOTATION_FIELDS
}

/// The fields a manifest sets (labels, annotations but fabsync's own, spec; objects are walked,
/// lists and scalars are leaves), each as a short hash of its path, sorted, space-separated.
pub fn applied_fields(m: &Value) -> String {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) if !o.is_empty() => {
                for (k, v) in o {
                    if prefix == "a" && is_own_annotation(k) {
                        continue;
                    }
                    walk(&format!("{prefix}.{k}"), v, out);
                }
            }
            _ => {
                let d = Sha256::digest(prefix.as_bytes());
                out.push(d[..4].iter().map(|b| format!("{b:02x}")).collect());
            }
        }
    }
    let mut fields = Vec::new();
    for (p, ptr) in [
        ("l", "/metadata/labels"),
        ("a", "/metadata/annotations"),
        ("s", "/spec"),
    ] {
        if let Some(v) = m.pointer(ptr) {
            walk(p, v, &mut fields);
        }
    }
    fields.sort_unstable();
    fields.dedup();
    fields.join(" ")
}

/// Whether every field in `new` (an [`applied_fields`] list) is in `old`.
pub fn fields_within(new: &str, old: &str) -> bool {
    let old: std::collections::BTreeSet<&str> = old.split(' ').collect();
    new.split(' ')
        .filter(|f| !f.is_empty())
        .all(|f| old.contains(f))
}

/// JSON with object keys sorted at every level.
pub fn canonical(v: &Value) -> String {
    serde_json::to_string(&Canon(v)).expect("JSON values serialize")
}

/// Serialises a value with object keys sorted at every level, without copying it.
struct Canon<'a>(&'a Value);

impl serde::Serialize for Canon<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Object(m) => {
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, &Canon(v))?;
                }
                map.end()
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&Canon(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

/// A label or annotation map as hashed: absent, non-object and empty are all `{}`; for
/// annotations (`.1`), fabsync's own are left out.
struct OwnedMap<'a>(Option<&'a Value>, bool);

impl serde::Serialize for OwnedMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut entries: Vec<(&String, &Value)> = match self.0 {
            Some(Value::Object(m)) => m
                .iter()
                .filter(|(k, _)| !(self.1 && is_own_annotation(k)))
                .collect(),
            _ => Vec::new(),
        };
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut map = s.serialize_map(Some(entries.len()))?;
        for (k, v) in entries {
            map.serialize_entry(k, &Canon(v))?;
        }
        map.end()
    }
}

/// The owned content of a manifest, serialised canonically (keys in sorted order).
struct Owned<'a>(&'a Value);

impl<'a> serde::Serialize for Owned<'a> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let m = self.0;
        let opt = |v: Option<&'a Value>| v.map(Canon);
        let mut map = s.serialize_map(Some(7))?;
        map.serialize_entry(
            "annotations",
            &OwnedMap(m.pointer("/metadata/annotations"), true),
        )?;
        map.serialize_entry("apiVersion", &opt(m.get("apiVersion")))?;
        map.serialize_entry("kind", &opt(m.get("kind")))?;
        map.serialize_entry("labels", &OwnedMap(m.pointer("/metadata/labels"), false))?;
        map.serialize_entry("name", &opt(m.pointer("/metadata/name")))?;
        map.serialize_entry("namespace", &opt(m.pointer("/metadata/namespace")))?;
        map.serialize_entry("spec", &opt(m.get("spec")))?;
        map.end()
    }
}

/// Feeds serialised bytes into a hasher.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The hash of a manifest's owned content (apiVersion, kind, name, namespace, labels,
/// annotations other than the hash itself, spec): SHA-256 of its canonical JSON, streamed
/// (nothing is copied).
pub fn content_hash(manifest: &Value) -> String {
    let mut w = HashWriter(Sha256::new());
    serde_json::to_writer(&mut w, &Owned(manifest)).expect("JSON values serialize");
    format!("sha256:{}", &hex::encode(w.0.finalize())[..32])
}

/// The manifest with its content hash annotation added; returns (manifest, hash).
pub fn with_hash(m: Value) -> (Value, String) {
    let hash = content_hash(&m);
    (annotate(m, &hash), hash)
}

/// The manifest with `hash` (its [`content_hash`]) set as the hash annotation, and the hash of
/// its field paths as the fields annotation.
pub fn annotate(mut m: Value, hash: &str) -> Value {
    let fields = applied_fields(&m);
    let meta = m
        .as_object_mut()
        .expect("a manifest is an object")
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let ann = meta
        .as_object_mut()
        .expect("metadata is an object")
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if !ann.is_object() {
        *ann = Value::Object(Map::new());
    }
    ann.as_object_mut()
        .expect("annotations is an object")
        .insert(ANNOTATION_HASH.into(), Value::String(hash.to_string()));
    ann.as_object_mut()
        .expect("annotations is an object")
        .insert(ANNOTATION_FIELDS.into(), Value::String(fields));
    m
}

/// The parts of an object a sync compares: labels, annotations and spec.
pub fn comparable(obj: &Value) -> Value {
    serde_json::json!({
        "labels": obj.pointer("/metadata/labels").cloned().unwrap_or(Value::Object(Map::new())),
        "annotations": obj.pointer("/metadata/annotations").cloned().unwrap_or(Value::Object(Map::new())),
        "spec": obj.get("spec").cloned().unwrap_or(Value::Object(Map::new())),
    })
}

/// The first place where `live` does not hold what `desired` says (objects: every key of
/// `desired` present and matching; lists and scalars: equal), as a dotted path; `None` when
/// `desired ⊆ live`.
pub fn subset_mismatch(desired: &Value, live: &Value) -> Option<String> {
    fn walk(d: &Value, l: &Value, path: &mut Vec<String>) -> bool {
        match (d, l) {
            (Value::Object(dm), Value::Object(lm)) => {
                for (k, dv) in dm {
                    if dv.is_null() {
                        // No opinion on this key.
                        continue;
                    }
                    path.push(k.clone());
                    let ok = match lm.get(k) {
                        Some(lv) => walk(dv, lv, path),
                        None => dv.is_null(),
                    };
                    if !ok {
                        return false;
                    }
                    path.pop();
                }
                true
            }
            (Value::Array(da), Value::Array(la)) => {
                if da.len() != la.len() {
                    return false;
                }
                for (i, (dv, lv)) in da.iter().zip(la).enumerate() {
                    path.push(i.to_string());
                    if !walk(dv, lv, path) {
                        return false;
                    }
                    path.pop();
                }
                true
            }
            (d, l) => d == l,
        }
    }
    let want = serde_json::json!({
        "metadata": {
            "labels": desired.pointer("/metadata/labels"),
            "annotations": desired.pointer("/metadata/annotations"),
        },
        "spec": desired.get("spec"),
    });
    let mut path = Vec::new();
    if walk(&want, live, &mut path) {
        None
    } else {
        Some(path.join("."))
    }
}

/// The value at a dotted path (as returned by [`subset_mismatch`]).
pub fn at_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// One changed field.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldChange {
    /// Dotted path (`spec.description`).
    pub path: String,
    /// Value before (`None`: absent).
    pub before: Option<Value>,
    /// Value after (`None`: removed).
    pub after: Option<Value>,
}

/// Field-by-field differences between two objects' comparable content (labels, annotations,
/// spec), leaves only, sorted by path. The content-hash annotation is left out.
pub fn field_changes(before: Option<&Value>, after: Option<&Value>) -> Vec<FieldChange> {
    fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, v) in m {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&p, v, out);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for (i, v) in a.iter().enumerate() {
                    flatten(&format!("{prefix}[{i}]"), v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.clone());
            }
        }
    }
    let mut b = BTreeMap::new();
    let mut a = BTreeMap::new();
    let strip = |v: &Value| {
        let mut c = comparable(v);
        if let Some(ann) = c.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.retain(|k, _| !is_own_annotation(k));
        }
        c
    };
    if let Some(v) = before {
        flatten("", &strip(v), &mut b);
    }
    if let Some(v) = after {
        flatten("", &strip(v), &mut a);
    }
    let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (bv, av) = (b.get(k), a.get(k));
            let empty = |v: Option<&Value>| {
                v.is_none_or(|v| {
                    v.is_null()
                        || v.as_object().is_some_and(Map::is_empty)
                        || v.as_array().is_some_and(Vec::is_empty)
                })
            };
            if bv == av || (empty(bv) && empty(av)) {
                return None;
            }
            Some(FieldChange {
                path: k.replacen("labels.", "metadata.labels.", 1).replacen(
                    "annotations.",
                    "metadata.annotations.",
                    1,
                ),
                before: bv.cloned(),
                after: av.cloned(),
            })
        })
        .collect()
}

/// An object as the YAML a person reads in a diff: without server bookkeeping.
pub fn display_yaml(obj: &Value) -> String {
    let mut o = obj.clone();
    if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
        ] {
            meta.remove(k);
        }
    }
    if let Some(m) = o.as_object_mut() {
        m.remove("status");
    }
    serde_saphyr::to_string(&o).unwrap_or_else(|_| canonical(&o))
}

/// A unified diff (as `kubectl diff` prints) of two objects' YAML.
pub fn unified_diff(label: &str, before: Option<&Value>, after: Option<&Value>) -> String {
    let b = before.map(display_yaml).unwrap_or_default();
    let a = after.map(display_yaml).unwrap_or_default();
    similar::TextDiff::from_lines(&b, &a)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{label}"), &format!("desired/{label}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_ignores_key_order_and_itself() {
        let a = json!({"apiVersion":"v","kind":"K","metadata":{"name":"n","labels":{"a":"1","b":"2"}},"spec":{"x":1,"y":[1,2]}});
        let b = json!({"kind":"K","spec":{"y":[1,2],"x":1},"metadata":{"labels":{"b":"2","a":"1"},"name":"n"},"apiVersion":"v"});
        assert_eq!(content_hash(&a), content_hash(&b));
        let (with, h) = with_hash(a.clone());
        assert_eq!(content_hash(&with), h);
        let c = json!({"apiVersion":"v","kind":"K","metadata":{"name":"n","labels":{"a":"1","b":"2"}},"spec":{"x":2,"y":[1,2]}});
        assert_ne!(content_hash(&a), content_hash(&c));
    }

    /// The hash as first defined: a sorted copy of the owned content, serialised, hashed. The
    /// streaming hash must give the same bytes (every object in every cluster carries one).
    fn reference_hash(manifest: &Value) -> String {
        fn sort(v: &Value) -> Value {
            match v {
                Value::Object(m) => {
                    let sorted: BTreeMap<&String, Value> =
                        m.iter().map(|(k, v)| (k, sort(v))).collect();
                    Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
                }
                Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
                other => other.clone(),
            }
        }
        let mut m = manifest.clone();
        if let Some(ann) = m
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        {
            ann.retain(|k, _| !is_own_annotation(k));
        }
        let map = |p: &str| match m.pointer(p) {
            Some(Value::Object(o)) if !o.is_empty() => Value::Object(o.clone()),
            _ => Value::Object(Map::new()),
        };
        let owned = json!({
            "apiVersion": m.get("apiVersion"),
            "kind": m.get("kind"),
            "name": m.pointer("/metadata/name"),
            "namespace": m.pointer("/metadata/namespace"),
            "labels": map("/metadata/labels"),
            "annotations": map("/metadata/annotations"),
            "spec": m.get("spec"),
        });
        let text = serde_json::to_string(&sort(&owned)).unwrap();
        format!(
            "sha256:{}",
            &hex::encode(Sha256::digest(text.as_bytes()))[..32]
        )
    }

    fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            (-1e6f64..1e6).prop_map(|f| json!(f)),
            "[a-zA-Z0-9 \\\"/é.-]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec(("[a-zA-Z./-]{0,6}", inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn streaming_hash_equals_the_reference(
            spec in arb_json(),
            labels in arb_json(),
            annotations in arb_json(),
            hash_too in proptest::bool::ANY,
            name in proptest::option::of("[a-z0-9-]{1,10}"),
        ) {
            let mut ann = annotations;
            if hash_too && let Value::Object(m) = &mut ann {
                m.insert(ANNOTATION_HASH.into(), json!("sha256:old"));
            }
            let m = json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "Switch",
                "metadata": {"name": name, "namespace": "default", "labels": labels, "annotations": ann},
                "spec": spec});
            proptest::prop_assert_eq!(content_hash(&m), reference_hash(&m));
            let mut sparse = m.clone();
            sparse.as_object_mut().unwrap().remove("spec");
            sparse["metadata"].as_object_mut().unwrap().remove("labels");
            proptest::prop_assert_eq!(content_hash(&sparse), reference_hash(&sparse));
        }
    }

    #[test]
    fn subset_finds_the_first_difference() {
        let desired =
            json!({"metadata":{"labels":{"a":"1"}},"spec":{"role":"spine","boot":{"mac":"x"}}});
        let live = json!({"metadata":{"labels":{"a":"1","other":"z"},"annotations":{}},"spec":{"role":"spine","boot":{"mac":"x"},"asn":65101}});
        assert_eq!(subset_mismatch(&desired, &live), None);
        let drifted =
            json!({"metadata":{"labels":{"a":"1"}},"spec":{"role":"spine","boot":{"mac":"y"}}});
        assert_eq!(
            subset_mismatch(&desired, &drifted).as_deref(),
            Some("spec.boot.mac")
        );
    }

    #[test]
    fn field_changes_are_leaves() {
        let before = json!({"metadata":{"labels":{"a":"1"}},"spec":{"description":"old","x":[1]}});
        let after = json!({"metadata":{"labels":{"a":"1","b":"2"}},"spec":{"description":"new"}});
        let changes = field_changes(Some(&before), Some(&after));
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            ["metadata.labels.b", "spec.description", "spec.x[0]"]
        );
        assert_eq!(changes[1].before, Some(json!("old")));
        assert_eq!(changes[2].after, None);
    }
}

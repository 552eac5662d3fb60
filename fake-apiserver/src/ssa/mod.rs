//! Server-side apply and field ownership: who owns which fields after an apply or an update,
//! conflicts with other managers, and pruning of fields dropped by their only owner. The pieces
//! are field sets (`fieldset.rs`), objects walked by the schema's topology (`topology.rs`) and
//! `managedFields` entries (`managed.rs`).
//!
//! It works on JSON values and a schema; it does not store objects or decide HTTP answers.

mod fieldset;
mod managed;
mod topology;

pub use fieldset::{FieldSet, path_string};
pub use managed::{Conflict, ManagedEntry, conflict_message, decode_managed, encode_managed};
pub use topology::{Comparison, compare, merge, remove_items, to_field_set};

use crate::meta;
use crate::schema::Schema;
use serde_json::Value;

/// Paths that the field manager never tracks (typemeta and server-owned metadata).
pub fn strip(set: &mut FieldSet) {
    set.children.remove("f:apiVersion");
    set.children.remove("f:kind");
    if let Some(m) = set.children.get_mut("f:metadata") {
        m.member = false;
        // The object's identity and the legacy `clusterName` are not owned either.
        for f in meta::SERVER_SET
            .iter()
            .chain(&["name", "namespace", "clusterName"])
        {
            m.children.remove(&format!("f:{f}"));
        }
    }
    set.prune_empty();
}

/// Which fields a write to a (sub)resource may own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// No status subresource: everything counts.
    None,
    /// Main resource of a type with a status subresource: `status` is ignored.
    Status,
    /// The `/status` subresource: only `status` counts.
    AllButStatus,
}

/// Applies the reset rule to a field set.
pub fn reset_set(set: &mut FieldSet, reset: Reset) {
    match reset {
        Reset::None => {}
        Reset::Status => {
            set.children.remove("f:status");
        }
        Reset::AllButStatus => set.children.retain(|k, _| k == "f:status"),
    }
}

/// Inputs shared by apply and update.
pub struct Ctx<'a> {
    pub schema: Option<&'a Schema>,
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: &'a str,
    pub reset: Reset,
    pub now: &'a str,
}

fn tracked_set(v: &Value, ctx: &Ctx<'_>) -> FieldSet {
    let mut s = to_field_set(v, ctx.schema);
    strip(&mut s);
    reset_set(&mut s, ctx.reset);
    s
}

fn tracked_compare(old: &Value, new: &Value, ctx: &Ctx<'_>) -> Comparison {
    let mut c = compare(old, new, ctx.schema);
    for s in [&mut c.added, &mut c.modified, &mut c.removed] {
        strip(s);
        reset_set(s, ctx.reset);
    }
    c
}

/// Ownership bookkeeping shared by apply and update: conflicts with other managers, and
/// removal of fields the new object no longer has.
fn update_managers(
    old: &Value,
    new: &Value,
    managers: &mut [ManagedEntry],
    self_idx: Option<usize>,
    force: bool,
    ctx: &Ctx<'_>,
) -> Result<Comparison, Vec<Conflict>> {
    let cmp = tracked_compare(old, new, ctx);
    let changed = cmp.modified.union(&cmp.added);
    let mut conflicts = vec![];
    let mut conflict_sets: Vec<(usize, FieldSet)> = vec![];
    for (i, m) in managers.iter().enumerate() {
        if Some(i) == self_idx {
            continue;
        }
        let c = m.set.intersection(&changed);
        if !c.is_empty() {
            for p in c.paths() {
                conflicts.push(Conflict {
                    printed_manager: m.printed(),
                    identity: m.identity(),
                    path: path_string(&p),
                });
            }
            conflict_sets.push((i, c));
        }
    }
    if !force && !conflicts.is_empty() {
        conflicts.sort_by(|a, b| a.identity.cmp(&b.identity).then(a.path.cmp(&b.path)));
        return Err(conflicts);
    }
    for (i, c) in conflict_sets {
        managers[i].set = managers[i].set.difference(&c);
    }
    if !cmp.removed.is_empty() {
        for (i, m) in managers.iter_mut().enumerate() {
            if Some(i) != self_idx {
                m.set = m.set.difference(&cmp.removed);
            }
        }
    }
    Ok(cmp)
}

/// Records a non-apply write (create, update, merge/JSON patch) made by `ctx.manager`.
pub fn record_update(old: &Value, new: &Value, managers: &mut Vec<ManagedEntry>, ctx: &Ctx<'_>) {
    let cmp = match update_managers(old, new, managers, None, true, ctx) {
        Ok(c) => c,
        Err(_) => unreachable_conflict(),
    };
    let own = cmp.modified.union(&cmp.added).difference(&cmp.removed);
    if !own.is_empty() {
        let idx = managers
            .iter()
            .position(|e| e.same_identity(ctx.manager, "Update", ctx.subresource));
        match idx {
            Some(i) => {
                managers[i].set = own.union(&managers[i].set.difference(&cmp.removed));
                managers[i].time = Some(ctx.now.to_string());
                managers[i].api_version = ctx.api_version.to_string();
            }
            None => managers.push(ManagedEntry {
                manager: ctx.manager.to_string(),
                operation: "Update".into(),
                api_version: ctx.api_version.to_string(),
                time: Some(ctx.now.to_string()),
                subresource: ctx.subresource.to_string(),
                set: own,
            }),
        }
    }
    managers.retain(|m| !m.set.is_empty());
}

fn unreachable_conflict() -> Comparison {
    // `update_managers` with force=true never reports conflicts.
    Comparison::default()
}

/// Server-side apply of `config` onto `live`. Returns the new object (without managedFields
/// changes applied to it) and the new manager list; or the conflicts.
pub fn apply(
    live: &Value,
    config: &Value,
    managers: &mut Vec<ManagedEntry>,
    force: bool,
    ctx: &Ctx<'_>,
) -> Result<Value, Vec<Conflict>> {
    let merged = merge(live, config, ctx.schema);
    let new_set = tracked_set(config, ctx);
    let idx = managers
        .iter()
        .position(|e| e.same_identity(ctx.manager, "Apply", ctx.subresource));
    let last_set = idx.map(|i| managers[i].set.clone()).unwrap_or_default();
    let self_idx = match idx {
        Some(i) => {
            managers[i].set = new_set.clone();
            managers[i].api_version = ctx.api_version.to_string();
            i
        }
        None => {
            managers.push(ManagedEntry {
                manager: ctx.manager.to_string(),
                operation: "Apply".into(),
                api_version: ctx.api_version.to_string(),
                time: None,
                subresource: ctx.subresource.to_string(),
                set: new_set.clone(),
            });
            managers.len() - 1
        }
    };
    // Pruning only removes what the applier owned before and no longer sends.
    let result = if last_set.is_empty() || last_set.difference(&new_set).is_empty() {
        merged
    } else {
        let s = ctx.schema;
        let pruned0 = remove_items(&merged, &last_set.ensure_named_fields_are_members(), s);
        let mut managed = FieldSet::default();
        for m in managers.iter() {
            managed.union_in(&m.set);
        }
        let merged_set = to_field_set(&merged, s).ensure_named_fields_are_members();
        let pruned0_set = to_field_set(&pruned0, s).ensure_named_fields_are_members();
        let keep = pruned0_set.union(&managed.ensure_named_fields_are_members());
        let pruned1 = remove_items(&merged, &merged_set.difference(&keep), s);
        let pruned1_set = to_field_set(&pruned1, s).ensure_named_fields_are_members();
        let dangling = merged_set
            .difference(&pruned1_set)
            .intersection(&last_set.ensure_named_fields_are_members());
        remove_items(&merged, &dangling, s)
    };
    let cmp = update_managers(live, &result, managers, Some(self_idx), force, ctx)?;
    if !cmp.is_same() {
        managers[self_idx].time = Some(ctx.now.to_string());
    }
    managers.retain(|m| !m.set.is_empty());
    Ok(result)
}

/// Ownership of a live object that has no managedFields, given to `before-first-apply`.
pub fn before_first_apply(live: &Value, ctx: &Ctx<'_>) -> Option<ManagedEntry> {
    let set = tracked_set(live, ctx);
    if set.is_empty() {
        return None;
    }
    Some(ManagedEntry {
        manager: "before-first-apply".into(),
        operation: "Update".into(),
        api_version: ctx.api_version.to_string(),
        time: Some(ctx.now.to_string()),
        subresource: String::new(),
        set,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::compile(&json!({"type":"object","properties":{"spec":{"type":"object","properties":{
            "ports":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],
                "items":{"type":"object","properties":{"name":{"type":"string"},"speed":{"type":"integer"}}}},
            "tags":{"type":"array","x-kubernetes-list-type":"set","items":{"type":"string"}},
            "a":{"type":"string"},"b":{"type":"string"}}}}}))
        .unwrap()
    }

    fn ctx<'a>(s: &'a Schema, m: &'a str) -> Ctx<'a> {
        Ctx {
            schema: Some(s),
            manager: m,
            api_version: "g/v1",
            subresource: "",
            reset: Reset::None,
            now: "2026-01-01T00:00:00Z",
        }
    }

    #[test]
    fn fields_v1_roundtrip_and_order() {
        let s = schema();
        let set = to_field_set(
            &json!({"spec":{"a":"x","ports":[{"name":"p1","speed":1}],"tags":["t"]}}),
            Some(&s),
        );
        let enc = set.to_fields_v1();
        assert_eq!(
            enc.to_string(),
            r#"{"f:spec":{"f:a":{},"f:ports":{"k:{\"name\":\"p1\"}":{".":{},"f:name":{},"f:speed":{}}},"f:tags":{"v:\"t\"":{}}}}"#
        );
        assert_eq!(FieldSet::from_fields_v1(&enc), set);
    }

    #[test]
    fn yaml_bodies_parse() {
        let v: Value = serde_saphyr::from_str(
            "apiVersion: g/v1\nkind: Switch\nmetadata:\n  name: yml-1\nspec:\n  role: spine\n",
        )
        .unwrap();
        assert_eq!(v["metadata"]["name"], "yml-1");
    }

    #[test]
    fn apply_conflict_and_force_and_prune() {
        let s = schema();
        let mut managers = vec![];
        let live = json!({"spec":{}});
        let a = apply(
            &live,
            &json!({"spec":{"a":"1","b":"2"}}),
            &mut managers,
            false,
            &ctx(&s, "one"),
        )
        .unwrap();
        let err = apply(
            &a,
            &json!({"spec":{"a":"9"}}),
            &mut managers.clone(),
            false,
            &ctx(&s, "two"),
        )
        .unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].path, ".spec.a");
        // same value: shared ownership, no conflict
        let b = apply(
            &a,
            &json!({"spec":{"a":"1"}}),
            &mut managers,
            false,
            &ctx(&s, "two"),
        )
        .unwrap();
        assert_eq!(b, a);
        // one drops b (only owner) -> removed; drops a (co-owned) -> kept
        let c = apply(
            &b,
            &json!({"spec":{}}),
            &mut managers,
            false,
            &ctx(&s, "one"),
        )
        .unwrap();
        assert_eq!(c, json!({"spec":{"a":"1"}}));
    }

    #[test]
    fn list_map_merge_keeps_other_items() {
        let s = schema();
        let mut managers = vec![];
        let live = json!({"spec":{"ports":[{"name":"p1","speed":1}]}});
        let out = apply(
            &live,
            &json!({"spec":{"ports":[{"name":"p2","speed":2}]}}),
            &mut managers,
            false,
            &ctx(&s, "m"),
        )
        .unwrap();
        assert_eq!(out["spec"]["ports"].as_array().unwrap().len(), 2);
    }
}

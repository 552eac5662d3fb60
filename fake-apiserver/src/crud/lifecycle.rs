//! The fake's controllers, run inline after a write or a removal: CRD establishment (condition
//! timers, NamesAccepted/Established, served types), CRD cleanup, namespace termination, and the
//! garbage collector (orphans, `orphan`/`foregroundDeletion` finalizers).
//!
//! It reacts to stored changes; it does not validate or answer requests.

use super::context::{Ctx, FieldValidation};
use super::object::{canonical_order, finalizers, meta_mut, meta_str};
use crate::ssa;
use crate::state::{CRD_RES, CrdTimer, Inner, NS_RES, Served, State, res_key};
use crate::store::{ObjKey, ResKey};
use crate::types::{self, Strategy};
use serde_json::{Value, json};
use std::sync::Arc;

/// Type-specific follow-ups of a stored write.
pub(crate) fn after_write(
    ctx: &Ctx<'_>,
    st: &mut State,
    old: Option<&Arc<Value>>,
    stored: &Arc<Value>,
) {
    if ctx.rt.strategy != Strategy::Crd {
        return;
    }
    let name = meta_str(stored, "name").to_string();
    match old {
        None => {
            st.crd_timers.insert(
                name,
                CrdTimer {
                    created: tokio::time::Instant::now(),
                    stage: 0,
                },
            );
        }
        Some(_) => {
            // Spec changes take effect for served types at once.
            if let Ok(rt) = types::compile_crd(stored) {
                let key = res_key(&rt.group, &rt.plural);
                if let Some(s) = st.types.get_mut(&key) {
                    s.rt = Arc::new(rt);
                    st.types_generation += 1;
                }
            }
        }
    }
}

/// Sets NamesAccepted (and Established when `established`) on a stored CRD.
pub(crate) fn crd_set_conditions(inner: &Inner, st: &mut State, name: &str, established: bool) {
    let res = res_key(CRD_RES.0, CRD_RES.1);
    let key = (String::new(), name.to_string());
    let Some(old) = st.store.get(&res, &key).cloned() else {
        return;
    };
    let Ok(rt) = types::compile_crd(&old) else {
        return;
    };
    let now = inner.now_string();
    let mut new = (*old).clone();
    let names = old.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let prev_conds = old
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ltt = |t: &str, status: &str| -> String {
        prev_conds
            .iter()
            .find(|c| {
                c.get("type").and_then(Value::as_str) == Some(t)
                    && c.get("status").and_then(Value::as_str) == Some(status)
            })
            .and_then(|c| c.get("lastTransitionTime").and_then(Value::as_str))
            .map(str::to_string)
            .unwrap_or_else(|| now.clone())
    };
    let est = if established {
        json!({"type":"Established","status":"True","lastTransitionTime":ltt("Established","True"),"reason":"InitialNamesAccepted","message":"the initial names have been accepted"})
    } else {
        json!({"type":"Established","status":"False","lastTransitionTime":ltt("Established","False"),"reason":"Installing","message":"the initial names have been accepted"})
    };
    let conds = vec![
        json!({"type":"NamesAccepted","status":"True","lastTransitionTime":ltt("NamesAccepted","True"),"reason":"NoConflicts","message":"no conflicts found"}),
        est,
    ];
    new["status"]["conditions"] = Value::Array(conds);
    new["status"]["acceptedNames"] = names;
    let crd_rt = st
        .types
        .get(&res)
        .map(|s| s.rt.clone())
        .expect("built-in CRD type");
    let ver = crd_rt.versions[0].clone();
    let ctx = Ctx {
        inner,
        rt: crd_rt,
        ver,
        version: "v1".into(),
        ns: String::new(),
        name: name.into(),
        sub: "status".into(),
        dry_run: false,
        manager: "kube-apiserver".into(),
        fv: FieldValidation::Ignore,
        now: now.clone(),
    };
    let api_version = ctx.api_version();
    let mut entries = ssa::decode_managed(&old).unwrap_or_default();
    ssa::record_update(&old, &new, &mut entries, &ctx.ssa_ctx(&api_version));
    meta_mut(&mut new).insert("managedFields".into(), ssa::encode_managed(&entries));
    canonical_order(&ctx.rt, &mut new);
    st.store.put(&res, key, new);
    let tk = res_key(&rt.group, &rt.plural);
    let served = Served {
        rt: Arc::new(rt),
        established,
        terminating: false,
        crd_name: Some(name.to_string()),
    };
    st.types.insert(tk, served);
    st.types_generation += 1;
}

/// Applies CRD condition transitions that are due.
pub(crate) fn tick(inner: &Inner, st: &mut State) {
    if st.crd_timers.is_empty() {
        return;
    }
    let now = tokio::time::Instant::now();
    let names_at = inner.cfg.crd_names_delay;
    let est_at = inner.cfg.crd_names_delay + inner.cfg.crd_established_delay;
    let due: Vec<(String, CrdTimer)> = st
        .crd_timers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (name, t) in due {
        let elapsed = now.saturating_duration_since(t.created);
        if t.stage == 0 && elapsed >= names_at {
            let established = elapsed >= est_at;
            crd_set_conditions(inner, st, &name, established);
            if established {
                st.crd_timers.remove(&name);
            } else if let Some(x) = st.crd_timers.get_mut(&name) {
                x.stage = 1;
            }
        } else if t.stage == 1 && elapsed >= est_at {
            crd_set_conditions(inner, st, &name, true);
            st.crd_timers.remove(&name);
        }
    }
}

/// Schedules background ticks so watchers see CRD transitions without other traffic.
pub(crate) fn schedule_tick(inner: &Arc<Inner>) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    let weak = Arc::downgrade(inner);
    let d1 = inner.cfg.crd_names_delay;
    let d2 = inner.cfg.crd_names_delay + inner.cfg.crd_established_delay;
    tokio::spawn(async move {
        for d in [d1, d2] {
            tokio::time::sleep(d).await;
            let Some(s) = weak.upgrade() else { return };
            {
                let mut st = s.lock();
                tick(&s, &mut st);
            }
            s.notify();
        }
    });
}

/// Runs after an object is gone: finishes a terminating CRD or namespace when it becomes empty.
pub(crate) fn after_removal(inner: &Inner, st: &mut State, res: &ResKey, key: &ObjKey) {
    // A CRD disappearing removes its type.
    if res.0 == CRD_RES.0 && res.1 == CRD_RES.1 {
        let gone: Vec<ResKey> = st
            .types
            .iter()
            .filter(|(_, s)| s.crd_name.as_deref() == Some(key.1.as_str()))
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            st.types.remove(&k);
            st.store.forget_resource(&k);
        }
        st.crd_timers.remove(&key.1);
        st.types_generation += 1;
        return;
    }
    if let Some(s) = st.types.get(res).cloned()
        && s.terminating
        && st.store.count(res, None) == 0
        && let Some(crd) = s.crd_name
    {
        finish_crd(inner, st, &crd);
    }
    if !key.0.is_empty() && st.terminating_ns.contains(&key.0) {
        maybe_finish_namespace(st, &key.0);
    }
    gc_orphans(inner, st);
}

/// The garbage collector's background propagation: dependents whose every owner is gone are
/// deleted (marked, if they carry finalizers).
fn gc_orphans(inner: &Inner, st: &mut State) {
    loop {
        let orphans = st.store.take_orphaned();
        if orphans.is_empty() {
            return;
        }
        let now = inner.now_string();
        for (r, k) in orphans {
            let Some(cur) = st.store.get(&r, &k).cloned() else {
                continue;
            };
            if finalizers(&cur).is_empty() {
                st.store.remove(&r, &k);
                after_removal(inner, st, &r, &k);
            } else if meta_str(&cur, "deletionTimestamp").is_empty() {
                st.store.put(&r, k.clone(), mark_deleting(&cur, &now));
            }
        }
    }
}

/// A copy of an object with deletionTimestamp set (and generation bumped where it has one).
fn mark_deleting(cur: &Value, now: &str) -> Value {
    let mut new = cur.clone();
    let m = meta_mut(&mut new);
    m.insert("deletionTimestamp".into(), json!(now));
    m.insert("deletionGracePeriodSeconds".into(), json!(0));
    if let Some(g) = m.get("generation").and_then(Value::as_i64) {
        m.insert("generation".into(), json!(g + 1));
    }
    new
}

/// Removes a CRD whose objects are gone (its cleanup finalizer dropped), and with it its type.
pub(crate) fn finish_crd(inner: &Inner, st: &mut State, crd_name: &str) {
    let res = res_key(CRD_RES.0, CRD_RES.1);
    let key = (String::new(), crd_name.to_string());
    if let Some(old) = st.store.get(&res, &key).cloned() {
        let mut new = (*old).clone();
        meta_mut(&mut new).remove("finalizers");
        st.store.put(&res, key.clone(), new);
        st.store.remove(&res, &key);
        after_removal(inner, st, &res, &key);
    }
}

/// Finishes a terminating namespace once no namespaced object is left in it.
pub(crate) fn maybe_finish_namespace(st: &mut State, ns: &str) {
    let remaining: usize = st
        .types
        .keys()
        .filter(|k| st.types[*k].rt.namespaced)
        .map(|k| st.store.count(k, Some(ns)))
        .sum();
    if remaining > 0 {
        return;
    }
    let res = res_key(NS_RES.0, NS_RES.1);
    let key = (String::new(), ns.to_string());
    if let Some(old) = st.store.get(&res, &key).cloned() {
        let mut new = (*old).clone();
        new["spec"]["finalizers"] = json!([]);
        st.store.put(&res, key.clone(), new);
        st.store.remove(&res, &key);
    }
    st.terminating_ns.remove(ns);
}

/// The garbage collector's part: it removes `orphan`/`foregroundDeletion` once (with no
/// dependents to wait for) and deletes the object if no other finalizer remains.
pub(crate) fn gc_finalizers(inner: &Inner, st: &mut State, res: &ResKey, key: &ObjKey) {
    let Some(cur) = st.store.get(res, key).cloned() else {
        return;
    };
    let fins = finalizers(&cur);
    let kept: Vec<String> = fins
        .iter()
        .filter(|f| *f != "orphan" && *f != "foregroundDeletion")
        .cloned()
        .collect();
    if kept.len() == fins.len() {
        return;
    }
    let mut new = (*cur).clone();
    if kept.is_empty() {
        meta_mut(&mut new).remove("finalizers");
    } else {
        meta_mut(&mut new).insert("finalizers".into(), json!(kept));
    }
    st.store.put(res, key.clone(), new);
    if kept.is_empty() {
        st.store.remove(res, key);
        after_removal(inner, st, res, key);
    }
}

/// Deletes every object of a type (optionally in one namespace), honouring finalizers.
pub(crate) fn delete_all_of(inner: &Inner, st: &mut State, res: &ResKey, ns: Option<&str>) {
    let now = inner.now_string();
    let keys: Vec<ObjKey> = st
        .store
        .list(res, ns, None, None)
        .map(|(k, _)| k.clone())
        .collect();
    for k in keys {
        let Some(cur) = st.store.get(res, &k).cloned() else {
            continue;
        };
        if finalizers(&cur).is_empty() {
            st.store.remove(res, &k);
        } else if meta_str(&cur, "deletionTimestamp").is_empty() {
            st.store.put(res, k.clone(), mark_deleting(&cur, &now));
        }
    }
    gc_orphans(inner, st);
}

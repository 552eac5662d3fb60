//! CRDs and objects the fake stores without a request: the `default` namespace and the builder's
//! CRDs when a server is built, and `FakeApiServer::register_crd` — stored, named and Established
//! at once.
//!
//! It goes through the same write pipeline as a request; it does not serve HTTP.

use super::context::{Ctx, FieldValidation};
use super::lifecycle::crd_set_conditions;
use super::object::{meta_str, new_namespace_object};
use super::write::{Managed, commit, default, prepare, prune};
use crate::error::Error;
use crate::state::{CRD_RES, Inner, NS_RES, State, res_key};
use crate::status::FieldError;
use crate::types;
use serde_json::Value;

/// Fills a new server: the `default` namespace, then the builder's CRDs (Established at once).
pub(crate) fn bootstrap(inner: &Inner, crds: Vec<Value>) -> Result<(), Error> {
    {
        let mut st = inner.lock();
        let now = inner.now_string();
        let ns = new_namespace_object("default", &inner.new_uid(&mut st), &now);
        st.store.put(
            &res_key(NS_RES.0, NS_RES.1),
            (String::new(), "default".into()),
            ns,
        );
        for crd in crds {
            install_crd_direct(inner, &mut st, crd)?;
        }
    }
    inner.notify();
    Ok(())
}

/// Registers a CRD at build time or through `register_crd`: stored, named and Established at once.
pub(crate) fn install_crd_direct(
    inner: &Inner,
    st: &mut State,
    mut crd: Value,
) -> Result<(), Error> {
    let name = meta_str(&crd, "name").to_string();
    if crd.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
        return Err(Error::NotACrd {
            name,
            found: crd
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        });
    }
    types::default_crd(&mut crd);
    if let Err(errs) = types::compile_crd(&crd) {
        return Err(Error::InvalidCrd {
            name,
            message: errs
                .iter()
                .map(FieldError::line)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let res = res_key(CRD_RES.0, CRD_RES.1);
    if st.store.get(&res, &(String::new(), name.clone())).is_some() {
        return Err(Error::CrdExists { name });
    }
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
        name: name.clone(),
        sub: String::new(),
        dry_run: false,
        manager: "fake-apiserver".into(),
        fv: FieldValidation::Ignore,
        now: inner.now_string(),
    };
    let mut obj = crd;
    // Unknown fields are dropped without a report, so this cannot fail.
    let _ = prune(&ctx, &mut obj, false);
    default(&ctx, &mut obj);
    prepare(&ctx, st, None, &mut obj);
    commit(&ctx, st, None, obj, Managed::Update, vec![]).map_err(|e| Error::InvalidCrd {
        name: name.clone(),
        message: e.message().to_string(),
    })?;
    st.crd_timers.remove(&name);
    crd_set_conditions(inner, st, &name, true);
    Ok(())
}

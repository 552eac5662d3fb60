//! What a validation on real systems created, and removing it: the [`Ledger`] of fabrics (each a
//! NetBox site and the cluster objects labelled with it), the VRFs of each workflow, the
//! SwitchProfiles and shared NetBox objects (device types, roles, manufacturers, VRFs, custom
//! fields) the setups added, and NetBox's object counts before the run. After each workflow its
//! fabric goes; at the end the shared objects go, widened custom fields get their object types
//! back, and the cleanup report checks that NetBox counts and the cluster are as they were.
//!
//! NetBox removals go through `netbox/` ([`NetboxClient::remove_site`], bulk deletes); cluster
//! removals through the person's kube client. It creates nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams};

use crate::hedgehog::Kind;
use crate::netbox::NetboxClient;
use crate::plan::LABEL_FABRIC;
use crate::validate::error::{Context, ValidateError};
use crate::validate::model::{StepReport, UserType, WorkflowReport};

/// Field manager (and `app.kubernetes.io/created-by` label) of the SwitchProfiles the validation
/// creates when the cluster lacks them.
pub const PROFILE_MANAGER: &str = "fabsync-validate";

/// NetBox endpoints whose object counts must be back where they were after the run.
const COUNTED: &[&str] = &[
    "dcim/sites",
    "dcim/devices",
    "dcim/interfaces",
    "dcim/cables",
    "dcim/mac-addresses",
    "dcim/device-roles",
    "dcim/device-types",
    "dcim/manufacturers",
    "dcim/virtual-chassis",
    "ipam/vlan-groups",
    "ipam/vlans",
    "ipam/vrfs",
    "ipam/prefixes",
    "ipam/ip-addresses",
    "extras/custom-fields",
    "extras/journal-entries",
    "extras/tags",
];

/// Shared NetBox objects a setup may create (reused by later workflows, removed at the end),
/// in deletion order.
const GLOBALS: &[&str] = &[
    "dcim/device-types",
    "dcim/device-roles",
    "dcim/manufacturers",
    "ipam/vrfs",
    "extras/custom-fields",
];

/// The custom fields endpoint (its objects' types are restored, not only deleted).
const CUSTOM_FIELDS: &str = "extras/custom-fields";

/// NetBox object counts (and the ids of shared objects) before the run.
#[derive(Debug, Clone, Default)]
pub(super) struct Inventory {
    counts: BTreeMap<&'static str, u64>,
    globals: BTreeMap<&'static str, BTreeSet<u64>>,
    /// Object types of every custom field, by id.
    custom_fields: BTreeMap<u64, Vec<String>>,
}

async fn inventory(nb: &NetboxClient) -> Result<Inventory, ValidateError> {
    let mut inv = Inventory::default();
    for ep in COUNTED {
        inv.counts.insert(ep, nb.count(ep).await?);
    }
    for ep in GLOBALS {
        let ids = nb
            .ids(ep, &[])
            .await
            .with_context(|| format!("listing {ep}"))?;
        inv.globals.insert(ep, ids.into_iter().collect());
    }
    inv.custom_fields = nb
        .custom_field_object_types()
        .await?
        .into_iter()
        .map(|(id, cf)| (id, cf.object_types))
        .collect();
    Ok(inv)
}

/// Deletes every object labelled `fabsync.githedgehog.com/fabric in (fabrics)` in `ns`, referrers
/// first, and waits (bounded) until none is left. Returns what is still there.
async fn remove_fabric_objects(
    kube: &kube::Client,
    ns: &str,
    fabrics: &[String],
    deadline: Duration,
) -> Result<Vec<String>, ValidateError> {
    if fabrics.is_empty() {
        return Ok(Vec::new());
    }
    let selector = format!("{LABEL_FABRIC} in ({})", fabrics.join(","));
    let mut kinds: Vec<Kind> = Kind::ALL.into_iter().filter(|k| k.is_planned()).collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.rank()));
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let mut left = Vec::new();
        for kind in &kinds {
            let api: Api<DynamicObject> =
                Api::namespaced_with(kube.clone(), ns, &kind.api_resource());
            let list = match api.list(&ListParams::default().labels(&selector)).await {
                Ok(l) => l,
                Err(kube::Error::Api(s)) if s.code == 404 => continue,
                Err(e) => {
                    return Err(
                        ValidateError::from(e).context(format!("listing {}", kind.plural()))
                    );
                }
            };
            for o in list.items {
                let name = o.metadata.name.clone().unwrap_or_default();
                left.push(format!("{}/{name}", kind.kind()));
                if o.metadata.deletion_timestamp.is_none() {
                    // Refusals (a referrer not gone yet) are retried on the next pass.
                    let _ = api.delete(&name, &DeleteParams::background()).await;
                }
            }
        }
        if left.is_empty() || tokio::time::Instant::now() >= until {
            return Ok(left);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Everything one validation run created, and what went wrong removing it.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    /// NetBox before the run (taken at the first setup).
    before: Option<Inventory>,
    /// Fabrics (sites) set up, in order.
    pub(super) fabrics: Vec<String>,
    /// SwitchProfiles created and not removed yet.
    created_profiles: Vec<String>,
    /// Every SwitchProfile this run created (for `target.json`).
    pub(super) profiles_ever_created: Vec<String>,
    /// VRFs each workflow's setup created, by fabric.
    workflow_vrfs: BTreeMap<String, Vec<u64>>,
    /// Removals that failed.
    problems: Vec<String>,
}

impl Ledger {
    /// Takes NetBox's inventory once, before the first setup writes anything.
    pub(super) async fn take_inventory(&mut self, nb: &NetboxClient) -> Result<(), ValidateError> {
        if self.before.is_none() {
            self.before = Some(inventory(nb).await?);
        }
        Ok(())
    }

    /// A fabric (site) is being set up.
    pub(super) fn fabric(&mut self, fabric: &str) {
        self.fabrics.push(fabric.to_string());
    }

    /// The VRFs a fabric's setup created (they carry its VPC settings and go with its site).
    pub(super) fn vrfs(&mut self, fabric: &str, ids: Vec<u64>) {
        self.workflow_vrfs.insert(fabric.to_string(), ids);
    }

    /// A SwitchProfile the setup created.
    pub(super) fn profile(&mut self, name: &str) {
        self.created_profiles.push(name.to_string());
        self.profiles_ever_created.push(name.to_string());
    }

    /// Removes one fabric's cluster objects and NetBox site (and its VRFs).
    pub(super) async fn reset(&mut self, nb: &NetboxClient, kube: &kube::Client, fabric: &str) {
        match remove_fabric_objects(
            kube,
            "default",
            &[fabric.to_string()],
            Duration::from_secs(120),
        )
        .await
        {
            Ok(left) if left.is_empty() => {}
            Ok(left) => self.problems.push(format!(
                "fabric {fabric}: {} cluster object(s) still there after 120 s: {}",
                left.len(),
                left.join(", ")
            )),
            Err(e) => self.problems.push(format!("fabric {fabric}: {e}")),
        }
        if let Err(e) = nb.remove_site(fabric).await {
            self.problems.push(format!("site {fabric}: {e}"));
        }
        let vrfs = self.workflow_vrfs.remove(fabric).unwrap_or_default();
        if let Err(e) = nb.bulk_delete("ipam/vrfs", &vrfs).await {
            self.problems.push(format!("site {fabric}: {e}"));
        }
    }

    /// Removes what the run created globally: its SwitchProfiles and the shared NetBox objects
    /// that were not there before; custom fields it widened get their object types back.
    pub(super) async fn cleanup_globals(&mut self, nb: &NetboxClient, kube: &kube::Client) {
        let Some(before) = self.before.clone() else {
            return;
        };
        let api: Api<DynamicObject> =
            Api::namespaced_with(kube.clone(), "default", &Kind::SwitchProfile.api_resource());
        for name in std::mem::take(&mut self.created_profiles) {
            if let Err(e) = api.delete(&name, &DeleteParams::background()).await
                && !matches!(&e, kube::Error::Api(s) if s.code == 404)
            {
                self.problems
                    .push(format!("deleting SwitchProfile {name}: {e}"));
            }
        }
        for ep in GLOBALS {
            // Custom fields are listed with their object types (to restore widened ones).
            let (now, custom_fields) = if *ep == CUSTOM_FIELDS {
                match nb.custom_field_object_types().await {
                    Ok(cfs) => (Ok(cfs.keys().copied().collect()), cfs),
                    Err(e) => (Err(e), BTreeMap::new()),
                }
            } else {
                (nb.ids(ep, &[]).await, BTreeMap::new())
            };
            let now: Vec<u64> = match now {
                Ok(ids) => ids,
                Err(e) => {
                    self.problems.push(format!("listing {ep}: {e}"));
                    continue;
                }
            };
            let new: Vec<u64> = now
                .into_iter()
                .filter(|id| !before.globals.get(ep).is_some_and(|b| b.contains(id)))
                .collect();
            if let Err(e) = nb.bulk_delete(ep, &new).await {
                self.problems
                    .push(format!("deleting {} {ep} objects: {e}", new.len()));
            }
            for (id, cf) in custom_fields {
                if let Some(types) = before.custom_fields.get(&id)
                    && *types != cf.object_types
                    && let Err(e) = nb.set_custom_field_object_types(id, types).await
                {
                    self.problems
                        .push(format!("restoring custom field {:?}: {e}", cf.name));
                }
            }
        }
    }

    /// The cleanup report: every NetBox count back where it was and no object of this run left
    /// in the cluster.
    pub(super) async fn report(&self, nb: &NetboxClient, kube: &kube::Client) -> WorkflowReport {
        let mut steps = Vec::new();
        let step =
            |name: &str, action: &str, expected: &str, passed: bool, observed: String| StepReport {
                name: name.into(),
                action: action.into(),
                expected: expected.into(),
                observed,
                passed,
                requirements: vec![],
                evidence: vec![],
                clock_ms: 0,
            };
        let mut diffs = Vec::new();
        if let Some(before) = &self.before {
            for (ep, n) in &before.counts {
                match nb.count(ep).await {
                    Ok(m) if m == *n => {}
                    Ok(m) => diffs.push(format!("{ep}: {n} before, {m} after")),
                    Err(e) => diffs.push(format!("{ep}: {e}")),
                }
            }
        }
        steps.push(step(
            "NetBox as before",
            "count every NetBox object type the run touched",
            "the same counts as before the run",
            diffs.is_empty() && self.before.is_some(),
            if diffs.is_empty() {
                format!(
                    "{} object types counted, all as before",
                    self.before.as_ref().map_or(0, |b| b.counts.len())
                )
            } else {
                diffs.join("; ")
            },
        ));
        let left = remove_fabric_objects(kube, "default", &self.fabrics, Duration::ZERO)
            .await
            .unwrap_or_else(|e| vec![e.to_string()]);
        let api: Api<DynamicObject> =
            Api::namespaced_with(kube.clone(), "default", &Kind::SwitchProfile.api_resource());
        let mut profiles_left = Vec::new();
        if let Ok(list) = api
            .list(
                &ListParams::default()
                    .labels(&format!("app.kubernetes.io/created-by={PROFILE_MANAGER}")),
            )
            .await
        {
            for o in list.items {
                if o.metadata.deletion_timestamp.is_none() {
                    profiles_left.push(o.metadata.name.unwrap_or_default());
                }
            }
        }
        steps.push(step(
            "cluster as before",
            "list every object labelled with one of the run's fabrics, and the SwitchProfiles it created",
            "none left",
            left.is_empty() && profiles_left.is_empty(),
            format!(
                "{} fabric(s); objects left: {left:?}; profiles left: {profiles_left:?}",
                self.fabrics.len()
            ),
        ));
        steps.push(step(
            "cleanup without errors",
            "remove each workflow's objects after it, and what the run created globally at the end",
            "every removal succeeded",
            self.problems.is_empty(),
            if self.problems.is_empty() {
                "no error".into()
            } else {
                self.problems.join("; ")
            },
        ));
        WorkflowReport::from_steps(
            "cleanup",
            "Everything the validation created in NetBox and the cluster is removed",
            UserType::Operator,
            steps,
        )
    }
}

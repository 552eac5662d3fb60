//! The plan: a pure function from a NetBox [`Snapshot`] to the desired Hedgehog objects and the
//! findings about the input. No IO, no clock, no randomness; deterministic and independent of
//! the order NetBox listed things in; never panics. The rules are written down one by one in
//! `docs/mapping.md`.
//!
//! It does not talk to NetBox or Kubernetes and does not diff against a cluster.

mod finding;
mod index;
mod ipam;
mod subnets;
mod values;
mod wiring;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use finding::{Finding, Severity};

use crate::hedgehog::Kind;
use crate::hedgehog::names::{NameProblem, is_rfc1123_label};
use crate::hedgehog::wiring::SwitchProfileSpec;
use crate::netbox::Snapshot;
use finding::{Findings, show};
use index::Index;

/// Switch profiles by name, as Hedgehog ships them to the cluster.
pub type SwitchProfiles = BTreeMap<String, SwitchProfileSpec>;

/// Label tying an object to its fabric.
pub const LABEL_FABRIC: &str = "fabsync.githedgehog.com/fabric";
/// Label naming the manager.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Annotation naming the NetBox source objects (`dcim.device/12`, `dcim.cable/3,4`).
pub const ANNOTATION_SOURCE: &str = "fabsync.githedgehog.com/netbox-source";

/// What to plan for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanConfig {
    /// Fabric name (label value on every object).
    pub fabric: String,
    /// Kubernetes namespace of every object (Hedgehog requires `default`).
    pub namespace: String,
}

impl PlanConfig {
    /// A config for `fabric` in namespace `default`.
    pub fn new(fabric: impl Into<String>) -> PlanConfig {
        PlanConfig {
            fabric: fabric.into(),
            namespace: "default".into(),
        }
    }
}

/// The NetBox objects a desired object was made from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceRef {
    /// NetBox object type (`dcim.device`).
    pub object_type: String,
    /// Ids, ascending.
    pub ids: Vec<u64>,
}

impl SourceRef {
    pub(crate) fn one(object_type: &str, id: u64) -> SourceRef {
        SourceRef {
            object_type: object_type.to_string(),
            ids: vec![id],
        }
    }

    pub(crate) fn many(object_type: &str, mut ids: Vec<u64>) -> SourceRef {
        ids.sort_unstable();
        ids.dedup();
        SourceRef {
            object_type: object_type.to_string(),
            ids,
        }
    }
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/", self.object_type)?;
        for (i, id) in self.ids.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

/// One Hedgehog object the cluster should hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DesiredObject {
    pub kind: Kind,
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The spec, built from the typed structs of `crate::hedgehog` (absent optionals omitted).
    pub spec: Value,
    pub source: SourceRef,
}

impl DesiredObject {
    /// The server-side-apply body: apiVersion, kind, metadata{name, namespace, labels,
    /// annotations}, spec.
    pub fn manifest(&self) -> Value {
        json!({
            "apiVersion": self.kind.api_version(),
            "kind": self.kind.kind(),
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": self.labels,
                "annotations": self.annotations,
            },
            "spec": self.spec,
        })
    }
}

/// Result of planning.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Plan {
    /// Sorted by reference order, then kind, then name.
    pub objects: Vec<DesiredObject>,
    /// Fatal first, then by NetBox object.
    pub findings: Vec<Finding>,
}

impl Plan {
    /// True when at least one finding is fatal (the run must write nothing).
    pub fn has_fatal(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Fatal)
    }

    /// Objects of one kind.
    pub fn objects_of(&self, kind: Kind) -> impl Iterator<Item = &DesiredObject> {
        self.objects.iter().filter(move |o| o.kind == kind)
    }

    /// Looks an object up by kind and name.
    pub fn get(&self, kind: Kind, name: &str) -> Option<&DesiredObject> {
        self.objects
            .iter()
            .find(|o| o.kind == kind && o.name == name)
    }

    /// Every manifest as multi-document YAML (`kubectl apply -f -` accepts it).
    pub fn to_yaml(&self) -> Result<String, serde_saphyr::SerializeError> {
        let mut out = String::new();
        for o in &self.objects {
            out.push_str("---\n");
            out.push_str(&serde_saphyr::to_string(&o.manifest())?);
        }
        Ok(out)
    }
}

/// Plans the desired Hedgehog objects of one fabric from a NetBox snapshot, without switch
/// profiles: breakout modes are checked for their form only.
pub fn plan(snapshot: &Snapshot, cfg: &PlanConfig) -> Plan {
    plan_with_profiles(snapshot, cfg, &SwitchProfiles::new())
}

/// Plans like [`plan`], and checks every port breakout of a switch whose profile is in
/// `profiles` (and lists its ports) against the modes the profile supports for that port, as
/// Hedgehog's switch webhook does.
pub fn plan_with_profiles(
    snapshot: &Snapshot,
    cfg: &PlanConfig,
    profiles: &SwitchProfiles,
) -> Plan {
    let mut findings = Findings::default();
    let idx = Index::new(snapshot, &mut findings);
    let mut b = Builder {
        cfg,
        idx: &idx,
        profiles,
        f: findings,
        objects: Vec::new(),
    };
    if !is_rfc1123_label(&cfg.fabric) {
        b.f.fatal(
            "invalid-fabric-name",
            "dcim.site",
            idx.site.id,
            &idx.site.name,
            "slug",
            format!(
                "fabric name {} is not usable as a Kubernetes label value (lowercase letters, digits and '-', at most 63 characters)",
                show(&cfg.fabric)
            ),
        );
    }
    if cfg.namespace != "default" {
        b.f.warn(
            "namespace",
            "dcim.site",
            idx.site.id,
            &idx.site.name,
            "namespace",
            format!(
                "namespace {} is not \"default\"; Hedgehog's webhooks only accept objects in \"default\"",
                show(&cfg.namespace)
            ),
        );
    }
    let wiring = wiring::plan_wiring(&mut b);
    ipam::plan_ipam(&mut b, &wiring);
    b.finish()
}

/// What is wrong with `name` as the name of a `kind` object, if anything: Kubernetes' object-name
/// rule (`IsDNS1123Subdomain`: the lowercase subdomain regex and at most 253 characters; unlike a
/// DNS label, a dot-free name may be longer than 63) plus Hedgehog's 11-character limits.
fn name_problem(kind: Kind, name: &str) -> Option<NameProblem> {
    if name.is_empty() {
        return Some(NameProblem::Empty);
    }
    let max = kind.max_name_len();
    if name.len() > max {
        return Some(NameProblem::TooLong {
            len: name.len(),
            max,
        });
    }
    let label_ok = |label: &str| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    };
    if name.split('.').all(label_ok) {
        None
    } else {
        Some(NameProblem::NotRfc1123)
    }
}

/// Shared state of one planning pass.
pub(crate) struct Builder<'a> {
    pub cfg: &'a PlanConfig,
    pub idx: &'a Index<'a>,
    /// The switch profiles known to the plan (possibly none).
    pub profiles: &'a SwitchProfiles,
    pub f: Findings,
    pub objects: Vec<DesiredObject>,
}

impl Builder<'_> {
    /// Adds an object when its name is acceptable for `kind` and no string in its spec is
    /// longer than 1024 characters; otherwise records a fatal finding against `source` and adds
    /// nothing.
    pub(crate) fn add<T: Serialize>(
        &mut self,
        kind: Kind,
        name: &str,
        spec: &T,
        source: SourceRef,
        name_field: &str,
        source_name: &str,
    ) -> bool {
        if let Some(problem) = name_problem(kind, name) {
            let code = match problem {
                NameProblem::TooLong { .. } if kind.max_name_len() < 253 => "name-too-long",
                _ => "invalid-name",
            };
            self.f.fatal(
                code,
                &source.object_type,
                source.ids.first().copied().unwrap_or(0),
                source_name,
                name_field,
                format!("{kind} name {} {problem}", show(name)),
            );
            return false;
        }
        let spec = match serde_json::to_value(spec) {
            Ok(v) => v,
            Err(e) => {
                self.f.fatal(
                    "unencodable",
                    &source.object_type,
                    source.ids.first().copied().unwrap_or(0),
                    source_name,
                    "spec",
                    format!("{kind} {} cannot be encoded: {e}", show(name)),
                );
                return false;
            }
        };
        if let Some((path, len)) = values::long_string(&spec) {
            self.f.fatal(
                "field-too-long",
                &source.object_type,
                source.ids.first().copied().unwrap_or(0),
                source_name,
                &path,
                format!(
                    "{kind} {} would carry {len} characters in {path}",
                    show(name)
                ),
            );
            return false;
        }
        let mut labels = BTreeMap::new();
        labels.insert(LABEL_FABRIC.to_string(), self.cfg.fabric.clone());
        labels.insert(LABEL_MANAGED_BY.to_string(), "fabsync".to_string());
        let mut annotations = BTreeMap::new();
        annotations.insert(ANNOTATION_SOURCE.to_string(), source.to_string());
        self.objects.push(DesiredObject {
            kind,
            name: name.to_string(),
            namespace: self.cfg.namespace.clone(),
            labels,
            annotations,
            spec,
            source,
        });
        true
    }

    fn finish(mut self) -> Plan {
        self.objects.sort_by(|a, b| {
            (a.kind.rank(), a.kind, &a.name).cmp(&(b.kind.rank(), b.kind, &b.name))
        });
        // Two objects of one kind with one name: the cluster can hold only one (the first
        // planned is kept; the sort is stable). `dedup_by` passes (later, kept earlier).
        let f = &mut self.f;
        self.objects.dedup_by(|cur, prev| {
            if prev.kind != cur.kind || prev.name != cur.name {
                return false;
            }
            f.fatal(
                "name-collision",
                &cur.source.object_type,
                cur.source.ids.first().copied().unwrap_or(0),
                &cur.name,
                "name",
                format!(
                    "{} {:?} would be made from both {} and {}",
                    cur.kind, cur.name, prev.source, cur.source
                ),
            );
            true
        });
        Plan {
            objects: self.objects,
            findings: self.f.into_sorted(),
        }
    }
}

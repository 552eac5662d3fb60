//! The Prometheus series of `/metrics` as a `prometheus-client` collector: run totals by fabric,
//! trigger and phase, the run duration histogram, per-fabric gauges (status, last success, next
//! run, objects, running) and whether the scheduler is up; series come out sorted, so equal
//! records give equal bytes.
//!
//! Run totals come from the store's run records (so they survive restarts: the first scrape reads
//! the history, later scrapes add only runs that finished since). It does not serve HTTP
//! (`health.rs` does) and changes nothing.

use std::collections::BTreeMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;

use crate::scheduler::Scheduler;
use crate::store::{FabricStatus, Phase, RunRecord, Store, StoreError};

/// Buckets of the run duration histogram, in seconds.
const DURATION_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

fn phase_label(p: Phase) -> String {
    p.as_str().to_ascii_lowercase()
}

/// One histogram series: per-bucket counts (not cumulative), sum and count.
#[derive(Debug, Clone, Default)]
struct Hist {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Hist {
    fn observe(&mut self, v: f64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; DURATION_BUCKETS.len()];
        }
        if let Some(i) = DURATION_BUCKETS.iter().position(|b| v <= *b) {
            self.buckets[i] += 1;
        }
        self.sum += v;
        self.count += 1;
    }
}

/// Totals over run records, by sorted label values.
#[derive(Debug, Clone, Default)]
struct Totals {
    /// (fabric, trigger, result) → runs.
    runs: BTreeMap<(String, String, String), u64>,
    /// (fabric, result) → durations.
    duration: BTreeMap<(String, String), Hist>,
    /// (fabric, action) → objects written by successful runs.
    objects: BTreeMap<(String, &'static str), u64>,
    /// (fabric, server) → requests.
    api_calls: BTreeMap<(String, &'static str), u64>,
    /// fabric → effective cluster writes.
    writes: BTreeMap<String, u64>,
    /// fabric → drift repaired.
    drift: BTreeMap<String, u64>,
}

impl Totals {
    fn count_run(&mut self, r: &RunRecord) {
        let f = || r.fabric.clone();
        *self
            .runs
            .entry((
                f(),
                r.trigger.as_str().to_string(),
                phase_label(r.end.phase),
            ))
            .or_default() += 1;
        if let Some(ms) = r.end.duration_ms {
            self.duration
                .entry((f(), phase_label(r.end.phase)))
                .or_default()
                .observe(ms as f64 / 1000.0);
        }
        // Objects count as written only when their run succeeded (a failed run wrote nothing
        // or rolled back).
        if r.end.phase == Phase::Success {
            for (action, n) in [
                ("create", r.end.counts.created),
                ("update", r.end.counts.updated),
                ("delete", r.end.counts.deleted),
            ] {
                *self.objects.entry((f(), action)).or_default() += n;
            }
        }
        *self.api_calls.entry((f(), "cluster")).or_default() += r.end.cluster_calls;
        *self.api_calls.entry((f(), "netbox")).or_default() += r.end.netbox_calls;
        *self.writes.entry(f()).or_default() += r.end.writes;
        *self.drift.entry(f()).or_default() += r.end.drift;
    }

    /// Every fabric has its counter series, even before its first run.
    fn touch(&mut self, fabric: &str) {
        for action in ["create", "update", "delete"] {
            self.objects
                .entry((fabric.to_string(), action))
                .or_default();
        }
        for server in ["cluster", "netbox"] {
            self.api_calls
                .entry((fabric.to_string(), server))
                .or_default();
        }
        self.writes.entry(fabric.to_string()).or_default();
        self.drift.entry(fabric.to_string()).or_default();
    }
}

/// The state of one fabric at scrape time.
#[derive(Debug, Clone)]
struct FabricGauges {
    name: String,
    status: FabricStatus,
    last_success: Option<i64>,
    next_run: Option<i64>,
    objects: Option<u64>,
    running: bool,
}

/// What one scrape encodes.
#[derive(Debug, Clone)]
pub(crate) struct Scrape {
    totals: Totals,
    fabrics: Vec<FabricGauges>,
    scheduler_up: bool,
}

/// The run totals kept between scrapes: each scrape adds only the runs that finished since the
/// last one, so a long history costs one read at the first scrape, not at every scrape.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    totals: Totals,
    /// Per fabric: every run with an id up to this one has been counted (or passed over as
    /// unfinished and superseded).
    counted_upto: BTreeMap<String, i64>,
}

impl Metrics {
    /// Counts the runs of `fabric` that finished since the last scrape.
    fn catch_up(&mut self, store: &Store, fabric: &str) -> Result<(), StoreError> {
        let after = self.counted_upto.get(fabric).copied().unwrap_or(0);
        // Newest first; widen the window until it reaches back to what was counted.
        let mut limit = 64;
        let window = loop {
            let runs = store.runs(fabric, limit)?;
            if runs.len() < limit || runs.last().is_some_and(|r| r.id <= after) {
                break runs;
            }
            limit = limit.saturating_mul(4);
        };
        let fresh: Vec<&RunRecord> = window.iter().rev().filter(|r| r.id > after).collect();
        let newest = fresh.last().map(|r| r.id);
        for r in fresh {
            if !r.end.phase.is_final() {
                if Some(r.id) == newest {
                    // Still running: counted once it ends.
                    break;
                }
                // An older run left unfinished is never counted; move past it.
                self.counted_upto.insert(fabric.to_string(), r.id);
                continue;
            }
            self.totals.count_run(r);
            self.counted_upto.insert(fabric.to_string(), r.id);
        }
        Ok(())
    }

    /// Everything one scrape encodes: the run totals brought up to date, each fabric's gauges and
    /// whether the scheduler runs.
    pub(crate) fn scrape(
        &mut self,
        store: &Store,
        scheduler: &Scheduler,
    ) -> Result<Scrape, StoreError> {
        let fabrics = store.fabrics()?;
        for f in &fabrics {
            self.catch_up(store, &f.name)?;
            self.totals.touch(&f.name);
        }
        Ok(Scrape {
            totals: self.totals.clone(),
            fabrics: fabrics
                .iter()
                .map(|f| FabricGauges {
                    name: f.name.clone(),
                    status: f.status,
                    last_success: f.last_success_at.map(|t| t.as_second()),
                    next_run: f.next_run_at.map(|t| t.as_second()),
                    objects: f.object_count,
                    running: scheduler.is_running(&f.name),
                })
                .collect(),
            scheduler_up: scheduler.is_alive(),
        })
    }
}

fn counters<'a, L: EncodeLabelSet + 'a>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl Iterator<Item = (L, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, v) in series {
        m.encode_family(&labels)?
            .encode_counter::<NoLabelSet, u64, u64>(&v, None)?;
    }
    Ok(())
}

fn gauges<L: EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl Iterator<Item = (L, i64)>,
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in series {
        m.encode_family(&labels)?.encode_gauge(&v)?;
    }
    Ok(())
}

impl Collector for Scrape {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let t = &self.totals;
        counters(
            &mut enc,
            "runs",
            "Finished sync runs by fabric, trigger and result",
            t.runs.iter().map(|((f, tr, r), v)| {
                (
                    [
                        ("fabric", f.as_str()),
                        ("trigger", tr.as_str()),
                        ("result", r.as_str()),
                    ],
                    *v,
                )
            }),
        )?;
        {
            let mut m = enc.encode_descriptor(
                "run_duration_seconds",
                "Duration of finished sync runs",
                None,
                MetricType::Histogram,
            )?;
            for ((f, r), h) in &t.duration {
                let buckets: Vec<(f64, u64)> = DURATION_BUCKETS
                    .iter()
                    .copied()
                    .zip(h.buckets.iter().copied())
                    .collect();
                m.encode_family(&[("fabric", f.as_str()), ("result", r.as_str())])?
                    .encode_histogram::<NoLabelSet>(h.sum, h.count, &buckets, None)?;
            }
        }
        counters(
            &mut enc,
            "objects_written",
            "Objects created, updated or deleted in the cluster by successful runs",
            t.objects
                .iter()
                .map(|((f, a), v)| ([("fabric", f.as_str()), ("action", *a)], *v)),
        )?;
        counters(
            &mut enc,
            "api_calls",
            "Requests sent to the cluster and to NetBox by sync runs",
            t.api_calls
                .iter()
                .map(|((f, s), v)| ([("fabric", f.as_str()), ("server", *s)], *v)),
        )?;
        counters(
            &mut enc,
            "cluster_writes",
            "Cluster writes that took effect (not dry-run), all runs",
            t.writes.iter().map(|(f, v)| ([("fabric", f.as_str())], *v)),
        )?;
        counters(
            &mut enc,
            "drift_repaired",
            "Objects changed in the cluster by hand that runs put back",
            t.drift.iter().map(|(f, v)| ([("fabric", f.as_str())], *v)),
        )?;
        let fab = &self.fabrics;
        gauges(
            &mut enc,
            "last_success_timestamp_seconds",
            "When the fabric's last successful run finished (Unix time)",
            fab.iter()
                .filter_map(|f| f.last_success.map(|v| ([("fabric", f.name.as_str())], v))),
        )?;
        gauges(
            &mut enc,
            "next_run_timestamp_seconds",
            "When the scheduler runs the fabric next (Unix time)",
            fab.iter()
                .filter_map(|f| f.next_run.map(|v| ([("fabric", f.name.as_str())], v))),
        )?;
        gauges(
            &mut enc,
            "fabric_status",
            "The fabric's status (1 for the current one)",
            fab.iter().flat_map(|f| {
                FabricStatus::ALL.iter().map(move |s| {
                    (
                        [("fabric", f.name.as_str()), ("status", s.as_str())],
                        i64::from(f.status == *s),
                    )
                })
            }),
        )?;
        gauges(
            &mut enc,
            "fabric_objects",
            "Objects fabsync owns in the cluster after the fabric's last successful run",
            fab.iter()
                .filter_map(|f| f.objects.map(|v| ([("fabric", f.name.as_str())], v as i64))),
        )?;
        gauges(
            &mut enc,
            "fabric_running",
            "Whether a run of the fabric is in progress",
            fab.iter()
                .map(|f| ([("fabric", f.name.as_str())], i64::from(f.running))),
        )?;
        let mut m = enc.encode_descriptor(
            "scheduler_up",
            "Whether the scheduler takes work",
            None,
            MetricType::Gauge,
        )?;
        m.encode_gauge(&i64::from(self.scheduler_up))?;
        Ok(())
    }
}

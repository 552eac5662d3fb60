//! One seed's scenario: which fabrics and replicas the world has, and the timed operation
//! stream (what people do to NetBox, the cluster and fabsync, the faults, the crashes) — all
//! drawn from the seed alone, so the same seed always yields the same scenario.
//!
//! It runs nothing: `world.rs` carries the operations out. Operations name their targets by
//! index (`pick`), resolved against the world when they run, so a shrunk stream stays valid.

use std::fmt;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Limits of one simulation (the command line's options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Virtual minutes of operations per seed (the liveness phase follows).
    pub minutes: u64,
    /// At most this many fabrics per seed.
    pub fabrics: u32,
    /// At most this many fabsync replicas per seed.
    pub replicas: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            minutes: 24 * 60,
            fabrics: 2,
            replicas: 2,
        }
    }
}

/// What NetBox holds for one fabric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The Hedgehog VLAB fabric.
    Vlab,
    /// A spine-less mesh of leaves.
    Mesh,
    /// A small random fabric drawn from this seed.
    Random(u64),
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Vlab => f.write_str("vlab"),
            Shape::Mesh => f.write_str("mesh"),
            Shape::Random(s) => write!(f, "random({s})"),
        }
    }
}

/// One fabric of the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FabricPlan {
    /// Fabric name = NetBox site slug = cluster namespace.
    pub name: String,
    /// Its NetBox content.
    pub shape: Shape,
    /// Periodic interval.
    pub interval_secs: u64,
}

/// A fault of one of the fakes, switched on by [`Op::FaultOn`] and off by [`Op::FaultOff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The cluster refuses connections.
    ClusterDown,
    /// fabsync presents a token the cluster refuses.
    ClusterBadToken,
    /// The next `times` cluster requests answer 500/503.
    ClusterErrors { times: u32, code: u16 },
    /// The next `times` server-side applies answer 429 with `Retry-After`.
    ClusterThrottle { times: u32, secs: u32 },
    /// Every cluster request takes this long.
    ClusterSlow { millis: u64 },
    /// fabsync's `n`-th Hedgehog write from now (to any cluster) fails with 500.
    FailNthWrite { n: u64 },
    /// Just before the `n`-th write from now, another field manager changes an owned Switch.
    ConcurrentWriter { n: u64, pick: u32 },
    /// The cluster compacts its history (410 for older resourceVersions).
    Compact,
    /// The cluster closes every watch.
    DropWatches,
    /// NetBox refuses connections.
    NetboxDown,
    /// NetBox refuses every token.
    NetboxBadToken,
    /// The next `times` NetBox requests answer 5xx.
    NetboxErrors { times: u32, code: u16 },
    /// The next `times` NetBox requests answer 429 with `Retry-After`.
    NetboxThrottle { times: u32, secs: u64 },
    /// Every NetBox request takes this long.
    NetboxSlow { millis: u64 },
    /// The next `times` NetBox answers are cut in half.
    NetboxTruncated { times: u32 },
}

/// One thing that happens to the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A person changes a device's description in NetBox.
    Describe { fabric: usize, pick: u32, text: u32 },
    /// A person changes several devices' descriptions in one bulk request.
    BulkDescribe {
        fabric: usize,
        count: u32,
        text: u32,
    },
    /// A person renames a server in NetBox.
    RenameServer {
        fabric: usize,
        pick: u32,
        suffix: u32,
    },
    /// A person deletes a server in NetBox (its cables go with it).
    DeleteServer { fabric: usize, pick: u32 },
    /// A person adds a server with one NIC cabled to a free leaf port.
    AddServer { fabric: usize, number: u32 },
    /// A person adds or removes a tag on a device.
    ToggleTag { fabric: usize, pick: u32 },
    /// A person moves a server to another site (out of the fabric); undone by [`Op::Repair`].
    MoveAway {
        fabric: usize,
        pick: u32,
        token: u32,
    },
    /// A person gives a server a name no Kubernetes object can have; undone by [`Op::Repair`].
    Invalidate {
        fabric: usize,
        pick: u32,
        token: u32,
    },
    /// A person undoes the move or the invalid name `token` made.
    Repair { token: u32 },
    /// A person changes the end of a VLAN group's range.
    VlanRange { fabric: usize, pick: u32, end: u32 },
    /// NetBox's database is copied (a nightly backup).
    Backup { slot: u32 },
    /// NetBox is restored from backup `slot` (its change log goes back with it).
    Restore { slot: u32 },
    /// A person changes an owned Switch or Server's description in the cluster.
    HandEdit { fabric: usize, pick: u32 },
    /// A person deletes an owned object in the cluster.
    HandDelete { fabric: usize, pick: u32 },
    /// A person creates a Server without fabsync's label in the fabric's namespace.
    HandCreate { fabric: usize, number: u32 },
    /// Right after fabsync's next write of a Switch or Server of the fabric, a person changes it.
    EditAfterWrite { fabric: usize },
    /// A person clicks Sync Now (the JSON API of one replica).
    SyncNow { fabric: usize, replica: usize },
    /// A person approves held deletions (Sync Now with `prune: true`).
    Approve { fabric: usize, replica: usize },
    /// A person changes the fabric's interval on one replica.
    SetInterval {
        fabric: usize,
        replica: usize,
        secs: u64,
    },
    /// A fault starts.
    FaultOn { id: u32, fault: Fault },
    /// The fault `id` stops.
    FaultOff { id: u32 },
    /// A replica's process dies.
    Crash { replica: usize },
    /// A replica's process dies right after its `writes`-th cluster write from now.
    CrashAfterWrites { replica: usize, writes: u32 },
    /// A dead replica starts again on its store.
    Restart { replica: usize },
    /// A replica can no longer reach the Leases (its renewals fail), or can again.
    LeasePartition { replica: usize, on: bool },
    /// As [`Op::LeasePartition`] on, for the replica whose next run of `fabric` reaches its
    /// apply stage.
    LeasePartitionAtApply { fabric: usize },
    /// Every replica reaches the Leases again.
    LeaseHeal,
    /// A replica's disk fills up (its store refuses writes), or has room again.
    StoreFull { replica: usize, on: bool },
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Describe { fabric, pick, text } => {
                write!(
                    f,
                    "netbox: describe device #{pick} of fabric {fabric} as note-{text}"
                )
            }
            Op::BulkDescribe {
                fabric,
                count,
                text,
            } => write!(
                f,
                "netbox: bulk-describe {count} devices of fabric {fabric} as bulk-{text}"
            ),
            Op::RenameServer {
                fabric,
                pick,
                suffix,
            } => write!(
                f,
                "netbox: rename server #{pick} of fabric {fabric} (suffix {suffix})"
            ),
            Op::DeleteServer { fabric, pick } => {
                write!(f, "netbox: delete server #{pick} of fabric {fabric}")
            }
            Op::AddServer { fabric, number } => {
                write!(f, "netbox: add server sim-{number} to fabric {fabric}")
            }
            Op::ToggleTag { fabric, pick } => {
                write!(
                    f,
                    "netbox: toggle a tag on device #{pick} of fabric {fabric}"
                )
            }
            Op::MoveAway {
                fabric,
                pick,
                token,
            } => write!(
                f,
                "netbox: move server #{pick} of fabric {fabric} to another site (repair {token})"
            ),
            Op::Invalidate {
                fabric,
                pick,
                token,
            } => write!(
                f,
                "netbox: give server #{pick} of fabric {fabric} an invalid name (repair {token})"
            ),
            Op::Repair { token } => write!(f, "netbox: repair {token}"),
            Op::VlanRange { fabric, pick, end } => write!(
                f,
                "netbox: VLAN group #{pick} of fabric {fabric} ends at {end}"
            ),
            Op::Backup { slot } => write!(f, "netbox: backup to slot {slot}"),
            Op::Restore { slot } => write!(f, "netbox: restore from slot {slot}"),
            Op::HandEdit { fabric, pick } => {
                write!(
                    f,
                    "cluster: hand-edit owned object #{pick} of fabric {fabric}"
                )
            }
            Op::HandDelete { fabric, pick } => {
                write!(
                    f,
                    "cluster: hand-delete owned object #{pick} of fabric {fabric}"
                )
            }
            Op::HandCreate { fabric, number } => write!(
                f,
                "cluster: hand-create unlabelled Server hand-{number} in fabric {fabric}'s namespace"
            ),
            Op::EditAfterWrite { fabric } => write!(
                f,
                "cluster: edit the next Switch/Server fabsync writes in fabric {fabric}, right after the write"
            ),
            Op::SyncNow { fabric, replica } => {
                write!(
                    f,
                    "fabsync: Sync Now of fabric {fabric} on replica {replica}"
                )
            }
            Op::Approve { fabric, replica } => write!(
                f,
                "fabsync: approve deletions of fabric {fabric} on replica {replica}"
            ),
            Op::SetInterval {
                fabric,
                replica,
                secs,
            } => write!(
                f,
                "fabsync: interval of fabric {fabric} on replica {replica} = {secs} s"
            ),
            Op::FaultOn { id, fault } => write!(f, "fault {id} on: {fault:?}"),
            Op::FaultOff { id } => write!(f, "fault {id} off"),
            Op::Crash { replica } => write!(f, "process: replica {replica} dies"),
            Op::CrashAfterWrites { replica, writes } => write!(
                f,
                "process: replica {replica} dies right after its {writes}. cluster write from now"
            ),
            Op::Restart { replica } => write!(f, "process: replica {replica} starts again"),
            Op::LeasePartition { replica, on } => write!(
                f,
                "process: replica {replica} {} the Leases",
                if *on { "cannot reach" } else { "reaches again" }
            ),
            Op::LeasePartitionAtApply { fabric } => write!(
                f,
                "process: the replica whose run of fabric {fabric} applies next cannot reach the Leases from then on"
            ),
            Op::LeaseHeal => write!(f, "process: every replica reaches the Leases again"),
            Op::StoreFull { replica, on } => write!(
                f,
                "process: replica {replica}'s disk {}",
                if *on { "is full" } else { "has room again" }
            ),
        }
    }
}

/// An operation at a virtual time (seconds from the start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed {
    /// Seconds from the start of the seed.
    pub at: u64,
    /// What happens.
    pub op: Op,
}

/// Everything one seed does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The seed.
    pub seed: u64,
    /// The limits it was drawn under.
    pub limits: Limits,
    /// The fabrics.
    pub fabrics: Vec<FabricPlan>,
    /// fabsync replicas (each with its own store, Leases on).
    pub replicas: usize,
    /// The operations, by time.
    pub ops: Vec<Timed>,
}

impl Scenario {
    /// The scenario of `seed` under `limits`.
    pub fn draw(seed: u64, limits: Limits) -> Scenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5c3e_a210_0b5e_55ed);
        let n_fabrics = rng.random_range(1..=limits.fabrics.max(1)) as usize;
        let replicas = rng.random_range(1..=limits.replicas.max(1)) as usize;
        let intervals = [120, 300, 600, 900];
        let fabrics = (0..n_fabrics)
            .map(|i| FabricPlan {
                name: format!("fab{i}"),
                shape: match (i, rng.random_range(0..4u32)) {
                    (0, 0..=1) => Shape::Vlab,
                    (_, 0) => Shape::Mesh,
                    _ => Shape::Random(rng.random::<u32>() as u64),
                },
                interval_secs: intervals[rng.random_range(0..intervals.len())],
            })
            .collect();
        let horizon = limits.minutes.max(1) * 60;
        let per_hour = rng.random_range(3..=10u64);
        let count = (limits.minutes.max(1) * per_hour).div_ceil(60) as usize;
        let mut d = Drawer {
            rng,
            fabrics: n_fabrics,
            replicas,
            horizon,
            ops: Vec::new(),
            next_id: 0,
        };
        for _ in 0..count {
            let at = d.rng.random_range(30.min(horizon - 1)..horizon);
            d.draw_op(at);
        }
        let mut ops = d.ops;
        ops.sort_by_key(|t| t.at);
        Scenario {
            seed,
            limits,
            fabrics,
            replicas,
            ops,
        }
    }

    /// Virtual seconds the operations span (the liveness phase follows).
    pub fn horizon(&self) -> u64 {
        self.limits.minutes.max(1) * 60
    }
}

struct Drawer {
    rng: ChaCha8Rng,
    fabrics: usize,
    replicas: usize,
    horizon: u64,
    ops: Vec<Timed>,
    next_id: u32,
}

impl Drawer {
    fn push(&mut self, at: u64, op: Op) {
        self.ops.push(Timed {
            at: at.min(self.horizon),
            op,
        });
    }

    fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn later(&mut self, at: u64, min: u64, max: u64) -> u64 {
        at + self.rng.random_range(min..=max)
    }

    fn draw_op(&mut self, at: u64) {
        let fabric = self.rng.random_range(0..self.fabrics);
        let replica = self.rng.random_range(0..self.replicas);
        let pick = self.rng.random::<u32>();
        let text = self.rng.random_range(0..1000u32);
        match self.rng.random_range(0..100u32) {
            0..=9 => self.push(at, Op::Describe { fabric, pick, text }),
            10..=12 => {
                let count = self.rng.random_range(2..=6);
                self.push(
                    at,
                    Op::BulkDescribe {
                        fabric,
                        count,
                        text,
                    },
                )
            }
            13..=15 => self.push(
                at,
                Op::RenameServer {
                    fabric,
                    pick,
                    suffix: text,
                },
            ),
            16..=18 => self.push(at, Op::DeleteServer { fabric, pick }),
            19..=21 => self.push(
                at,
                Op::AddServer {
                    fabric,
                    number: text,
                },
            ),
            22..=23 => self.push(at, Op::ToggleTag { fabric, pick }),
            24..=25 => {
                let token = self.id();
                self.push(
                    at,
                    Op::MoveAway {
                        fabric,
                        pick,
                        token,
                    },
                );
                let fix = self.later(at, 60, 3600);
                self.push(fix, Op::Repair { token });
            }
            26..=28 => {
                let token = self.id();
                self.push(
                    at,
                    Op::Invalidate {
                        fabric,
                        pick,
                        token,
                    },
                );
                let fix = self.later(at, 60, 3600);
                self.push(fix, Op::Repair { token });
            }
            29..=30 => {
                let end = self.rng.random_range(1500..=3000);
                self.push(at, Op::VlanRange { fabric, pick, end });
            }
            31..=33 => {
                let slot = self.id();
                self.push(at, Op::Backup { slot });
                let back = self.later(at, 300, 4 * 3600);
                self.push(back, Op::Restore { slot });
            }
            34..=38 => self.push(at, Op::HandEdit { fabric, pick }),
            39..=41 => self.push(at, Op::HandDelete { fabric, pick }),
            42..=43 => self.push(
                at,
                Op::HandCreate {
                    fabric,
                    number: text,
                },
            ),
            44..=46 => self.push(at, Op::EditAfterWrite { fabric }),
            47..=52 => self.push(at, Op::SyncNow { fabric, replica }),
            53..=54 => self.push(at, Op::Approve { fabric, replica }),
            55..=56 => {
                let secs = [60, 120, 300, 600][self.rng.random_range(0..4usize)];
                self.push(
                    at,
                    Op::SetInterval {
                        fabric,
                        replica,
                        secs,
                    },
                )
            }
            57..=79 => {
                let fault = self.fault(pick);
                let id = self.id();
                self.push(at, Op::FaultOn { id, fault });
                let off = self.later(at, 10, 1800);
                self.push(off, Op::FaultOff { id });
            }
            80..=83 => {
                self.push(at, Op::Crash { replica });
                let back = self.later(at, 1, 600);
                self.push(back, Op::Restart { replica });
            }
            84..=88 => {
                let writes = self.rng.random_range(1..=12);
                self.push(at, Op::CrashAfterWrites { replica, writes });
                let back = self.later(at, 30, 1200);
                self.push(back, Op::Restart { replica });
            }
            89..=91 => {
                self.push(at, Op::LeasePartition { replica, on: true });
                let off = self.later(at, 5, 120);
                self.push(off, Op::LeasePartition { replica, on: false });
            }
            92..=95 => {
                // A slow cluster keeps a run with several writes in its apply stage past the
                // Lease's expiry.
                let id = self.id();
                let millis = self.rng.random_range(2000..=4000);
                self.push(
                    at,
                    Op::FaultOn {
                        id,
                        fault: Fault::ClusterSlow { millis },
                    },
                );
                self.push(at, Op::LeasePartitionAtApply { fabric });
                self.push(
                    at,
                    Op::BulkDescribe {
                        fabric,
                        count: 6,
                        text,
                    },
                );
                self.push(at, Op::SyncNow { fabric, replica });
                let off = self.later(at, 120, 600);
                self.push(off, Op::FaultOff { id });
                self.push(off, Op::LeaseHeal);
            }
            _ => {
                self.push(at, Op::StoreFull { replica, on: true });
                let off = self.later(at, 10, 900);
                self.push(off, Op::StoreFull { replica, on: false });
            }
        }
    }

    fn fault(&mut self, pick: u32) -> Fault {
        let r = &mut self.rng;
        match r.random_range(0..15u32) {
            0 => Fault::ClusterDown,
            1 => Fault::ClusterBadToken,
            2 => Fault::ClusterErrors {
                times: r.random_range(1..=20),
                code: [500, 503][r.random_range(0..2usize)],
            },
            3 => Fault::ClusterThrottle {
                times: r.random_range(1..=10),
                secs: r.random_range(1..=5),
            },
            4 => Fault::ClusterSlow {
                millis: r.random_range(50..=1500),
            },
            5 | 6 => Fault::FailNthWrite {
                n: r.random_range(1..=5),
            },
            7 => Fault::ConcurrentWriter {
                n: r.random_range(1..=10),
                pick,
            },
            8 => {
                if r.random_bool(0.5) {
                    Fault::Compact
                } else {
                    Fault::DropWatches
                }
            }
            9 => Fault::NetboxDown,
            10 => Fault::NetboxBadToken,
            11 => Fault::NetboxErrors {
                times: r.random_range(1..=20),
                code: [500, 502, 503][r.random_range(0..3usize)],
            },
            12 => Fault::NetboxThrottle {
                times: r.random_range(1..=10),
                secs: r.random_range(1..=5),
            },
            13 => Fault::NetboxSlow {
                millis: r.random_range(50..=2000),
            },
            _ => Fault::NetboxTruncated {
                times: r.random_range(1..=3),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_scenario() {
        let l = Limits::default();
        assert_eq!(Scenario::draw(7, l), Scenario::draw(7, l));
        assert_ne!(Scenario::draw(7, l).ops, Scenario::draw(8, l).ops);
    }

    #[test]
    fn operations_are_in_time_order_within_the_horizon() {
        for seed in 0..50 {
            let s = Scenario::draw(seed, Limits::default());
            assert!(s.ops.windows(2).all(|w| w[0].at <= w[1].at));
            assert!(s.ops.iter().all(|t| t.at <= s.horizon()));
            assert!((1..=2).contains(&s.fabrics.len()));
            assert!((1..=2).contains(&s.replicas));
        }
    }
}

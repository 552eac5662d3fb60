//! The connection stage of the wiring pass: Connection objects from the sorted cables (fabric,
//! mesh, MCLAG domain, VPC loopback, gateway, unbundled, and server LAGs as bundled / ESLAG /
//! MCLAG with their limits), the check that every MCLAG group has its domain, then the
//! one-port-one-connection check over all of them.
//!
//! Pure; which cable belongs to which connection is decided in `cables.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::cables::{Pending, Sorted};
use super::{Devices, End};
use crate::hedgehog::Kind;
use crate::hedgehog::wiring::*;
use crate::netbox::model::{Interface, cf_str};
use crate::plan::finding::show;
use crate::plan::index::natural_key;
use crate::plan::{Builder, SourceRef};

/// The connections planned so far.
#[derive(Default)]
pub(super) struct Conns {
    /// In the order they were added: (connection name, first cable id, ports as
    /// `Endpoints()` lists them), for the one-port-one-connection rule, checked once all are
    /// planned.
    ports: Vec<(String, u64, Vec<String>)>,
    /// Server-side interface id (NIC or LAG) → connection name.
    pub(super) of_server_iface: BTreeMap<u64, String>,
    /// See [`super::Wiring::external_conns`].
    pub(super) external: Vec<(String, u64, u64, u64, u64)>,
}

impl Conns {
    /// Adds a Connection object (see [`Builder::add`]) and remembers its ports when it was
    /// added.
    pub(super) fn add(
        &mut self,
        b: &mut Builder<'_>,
        name: &str,
        spec: &ConnectionSpec,
        source: SourceRef,
        source_name: &str,
    ) -> bool {
        let cable = source.ids.first().copied().unwrap_or(0);
        let added = b.add(
            Kind::Connection,
            name,
            spec,
            source,
            "terminations",
            source_name,
        );
        if added {
            self.ports
                .push((name.to_string(), cable, spec.endpoints().ports));
        }
        added
    }

    /// Adds a connection named after itself, made of `cables`.
    fn add_cables(
        &mut self,
        b: &mut Builder<'_>,
        name: &str,
        spec: &ConnectionSpec,
        cables: Vec<u64>,
    ) -> bool {
        self.add(b, name, spec, SourceRef::many("dcim.cable", cables), name)
    }

    /// One port, one connection: a fatal finding for every port a connection shares with an
    /// earlier one (or lists twice).
    pub(super) fn check_ports(&self, b: &mut Builder<'_>) {
        let mut port_owner: HashMap<&str, &str> =
            HashMap::with_capacity(self.ports.iter().map(|(_, _, p)| p.len()).sum());
        for (name, cable, ports) in &self.ports {
            for p in ports {
                if let Some(other) = port_owner.get(p.as_str()) {
                    let reason = if other != name {
                        format!(
                            "port {p} is used by connection {other:?} and by {name:?}; a port belongs to one connection"
                        )
                    } else {
                        format!("port {p} appears twice in connection {name:?}")
                    };
                    b.f.fatal(
                        "port-in-two-connections",
                        "dcim.cable",
                        *cable,
                        name,
                        "terminations",
                        reason,
                    );
                } else {
                    port_owner.insert(p, name);
                }
            }
        }
    }

    /// The connections of the sorted cables, kind by kind.
    pub(super) fn plan_sorted(&mut self, b: &mut Builder<'_>, devs: &Devices, sorted: Sorted<'_>) {
        self.fabric(b, devs, sorted.fabric);
        self.mesh(b, devs, sorted.mesh);
        let cabled_pairs: BTreeSet<(u64, u64)> = sorted.mclag_domain.keys().copied().collect();
        check_mclag_groups(b, devs, &cabled_pairs);
        self.mclag_domains(b, devs, sorted.mclag_domain);
        self.loopbacks(b, devs, sorted.loopback);
        self.gateways(b, devs, sorted.gateway);
        self.unbundled(b, devs, sorted.unbundled);
        for (lag_id, p) in sorted.lags {
            self.lag(b, devs, lag_id, p);
        }
    }

    fn fabric(
        &mut self,
        b: &mut Builder<'_>,
        devs: &Devices,
        fabric: BTreeMap<(u64, u64), Pending<'_>>,
    ) {
        for ((s, l), p) in fabric {
            let mut links: Vec<FabricLink> = p
                .links
                .iter()
                .map(|(sp, lf)| FabricLink {
                    spine: devs.ip_port(sp),
                    leaf: devs.ip_port(lf),
                })
                .collect();
            links.sort_by_key(|x| natural_key(&x.spine.port));
            let spec = ConnectionSpec {
                fabric: Some(ConnFabric { links }),
                ..Default::default()
            };
            let name = format!("{}--fabric--{}", devs.name_of(s), devs.name_of(l));
            self.add_cables(b, &name, &spec, p.cables);
        }
    }

    fn mesh(
        &mut self,
        b: &mut Builder<'_>,
        devs: &Devices,
        mesh: BTreeMap<(u64, u64), Pending<'_>>,
    ) {
        for ((x, y), p) in mesh {
            let mut links: Vec<MeshLink> = p
                .links
                .iter()
                .map(|(a, c)| MeshLink {
                    leaf1: devs.ip_port(a),
                    leaf2: devs.ip_port(c),
                })
                .collect();
            links.sort_by_key(|m| natural_key(&m.leaf1.port));
            let spec = ConnectionSpec {
                mesh: Some(ConnMesh { links }),
                ..Default::default()
            };
            let name = format!("{}--mesh--{}", devs.name_of(x), devs.name_of(y));
            self.add_cables(b, &name, &spec, p.cables);
        }
    }

    /// MCLAG domains: fatal unless the pair has both a peer and a session link.
    fn mclag_domains(
        &mut self,
        b: &mut Builder<'_>,
        devs: &Devices,
        domains: BTreeMap<(u64, u64), (Pending<'_>, Pending<'_>)>,
    ) {
        for ((x, y), (peer, session)) in domains {
            let name = format!("{}--mclag-domain--{}", devs.name_of(x), devs.name_of(y));
            let mut cables = peer.cables.clone();
            cables.extend(&session.cables);
            if peer.links.is_empty() || session.links.is_empty() {
                let first = cables.iter().min().copied().unwrap_or(0);
                b.f.fatal(
                    "incomplete-mclag-domain",
                    "dcim.cable",
                    first,
                    &name,
                    "custom_fields.hedgehog_link",
                    format!(
                        "MCLAG pair {} / {} needs at least one mclag-peer and one mclag-session cable",
                        devs.name_of(x),
                        devs.name_of(y)
                    ),
                );
                continue;
            }
            let spec = ConnectionSpec {
                mclag_domain: Some(ConnMclagDomain {
                    peer_links: switch_links(devs, &peer),
                    session_links: switch_links(devs, &session),
                }),
                ..Default::default()
            };
            self.add_cables(b, &name, &spec, cables);
        }
    }

    fn loopbacks(
        &mut self,
        b: &mut Builder<'_>,
        devs: &Devices,
        loopback: BTreeMap<u64, Pending<'_>>,
    ) {
        for (sw, p) in loopback {
            let spec = ConnectionSpec {
                vpc_loopback: Some(ConnVpcLoopback {
                    links: switch_links(devs, &p),
                }),
                ..Default::default()
            };
            let name = format!("{}--vpc-loopback", devs.name_of(sw));
            self.add_cables(b, &name, &spec, p.cables);
        }
    }

    fn gateways(
        &mut self,
        b: &mut Builder<'_>,
        devs: &Devices,
        gateway: BTreeMap<(u64, u64), Pending<'_>>,
    ) {
        for ((sw, gw), p) in gateway {
            let mut links: Vec<GatewayLink> = p
                .links
                .iter()
                .map(|(s, g)| GatewayLink {
                    switch: devs.ip_port(s),
                    gateway: devs.ip_port(g),
                })
                .collect();
            links.sort_by_key(|m| natural_key(&m.switch.port));
            let spec = ConnectionSpec {
                gateway: Some(ConnGateway { links }),
                ..Default::default()
            };
            let name = format!("{}--gateway--{}", devs.name_of(sw), devs.name_of(gw));
            self.add_cables(b, &name, &spec, p.cables);
        }
    }

    /// One connection per server NIC outside a LAG.
    fn unbundled(
        &mut self,
        b: &mut Builder<'_>,
        devs: &Devices,
        unbundled: Vec<(u64, End<'_>, End<'_>)>,
    ) {
        for (cable_id, srv, sw) in unbundled {
            let name = format!(
                "{}--unbundled--{}",
                devs.name_of(srv.device),
                devs.name_of(sw.device)
            );
            let spec = ConnectionSpec {
                unbundled: Some(ConnUnbundled {
                    link: ServerToSwitchLink {
                        server: devs.port(&srv),
                        switch: devs.port(&sw),
                    },
                    mtu: None,
                }),
                ..Default::default()
            };
            if self.add(
                b,
                &name,
                &spec,
                SourceRef::one("dcim.cable", cable_id),
                &name,
            ) {
                self.of_server_iface.insert(srv.iface, name);
            }
        }
    }

    /// The connection of server LAG `lag_id`: bundled (one switch), ESLAG or MCLAG (the
    /// switches' redundancy group's type), or a fatal finding.
    fn lag(&mut self, b: &mut Builder<'_>, devs: &Devices, lag_id: u64, p: Pending<'_>) {
        let Some((name, spec)) = lag_connection(b, devs, lag_id, &p) else {
            return;
        };
        if self.add_cables(b, &name, &spec, p.cables) {
            self.of_server_iface.insert(lag_id, name.clone());
            for (s, _) in &p.links {
                self.of_server_iface.insert(s.iface, name.clone());
            }
        }
    }
}

/// Every MCLAG redundancy group needs its MCLAG domain: exactly two switches with at least one
/// cable between them (`cabled_pairs`, in name order; a domain missing its peer or session
/// link is `incomplete-mclag-domain`). Otherwise fatal `mclag-without-domain` on each member,
/// on the field that put it in the group.
fn check_mclag_groups(b: &mut Builder<'_>, devs: &Devices, cabled_pairs: &BTreeSet<(u64, u64)>) {
    let mut members: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (&sw, g) in &devs.group_of {
        if devs.groups[g].type_ == RedundancyType::Mclag {
            members.entry(g.as_str()).or_default().push(sw);
        }
    }
    for (g, sws) in members {
        let reason = match sws.as_slice() {
            [x, y] => {
                let (x, y) = if devs.name_of(*x) <= devs.name_of(*y) {
                    (*x, *y)
                } else {
                    (*y, *x)
                };
                if cabled_pairs.contains(&(x, y)) {
                    continue;
                }
                format!(
                    "MCLAG group {} has no MCLAG domain: no mclag-peer or mclag-session cable joins {} and {}",
                    show(g),
                    devs.name_of(x),
                    devs.name_of(y)
                )
            }
            _ => format!(
                "MCLAG group {} has {} switch(es); an MCLAG domain joins exactly 2 with mclag-peer and mclag-session cables",
                show(g),
                sws.len()
            ),
        };
        for sw in sws {
            let d = b.idx.devices[&sw];
            let field = if cf_str(&d.custom_fields, "hedgehog_redundancy_group").is_some() {
                "custom_fields.hedgehog_redundancy_group"
            } else {
                "virtual_chassis"
            };
            b.f.fatal(
                "mclag-without-domain",
                "dcim.device",
                sw,
                devs.name_of(sw),
                field,
                reason.clone(),
            );
        }
    }
}

/// Switch-to-switch links of `p` in natural order of the first port.
fn switch_links(devs: &Devices, p: &Pending<'_>) -> Vec<SwitchToSwitchLink> {
    let mut l: Vec<SwitchToSwitchLink> = p
        .links
        .iter()
        .map(|(a, c)| SwitchToSwitchLink {
            switch1: devs.port(a),
            switch2: devs.port(c),
        })
        .collect();
    l.sort_by_key(|m| natural_key(&m.switch1.port));
    l
}

/// A server LAG interface being planned (absent from the fabric when `iface` is `None`).
struct Lag<'i> {
    id: u64,
    iface: Option<&'i Interface>,
}

impl Lag<'_> {
    /// The LAG's name, or `#id`.
    fn label(&self) -> String {
        self.iface
            .map_or_else(|| format!("#{}", self.id), |l| l.name.clone())
    }

    /// A fatal finding on the LAG's `lag` field.
    fn fatal(&self, b: &mut Builder<'_>, code: &'static str, reason: impl Into<String>) {
        b.f.fatal(
            code,
            "dcim.interface",
            self.id,
            &self.label(),
            "lag",
            reason,
        );
    }
}

/// The name and spec of the connection of server LAG `lag_id`, or `None` after a fatal
/// finding (members on several servers, not a LAG, too many switches, switches of different
/// redundancy groups, MCLAG not on 2 switches).
fn lag_connection(
    b: &mut Builder<'_>,
    devs: &Devices,
    lag_id: u64,
    p: &Pending<'_>,
) -> Option<(String, ConnectionSpec)> {
    let lag = Lag {
        id: lag_id,
        iface: b.idx.interfaces.get(&lag_id).copied(),
    };
    let server = lag_server(b, devs, &lag, p)?;
    let switches: BTreeSet<u64> = p.links.iter().map(|(_, s)| s.device).collect();
    let mut links: Vec<ServerToSwitchLink> = p
        .links
        .iter()
        .map(|(s, sw)| ServerToSwitchLink {
            server: devs.port(s),
            switch: devs.port(sw),
        })
        .collect();
    links.sort_by(|x, y| {
        natural_key(&x.server.port)
            .cmp(&natural_key(&y.server.port))
            .then_with(|| natural_key(&x.switch.port).cmp(&natural_key(&y.switch.port)))
    });
    let mut sw_names: Vec<&str> = switches.iter().map(|d| devs.name_of(*d)).collect();
    sw_names.sort();
    let server_name = devs.name_of(server);
    if switches.len() == 1 {
        let spec = ConnectionSpec {
            bundled: Some(ConnBundled {
                links,
                mtu: None,
                fallback: None,
            }),
            ..Default::default()
        };
        return Some((format!("{server_name}--bundled--{}", sw_names[0]), spec));
    }
    let type_ = multihoming(b, devs, &lag, server_name, &switches, &sw_names)?;
    let multihomed = Some(ConnMultihomed {
        links,
        mtu: None,
        fallback: None,
    });
    Some(match type_ {
        RedundancyType::Eslag => (
            format!("{server_name}--eslag--{}", sw_names.join("--")),
            ConnectionSpec {
                eslag: multihomed,
                ..Default::default()
            },
        ),
        RedundancyType::Mclag => (
            format!("{server_name}--mclag--{}", sw_names.join("--")),
            ConnectionSpec {
                mclag: multihomed,
                ..Default::default()
            },
        ),
    })
}

/// The one server all members of a LAG are cabled from, which must own the LAG, and the LAG
/// must be a LAG interface of the fabric; `None` after a fatal finding.
fn lag_server(b: &mut Builder<'_>, devs: &Devices, lag: &Lag<'_>, p: &Pending<'_>) -> Option<u64> {
    let servers: BTreeSet<u64> = p.links.iter().map(|(s, _)| s.device).collect();
    let lag_dev = lag.iface.map(|l| l.device.id);
    if servers.len() > 1 || lag_dev.is_some_and(|d| !servers.contains(&d)) {
        let mut owners: Vec<String> = servers
            .iter()
            .map(|d| devs.name_of(*d).to_string())
            .collect();
        if let Some(d) = lag_dev {
            owners.push(format!("{} (LAG owner)", b.idx.device_label(d)));
        }
        lag.fatal(
            b,
            "lag-members-on-different-servers",
            format!(
                "LAG members are cabled from different servers: {}; a LAG belongs to one server",
                owners.join(", ")
            ),
        );
        return None;
    }
    if lag.iface.is_none_or(|l| !l.is_lag()) {
        lag.fatal(
            b,
            "invalid-lag",
            "member interfaces point at an interface that is not a LAG (type lag) in the fabric",
        );
        return None;
    }
    Some(*servers.iter().next().unwrap_or(&0))
}

/// The redundancy type of a LAG on several switches: that of the one redundancy group all
/// its switches are in; `None` after a fatal finding (more than 4 switches, not one group,
/// MCLAG on other than 2 switches).
fn multihoming(
    b: &mut Builder<'_>,
    devs: &Devices,
    lag: &Lag<'_>,
    server_name: &str,
    switches: &BTreeSet<u64>,
    sw_names: &[&str],
) -> Option<RedundancyType> {
    if switches.len() > 4 {
        lag.fatal(
            b,
            "eslag-too-many-switches",
            format!(
                "LAG of {server_name} spans {} switches ({}); ESLAG allows 2 to 4",
                switches.len(),
                sw_names.join(", ")
            ),
        );
        return None;
    }
    let gs: BTreeSet<Option<&String>> = switches.iter().map(|d| devs.group_of.get(d)).collect();
    let group = match gs.iter().next() {
        Some(Some(g)) if gs.len() == 1 => *g,
        _ => {
            let desc: Vec<String> = switches
                .iter()
                .map(|d| {
                    format!(
                        "{} in {}",
                        devs.name_of(*d),
                        devs.group_of
                            .get(d)
                            .map_or("no group".to_string(), |g| format!("group {g:?}"))
                    )
                })
                .collect();
            lag.fatal(b, "eslag-redundancy-group", format!("LAG of {server_name} spans switches of different redundancy groups ({}); a multi-homed LAG needs all its switches in one group", desc.join(", ")));
            return None;
        }
    };
    let type_ = devs.groups[group].type_;
    if type_ == RedundancyType::Mclag && switches.len() != 2 {
        lag.fatal(
            b,
            "mclag-switch-count",
            format!(
                "MCLAG connects a server to exactly 2 switches, this LAG spans {}",
                switches.len()
            ),
        );
        return None;
    }
    Some(type_)
}

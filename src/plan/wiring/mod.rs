//! Wiring rules: NetBox devices → Switch / Server / SwitchGroup, cables → Connections grouped by
//! explicit intent (LAG interfaces, roles, redundancy groups), with the findings for bad input
//! (unknown roles, bad names and values, cables leaving the fabric, ports in two connections,
//! ESLAG limits, MCLAG groups without a domain, LAG members on different servers, LAG cycles).
//!
//! Pure; IPAM-derived kinds (VLANNamespace, VPC, External …) are `plan/ipam.rs`.

mod cables;
mod connections;
mod devices;

use std::collections::BTreeMap;

use super::Builder;
use crate::hedgehog::wiring::{BasePortName, IpPort, RedundancyType, SwitchRole};
use connections::Conns;
use devices::Group;

/// What a fabric device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DevClass {
    Switch(SwitchRole),
    Server,
    External,
    Gateway,
}

/// Results of the wiring pass that the IPAM pass needs.
#[derive(Debug, Default)]
pub(crate) struct Wiring {
    /// Device id → class, for fabric devices with usable names.
    pub class: BTreeMap<u64, DevClass>,
    /// Device id → object name (valid names only).
    pub names: BTreeMap<u64, String>,
    /// Server-side interface id (NIC or LAG) → connection name.
    pub conn_of_server_iface: BTreeMap<u64, String>,
    /// External connections: (connection name, switch interface id, external interface id,
    /// external device id, cable id).
    pub external_conns: Vec<(String, u64, u64, u64, u64)>,
}

/// The fabric devices the wiring pass found, shared by its stages.
#[derive(Default)]
struct Devices {
    /// Device id → class, for fabric devices with usable names.
    class: BTreeMap<u64, DevClass>,
    /// Device id → object name.
    names: BTreeMap<u64, String>,
    /// Redundancy groups by name.
    groups: BTreeMap<String, Group>,
    /// Switch device id → its redundancy group's name.
    group_of: BTreeMap<u64, String>,
    /// True when the fabric has a spine (leaf-to-leaf cables are then not mesh links).
    has_spines: bool,
}

/// One end of a cable resolved to a fabric device's interface.
#[derive(Clone, Copy)]
struct End<'a> {
    iface: u64,
    device: u64,
    port: &'a str,
}

impl Devices {
    /// The object name of a device (empty when it has none).
    fn name_of(&self, id: u64) -> &str {
        self.names.get(&id).map_or("", String::as_str)
    }

    /// `"<device>/<port>"` of a cable end.
    fn port(&self, e: &End) -> BasePortName {
        BasePortName::new(self.name_of(e.device), e.port)
    }

    /// `"<device>/<port>"` of a cable end, without an IP.
    fn ip_port(&self, e: &End) -> IpPort {
        IpPort {
            port: format!("{}/{}", self.name_of(e.device), e.port),
            ip: None,
        }
    }

    /// True when both switches are in one redundancy group of type MCLAG.
    fn same_mclag(&self, x: u64, y: u64) -> bool {
        self.group_of.get(&x).is_some_and(|g| {
            self.group_of.get(&y) == Some(g) && self.groups[g].type_ == RedundancyType::Mclag
        })
    }
}

/// Plans the wiring kinds, stage by stage: devices (classes, names), redundancy groups,
/// switches and servers, LAG chains, cables sorted into connections, the connections (with each
/// MCLAG group's domain), and the one-port-one-connection check.
pub(crate) fn plan_wiring(b: &mut Builder<'_>) -> Wiring {
    let mut devs = devices::classify(b);
    devices::redundancy_groups(b, &mut devs);
    devices::plan_devices(b, &devs);
    cables::check_lags(b, &devs.class);
    let mut conns = Conns::default();
    let sorted = cables::sort_cables(b, &devs, &mut conns);
    conns.plan_sorted(b, &devs, sorted);
    conns.check_ports(b);
    Wiring {
        class: devs.class,
        names: devs.names,
        conn_of_server_iface: conns.of_server_iface,
        external_conns: conns.external,
    }
}

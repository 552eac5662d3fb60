//! A canonical, order-independent view of a [`Snapshot`]: every list keyed by id in a
//! `BTreeMap` of references into the snapshot (nothing is copied; duplicate ids resolved
//! deterministically and reported), plus the lookups the mapping rules need.
//!
//! Pure; knows nothing about Hedgehog objects.

use std::collections::BTreeMap;

use serde::Serialize;

use super::finding::Findings;
use crate::netbox::model::*;

/// Keys a list by id, borrowing the items. When two entries share an id the one with the
/// smaller JSON form wins (so input order never matters) and a fatal finding names the id.
/// Only entries that share an id are serialised.
fn keyed<'a, T: Serialize>(
    items: &'a [T],
    id: impl Fn(&T) -> u64,
    object_type: &str,
    findings: &mut Findings,
) -> BTreeMap<u64, &'a T> {
    // (id, position): sorted, equal ids keep their input order. NetBox lists (and the reader)
    // are sorted by id already, so the sort is usually skipped.
    let mut order: Vec<(u64, usize)> = items
        .iter()
        .enumerate()
        .map(|(pos, item)| (id(item), pos))
        .collect();
    if !order.is_sorted_by(|a, b| a.0 < b.0) {
        order.sort_unstable();
    }
    let mut out: Vec<(u64, &'a T)> = Vec::with_capacity(order.len());
    let mut dup: Vec<u64> = Vec::new();
    for run in order.chunk_by(|a, b| a.0 == b.0) {
        let key = run[0].0;
        if let [(_, pos)] = run {
            out.push((key, &items[*pos]));
            continue;
        }
        // Same rule as folding the run in input order: the smallest JSON so far wins, and the
        // id is a duplicate when any entry differs from the smallest before it.
        let mut best: Option<(String, usize)> = None;
        let mut differ = false;
        for &(_, pos) in run {
            let json = serde_json::to_string(&items[pos]).unwrap_or_default();
            match &best {
                Some((existing, _)) => {
                    if *existing != json {
                        differ = true;
                    }
                    if json < *existing {
                        best = Some((json, pos));
                    }
                }
                None => best = Some((json, pos)),
            }
        }
        if differ {
            dup.push(key);
        }
        if let Some((_, pos)) = best {
            out.push((key, &items[pos]));
        }
    }
    for key in dup {
        findings.fatal(
            "duplicate-id",
            object_type,
            key,
            &format!("#{key}"),
            "id",
            "two different objects share this id in the snapshot",
        );
    }
    out.into_iter().collect()
}

/// The snapshot, keyed (borrowing the snapshot's objects).
pub(crate) struct Index<'a> {
    pub site: &'a Site,
    pub devices: BTreeMap<u64, &'a Device>,
    pub device_types: BTreeMap<u64, &'a DeviceType>,
    pub roles: BTreeMap<u64, &'a DeviceRole>,
    pub interfaces: BTreeMap<u64, &'a Interface>,
    pub cables: BTreeMap<u64, &'a Cable>,
    pub virtual_chassis: BTreeMap<u64, &'a VirtualChassis>,
    pub vlan_groups: BTreeMap<u64, &'a VlanGroup>,
    pub vlans: BTreeMap<u64, &'a Vlan>,
    pub vrfs: BTreeMap<u64, &'a Vrf>,
    pub prefixes: BTreeMap<u64, &'a Prefix>,
    /// Interfaces per device id, sorted by interface id.
    pub interfaces_by_device: BTreeMap<u64, Vec<&'a Interface>>,
    /// Interface id → the lowest-id MAC address assigned to it.
    mac_by_interface: BTreeMap<u64, &'a MacAddress>,
    /// Interface id → the IP addresses assigned to it, sorted by id.
    ips_by_interface: BTreeMap<u64, Vec<&'a IpAddress>>,
}

impl<'a> Index<'a> {
    pub(crate) fn new(s: &'a Snapshot, f: &mut Findings) -> Index<'a> {
        let devices = keyed(&s.devices, |o| o.id, "dcim.device", f);
        let interfaces = keyed(&s.interfaces, |o| o.id, "dcim.interface", f);
        let mut interfaces_by_device: BTreeMap<u64, Vec<&Interface>> = BTreeMap::new();
        for i in interfaces.values() {
            interfaces_by_device.entry(i.device.id).or_default().push(i);
        }
        let device_types = keyed(&s.device_types, |o| o.id, "dcim.devicetype", f);
        let roles = keyed(&s.roles, |o| o.id, "dcim.devicerole", f);
        let mac_addresses = keyed(&s.mac_addresses, |o| o.id, "dcim.macaddress", f);
        let mut mac_by_interface: BTreeMap<u64, &MacAddress> = BTreeMap::new();
        for m in mac_addresses.values() {
            if m.assigned_object_type.as_deref() == Some("dcim.interface")
                && let Some(iface) = m.assigned_object_id
            {
                mac_by_interface.entry(iface).or_insert(m);
            }
        }
        let cables = keyed(&s.cables, |o| o.id, "dcim.cable", f);
        let virtual_chassis = keyed(&s.virtual_chassis, |o| o.id, "dcim.virtualchassis", f);
        let vlan_groups = keyed(&s.vlan_groups, |o| o.id, "ipam.vlangroup", f);
        let vlans = keyed(&s.vlans, |o| o.id, "ipam.vlan", f);
        let vrfs = keyed(&s.vrfs, |o| o.id, "ipam.vrf", f);
        let prefixes = keyed(&s.prefixes, |o| o.id, "ipam.prefix", f);
        let ip_addresses = keyed(&s.ip_addresses, |o| o.id, "ipam.ipaddress", f);
        let mut ips_by_interface: BTreeMap<u64, Vec<&IpAddress>> = BTreeMap::new();
        for a in ip_addresses.values() {
            if a.assigned_object_type.as_deref() == Some("dcim.interface")
                && let Some(iface) = a.assigned_object_id
            {
                ips_by_interface.entry(iface).or_default().push(a);
            }
        }
        Index {
            site: &s.site,
            devices,
            device_types,
            roles,
            interfaces,
            cables,
            virtual_chassis,
            vlan_groups,
            vlans,
            vrfs,
            prefixes,
            interfaces_by_device,
            mac_by_interface,
            ips_by_interface,
        }
    }

    /// The device's name, or `#id` when it has none.
    pub(crate) fn device_label(&self, id: u64) -> String {
        self.devices
            .get(&id)
            .and_then(|d| d.name.clone())
            .unwrap_or_else(|| format!("#{id}"))
    }

    /// Role slug of a device: the brief's slug, else the role list's slug.
    pub(crate) fn role_slug<'d>(&'d self, d: &'d Device) -> Option<&'d str> {
        d.role
            .slug
            .as_deref()
            .or_else(|| self.roles.get(&d.role.id).map(|r| r.slug.as_str()))
    }

    /// Slug of a device type: the brief's slug, else the list's.
    pub(crate) fn device_type(&self, d: &Device) -> (Option<String>, Option<&'a DeviceType>) {
        let dt = self.device_types.get(&d.device_type.id).copied();
        let slug = d
            .device_type
            .slug
            .clone()
            .or_else(|| dt.map(|t| t.slug.clone()));
        (slug, dt)
    }

    /// True when the object is scoped to this snapshot's site.
    pub(crate) fn scoped_to_site(
        &self,
        scope_type: &Option<String>,
        scope_id: &Option<u64>,
    ) -> bool {
        scope_type.as_deref() == Some("dcim.site") && *scope_id == Some(self.site.id)
    }

    /// IP addresses assigned to an interface, sorted by id.
    pub(crate) fn ips_of_interface(&self, iface: u64) -> &[&'a IpAddress] {
        self.ips_by_interface.get(&iface).map_or(&[], Vec::as_slice)
    }

    /// The MAC of an interface: its primary MAC, else the lowest-id MAC assigned to it.
    /// NetBox shows MAC addresses uppercase (`0C:20:12:FF:00:00`); Hedgehog writes them
    /// lowercase (`0c:20:12:ff:00:00`, Go's `net.HardwareAddr` form), so they are lowercased.
    pub(crate) fn mac_of_interface(&self, iface: &Interface) -> Option<String> {
        let mac = match &iface.primary_mac_address {
            Some(m) => &m.mac_address,
            None => &self.mac_by_interface.get(&iface.id)?.mac_address,
        };
        Some(mac.trim().to_ascii_lowercase())
    }
}

/// Natural-order key: `E1/2` < `E1/10`, `enp2s2` < `enp2s10`.
pub(crate) fn natural_key(s: &str) -> Vec<(u8, u64, String)> {
    let mut out = Vec::new();
    let mut digits = String::new();
    let mut text = String::new();
    let flush_text = |text: &mut String, out: &mut Vec<(u8, u64, String)>| {
        if !text.is_empty() {
            out.push((1, 0, std::mem::take(text)));
        }
    };
    let flush_digits = |digits: &mut String, out: &mut Vec<(u8, u64, String)>| {
        if !digits.is_empty() {
            let n = digits.parse::<u64>().unwrap_or(u64::MAX);
            out.push((0, n, std::mem::take(digits)));
        }
    };
    for c in s.chars() {
        if c.is_ascii_digit() {
            flush_text(&mut text, &mut out);
            digits.push(c);
        } else {
            flush_digits(&mut digits, &mut out);
            text.push(c);
        }
    }
    flush_text(&mut text, &mut out);
    flush_digits(&mut digits, &mut out);
    out
}

/// Parses `a.b.c.d/len` into (address, len) for ordering prefixes.
pub(crate) fn cidr_key(s: &str) -> (u8, u32, u8, String) {
    let (addr, len) = s.split_once('/').unwrap_or((s, "32"));
    match (addr.parse::<std::net::Ipv4Addr>(), len.parse::<u8>()) {
        (Ok(a), Ok(l)) => (0, u32::from(a), l, s.to_string()),
        _ => (1, 0, 0, s.to_string()),
    }
}

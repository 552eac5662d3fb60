//! A canonical, order-independent view of a [`Snapshot`]: every list keyed by id in a
//! `BTreeMap` (duplicate ids resolved deterministically and reported), plus the lookups the
//! mapping rules need.
//!
//! Pure; knows nothing about Hedgehog objects.

use std::collections::BTreeMap;

use serde::Serialize;

use super::finding::Findings;
use crate::netbox::model::*;

/// Keys a list by id. When two entries share an id the one with the smaller JSON form wins
/// (so input order never matters) and a fatal finding names the id.
fn keyed<T: Serialize + Clone>(
    items: &[T],
    id: impl Fn(&T) -> u64,
    object_type: &str,
    findings: &mut Findings,
) -> BTreeMap<u64, T> {
    let mut out: BTreeMap<u64, (String, T)> = BTreeMap::new();
    let mut dup: BTreeMap<u64, ()> = BTreeMap::new();
    for item in items {
        let key = id(item);
        let json = serde_json::to_string(item).unwrap_or_default();
        match out.get(&key) {
            Some((existing, _)) => {
                if *existing != json {
                    dup.insert(key, ());
                }
                if json < *existing {
                    out.insert(key, (json, item.clone()));
                }
            }
            None => {
                out.insert(key, (json, item.clone()));
            }
        }
    }
    for key in dup.keys() {
        findings.fatal(
            "duplicate-id",
            object_type,
            *key,
            &format!("#{key}"),
            "id",
            "two different objects share this id in the snapshot",
        );
    }
    out.into_iter().map(|(k, (_, v))| (k, v)).collect()
}

/// The snapshot, keyed.
pub(crate) struct Index {
    pub site: Site,
    pub devices: BTreeMap<u64, Device>,
    pub device_types: BTreeMap<u64, DeviceType>,
    pub roles: BTreeMap<u64, DeviceRole>,
    pub interfaces: BTreeMap<u64, Interface>,
    pub mac_addresses: BTreeMap<u64, MacAddress>,
    pub cables: BTreeMap<u64, Cable>,
    pub virtual_chassis: BTreeMap<u64, VirtualChassis>,
    pub vlan_groups: BTreeMap<u64, VlanGroup>,
    pub vlans: BTreeMap<u64, Vlan>,
    pub vrfs: BTreeMap<u64, Vrf>,
    pub prefixes: BTreeMap<u64, Prefix>,
    pub ip_addresses: BTreeMap<u64, IpAddress>,
    /// Interfaces per device id, sorted by interface id.
    pub interfaces_by_device: BTreeMap<u64, Vec<u64>>,
}

impl Index {
    pub(crate) fn new(s: &Snapshot, f: &mut Findings) -> Index {
        let devices = keyed(&s.devices, |o| o.id, "dcim.device", f);
        let interfaces = keyed(&s.interfaces, |o| o.id, "dcim.interface", f);
        let mut interfaces_by_device: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for i in interfaces.values() {
            interfaces_by_device
                .entry(i.device.id)
                .or_default()
                .push(i.id);
        }
        Index {
            site: s.site.clone(),
            devices,
            device_types: keyed(&s.device_types, |o| o.id, "dcim.devicetype", f),
            roles: keyed(&s.roles, |o| o.id, "dcim.devicerole", f),
            interfaces,
            mac_addresses: keyed(&s.mac_addresses, |o| o.id, "dcim.macaddress", f),
            cables: keyed(&s.cables, |o| o.id, "dcim.cable", f),
            virtual_chassis: keyed(&s.virtual_chassis, |o| o.id, "dcim.virtualchassis", f),
            vlan_groups: keyed(&s.vlan_groups, |o| o.id, "ipam.vlangroup", f),
            vlans: keyed(&s.vlans, |o| o.id, "ipam.vlan", f),
            vrfs: keyed(&s.vrfs, |o| o.id, "ipam.vrf", f),
            prefixes: keyed(&s.prefixes, |o| o.id, "ipam.prefix", f),
            ip_addresses: keyed(&s.ip_addresses, |o| o.id, "ipam.ipaddress", f),
            interfaces_by_device,
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
    pub(crate) fn role_slug(&self, d: &Device) -> Option<String> {
        d.role
            .slug
            .clone()
            .or_else(|| self.roles.get(&d.role.id).map(|r| r.slug.clone()))
    }

    /// Slug of a device type: the brief's slug, else the list's.
    pub(crate) fn device_type(&self, d: &Device) -> (Option<String>, Option<&DeviceType>) {
        let dt = self.device_types.get(&d.device_type.id);
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
    pub(crate) fn ips_of_interface(&self, iface: u64) -> Vec<&IpAddress> {
        self.ip_addresses
            .values()
            .filter(|a| {
                a.assigned_object_type.as_deref() == Some("dcim.interface")
                    && a.assigned_object_id == Some(iface)
            })
            .collect()
    }

    /// The MAC of an interface: its primary MAC, else the lowest-id MAC assigned to it.
    /// NetBox shows MAC addresses uppercase (`0C:20:12:FF:00:00`); Hedgehog writes them
    /// lowercase (`0c:20:12:ff:00:00`, Go's `net.HardwareAddr` form), so they are lowercased.
    pub(crate) fn mac_of_interface(&self, iface: &Interface) -> Option<String> {
        let mac = match &iface.primary_mac_address {
            Some(m) => &m.mac_address,
            None => {
                &self
                    .mac_addresses
                    .values()
                    .find(|m| {
                        m.assigned_object_type.as_deref() == Some("dcim.interface")
                            && m.assigned_object_id == Some(iface.id)
                    })?
                    .mac_address
            }
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

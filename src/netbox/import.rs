//! `fabsync import-wiring`: bootstraps NetBox from an existing Hedgehog wiring diagram.
//!
//! [`write_snapshot`] creates the objects of a snapshot made by
//! [`diagram_to_snapshot`](super::from_diagram::diagram_to_snapshot) through the REST API in
//! foreign-key order, skipping what already exists (natural keys), so re-running creates nothing
//! new; [`import_wiring`] is both steps. It does not delete or rewrite objects it did not create.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::client::NetboxClient;
use super::error::NetboxError;
use super::from_diagram::{ConversionError, diagram_to_snapshot};
use super::model::*;
use crate::hedgehog::diagram::Diagram;

/// Objects per bulk request (one NetBox transaction each).
const BULK: usize = 200;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Netbox(#[from] NetboxError),
    #[error(transparent)]
    Diagram(#[from] ConversionError),
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// NetBox object type → number created.
    pub created: BTreeMap<String, usize>,
    /// NetBox object type → number already present.
    pub existing: BTreeMap<String, usize>,
    /// Interfaces whose LAG / VLAN settings were updated.
    pub updated: usize,
    /// Things of the diagram NetBox cannot hold, each one sentence.
    pub warnings: Vec<String>,
}

impl ImportReport {
    /// Total objects created.
    pub fn total_created(&self) -> usize {
        self.created.values().sum()
    }

    /// One-line summary.
    pub fn summary(&self) -> String {
        let created: Vec<String> = self
            .created
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        format!(
            "created {} objects ({}), {} already present, {} interfaces updated",
            self.total_created(),
            if created.is_empty() {
                "none".to_string()
            } else {
                created.join(", ")
            },
            self.existing.values().sum::<usize>(),
            self.updated
        )
    }
}

fn count(r: &mut ImportReport, created: bool, t: &str) {
    let m = if created {
        &mut r.created
    } else {
        &mut r.existing
    };
    *m.entry(t.to_string()).or_insert(0) += 1;
}

/// Writes a snapshot made by [`diagram_to_snapshot`] into NetBox through `client`, creating
/// only what is missing (matched by natural keys: slugs, names, device + interface name,
/// occupied interfaces for cables, prefix + VRF, VLAN group + vid).
pub async fn write_snapshot(
    client: &NetboxClient,
    s: &Snapshot,
) -> Result<ImportReport, ImportError> {
    let mut r = ImportReport::default();
    client.ensure_fabsync_custom_fields().await?;

    // Site.
    let sites: Vec<Site> = client
        .list("dcim/sites", &[("slug", s.site.slug.clone())])
        .await?;
    let site_id = match sites.iter().find(|x| x.slug == s.site.slug) {
        Some(x) => {
            count(&mut r, false, "dcim.site");
            x.id
        }
        None => {
            count(&mut r, true, "dcim.site");
            client
                .create::<Brief>(
                    "dcim/sites",
                    &json!({"name": s.site.name, "slug": s.site.slug, "status": "active"}),
                )
                .await?
                .id
        }
    };
    // Manufacturer.
    let mans: Vec<Brief> = client
        .list("dcim/manufacturers", &[("slug", "hedgehog".to_string())])
        .await?;
    let man_id = match mans.first() {
        Some(m) => m.id,
        None => {
            count(&mut r, true, "dcim.manufacturer");
            client
                .create::<Brief>(
                    "dcim/manufacturers",
                    &json!({"name": "Hedgehog", "slug": "hedgehog"}),
                )
                .await?
                .id
        }
    };
    // Roles and device types by slug.
    let roles: Vec<DeviceRole> = client.list("dcim/device-roles", &[]).await?;
    let mut role_id: BTreeMap<u64, u64> = BTreeMap::new();
    for role in &s.roles {
        let id = match roles.iter().find(|x| x.slug == role.slug) {
            Some(x) => {
                count(&mut r, false, "dcim.devicerole");
                x.id
            }
            None => {
                count(&mut r, true, "dcim.devicerole");
                client
                    .create::<Brief>(
                        "dcim/device-roles",
                        &json!({"name": role.name, "slug": role.slug, "color": "2196f3"}),
                    )
                    .await?
                    .id
            }
        };
        role_id.insert(role.id, id);
    }
    let types: Vec<DeviceType> = client.list("dcim/device-types", &[]).await?;
    let mut type_id: BTreeMap<u64, u64> = BTreeMap::new();
    for t in &s.device_types {
        let id = match types.iter().find(|x| x.slug == t.slug) {
            Some(x) => {
                count(&mut r, false, "dcim.devicetype");
                x.id
            }
            None => {
                count(&mut r, true, "dcim.devicetype");
                client.create::<Brief>("dcim/device-types", &json!({"manufacturer": man_id, "model": t.model, "slug": t.slug, "custom_fields": t.custom_fields})).await?.id
            }
        };
        type_id.insert(t.id, id);
    }
    // Devices.
    let existing: Vec<Device> = client
        .list("dcim/devices", &[("site_id", site_id.to_string())])
        .await?;
    let mut dev_id: BTreeMap<u64, u64> = BTreeMap::new();
    let mut to_create: Vec<(u64, Value)> = Vec::new();
    for d in &s.devices {
        let name = d.name.clone().unwrap_or_default();
        match existing.iter().find(|x| x.name.as_deref() == Some(name.as_str())) {
            Some(x) => {
                count(&mut r, false, "dcim.device");
                dev_id.insert(d.id, x.id);
            }
            None => to_create.push((
                d.id,
                json!({"name": name, "site": site_id, "role": role_id[&d.role.id], "device_type": type_id[&d.device_type.id],
                       "status": "active", "serial": d.serial, "description": d.description, "custom_fields": d.custom_fields}),
            )),
        }
    }
    let bodies: Vec<Value> = to_create.iter().map(|(_, v)| v.clone()).collect();
    let created: Vec<Brief> = client.create_bulk("dcim/devices", &bodies).await?;
    for ((local, _), c) in to_create.iter().zip(&created) {
        count(&mut r, true, "dcim.device");
        dev_id.insert(*local, c.id);
    }
    // Interfaces: LAGs first, then the rest (members refer to their LAG).
    let remote_ids: Vec<u64> = dev_id.values().copied().collect();
    let existing_if: Vec<Interface> = client
        .list_chunked("dcim/interfaces", &[], "device_id", &remote_ids, 100)
        .await?;
    let mut if_id: BTreeMap<u64, u64> = BTreeMap::new();
    let mut remote_if: BTreeMap<u64, Interface> = BTreeMap::new();
    for pass_lag in [true, false] {
        let mut to_create: Vec<(u64, Value)> = Vec::new();
        for i in s.interfaces.iter().filter(|i| i.is_lag() == pass_lag) {
            let dev = dev_id[&i.device.id];
            match existing_if.iter().find(|x| x.device.id == dev && x.name == i.name) {
                Some(x) => {
                    count(&mut r, false, "dcim.interface");
                    if_id.insert(i.id, x.id);
                    remote_if.insert(i.id, x.clone());
                }
                None => to_create.push((
                    i.id,
                    json!({"device": dev, "name": i.name, "type": i.type_.as_ref().map_or("other", |t| t.value.as_str()),
                           "mgmt_only": i.mgmt_only, "custom_fields": i.custom_fields}),
                )),
            }
        }
        let bodies: Vec<Value> = to_create.iter().map(|(_, v)| v.clone()).collect();
        let created: Vec<Interface> = client.create_bulk("dcim/interfaces", &bodies).await?;
        for ((local, _), c) in to_create.iter().zip(created) {
            count(&mut r, true, "dcim.interface");
            if_id.insert(*local, c.id);
            remote_if.insert(*local, c);
        }
    }
    // MAC addresses and IPs (primary MAC / primary IPv4 set afterwards), in bulk: a real
    // NetBox takes tens of milliseconds per request, a large fabric has thousands of each.
    let mut macs: Vec<(u64, Value)> = Vec::new();
    for m in &s.mac_addresses {
        let Some(local_if) = m.assigned_object_id else {
            continue;
        };
        let rif = &remote_if[&local_if];
        if rif.primary_mac_address.is_some() {
            count(&mut r, false, "dcim.macaddress");
            continue;
        }
        macs.push((
            if_id[&local_if],
            json!({"mac_address": m.mac_address, "assigned_object_type": "dcim.interface", "assigned_object_id": if_id[&local_if]}),
        ));
    }
    for part in macs.chunks(BULK) {
        let bodies: Vec<Value> = part.iter().map(|(_, b)| b.clone()).collect();
        let created: Vec<BriefMac> = client.create_bulk("dcim/mac-addresses", &bodies).await?;
        for _ in &created {
            count(&mut r, true, "dcim.macaddress");
        }
        let primaries: Vec<Value> = part
            .iter()
            .zip(&created)
            .map(|((iface, _), mac)| json!({"id": iface, "primary_mac_address": mac.id}))
            .collect();
        client.patch_bulk("dcim/interfaces", &primaries).await?;
    }
    let existing_ips: Vec<IpAddress> = client
        .list_chunked("ipam/ip-addresses", &[], "device_id", &remote_ids, 100)
        .await?;
    let mut ip_id: BTreeMap<u64, u64> = BTreeMap::new();
    let mut new_ips: Vec<(u64, Value)> = Vec::new();
    for a in &s.ip_addresses {
        let Some(local_if) = a.assigned_object_id else {
            continue;
        };
        let rid = if_id[&local_if];
        match existing_ips
            .iter()
            .find(|x| x.assigned_object_id == Some(rid) && x.address == a.address)
        {
            Some(x) => {
                count(&mut r, false, "ipam.ipaddress");
                ip_id.insert(a.id, x.id);
            }
            None => new_ips.push((
                a.id,
                json!({"address": a.address, "status": "active", "assigned_object_type": "dcim.interface", "assigned_object_id": rid}),
            )),
        }
    }
    ip_id.extend(
        create_in_bulk(
            client,
            "ipam/ip-addresses",
            &new_ips,
            &mut r,
            "ipam.ipaddress",
        )
        .await?,
    );
    let mut primary_ips: Vec<Value> = Vec::new();
    for d in &s.devices {
        if let Some(ip) = &d.primary_ip4 {
            let remote = existing.iter().find(|x| x.name == d.name);
            if remote.and_then(|x| x.primary_ip4.as_ref()).is_none() {
                primary_ips.push(json!({"id": dev_id[&d.id], "primary_ip4": ip_id[&ip.id]}));
            }
        }
    }
    for part in primary_ips.chunks(BULK) {
        client.patch_bulk("dcim/devices", part).await?;
    }
    // Cables: skipped when either end is already cabled.
    let mut bodies = Vec::new();
    for c in &s.cables {
        let (Some(a), Some(z)) = (c.a_terminations.first(), c.b_terminations.first()) else {
            continue;
        };
        let (ra, rz) = (&remote_if[&a.object_id], &remote_if[&z.object_id]);
        if ra.cable.is_some() || rz.cable.is_some() {
            count(&mut r, false, "dcim.cable");
            if ra.cable.is_none()
                || rz.cable.is_none()
                || ra.cable.as_ref().map(|x| x.id) != rz.cable.as_ref().map(|x| x.id)
            {
                r.warnings.push(format!(
                    "cable {} ↔ {} not created: one end is already cabled elsewhere",
                    ra.name, rz.name
                ));
            }
            continue;
        }
        bodies.push(json!({"a_terminations": [{"object_type": "dcim.interface", "object_id": if_id[&a.object_id]}],
                           "b_terminations": [{"object_type": "dcim.interface", "object_id": if_id[&z.object_id]}],
                           "status": "connected", "custom_fields": c.custom_fields}));
    }
    let created: Vec<Brief> = client.create_bulk("dcim/cables", &bodies).await?;
    for _ in &created {
        count(&mut r, true, "dcim.cable");
    }
    // VLAN groups and VLANs.
    let groups: Vec<VlanGroup> = client
        .list(
            "ipam/vlan-groups",
            &[
                ("scope_type", "dcim.site".into()),
                ("scope_id", site_id.to_string()),
            ],
        )
        .await?;
    let mut group_id: BTreeMap<u64, u64> = BTreeMap::new();
    for g in &s.vlan_groups {
        let id = match groups.iter().find(|x| x.slug == g.slug) {
            Some(x) => {
                count(&mut r, false, "ipam.vlangroup");
                x.id
            }
            None => {
                count(&mut r, true, "ipam.vlangroup");
                client.create::<Brief>("ipam/vlan-groups", &json!({"name": g.name, "slug": g.slug, "scope_type": "dcim.site", "scope_id": site_id, "vid_ranges": g.vid_ranges})).await?.id
            }
        };
        group_id.insert(g.id, id);
    }
    let gids: Vec<u64> = group_id.values().copied().collect();
    let mut existing_vlans: Vec<Vlan> = client
        .list_chunked("ipam/vlans", &[], "group_id", &gids, 100)
        .await?;
    existing_vlans.extend(
        client
            .list::<Vlan>("ipam/vlans", &[("site_id", site_id.to_string())])
            .await?,
    );
    let mut vlan_id: BTreeMap<u64, u64> = BTreeMap::new();
    let mut new_vlans: Vec<(u64, Value)> = Vec::new();
    for v in &s.vlans {
        let rg = v.group.as_ref().map(|g| group_id[&g.id]);
        let found = existing_vlans.iter().find(|x| {
            x.vid == v.vid
                && x.group.as_ref().map(|g| g.id) == rg
                && (rg.is_some() || x.site.as_ref().is_some_and(|s| s.id == site_id))
        });
        match found {
            Some(x) => {
                count(&mut r, false, "ipam.vlan");
                vlan_id.insert(v.id, x.id);
            }
            None => {
                let mut body = json!({"vid": v.vid, "name": v.name, "status": "active"});
                match rg {
                    Some(g) => body["group"] = json!(g),
                    None => body["site"] = json!(site_id),
                }
                new_vlans.push((v.id, body));
            }
        }
    }
    vlan_id.extend(create_in_bulk(client, "ipam/vlans", &new_vlans, &mut r, "ipam.vlan").await?);
    // VRFs and prefixes.
    let vrfs: Vec<Vrf> = client.list("ipam/vrfs", &[]).await?;
    let mut vrf_id: BTreeMap<u64, u64> = BTreeMap::new();
    let mut new_vrfs: Vec<(u64, Value)> = Vec::new();
    for v in &s.vrfs {
        match vrfs.iter().find(|x| x.name == v.name) {
            Some(x) => {
                count(&mut r, false, "ipam.vrf");
                vrf_id.insert(v.id, x.id);
            }
            None => new_vrfs.push((
                v.id,
                json!({"name": v.name, "custom_fields": v.custom_fields}),
            )),
        }
    }
    vrf_id.extend(create_in_bulk(client, "ipam/vrfs", &new_vrfs, &mut r, "ipam.vrf").await?);
    let prefixes: Vec<Prefix> = client
        .list("ipam/prefixes", &[("site_id", site_id.to_string())])
        .await?;
    let mut new_prefixes: Vec<(u64, Value)> = Vec::new();
    for p in &s.prefixes {
        let rv = p.vrf.as_ref().map(|v| vrf_id[&v.id]);
        if prefixes
            .iter()
            .any(|x| x.prefix == p.prefix && x.vrf.as_ref().map(|v| v.id) == rv)
        {
            count(&mut r, false, "ipam.prefix");
            continue;
        }
        new_prefixes.push((
            p.id,
            json!({"prefix": p.prefix, "status": p.status.as_ref().map_or("active", |s| s.value.as_str()),
                   "vrf": rv, "vlan": p.vlan.as_ref().map(|v| vlan_id[&v.id]),
                   "scope_type": "dcim.site", "scope_id": site_id, "custom_fields": p.custom_fields}),
        ));
    }
    create_in_bulk(
        client,
        "ipam/prefixes",
        &new_prefixes,
        &mut r,
        "ipam.prefix",
    )
    .await?;
    // Interface LAG membership and VLAN modes, in bulk.
    let mut iface_patches: Vec<Value> = Vec::new();
    for i in &s.interfaces {
        let remote = &remote_if[&i.id];
        let mut patch = Map::new();
        if let Some(l) = &i.lag
            && remote.lag.as_ref().map(|x| x.id) != Some(if_id[&l.id])
        {
            patch.insert("lag".into(), json!(if_id[&l.id]));
        }
        let want_mode = i.mode.as_ref().map(|m| m.value.clone());
        if want_mode.is_some() && remote.mode.as_ref().map(|m| m.value.clone()) != want_mode {
            patch.insert("mode".into(), json!(want_mode));
        }
        if let Some(u) = &i.untagged_vlan
            && remote.untagged_vlan.as_ref().map(|x| x.id) != Some(vlan_id[&u.id])
        {
            patch.insert("untagged_vlan".into(), json!(vlan_id[&u.id]));
        }
        let want_tagged: BTreeSet<u64> = i.tagged_vlans.iter().map(|v| vlan_id[&v.id]).collect();
        let have_tagged: BTreeSet<u64> = remote.tagged_vlans.iter().map(|v| v.id).collect();
        if !want_tagged.is_subset(&have_tagged) {
            let all: Vec<u64> = want_tagged.union(&have_tagged).copied().collect();
            patch.insert("tagged_vlans".into(), json!(all));
        }
        if !patch.is_empty() {
            patch.insert("id".into(), json!(if_id[&i.id]));
            iface_patches.push(Value::Object(patch));
            r.updated += 1;
        }
    }
    for part in iface_patches.chunks(BULK) {
        client.patch_bulk("dcim/interfaces", part).await?;
    }
    Ok(r)
}

/// Creates `items` (snapshot id, body) in bulk, [`BULK`] per request, counting each as created;
/// returns snapshot id → NetBox id (NetBox answers a bulk create in the order it was sent).
async fn create_in_bulk(
    client: &NetboxClient,
    path: &str,
    items: &[(u64, Value)],
    r: &mut ImportReport,
    label: &str,
) -> Result<BTreeMap<u64, u64>, ImportError> {
    let mut ids = BTreeMap::new();
    for part in items.chunks(BULK) {
        let bodies: Vec<Value> = part.iter().map(|(_, b)| b.clone()).collect();
        let created: Vec<Brief> = client.create_bulk(path, &bodies).await?;
        for ((local, _), c) in part.iter().zip(&created) {
            count(r, true, label);
            ids.insert(*local, c.id);
        }
    }
    Ok(ids)
}

/// Imports a wiring diagram into site `site_slug`: [`diagram_to_snapshot`] then
/// [`write_snapshot`]. Idempotent.
pub async fn import_wiring(
    client: &NetboxClient,
    d: &Diagram,
    site_slug: &str,
) -> Result<ImportReport, ImportError> {
    let (snap, warnings) = diagram_to_snapshot(d, site_slug)?;
    let mut r = write_snapshot(client, &snap).await?;
    let mut all = warnings;
    all.append(&mut r.warnings);
    r.warnings = all;
    Ok(r)
}

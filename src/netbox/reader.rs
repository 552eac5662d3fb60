//! Reads one fabric (a Site, optionally narrowed by a Tag) from NetBox into a [`Snapshot`]:
//! every endpoint the plan needs, concurrently within the client's bound, each list paginated;
//! or brings an earlier snapshot up to date from NetBox's change log ([`NetboxClient::refresh_fabric`])
//! when every change is one it can apply exactly.
//!
//! Reads only; never interprets what it reads for Hedgehog (that is the plan's job).

use std::collections::BTreeSet;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::changes::ObjectChange;

use super::client::NetboxClient;
use super::error::NetboxError;
use super::model::*;

/// Device ids per request when filtering by `device_id` (keeps URLs short).
const ID_CHUNK: usize = 100;

impl NetboxClient {
    /// Reads the fabric of site `site_slug` (narrowed to objects tagged `tag` when given).
    pub async fn read_fabric(
        &self,
        site_slug: &str,
        tag: Option<&str>,
    ) -> Result<Snapshot, NetboxError> {
        let sites: Vec<Site> = self
            .list("dcim/sites", &[("slug", site_slug.to_string())])
            .await?;
        let site = sites
            .into_iter()
            .find(|s| s.slug == site_slug)
            .ok_or_else(|| NetboxError::NotFound {
                endpoint: format!("GET {}", self.api_path("dcim/sites")),
                detail: format!("no site with slug {site_slug:?}"),
            })?;
        let sid = site.id.to_string();
        let tagq = |mut q: Vec<(&'static str, String)>| {
            if let Some(t) = tag {
                q.push(("tag", t.to_string()));
            }
            q
        };
        let dev_q = tagq(vec![("site_id", sid.clone())]);
        let vg_q = tagq(vec![
            ("scope_type", "dcim.site".to_string()),
            ("scope_id", sid.clone()),
        ]);
        let pfx_q = tagq(vec![("site_id", sid.clone())]);
        let vrf_q = tagq(vec![]);
        let site_q = vec![("site_id", sid.clone())];

        let (
            devices,
            interfaces,
            cables,
            device_types,
            roles,
            virtual_chassis,
            vlan_groups,
            prefixes,
            vrfs,
            custom_fields,
        ) = tokio::try_join!(
            self.list::<Device>("dcim/devices", &dev_q),
            self.list::<Interface>("dcim/interfaces", &site_q),
            self.list::<Cable>("dcim/cables", &site_q),
            self.list::<DeviceType>("dcim/device-types", &[]),
            self.list::<DeviceRole>("dcim/device-roles", &[]),
            self.list::<VirtualChassis>("dcim/virtual-chassis", &site_q),
            self.list::<VlanGroup>("ipam/vlan-groups", &vg_q),
            self.list::<Prefix>("ipam/prefixes", &pfx_q),
            self.list::<Vrf>("ipam/vrfs", &vrf_q),
            self.list::<CustomFieldDef>("extras/custom-fields", &[]),
        )?;

        let device_ids: Vec<u64> = devices.iter().map(|d| d.id).collect();
        let group_ids: Vec<u64> = vlan_groups.iter().map(|g| g.id).collect();
        let (mac_addresses, ip_addresses, group_vlans, site_vlans) = tokio::try_join!(
            self.list_chunked::<MacAddress>(
                "dcim/mac-addresses",
                &[],
                "device_id",
                &device_ids,
                ID_CHUNK
            ),
            self.list_chunked::<IpAddress>(
                "ipam/ip-addresses",
                &[],
                "device_id",
                &device_ids,
                ID_CHUNK
            ),
            self.list_chunked::<Vlan>("ipam/vlans", &[], "group_id", &group_ids, ID_CHUNK),
            self.list::<Vlan>("ipam/vlans", &site_q),
        )?;

        // Keep only what belongs to the fabric's devices: filters NetBox ignores (unknown
        // parameters are not errors) must not widen the snapshot.
        let dev_set: BTreeSet<u64> = device_ids.iter().copied().collect();
        let interfaces: Vec<Interface> = interfaces
            .into_iter()
            .filter(|i| dev_set.contains(&i.device.id))
            .collect();
        let if_set: BTreeSet<u64> = interfaces.iter().map(|i| i.id).collect();
        let assigned_to_fabric = |t: &Option<String>, id: &Option<u64>| {
            t.as_deref() == Some("dcim.interface") && id.is_some_and(|id| if_set.contains(&id))
        };
        let mac_addresses = mac_addresses
            .into_iter()
            .filter(|m| assigned_to_fabric(&m.assigned_object_type, &m.assigned_object_id))
            .collect();
        let ip_addresses = ip_addresses
            .into_iter()
            .filter(|a| assigned_to_fabric(&a.assigned_object_type, &a.assigned_object_id))
            .collect();
        let group_set: BTreeSet<u64> = group_ids.iter().copied().collect();
        let mut vlans: Vec<Vlan> = group_vlans
            .into_iter()
            .filter(|v| v.group.as_ref().is_some_and(|g| group_set.contains(&g.id)))
            .chain(
                site_vlans
                    .into_iter()
                    .filter(|v| v.site.as_ref().is_some_and(|s| s.id == site.id)),
            )
            .collect();
        vlans.sort_by_key(|v| v.id);
        vlans.dedup_by_key(|v| v.id);
        let cables = cables
            .into_iter()
            .filter(|c| {
                c.a_terminations
                    .iter()
                    .chain(&c.b_terminations)
                    .any(|t| t.object_type == "dcim.interface" && if_set.contains(&t.object_id))
            })
            .collect();
        let vrf_ids: BTreeSet<u64> = prefixes
            .iter()
            .filter_map(|p| p.vrf.as_ref().map(|v| v.id))
            .collect();
        let vrfs = vrfs
            .into_iter()
            .filter(|v| vrf_ids.contains(&v.id))
            .collect();
        let dt_ids: BTreeSet<u64> = devices.iter().map(|d| d.device_type.id).collect();
        let device_types = device_types
            .into_iter()
            .filter(|t: &DeviceType| dt_ids.contains(&t.id))
            .collect();
        let vc_ids: BTreeSet<u64> = devices
            .iter()
            .filter_map(|d| d.virtual_chassis.as_ref().map(|v| v.id))
            .collect();
        let virtual_chassis = virtual_chassis
            .into_iter()
            .filter(|v: &VirtualChassis| vc_ids.contains(&v.id))
            .collect();

        let mut snap = Snapshot {
            site,
            tag: tag.map(str::to_string),
            devices,
            device_types,
            roles,
            interfaces,
            mac_addresses,
            cables,
            virtual_chassis,
            vlan_groups,
            vlans,
            vrfs,
            prefixes,
            ip_addresses,
            custom_fields,
        };
        snap.sort();
        Ok(snap)
    }
}

/// Fields whose change can move an object into or out of a fabric, or that other objects carry
/// in their nested (brief) form of it: a change to one of them needs a full read.
const SCOPE_FIELDS: &[&str] = &[
    "name",
    "slug",
    "display",
    "model",
    "vid",
    "address",
    "mac_address",
    "prefix",
    "assigned_object_type",
    "assigned_object_id",
    "scope_type",
    "scope_id",
    "object_types",
];

/// Whether a JSON value holds a reference to another object (a nested object with an `id`).
fn has_reference(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.contains_key("id") || m.values().any(has_reference),
        Value::Array(a) => a.iter().any(has_reference),
        _ => false,
    }
}

/// Whether `new` differs from `old` only in fields that affect nothing but the object itself.
fn local_change<T: Serialize>(old: &T, new: &T) -> bool {
    let (Ok(Value::Object(old)), Ok(Value::Object(new))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return false;
    };
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter().all(|k| {
        let (a, b) = (old.get(k), new.get(k));
        a == b
            || (!SCOPE_FIELDS.contains(&k.as_str())
                && !a.is_some_and(has_reference)
                && !b.is_some_and(has_reference))
    })
}

impl NetboxClient {
    /// Fetches the objects `ids` of one snapshot list again, checked to be local changes (they
    /// are applied only once every list of a refresh checked out). `None` when one of them is
    /// not in the list (new to the fabric), no longer exists, or changed more than locally.
    async fn refetch<T>(
        &self,
        endpoint: &str,
        list: &[T],
        ids: &BTreeSet<u64>,
        id: fn(&T) -> u64,
    ) -> Result<Option<Vec<T>>, NetboxError>
    where
        T: DeserializeOwned + Serialize,
    {
        if ids.is_empty() {
            return Ok(Some(Vec::new()));
        }
        if ids
            .iter()
            .any(|i| list.binary_search_by_key(i, id).is_err())
        {
            return Ok(None);
        }
        let wanted: Vec<u64> = ids.iter().copied().collect();
        let fetched: Vec<T> = self
            .list_chunked(endpoint, &[], "id", &wanted, ID_CHUNK)
            .await?;
        let got: BTreeSet<u64> = fetched.iter().map(id).collect();
        if &got != ids {
            return Ok(None);
        }
        for new in &fetched {
            let Ok(at) = list.binary_search_by_key(&id(new), id) else {
                return Ok(None);
            };
            if !local_change(&list[at], new) {
                return Ok(None);
            }
        }
        Ok(Some(fetched))
    }

    /// Brings `snap` up to date with `changes` (NetBox change-log entries since `snap` was
    /// read) when every one of them is an update, to an object already in the snapshot, that
    /// changes only fields no other object depends on: those objects are fetched again by id
    /// and replaced. Returns `false`, leaving `snap` untouched, when any change needs a full
    /// read (a create, a delete, an object new to the fabric, a changed reference, name or
    /// scope, or a type the snapshot does not hold by id).
    pub async fn refresh_fabric(
        &self,
        snap: &mut Snapshot,
        changes: &[ObjectChange],
    ) -> Result<bool, NetboxError> {
        let mut ids: std::collections::BTreeMap<&str, BTreeSet<u64>> = Default::default();
        for c in changes {
            if c.action.value != "update" {
                return Ok(false);
            }
            ids.entry(c.changed_object_type.as_str())
                .or_default()
                .insert(c.changed_object_id);
        }
        const KNOWN: &[&str] = &[
            "dcim.device",
            "dcim.interface",
            "dcim.cable",
            "dcim.macaddress",
            "dcim.devicetype",
            "dcim.devicerole",
            "dcim.virtualchassis",
            "ipam.ipaddress",
            "ipam.vlan",
            "ipam.vlangroup",
            "ipam.prefix",
            "ipam.vrf",
        ];
        if ids.keys().any(|t| !KNOWN.contains(t)) {
            return Ok(false);
        }
        let none = BTreeSet::new();
        let of = |t: &str| ids.get(t).unwrap_or(&none);
        macro_rules! refetch {
            ($endpoint:literal, $field:ident, $type:literal) => {
                match self
                    .refetch($endpoint, &snap.$field, of($type), |o| o.id)
                    .await?
                {
                    Some(r) => r,
                    None => return Ok(false),
                }
            };
        }
        let devices = refetch!("dcim/devices", devices, "dcim.device");
        let interfaces = refetch!("dcim/interfaces", interfaces, "dcim.interface");
        let cables = refetch!("dcim/cables", cables, "dcim.cable");
        let macs = refetch!("dcim/mac-addresses", mac_addresses, "dcim.macaddress");
        let device_types = refetch!("dcim/device-types", device_types, "dcim.devicetype");
        let roles = refetch!("dcim/device-roles", roles, "dcim.devicerole");
        let vcs = refetch!(
            "dcim/virtual-chassis",
            virtual_chassis,
            "dcim.virtualchassis"
        );
        let ips = refetch!("ipam/ip-addresses", ip_addresses, "ipam.ipaddress");
        let vlans = refetch!("ipam/vlans", vlans, "ipam.vlan");
        let groups = refetch!("ipam/vlan-groups", vlan_groups, "ipam.vlangroup");
        let prefixes = refetch!("ipam/prefixes", prefixes, "ipam.prefix");
        let vrfs = refetch!("ipam/vrfs", vrfs, "ipam.vrf");
        fn put<T>(list: &mut [T], updates: Vec<T>, id: fn(&T) -> u64) {
            for new in updates {
                if let Ok(at) = list.binary_search_by_key(&id(&new), id) {
                    list[at] = new;
                }
            }
        }
        put(&mut snap.devices, devices, |o| o.id);
        put(&mut snap.interfaces, interfaces, |o| o.id);
        put(&mut snap.cables, cables, |o| o.id);
        put(&mut snap.mac_addresses, macs, |o| o.id);
        put(&mut snap.device_types, device_types, |o| o.id);
        put(&mut snap.roles, roles, |o| o.id);
        put(&mut snap.virtual_chassis, vcs, |o| o.id);
        put(&mut snap.ip_addresses, ips, |o| o.id);
        put(&mut snap.vlans, vlans, |o| o.id);
        put(&mut snap.vlan_groups, groups, |o| o.id);
        put(&mut snap.prefixes, prefixes, |o| o.id);
        put(&mut snap.vrfs, vrfs, |o| o.id);
        Ok(true)
    }
}

//! Reads one fabric (a Site, optionally narrowed by a Tag) from NetBox into a [`Snapshot`]:
//! every endpoint the plan needs, concurrently within the client's bound, each list paginated.
//!
//! Reads only; never interprets what it reads (that is the plan's job).

use std::collections::BTreeSet;

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

//! NetBox housekeeping a test run needs around a fabric (`fabsync validate` creates sites in a
//! real NetBox and removes them again): object counts, ids of what exists, bulk deletes by id,
//! removing a site with everything in it, a snapshot's virtual chassis, and custom fields' object
//! types.
//!
//! Every call goes through [`NetboxClient`] and fails with [`NetboxError`]. It does not decide
//! what to create or remove, and the sync engine never uses it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::client::NetboxClient;
use super::error::NetboxError;
use super::model::{Brief, CustomFieldDef, Device, Snapshot};

/// Ids per bulk delete request.
const DELETE_CHUNK: usize = 200;
/// Ids per filtered list request (repeated query parameters).
const FILTER_CHUNK: usize = 100;

/// The count field of a list answer.
#[derive(serde::Deserialize)]
struct Count {
    count: u64,
}

impl NetboxClient {
    /// How many objects an endpoint (`dcim/devices`) holds (one page of one brief object).
    pub async fn count(&self, endpoint: &str) -> Result<u64, NetboxError> {
        let path = self.api_path(endpoint);
        let v = self
            .request(http::Method::GET, &format!("{path}?limit=1&brief=1"), None)
            .await?;
        serde_json::from_value::<Count>(v)
            .map(|c| c.count)
            .map_err(|e| NetboxError::Decode {
                endpoint: format!("GET {path}"),
                reason: format!("no count in the answer: {e}"),
            })
    }

    /// The ids of the objects of an endpoint matching `query`, sorted, without repeats.
    pub async fn ids(
        &self,
        endpoint: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<u64>, NetboxError> {
        let objects: Vec<Brief> = self.list(endpoint, query).await?;
        Ok(sorted_ids(objects.iter().map(|o| o.id)))
    }

    /// The ids of the objects of an endpoint whose `key` is one of `values` (in chunks).
    async fn ids_by(
        &self,
        endpoint: &str,
        base: &[(&str, String)],
        key: &str,
        values: &[u64],
    ) -> Result<Vec<u64>, NetboxError> {
        let objects: Vec<Brief> = self
            .list_chunked(endpoint, base, key, values, FILTER_CHUNK)
            .await?;
        Ok(sorted_ids(objects.iter().map(|o| o.id)))
    }

    /// Deletes objects of an endpoint by id, in bulk requests of 200.
    pub async fn bulk_delete(&self, endpoint: &str, ids: &[u64]) -> Result<(), NetboxError> {
        for chunk in ids.chunks(DELETE_CHUNK) {
            let body: Vec<Value> = chunk.iter().map(|id| json!({ "id": id })).collect();
            self.request(
                http::Method::DELETE,
                &self.api_path(endpoint),
                Some(&Value::Array(body)),
            )
            .await?;
        }
        Ok(())
    }

    /// The id of the site with slug `slug`, if there is one.
    pub async fn site_id(&self, slug: &str) -> Result<Option<u64>, NetboxError> {
        let sites: Vec<Brief> = self
            .list("dcim/sites", &[("slug", slug.to_string())])
            .await?;
        Ok(sites
            .iter()
            .find(|s| s.slug.as_deref() == Some(slug))
            .map(|s| s.id))
    }

    /// Removes a site and everything of it: journal entries (of its devices and of itself), IP
    /// and MAC addresses, cables, virtual chassis, devices (their interfaces go with them),
    /// prefixes, VLANs (of the site and of its VLAN groups) and VLAN groups. A missing site is
    /// fine.
    pub async fn remove_site(&self, slug: &str) -> Result<(), NetboxError> {
        let Some(site) = self.site_id(slug).await? else {
            return Ok(());
        };
        let of_site = || vec![("site_id", site.to_string())];
        let devices = self.ids("dcim/devices", &of_site()).await?;
        let (mut ips, mut macs, mut journal) = (Vec::new(), Vec::new(), Vec::new());
        for chunk in devices.chunks(FILTER_CHUNK) {
            ips.extend(
                self.ids_by("ipam/ip-addresses", &[], "device_id", chunk)
                    .await?,
            );
            macs.extend(
                self.ids_by("dcim/mac-addresses", &[], "device_id", chunk)
                    .await?,
            );
            journal.extend(
                self.ids_by(
                    "extras/journal-entries",
                    &[("assigned_object_type", "dcim.device".into())],
                    "assigned_object_id",
                    chunk,
                )
                .await?,
            );
        }
        journal.extend(
            self.ids(
                "extras/journal-entries",
                &[
                    ("assigned_object_type", "dcim.site".into()),
                    ("assigned_object_id", site.to_string()),
                ],
            )
            .await?,
        );
        self.bulk_delete("extras/journal-entries", &sorted_ids(journal))
            .await?;
        self.bulk_delete("ipam/ip-addresses", &sorted_ids(ips))
            .await?;
        self.bulk_delete("dcim/mac-addresses", &sorted_ids(macs))
            .await?;
        let cables = self.ids("dcim/cables", &of_site()).await?;
        self.bulk_delete("dcim/cables", &cables).await?;
        // A virtual chassis goes first: NetBox refuses to delete the device that is its master.
        let chassis = self.ids("dcim/virtual-chassis", &of_site()).await?;
        self.bulk_delete("dcim/virtual-chassis", &chassis).await?;
        self.bulk_delete("dcim/devices", &devices).await?;
        let prefixes = self.ids("ipam/prefixes", &of_site()).await?;
        self.bulk_delete("ipam/prefixes", &prefixes).await?;
        let groups = self
            .ids(
                "ipam/vlan-groups",
                &[
                    ("scope_type", "dcim.site".into()),
                    ("scope_id", site.to_string()),
                ],
            )
            .await?;
        let mut vlans = self.ids("ipam/vlans", &of_site()).await?;
        for chunk in groups.chunks(FILTER_CHUNK) {
            vlans.extend(self.ids_by("ipam/vlans", &[], "group_id", chunk).await?);
        }
        self.bulk_delete("ipam/vlans", &sorted_ids(vlans)).await?;
        self.bulk_delete("ipam/vlan-groups", &groups).await?;
        self.delete("dcim/sites", site).await
    }

    /// Creates the snapshot's virtual chassis (redundancy groups) in its site, already written
    /// (devices found by name), puts their member devices in them in id order, and sets their
    /// masters.
    pub async fn write_virtual_chassis(&self, snap: &Snapshot) -> Result<(), NetboxError> {
        if snap.virtual_chassis.is_empty() {
            return Ok(());
        }
        let slug = &snap.site.slug;
        let missing = |endpoint: &str, detail: String| NetboxError::NotFound {
            endpoint: format!("GET {}", self.api_path(endpoint)),
            detail,
        };
        let site = self
            .site_id(slug)
            .await?
            .ok_or_else(|| missing("dcim/sites", format!("site {slug} is missing")))?;
        let remote: BTreeMap<String, u64> = self
            .list::<Brief>("dcim/devices", &[("site_id", site.to_string())])
            .await?
            .into_iter()
            .filter_map(|d| Some((d.name?, d.id)))
            .collect();
        for vc in &snap.virtual_chassis {
            let created: Brief = self
                .create("dcim/virtual-chassis", &json!({ "name": vc.name }))
                .await?;
            let mut members: Vec<&Device> = snap
                .devices
                .iter()
                .filter(|d| d.virtual_chassis.as_ref().is_some_and(|v| v.id == vc.id))
                .collect();
            members.sort_by_key(|d| d.id);
            for (pos, d) in members.iter().enumerate() {
                let name = d.name.clone().unwrap_or_default();
                let id = remote.get(&name).ok_or_else(|| {
                    missing(
                        "dcim/devices",
                        format!("device {name} of virtual chassis {} is missing", vc.name),
                    )
                })?;
                self.patch(
                    "dcim/devices",
                    *id,
                    &json!({"virtual_chassis": created.id, "vc_position": pos + 1}),
                )
                .await?;
            }
            if let Some(master) = vc
                .master
                .as_ref()
                .and_then(|m| snap.devices.iter().find(|d| d.id == m.id))
                .and_then(|d| d.name.as_ref())
                .and_then(|n| remote.get(n))
            {
                self.patch(
                    "dcim/virtual-chassis",
                    created.id,
                    &json!({ "master": master }),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Every custom field's object types, by custom field id.
    pub async fn custom_field_object_types(
        &self,
    ) -> Result<BTreeMap<u64, CustomFieldDef>, NetboxError> {
        let fields: Vec<CustomFieldDef> = self.list("extras/custom-fields", &[]).await?;
        Ok(fields.into_iter().map(|f| (f.id, f)).collect())
    }

    /// Sets the object types of custom field `id` (as they were before a setup widened them).
    pub async fn set_custom_field_object_types(
        &self,
        id: u64,
        object_types: &[String],
    ) -> Result<(), NetboxError> {
        self.patch(
            "extras/custom-fields",
            id,
            &json!({ "object_types": object_types }),
        )
        .await
        .map(|_| ())
    }
}

fn sorted_ids(ids: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut v: Vec<u64> = ids.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    v
}

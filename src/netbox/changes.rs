//! NetBox's change log as fabsync reads it: the newest change id (the cursor), the records
//! since a cursor, and which records can change a fabric's desired state.
//!
//! It does not decide what a change means for a run (full read or refresh); the engine does.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::NetboxClient;
use super::error::NetboxError;
use super::model::Choice;
use super::writer::{CF_LAST_SYNC, CF_STATUS};

/// NetBox object types whose changes can change a fabric's desired state.
pub const FABRIC_OBJECT_TYPES: &[&str] = &[
    "dcim.site",
    "dcim.device",
    "dcim.devicetype",
    "dcim.devicerole",
    "dcim.interface",
    "dcim.macaddress",
    "dcim.cable",
    "dcim.cabletermination",
    "dcim.virtualchassis",
    "ipam.vlangroup",
    "ipam.vlan",
    "ipam.vrf",
    "ipam.prefix",
    "ipam.ipaddress",
    "extras.tag",
    "extras.customfield",
];

/// One changelog record (`/api/core/object-changes/`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectChange {
    pub id: u64,
    #[serde(default)]
    pub time: String,
    pub action: Choice,
    pub changed_object_type: String,
    pub changed_object_id: u64,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub object_repr: String,
    /// The object's data before the change (`None`/empty on create).
    #[serde(default)]
    pub prechange_data: Option<Value>,
    /// The object's data after the change (`None`/empty on delete).
    #[serde(default)]
    pub postchange_data: Option<Value>,
}

impl ObjectChange {
    /// Whether this change can affect a fabric's desired state. fabsync's own writes (the
    /// site's status custom fields, journal entries) cannot.
    pub fn can_affect_fabric(&self) -> bool {
        if !FABRIC_OBJECT_TYPES.contains(&self.changed_object_type.as_str()) {
            return false;
        }
        if self.changed_object_type == "dcim.site"
            && let (Some(pre), Some(post)) = (&self.prechange_data, &self.postchange_data)
        {
            let strip = |v: &Value| {
                let mut v = v.clone();
                if let Some(cf) = v.get_mut("custom_fields").and_then(Value::as_object_mut) {
                    cf.remove(CF_STATUS);
                    cf.remove(CF_LAST_SYNC);
                }
                if let Some(m) = v.as_object_mut() {
                    m.remove("last_updated");
                }
                v
            };
            return strip(pre) != strip(post);
        }
        true
    }
}

impl NetboxClient {
    /// Id of the newest changelog record, `None` when the changelog is empty.
    pub async fn latest_change_id(&self) -> Result<Option<u64>, NetboxError> {
        let path = format!(
            "{}?limit=1&ordering=-id",
            self.api_path("core/object-changes")
        );
        let page = self.request(http::Method::GET, &path, None).await?;
        let endpoint = format!("GET {}", self.api_path("core/object-changes"));
        let results = page
            .get("results")
            .and_then(Value::as_array)
            .ok_or_else(|| NetboxError::Decode {
                endpoint: endpoint.clone(),
                reason: "list answer has no \"results\" array".into(),
            })?;
        match results.first() {
            None => Ok(None),
            Some(r) => r
                .get("id")
                .and_then(Value::as_u64)
                .map(Some)
                .ok_or_else(|| NetboxError::Decode {
                    endpoint,
                    reason: "change record without an integer id".into(),
                }),
        }
    }

    /// Changelog records newer than `after_id` for the given object types (all types when
    /// empty), oldest first.
    pub async fn changes_since(
        &self,
        after_id: u64,
        types: &[&str],
    ) -> Result<Vec<ObjectChange>, NetboxError> {
        let mut q: Vec<(&str, String)> = vec![("id__gt", after_id.to_string())];
        q.extend(types.iter().map(|t| ("changed_object_type", t.to_string())));
        let mut changes: Vec<ObjectChange> = self.list("core/object-changes", &q).await?;
        changes.retain(|c| c.id > after_id);
        changes.sort_by_key(|c| c.id);
        Ok(changes)
    }
}

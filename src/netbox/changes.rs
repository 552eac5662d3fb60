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

/// A place in NetBox's change log: a record's id and a fingerprint of that record (its time,
/// request, action and object), so a log rewound or replaced under the same ids is noticed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPosition {
    /// The record's id.
    pub id: u64,
    /// Its time, request id, action and object.
    pub fingerprint: String,
}

/// What followed a log position.
#[derive(Clone, Debug, PartialEq)]
pub enum ChangesAfter {
    /// The position is still in the log as it was; these records follow it, oldest first.
    Continuous(Vec<ObjectChange>),
    /// The position is gone or different: why.
    Broken(String),
}

impl ObjectChange {
    /// This record's place in the log.
    pub fn position(&self) -> LogPosition {
        LogPosition {
            id: self.id,
            fingerprint: format!(
                "{}|{}|{}|{}:{}",
                self.time,
                self.request_id.as_deref().unwrap_or(""),
                self.action.value,
                self.changed_object_type,
                self.changed_object_id
            ),
        }
    }

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
        Ok(self.latest_change().await?.map(|p| p.id))
    }

    /// The newest changelog record's position, `None` when the changelog is empty.
    pub async fn latest_change(&self) -> Result<Option<LogPosition>, NetboxError> {
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
            Some(r) => serde_json::from_value::<ObjectChange>(r.clone())
                .map(|c| Some(c.position()))
                .map_err(|e| NetboxError::Decode {
                    endpoint,
                    reason: format!("change record: {e}"),
                }),
        }
    }

    /// The records after `from`, provided the log still holds `from` as it was (the same
    /// record at that id): otherwise the log was rewound, replaced or pruned past it, and
    /// nothing can be concluded from what follows.
    pub async fn changes_after(&self, from: &LogPosition) -> Result<ChangesAfter, NetboxError> {
        if from.id == 0 {
            return Ok(ChangesAfter::Continuous(self.changes_since(0, &[]).await?));
        }
        let mut changes = self.changes_since(from.id - 1, &[]).await?;
        match changes.first() {
            Some(c) if c.id == from.id && c.position() == *from => {
                changes.remove(0);
                Ok(ChangesAfter::Continuous(changes))
            }
            Some(c) if c.id == from.id => Ok(ChangesAfter::Broken(format!(
                "the change record at the cursor (id {}) is not the one seen before: NetBox was restored from a backup or replaced",
                from.id
            ))),
            _ => Ok(ChangesAfter::Broken(format!(
                "the change record at the cursor (id {}) is gone: NetBox was restored or recreated, or its changelog retention removed it",
                from.id
            ))),
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

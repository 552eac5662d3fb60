//! `str(obj)` of each model as NetBox's `__str__` methods write it: used for `display`, change
//! record `object_repr` and error messages.
//!
//! It writes no JSON.

use super::Ctx;
use crate::model::Model;
use crate::store::{Rec, Store};
use crate::util::fmt_minute;

impl<'a> Ctx<'a> {
    /// `str(obj)` of a record.
    pub fn display(&self, m: Model, rec: &Rec) -> String {
        match m {
            Model::DeviceType => rec.str(m, "model").to_string(),
            Model::Device => device_display(self.store, rec),
            Model::Cable => cable_display(rec),
            Model::CableTermination => {
                let cable = rec
                    .id_of(m, "cable")
                    .and_then(|c| self.store.get(Model::Cable, c))
                    .map(cable_display)
                    .unwrap_or_default();
                let term = rec
                    .id_of(m, "termination_id")
                    .and_then(|t| self.store.get(Model::Interface, t))
                    .map(|i| i.str(Model::Interface, "name").to_string())
                    .unwrap_or_default();
                format!("Cable {cable} to {term}")
            }
            Model::MacAddress => rec.str(m, "mac_address").to_string(),
            Model::Vrf => match rec.get(m, "rd").as_str() {
                Some(rd) => format!("{} ({rd})", rec.str(m, "name")),
                None => rec.str(m, "name").to_string(),
            },
            Model::Prefix => rec.str(m, "prefix").to_string(),
            Model::IpAddress => rec.str(m, "address").to_string(),
            Model::Vlan => format!("{} ({})", rec.str(m, "name"), rec.get(m, "vid")),
            Model::CustomField => {
                let label = rec.str(m, "label");
                if label.is_empty() {
                    capitalize(&rec.str(m, "name").replace('_', " "))
                } else {
                    label.to_string()
                }
            }
            Model::JournalEntry => {
                let kind = rec.str(m, "kind");
                let label = crate::choices::JOURNAL_KIND.label(kind).unwrap_or(kind);
                format!("{} ({label})", fmt_minute(rec.created))
            }
            _ => rec.str(m, "name").to_string(),
        }
    }
}

fn capitalize(s: &str) -> String {
    let lower = s.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `str(device)`.
pub fn device_display(store: &Store, rec: &Rec) -> String {
    let m = Model::Device;
    let asset = rec.get(m, "asset_tag").as_str();
    if let Some(name) = rec.get(m, "name").as_str().filter(|n| !n.is_empty()) {
        return match asset {
            Some(a) => format!("{name} ({a})"),
            None => name.to_string(),
        };
    }
    if let Some(vc) = rec
        .id_of(m, "virtual_chassis")
        .and_then(|v| store.get(Model::VirtualChassis, v))
    {
        let pos = rec.get(m, "vc_position");
        let pos = if pos.is_null() {
            "None".to_string()
        } else {
            pos.to_string()
        };
        return match asset {
            Some(a) => format!("{}:{pos} ({a})", vc.str(Model::VirtualChassis, "name")),
            None => format!(
                "{}:{pos} ({})",
                vc.str(Model::VirtualChassis, "name"),
                rec.id
            ),
        };
    }
    let dt = rec
        .id_of(m, "device_type")
        .and_then(|d| store.get(Model::DeviceType, d));
    let (mfr, model) = match dt {
        Some(dt) => (
            dt.id_of(Model::DeviceType, "manufacturer")
                .and_then(|id| store.get(Model::Manufacturer, id))
                .map(|r| r.str(Model::Manufacturer, "name").to_string())
                .unwrap_or_default(),
            dt.str(Model::DeviceType, "model").to_string(),
        ),
        None => (String::new(), String::new()),
    };
    match asset {
        Some(a) => format!("{mfr} {model} ({a})"),
        None => format!("{mfr} {model} ({})", rec.id),
    }
}

fn cable_display(rec: &Rec) -> String {
    let label = rec.str(Model::Cable, "label");
    if label.is_empty() {
        format!("#{}", rec.id)
    } else {
        label.to_string()
    }
}

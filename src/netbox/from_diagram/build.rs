//! The snapshot under construction: local ids per object type and the get-or-create helpers
//! (roles, device types, devices, interfaces, cables, VLANs) the conversion sections share.
//!
//! Pure bookkeeping; it knows no diagram kinds.

use std::collections::BTreeMap;

use serde_json::json;

use crate::netbox::model::*;

fn role_title(slug: &str) -> String {
    slug.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The next local id per object type (each type counts from 1, like a fresh NetBox).
#[derive(Default)]
pub(super) struct Ids {
    next: BTreeMap<&'static str, u64>,
}

impl Ids {
    /// A fresh id for an object of type `t`.
    pub(super) fn take(&mut self, t: &'static str) -> u64 {
        let n = self.next.entry(t).or_insert(0);
        *n += 1;
        *n
    }
}

/// The snapshot being built, with the lookups that keep every object made once.
pub(super) struct Build {
    pub(super) snap: Snapshot,
    pub(super) ids: Ids,
    pub(super) warnings: Vec<String>,
    pub(super) dev_by_name: BTreeMap<String, u64>,
    iface_by_key: BTreeMap<(u64, String), u64>,
    role_by_slug: BTreeMap<String, u64>,
    type_by_slug: BTreeMap<String, u64>,
}

impl Build {
    /// An empty snapshot of site `site_slug` (id 1).
    pub(super) fn new(site_slug: &str) -> Build {
        Build {
            snap: Snapshot {
                site: Site {
                    id: 1,
                    name: site_slug.to_string(),
                    slug: site_slug.to_string(),
                    custom_fields: CustomFields::new(),
                },
                ..Snapshot::default()
            },
            ids: Ids::default(),
            warnings: Vec::new(),
            dev_by_name: BTreeMap::new(),
            iface_by_key: BTreeMap::new(),
            role_by_slug: BTreeMap::new(),
            type_by_slug: BTreeMap::new(),
        }
    }

    /// The snapshot, sorted, and the warnings.
    pub(super) fn finish(mut self) -> (Snapshot, Vec<String>) {
        self.snap.sort();
        (self.snap, self.warnings)
    }

    fn role(&mut self, slug: &str) -> Brief {
        let id = match self.role_by_slug.get(slug) {
            Some(id) => *id,
            None => {
                let id = self.ids.take("role");
                self.snap.roles.push(DeviceRole {
                    id,
                    name: role_title(slug),
                    slug: slug.to_string(),
                });
                self.role_by_slug.insert(slug.to_string(), id);
                id
            }
        };
        Brief {
            id,
            slug: Some(slug.to_string()),
            ..Brief::default()
        }
    }

    pub(super) fn device_type(&mut self, slug: &str, profile_cf: Option<&str>) -> Brief {
        let id = match self.type_by_slug.get(slug) {
            Some(id) => *id,
            None => {
                let id = self.ids.take("devicetype");
                let mut cf = CustomFields::new();
                if let Some(p) = profile_cf {
                    cf.insert("hedgehog_profile".into(), json!(p));
                }
                self.snap.device_types.push(DeviceType {
                    id,
                    model: slug.to_string(),
                    slug: slug.to_string(),
                    manufacturer: Some(Brief {
                        id: 1,
                        name: Some("Hedgehog".into()),
                        slug: Some("hedgehog".into()),
                        display: None,
                    }),
                    custom_fields: cf,
                });
                self.type_by_slug.insert(slug.to_string(), id);
                id
            }
        };
        Brief {
            id,
            slug: Some(slug.to_string()),
            ..Brief::default()
        }
    }

    pub(super) fn device(&mut self, name: &str, role: &str, dtype: Brief) -> u64 {
        if let Some(id) = self.dev_by_name.get(name) {
            return *id;
        }
        let id = self.ids.take("device");
        let role = self.role(role);
        self.snap.devices.push(Device {
            id,
            name: Some(name.to_string()),
            device_type: dtype,
            role,
            site: Some(Brief {
                id: self.snap.site.id,
                slug: Some(self.snap.site.slug.clone()),
                ..Brief::default()
            }),
            status: Some(Choice::new("active")),
            ..Device::default()
        });
        self.dev_by_name.insert(name.to_string(), id);
        id
    }

    pub(super) fn dev_mut(&mut self, id: u64) -> &mut Device {
        self.snap
            .devices
            .iter_mut()
            .find(|d| d.id == id)
            .expect("device created by this builder")
    }

    pub(super) fn iface(&mut self, device: u64, name: &str, type_: &str) -> u64 {
        if let Some(id) = self.iface_by_key.get(&(device, name.to_string())) {
            return *id;
        }
        let id = self.ids.take("interface");
        let dev_name = self
            .snap
            .devices
            .iter()
            .find(|d| d.id == device)
            .and_then(|d| d.name.clone());
        self.snap.interfaces.push(Interface {
            id,
            device: Brief {
                id: device,
                name: dev_name,
                ..Brief::default()
            },
            name: name.to_string(),
            type_: Some(Choice::new(type_)),
            mgmt_only: name == "M1",
            ..Interface::default()
        });
        self.iface_by_key.insert((device, name.to_string()), id);
        id
    }

    pub(super) fn if_mut(&mut self, id: u64) -> &mut Interface {
        self.snap
            .interfaces
            .iter_mut()
            .find(|i| i.id == id)
            .expect("interface created by this builder")
    }

    /// The interface of a `"<device>/<port>"` reference on an existing device.
    pub(super) fn port(&mut self, port_ref: &str, type_: &str) -> Option<u64> {
        let (dev, port) = port_ref.split_once('/')?;
        let d = *self.dev_by_name.get(dev)?;
        Some(self.iface(d, port, type_))
    }

    pub(super) fn cable(&mut self, a: u64, b: u64, cf: CustomFields) {
        let id = self.ids.take("cable");
        let t = |i: u64| {
            vec![Termination {
                object_type: "dcim.interface".into(),
                object_id: i,
                object: None,
            }]
        };
        self.snap.cables.push(Cable {
            id,
            label: String::new(),
            status: Some(Choice::new("connected")),
            a_terminations: t(a),
            b_terminations: t(b),
            custom_fields: cf,
        });
        for i in [a, b] {
            self.if_mut(i).cable = Some(Brief::id(id));
        }
    }

    pub(super) fn vlan(&mut self, vid: u16, group: Option<u64>) -> BriefVlan {
        let found = self.snap.vlans.iter().find(|v| {
            v.vid == vid
                && v.group.as_ref().map(|g| g.id) == group
                && (group.is_some() || v.site.is_some())
        });
        let id = match found {
            Some(v) => v.id,
            None => {
                let id = self.ids.take("vlan");
                self.snap.vlans.push(Vlan {
                    id,
                    vid,
                    name: format!("vlan-{vid}"),
                    group: group.map(Brief::id),
                    site: if group.is_none() {
                        Some(Brief::id(self.snap.site.id))
                    } else {
                        None
                    },
                    status: Some(Choice::new("active")),
                    custom_fields: CustomFields::new(),
                });
                id
            }
        };
        BriefVlan {
            id,
            vid,
            name: None,
        }
    }
}

/// The NetBox interface type of a switch port: `E…` ports are 100G QSFP28, the rest 25G SFP28.
pub(super) fn link_type(port: &str) -> &'static str {
    if port.starts_with('E') {
        "100gbase-x-qsfp28"
    } else {
        "25gbase-x-sfp28"
    }
}

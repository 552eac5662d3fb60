//! Connections of the diagram → cables between interfaces (made on first use): server links
//! (multi-link server connections through a LAG `bond<n>` on the server), switch-to-switch
//! links, gateway links (the gateway becomes a device) and external links (to an `eth<n>`
//! interface of the External the ExternalAttachment names).
//!
//! It remembers which interfaces carry a connection for the attachments (`ipam.rs`).

use std::collections::BTreeMap;

use serde_json::json;

use super::ConversionError;
use super::build::{Build, link_type};
use crate::hedgehog::diagram::Diagram;
use crate::hedgehog::wiring::{
    ConnExternal, ConnGateway, ConnMclagDomain, Connection, ServerToSwitchLink, device_of,
};
use crate::netbox::model::{Brief, CustomFields};

/// What the attachments need from the connections.
#[derive(Default)]
pub(super) struct Conns {
    /// Server connection name → its server-side interface (the NIC, or the LAG).
    pub(super) server_iface: BTreeMap<String, u64>,
    /// External connection name → (switch interface, external interface).
    pub(super) external: BTreeMap<String, (u64, u64)>,
    /// Server device id → LAGs made on it so far (the next one is `bond<n>`).
    lag_count: BTreeMap<u64, usize>,
}

/// Every Connection of the diagram, in diagram order.
pub(super) fn connections(b: &mut Build, d: &Diagram) -> Result<Conns, ConversionError> {
    let mut conns = Conns::default();
    for c in &d.connections {
        conns.connection(b, d, c)?;
    }
    Ok(conns)
}

/// The interface of port reference `r` (`"<device>/<port>"`) of connection `cname`; an error
/// when the device is not one of the diagram.
fn port(b: &mut Build, cname: &str, r: &str) -> Result<u64, ConversionError> {
    b.port(r, link_type(r.split_once('/').map_or("", |x| x.1)))
        .ok_or_else(|| {
            ConversionError::new(
                "Connection",
                cname,
                "spec",
                format!(
                    "port {r:?} names device {:?}, which is not a Switch, Server or gateway of the diagram",
                    device_of(r)
                ),
            )
        })
}

/// Cables between the port pairs of connection `cname`, each with custom fields `cf`.
fn cable_pairs<'p>(
    b: &mut Build,
    cname: &str,
    pairs: impl IntoIterator<Item = (&'p str, &'p str)>,
    cf: &CustomFields,
) -> Result<(), ConversionError> {
    for (x, y) in pairs {
        let a = port(b, cname, x)?;
        let z = port(b, cname, y)?;
        b.cable(a, z, cf.clone());
    }
    Ok(())
}

/// The cables of an `mclagDomain` connection, marked `mclag-peer` / `mclag-session`.
fn mclag_domain(b: &mut Build, cname: &str, x: &ConnMclagDomain) -> Result<(), ConversionError> {
    for (links, kind) in [
        (&x.peer_links, "mclag-peer"),
        (&x.session_links, "mclag-session"),
    ] {
        let mut cf = CustomFields::new();
        cf.insert("hedgehog_link".into(), json!(kind));
        cable_pairs(
            b,
            cname,
            links
                .iter()
                .map(|l| (l.switch1.port.as_str(), l.switch2.port.as_str())),
            &cf,
        )?;
    }
    Ok(())
}

/// The cables of a `gateway` connection; each gateway becomes a device with role `gateway`.
fn gateway(b: &mut Build, cname: &str, x: &ConnGateway) -> Result<(), ConversionError> {
    for l in &x.links {
        let gw = device_of(&l.gateway.port).to_string();
        let dt = b.device_type("gateway", None);
        b.device(&gw, "gateway", dt);
        let a = port(b, cname, &l.switch.port)?;
        let z = port(b, cname, &l.gateway.port)?;
        b.cable(a, z, CustomFields::new());
    }
    Ok(())
}

impl Conns {
    fn connection(
        &mut self,
        b: &mut Build,
        d: &Diagram,
        c: &Connection,
    ) -> Result<(), ConversionError> {
        let cname = c.metadata.name.clone().unwrap_or_default();
        let spec = &c.spec;
        let none = CustomFields::new();
        if let Some(x) = &spec.unbundled {
            self.server_links(b, &cname, std::slice::from_ref(&x.link), false)
        } else if let Some(x) = &spec.bundled {
            self.server_links(b, &cname, &x.links, true)
        } else if let Some(x) = &spec.eslag {
            self.server_links(b, &cname, &x.links, true)
        } else if let Some(x) = &spec.mclag {
            self.server_links(b, &cname, &x.links, true)
        } else if let Some(x) = &spec.mclag_domain {
            mclag_domain(b, &cname, x)
        } else if let Some(x) = &spec.fabric {
            let pairs = x.links.iter().map(|l| (&*l.spine.port, &*l.leaf.port));
            cable_pairs(b, &cname, pairs, &none)
        } else if let Some(x) = &spec.mesh {
            let pairs = x.links.iter().map(|l| (&*l.leaf1.port, &*l.leaf2.port));
            cable_pairs(b, &cname, pairs, &none)
        } else if let Some(x) = &spec.vpc_loopback {
            let pairs = x.links.iter().map(|l| (&*l.switch1.port, &*l.switch2.port));
            cable_pairs(b, &cname, pairs, &none)
        } else if let Some(x) = &spec.gateway {
            gateway(b, &cname, x)
        } else if let Some(x) = &spec.external {
            self.external(b, d, &cname, x)
        } else if spec.static_external.is_some() {
            b.warnings.push(format!("Connection {cname:?} is a staticExternal connection, which the NetBox model does not cover; not imported"));
            Ok(())
        } else {
            Err(ConversionError::new(
                "Connection",
                &cname,
                "spec",
                "sets no connection type".into(),
            ))
        }
    }

    /// The cables of a server connection. With `lag`, the server ends join one LAG interface
    /// (`bond<n>`, numbered per server), which is then the connection's server interface.
    fn server_links(
        &mut self,
        b: &mut Build,
        cname: &str,
        links: &[ServerToSwitchLink],
        lag: bool,
    ) -> Result<(), ConversionError> {
        let mut lag_id = None;
        for l in links {
            let si = port(b, cname, &l.server.port)?;
            let wi = port(b, cname, &l.switch.port)?;
            if lag {
                let server = b
                    .snap
                    .interfaces
                    .iter()
                    .find(|i| i.id == si)
                    .map(|i| i.device.id)
                    .unwrap_or(0);
                let lid = match lag_id {
                    Some(x) => x,
                    None => {
                        let n = self.lag_count.entry(server).or_insert(0);
                        let x = b.iface(server, &format!("bond{n}"), "lag");
                        *n += 1;
                        lag_id = Some(x);
                        x
                    }
                };
                b.if_mut(si).lag = Some(Brief::id(lid));
                self.server_iface.insert(cname.to_string(), lid);
            } else {
                self.server_iface.insert(cname.to_string(), si);
            }
            b.cable(si, wi, CustomFields::new());
        }
        Ok(())
    }

    /// The cable of an `external` connection to the next `eth<n>` interface of the External
    /// its ExternalAttachment names; without one, a warning and no cable.
    fn external(
        &mut self,
        b: &mut Build,
        d: &Diagram,
        cname: &str,
        x: &ConnExternal,
    ) -> Result<(), ConversionError> {
        let ext = d
            .external_attachments
            .iter()
            .find(|a| a.spec.connection.as_deref() == Some(cname))
            .and_then(|a| a.spec.external.clone());
        let Some(ext) = ext.filter(|e| b.dev_by_name.contains_key(e)) else {
            b.warnings.push(format!("Connection {cname:?}: no ExternalAttachment names the External behind it, so the external device is unknown; not imported"));
            return Ok(());
        };
        let a = port(b, cname, &x.link.switch.port)?;
        let ext_dev = b.dev_by_name[&ext];
        let n = b
            .snap
            .interfaces
            .iter()
            .filter(|i| i.device.id == ext_dev)
            .count();
        let z = b.iface(ext_dev, &format!("eth{n}"), "10gbase-x-sfpp");
        b.cable(a, z, CustomFields::new());
        self.external.insert(cname.to_string(), (a, z));
        Ok(())
    }
}

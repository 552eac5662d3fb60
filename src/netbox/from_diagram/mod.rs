//! Pure: a Hedgehog wiring diagram → the NetBox objects of `docs/netbox-model.md` it implies,
//! as a [`Snapshot`] with local ids, so planning that snapshot gives the diagram back. What
//! NetBox cannot hold becomes a warning.
//!
//! It writes nothing and reads nothing: `netbox/import.rs` writes the snapshot into NetBox.

mod build;
mod connections;
mod devices;
mod ipam;

use super::model::Snapshot;
use crate::hedgehog::diagram::Diagram;
use build::Build;

/// Why a wiring diagram cannot become a NetBox snapshot: the object and field at fault.
#[derive(Debug, thiserror::Error)]
#[error("wiring diagram: {kind} {name:?}: field {field}: {reason}")]
pub struct ConversionError {
    /// Hedgehog kind (`Switch`, `Connection`).
    pub kind: String,
    /// Object name.
    pub name: String,
    /// The field at fault (`spec.profile`).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConversionError {
    fn new(kind: &str, name: &str, field: &str, reason: String) -> ConversionError {
        ConversionError {
            kind: kind.into(),
            name: name.into(),
            field: field.into(),
            reason,
        }
    }
}

/// Turns a wiring diagram into the NetBox objects of `docs/netbox-model.md` for site
/// `site_slug` (local ids from 1). Objects NetBox cannot hold are reported as warnings.
pub fn diagram_to_snapshot(
    d: &Diagram,
    site_slug: &str,
) -> Result<(Snapshot, Vec<String>), ConversionError> {
    let mut b = Build::new(site_slug);
    for s in &d.skipped {
        b.warnings.push(format!(
            "{} {} {:?} not imported: {}",
            s.api_version, s.kind, s.name, s.reason
        ));
    }
    devices::warn_unused_switch_groups(&mut b, d);
    devices::switches(&mut b, d)?;
    devices::servers(&mut b, d);
    devices::externals(&mut b, d);
    let conns = connections::connections(&mut b, d)?;
    let group_by_ns = ipam::vlan_groups(&mut b, d);
    ipam::container_prefixes(&mut b, d);
    let vlan_of_subnet = ipam::vpcs(&mut b, d, &group_by_ns);
    ipam::vpc_attachments(&mut b, d, &conns.server_iface, &vlan_of_subnet);
    ipam::external_attachments(&mut b, d, &conns.external);
    Ok(b.finish())
}

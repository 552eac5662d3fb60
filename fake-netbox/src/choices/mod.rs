//! NetBox 4.7.3 choice sets (value → label) for the fields this fake serves.
//!
//! Generated once from the OpenAPI schema NetBox 4.7.3 publishes (`/api/schema/`), so values and
//! labels are exactly NetBox's (plus `CABLE_END`, which the schema leaves implicit). It holds data
//! only: no lookups beyond [`ChoiceSet::label`]. One file per app (`dcim`, `interface`, `ipam`,
//! `extras`).

mod dcim;
mod extras;
mod interface;
mod ipam;

pub use dcim::{
    AIRFLOW, CABLE_END, CABLE_PROFILE, CABLE_STATUS, CABLE_TYPE, COOLING_METHOD, DEVICE_FACE,
    DEVICE_STATUS, LENGTH_UNIT, SITE_STATUS, SUBDEVICE_ROLE, WEIGHT_UNIT,
};
pub use extras::{
    CF_FILTER_LOGIC, CF_STATUS, CF_TYPE, CF_UI_EDITABLE, CF_UI_VISIBLE, CHOICE_SET_BASE,
    JOURNAL_KIND,
};
pub use interface::{
    DUPLEX, INTERFACE_MODE, INTERFACE_TYPE, POE_MODE, POE_TYPE, RF_CHANNEL, RF_ROLE,
};
pub use ipam::{IP_ROLE, IP_STATUS, PREFIX_STATUS, VLAN_QINQ_ROLE, VLAN_STATUS};

/// One NetBox choice set: the accepted values and their display labels, in NetBox's order.
#[derive(Debug)]
pub struct ChoiceSet {
    pub choices: &'static [(&'static str, &'static str)],
}

impl ChoiceSet {
    /// The label of `value`, or `None` when `value` is not one of the choices.
    pub fn label(&self, value: &str) -> Option<&'static str> {
        self.choices
            .iter()
            .find(|(v, _)| *v == value)
            .map(|(_, l)| *l)
    }
}

//! extras and core choice sets: custom field types and UI options, choice set bases, journal
//! entry kinds, object change actions.
//!
//! Data only.

use super::ChoiceSet;

pub static CF_TYPE: ChoiceSet = ChoiceSet {
    choices: &[
        ("text", "Text"),
        ("longtext", "Text (long)"),
        ("integer", "Integer"),
        ("decimal", "Decimal"),
        ("boolean", "Boolean"),
        ("date", "Date"),
        ("datetime", "Date & time"),
        ("url", "URL"),
        ("json", "JSON"),
        ("select", "Selection"),
        ("multiselect", "Multiple selection"),
        ("object", "Object"),
        ("multiobject", "Multiple objects"),
    ],
};

pub static CF_FILTER_LOGIC: ChoiceSet = ChoiceSet {
    choices: &[
        ("disabled", "Disabled"),
        ("loose", "Loose"),
        ("exact", "Exact"),
    ],
};

pub static CF_UI_VISIBLE: ChoiceSet = ChoiceSet {
    choices: &[
        ("always", "Always"),
        ("if-set", "If set"),
        ("hidden", "Hidden"),
    ],
};

pub static CF_UI_EDITABLE: ChoiceSet = ChoiceSet {
    choices: &[("yes", "Yes"), ("no", "No"), ("hidden", "Hidden")],
};

pub static CF_STATUS: ChoiceSet = ChoiceSet {
    choices: &[
        ("active", "Active"),
        ("provisioning", "Provisioning"),
        ("deleting", "Deleting"),
    ],
};

pub static CHOICE_SET_BASE: ChoiceSet = ChoiceSet {
    choices: &[
        ("IATA", "IATA (Airport codes)"),
        ("ISO_3166", "ISO 3166 (Country codes)"),
        ("UN_LOCODE", "UN/LOCODE (Location codes)"),
    ],
};

pub static JOURNAL_KIND: ChoiceSet = ChoiceSet {
    choices: &[
        ("info", "Info"),
        ("success", "Success"),
        ("warning", "Warning"),
        ("danger", "Danger"),
    ],
};

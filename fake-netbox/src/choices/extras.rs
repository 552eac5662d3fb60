//! extras and core choice sets: custom field types and UI options, choice set bases, journal
//! entry kinds, object change actions.
//!
//! Data only.

use super::ChoiceSet;

pub static CF_TYPE: ChoiceSet = ChoiceSet {
    name: "cf_type",
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
    name: "cf_filter_logic",
    choices: &[
        ("disabled", "Disabled"),
        ("loose", "Loose"),
        ("exact", "Exact"),
    ],
};

pub static CF_UI_VISIBLE: ChoiceSet = ChoiceSet {
    name: "cf_ui_visible",
    choices: &[
        ("always", "Always"),
        ("if-set", "If set"),
        ("hidden", "Hidden"),
    ],
};

pub static CF_UI_EDITABLE: ChoiceSet = ChoiceSet {
    name: "cf_ui_editable",
    choices: &[("yes", "Yes"), ("no", "No"), ("hidden", "Hidden")],
};

pub static CF_STATUS: ChoiceSet = ChoiceSet {
    name: "cf_status",
    choices: &[
        ("active", "Active"),
        ("provisioning", "Provisioning"),
        ("deleting", "Deleting"),
    ],
};

pub static CHOICE_SET_BASE: ChoiceSet = ChoiceSet {
    name: "choice_set_base",
    choices: &[
        ("IATA", "IATA (Airport codes)"),
        ("ISO_3166", "ISO 3166 (Country codes)"),
        ("UN_LOCODE", "UN/LOCODE (Location codes)"),
    ],
};

pub static JOURNAL_KIND: ChoiceSet = ChoiceSet {
    name: "journal_kind",
    choices: &[
        ("info", "Info"),
        ("success", "Success"),
        ("warning", "Warning"),
        ("danger", "Danger"),
    ],
};

pub static CHANGE_ACTION: ChoiceSet = ChoiceSet {
    name: "change_action",
    choices: &[
        ("create", "Created"),
        ("update", "Updated"),
        ("delete", "Deleted"),
    ],
};

//! dcim choice sets of sites, devices, device types and cables (interface choices are in
//! `interface`).
//!
//! Data only.

use super::ChoiceSet;

pub static SITE_STATUS: ChoiceSet = ChoiceSet {
    choices: &[
        ("planned", "Planned"),
        ("staging", "Staging"),
        ("active", "Active"),
        ("decommissioning", "Decommissioning"),
        ("retired", "Retired"),
    ],
};

pub static DEVICE_STATUS: ChoiceSet = ChoiceSet {
    choices: &[
        ("offline", "Offline"),
        ("active", "Active"),
        ("planned", "Planned"),
        ("staged", "Staged"),
        ("failed", "Failed"),
        ("inventory", "Inventory"),
        ("decommissioning", "Decommissioning"),
    ],
};

pub static DEVICE_FACE: ChoiceSet = ChoiceSet {
    choices: &[("front", "Front"), ("rear", "Rear")],
};

pub static AIRFLOW: ChoiceSet = ChoiceSet {
    choices: &[
        ("front-to-rear", "Front to rear"),
        ("rear-to-front", "Rear to front"),
        ("left-to-right", "Left to right"),
        ("right-to-left", "Right to left"),
        ("side-to-rear", "Side to rear"),
        ("rear-to-side", "Rear to side"),
        ("bottom-to-top", "Bottom to top"),
        ("top-to-bottom", "Top to bottom"),
        ("passive", "Passive"),
        ("mixed", "Mixed"),
    ],
};

pub static COOLING_METHOD: ChoiceSet = ChoiceSet {
    choices: &[
        ("air", "Air"),
        ("liquid", "Liquid"),
        ("hybrid", "Hybrid"),
        ("immersion", "Immersion"),
    ],
};

pub static SUBDEVICE_ROLE: ChoiceSet = ChoiceSet {
    choices: &[("parent", "Parent"), ("child", "Child")],
};

pub static WEIGHT_UNIT: ChoiceSet = ChoiceSet {
    choices: &[
        ("kg", "Kilograms"),
        ("g", "Grams"),
        ("lb", "Pounds"),
        ("oz", "Ounces"),
    ],
};

pub static CABLE_TYPE: ChoiceSet = ChoiceSet {
    choices: &[
        ("cat3", "CAT3"),
        ("cat5", "CAT5"),
        ("cat5e", "CAT5e"),
        ("cat6", "CAT6"),
        ("cat6a", "CAT6a"),
        ("cat7", "CAT7"),
        ("cat7a", "CAT7a"),
        ("cat8", "CAT8"),
        ("mrj21-trunk", "MRJ21 Trunk"),
        ("dac-active", "Direct Attach Copper (Active)"),
        ("dac-passive", "Direct Attach Copper (Passive)"),
        ("coaxial", "Coaxial"),
        ("rg-6", "RG-6"),
        ("rg-8", "RG-8"),
        ("rg-11", "RG-11"),
        ("rg-59", "RG-59"),
        ("rg-62", "RG-62"),
        ("rg-213", "RG-213"),
        ("lmr-100", "LMR-100"),
        ("lmr-200", "LMR-200"),
        ("lmr-400", "LMR-400"),
        ("mmf", "Multimode Fiber"),
        ("mmf-om1", "Multimode Fiber (OM1)"),
        ("mmf-om2", "Multimode Fiber (OM2)"),
        ("mmf-om3", "Multimode Fiber (OM3)"),
        ("mmf-om4", "Multimode Fiber (OM4)"),
        ("mmf-om5", "Multimode Fiber (OM5)"),
        ("smf", "Single-mode Fiber"),
        ("smf-os1", "Single-mode Fiber (OS1)"),
        ("smf-os2", "Single-mode Fiber (OS2)"),
        ("aoc", "Active Optical Cabling (AOC)"),
        ("power", "Power"),
        ("usb", "USB"),
    ],
};

pub static CABLE_STATUS: ChoiceSet = ChoiceSet {
    choices: &[
        ("connected", "Connected"),
        ("planned", "Planned"),
        ("decommissioning", "Decommissioning"),
    ],
};

pub static CABLE_PROFILE: ChoiceSet = ChoiceSet {
    choices: &[
        ("single-1c1p", "1C1P"),
        ("single-1c2p", "1C2P"),
        ("single-1c4p", "1C4P"),
        ("single-1c6p", "1C6P"),
        ("single-1c8p", "1C8P"),
        ("single-1c12p", "1C12P"),
        ("single-1c16p", "1C16P"),
        ("trunk-2c1p", "2C1P trunk"),
        ("trunk-2c2p", "2C2P trunk"),
        ("trunk-2c4p", "2C4P trunk"),
        ("trunk-2c4p-shuffle", "2C4P trunk (shuffle)"),
        ("trunk-2c6p", "2C6P trunk"),
        ("trunk-2c8p", "2C8P trunk"),
        ("trunk-2c12p", "2C12P trunk"),
        ("trunk-4c1p", "4C1P trunk"),
        ("trunk-4c2p", "4C2P trunk"),
        ("trunk-4c4p", "4C4P trunk"),
        ("trunk-4c4p-shuffle", "4C4P trunk (shuffle)"),
        ("trunk-4c6p", "4C6P trunk"),
        ("trunk-4c8p", "4C8P trunk"),
        ("trunk-8c4p", "8C4P trunk"),
        ("breakout-1c2p-2c1p", "1C2P:2C1P breakout"),
        ("breakout-1c4p-4c1p", "1C4P:4C1P breakout"),
        ("breakout-1c6p-6c1p", "1C6P:6C1P breakout"),
        ("breakout-1c8p-8c1p", "1C8P:8C1P breakout"),
        ("breakout-2c4p-8c1p-shuffle", "2C4P:8C1P breakout (shuffle)"),
    ],
};

pub static LENGTH_UNIT: ChoiceSet = ChoiceSet {
    choices: &[
        ("km", "Kilometers"),
        ("m", "Meters"),
        ("cm", "Centimeters"),
        ("mi", "Miles"),
        ("ft", "Feet"),
        ("in", "Inches"),
    ],
};

/// The two ends of a cable (`cable_end`); not published as a choice set in the schema.
pub static CABLE_END: ChoiceSet = ChoiceSet {
    choices: &[("A", "A"), ("B", "B")],
};

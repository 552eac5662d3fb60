//! ipam choice sets of prefixes, IP addresses and VLANs.
//!
//! Data only.

use super::ChoiceSet;

pub static PREFIX_STATUS: ChoiceSet = ChoiceSet {
    choices: &[
        ("container", "Container"),
        ("active", "Active"),
        ("reserved", "Reserved"),
        ("deprecated", "Deprecated"),
    ],
};

pub static IP_STATUS: ChoiceSet = ChoiceSet {
    choices: &[
        ("active", "Active"),
        ("reserved", "Reserved"),
        ("deprecated", "Deprecated"),
        ("dhcp", "DHCP"),
        ("slaac", "SLAAC"),
    ],
};

pub static IP_ROLE: ChoiceSet = ChoiceSet {
    choices: &[
        ("loopback", "Loopback"),
        ("secondary", "Secondary"),
        ("anycast", "Anycast"),
        ("vip", "VIP"),
        ("vrrp", "VRRP"),
        ("hsrp", "HSRP"),
        ("glbp", "GLBP"),
        ("carp", "CARP"),
    ],
};

pub static VLAN_STATUS: ChoiceSet = ChoiceSet {
    choices: &[
        ("active", "Active"),
        ("reserved", "Reserved"),
        ("deprecated", "Deprecated"),
    ],
};

pub static VLAN_QINQ_ROLE: ChoiceSet = ChoiceSet {
    choices: &[("svlan", "Service"), ("cvlan", "Customer")],
};

//! Sort keys that reproduce the orderings NetBox's database produces: the ICU `natural_sort`
//! collation (`und-u-kn-true`) used for device, site, VRF, VLAN group and virtual chassis names,
//! and NetBox's `naturalize_interface()` used to order interfaces.
//!
//! Keys are plain byte/number vectors compared lexicographically; nothing here knows about models.

use std::sync::LazyLock;

use regex::Regex;

/// A comparable key equivalent to PostgreSQL's ICU `natural_sort` collation for common names:
/// primary comparison ignores case and compares digit runs numerically, punctuation sorts before
/// digits and digits before letters; ties are broken by case (lower first), then by the raw bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NaturalKey {
    primary: Vec<u32>,
    tertiary: Vec<u8>,
    raw: Box<str>,
}

const PUNCT_ORDER: &str = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";

fn primary_weight(c: char) -> u32 {
    if c.is_whitespace() {
        0x1000_0000 + c as u32
    } else if let Some(pos) = PUNCT_ORDER.find(c) {
        0x2000_0000 + pos as u32
    } else if c.is_alphabetic() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        0x5000_0000 + lower as u32
    } else if c.is_ascii_punctuation() || c.is_ascii_graphic() {
        0x3000_0000 + c as u32
    } else {
        0x6000_0000 + c as u32
    }
}

impl NaturalKey {
    pub fn new(s: &str) -> NaturalKey {
        let mut primary = Vec::with_capacity(s.len() + 2);
        let mut tertiary = Vec::with_capacity(s.len());
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit() {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let run: String = chars[start..i].iter().collect();
                let trimmed = run.trim_start_matches('0');
                let digits = if trimmed.is_empty() { "0" } else { trimmed };
                primary.push(0x4000_0000 + digits.len() as u32);
                primary.extend(digits.bytes().map(|b| 0x4000_0000 + b as u32));
                continue;
            }
            primary.push(primary_weight(c));
            tertiary.push(u8::from(c.is_uppercase()));
            i += 1;
        }
        NaturalKey {
            primary,
            tertiary,
            raw: s.into(),
        }
    }
}

static INTERFACE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<type>[^\d\.:]+)?((?P<slot>\d+)/)?((?P<subslot>\d+)/)?((?P<position>\d+)/)?((?P<subposition>\d+)/)?(?P<id>\d+)?(:(?P<channel>\d+))?(\.(?P<vc>\d+))?(?P<remainder>.*)$",
    )
    .expect("interface name regex")
});

fn rjust(s: &str, width: usize) -> String {
    if s.len() >= width {
        s.to_string()
    } else {
        format!("{}{}", "0".repeat(width - s.len()), s)
    }
}

/// NetBox's `naturalize()`: digit runs left-padded to 8 places.
pub fn naturalize(value: &str, max_length: usize) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    for c in value.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                out.push_str(&rjust(&digits, 8));
                digits.clear();
            }
            out.push(c);
        }
    }
    if !digits.is_empty() {
        out.push_str(&rjust(&digits, 8));
    }
    out.chars().take(max_length).collect()
}

/// NetBox's `naturalize_interface()` (the value of `Interface._name`), compared bytewise.
pub fn naturalize_interface(value: &str) -> String {
    const MAX: usize = 100;
    let Some(caps) = INTERFACE_NAME.captures(value) else {
        return value.to_string();
    };
    let mut out = String::new();
    for part in ["slot", "subslot", "position", "subposition"] {
        match caps.name(part) {
            Some(m) => out.push_str(&rjust(m.as_str(), 4)),
            None => out.push_str("9999"),
        }
    }
    if let Some(t) = caps.name("type") {
        out.push_str(t.as_str());
    }
    for part in ["id", "channel", "vc"] {
        match caps.name(part) {
            Some(m) => out.push_str(&rjust(m.as_str(), 6)),
            None => out.push_str("......"),
        }
    }
    if let Some(rem) = caps.name("remainder") {
        let rem = rem.as_str();
        if !rem.is_empty() && out.len() < MAX {
            let room = MAX - out.len();
            out.push_str(&naturalize(rem, room));
        }
    }
    out.chars().take(MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut v: Vec<&str> = names.to_vec();
        v.sort_by_key(|n| NaturalKey::new(n));
        v.into_iter().map(String::from).collect()
    }

    #[test]
    fn device_names_sort_like_the_icu_collation_netbox_uses() {
        // Observed on NetBox 4.7.3: leaf-01, leaf-02, Leaf-A, server-1, server-2, server-10, spine-01, x-strid, x1
        let input = [
            "x1",
            "server-10",
            "Leaf-A",
            "spine-01",
            "server-2",
            "leaf-02",
            "x-strid",
            "server-1",
            "leaf-01",
        ];
        assert_eq!(
            sorted(&input),
            [
                "leaf-01",
                "leaf-02",
                "Leaf-A",
                "server-1",
                "server-2",
                "server-10",
                "spine-01",
                "x-strid",
                "x1"
            ]
        );
    }

    #[test]
    fn interface_names_sort_like_naturalize_interface() {
        // Observed on NetBox 4.7.3 for one device: E1/55/1, E1/55/2, E1/1, E1/2, E1/10, M1
        let mut v = vec!["M1", "E1/10", "E1/2", "E1/55/2", "E1/1", "E1/55/1"];
        v.sort_by_key(|n| naturalize_interface(n));
        assert_eq!(v, ["E1/55/1", "E1/55/2", "E1/1", "E1/2", "E1/10", "M1"]);
        let mut s = vec!["enp2s2", "bond0", "enp2s1"];
        s.sort_by_key(|n| naturalize_interface(n));
        assert_eq!(s, ["bond0", "enp2s1", "enp2s2"]);
    }
}

//! Value formats Hedgehog's webhooks parse: IPv4 addresses and prefixes (as Go's `net/netip`
//! parses them: dotted quads without leading zeros, a prefix length 0–32), VPC subnet DHCP range
//! bounds, BGP communities (`65102:5000`) and the `<n>x<speed>G` form of port breakout modes.
//!
//! Pure checks shared by the plan (findings) and the admission module (refusals); which field
//! must hold which format is decided by their callers.

use std::net::Ipv4Addr;

/// An IPv4 prefix `a.b.c.d/len`. Host bits may be set (`10.0.0.5/24`), as `netip.ParsePrefix`
/// allows; [`Ipv4Prefix::first`] is the network address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Prefix {
    pub addr: Ipv4Addr,
    pub len: u8,
}

/// A decimal number without sign or leading zeros (`0` itself is allowed), at most `max`.
fn plain_number(s: &str, max: u32) -> Option<u32> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 10 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if b.len() > 1 && b[0] == b'0' {
        return None;
    }
    s.parse::<u32>().ok().filter(|n| *n <= max)
}

/// Parses an IPv4 address (`a.b.c.d`, no leading zeros), as `netip.ParseAddr` would for IPv4.
pub fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

impl Ipv4Prefix {
    /// Parses `a.b.c.d/len`; `None` for anything else (IPv6, missing or bad length, spaces).
    pub fn parse(s: &str) -> Option<Ipv4Prefix> {
        let (addr, len) = s.split_once('/')?;
        Some(Ipv4Prefix {
            addr: parse_ipv4(addr)?,
            len: u8::try_from(plain_number(len, 32)?).ok()?,
        })
    }

    fn mask(self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.len))
        }
    }

    /// The network address as a number.
    pub fn first(self) -> u32 {
        u32::from(self.addr) & self.mask()
    }

    /// The last (broadcast) address as a number.
    pub fn last(self) -> u32 {
        self.first() | !self.mask()
    }

    /// The network address (`10.0.1.0` of `10.0.1.7/24`).
    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(self.first())
    }

    /// The gateway Hedgehog's VPC webhook defaults a subnet to: the address after the network
    /// address.
    pub fn default_gateway(self) -> Ipv4Addr {
        Ipv4Addr::from(self.first().wrapping_add(1))
    }

    /// True when `a` lies in the prefix.
    pub fn contains(self, a: Ipv4Addr) -> bool {
        (u32::from(a) & self.mask()) == self.first()
    }

    /// True when every address of `self` lies in `outer` (Hedgehog's `iputil.IsSubset`: the
    /// network address inside and a length at least as long).
    pub fn is_subset_of(self, outer: Ipv4Prefix) -> bool {
        self.len >= outer.len && outer.contains(self.network())
    }

    /// True when the two prefixes share an address.
    pub fn overlaps(self, other: Ipv4Prefix) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }
}

impl std::fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// Why one bound of a VPC subnet's DHCP range is refused by Hedgehog's VPC webhook, if it is:
/// not an IPv4 address, the subnet's own address, its gateway, or outside the subnet.
pub fn dhcp_bound_problem(
    subnet: Ipv4Prefix,
    gateway: Ipv4Addr,
    value: &str,
) -> Result<Ipv4Addr, &'static str> {
    let Some(a) = parse_ipv4(value) else {
        return Err("is not an IPv4 address");
    };
    if a == subnet.network() {
        return Err("is the subnet's own address");
    }
    if a == gateway {
        return Err("is the subnet's gateway");
    }
    if !subnet.contains(a) {
        return Err("is outside the subnet");
    }
    Ok(a)
}

/// True for a BGP community `<0-65535>:<0-65535>` without leading zeros (Hedgehog's External
/// webhook pattern).
pub fn is_community(s: &str) -> bool {
    s.split_once(':')
        .is_some_and(|(a, b)| plain_number(a, 65535).is_some() && plain_number(b, 65535).is_some())
}

/// True for a breakout mode of the form `<n>x<speed>G` (`1x100G`, `4x25G`, `8x50G`): the form
/// of every breakout mode Hedgehog's switch profiles declare (fabric v0.126). Whether a port
/// supports the mode is the switch profile's business
/// ([`crate::hedgehog::wiring::SwitchProfileSpec::breakout_problem`]).
pub fn is_breakout_mode(s: &str) -> bool {
    let Some((n, speed)) = s.split_once('x') else {
        return false;
    };
    let Some(speed) = speed.strip_suffix('G') else {
        return false;
    };
    plain_number(n, 64).is_some_and(|n| n > 0) && plain_number(speed, 1600).is_some_and(|s| s > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Ipv4Prefix {
        Ipv4Prefix::parse(s).unwrap()
    }

    #[test]
    fn prefixes_parse_like_netip() {
        assert_eq!(p("10.0.1.7/24").network(), Ipv4Addr::new(10, 0, 1, 0));
        assert_eq!(p("0.0.0.0/0").last(), u32::MAX);
        for bad in [
            "999.1.1.1/77",
            "banana",
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0.0/08",
            "10.0.0.0/+8",
            "010.0.0.0/8",
            " 10.0.0.0/8",
            "::1/128",
        ] {
            assert_eq!(Ipv4Prefix::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn subsets_and_overlaps() {
        assert!(p("10.0.1.0/24").is_subset_of(p("10.0.0.0/16")));
        assert!(!p("10.0.0.0/15").is_subset_of(p("10.0.0.0/16")));
        assert!(p("10.0.1.128/25").overlaps(p("10.0.1.0/24")));
        assert!(!p("10.0.2.0/24").overlaps(p("10.0.1.0/24")));
    }

    #[test]
    fn dhcp_bounds() {
        let net = p("10.0.1.0/24");
        let gw = net.default_gateway();
        assert!(dhcp_bound_problem(net, gw, "10.0.1.10").is_ok());
        assert!(dhcp_bound_problem(net, gw, "10.0.1.255").is_ok());
        assert!(dhcp_bound_problem(net, gw, "10.0.1.1").is_err());
        assert!(dhcp_bound_problem(net, gw, "10.0.1.0").is_err());
        assert!(dhcp_bound_problem(net, gw, "10.0.2.1").is_err());
        assert!(dhcp_bound_problem(net, gw, "banana").is_err());
    }

    #[test]
    fn communities_and_breakouts() {
        assert!(is_community("65102:5000") && is_community("0:0"));
        assert!(!is_community("65102:999999") && !is_community("01:1") && !is_community("1"));
        assert!(is_breakout_mode("4x25G") && is_breakout_mode("1x800G"));
        for bad in [
            "banana",
            "4x25",
            "x25G",
            "0x25G",
            "4X25G",
            "<b>4x25G</b>",
            "4x025G",
        ] {
            assert!(!is_breakout_mode(bad), "{bad}");
        }
    }
}

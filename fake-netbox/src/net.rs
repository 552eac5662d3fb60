//! Parsing and comparing the network values NetBox stores: MAC addresses (`netaddr.EUI`, shown as
//! `0C:20:12:FF:01:00`), IP prefixes (`10.0.1.0/24`, host bits rejected) and interface addresses
//! (`172.30.0.1/21`, a bare address gets a host mask).
//!
//! Pure functions; the error texts are the ones NetBox returns.

use std::net::IpAddr;

/// Normalizes a MAC address to NetBox's display form, or returns NetBox's error text.
pub fn parse_mac(input: &str) -> Result<String, String> {
    let err = || format!("Invalid MAC address format: {input}");
    let is_hex = |g: &str| !g.is_empty() && g.chars().all(|c| c.is_ascii_hexdigit());
    let hex: String = if input.len() == 12 && is_hex(input) {
        input.to_string()
    } else if let Some(sep) = [':', '-'].into_iter().find(|s| input.contains(*s)) {
        let groups: Vec<&str> = input.split(sep).collect();
        if groups.len() != 6 || !groups.iter().all(|g| g.len() <= 2 && is_hex(g)) {
            return Err(err());
        }
        groups.iter().map(|g| format!("{g:0>2}")).collect()
    } else if input.contains('.') {
        let groups: Vec<&str> = input.split('.').collect();
        if groups.len() != 3 || !groups.iter().all(|g| g.len() == 4 && is_hex(g)) {
            return Err(err());
        }
        groups.concat()
    } else {
        return Err(err());
    };
    let upper = hex.to_ascii_uppercase();
    let parts: Vec<&str> = (0..6).map(|i| &upper[i * 2..i * 2 + 2]).collect();
    Ok(parts.join(":"))
}

/// An IP network or interface address: address plus prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    pub addr: IpAddr,
    pub len: u8,
}

impl Net {
    pub fn family(&self) -> u8 {
        if self.addr.is_ipv4() { 4 } else { 6 }
    }

    fn max_len(&self) -> u8 {
        if self.addr.is_ipv4() { 32 } else { 128 }
    }

    fn bits(&self) -> u128 {
        match self.addr {
            IpAddr::V4(a) => u32::from(a) as u128,
            IpAddr::V6(a) => u128::from(a),
        }
    }

    fn mask(&self) -> u128 {
        let max = self.max_len() as u32;
        if self.len == 0 {
            0
        } else {
            let ones = (!0u128) << (128 - self.len as u32);
            ones >> (128 - max)
        }
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Net {
        let b = self.bits() & self.mask();
        let addr = match self.addr {
            IpAddr::V4(_) => IpAddr::V4((b as u32).into()),
            IpAddr::V6(_) => IpAddr::V6(b.into()),
        };
        Net {
            addr,
            len: self.len,
        }
    }

    /// Whether `other`'s address lies within this network (same family).
    pub fn contains(&self, other: &Net) -> bool {
        self.family() == other.family()
            && other.len >= self.len
            && (other.bits() & self.mask()) == (self.bits() & self.mask())
    }

    /// Whether `other` is a network strictly inside this one.
    pub fn strictly_contains(&self, other: &Net) -> bool {
        self.contains(other) && other.len > self.len
    }

    pub fn text(&self) -> String {
        format!("{}/{}", self.addr, self.len)
    }
}

fn split(input: &str) -> Option<(IpAddr, Option<u8>)> {
    let (a, l) = match input.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (input, None),
    };
    let addr: IpAddr = a.trim().parse().ok()?;
    let len = match l {
        Some(l) => {
            let n: u8 = l.trim().parse().ok()?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            if n > max {
                return None;
            }
            Some(n)
        }
        None => None,
    };
    Some((addr, len))
}

/// Parses a prefix (`10.0.1.0/24`); host bits set is an error naming the network meant.
pub fn parse_prefix(input: &str) -> Result<Net, String> {
    let (addr, len) = split(input).ok_or_else(|| format!("Invalid IP prefix format: {input}"))?;
    let len = len.unwrap_or(if addr.is_ipv4() { 32 } else { 128 });
    let net = Net { addr, len };
    let network = net.network();
    if network.addr != net.addr {
        return Err(format!(
            "{} is not a valid prefix. Did you mean {}?",
            net.text(),
            network.text()
        ));
    }
    Ok(net)
}

/// Parses an interface address (`172.30.0.1/21`; a bare address becomes `/32` or `/128`).
pub fn parse_address(input: &str) -> Result<Net, String> {
    let (addr, len) = split(input).ok_or_else(|| format!("Invalid IP address format: {input}"))?;
    let len = len.unwrap_or(if addr.is_ipv4() { 32 } else { 128 });
    Ok(Net { addr, len })
}

/// Parses a prefix or an address, as the `parent`/`within`/`address` filters accept.
pub fn parse_any(input: &str) -> Option<Net> {
    let (addr, len) = split(input)?;
    Some(Net {
        addr,
        len: len.unwrap_or(if addr.is_ipv4() { 32 } else { 128 }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_normalize_to_upper_colon_form() {
        assert_eq!(parse_mac("0c:20:12:ff:01:00").unwrap(), "0C:20:12:FF:01:00");
        assert_eq!(parse_mac("0C-20-12-FF-02-00").unwrap(), "0C:20:12:FF:02:00");
        assert_eq!(parse_mac("0c2012ff0300").unwrap(), "0C:20:12:FF:03:00");
        assert_eq!(parse_mac("0c20.12ff.0400").unwrap(), "0C:20:12:FF:04:00");
        assert_eq!(
            parse_mac("zz:zz").unwrap_err(),
            "Invalid MAC address format: zz:zz"
        );
    }

    #[test]
    fn prefixes_reject_host_bits_with_netboxs_hint() {
        assert_eq!(parse_prefix("10.0.1.0/24").unwrap().text(), "10.0.1.0/24");
        assert_eq!(
            parse_prefix("10.0.2.5/24").unwrap_err(),
            "10.0.2.5/24 is not a valid prefix. Did you mean 10.0.2.0/24?"
        );
        assert_eq!(
            parse_prefix("10.0.1.300/24").unwrap_err(),
            "Invalid IP prefix format: 10.0.1.300/24"
        );
        assert_eq!(parse_address("10.1.1.1").unwrap().text(), "10.1.1.1/32");
        let p = parse_prefix("172.30.0.0/16").unwrap();
        assert!(p.contains(&parse_address("172.30.0.1/21").unwrap()));
        assert!(!p.contains(&parse_address("10.0.0.1/8").unwrap()));
    }
}

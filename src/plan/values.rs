//! Checks of single NetBox values before they become part of a spec: length caps, port names,
//! IPv4 custom fields, profile names and references to other objects by name, breakout modes
//! and BGP communities. Each problem is one fatal finding naming the NetBox object and field and
//! showing at most 60 characters of the value.
//!
//! Pure; which value goes into which spec field is decided by the wiring and IPAM rules that
//! call these.

use serde_json::Value;

use super::finding::{Findings, cut, show};
use crate::hedgehog::Kind;
use crate::hedgehog::formats::{Ipv4Prefix, is_breakout_mode, is_community};
use crate::hedgehog::names::{check_name, is_rfc1123_subdomain};

/// Longest description (Switch and Server `spec.description`): NetBox's own column limit.
pub(crate) const DESCRIPTION_MAX: usize = 200;
/// Longest serial number (`spec.boot.serial`): NetBox's own column limit.
pub(crate) const SERIAL_MAX: usize = 50;
/// Longest interface name (a port name in connections and `portBreakouts`): NetBox's own limit.
pub(crate) const PORT_NAME_MAX: usize = 64;
/// Longest string anywhere in a planned spec; a safety net behind the per-field rules.
const SPEC_STRING_MAX: usize = 1024;
/// Longest profile name: Hedgehog labels each switch `fabric.githedgehog.com/profile=<profile>`
/// and a label value has at most 63 characters.
const PROFILE_MAX: usize = 63;

/// The NetBox object a checked value belongs to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owner<'a> {
    pub ty: &'a str,
    pub id: u64,
    pub name: &'a str,
}

impl Owner<'_> {
    /// Records a fatal finding on this object.
    pub(crate) fn fatal(
        &self,
        f: &mut Findings,
        code: &'static str,
        field: &str,
        reason: impl Into<String>,
    ) {
        f.fatal(code, self.ty, self.id, self.name, field, reason);
    }
}

/// `value` has at most `max` characters; else a fatal `field-too-long`.
pub(crate) fn within(f: &mut Findings, o: Owner<'_>, field: &str, value: &str, max: usize) -> bool {
    let len = value.chars().count();
    if len <= max {
        return true;
    }
    o.fatal(
        f,
        "field-too-long",
        field,
        format!(
            "{} is {len} characters long; fabsync takes at most {max} here",
            show(value)
        ),
    );
    false
}

/// True for a usable port name: ASCII letters, digits and `. _ : - /`, not starting or ending
/// with `/` and without an empty `//` segment (ports are `<device>/<port>` in Hedgehog).
fn is_port_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-' | b'/'))
        && name.split('/').all(|seg| !seg.is_empty())
}

/// An interface name that becomes a port name; else a fatal `field-too-long` or `invalid-port`
/// on the interface's `name`.
pub(crate) fn port_name(f: &mut Findings, o: Owner<'_>, name: &str) -> bool {
    if !within(f, o, "name", name, PORT_NAME_MAX) {
        return false;
    }
    if is_port_name(name) {
        return true;
    }
    o.fatal(
        f,
        "invalid-port",
        "name",
        format!(
            "{} is not usable as a port name: ASCII letters, digits and . _ : - / only, no leading, trailing or doubled /",
            show(name)
        ),
    );
    false
}

/// An IPv4 prefix `a.b.c.d/len` (`/32` only when `host`); else a fatal `invalid-ip`.
pub(crate) fn ipv4_prefix(
    f: &mut Findings,
    o: Owner<'_>,
    field: &str,
    value: &str,
    host: bool,
) -> Option<Ipv4Prefix> {
    let reason = match Ipv4Prefix::parse(value) {
        Some(p) if !host || p.len == 32 => return Some(p),
        Some(_) => format!(
            "{} must be a /32 (Hedgehog's switch webhook refuses other lengths)",
            show(value)
        ),
        None => format!(
            "{} is not an IPv4 address with prefix length (a.b.c.d/len)",
            show(value)
        ),
    };
    o.fatal(f, "invalid-ip", field, reason);
    None
}

/// A switch or server profile name: a Kubernetes object name that is also a label value
/// (lowercase RFC 1123, at most 63 characters); else a fatal `invalid-profile`.
pub(crate) fn profile_name(f: &mut Findings, o: Owner<'_>, field: &str, value: &str) -> bool {
    if value.len() <= PROFILE_MAX && is_rfc1123_subdomain(value) {
        return true;
    }
    o.fatal(
        f,
        "invalid-profile",
        field,
        format!(
            "profile {} is not a profile name: lowercase letters, digits, '-' and '.', at most {PROFILE_MAX} characters",
            show(value)
        ),
    );
    false
}

/// The name of a `kind` object a spec refers to (an IPv4 namespace, …); else a fatal
/// `invalid-name`.
pub(crate) fn object_ref(
    f: &mut Findings,
    o: Owner<'_>,
    field: &str,
    kind: Kind,
    value: &str,
) -> bool {
    match check_name(kind, value) {
        Ok(()) => true,
        Err(problem) => {
            o.fatal(
                f,
                "invalid-name",
                field,
                format!("{kind} name {} {problem}", show(value)),
            );
            false
        }
    }
}

/// A breakout mode of the form `<n>x<speed>G`; else a fatal `invalid-breakout`.
pub(crate) fn breakout_form(f: &mut Findings, o: Owner<'_>, field: &str, value: &str) -> bool {
    if is_breakout_mode(value) {
        return true;
    }
    o.fatal(
        f,
        "invalid-breakout",
        field,
        format!(
            "{} is not a breakout mode (<lanes>x<speed>G, e.g. 4x25G)",
            show(value)
        ),
    );
    false
}

/// A BGP community `<0-65535>:<0-65535>`; else a fatal `invalid-value`.
pub(crate) fn community(f: &mut Findings, o: Owner<'_>, field: &str, value: &str) -> bool {
    if is_community(value) {
        return true;
    }
    o.fatal(
        f,
        "invalid-value",
        field,
        format!(
            "{} is not a BGP community (<0-65535>:<0-65535>, e.g. 65102:5000)",
            show(value)
        ),
    );
    false
}

/// The path (`spec.boot.mac`) and length of the first string (or map key) in `spec` longer than
/// 1024 characters, if any.
pub(crate) fn long_string(spec: &Value) -> Option<(String, usize)> {
    fn walk(v: &Value, path: &mut String) -> Option<usize> {
        match v {
            Value::String(s) if s.len() > SPEC_STRING_MAX => {
                Some(s.chars().count()).filter(|n| *n > SPEC_STRING_MAX)
            }
            Value::Object(m) => m.iter().find_map(|(k, x)| {
                let len = path.len();
                path.push('.');
                path.push_str(&cut(k, 60));
                let key_len = Some(k.chars().count()).filter(|n| *n > SPEC_STRING_MAX);
                let hit = key_len.or_else(|| walk(x, path));
                if hit.is_none() {
                    path.truncate(len);
                }
                hit
            }),
            Value::Array(a) => a.iter().enumerate().find_map(|(i, x)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let hit = walk(x, path);
                if hit.is_none() {
                    path.truncate(len);
                }
                hit
            }),
            _ => None,
        }
    }
    let mut path = String::from("spec");
    walk(spec, &mut path).map(|n| (path, n))
}

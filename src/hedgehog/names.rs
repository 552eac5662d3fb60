//! Object-name rules Kubernetes and Hedgehog enforce: RFC 1123 subdomain names (≤ 253) and the
//! 11-character limit of VPC, IPv4Namespace and External names.
//!
//! Pure checks shared by the plan (findings) and the admission module (rejections). They never
//! rewrite a name: a bad name is reported, never mangled.

use super::kinds::Kind;

/// Why a name is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameProblem {
    Empty,
    TooLong { len: usize, max: usize },
    NotRfc1123,
}

impl std::fmt::Display for NameProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameProblem::Empty => f.write_str("is empty"),
            NameProblem::TooLong { len, max } => {
                write!(f, "is {len} characters long, the limit is {max}")
            }
            NameProblem::NotRfc1123 => f.write_str(
                "is not a lowercase RFC 1123 subdomain (a-z, 0-9, '-' and '.', starting and ending with a letter or digit)",
            ),
        }
    }
}

/// True for a lowercase RFC 1123 subdomain of at most 253 characters.
pub fn is_rfc1123_subdomain(name: &str) -> bool {
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    name.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    })
}

/// True for a lowercase RFC 1123 label (≤ 63, no dots): label values, slugs used as names.
pub fn is_rfc1123_label(name: &str) -> bool {
    !name.contains('.') && name.len() <= 63 && is_rfc1123_subdomain(name)
}

/// Checks an object name of `kind` against Kubernetes' and Hedgehog's rules.
pub fn check_name(kind: Kind, name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    let max = kind.max_name_len();
    if name.len() > max {
        return Err(NameProblem::TooLong {
            len: name.len(),
            max,
        });
    }
    if !is_rfc1123_subdomain(name) {
        return Err(NameProblem::NotRfc1123);
    }
    Ok(())
}

/// The normalised form two names collide under (case-folded, `_`/space → `-`): what a naive
/// sanitiser would turn them into. Used to report collisions instead of creating them.
pub fn normalised(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| match c {
            '_' | ' ' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1123() {
        assert!(is_rfc1123_subdomain("leaf-01"));
        assert!(is_rfc1123_subdomain("a.b-c"));
        assert!(!is_rfc1123_subdomain("Leaf-01"));
        assert!(!is_rfc1123_subdomain("leaf_01"));
        assert!(!is_rfc1123_subdomain("-leaf"));
        assert!(!is_rfc1123_subdomain("leaf."));
        assert!(!is_rfc1123_subdomain(""));
        assert!(!is_rfc1123_subdomain(&"a".repeat(254)));
    }

    #[test]
    fn vpc_names_are_limited_to_11() {
        assert_eq!(check_name(Kind::VPC, "vpc-1234567"), Ok(()));
        assert_eq!(
            check_name(Kind::VPC, "vpc-12345678"),
            Err(NameProblem::TooLong { len: 12, max: 11 })
        );
        assert_eq!(check_name(Kind::Switch, "vpc-12345678"), Ok(()));
    }
}

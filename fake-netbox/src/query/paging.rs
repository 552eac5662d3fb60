//! Pagination as NetBox's paginator does it: `limit`/`offset` and cursor `start` parsing with
//! NetBox's errors, the page cut, and DRF's `next`/`previous` links (query keys sorted,
//! `quote_plus` encoding).
//!
//! It works on an already filtered and ordered list of ids.

use super::filters::grouped;
use crate::store::Id;

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 1000;

/// Limit/offset/start as NetBox's paginator reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageReq {
    pub limit: usize,
    pub offset: usize,
    pub start: Option<u64>,
}

/// Parses pagination parameters; errors are the bare-list bodies NetBox returns.
pub fn page_req(params: &[(String, String)]) -> Result<PageReq, Vec<String>> {
    let get = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let start = match get("start") {
        None => None,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Some(n as u64),
            _ => {
                return Err(vec![
                    "Invalid 'start' parameter: must be a non-negative integer.".into(),
                ]);
            }
        },
    };
    let limit = match get("limit").and_then(|v| v.trim().parse::<i64>().ok()) {
        Some(0) => MAX_PAGE,
        Some(n) if n > 0 => (n as usize).min(MAX_PAGE),
        _ => DEFAULT_PAGE,
    };
    if start.is_some() {
        if params.iter().any(|(k, _)| k == "offset") {
            return Err(vec!["'start' and 'offset' are mutually exclusive.".into()]);
        }
        if params.iter().any(|(k, _)| k == "ordering") {
            return Err(vec![
                "Ordering cannot be specified in conjunction with cursor-based pagination.".into(),
            ]);
        }
    }
    let offset = match get("offset").and_then(|v| v.trim().parse::<i64>().ok()) {
        Some(n) if n > 0 => n as usize,
        _ => 0,
    };
    Ok(PageReq {
        limit,
        offset,
        start,
    })
}

/// Python's `quote_plus` (safe: letters, digits, `_.-~`).
pub fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// DRF's `replace_query_param`/`remove_query_param`: rebuilds the query with keys sorted.
pub fn rebuild_url(
    base_path: &str,
    params: &[(String, String)],
    set: &[(&str, String)],
    remove: &[&str],
) -> String {
    let mut groups = grouped(params);
    for key in remove {
        groups.retain(|(k, _)| k != key);
    }
    for (k, v) in set {
        match groups.iter_mut().find(|(n, _)| n == k) {
            Some((_, vals)) => *vals = vec![v.clone()],
            None => groups.push((k.to_string(), vec![v.clone()])),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let query: Vec<String> = groups
        .iter()
        .flat_map(|(k, vals)| {
            vals.iter()
                .map(move |v| format!("{}={}", quote_plus(k), quote_plus(v)))
        })
        .collect();
    if query.is_empty() {
        base_path.to_string()
    } else {
        format!("{base_path}?{}", query.join("&"))
    }
}

/// A page of ids with its envelope values.
#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    pub count: Option<usize>,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub ids: Vec<Id>,
}

/// Cuts a page out of ordered ids. `url` is the absolute URL of the request without query.
pub fn paginate(all: &[Id], req: PageReq, url: &str, params: &[(String, String)]) -> Page {
    if let Some(start) = req.start {
        let mut sorted: Vec<Id> = all.iter().copied().filter(|id| *id >= start).collect();
        sorted.sort_unstable();
        sorted.truncate(req.limit);
        let next = (sorted.len() == req.limit).then(|| {
            let last = sorted.last().copied().unwrap_or(start);
            rebuild_url(
                url,
                params,
                &[
                    ("start", (last + 1).to_string()),
                    ("limit", req.limit.to_string()),
                ],
                &["offset"],
            )
        });
        return Page {
            count: None,
            next,
            previous: None,
            ids: sorted,
        };
    }
    let count = all.len();
    let ids: Vec<Id> = if count == 0 || req.offset > count {
        Vec::new()
    } else {
        all.iter()
            .skip(req.offset)
            .take(req.limit)
            .copied()
            .collect()
    };
    let next = (req.offset + req.limit < count).then(|| {
        rebuild_url(
            url,
            params,
            &[
                ("limit", req.limit.to_string()),
                ("offset", (req.offset + req.limit).to_string()),
            ],
            &[],
        )
    });
    let previous = (req.offset > 0).then(|| {
        if req.offset <= req.limit {
            rebuild_url(
                url,
                params,
                &[("limit", req.limit.to_string())],
                &["offset"],
            )
        } else {
            rebuild_url(
                url,
                params,
                &[
                    ("limit", req.limit.to_string()),
                    ("offset", (req.offset - req.limit).to_string()),
                ],
                &[],
            )
        }
    });
    Page {
        count: Some(count),
        next,
        previous,
        ids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn links_are_rebuilt_with_sorted_keys_like_drf() {
        let params = p(&[("site", "fabric-dc"), ("limit", "5"), ("offset", "10")]);
        let page = paginate(
            &(1..=14).collect::<Vec<_>>(),
            page_req(&params).unwrap(),
            "http://h/api/dcim/devices/",
            &params,
        );
        assert_eq!(page.count, Some(14));
        assert_eq!(page.next, None);
        assert_eq!(
            page.previous.as_deref(),
            Some("http://h/api/dcim/devices/?limit=5&offset=5&site=fabric-dc")
        );
        let params = p(&[("limit", "1"), ("offset", "1")]);
        let page = paginate(&[1, 2], page_req(&params).unwrap(), "http://h/x/", &params);
        assert_eq!(page.previous.as_deref(), Some("http://h/x/?limit=1"));
        let params = p(&[
            ("time_after", "2026-11-25T19:59:48.738759Z"),
            ("limit", "2"),
        ]);
        let page = paginate(
            &(1..=18).collect::<Vec<_>>(),
            page_req(&params).unwrap(),
            "http://h/c/",
            &params,
        );
        assert_eq!(
            page.next.as_deref(),
            Some("http://h/c/?limit=2&offset=2&time_after=2026-11-25T19%3A59%3A48.738759Z")
        );
    }

    #[test]
    fn cursor_pages_and_their_errors() {
        let params = p(&[("start", "1"), ("limit", "3")]);
        let page = paginate(
            &[5, 1, 2, 3, 4],
            page_req(&params).unwrap(),
            "http://h/d/",
            &params,
        );
        assert_eq!(page.ids, vec![1, 2, 3]);
        assert_eq!(page.count, None);
        assert_eq!(page.next.as_deref(), Some("http://h/d/?limit=3&start=4"));
        assert_eq!(
            page_req(&p(&[("start", "3"), ("offset", "1")])).unwrap_err(),
            vec!["'start' and 'offset' are mutually exclusive.".to_string()]
        );
        assert_eq!(page_req(&p(&[("limit", "0")])).unwrap().limit, 1000);
        assert_eq!(page_req(&p(&[("limit", "5000")])).unwrap().limit, 1000);
        assert_eq!(
            page_req(&p(&[("limit", "abc"), ("offset", "-3")])).unwrap(),
            PageReq {
                limit: 50,
                offset: 0,
                start: None
            }
        );
    }
}

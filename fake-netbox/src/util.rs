//! Small value helpers shared by the renderer, the validator and the query engine: NetBox's
//! timestamp formats, date/time filter parsing, PostgreSQL JSONB key order, Python float repr.
//!
//! Nothing here touches the store or the network.

use jiff::{Timestamp, civil, tz::TimeZone};
use serde_json::{Map, Value};

/// Truncates a timestamp to microseconds (PostgreSQL `timestamptz` precision).
pub fn to_micros(ts: Timestamp) -> Timestamp {
    let us = ts.as_microsecond();
    Timestamp::from_microsecond(us).unwrap_or(ts)
}

fn civil_utc(ts: Timestamp) -> civil::DateTime {
    ts.to_zoned(TimeZone::UTC).datetime()
}

fn fraction(dt: civil::DateTime) -> String {
    let us = dt.subsec_nanosecond() / 1000;
    if us == 0 {
        String::new()
    } else {
        format!(".{us:06}")
    }
}

/// DRF's `DateTimeField` output: `2026-11-25T19:59:52.409649Z` (fraction omitted when zero, as
/// Python's `isoformat()` does).
pub fn fmt_ts(ts: Timestamp) -> String {
    let dt = civil_utc(ts);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        fraction(dt)
    )
}

/// NetBox's weak ETag, built from `last_updated`: `W/"2026-11-25T19:42:00.199260+00:00"`.
pub fn fmt_etag(ts: Timestamp) -> String {
    let dt = civil_utc(ts);
    format!(
        "W/\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}+00:00\"",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        fraction(dt)
    )
}

/// `2026-11-25 20:44`, the journal entry display prefix.
pub fn fmt_minute(ts: Timestamp) -> String {
    let dt = civil_utc(ts);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute()
    )
}

/// Parses what Django's `DateTimeField` form field accepts in a filter: an ISO 8601 date/time with
/// or without offset, `YYYY-MM-DD HH:MM[:SS[.ffffff]]`, or a bare date (midnight). Naive values
/// are UTC (NetBox's default `TIME_ZONE`).
pub fn parse_datetime(input: &str) -> Option<Timestamp> {
    let s = input.trim();
    if s.is_empty() || !s.as_bytes()[0].is_ascii_digit() || !s.contains('-') {
        return None;
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts);
    }
    let normalized = s.replacen(' ', "T", 1);
    if let Ok(ts) = normalized.parse::<Timestamp>() {
        return Some(ts);
    }
    if let Ok(dt) = normalized.parse::<civil::DateTime>() {
        return dt.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    if let Ok(d) = s.parse::<civil::Date>() {
        return d.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    None
}

/// Whether `s` is a valid `YYYY-MM-DD` date.
pub fn is_iso_date(s: &str) -> bool {
    s.len() == 10 && s.parse::<civil::Date>().is_ok()
}

/// Whether Python's `datetime.fromisoformat` would accept `s`.
pub fn is_iso_datetime(s: &str) -> bool {
    if is_iso_date(s) {
        return true;
    }
    let normalized = s.replacen(' ', "T", 1);
    normalized.parse::<Timestamp>().is_ok() || normalized.parse::<civil::DateTime>().is_ok()
}

/// Orders object keys the way PostgreSQL stores `jsonb` (shorter keys first, then bytewise), at
/// every depth. Change log data round-trips through `jsonb`, so NetBox returns it in this order.
pub fn jsonb_order(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(&b.0)));
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k, jsonb_order(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(jsonb_order).collect()),
        other => other,
    }
}

/// Python's `repr(float)` for the values NetBox renders as strings (`utilization`).
pub fn py_float(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// A decimal as Django serializes a `DecimalField` (fixed number of places).
pub fn fmt_decimal(x: f64, places: u8) -> String {
    format!("{x:.*}", places as usize)
}

/// Python's `repr()` of a `str`→`str`/int dict, as NetBox prints lookup attributes in
/// "Related object not found using the provided attributes: {'slug': 'x'}".
pub fn py_dict_repr(map: &Map<String, Value>) -> String {
    let parts: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}: {}", py_repr(&Value::String(k.clone())), py_repr(v)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Python's `repr()` of a JSON value (strings single-quoted, `True`/`False`/`None`).
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if s.contains('\'') && !s.contains('"') {
                format!("\"{s}\"")
            } else {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => py_dict_repr(map),
    }
}

/// Python's `str()` of a JSON value as it appears in messages (`str` values unquoted).
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `type(x).__name__` for a JSON value.
pub fn py_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_like_drf() {
        let ts: Timestamp = "2026-11-25T19:59:52.409649Z".parse().unwrap();
        assert_eq!(fmt_ts(ts), "2026-11-25T19:59:52.409649Z");
        assert_eq!(fmt_etag(ts), "W/\"2026-11-25T19:59:52.409649+00:00\"");
        let whole: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(fmt_ts(whole), "2026-01-01T00:00:00Z");
        assert_eq!(fmt_minute(ts), "2026-11-25 19:59");
    }

    #[test]
    fn datetime_filters_accept_djangos_forms() {
        for ok in [
            "2026-11-25T19:59:48.738759Z",
            "2026-11-25",
            "2026-11-25 19:59:48",
            "2026-11-25T19:59",
            "2026-11-25T19:59:48+02:00",
        ] {
            assert!(parse_datetime(ok).is_some(), "{ok}");
        }
        for bad in ["garbage", "1700000000", ""] {
            assert!(parse_datetime(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn jsonb_orders_by_length_then_bytes() {
        let v: Value =
            serde_json::json!({"status": 1, "name": 2, "face": 3, "id": {"bb": 1, "a": 2}});
        let s = serde_json::to_string(&jsonb_order(v)).unwrap();
        assert_eq!(s, r#"{"id":{"a":2,"bb":1},"face":3,"name":2,"status":1}"#);
    }

    #[test]
    fn python_reprs() {
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(0.0), "0.0");
        let m = serde_json::json!({"slug": "nosuchtag"});
        assert_eq!(
            py_dict_repr(m.as_object().unwrap()),
            "{'slug': 'nosuchtag'}"
        );
        assert_eq!(
            py_repr(&serde_json::json!(["eslag", "nope"])),
            "['eslag', 'nope']"
        );
    }
}

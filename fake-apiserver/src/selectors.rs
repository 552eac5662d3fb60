//! Label and field selectors: parsing (Kubernetes `labels.Parse` / `fields.ParseSelector` syntax)
//! and matching against objects.
//!
//! It does not know which field keys a resource supports; the caller passes the allowed keys.

use serde_json::Value;
use std::collections::BTreeMap;

/// One label requirement.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
    Gt(String, i64),
    Lt(String, i64),
}

/// A parsed label selector (all requirements must match).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    pub reqs: Vec<LabelReq>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Not,
    Eq,
    DoubleEq,
    NotEq,
    Gt,
    Lt,
    Open,
    Close,
    Comma,
    In,
    NotIn,
}

fn tok_name(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => s.clone(),
        Tok::Not => "!".into(),
        Tok::Eq => "=".into(),
        Tok::DoubleEq => "==".into(),
        Tok::NotEq => "!=".into(),
        Tok::Gt => ">".into(),
        Tok::Lt => "<".into(),
        Tok::Open => "(".into(),
        Tok::Close => ")".into(),
        Tok::Comma => ",".into(),
        Tok::In => "in".into(),
        Tok::NotIn => "notin".into(),
    }
}

fn lex(s: &str) -> Vec<Tok> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1
            }
            ')' => {
                out.push(Tok::Close);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '>' => {
                out.push(Tok::Gt);
                i += 1
            }
            '<' => {
                out.push(Tok::Lt);
                i += 1
            }
            '!' => {
                if chars.get(i + 1) == Some(&'=') {
                    out.push(Tok::NotEq);
                    i += 2
                } else {
                    out.push(Tok::Not);
                    i += 1
                }
            }
            '=' => {
                if chars.get(i + 1) == Some(&'=') {
                    out.push(Tok::DoubleEq);
                    i += 2
                } else {
                    out.push(Tok::Eq);
                    i += 1
                }
            }
            _ => {
                let start = i;
                while i < chars.len() && !" \t\n\r(),!=<>".contains(chars[i]) {
                    i += 1;
                }
                let w: String = chars[start..i].iter().collect();
                out.push(match w.as_str() {
                    "in" => Tok::In,
                    "notin" => Tok::NotIn,
                    _ => Tok::Ident(w),
                });
            }
        }
    }
    out
}

fn validate_key(k: &str) -> Result<(), String> {
    crate::validation::qualified_name(k)
        .map_err(|m| format!("unable to parse requirement: key: Invalid value: {k:?}: {m}"))
}

fn validate_value(k: &str, v: &str, idx: usize) -> Result<(), String> {
    crate::validation::label_value(v).map_err(|m| {
        format!("unable to parse requirement: values[{idx}][{k}]: Invalid value: {v:?}: {m}")
    })
}

impl LabelSelector {
    /// Parses `a=b,c!=d,e in (f,g),!h`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let toks = lex(s);
        let mut reqs = vec![];
        let mut i = 0;
        if toks.is_empty() {
            return Ok(LabelSelector { reqs });
        }
        loop {
            // one requirement
            let negate = if toks.get(i) == Some(&Tok::Not) {
                i += 1;
                true
            } else {
                false
            };
            let key = match toks.get(i) {
                Some(Tok::Ident(k)) => k.clone(),
                Some(t) => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        tok_name(t)
                    ));
                }
                None => return Err("found '', expected: identifier after '!'".into()),
            };
            validate_key(&key)?;
            i += 1;
            if negate {
                reqs.push(LabelReq::NotExists(key));
            } else {
                match toks.get(i) {
                    None | Some(Tok::Comma) => reqs.push(LabelReq::Exists(key)),
                    Some(op @ (Tok::Eq | Tok::DoubleEq | Tok::NotEq)) => {
                        let op = op.clone();
                        i += 1;
                        let val = match toks.get(i) {
                            Some(Tok::Ident(v)) => {
                                i += 1;
                                v.clone()
                            }
                            None | Some(Tok::Comma) => String::new(),
                            Some(t) => {
                                return Err(format!(
                                    "found '{}', expected: identifier",
                                    tok_name(t)
                                ));
                            }
                        };
                        validate_value(&key, &val, 0)?;
                        reqs.push(if op == Tok::NotEq {
                            LabelReq::NotEq(key, val)
                        } else {
                            LabelReq::Eq(key, val)
                        });
                    }
                    Some(op @ (Tok::Gt | Tok::Lt)) => {
                        let op = op.clone();
                        i += 1;
                        let val = match toks.get(i) {
                            Some(Tok::Ident(v)) => {
                                i += 1;
                                v.clone()
                            }
                            _ => return Err("found '', expected: identifier".into()),
                        };
                        let n: i64 = val.parse().map_err(|_| {
                            format!("unable to parse requirement: values[0]: Invalid value: {val:?}: for 'Gt', 'Lt' operators, the value must be an integer")
                        })?;
                        reqs.push(if op == Tok::Gt {
                            LabelReq::Gt(key, n)
                        } else {
                            LabelReq::Lt(key, n)
                        });
                    }
                    Some(op @ (Tok::In | Tok::NotIn)) => {
                        let op = op.clone();
                        i += 1;
                        if toks.get(i) != Some(&Tok::Open) {
                            return Err(format!(
                                "found '{}', expected: '('",
                                toks.get(i).map(tok_name).unwrap_or_default()
                            ));
                        }
                        i += 1;
                        let mut vals: Vec<String> = vec![];
                        loop {
                            match toks.get(i) {
                                Some(Tok::Ident(v)) => {
                                    vals.push(v.clone());
                                    i += 1;
                                }
                                Some(Tok::Comma) | Some(Tok::Close) => vals.push(String::new()),
                                Some(t) => {
                                    return Err(format!(
                                        "found '{}', expected: ',', ')' or identifier",
                                        tok_name(t)
                                    ));
                                }
                                None => return Err("found '', expected: ')'".into()),
                            }
                            match toks.get(i) {
                                Some(Tok::Comma) => i += 1,
                                Some(Tok::Close) => {
                                    i += 1;
                                    break;
                                }
                                Some(t) => {
                                    return Err(format!(
                                        "found '{}', expected: ',' or ')'",
                                        tok_name(t)
                                    ));
                                }
                                None => return Err("found '', expected: ')'".into()),
                            }
                        }
                        if vals.len() == 1 && vals[0].is_empty() && op == Tok::In {
                            return Err("unable to parse requirement: values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty".to_string());
                        }
                        for (n, v) in vals.iter().enumerate() {
                            validate_value(&key, v, n)?;
                        }
                        vals.sort();
                        vals.dedup();
                        reqs.push(if op == Tok::In {
                            LabelReq::In(key, vals)
                        } else {
                            LabelReq::NotIn(key, vals)
                        });
                    }
                    Some(t) => {
                        return Err(format!(
                            "found '{}', expected: =, !=, ==, in, notin, or 'end of string'",
                            tok_name(t)
                        ));
                    }
                }
            }
            match toks.get(i) {
                None => break,
                Some(Tok::Comma) => {
                    i += 1;
                    if i >= toks.len() {
                        return Err("found '', expected: identifier after ','".into());
                    }
                }
                Some(t) => {
                    return Err(format!(
                        "found '{}', expected: ',' or 'end of string'",
                        tok_name(t)
                    ));
                }
            }
        }
        Ok(LabelSelector { reqs })
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// A requirement that names the only values an object may have for a key (`=`, `in`), usable
    /// to look candidates up in a label index.
    pub fn index_hint(&self) -> Option<(&str, Vec<&str>)> {
        self.reqs.iter().find_map(|r| match r {
            LabelReq::Eq(k, v) => Some((k.as_str(), vec![v.as_str()])),
            LabelReq::In(k, vs) => Some((k.as_str(), vs.iter().map(String::as_str).collect())),
            _ => None,
        })
    }

    /// Matches the `metadata.labels` of an object.
    pub fn matches(&self, obj: &Value) -> bool {
        if self.reqs.is_empty() {
            return true;
        }
        let labels = obj
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object);
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.reqs.iter().all(|r| match r {
            LabelReq::Eq(k, v) => get(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => get(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelReq::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
            LabelReq::Gt(k, n) => get(k)
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x > *n),
            LabelReq::Lt(k, n) => get(k)
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x < *n),
        })
    }
}

/// One field requirement: key, equal (true) or not-equal (false), value.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldReq {
    pub key: String,
    pub equal: bool,
    pub value: String,
}

/// A parsed field selector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector {
    pub reqs: Vec<FieldReq>,
}

impl FieldSelector {
    /// Parses `metadata.name=x,metadata.namespace!=y`, refusing keys that are not in `allowed`
    /// (each allowed key maps to the JSON pointer that supplies its value).
    pub fn parse(s: &str, allowed: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut reqs = vec![];
        if s.trim().is_empty() {
            return Ok(FieldSelector { reqs });
        }
        for part in split_unescaped(s) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (key, equal, value) = if let Some(i) = part.find("!=") {
                (&part[..i], false, &part[i + 2..])
            } else if let Some(i) = part.find("==") {
                (&part[..i], true, &part[i + 2..])
            } else if let Some(i) = part.find('=') {
                (&part[..i], true, &part[i + 1..])
            } else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                ));
            };
            let key = key.trim();
            if !allowed.contains_key(key) {
                return Err(format!("field label not supported: {key}"));
            }
            reqs.push(FieldReq {
                key: key.to_string(),
                equal,
                value: unescape(value.trim()),
            });
        }
        Ok(FieldSelector { reqs })
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Matches an object, reading each key through the pointer in `allowed`.
    pub fn matches(&self, obj: &Value, allowed: &BTreeMap<String, String>) -> bool {
        self.reqs.iter().all(|r| {
            let ptr = allowed.get(&r.key).map(String::as_str).unwrap_or("");
            let v = obj.pointer(ptr).map(scalar_string).unwrap_or_default();
            (v == r.value) == r.equal
        })
    }

    /// The value required by an equality on `metadata.name`, if any (fast path).
    pub fn exact_name(&self) -> Option<&str> {
        self.reqs
            .iter()
            .find(|r| r.equal && r.key == "metadata.name")
            .map(|r| r.value.as_str())
    }
}

fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn split_unescaped(s: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut esc = false;
    for c in s.chars() {
        if esc {
            cur.push('\\');
            cur.push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == ',' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in s.chars() {
        if esc {
            out.push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_operator() {
        let o = json!({"metadata":{"labels":{"a":"1","b":"x","n":"5"}}});
        let ok = [
            "a=1",
            "a==1",
            "a!=2",
            "a in (1,2)",
            "a notin (2,3)",
            "a",
            "!c",
            "n>4",
            "n<6",
            "a=1,b=x",
            "c!=1",
        ];
        for s in ok {
            assert!(LabelSelector::parse(s).unwrap().matches(&o), "{s}");
        }
        let no = [
            "a=2",
            "a!=1",
            "a in (2)",
            "a notin (1)",
            "c",
            "!a",
            "n>5",
            "a=1,b=y",
        ];
        for s in no {
            assert!(!LabelSelector::parse(s).unwrap().matches(&o), "{s}");
        }
    }

    #[test]
    fn bad_selectors() {
        assert!(LabelSelector::parse("a b").is_err());
        assert!(LabelSelector::parse("a in 1").is_err());
        assert!(LabelSelector::parse("a=b c").is_err());
        assert!(LabelSelector::parse("a=,").is_err());
    }
}

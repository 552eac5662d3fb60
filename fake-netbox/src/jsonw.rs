//! A small streaming JSON writer that appends straight to a byte buffer, so list pages of
//! thousands of objects are rendered without building `serde_json::Value` trees.
//!
//! It only writes syntax; what to write is decided by `render`.

use std::io::Write;

use serde_json::Value;

/// The output buffer.
#[derive(Default)]
pub struct JsonWriter {
    pub buf: Vec<u8>,
}

impl JsonWriter {
    pub fn with_capacity(n: usize) -> JsonWriter {
        JsonWriter {
            buf: Vec::with_capacity(n),
        }
    }

    pub fn raw(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    /// A JSON string (quoted and escaped).
    pub fn str(&mut self, s: &str) {
        self.buf.push(b'"');
        self.escaped(s);
        self.buf.push(b'"');
    }

    /// The escaped body of a JSON string, without quotes.
    pub fn escaped(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let esc: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0..=0x1f => {
                    self.buf.extend_from_slice(&bytes[start..i]);
                    let _ = write!(self.buf, "\\u{b:04x}");
                    start = i + 1;
                    continue;
                }
                _ => continue,
            };
            self.buf.extend_from_slice(&bytes[start..i]);
            self.buf.extend_from_slice(esc);
            start = i + 1;
        }
        self.buf.extend_from_slice(&bytes[start..]);
    }

    pub fn u64(&mut self, n: u64) {
        let _ = write!(self.buf, "{n}");
    }

    pub fn bool(&mut self, b: bool) {
        self.raw(if b { "true" } else { "false" });
    }

    pub fn null(&mut self) {
        self.raw("null");
    }

    /// Any JSON value, serialized by serde_json.
    pub fn val(&mut self, v: &Value) {
        match v {
            Value::Null => self.null(),
            Value::String(s) => self.str(s),
            Value::Bool(b) => self.bool(*b),
            other => {
                let _ = serde_json::to_writer(&mut self.buf, other);
            }
        }
    }

    /// Starts an object; write members through the returned writer, then call `end`.
    pub fn obj(&mut self) -> Obj<'_> {
        self.buf.push(b'{');
        Obj {
            w: self,
            first: true,
        }
    }

    /// Starts an array; write items through the returned writer, then call `end`.
    pub fn arr(&mut self) -> Arr<'_> {
        self.buf.push(b'[');
        Arr {
            w: self,
            first: true,
        }
    }
}

/// An object being written.
pub struct Obj<'a> {
    w: &'a mut JsonWriter,
    first: bool,
}

impl Obj<'_> {
    /// Writes `"key":` (with the separating comma) and returns the writer for the value.
    pub fn key(&mut self, k: &str) -> &mut JsonWriter {
        if !self.first {
            self.w.buf.push(b',');
        }
        self.first = false;
        self.w.str(k);
        self.w.buf.push(b':');
        self.w
    }

    pub fn end(self) {
        self.w.buf.push(b'}');
    }
}

/// An array being written.
pub struct Arr<'a> {
    w: &'a mut JsonWriter,
    first: bool,
}

impl Arr<'_> {
    /// Writes the separating comma and returns the writer for the next item.
    pub fn item(&mut self) -> &mut JsonWriter {
        if !self.first {
            self.w.buf.push(b',');
        }
        self.first = false;
        self.w
    }

    pub fn end(self) {
        self.w.buf.push(b']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_serde_json_parses_back() {
        let mut w = JsonWriter::default();
        let mut o = w.obj();
        o.key("a\"b").str("line\nbreak \u{1} é");
        o.key("n").u64(42);
        let inner = o.key("list");
        let mut a = inner.arr();
        a.item().bool(true);
        a.item().null();
        a.item().val(&serde_json::json!({"x": [1.5]}));
        a.end();
        o.end();
        let back: Value = serde_json::from_slice(&w.buf).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"a\"b": "line\nbreak \u{1} é", "n": 42, "list": [true, null, {"x": [1.5]}]})
        );
    }
}

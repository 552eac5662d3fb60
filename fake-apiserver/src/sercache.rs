//! Serialised forms of stored objects, kept while the object is unchanged: a list serves the
//! same bytes again instead of serialising every object on every request (the real apiserver's
//! watch cache does the same with its per-object encodings).
//!
//! Keyed by the identity of the stored `Arc<Value>`: objects are immutable once stored, a write
//! stores a new `Arc`, so an entry can never be stale. It does not decide what a list contains.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use serde_json::Value;

/// Which serialisation of an object.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Form {
    /// The object as stored (custom resources are served with their keys as stored).
    Whole,
    /// `metadata` only (items of a `PartialObjectMetadataList`).
    Metadata,
}

/// Entries are pruned once this many were added since the last pruning.
const PRUNE_EVERY: usize = 16_384;

#[derive(Default)]
pub(crate) struct SerCache {
    map: HashMap<(Form, usize), (Weak<Value>, Bytes)>,
    added: usize,
}

impl SerCache {
    /// The bytes of `obj` in `form`, serialised by `f` the first time.
    pub fn get(
        &mut self,
        form: Form,
        obj: &Arc<Value>,
        f: impl FnOnce(&Value) -> Vec<u8>,
    ) -> Bytes {
        let key = (form, Arc::as_ptr(obj) as usize);
        if let Some((weak, bytes)) = self.map.get(&key)
            && weak.upgrade().is_some_and(|o| Arc::ptr_eq(&o, obj))
        {
            return bytes.clone();
        }
        let bytes = Bytes::from(f(obj));
        self.map.insert(key, (Arc::downgrade(obj), bytes.clone()));
        self.added += 1;
        if self.added >= PRUNE_EVERY {
            self.added = 0;
            self.map.retain(|_, (w, _)| w.strong_count() > 0);
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_cached_bytes_until_the_object_is_replaced() {
        let mut c = SerCache::default();
        let a = Arc::new(serde_json::json!({"metadata": {"name": "a", "resourceVersion": "1"}}));
        let calls = std::cell::Cell::new(0);
        let ser = |v: &Value| {
            calls.set(calls.get() + 1);
            serde_json::to_vec(v).unwrap()
        };
        let first = c.get(Form::Whole, &a, ser);
        let again = c.get(Form::Whole, &a, ser);
        assert_eq!(first, again);
        let b = Arc::new(serde_json::json!({"metadata": {"name": "a", "resourceVersion": "2"}}));
        let next = c.get(Form::Whole, &b, ser);
        assert_ne!(first, next);
        assert!(next.ends_with(b"\"2\"}}"));
        // The metadata form is kept apart from the whole object's.
        let meta = c.get(Form::Metadata, &b, |v| {
            serde_json::to_vec(&v["metadata"]).unwrap()
        });
        assert!(meta.starts_with(b"{\"name\""));
        assert_eq!(calls.get(), 2);
    }
}

//! List queries: NetBox's filter sets (the filters a sync needs, with django-filter's validation
//! and error texts), orderings (model defaults and `?ordering=`), and pagination (limit/offset and
//! cursor `start`, with DRF's `next`/`previous` links). This file runs a query; the parts live in
//! [`filters`] (parsing, with [`special`] and the per-model [`tables`]), [`predicate`] (matching),
//! [`ordering`] and [`paging`].
//!
//! Pure functions over a read-only store; rendering and HTTP live elsewhere.

mod filters;
mod ordering;
mod paging;
mod predicate;
mod special;
mod tables;

pub use filters::{CONTROL_PARAMS, FilterErrors, Filters, grouped, parse_filters};
pub use ordering::{parse_ordering, sort};
pub use paging::{page_req, paginate};

use crate::model::Model;
use crate::store::{Id, Store};

/// Runs filters and ordering over a model's table.
pub fn select(store: &Store, m: Model, filters: &Filters, ordering: &[(String, bool)]) -> Vec<Id> {
    let mut ids: Vec<Id> = match filters.candidates(store, m) {
        // An index narrowed the search: check the remaining predicates on the candidates only.
        Some(cands) => cands
            .into_iter()
            .filter_map(|id| store.get(m, id))
            .filter(|r| filters.matches(store, m, r))
            .map(|r| r.id)
            .collect(),
        None => store
            .iter(m)
            .filter(|r| filters.matches(store, m, r))
            .map(|r| r.id)
            .collect(),
    };
    sort(store, m, &mut ids, ordering);
    ids
}

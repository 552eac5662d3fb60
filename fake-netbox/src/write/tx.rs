//! The write transaction: every store mutation a request makes is journaled so that a failed
//! (bulk) request can be undone, and change records are appended the way NetBox's change logging
//! writes them (empty updates skipped, many-to-many changes folded into the request's record).
//!
//! It does not validate anything; callers decide what to write.

use super::Actor;
use crate::model::Model;
use crate::render::Ctx;
use crate::store::{Change, Id, Rec, Store};
use crate::util::to_micros;

/// Undo journal entry, so that a failed bulk request leaves nothing behind.
#[derive(Debug)]
enum Undo {
    Insert(Model, Id),
    Replace(Model, Box<Rec>),
    Remove(Model, Box<Rec>),
    Change,
    /// A change record's `postchange_data` before a many-to-many update was folded into it.
    Post(usize, Option<Box<str>>),
}

/// A transaction over the store: every mutation is journaled and undone on [`Tx::rollback`].
pub struct Tx<'a> {
    pub store: &'a mut Store,
    pub actor: Actor,
    undo: Vec<Undo>,
    /// Objects whose deletion this request has recorded (NetBox's `_signals_received`).
    pub(crate) deleted: std::collections::HashSet<(Model, Id)>,
}

impl<'a> Tx<'a> {
    pub fn new(store: &'a mut Store, actor: Actor) -> Tx<'a> {
        let mut actor = actor;
        actor.now = to_micros(actor.now);
        Tx {
            store,
            actor,
            undo: Vec::new(),
            deleted: Default::default(),
        }
    }

    pub fn rollback(mut self) {
        while let Some(u) = self.undo.pop() {
            match u {
                Undo::Insert(m, id) => {
                    self.store.remove(m, id);
                }
                Undo::Replace(m, rec) => self.store.replace(m, *rec),
                Undo::Remove(m, rec) => self.store.insert(m, *rec),
                Undo::Change => {
                    self.store.changes.pop();
                    self.store.version += 1;
                }
                Undo::Post(i, post) => {
                    if let Some(c) = self.store.changes.get_mut(i) {
                        c.post = post;
                    }
                    self.store.version += 1;
                }
            }
        }
    }

    pub fn commit(self) {}

    pub(crate) fn insert(&mut self, m: Model, rec: Rec) {
        self.undo.push(Undo::Insert(m, rec.id));
        self.store.insert(m, rec);
    }

    pub(crate) fn replace(&mut self, m: Model, rec: Rec) {
        if let Some(old) = self.store.get(m, rec.id) {
            self.undo.push(Undo::Replace(m, Box::new(old.clone())));
        }
        self.store.replace(m, rec);
    }

    pub(crate) fn remove(&mut self, m: Model, id: Id) -> Option<Rec> {
        let rec = self.store.remove(m, id)?;
        self.undo.push(Undo::Remove(m, Box::new(rec.clone())));
        Some(rec)
    }

    pub(crate) fn snapshot(&self, m: Model, id: Id) -> Option<Box<str>> {
        let rec = self.store.get(m, id)?;
        let data = Ctx::new(self.store, "").log_data(m, rec);
        Some(serde_json::to_string(&data).unwrap_or_default().into())
    }

    pub(crate) fn repr(&self, m: Model, id: Id) -> String {
        self.store
            .get(m, id)
            .map(|r| Ctx::new(self.store, "").display(m, r))
            .unwrap_or_default()
    }

    /// Appends one change record. Updates whose data did not change are skipped, as NetBox does
    /// with `CHANGELOG_SKIP_EMPTY_CHANGES`.
    pub(crate) fn log(
        &mut self,
        action: &'static str,
        m: Model,
        id: Id,
        repr: String,
        (pre, post): (Option<Box<str>>, Option<Box<str>>),
        message: &str,
    ) {
        if action == "update" && pre.is_some() && pre == post {
            return;
        }
        let change = Change {
            id: 0,
            time: self.actor.now,
            user_name: self.actor.user.clone(),
            request_id: self.actor.request_id.clone(),
            action,
            model: m,
            object_id: id,
            object_repr: repr.chars().take(200).collect(),
            message: message.to_string(),
            pre,
            post,
        };
        self.store.push_change(change);
        self.undo.push(Undo::Change);
    }
}

impl Tx<'_> {
    /// A many-to-many change (`m2m_changed`): folded into the latest record this request wrote
    /// for the object, else recorded as an update.
    pub(crate) fn log_m2m(
        &mut self,
        m: Model,
        id: Id,
        repr: String,
        (pre, post): (Option<Box<str>>, Option<Box<str>>),
    ) {
        let request = self.actor.request_id.clone();
        let prev = self
            .store
            .changes
            .iter()
            .enumerate()
            .rev()
            .take_while(|(_, c)| c.request_id == request)
            .find(|(_, c)| c.model == m && c.object_id == id)
            .map(|(i, _)| i);
        match prev {
            Some(i) => {
                let old = std::mem::replace(&mut self.store.changes[i].post, post);
                self.store.version += 1;
                self.undo.push(Undo::Post(i, old));
            }
            None => self.log("update", m, id, repr, (pre, post), ""),
        }
    }
}

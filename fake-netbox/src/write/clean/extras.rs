//! The validation rules of the extras models: custom field definitions (name, choice set,
//! object type) and journal entries (assigned object, comments).
//!
//! Custom field *values* on other objects are checked in `write::custom_fields`.

use crate::model::Model;
use crate::store::{Rec, Store};
use crate::write::{Errs, add_err};

/// `CustomField.clean()`.
pub(super) fn custom_field(rec: &Rec) -> Errs {
    let m = Model::CustomField;
    let mut e = Errs::new();
    let name = rec.str(m, "name");
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        add_err(
            &mut e,
            "name",
            "Only alphanumeric characters and underscores are allowed.",
        );
    } else if name.contains("__") {
        add_err(
            &mut e,
            "name",
            "Double underscores are not permitted in custom field names.",
        );
    }
    let ty = rec.str(m, "type");
    if matches!(ty, "select" | "multiselect") && rec.id_of(m, "choice_set").is_none() {
        add_err(
            &mut e,
            "choice_set",
            "Selection fields must specify a set of choices.",
        );
    } else if !matches!(ty, "select" | "multiselect") && rec.id_of(m, "choice_set").is_some() {
        add_err(
            &mut e,
            "choice_set",
            "Choices may be set only on selection fields.",
        );
    }
    if matches!(ty, "object" | "multiobject") && rec.get(m, "related_object_type").is_null() {
        add_err(
            &mut e,
            "related_object_type",
            "Object fields must define an object type.",
        );
    }
    if rec
        .get(m, "object_types")
        .as_array()
        .is_some_and(Vec::is_empty)
    {
        add_err(&mut e, "object_types", "This list may not be empty.");
    }
    e
}

/// `JournalEntry.clean()`.
pub(super) fn journal_entry(store: &Store, rec: &Rec) -> Errs {
    let m = Model::JournalEntry;
    let mut e = Errs::new();
    let target = rec
        .get(m, "assigned_object_type")
        .as_str()
        .and_then(Model::from_label);
    let id = rec.id_of(m, "assigned_object_id");
    if let (Some(t), Some(id)) = (target, id)
        && store.get(t, id).is_none()
    {
        add_err(
            &mut e,
            "__all__",
            format!(
                "Invalid assigned_object: {} > {} ID {id}",
                t.meta().app_verbose,
                title_case(t.meta().verbose)
            ),
        );
    }
    if rec.str(m, "comments").trim().is_empty() {
        add_err(&mut e, "comments", "This field may not be blank.");
    }
    e
}

fn title_case(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            if w.chars().all(|c| c.is_uppercase()) {
                w.to_string()
            } else {
                let mut c = w.chars();
                match c.next() {
                    Some(f) => f.to_uppercase().chain(c).collect(),
                    None => String::new(),
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

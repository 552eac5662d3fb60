//! extras field tables for tags, custom fields, custom field choice sets and journal entries.
//!
//! Data only.

use super::{EDITABLE, HEAD, U16, choice, comp, dec, f, int, opt_choice};
use crate::choices;
use crate::model::Model;
use crate::model::field::{
    BRIEF, Computed, FULL, Field, FieldKind, LOGGED, Nest, REQUIRED, UNIQUE, WRITABLE,
};

pub(in crate::model) static TAG: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "name",
        FieldKind::Name(100),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED | UNIQUE
    ),
    f(
        "slug",
        FieldKind::Slug(100),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED | UNIQUE
    ),
    f(
        "color",
        FieldKind::Color(Some("9e9e9e")),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("weight", int(0, U16, false, 1000), EDITABLE),
    f("object_types", FieldKind::ContentTypes, EDITABLE),
    f("tagged_items", comp(Computed::TaggedItems), FULL),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
    f("owner", FieldKind::Absent, LOGGED),
];

pub(in crate::model) static CUSTOM_FIELD: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "object_types",
        FieldKind::ContentTypes,
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "type",
        choice(&choices::CF_TYPE, "text"),
        EDITABLE | REQUIRED
    ),
    f(
        "related_object_type",
        FieldKind::ContentType { null: true },
        EDITABLE
    ),
    f("data_type", comp(Computed::DataType), FULL),
    f(
        "name",
        FieldKind::Name(50),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED | UNIQUE
    ),
    f("label", FieldKind::Str(50), EDITABLE),
    f("group_name", FieldKind::Str(50), EDITABLE),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f("required", FieldKind::Bool(false), EDITABLE),
    f("unique", FieldKind::Bool(false), EDITABLE),
    f("search_weight", int(0, U16, false, 1000), EDITABLE),
    f(
        "filter_logic",
        choice(&choices::CF_FILTER_LOGIC, "loose"),
        EDITABLE
    ),
    f(
        "ui_visible",
        choice(&choices::CF_UI_VISIBLE, "always"),
        EDITABLE
    ),
    f(
        "ui_editable",
        choice(&choices::CF_UI_EDITABLE, "yes"),
        EDITABLE
    ),
    f("is_cloneable", FieldKind::Bool(false), EDITABLE),
    f("nulls_first", FieldKind::Bool(true), EDITABLE),
    f("default", FieldKind::Json, EDITABLE),
    f("related_object_filter", FieldKind::Json, EDITABLE),
    f("weight", int(0, U16, false, 100), EDITABLE),
    f("validation_minimum", dec(true, 0.0, 4), EDITABLE),
    f("validation_maximum", dec(true, 0.0, 4), EDITABLE),
    f("validation_regex", FieldKind::Str(500), EDITABLE),
    f("validation_schema", FieldKind::Json, EDITABLE),
    f(
        "choice_set",
        FieldKind::Fk(Model::CustomFieldChoiceSet, Nest::Brief),
        EDITABLE
    ),
    f(
        "status",
        choice(&choices::CF_STATUS, "active"),
        FULL | LOGGED
    ),
    f("owner", FieldKind::Absent, EDITABLE),
    f("comments", FieldKind::Text, EDITABLE),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
];

pub(in crate::model) static CHOICE_SET: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "name",
        FieldKind::Name(100),
        FULL | BRIEF | LOGGED | WRITABLE | REQUIRED | UNIQUE
    ),
    f(
        "description",
        FieldKind::Str(200),
        FULL | BRIEF | LOGGED | WRITABLE
    ),
    f(
        "base_choices",
        opt_choice(&choices::CHOICE_SET_BASE),
        EDITABLE
    ),
    f(
        "extra_choices",
        FieldKind::ExtraChoices,
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f("choice_colors", FieldKind::JsonObj, EDITABLE),
    f("order_alphabetically", FieldKind::Bool(false), EDITABLE),
    f("choices_count", comp(Computed::ChoicesCount), FULL | BRIEF),
    f("owner", FieldKind::Absent, EDITABLE),
    f("created", FieldKind::Created, FULL),
    f("last_updated", FieldKind::LastUpdated, FULL),
];

pub(in crate::model) static JOURNAL_ENTRY: &[Field] = fields![
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    f(
        "assigned_object_type",
        FieldKind::ContentType { null: false },
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "assigned_object_id",
        FieldKind::ObjectId { null: false },
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f(
        "assigned_object",
        comp(Computed::Gfk("assigned_object_type", "assigned_object_id")),
        FULL
    ),
    f("created", FieldKind::Created, FULL | BRIEF),
    f("created_by", FieldKind::User, EDITABLE),
    f("kind", choice(&choices::JOURNAL_KIND, "info"), EDITABLE),
    f(
        "comments",
        FieldKind::Name(usize::MAX),
        FULL | LOGGED | WRITABLE | REQUIRED
    ),
    f("tags", FieldKind::Tags, EDITABLE),
    f("custom_fields", FieldKind::CustomFields, EDITABLE),
    f("last_updated", FieldKind::LastUpdated, FULL),
];

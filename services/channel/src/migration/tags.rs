//! Contact tags: one row per tag of a contact, unique ignoring case (`tag_key` is the
//! lowercase form, `tag` the spelling shown). Led by the organization like every tenant table;
//! the second index serves ListContacts' tag filter.

use switchboard_runtime::db::SqlMigration;

const UP: &[&str] = &[
    "CREATE TABLE contact_tags (
        organization_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        tag_key TEXT NOT NULL,
        tag TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        PRIMARY KEY (organization_id, contact_id, tag_key))",
    "CREATE INDEX contact_tags_by_tag ON contact_tags (organization_id, tag_key, contact_id)",
];

const DOWN: &[&str] = &["DROP TABLE contact_tags"];

/// The migration.
pub const CREATE_CONTACT_TAGS: SqlMigration = SqlMigration {
    name: "m0005_create_contact_tags",
    up: UP,
    down: DOWN,
};

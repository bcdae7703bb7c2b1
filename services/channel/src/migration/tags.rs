//! Contact tags: one row per tag of a contact, unique ignoring case (`tag_key` is the
//! lowercase form, `tag` the spelling shown). Led by the organization like every tenant table;
//! the second index serves ListContacts' tag filter.

use sea_orm_migration::prelude::*;

pub struct CreateContactTags;

impl MigrationName for CreateContactTags {
    fn name(&self) -> &str {
        "m0005_create_contact_tags"
    }
}

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

#[async_trait::async_trait]
impl MigrationTrait for CreateContactTags {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in UP {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in DOWN {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}

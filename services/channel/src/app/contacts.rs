//! Contacts and their tags.

use std::collections::BTreeMap;

use switchboard_runtime::{
    ids::{ContactId, OrganizationId},
    paging::{Page, Paged},
};

use super::Channel;
use crate::{
    domain::model::Contact,
    error::ChannelError,
    store::contacts::{ContactChanges, TagChange, TagRequest},
};

impl Channel {
    /// The contact of an E.164 number (already normalized), created with `tags` (validated)
    /// when new.
    pub async fn create_contact(
        &self,
        org: &OrganizationId,
        actor: Option<&str>,
        phone_number: String,
        display_name: String,
        attributes: BTreeMap<String, String>,
        tags: Vec<String>,
    ) -> Result<(Contact, bool), ChannelError> {
        self.authority(org, actor).await?;
        let now = self.clock.now_ms();
        self.store
            .create_contact(&Contact {
                id: ContactId::generate(),
                organization_id: org.clone(),
                wa_id: None,
                phone_number,
                profile_name: String::new(),
                display_name,
                attributes,
                last_inbound_ms: None,
                created_ms: now,
                updated_ms: now,
                tags,
            })
            .await
    }

    pub async fn contact(
        &self,
        org: &OrganizationId,
        id: &ContactId,
    ) -> Result<Contact, ChannelError> {
        self.store.contact(org, id).await
    }

    pub async fn contact_by_wa_id(
        &self,
        org: &OrganizationId,
        wa_id: &str,
    ) -> Result<Contact, ChannelError> {
        self.store.contact_by_wa_id(org, wa_id).await
    }

    /// Contacts matching `query` with every tag of `tag_keys` (lowercase).
    pub async fn contacts(
        &self,
        org: &OrganizationId,
        query: &str,
        tag_keys: &[String],
        page: &Page,
    ) -> Result<Paged<Contact>, ChannelError> {
        self.store.contacts(org, query, tag_keys, page).await
    }

    /// Adds or removes a contact's tags, once per request id.
    pub async fn change_contact_tags(
        &self,
        org: &OrganizationId,
        actor: Option<&str>,
        id: &ContactId,
        change: TagChange,
        request: TagRequest<'_>,
    ) -> Result<Contact, ChannelError> {
        self.authority(org, actor).await?;
        self.store
            .change_tags(org, id, change, request, self.clock.now_ms())
            .await
    }

    pub async fn update_contact(
        &self,
        org: &OrganizationId,
        actor: Option<&str>,
        id: &ContactId,
        changes: ContactChanges,
    ) -> Result<Contact, ChannelError> {
        self.authority(org, actor).await?;
        self.store
            .update_contact(org, id, changes, self.clock.now_ms())
            .await
    }
}

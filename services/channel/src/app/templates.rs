//! Templates: listed from the last sync; synced from the Graph API on demand.

use switchboard_runtime::{
    ids::{ChannelAccountId, OrganizationId},
    paging::{Page, Paged},
};

use super::Channel;
use crate::{
    error::ChannelError,
    graph::GraphError,
    store::templates::{StoredTemplate, TemplateFilter},
};

impl Channel {
    pub async fn templates(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
        filter: &TemplateFilter,
        page: &Page,
    ) -> Result<(Paged<StoredTemplate>, u64), ChannelError> {
        self.store.account(org, account).await?;
        self.store.templates(org, account, filter, page).await
    }

    /// Re-reads the number's WABA templates from the Graph API. Operator or admin.
    pub async fn sync_templates(
        &self,
        org: &OrganizationId,
        actor: Option<&str>,
        account: &ChannelAccountId,
    ) -> Result<usize, ChannelError> {
        self.require_supervisor(org, actor).await?;
        let account = self.store.account(org, account).await?;
        let token = self.secrets.token(&account.access_token_secret_ref)?;
        let remote = self
            .graph
            .templates(&token, &account.waba_id)
            .await
            .map_err(|e| match e {
                GraphError::Rejected { status, error } => ChannelError::FailedPrecondition {
                    reason: None,
                    message: format!(
                        "the Graph API refused the template list ({status}): {}",
                        error.message
                    ),
                    metadata: Default::default(),
                },
                other => ChannelError::Unavailable(format!("Graph API: {other}")),
            })?;
        let now = self.clock.now_ms();
        let templates: Vec<StoredTemplate> = remote
            .into_iter()
            .map(|t| StoredTemplate {
                name: t.name,
                language_code: t.language,
                whatsapp_template_id: t.id,
                category: t.category,
                status: t.status,
                header_format: t.header_format,
                header_text: t.header_text,
                body_text: t.body_text,
                footer_text: t.footer_text,
                buttons: t
                    .buttons
                    .into_iter()
                    .map(|b| (b.kind, b.text, b.value))
                    .collect(),
                body_parameter_count: t.body_parameter_count,
                sync_ms: now,
            })
            .collect();
        self.store
            .replace_templates(org, &account.id, &templates)
            .await?;
        Ok(templates.len())
    }
}

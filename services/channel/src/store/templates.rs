//! Message templates of a number's WhatsApp Business Account, as last synced from Meta.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
    sea_query::ExprTrait,
};
use switchboard_runtime::tenancy::of_org;
use switchboard_runtime::{
    ids::{ChannelAccountId, OrganizationId},
    paging::{Keyset, Page, Paged},
};

use super::{Store, entities::templates as t};
use crate::error::ChannelError;

/// A template as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTemplate {
    pub name: String,
    pub language_code: String,
    pub whatsapp_template_id: String,
    pub category: String,
    pub status: String,
    pub header_format: String,
    pub header_text: String,
    pub body_text: String,
    pub footer_text: String,
    /// (kind, text, value) of each button.
    pub buttons: Vec<(String, String, String)>,
    pub body_parameter_count: i32,
    pub sync_ms: i64,
}

fn from_row(row: t::Model) -> StoredTemplate {
    StoredTemplate {
        buttons: serde_json::from_str(&row.buttons).unwrap_or_default(),
        name: row.name,
        language_code: row.language_code,
        whatsapp_template_id: row.whatsapp_template_id,
        category: row.category,
        status: row.status,
        header_format: row.header_format,
        header_text: row.header_text,
        body_text: row.body_text,
        footer_text: row.footer_text,
        body_parameter_count: row.body_parameter_count,
        sync_ms: row.sync_ms,
    }
}

/// Filters of a template list.
#[derive(Debug, Default, Clone)]
pub struct TemplateFilter {
    pub statuses: Vec<String>,
    pub name_query: String,
    pub language_code: String,
}

impl Store {
    /// Replaces the account's templates with `templates` (a sync).
    pub async fn replace_templates(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
        templates: &[StoredTemplate],
    ) -> Result<(), ChannelError> {
        let txn = self.db.begin().await?;
        t::Entity::delete_many()
            .filter(t::Column::OrganizationId.eq(org.as_str()))
            .filter(t::Column::ChannelAccountId.eq(account.as_str()))
            .exec(&txn)
            .await?;
        for tpl in templates {
            t::Entity::insert(t::ActiveModel {
                organization_id: Set(org.to_string()),
                channel_account_id: Set(account.to_string()),
                name: Set(tpl.name.clone()),
                language_code: Set(tpl.language_code.clone()),
                whatsapp_template_id: Set(tpl.whatsapp_template_id.clone()),
                category: Set(tpl.category.clone()),
                status: Set(tpl.status.clone()),
                header_format: Set(tpl.header_format.clone()),
                header_text: Set(tpl.header_text.clone()),
                body_text: Set(tpl.body_text.clone()),
                footer_text: Set(tpl.footer_text.clone()),
                buttons: Set(serde_json::to_string(&tpl.buttons).unwrap_or_else(|_| "[]".into())),
                body_parameter_count: Set(tpl.body_parameter_count),
                sync_ms: Set(tpl.sync_ms),
            })
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns([
                    t::Column::OrganizationId,
                    t::Column::ChannelAccountId,
                    t::Column::Name,
                    t::Column::LanguageCode,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// One template by name and language.
    pub async fn template(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
        name: &str,
        language_code: &str,
    ) -> Result<Option<StoredTemplate>, ChannelError> {
        Ok(t::Entity::find_by_id((
            org.to_string(),
            account.to_string(),
            name.to_string(),
            language_code.to_string(),
        ))
        .one(&self.db)
        .await?
        .map(from_row))
    }

    /// A page of templates ordered by name then language (unique in an account), and the total.
    pub async fn templates(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
        filter: &TemplateFilter,
        page: &Page,
    ) -> Result<(Paged<StoredTemplate>, u64), ChannelError> {
        let mut q =
            of_org::<t::Entity>(org).filter(t::Column::ChannelAccountId.eq(account.as_str()));
        if !filter.statuses.is_empty() {
            q = q.filter(t::Column::Status.is_in(filter.statuses.iter().map(String::as_str)));
        }
        if !filter.name_query.is_empty() {
            q = q.filter(
                sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(
                    sea_orm::sea_query::Expr::col(t::Column::Name),
                ))
                .like(format!("%{}%", filter.name_query.to_lowercase())),
            );
        }
        if !filter.language_code.is_empty() {
            q = q.filter(t::Column::LanguageCode.eq(filter.language_code.as_str()));
        }
        let total = q.clone().count(&self.db).await?;
        let rows = Keyset::new(self.db.get_database_backend())
            .asc_text(t::Column::Name)
            .asc_text(t::Column::LanguageCode)
            .apply(q, page)
            .all(&self.db)
            .await?;
        let list = page
            .finish(rows, |r| {
                vec![r.name.as_str().into(), r.language_code.as_str().into()]
            })
            .map(from_row);
        Ok((list, total))
    }
}

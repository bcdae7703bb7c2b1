//! Channel accounts (WhatsApp numbers).

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait, sea_query::ExprTrait,
};
use switchboard_runtime::tenancy::{of_org, secure_find};
use switchboard_runtime::{
    errors::is_unique_violation,
    ids::{ChannelAccountId, OrganizationId},
    outbox::{self, NewEvent},
    paging::{Keyset, Page, Paged},
};

use super::{Store, entities::channel_accounts as acc, idempotency, parse_id};
use crate::{domain::model::ChannelAccount, error::ChannelError};

pub(crate) fn from_row(row: acc::Model) -> Result<ChannelAccount, ChannelError> {
    Ok(ChannelAccount {
        id: parse_id("channel account id", &row.id)?,
        organization_id: parse_id("organization id", &row.organization_id)?,
        display_name: row.display_name,
        phone_number_id: row.phone_number_id,
        display_phone_number: row.display_phone_number,
        waba_id: row.waba_id,
        access_token_secret_ref: row.access_token_secret_ref,
        disabled: row.disabled,
        last_webhook_ms: row.last_webhook_ms,
        created_ms: row.created_ms,
        updated_ms: row.updated_ms,
    })
}

/// What may change on an account.
#[derive(Debug, Default, Clone)]
pub struct AccountChanges {
    pub display_name: Option<String>,
    pub access_token_secret_ref: Option<String>,
    pub disabled: Option<bool>,
}

impl Store {
    /// Creates an account; a retried request returns the first one.
    pub async fn create_account(
        &self,
        request_id: &str,
        account: &ChannelAccount,
    ) -> Result<ChannelAccount, ChannelError> {
        let org = &account.organization_id;
        if let Some(id) =
            idempotency::recall(&self.db, org, "CreateChannelAccount", request_id).await?
        {
            return self
                .account(org, &parse_id("channel account id", &id)?)
                .await;
        }
        let txn = self.db.begin().await?;
        let row = acc::ActiveModel {
            id: Set(account.id.to_string()),
            organization_id: Set(org.to_string()),
            display_name: Set(account.display_name.clone()),
            phone_number_id: Set(account.phone_number_id.clone()),
            active_phone_key: Set(Some(account.phone_number_id.clone())),
            display_phone_number: Set(account.display_phone_number.clone()),
            waba_id: Set(account.waba_id.clone()),
            access_token_secret_ref: Set(account.access_token_secret_ref.clone()),
            disabled: Set(account.disabled),
            deleted: Set(false),
            last_webhook_ms: Set(None),
            created_ms: Set(account.created_ms),
            updated_ms: Set(account.updated_ms),
        };
        if let Err(err) = acc::Entity::insert(row).exec_without_returning(&txn).await {
            return Err(if is_unique_violation(&err) {
                ChannelError::AlreadyExists(format!(
                    "phone_number_id {} is already registered",
                    account.phone_number_id
                ))
            } else {
                err.into()
            });
        }
        if !idempotency::remember(
            &txn,
            org,
            "CreateChannelAccount",
            request_id,
            account.id.as_str(),
            account.created_ms,
        )
        .await?
        {
            txn.rollback().await?;
            return Box::pin(self.create_account(request_id, account)).await;
        }
        txn.commit().await?;
        Ok(account.clone())
    }

    /// One live account of `org`.
    pub async fn account(
        &self,
        org: &OrganizationId,
        id: &ChannelAccountId,
    ) -> Result<ChannelAccount, ChannelError> {
        let row = secure_find::<acc::Entity, _>(org, id.to_string())
            .filter(acc::Column::Deleted.eq(false))
            .one(&self.db)
            .await?
            .ok_or_else(|| ChannelError::not_found("channel account", id))?;
        from_row(row)
    }

    /// The live account of a WhatsApp phone number id, in any organization (webhooks name the
    /// number only).
    pub async fn account_by_phone_number_id<C: ConnectionTrait>(
        conn: &C,
        phone_number_id: &str,
    ) -> Result<Option<ChannelAccount>, ChannelError> {
        acc::Entity::find()
            .filter(acc::Column::ActivePhoneKey.eq(phone_number_id))
            .one(conn)
            .await?
            .map(from_row)
            .transpose()
    }

    /// A page of accounts ordered by display name, and the total.
    pub async fn accounts(
        &self,
        org: &OrganizationId,
        include_disabled: bool,
        page: &Page,
    ) -> Result<(Paged<ChannelAccount>, u64), ChannelError> {
        let mut query = of_org::<acc::Entity>(org).filter(acc::Column::Deleted.eq(false));
        if !include_disabled {
            query = query.filter(acc::Column::Disabled.eq(false));
        }
        let total = query.clone().count(&self.db).await?;
        let rows = Keyset::new(self.db.get_database_backend())
            .asc_text(acc::Column::DisplayName)
            .asc_text(acc::Column::Id)
            .apply(query, page)
            .all(&self.db)
            .await?;
        let accounts = page
            .finish(rows, |r| {
                vec![r.display_name.as_str().into(), r.id.as_str().into()]
            })
            .try_map(from_row)?;
        Ok((accounts, total))
    }

    /// Applies `changes` to a live account.
    pub async fn update_account(
        &self,
        org: &OrganizationId,
        id: &ChannelAccountId,
        changes: AccountChanges,
        now_ms: i64,
    ) -> Result<ChannelAccount, ChannelError> {
        self.account(org, id).await?;
        let mut update = acc::Entity::update_many().col_expr(acc::Column::UpdatedMs, now_ms.into());
        if let Some(v) = changes.display_name {
            update = update.col_expr(acc::Column::DisplayName, v.into());
        }
        if let Some(v) = changes.access_token_secret_ref {
            update = update.col_expr(acc::Column::AccessTokenSecretRef, v.into());
        }
        if let Some(v) = changes.disabled {
            update = update.col_expr(acc::Column::Disabled, v.into());
        }
        update
            .filter(acc::Column::Id.eq(id.as_str()))
            .filter(acc::Column::OrganizationId.eq(org.as_str()))
            .exec(&self.db)
            .await?;
        self.account(org, id).await
    }

    /// Marks an account deleted and frees its phone number id; messages and contacts stay.
    pub async fn delete_account(
        &self,
        org: &OrganizationId,
        id: &ChannelAccountId,
        now_ms: i64,
    ) -> Result<(), ChannelError> {
        let txn = self.db.begin().await?;
        let res = acc::Entity::update_many()
            .col_expr(acc::Column::Deleted, true.into())
            .col_expr(
                acc::Column::ActivePhoneKey,
                sea_orm::sea_query::Expr::value(Option::<String>::None),
            )
            .col_expr(acc::Column::UpdatedMs, now_ms.into())
            .filter(acc::Column::Id.eq(id.as_str()))
            .filter(acc::Column::OrganizationId.eq(org.as_str()))
            .filter(acc::Column::Deleted.eq(false))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            return Err(ChannelError::not_found("channel account", id));
        }
        // Whoever removes a number (the gateway, an internal caller), routing drops its links.
        outbox::enqueue(
            &txn,
            NewEvent::typed(
                org.to_string(),
                id.to_string(),
                &switchboard_proto::channel::v1::ChannelAccountDeleted {
                    channel_account_id: id.to_string(),
                },
            ),
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        Ok(())
    }

    /// Records that a webhook for the account arrived; writes at most every 10 s per account,
    /// so the hot path does not contend on the account row.
    pub async fn touch_account(
        &self,
        id: &ChannelAccountId,
        now_ms: i64,
    ) -> Result<(), ChannelError> {
        acc::Entity::update_many()
            .col_expr(acc::Column::LastWebhookMs, now_ms.into())
            .filter(acc::Column::Id.eq(id.as_str()))
            .filter(
                acc::Column::LastWebhookMs
                    .is_null()
                    .or(acc::Column::LastWebhookMs.lt(now_ms - 10_000)),
            )
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

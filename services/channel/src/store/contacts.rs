//! Contacts and their 24-hour windows.

use std::collections::BTreeMap;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::ExprTrait, sea_query::OnConflict,
};
use switchboard_runtime::{
    ids::{ChannelAccountId, ContactId, OrganizationId},
    paging::Page,
};

use super::{
    Store, corrupt,
    entities::{contacts as ct, windows as win},
    parse_id,
};
use crate::{
    domain::{model::Contact, window::Window},
    error::ChannelError,
};

pub(crate) fn from_row(row: ct::Model) -> Result<Contact, ChannelError> {
    let attributes: BTreeMap<String, String> = serde_json::from_str(&row.attributes)
        .map_err(|_| corrupt("attributes", &row.attributes))?;
    Ok(Contact {
        id: parse_id("contact id", &row.id)?,
        organization_id: parse_id("organization id", &row.organization_id)?,
        wa_id: row.wa_id,
        phone_number: row.phone_number,
        profile_name: row.profile_name,
        display_name: row.display_name,
        attributes,
        last_inbound_ms: row.last_inbound_ms,
        created_ms: row.created_ms,
        updated_ms: row.updated_ms,
    })
}

fn to_json(attributes: &BTreeMap<String, String>) -> String {
    serde_json::to_string(attributes).unwrap_or_else(|_| "{}".into())
}

/// What may change on a contact.
#[derive(Debug, Default, Clone)]
pub struct ContactChanges {
    pub display_name: Option<String>,
    pub attributes: Option<BTreeMap<String, String>>,
}

/// A customer message as the contact upsert sees it.
pub struct InboundContact<'a> {
    pub org: &'a OrganizationId,
    pub phone_number: &'a str,
    pub wa_id: &'a str,
    pub profile_name: &'a str,
    pub message_ms: i64,
    pub now_ms: i64,
}

impl Store {
    /// The contact of a phone number, created when new; true when this call created it.
    pub async fn create_contact(&self, contact: &Contact) -> Result<(Contact, bool), ChannelError> {
        let org = &contact.organization_id;
        let inserted = ct::Entity::insert(ct::ActiveModel {
            id: Set(contact.id.to_string()),
            organization_id: Set(org.to_string()),
            phone_number: Set(contact.phone_number.clone()),
            wa_id: Set(None),
            profile_name: Set(String::new()),
            display_name: Set(contact.display_name.clone()),
            attributes: Set(to_json(&contact.attributes)),
            last_inbound_ms: Set(None),
            created_ms: Set(contact.created_ms),
            updated_ms: Set(contact.updated_ms),
        })
        .on_conflict(
            OnConflict::columns([ct::Column::OrganizationId, ct::Column::PhoneNumber])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        let existing = self
            .contact_by_phone(org, &contact.phone_number)
            .await?
            .ok_or_else(|| ChannelError::not_found("contact", &contact.phone_number))?;
        Ok((existing, inserted == 1))
    }

    /// The contact with this E.164 number.
    pub async fn contact_by_phone(
        &self,
        org: &OrganizationId,
        phone_number: &str,
    ) -> Result<Option<Contact>, ChannelError> {
        ct::Entity::find()
            .filter(ct::Column::OrganizationId.eq(org.as_str()))
            .filter(ct::Column::PhoneNumber.eq(phone_number))
            .one(&self.db)
            .await?
            .map(from_row)
            .transpose()
    }

    /// One contact.
    pub async fn contact(
        &self,
        org: &OrganizationId,
        id: &ContactId,
    ) -> Result<Contact, ChannelError> {
        let row = ct::Entity::find_by_id(id.to_string())
            .filter(ct::Column::OrganizationId.eq(org.as_str()))
            .one(&self.db)
            .await?
            .ok_or_else(|| ChannelError::not_found("contact", id))?;
        from_row(row)
    }

    /// One contact by WhatsApp id.
    pub async fn contact_by_wa_id(
        &self,
        org: &OrganizationId,
        wa_id: &str,
    ) -> Result<Contact, ChannelError> {
        let row = ct::Entity::find()
            .filter(ct::Column::OrganizationId.eq(org.as_str()))
            .filter(ct::Column::WaId.eq(wa_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ChannelError::not_found("contact with wa_id", wa_id))?;
        from_row(row)
    }

    /// Contacts matching `query` (names, or digits of the number), most recently active first.
    pub async fn contacts(
        &self,
        org: &OrganizationId,
        query: &str,
        page: &Page,
    ) -> Result<Vec<Contact>, ChannelError> {
        let mut select = ct::Entity::find().filter(ct::Column::OrganizationId.eq(org.as_str()));
        let query = query.trim();
        if !query.is_empty() {
            let pattern = format!("%{}%", query.to_lowercase());
            let lower = |col: ct::Column| {
                sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(
                    sea_orm::sea_query::Expr::col(col),
                ))
                .like(pattern.clone())
            };
            let mut any = Condition::any()
                .add(lower(ct::Column::ProfileName))
                .add(lower(ct::Column::DisplayName));
            let digits: String = query.chars().filter(char::is_ascii_digit).collect();
            if !digits.is_empty() && digits.len() * 2 >= query.len() {
                any = any.add(ct::Column::PhoneNumber.like(format!("%{digits}%")));
            }
            select = select.filter(any);
        }
        // Contacts that wrote first (PostgreSQL would put NULLs first in a descending order).
        let rows = select
            .order_by_asc(sea_orm::sea_query::Expr::col(ct::Column::LastInboundMs).is_null())
            .order_by_desc(ct::Column::LastInboundMs)
            .order_by_desc(ct::Column::CreatedMs)
            .order_by_asc(ct::Column::Id)
            .offset(page.offset)
            .limit(page.size)
            .all(&self.db)
            .await?;
        rows.into_iter().map(from_row).collect()
    }

    /// Applies `changes` to a contact.
    pub async fn update_contact(
        &self,
        org: &OrganizationId,
        id: &ContactId,
        changes: ContactChanges,
        now_ms: i64,
    ) -> Result<Contact, ChannelError> {
        self.contact(org, id).await?;
        let mut update = ct::Entity::update_many().col_expr(ct::Column::UpdatedMs, now_ms.into());
        if let Some(v) = changes.display_name {
            update = update.col_expr(ct::Column::DisplayName, v.into());
        }
        if let Some(v) = changes.attributes {
            update = update.col_expr(ct::Column::Attributes, to_json(&v).into());
        }
        update
            .filter(ct::Column::Id.eq(id.as_str()))
            .filter(ct::Column::OrganizationId.eq(org.as_str()))
            .exec(&self.db)
            .await?;
        self.contact(org, id).await
    }

    /// Upserts the contact of an inbound message and moves its last-inbound time and its window
    /// on the number forward (never back), in the ingest transaction. Returns its id.
    pub async fn upsert_inbound_contact<C: ConnectionTrait>(
        conn: &C,
        inbound: &InboundContact<'_>,
        account: &ChannelAccountId,
    ) -> Result<ContactId, ChannelError> {
        let mut update = vec![ct::Column::WaId, ct::Column::UpdatedMs];
        if !inbound.profile_name.is_empty() {
            update.push(ct::Column::ProfileName);
        }
        let row = ct::Entity::insert(ct::ActiveModel {
            id: Set(ContactId::generate().to_string()),
            organization_id: Set(inbound.org.to_string()),
            phone_number: Set(inbound.phone_number.to_string()),
            wa_id: Set(Some(inbound.wa_id.to_string())),
            profile_name: Set(inbound.profile_name.to_string()),
            display_name: Set(String::new()),
            attributes: Set("{}".into()),
            last_inbound_ms: Set(Some(inbound.message_ms)),
            created_ms: Set(inbound.now_ms),
            updated_ms: Set(inbound.now_ms),
        })
        .on_conflict(
            OnConflict::columns([ct::Column::OrganizationId, ct::Column::PhoneNumber])
                .update_columns(update)
                .to_owned(),
        )
        .exec_with_returning(conn)
        .await?;
        let id: ContactId = parse_id("contact id", &row.id)?;
        ct::Entity::update_many()
            .col_expr(ct::Column::LastInboundMs, inbound.message_ms.into())
            .filter(ct::Column::Id.eq(id.as_str()))
            .filter(
                ct::Column::LastInboundMs
                    .is_null()
                    .or(ct::Column::LastInboundMs.lt(inbound.message_ms)),
            )
            .exec(conn)
            .await?;
        win::Entity::insert(win::ActiveModel {
            organization_id: Set(inbound.org.to_string()),
            channel_account_id: Set(account.to_string()),
            contact_id: Set(id.to_string()),
            last_inbound_ms: Set(inbound.message_ms),
        })
        .on_conflict(
            OnConflict::columns([
                win::Column::OrganizationId,
                win::Column::ChannelAccountId,
                win::Column::ContactId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
        win::Entity::update_many()
            .col_expr(win::Column::LastInboundMs, inbound.message_ms.into())
            .filter(win::Column::OrganizationId.eq(inbound.org.as_str()))
            .filter(win::Column::ChannelAccountId.eq(account.as_str()))
            .filter(win::Column::ContactId.eq(id.as_str()))
            .filter(win::Column::LastInboundMs.lt(inbound.message_ms))
            .exec(conn)
            .await?;
        Ok(id)
    }

    /// The 24-hour window of a contact on a number.
    pub async fn window(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
        contact: &ContactId,
    ) -> Result<Window, ChannelError> {
        let row =
            win::Entity::find_by_id((org.to_string(), account.to_string(), contact.to_string()))
                .one(&self.db)
                .await?;
        Ok(Window {
            last_customer_message_ms: row.map(|r| r.last_inbound_ms),
        })
    }
}

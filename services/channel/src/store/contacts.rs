//! Contacts, their tags and their 24-hour windows.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
    sea_query::{ExprTrait, OnConflict, Query},
};
use sha2::{Digest, Sha256};
use switchboard_runtime::tenancy::{of_org, secure_find};
use switchboard_runtime::{
    ids::{ChannelAccountId, ContactId, OrganizationId},
    paging::{Keyset, Page, Paged},
};

use super::{
    Store, corrupt,
    entities::{contact_tags as tg, contacts as ct, windows as win},
    idempotency, parse_id,
};
use crate::{
    domain::{
        model::Contact,
        tags::{MAX_CONTACT_TAGS, tag_key},
        window::Window,
    },
    error::ChannelError,
};

/// A change of a contact's tags.
#[derive(Debug, Clone)]
pub enum TagChange {
    /// Adds these (trimmed, validated) tags; ones it has (ignoring case) stay as they are.
    Add(Vec<String>),
    /// Removes the tags with these keys; absent ones are ignored.
    Remove(Vec<String>),
    /// Makes these exactly its tags.
    Replace(Vec<String>),
}

/// The idempotency key of a tag change: the method and the client's request id.
#[derive(Debug, Clone, Copy)]
pub struct TagRequest<'a> {
    pub method: &'static str,
    pub request_id: &'a str,
}

/// The tags of `ids` (of `org`), each list sorted ignoring case.
async fn tags_of<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    ids: &[&str],
) -> Result<HashMap<String, Vec<String>>, ChannelError> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows = of_org::<tg::Entity>(org)
        .filter(tg::Column::ContactId.is_in(ids.iter().copied()))
        .order_by_asc(tg::Column::ContactId)
        .order_by_asc(tg::Column::TagKey)
        .all(conn)
        .await?;
    for row in rows {
        out.entry(row.contact_id).or_default().push(row.tag);
    }
    Ok(out)
}

/// Contacts of `org` from their rows, with their tags (one query for all).
async fn with_tags<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    rows: Vec<ct::Model>,
) -> Result<Vec<Contact>, ChannelError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut tags = tags_of(conn, org, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let t = tags.remove(&row.id).unwrap_or_default();
            from_row(row, t)
        })
        .collect()
}

async fn one_with_tags<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    row: ct::Model,
) -> Result<Contact, ChannelError> {
    Ok(with_tags(conn, org, vec![row]).await?.remove(0))
}

/// Makes `target` the contact's tags: removes the ones not in it (or spelled otherwise) and
/// inserts the missing ones. The caller validated `target` (at most 50, unique keys).
async fn write_tags<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    contact: &str,
    current: &[tg::Model],
    target: &[String],
    now_ms: i64,
) -> Result<(), ChannelError> {
    let wanted: HashMap<String, &String> = target.iter().map(|t| (tag_key(t), t)).collect();
    let stale: Vec<&str> = current
        .iter()
        .filter(|row| wanted.get(&row.tag_key).is_none_or(|t| **t != row.tag))
        .map(|row| row.tag_key.as_str())
        .collect();
    if !stale.is_empty() {
        tg::Entity::delete_many()
            .filter(tg::Column::OrganizationId.eq(org.as_str()))
            .filter(tg::Column::ContactId.eq(contact))
            .filter(tg::Column::TagKey.is_in(stale.iter().copied()))
            .exec(conn)
            .await?;
    }
    let kept: Vec<&str> = current
        .iter()
        .filter(|row| !stale.contains(&row.tag_key.as_str()))
        .map(|row| row.tag_key.as_str())
        .collect();
    let new: Vec<tg::ActiveModel> = wanted
        .iter()
        .filter(|(key, _)| !kept.contains(&key.as_str()))
        .map(|(key, tag)| tg::ActiveModel {
            organization_id: Set(org.to_string()),
            contact_id: Set(contact.to_string()),
            tag_key: Set(key.clone()),
            tag: Set((*tag).clone()),
            created_ms: Set(now_ms),
        })
        .collect();
    if !new.is_empty() {
        tg::Entity::insert_many(new)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// What a request with this id recorded: its contact and its tag keys, hashed.
fn tag_fingerprint(contact: &ContactId, change: &TagChange) -> String {
    let (kind, tags) = match change {
        TagChange::Add(t) => ("add", t),
        TagChange::Remove(t) => ("remove", t),
        TagChange::Replace(t) => ("replace", t),
    };
    let mut keys: Vec<String> = tags.iter().map(|t| tag_key(t)).collect();
    keys.sort();
    let mut hasher = Sha256::new();
    hasher.update(contact.as_str().as_bytes());
    hasher.update(kind.as_bytes());
    for key in keys {
        hasher.update(b"\n");
        hasher.update(key.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The answer to a request id used before: the same request gets the contact as it is now;
/// another request is refused.
fn check_replay(saved: &str, fingerprint: &str) -> Result<(), ChannelError> {
    if saved == fingerprint {
        Ok(())
    } else {
        Err(ChannelError::field(
            "request_id",
            "was already used for another request; use a new request_id for a new change",
        ))
    }
}

pub(crate) fn from_row(row: ct::Model, tags: Vec<String>) -> Result<Contact, ChannelError> {
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
        tags,
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
    /// The whole new set of tags (validated).
    pub tags: Option<Vec<String>>,
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
    /// The contact of a phone number, created (with its tags) when new; true when this call
    /// created it. An existing contact is returned unchanged.
    pub async fn create_contact(&self, contact: &Contact) -> Result<(Contact, bool), ChannelError> {
        let org = &contact.organization_id;
        let txn = self.db.begin().await?;
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
        .exec_without_returning(&txn)
        .await?;
        if inserted == 1 {
            write_tags(
                &txn,
                org,
                contact.id.as_str(),
                &[],
                &contact.tags,
                contact.created_ms,
            )
            .await?;
        }
        txn.commit().await?;
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
        match of_org::<ct::Entity>(org)
            .filter(ct::Column::PhoneNumber.eq(phone_number))
            .one(&self.db)
            .await?
        {
            Some(row) => Ok(Some(one_with_tags(&self.db, org, row).await?)),
            None => Ok(None),
        }
    }

    /// One contact.
    pub async fn contact(
        &self,
        org: &OrganizationId,
        id: &ContactId,
    ) -> Result<Contact, ChannelError> {
        let row = secure_find::<ct::Entity, _>(org, id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| ChannelError::not_found("contact", id))?;
        one_with_tags(&self.db, org, row).await
    }

    /// The contacts of `org` among `ids` (unknown ids are left out), with their tags.
    pub async fn contacts_by_ids(
        &self,
        org: &OrganizationId,
        ids: &[String],
    ) -> Result<Vec<Contact>, ChannelError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = of_org::<ct::Entity>(org)
            .filter(ct::Column::Id.is_in(ids.iter().map(String::as_str)))
            .all(&self.db)
            .await?;
        with_tags(&self.db, org, rows).await
    }

    /// One contact by WhatsApp id.
    pub async fn contact_by_wa_id(
        &self,
        org: &OrganizationId,
        wa_id: &str,
    ) -> Result<Contact, ChannelError> {
        let row = of_org::<ct::Entity>(org)
            .filter(ct::Column::WaId.eq(wa_id))
            .one(&self.db)
            .await?
            .ok_or_else(|| ChannelError::not_found("contact with wa_id", wa_id))?;
        one_with_tags(&self.db, org, row).await
    }

    /// Contacts matching `query` (names, or digits of the number) that have every tag of
    /// `tag_keys` (lowercase), most recently active first.
    pub async fn contacts(
        &self,
        org: &OrganizationId,
        query: &str,
        tag_keys: &[String],
        page: &Page,
    ) -> Result<Paged<Contact>, ChannelError> {
        let mut select = of_org::<ct::Entity>(org);
        for key in tag_keys {
            select = select.filter(
                ct::Column::Id.in_subquery(
                    Query::select()
                        .column(tg::Column::ContactId)
                        .from(tg::Entity)
                        .and_where(tg::Column::OrganizationId.eq(org.as_str()))
                        .and_where(tg::Column::TagKey.eq(key.as_str()))
                        .to_owned(),
                ),
            );
        }
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
        // Contacts that wrote first: NULLs last on both backends.
        let rows = Keyset::new(self.db.get_database_backend())
            .desc_nullable(ct::Column::LastInboundMs)
            .desc(ct::Column::CreatedMs)
            .asc_text(ct::Column::Id)
            .apply(select, page)
            .all(&self.db)
            .await?;
        let paged = page.finish(rows, |r| {
            vec![
                r.last_inbound_ms.into(),
                r.created_ms.into(),
                r.id.as_str().into(),
            ]
        });
        Ok(Paged {
            items: with_tags(&self.db, org, paged.items).await?,
            next_page_token: paged.next_page_token,
        })
    }

    /// Applies `changes` to a contact.
    pub async fn update_contact(
        &self,
        org: &OrganizationId,
        id: &ContactId,
        changes: ContactChanges,
        now_ms: i64,
    ) -> Result<Contact, ChannelError> {
        let txn = self.db.begin().await?;
        let mut update = ct::Entity::update_many().col_expr(ct::Column::UpdatedMs, now_ms.into());
        if let Some(v) = changes.display_name {
            update = update.col_expr(ct::Column::DisplayName, v.into());
        }
        if let Some(v) = changes.attributes {
            update = update.col_expr(ct::Column::Attributes, to_json(&v).into());
        }
        let updated = update
            .filter(ct::Column::Id.eq(id.as_str()))
            .filter(ct::Column::OrganizationId.eq(org.as_str()))
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(ChannelError::not_found("contact", id));
        }
        if let Some(tags) = changes.tags {
            let current = current_tags(&txn, org, id).await?;
            write_tags(&txn, org, id.as_str(), &current, &tags, now_ms).await?;
        }
        txn.commit().await?;
        self.contact(org, id).await
    }

    /// Adds or removes tags of a contact, once per request id: a retried request changes
    /// nothing more, another request under the same id is refused. All or nothing: a change
    /// that would leave more than 50 tags is refused and changes nothing.
    pub async fn change_tags(
        &self,
        org: &OrganizationId,
        id: &ContactId,
        change: TagChange,
        request: TagRequest<'_>,
        now_ms: i64,
    ) -> Result<Contact, ChannelError> {
        let fingerprint = tag_fingerprint(id, &change);
        if let Some(saved) =
            idempotency::recall(&self.db, org, request.method, request.request_id).await?
        {
            check_replay(&saved, &fingerprint)?;
            return self.contact(org, id).await;
        }
        let txn = self.db.begin().await?;
        // Touching the contact first locks its row: concurrent tag changes of one contact
        // queue up, so the count of 50 holds.
        let touched = ct::Entity::update_many()
            .col_expr(ct::Column::UpdatedMs, now_ms.into())
            .filter(ct::Column::Id.eq(id.as_str()))
            .filter(ct::Column::OrganizationId.eq(org.as_str()))
            .exec(&txn)
            .await?;
        if touched.rows_affected == 0 {
            return Err(ChannelError::not_found("contact", id));
        }
        let current = current_tags(&txn, org, id).await?;
        let target: Vec<String> = match &change {
            TagChange::Add(add) => {
                let mut target: Vec<String> = current.iter().map(|r| r.tag.clone()).collect();
                for tag in add {
                    let key = tag_key(tag);
                    if !current.iter().any(|r| r.tag_key == key) {
                        target.push(tag.clone());
                    }
                }
                target
            }
            TagChange::Remove(keys) => current
                .iter()
                .filter(|r| !keys.contains(&r.tag_key))
                .map(|r| r.tag.clone())
                .collect(),
            TagChange::Replace(tags) => tags.clone(),
        };
        if target.len() > MAX_CONTACT_TAGS {
            return Err(ChannelError::field(
                "tags",
                &format!(
                    "would give the contact {} tags; a contact has at most {MAX_CONTACT_TAGS}",
                    target.len()
                ),
            ));
        }
        write_tags(&txn, org, id.as_str(), &current, &target, now_ms).await?;
        if !idempotency::remember(
            &txn,
            org,
            request.method,
            request.request_id,
            &fingerprint,
            now_ms,
        )
        .await?
        {
            // A concurrent call with the same id won: answer as it did.
            txn.rollback().await?;
            let saved = idempotency::recall(&self.db, org, request.method, request.request_id)
                .await?
                .unwrap_or_default();
            check_replay(&saved, &fingerprint)?;
            return self.contact(org, id).await;
        }
        txn.commit().await?;
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

/// The tag rows of a contact, in the caller's transaction.
async fn current_tags<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    id: &ContactId,
) -> Result<Vec<tg::Model>, ChannelError> {
    Ok(of_org::<tg::Entity>(org)
        .filter(tg::Column::ContactId.eq(id.as_str()))
        .all(conn)
        .await?)
}

//! Contact RPCs: create from a phone number, read by id or wa_id, search (by text and tags),
//! change, tag and untag.

use std::collections::{BTreeMap, HashMap};

use switchboard_proto::channel::v1::{self as pb, get_contact_request::Lookup};
use switchboard_runtime::ids::ContactId;
use switchboard_runtime::page_filter;

use super::convert::{Check, attributes_from_pb, contact_to_pb, valid};
use crate::{
    app::Channel,
    domain::{
        model::{MAX_CONTACT_ATTRIBUTES, normalize_phone},
        tags::{parse_tags, tag_key},
    },
    error::ChannelError,
    store::contacts::{ContactChanges, TagChange, TagRequest},
};

/// Fields UpdateContact may change.
const UPDATABLE: &[&str] = &["display_name", "attributes", "tags"];
/// Longest display name of a contact.
const MAX_DISPLAY_NAME_CHARS: usize = 200;
/// Longest attribute key.
const MAX_ATTRIBUTE_KEY_CHARS: usize = 64;
/// Longest attribute value.
const MAX_ATTRIBUTE_VALUE_CHARS: usize = 1024;
/// Longest WhatsApp id (a phone number's digits).
const MAX_WA_ID_CHARS: usize = 32;

/// Checks a contact's attributes: at most 64, keys of 1 to 64 characters, bounded values.
fn attributes(
    check: &mut Check,
    field: &str,
    values: &HashMap<String, String>,
) -> BTreeMap<String, String> {
    if values.len() > MAX_CONTACT_ATTRIBUTES {
        check.bad(
            field,
            format!(
                "has {} entries; at most {MAX_CONTACT_ATTRIBUTES}",
                values.len()
            ),
        );
    }
    let attributes = attributes_from_pb(values);
    for (key, value) in &attributes {
        let chars = key.chars().count();
        if key.trim().is_empty() || chars > MAX_ATTRIBUTE_KEY_CHARS {
            check.bad(
                field,
                format!("key {key:?} must be 1 to {MAX_ATTRIBUTE_KEY_CHARS} characters"),
            );
        }
        if value.chars().count() > MAX_ATTRIBUTE_VALUE_CHARS {
            check.bad(
                field,
                format!("value of {key:?} must be at most {MAX_ATTRIBUTE_VALUE_CHARS} characters"),
            );
        }
    }
    attributes
}

/// Checks a request's tags (see `domain::tags`), naming `field[i]` for a bad one and `field`
/// for the list; returns them trimmed.
fn tags(check: &mut Check, field: &str, values: &[String]) -> Vec<String> {
    match parse_tags(values) {
        Ok(tags) => tags,
        Err(problems) => {
            for p in problems {
                match p.index {
                    Some(i) => check.bad(&format!("{field}[{i}]"), p.description),
                    None => check.bad(field, p.description),
                }
            }
            Vec::new()
        }
    }
}

/// Creates (or returns) the contact of a phone number.
pub async fn create_contact(
    app: &Channel,
    req: pb::CreateContactRequest,
) -> Result<pb::CreateContactResponse, ChannelError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let org = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id).map(String::from);
    let phone = if req.phone_number.trim().is_empty() {
        check.bad("phone_number", "is required");
        None
    } else {
        let phone = normalize_phone(&req.phone_number);
        if phone.is_none() {
            check.bad(
                "phone_number",
                "is not an E.164 number (+ and 8 to 15 digits, e.g. +5491155550001)",
            );
        }
        phone
    };
    check.at_most("display_name", &req.display_name, MAX_DISPLAY_NAME_CHARS);
    let attributes = attributes(&mut check, "attributes", &req.attributes);
    let tags = tags(&mut check, "tags", &req.tags);
    check.done()?;
    let (contact, created) = app
        .create_contact(
            &valid(org)?,
            actor.as_deref(),
            valid(phone)?,
            req.display_name.trim().to_string(),
            attributes,
            tags,
        )
        .await?;
    Ok(pb::CreateContactResponse {
        contact: Some(contact_to_pb(&contact)),
        created,
    })
}

/// Returns one contact by id or by wa_id.
pub async fn get_contact(
    app: &Channel,
    req: pb::GetContactRequest,
) -> Result<pb::GetContactResponse, ChannelError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    enum By {
        Id(ContactId),
        WaId(String),
    }
    let by = match &req.lookup {
        Some(Lookup::ContactId(id)) => check.id::<ContactId>("contact_id", id).map(By::Id),
        Some(Lookup::WaId(wa_id)) => {
            if wa_id.is_empty()
                || wa_id.len() > MAX_WA_ID_CHARS
                || !wa_id.bytes().all(|b| b.is_ascii_digit())
            {
                check.bad(
                    "wa_id",
                    "must be a WhatsApp id (the number's digits, without +)",
                );
                None
            } else {
                Some(By::WaId(wa_id.clone()))
            }
        }
        None => {
            check.bad("lookup", "must give contact_id or wa_id");
            None
        }
    };
    check.done()?;
    let org = valid(org)?;
    let contact = match valid(by)? {
        By::Id(id) => app.contact(&org, &id).await?,
        By::WaId(wa_id) => app.contact_by_wa_id(&org, &wa_id).await?,
    };
    Ok(pb::GetContactResponse {
        contact: Some(contact_to_pb(&contact)),
    })
}

/// Lists or searches contacts, most recently active first (no total).
pub async fn list_contacts(
    app: &Channel,
    req: pb::ListContactsRequest,
) -> Result<pb::ListContactsResponse, ChannelError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    check.at_most("query", &req.query, MAX_DISPLAY_NAME_CHARS);
    let keys: Vec<String> = tags(&mut check, "tags", &req.tags)
        .iter()
        .map(|t| tag_key(t))
        .collect();
    check.done()?;
    let contacts = app.contacts(&valid(org)?, &req.query, &keys, &page).await?;
    Ok(pb::ListContactsResponse {
        contacts: contacts.items.iter().map(contact_to_pb).collect(),
        page: Some(contacts.response(None)),
    })
}

/// Changes the fields named in `update_mask`.
pub async fn update_contact(
    app: &Channel,
    req: pb::UpdateContactRequest,
) -> Result<pb::UpdateContactResponse, ChannelError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let org = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id).map(String::from);
    let paths = check.mask(req.update_mask.as_ref(), UPDATABLE);
    let mut changes = ContactChanges::default();
    let id = match &req.contact {
        None => {
            check.bad("contact", "is required");
            None
        }
        Some(c) => {
            let id = check.id::<ContactId>("contact.id", &c.id);
            for path in &paths {
                match path.as_str() {
                    "display_name" => {
                        check.at_most(
                            "contact.display_name",
                            &c.display_name,
                            MAX_DISPLAY_NAME_CHARS,
                        );
                        changes.display_name = Some(c.display_name.trim().to_string());
                    }
                    "attributes" => {
                        changes.attributes =
                            Some(attributes(&mut check, "contact.attributes", &c.attributes));
                    }
                    "tags" => {
                        changes.tags = Some(tags(&mut check, "contact.tags", &c.tags));
                    }
                    // Unknown paths were reported by `mask`.
                    _ => {}
                }
            }
            id
        }
    };
    check.done()?;
    let contact = app
        .update_contact(&valid(org)?, actor.as_deref(), &valid(id)?, changes)
        .await?;
    Ok(pb::UpdateContactResponse {
        contact: Some(contact_to_pb(&contact)),
    })
}

/// Adds tags to a contact (the ones it has stay).
pub async fn add_contact_tags(
    app: &Channel,
    req: pb::AddContactTagsRequest,
) -> Result<pb::AddContactTagsResponse, ChannelError> {
    let contact = change_tags(
        app,
        TagParts {
            method: "AddContactTags",
            request_id: &req.request_id,
            organization_id: &req.organization_id,
            actor_agent_id: &req.actor_agent_id,
            contact_id: &req.contact_id,
            tags: &req.tags,
        },
        TagChange::Add,
    )
    .await?;
    Ok(pb::AddContactTagsResponse {
        contact: Some(contact_to_pb(&contact)),
    })
}

/// Removes tags from a contact (matched ignoring case).
pub async fn remove_contact_tags(
    app: &Channel,
    req: pb::RemoveContactTagsRequest,
) -> Result<pb::RemoveContactTagsResponse, ChannelError> {
    let contact = change_tags(
        app,
        TagParts {
            method: "RemoveContactTags",
            request_id: &req.request_id,
            organization_id: &req.organization_id,
            actor_agent_id: &req.actor_agent_id,
            contact_id: &req.contact_id,
            tags: &req.tags,
        },
        |tags| TagChange::Remove(tags.iter().map(|t| tag_key(t)).collect()),
    )
    .await?;
    Ok(pb::RemoveContactTagsResponse {
        contact: Some(contact_to_pb(&contact)),
    })
}

/// The fields AddContactTags and RemoveContactTags share.
struct TagParts<'a> {
    method: &'static str,
    request_id: &'a str,
    organization_id: &'a str,
    actor_agent_id: &'a str,
    contact_id: &'a str,
    tags: &'a [String],
}

async fn change_tags(
    app: &Channel,
    req: TagParts<'_>,
    change: impl FnOnce(Vec<String>) -> TagChange,
) -> Result<crate::domain::model::Contact, ChannelError> {
    let mut check = Check::default();
    check.request_id(req.request_id);
    let org = check.org(req.organization_id);
    let actor = check.actor(req.actor_agent_id).map(String::from);
    let id = check.id::<ContactId>("contact_id", req.contact_id);
    if req.tags.is_empty() {
        check.bad("tags", "must name at least one tag");
    }
    let tags = tags(&mut check, "tags", req.tags);
    check.done()?;
    app.change_contact_tags(
        &valid(org)?,
        actor.as_deref(),
        &valid(id)?,
        change(tags),
        TagRequest {
            method: req.method,
            request_id: req.request_id,
        },
    )
    .await
}

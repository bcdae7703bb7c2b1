//! Ticket RPCs: validate (every bad field at once), resolve the caller, call the app.

use switchboard_proto::ticketing::v1 as pb;
use switchboard_runtime::{
    ids::{AgentId, ContactId, TicketId},
    page_filter,
    validate::Check,
};

use super::convert;
use crate::{
    app::Ticketing,
    domain::{
        self, MAX_SUBJECT_CHARS, MAX_TAG_CHARS, MAX_TAGS, MAX_TEXT_CHARS, NewTicket, Requester,
        TicketPatch,
    },
    error::TicketingError,
    store::TicketFilter,
};

/// Name of the internal caller when no agent acts.
pub const INTERNAL: &str = "internal";

fn requester(c: &mut Check, field: &str, r: Option<&pb::Requester>) -> Requester {
    let r = r.cloned().unwrap_or_default();
    let contact_id: Option<ContactId> = c.opt_id(&format!("{field}.contact_id"), &r.contact_id);
    let name = c.opt_text(&format!("{field}.name"), &r.name, 200);
    let email = c.opt_text(&format!("{field}.email"), &r.email, 320);
    if !email.is_empty() && !email.contains('@') {
        c.bad(&format!("{field}.email"), "must be an email address");
    }
    let phone_number = c.opt_text(&format!("{field}.phone_number"), &r.phone_number, 20);
    let e164 = phone_number.starts_with('+')
        && phone_number.len() > 4
        && phone_number[1..].bytes().all(|b| b.is_ascii_digit());
    if !phone_number.is_empty() && !e164 {
        c.bad(
            &format!("{field}.phone_number"),
            "must be in E.164 (+ and digits)",
        );
    }
    if name.is_empty() && r.contact_id.is_empty() {
        c.bad(field, "needs a name or a contact_id");
    }
    Requester {
        contact_id,
        name,
        email,
        phone_number,
    }
}

fn tags(c: &mut Check, field: &str, tags: &[String]) -> Vec<String> {
    c.at_most_items(field, tags, MAX_TAGS);
    for (i, t) in tags.iter().enumerate() {
        c.at_most(&format!("{field}[{i}]"), t.trim(), MAX_TAG_CHARS);
    }
    domain::normalize_tags(tags)
}

/// Validates a new ticket under `field`; a missing requester defaults to `contact` (a
/// conversation's contact) when given.
pub(crate) fn new_ticket(
    c: &mut Check,
    field: &str,
    t: Option<&pb::NewTicket>,
    contact: Option<&str>,
) -> NewTicket {
    let t = t.cloned().unwrap_or_default();
    let subject = c.text(&format!("{field}.subject"), &t.subject, MAX_SUBJECT_CHARS);
    let description = c.opt_text(
        &format!("{field}.description"),
        &t.description,
        MAX_TEXT_CHARS,
    );
    let mut req = t.requester.clone();
    if let Some(contact) = contact.filter(|c| !c.is_empty()) {
        let r = req.get_or_insert_with(Default::default);
        if r.contact_id.is_empty() && r.name.is_empty() {
            r.contact_id = contact.to_string();
        }
    }
    let requester = requester(c, &format!("{field}.requester"), req.as_ref());
    let priority = convert::priority_from_proto(t.priority).unwrap_or_else(|| {
        c.bad(&format!("{field}.priority"), "unknown priority");
        domain::Priority::Normal
    });
    let assignee: Option<AgentId> =
        c.opt_id(&format!("{field}.assignee_agent_id"), &t.assignee_agent_id);
    let tags = tags(c, &format!("{field}.tags"), &t.tags);
    NewTicket {
        subject,
        description,
        requester,
        priority,
        assignee,
        tags,
    }
}

pub async fn create_ticket(
    app: &Ticketing,
    r: pb::CreateTicketRequest,
) -> Result<pb::CreateTicketResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor = c.actor(&r.actor_agent_id);
    let new = new_ticket(&mut c, "ticket", r.ticket.as_ref(), None);
    c.done()?;
    let org = org.expect("validated");
    let caller = app.caller(&org, actor.as_ref(), INTERNAL).await?;
    let ticket = app.create_ticket(&org, &caller, new).await?;
    Ok(pb::CreateTicketResponse {
        ticket: Some(convert::ticket(&ticket)),
    })
}

pub async fn get_ticket(
    app: &Ticketing,
    r: pb::GetTicketRequest,
) -> Result<pb::GetTicketResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let lookup = match &r.lookup {
        Some(pb::get_ticket_request::Lookup::TicketId(id)) => c
            .id::<TicketId>("ticket_id", id)
            .map(|id| pb::get_ticket_request::Lookup::TicketId(id.to_string())),
        Some(pb::get_ticket_request::Lookup::Number(n)) if *n > 0 => {
            Some(pb::get_ticket_request::Lookup::Number(*n))
        }
        Some(pb::get_ticket_request::Lookup::Number(_)) => {
            c.bad("number", "must be positive");
            None
        }
        None => {
            c.bad("ticket_id", "a ticket_id or a number is required");
            None
        }
    };
    c.done()?;
    let org = org.expect("validated");
    let ticket = match lookup.expect("validated") {
        pb::get_ticket_request::Lookup::TicketId(id) => {
            app.get_ticket(&org, &id.parse().expect("validated"))
                .await?
        }
        pb::get_ticket_request::Lookup::Number(n) => app.get_ticket_by_number(&org, n).await?,
    };
    Ok(pb::GetTicketResponse {
        ticket: Some(convert::ticket(&ticket)),
    })
}

pub async fn list_tickets(
    app: &Ticketing,
    r: pb::ListTicketsRequest,
) -> Result<pb::ListTicketsResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let page = c.page(r.page.as_ref(), page_filter!(r));
    c.at_most("query", &r.query, 500);
    let mut statuses = Vec::new();
    for (i, s) in r.statuses.iter().enumerate() {
        match convert::status_from_proto(*s) {
            Some(s) => statuses.push(s),
            None => c.bad(&format!("statuses[{i}]"), "unknown status"),
        }
    }
    let contact: Option<ContactId> = c.opt_id("requester_contact_id", &r.requester_contact_id);
    let assignee: Option<AgentId> = c.opt_id("assignee_agent_id", &r.assignee_agent_id);
    c.done()?;
    let range = r.create_time_range.as_ref();
    let filter = TicketFilter {
        statuses,
        requester_contact_id: contact.map(|c| c.to_string()),
        assignee_agent_id: assignee.map(|a| a.to_string()),
        created_from_ms: range
            .and_then(|r| r.start_time.as_ref())
            .map(convert::ts_ms),
        created_until_ms: range.and_then(|r| r.end_time.as_ref()).map(convert::ts_ms),
    };
    let (paged, total) = app
        .list_tickets(&org.expect("validated"), &r.query, &filter, &page)
        .await?;
    Ok(pb::ListTicketsResponse {
        page: Some(paged.response(Some(total))),
        tickets: paged.items.iter().map(convert::ticket).collect(),
    })
}

const UPDATABLE: &[&str] = &[
    "subject",
    "description",
    "requester",
    "status",
    "priority",
    "assignee_agent_id",
    "tags",
];

pub async fn update_ticket(
    app: &Ticketing,
    r: pb::UpdateTicketRequest,
) -> Result<pb::UpdateTicketResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor = c.actor(&r.actor_agent_id);
    let paths = c.mask(r.update_mask.as_ref(), UPDATABLE);
    let t = r.ticket.clone().unwrap_or_default();
    let id: Option<TicketId> = c.id("ticket.id", &t.id);
    let mut patch = TicketPatch::default();
    for p in &paths {
        match p.as_str() {
            "subject" => {
                patch.subject = Some(c.text("ticket.subject", &t.subject, MAX_SUBJECT_CHARS))
            }
            "description" => {
                patch.description =
                    Some(c.opt_text("ticket.description", &t.description, MAX_TEXT_CHARS))
            }
            "requester" => {
                patch.requester = Some(requester(&mut c, "ticket.requester", t.requester.as_ref()))
            }
            "status" => match convert::status_from_proto(t.status) {
                Some(s) => patch.status = Some(s),
                None => c.bad("ticket.status", "must be a status"),
            },
            "priority" => match convert::priority_from_proto(t.priority) {
                Some(p) => patch.priority = Some(p),
                None => c.bad("ticket.priority", "unknown priority"),
            },
            "assignee_agent_id" => {
                patch.assignee = Some(c.opt_id("ticket.assignee_agent_id", &t.assignee_agent_id))
            }
            "tags" => patch.tags = Some(tags(&mut c, "ticket.tags", &t.tags)),
            _ => {}
        }
    }
    c.done()?;
    let org = org.expect("validated");
    let caller = app.caller(&org, actor.as_ref(), INTERNAL).await?;
    let ticket = app
        .update_ticket(
            &org,
            &caller,
            &id.expect("validated"),
            &patch,
            r.expected_update_time.as_ref().map(convert::ts_ms),
        )
        .await?;
    Ok(pb::UpdateTicketResponse {
        ticket: Some(convert::ticket(&ticket)),
    })
}

pub async fn add_ticket_comment(
    app: &Ticketing,
    r: pb::AddTicketCommentRequest,
) -> Result<pb::AddTicketCommentResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor = c.actor(&r.actor_agent_id);
    let id: Option<TicketId> = c.id("ticket_id", &r.ticket_id);
    c.required("body", &r.body, MAX_TEXT_CHARS);
    c.done()?;
    let org = org.expect("validated");
    let caller = app.caller(&org, actor.as_ref(), INTERNAL).await?;
    let action = app
        .add_comment(&org, &caller, &id.expect("validated"), r.body, r.internal)
        .await?;
    Ok(pb::AddTicketCommentResponse {
        action: Some(convert::action(&action)),
    })
}

pub async fn list_ticket_actions(
    app: &Ticketing,
    r: pb::ListTicketActionsRequest,
) -> Result<pb::ListTicketActionsResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let page = c.page(r.page.as_ref(), page_filter!(r));
    let id: Option<TicketId> = c.id("ticket_id", &r.ticket_id);
    let mut kinds = Vec::new();
    for (i, k) in r.kinds.iter().enumerate() {
        match convert::action_kind_from_proto(*k) {
            Some(k) => kinds.push(k),
            None => c.bad(&format!("kinds[{i}]"), "unknown action kind"),
        }
    }
    c.done()?;
    let paged = app
        .list_actions(
            &org.expect("validated"),
            &id.expect("validated"),
            &kinds,
            &page,
        )
        .await?;
    Ok(pb::ListTicketActionsResponse {
        page: Some(paged.response(None)),
        actions: paged.items.iter().map(convert::action).collect(),
    })
}

//! Outbound messages: text, media, reactions and templates, in a conversation or to a contact.
//! Each send is stored PENDING under the client's request id before it goes out, so a retried
//! call returns the same message instead of sending twice. Free-form messages go out only
//! inside the 24-hour window (invariant 4); templates always.

use std::collections::HashMap;

use switchboard_runtime::ids::{
    ChannelAccountId, ContactId, ConversationId, MessageId, OrganizationId,
};

use super::{
    Authority, Channel,
    routing::{ConversationView, StartRequest, require_active},
};
use crate::{
    domain::{
        content::{Content, ProviderError, TemplateMessage},
        model::{Direction, Message, Sender},
        status::Status,
        window::OutsideWindow,
    },
    error::{ChannelError, Reason},
    graph::GraphError,
};

/// Where a message goes.
#[derive(Debug, Clone)]
pub enum SendTarget {
    /// A conversation (free-form needs it active; a template to an ended one starts a new one).
    Conversation(ConversationId),
    /// A contact on a number (templates only).
    Contact {
        account: ChannelAccountId,
        contact: ContactId,
    },
}

/// One send.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub request_id: String,
    pub org: OrganizationId,
    pub actor: Option<String>,
    pub target: SendTarget,
    pub content: Content,
    pub reply_to: Option<MessageId>,
}

/// What a send did.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message: Message,
    pub conversation_id: Option<ConversationId>,
    pub conversation_started: bool,
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// FAILED_PRECONDITION OUTSIDE_WINDOW with metadata a frontend branches on: `window` is
/// `closed` (with `close_time`) or `never_opened` (the customer never wrote on this number,
/// so there is no close time).
pub(crate) fn outside_window(err: OutsideWindow) -> ChannelError {
    let (message, metadata) = match err.close_ms {
        Some(close) => (
            format!(
                "the 24-hour customer service window closed at {}: only templates can be sent until the customer writes again",
                rfc3339(close)
            ),
            HashMap::from([
                ("window".to_string(), "closed".to_string()),
                ("close_time".to_string(), rfc3339(close)),
            ]),
        ),
        None => (
            "the customer has not written on this number: only templates can be sent".to_string(),
            HashMap::from([("window".to_string(), "never_opened".to_string())]),
        ),
    };
    ChannelError::FailedPrecondition {
        reason: Some(Reason::OutsideWindow),
        message,
        metadata,
    }
}

/// Counts the distinct `{{n}}` placeholders of a template text.
pub(crate) fn placeholders(text: &str) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                if let Ok(n) = after[..end].trim().parse::<u32>() {
                    seen.insert(n);
                }
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    seen.len()
}

/// The body with its `{{n}}` filled from `values` (1-based).
pub(crate) fn render(text: &str, values: &[String]) -> String {
    let mut out = text.to_string();
    for (i, v) in values.iter().enumerate() {
        out = out.replace(&format!("{{{{{}}}}}", i + 1), v);
    }
    out
}

impl Channel {
    /// Sends `out`; see the module doc for the rules.
    pub async fn send(&self, out: Outbound) -> Result<Sent, ChannelError> {
        let org = out.org.clone();
        if let Some(existing) = self.store.message_by_request(&org, &out.request_id).await? {
            return Ok(Sent {
                conversation_id: existing.conversation_id.clone(),
                message: existing,
                conversation_started: false,
            });
        }
        let actor = out.actor.as_deref();
        let authority = self.authority(&org, actor).await?;
        let message_id = MessageId::generate();
        let now = self.clock.now_ms();
        let free_form = out.content.is_free_form();

        // Where it goes: the conversation (checked) or the contact on a number.
        let (account_id, contact_id, mut conversation) = match &out.target {
            SendTarget::Conversation(id) => {
                let conv = self.routing.conversation(&org, id, actor).await?;
                let holds = actor.is_some() && conv.assignee.as_deref() == actor;
                if !(authority.supervises() || holds) {
                    return Err(ChannelError::PermissionDenied(format!(
                        "only the agent holding conversation {id}, or an operator or admin, may write in it"
                    )));
                }
                (
                    conv.channel_account_id.clone(),
                    conv.contact_id.clone(),
                    Some(conv),
                )
            }
            SendTarget::Contact { account, contact } => {
                if free_form {
                    return Err(ChannelError::field(
                        "recipient",
                        "free-form messages go to a conversation",
                    ));
                }
                (account.clone(), contact.clone(), None)
            }
        };
        let account = self.store.account(&org, &account_id).await?;
        if account.disabled {
            return Err(ChannelError::precondition(
                Reason::ChannelDisabled,
                format!("channel account {} is disabled", account.id),
            ));
        }
        let contact = self.store.contact(&org, &contact_id).await?;
        let window = self.store.window(&org, &account.id, &contact.id).await?;
        // The window first: its error tells the agent what to do (send a template).
        window.admits(&out.content, now).map_err(outside_window)?;
        if free_form && let Some(conv) = &conversation {
            require_active(conv)?;
        }
        let mut content = out.content.clone();
        if let Content::Template(template) = &mut content {
            self.check_template(&org, &account.id, template).await?;
        }
        let reply_to = match &out.reply_to {
            Some(id) => {
                let target = self.store.message(&org, id).await?;
                if target.contact_id != contact.id {
                    return Err(ChannelError::field(
                        "reply_to_message_id",
                        "is a message of another contact",
                    ));
                }
                Some(target)
            }
            None => None,
        };
        let token = self.secrets.token(&account.access_token_secret_ref)?;

        // A template to a contact, or to an ended conversation, by an agent starts a
        // conversation held by that agent (or returns the active one).
        let mut started = false;
        let needs_start = match &conversation {
            None => true,
            Some(conv) => !conv.active,
        };
        if !free_form && needs_start && authority != Authority::System {
            let (conv, created) = self
                .routing
                .start_conversation(StartRequest {
                    org: &org,
                    account: &account.id,
                    contact: &contact.id,
                    campaign: None,
                    first_message: &message_id,
                    first_message_ms: now,
                    assign_to: actor,
                })
                .await?;
            started = created;
            conversation = Some(conv);
        } else if !free_form && needs_start {
            conversation = None;
        }
        let conversation_id = conversation
            .as_ref()
            .map(|c: &ConversationView| c.id.clone());

        let message = Message {
            id: message_id,
            organization_id: org.clone(),
            channel_account_id: account.id.clone(),
            contact_id: contact.id.clone(),
            conversation_id: conversation_id.clone(),
            direction: Direction::Outbound,
            wamid: None,
            sender: match actor {
                Some(a) => Sender::Agent(a.to_string()),
                None => Sender::System,
            },
            content,
            status: Status::Pending,
            errors: vec![],
            reply_to_wamid: reply_to.as_ref().and_then(|m| m.wamid.clone()),
            reply_to_message_id: reply_to.as_ref().map(|m| m.id.clone()),
            campaign_id: None,
            provider_ms: None,
            created_ms: now,
            status_ms: now,
            deliver_ms: None,
            read_ms: None,
        };
        let (stored, created) = self
            .store
            .insert_outbound(&message, &out.request_id, None)
            .await?;
        if !created {
            return Ok(Sent {
                conversation_id: stored.conversation_id.clone(),
                message: stored,
                conversation_started: false,
            });
        }
        let to = contact
            .wa_id
            .clone()
            .unwrap_or_else(|| contact.phone_number.trim_start_matches('+').to_string());
        let message = self
            .deliver(&token, &account.phone_number_id, &to, stored)
            .await?;
        Ok(Sent {
            message,
            conversation_id,
            conversation_started: started,
        })
    }

    /// Reacts with `emoji` (empty: removes the reaction) to a message, in its conversation and
    /// naming it by its wamid; the rules of [`Self::send`] apply.
    pub async fn react(
        &self,
        request_id: String,
        org: OrganizationId,
        actor: Option<String>,
        message_id: MessageId,
        emoji: String,
    ) -> Result<Sent, ChannelError> {
        let target = self.store.message(&org, &message_id).await?;
        let not_yet = |why: String| ChannelError::FailedPrecondition {
            reason: None,
            message: why,
            metadata: Default::default(),
        };
        let conversation = target
            .conversation_id
            .clone()
            .ok_or_else(|| not_yet(format!("message {message_id} is not in a conversation")))?;
        let wamid = target.wamid.clone().ok_or_else(|| {
            not_yet(format!(
                "message {message_id} has not reached WhatsApp: it has no wamid yet"
            ))
        })?;
        self.send(Outbound {
            request_id,
            org,
            actor,
            target: SendTarget::Conversation(conversation),
            content: Content::Reaction(crate::domain::content::Reaction {
                wamid,
                message_id: message_id.to_string(),
                emoji,
            }),
            reply_to: None,
        })
        .await
    }

    /// Sends a stored PENDING message through the Graph API and records the outcome: SENT
    /// with its wamid, or FAILED with WhatsApp's error.
    pub(crate) async fn deliver(
        &self,
        token: &str,
        phone_number_id: &str,
        to: &str,
        message: Message,
    ) -> Result<Message, ChannelError> {
        let started = std::time::Instant::now();
        let result = self
            .graph
            .send(
                token,
                phone_number_id,
                to,
                &message.content,
                message.reply_to_wamid.as_deref(),
            )
            .await;
        self.record_send(&message.content, result.is_ok(), started);
        let now = self.clock.now_ms();
        match result {
            Ok(wamid) => {
                self.store
                    .mark_sent(&message.organization_id, &message.id, &wamid, now)
                    .await
            }
            Err(err) => {
                tracing::warn!(message = %message.id, error = %err, "send failed");
                self.store
                    .mark_failed(
                        &message.organization_id,
                        &message.id,
                        &[provider_error(&err)],
                        now,
                    )
                    .await
            }
        }
    }

    /// Checks a template against the synced ones: known, approved, with as many body
    /// parameters as placeholders; fills `rendered_body`.
    pub(crate) async fn check_template(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
        template: &mut TemplateMessage,
    ) -> Result<(), ChannelError> {
        let stored = self
            .store
            .template(org, account, &template.name, &template.language_code)
            .await?
            .ok_or_else(|| {
                ChannelError::not_found(
                    "template",
                    format!("{} ({})", template.name, template.language_code),
                )
            })?;
        if stored.status != "APPROVED" {
            return Err(ChannelError::precondition(
                Reason::TemplateNotApproved,
                format!(
                    "template {} ({}) is {}, not APPROVED",
                    template.name, template.language_code, stored.status
                ),
            ));
        }
        let body: Vec<String> = template
            .components
            .iter()
            .filter(|c| c.kind == crate::domain::content::ComponentKind::Body)
            .flat_map(|c| c.parameters.iter())
            .filter_map(|p| match p {
                crate::domain::content::TemplateParameter::Text(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        let expected = placeholders(&stored.body_text);
        if body.len() != expected {
            return Err(ChannelError::field(
                "template.components",
                &format!(
                    "template {} takes {expected} body parameters, {} given",
                    template.name,
                    body.len()
                ),
            ));
        }
        template.rendered_body = render(&stored.body_text, &body);
        Ok(())
    }
}

impl Channel {
    /// Counts a send and its latency.
    pub(crate) fn record_send(&self, content: &Content, ok: bool, started: std::time::Instant) {
        let outcome = if ok { "sent" } else { "failed" };
        self.metrics
            .sends
            .with_label_values(&[content.kind_name(), outcome])
            .inc();
        self.metrics
            .send_seconds
            .with_label_values(&[outcome])
            .observe(started.elapsed().as_secs_f64());
    }
}

/// The error stored on a failed message.
pub(crate) fn provider_error(err: &GraphError) -> ProviderError {
    match err {
        GraphError::Rejected { error, .. } => error.clone(),
        GraphError::Unavailable {
            error: Some(error), ..
        } => error.clone(),
        other => ProviderError {
            code: 0,
            title: "Send failed".into(),
            message: other.to_string(),
            details: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_counted_once_and_rendered() {
        assert_eq!(placeholders("Hola {{1}}, tu pedido {{2}} llegó. {{1}}"), 2);
        assert_eq!(placeholders("Sin parámetros"), 0);
        assert_eq!(
            render("Hola {{1}}, pedido {{2}}", &["Ana".into(), "A-7".into()]),
            "Hola Ana, pedido A-7"
        );
    }
}

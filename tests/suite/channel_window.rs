//! The 24-hour window at its edges: a customer message that Meta delivers after its own 24 hours
//! is history, not a conversation (no agent's slot, no window reopened), routing refuses to start
//! a conversation born expired, and an OUTSIDE_WINDOW refusal tells a window that closed from
//! one that never opened.

use std::time::Duration;

use switchboard_proto::{
    channel::v1::{self as ch, send_template_message_request, template_parameter},
    routing::v1 as pb,
};
use switchboard_runtime::{ids::ContactId, metrics::sum_samples};
use switchboard_testkit::Backend;
use tonic_types::StatusExt;

use crate::{
    channel_support::{ChannelWorld, TEMPLATE, text_message, unix_now, wamid},
    on_both_backends,
    routing_support::{reason, rid, state},
};

const DAY_SECS: i64 = 24 * 3600;

/// The conversation consumer's handled events with `outcome` (ok, retry, drop).
async fn consumed(w: &ChannelWorld, outcome: &str) -> anyhow::Result<f64> {
    let text = w
        .http
        .get(w.webhook_url.replace("/webhooks/whatsapp", "/metrics"))
        .send()
        .await?
        .text()
        .await?;
    Ok(sum_samples(
        &text,
        "switchboard_bus_consumed_total",
        &[("group", "channel.conversations"), ("outcome", outcome)],
    )
    .unwrap_or(0.0))
}

/// Waits until the conversation consumer acknowledged `count` events in all.
async fn until_consumed(w: &ChannelWorld, count: f64) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let ok = consumed(w, "ok").await?;
        if ok >= count {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{ok} of {count} message events acknowledged after 15 s ({} retried, {} dropped)",
            consumed(w, "retry").await?,
            consumed(w, "drop").await?
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn window_of(
    w: &ChannelWorld,
    contact: &str,
) -> anyhow::Result<ch::GetConversationWindowResponse> {
    Ok(w.channel
        .clone()
        .get_conversation_window(ch::GetConversationWindowRequest {
            organization_id: w.world.org.clone(),
            subject: Some(ch::get_conversation_window_request::Subject::Contact(
                ch::ContactRecipient {
                    channel_account_id: w.account.clone(),
                    contact_id: contact.into(),
                },
            )),
        })
        .await?
        .into_inner())
}

async fn a_message_delivered_after_its_window_is_history_not_a_conversation(
    backend: Backend,
) -> anyhow::Result<()> {
    let w = ChannelWorld::new(backend).await?;
    let wa_id = "5491155550301";
    // Meta retried it for a day and an hour: its timestamp is when the customer sent it.
    let sent_at = w.world.clock().now_ms() / 1000 - 25 * 3600;
    assert_eq!(
        w.post(&text_message(
            wa_id,
            "Carla",
            &wamid(),
            sent_at,
            "hola, ¿están?"
        ))
        .await?,
        200,
        "a late message is acknowledged like any other"
    );
    until_consumed(&w, 1.0).await?;

    // Stored, in the contact's history, with no conversation and no agent's slot taken.
    let contact = w.contact(wa_id).await?.expect("stored");
    let history = w.messages_of(&contact.id).await?;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].provider_time.map(|t| t.seconds), Some(sent_at));
    assert!(
        history[0].conversation_id.is_empty(),
        "a message past its 24 hours started conversation {}",
        history[0].conversation_id
    );
    assert!(w.conversations_of(&contact.id).await?.is_empty());
    assert_eq!(
        consumed(&w, "retry").await?,
        0.0,
        "the refusal is final, not retried"
    );
    // The window stays where the message's timestamp puts it: closed.
    let window = window_of(&w, &contact.id).await?;
    assert!(!window.open);
    assert_eq!(
        window.last_customer_message_time.map(|t| t.seconds),
        Some(sent_at)
    );
    assert_eq!(
        window.close_time.map(|t| t.seconds),
        Some(sent_at + DAY_SECS)
    );

    // The customer writes now: that one starts a conversation and opens the window.
    let now = w.world.clock().now_ms() / 1000;
    assert_eq!(
        w.post(&text_message(wa_id, "Carla", &wamid(), now, "¿hola?"))
            .await?,
        200
    );
    until_consumed(&w, 2.0).await?;
    let conversations = w.conversations_of(&contact.id).await?;
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0].assignee_agent_id, w.agent);
    // An even older redelivery after it moves the window nowhere (windows only move forward).
    assert_eq!(
        w.post(&text_message(
            wa_id,
            "Carla",
            &wamid(),
            sent_at - 3600,
            "hola"
        ))
        .await?,
        200
    );
    until_consumed(&w, 3.0).await?;
    let window = window_of(&w, &contact.id).await?;
    assert!(window.open);
    assert_eq!(window.close_time.map(|t| t.seconds), Some(now + DAY_SECS));
    assert_eq!(w.conversations_of(&contact.id).await?.len(), 1);
    assert_eq!(w.messages_of(&contact.id).await?.len(), 3);
    w.stop().await
}
on_both_backends!(a_message_delivered_after_its_window_is_history_not_a_conversation);

async fn routing_starts_no_conversation_for_a_message_past_its_window(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = ChannelWorld::new(backend).await?;
    let now_ms = w.world.clock().now_ms();
    let start = |contact: &str, first_ms: i64| pb::StartConversationRequest {
        request_id: rid(),
        organization_id: w.world.org.clone(),
        channel_account_id: w.account.clone(),
        contact_id: contact.into(),
        first_message_id: format!("msg_{}", rid()),
        first_message_time: Some(prost_types::Timestamp {
            seconds: first_ms / 1000,
            nanos: 0,
        }),
        ..Default::default()
    };
    let late = ContactId::generate().to_string();
    let refused = w
        .world
        .routing
        .start_conversation(start(&late, now_ms - 25 * 3600 * 1000))
        .await
        .expect_err("a conversation born expired");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&refused), "ERROR_REASON_OUTSIDE_WINDOW");
    // Exactly at the edge it is still refused: it would expire at once.
    let edge = w
        .world
        .routing
        .start_conversation(start(&late, now_ms - DAY_SECS * 1000))
        .await
        .expect_err("window closed at this very moment");
    assert_eq!(reason(&edge), "ERROR_REASON_OUTSIDE_WINDOW");
    // Nothing was created for the contact, and the agent's slot is free for the next one.
    assert!(w.conversations_of(&late).await?.is_empty());

    // With an active conversation a late message joins it (no second conversation) and does
    // not move its expiry back.
    let active = ContactId::generate().to_string();
    let first = w
        .world
        .routing
        .start_conversation(start(&active, now_ms))
        .await?
        .into_inner();
    assert!(first.created);
    let first = first.conversation.expect("conversation");
    assert_eq!(state(&first), pb::ConversationState::Assigned);
    let joined = w
        .world
        .routing
        .start_conversation(start(&active, now_ms - 25 * 3600 * 1000))
        .await?
        .into_inner();
    assert!(!joined.created);
    let joined = joined.conversation.expect("conversation");
    assert_eq!(joined.id, first.id);
    assert_eq!(joined.expire_time, first.expire_time);
    w.stop().await
}
on_both_backends!(routing_starts_no_conversation_for_a_message_past_its_window);

async fn outside_the_window_says_whether_it_closed_or_never_opened(
    backend: Backend,
) -> anyhow::Result<()> {
    let w = ChannelWorld::new(backend).await?;
    let org = w.world.org.clone();
    assert_eq!(w.sync_templates().await?, 2);
    let text = |conversation: &str| ch::SendTextMessageRequest {
        request_id: rid(),
        organization_id: org.clone(),
        actor_agent_id: w.agent.clone(),
        conversation_id: conversation.into(),
        text: Some(ch::TextContent {
            body: "¿seguís ahí?".into(),
            preview_url: false,
        }),
        reply_to_message_id: String::new(),
    };

    // A contact who never wrote: the agent starts with a template, then tries free text.
    let never = w
        .channel
        .clone()
        .create_contact(ch::CreateContactRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: w.agent.clone(),
            phone_number: "+5491155550302".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .contact
        .expect("contact");
    let started = w
        .channel
        .clone()
        .send_template_message(ch::SendTemplateMessageRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: w.agent.clone(),
            recipient: Some(send_template_message_request::Recipient::Contact(
                ch::ContactRecipient {
                    channel_account_id: w.account.clone(),
                    contact_id: never.id.clone(),
                },
            )),
            template: Some(ch::TemplateContent {
                name: TEMPLATE.into(),
                language_code: "es_AR".into(),
                components: vec![ch::TemplateComponent {
                    kind: ch::TemplateComponentKind::Body as i32,
                    parameters: ["Dani", "A-2"]
                        .iter()
                        .map(|p| ch::TemplateParameter {
                            value: Some(template_parameter::Value::Text((*p).into())),
                        })
                        .collect(),
                    ..Default::default()
                }],
                rendered_body: String::new(),
            }),
        })
        .await?
        .into_inner();
    assert!(started.conversation_started);
    let refused = w
        .channel
        .clone()
        .send_text_message(text(&started.conversation_id))
        .await
        .expect_err("the customer never wrote");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    let info = refused.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "ERROR_REASON_OUTSIDE_WINDOW");
    assert_eq!(
        info.metadata.get("window").map(String::as_str),
        Some("never_opened"),
        "{:?}",
        info.metadata
    );
    assert!(!info.metadata.contains_key("close_time"));

    // A contact who wrote 25 hours ago: closed, and when.
    let wa_id = "5491155550303";
    let wrote_at = unix_now();
    assert_eq!(
        w.post(&text_message(wa_id, "Eli", &wamid(), wrote_at, "hola"))
            .await?,
        200
    );
    let contact = w.contact(wa_id).await?.expect("stored");
    let conversation = w
        .routed_messages(&contact.id, 1)
        .await?
        .remove(0)
        .conversation_id;
    w.world.clock().advance(Duration::from_secs(25 * 3600));
    let refused = w
        .channel
        .clone()
        .send_text_message(text(&conversation))
        .await
        .expect_err("the window closed");
    let info = refused.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "ERROR_REASON_OUTSIDE_WINDOW");
    assert_eq!(
        info.metadata.get("window").map(String::as_str),
        Some("closed")
    );
    let close = chrono::DateTime::parse_from_rfc3339(&info.metadata["close_time"])?;
    assert_eq!(close.timestamp(), wrote_at + DAY_SECS);
    assert!(
        w.sim.sent().iter().all(|s| s.body["type"] == "template"),
        "no free-form message went to WhatsApp"
    );
    w.stop().await
}
on_both_backends!(outside_the_window_says_whether_it_closed_or_never_opened);

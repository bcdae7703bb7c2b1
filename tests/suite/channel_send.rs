//! Outbound messages over real gRPC, through the real Graph API client, to the Graph API
//! simulator (which calls the webhook back with signed statuses): the holder's sends, a retried
//! request going out once, statuses converging on the furthest one whatever their order,
//! rate-limit retries, permanent refusals, the 24-hour window (invariant 4), templates, and a
//! campaign whose reply routes to the campaign's team.

use std::time::Duration;

use serde_json::json;
use switchboard_graph_sim::{Fault, StatusPlan};
use switchboard_proto::{
    channel::v1::{
        self as ch, campaign_recipient, send_template_message_request, template_parameter,
    },
    common::v1::Role,
    routing::v1 as pb,
};
use switchboard_testkit::Backend;
use tonic_types::StatusExt;

use crate::{
    channel_support::{ChannelWorld, PHONE_NUMBER_ID, TEMPLATE, status_update, unix_now},
    on_both_backends,
    routing_support::{rid, team_target},
};

fn text(
    req: &str,
    org: &str,
    actor: &str,
    conversation: &str,
    body: &str,
) -> ch::SendTextMessageRequest {
    ch::SendTextMessageRequest {
        request_id: req.into(),
        organization_id: org.into(),
        actor_agent_id: actor.into(),
        conversation_id: conversation.into(),
        text: Some(ch::TextContent {
            body: body.into(),
            preview_url: false,
        }),
        reply_to_message_id: String::new(),
    }
}

fn template(params: &[&str]) -> ch::TemplateContent {
    ch::TemplateContent {
        name: TEMPLATE.into(),
        language_code: "es_AR".into(),
        components: vec![ch::TemplateComponent {
            kind: ch::TemplateComponentKind::Body as i32,
            parameters: params
                .iter()
                .map(|p| ch::TemplateParameter {
                    value: Some(template_parameter::Value::Text((*p).into())),
                })
                .collect(),
            ..Default::default()
        }],
        rendered_body: String::new(),
    }
}

async fn the_holder_replies_once_per_request_and_statuses_only_move_forward(
    backend: Backend,
) -> anyhow::Result<()> {
    // The simulator reports every status twice and in a random order, as Meta may.
    let plan = StatusPlan {
        shuffle: true,
        deliver_twice: true,
        ..Default::default()
    };
    let mut w = ChannelWorld::with_simulator(backend, plan, |_| {}).await?;
    let org = w.world.org.clone();
    let wa_id = "5491155550201";
    let inbound_wamid = w
        .customer_writes(wa_id, "Ana", "hola, necesito ayuda")
        .await?;
    let contact = w.contact(wa_id).await?.expect("stored");
    let inbound = w.routed_messages(&contact.id, 1).await?.remove(0);
    assert_eq!(inbound.wamid, inbound_wamid);
    let conversation = inbound.conversation_id.clone();
    let conv = w.world.get(&conversation).await?;
    assert_eq!(
        conv.assignee_agent_id, w.agent,
        "the team's one agent holds it"
    );

    // The holder's reply goes out once, however often the request is retried.
    let req = rid();
    let first = w
        .channel
        .send_text_message(text(
            &req,
            &org,
            &w.agent,
            &conversation,
            "¿En qué te ayudo?",
        ))
        .await?
        .into_inner()
        .message
        .expect("message");
    assert_eq!(first.status, ch::MessageStatus::Sent as i32);
    assert!(first.wamid.starts_with("wamid."));
    for _ in 0..3 {
        let again = w
            .channel
            .send_text_message(text(
                &req,
                &org,
                &w.agent,
                &conversation,
                "¿En qué te ayudo?",
            ))
            .await?
            .into_inner()
            .message
            .expect("message");
        assert_eq!(again.id, first.id);
    }
    let sent = w.sim.sent();
    assert_eq!(sent.len(), 1, "one request id, one message on WhatsApp");
    assert_eq!(sent[0].to, wa_id);
    assert_eq!(sent[0].body["text"]["body"], json!("¿En qué te ayudo?"));

    // Shuffled, duplicated callbacks: the message ends READ, with both times set.
    let read = w.until_status(&first.id, ch::MessageStatus::Read).await?;
    assert!(read.deliver_time.is_some() && read.read_time.is_some());
    // Late reports change nothing: a delivered or a failed after read.
    for late in ["delivered", "sent", "failed"] {
        assert_eq!(
            w.post(&status_update(&first.wamid, late, unix_now(), wa_id))
                .await?,
            200
        );
    }
    assert_eq!(
        w.message(&first.id).await?.status,
        ch::MessageStatus::Read as i32
    );

    // Someone who does not hold the conversation may not write in it.
    let other = w.world.agent("Marcos", 3).await?;
    let refused = w
        .channel
        .send_text_message(text(&rid(), &org, &other, &conversation, "hola"))
        .await
        .expect_err("not the holder");
    // Routing hides a conversation from agents who may not see it: NOT_FOUND, as for GetConversation.
    assert_eq!(refused.code(), tonic::Code::NotFound);
    // An operator may.
    let operator = w.world.agent_with_role("Olga", Role::Operator, 0).await?;
    w.channel
        .send_text_message(text(&rid(), &org, &operator, &conversation, "Te ayudo yo"))
        .await?;

    // A reaction to the customer's message.
    let reaction = w
        .channel
        .send_reaction(ch::SendReactionRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: w.agent.clone(),
            message_id: inbound.id.clone(),
            emoji: "👍".into(),
        })
        .await?
        .into_inner()
        .message
        .expect("message");
    assert_eq!(reaction.status, ch::MessageStatus::Sent as i32);
    let last = w.sim.sent().pop().expect("sent");
    assert_eq!(last.body["type"], json!("reaction"));
    assert_eq!(last.body["reaction"]["message_id"], json!(inbound_wamid));

    // Rate limits are retried with backoff: 429 twice, then accepted.
    let before = w.sim.requests();
    w.sim.fail_next(2, Fault::Http429);
    let retried = w
        .channel
        .send_text_message(text(&rid(), &org, &w.agent, &conversation, "un momento"))
        .await?
        .into_inner()
        .message
        .expect("message");
    assert_eq!(retried.status, ch::MessageStatus::Sent as i32);
    assert_eq!(w.sim.requests() - before, 3);

    // A permanent refusal is stored as FAILED with WhatsApp's error, sent once.
    let before = w.sim.requests();
    w.sim
        .fail_next(1, Fault::Reject(131026, "Message undeliverable".into()));
    let failed = w
        .channel
        .send_text_message(text(&rid(), &org, &w.agent, &conversation, "¿me lees?"))
        .await?
        .into_inner()
        .message
        .expect("message");
    assert_eq!(failed.status, ch::MessageStatus::Failed as i32);
    assert_eq!(failed.errors.first().map(|e| e.code), Some(131026));
    assert_eq!(w.sim.requests() - before, 1);

    // History: the conversation's messages, oldest first.
    let history = w
        .channel
        .list_conversation_messages(ch::ListConversationMessagesRequest {
            organization_id: org.clone(),
            conversation_id: conversation.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .messages;
    assert_eq!(
        history.first().map(|m| m.id.clone()),
        Some(inbound.id.clone())
    );
    assert_eq!(
        history.len(),
        6,
        "inbound, reply, operator, reaction, retried, failed"
    );
    w.stop().await
}
on_both_backends!(the_holder_replies_once_per_request_and_statuses_only_move_forward);

async fn outside_the_window_only_templates_go_out(backend: Backend) -> anyhow::Result<()> {
    let mut w = ChannelWorld::new(backend).await?;
    let org = w.world.org.clone();
    let wa_id = "5491155550202";
    w.customer_writes(wa_id, "Bea", "hola").await?;
    let contact = w.contact(wa_id).await?.expect("stored");
    let inbound = w.routed_messages(&contact.id, 1).await?.remove(0);
    let conversation = inbound.conversation_id.clone();
    let wrote_at = inbound.provider_time.expect("time").seconds;

    // A day and an hour later the window is closed (and routing expired the conversation).
    w.world.clock().advance(Duration::from_secs(25 * 3600));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while w.world.get(&conversation).await?.state != pb::ConversationState::Expired as i32 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "routing never expired it"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = w
        .channel
        .send_text_message(text(&rid(), &org, &w.agent, &conversation, "¿seguís ahí?"))
        .await
        .expect_err("outside the window");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    let info = refused.get_details_error_info().expect("ErrorInfo");
    assert_eq!(
        (info.reason.as_str(), info.domain.as_str()),
        ("ERROR_REASON_OUTSIDE_WINDOW", "switchboard"),
        "one error domain whichever service refuses"
    );
    let close = chrono::DateTime::parse_from_rfc3339(&info.metadata["close_time"])?;
    assert_eq!(close.timestamp(), wrote_at + 24 * 3600);
    assert!(w.sim.sent().is_empty(), "nothing went to WhatsApp");

    // Templates: unknown until synced; then parameters must fit; then they go out.
    let send_template = |params: &[&str]| ch::SendTemplateMessageRequest {
        request_id: rid(),
        organization_id: org.clone(),
        actor_agent_id: w.agent.clone(),
        recipient: Some(send_template_message_request::Recipient::ConversationId(
            conversation.clone(),
        )),
        template: Some(template(params)),
    };
    let unknown = w
        .channel
        .send_template_message(send_template(&["Bea", "A-1"]))
        .await
        .expect_err("not synced");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    assert_eq!(w.sync_templates().await?, 2);
    let bad = w
        .channel
        .send_template_message(send_template(&["Bea"]))
        .await
        .expect_err("one parameter short");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert!(
        bad.message().contains("template.components"),
        "{}",
        bad.message()
    );
    let sent = w
        .channel
        .send_template_message(send_template(&["Bea", "A-1"]))
        .await?
        .into_inner();
    let message = sent.message.expect("message");
    assert_eq!(message.status, ch::MessageStatus::Sent as i32);
    let rendered = match message.content.and_then(|c| c.content) {
        Some(ch::message_content::Content::Template(t)) => t.rendered_body,
        other => panic!("not a template: {other:?}"),
    };
    assert_eq!(rendered, "Hola Bea, ¿seguimos con tu caso A-1?");
    // The old conversation expired: the template started a new one, held by the sender.
    assert!(sent.conversation_started);
    assert_ne!(sent.conversation_id, conversation);
    let started = w.world.get(&sent.conversation_id).await?;
    assert_eq!(started.assignee_agent_id, w.agent);
    let on_wire = w.sim.sent();
    assert_eq!(on_wire.len(), 1);
    assert_eq!(on_wire[0].body["type"], json!("template"));
    assert_eq!(on_wire[0].body["template"]["name"], json!(TEMPLATE));
    w.stop().await
}
on_both_backends!(outside_the_window_only_templates_go_out);

async fn a_campaign_goes_out_per_recipient_and_its_reply_routes_to_the_campaign_team(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = ChannelWorld::new(backend).await?;
    let org = w.world.org.clone();
    let seller = w.world.agent("Vera", 3).await?;
    let sales = w
        .world
        .team("Ventas", pb::TeamStrategy::LeastOpen, &[&seller], |_| {})
        .await?;
    let support = w.team.clone();
    w.world
        .link(&[&support, &sales], &[], Some(team_target(&support)))
        .await?;
    let campaign = w
        .world
        .routing
        .create_campaign(pb::CreateCampaignRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: w.world.admin.clone(),
            campaign: Some(pb::Campaign {
                name: "Renovación".into(),
                channel_account_id: w.account.clone(),
                continue_with_human: true,
                human_target: Some(team_target(&sales)),
                reply_window: Some(prost_types::Duration {
                    seconds: 72 * 3600,
                    nanos: 0,
                }),
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .campaign
        .expect("campaign")
        .id;
    w.sync_templates().await?;
    let known = w
        .channel
        .create_contact(ch::CreateContactRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: w.agent.clone(),
            phone_number: "+54 9 11 5555-0302".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .contact
        .expect("contact")
        .id;
    let phone = |p: &str| ch::CampaignRecipient {
        recipient: Some(campaign_recipient::Recipient::PhoneNumber(p.into())),
        components: vec![],
    };
    let request = ch::SendCampaignRequest {
        request_id: rid(),
        organization_id: org.clone(),
        actor_agent_id: w.world.admin.clone(),
        campaign_id: campaign.clone(),
        template: Some(template(&["cliente", "renovación"])),
        recipients: vec![
            phone("+5491155550301"),
            ch::CampaignRecipient {
                recipient: Some(campaign_recipient::Recipient::ContactId(known.clone())),
                components: vec![],
            },
            phone("12345"),
            phone("+5491155550301"),
        ],
    };
    let answer = w.channel.send_campaign(request.clone()).await?.into_inner();
    let outcomes: Vec<_> = answer.results.iter().map(|r| r.outcome).collect();
    use ch::RecipientOutcome::{Accepted, Duplicate, Rejected};
    assert_eq!(
        outcomes,
        vec![
            Accepted as i32,
            Accepted as i32,
            Rejected as i32,
            Duplicate as i32
        ]
    );
    assert_eq!((answer.accepted_count, answer.rejected_count), (2, 1));
    assert!(
        answer.results[2].error.contains("E.164"),
        "{}",
        answer.results[2].error
    );
    assert_eq!(answer.results[3].message_id, answer.results[0].message_id);
    // A retried call answers the same and queues nothing new.
    let again = w.channel.send_campaign(request).await?.into_inner();
    assert_eq!(again.results, answer.results);

    // The dispatcher sends both; the list shows them with their status.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let first_wamid = loop {
        let list = w
            .channel
            .list_campaign_messages(ch::ListCampaignMessagesRequest {
                organization_id: org.clone(),
                campaign_id: campaign.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        assert_eq!(list.page.and_then(|p| p.total_size), Some(2));
        let pending = list
            .messages
            .iter()
            .filter(|m| m.status == ch::MessageStatus::Pending as i32)
            .count();
        if pending == 0 {
            let first = list
                .messages
                .iter()
                .find(|m| m.id == answer.results[0].message_id)
                .expect("listed");
            break first.wamid.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "campaign never dispatched"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        w.sim.sent().len(),
        2,
        "two recipients, two sends, whatever the retries"
    );

    // The customer answers the campaign message: the conversation goes to the campaign's team.
    let (_, status) = w
        .sim
        .customer_writes(
            PHONE_NUMBER_ID,
            "5491155550301",
            "Cliente",
            json!({
                "type": "text", "text": { "body": "me interesa" },
                "context": { "from": "15550783881", "id": first_wamid }
            }),
        )
        .await?;
    assert_eq!(status, 200);
    let contact = w.contact("5491155550301").await?.expect("stored");
    let messages = w.routed_messages(&contact.id, 2).await?;
    let reply = messages.last().expect("reply");
    assert_eq!(reply.reply_to_wamid, first_wamid);
    let conv = w.world.get(&reply.conversation_id).await?;
    assert_eq!(conv.campaign_id, campaign);
    assert_eq!(conv.team_id, sales);
    assert_eq!(conv.assignee_agent_id, seller);
    w.stop().await
}
on_both_backends!(a_campaign_goes_out_per_recipient_and_its_reply_routes_to_the_campaign_team);

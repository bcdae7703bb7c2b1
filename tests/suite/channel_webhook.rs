//! The WhatsApp webhook over real HTTP: Meta's handshake, signatures checked before anything
//! is stored, redeliveries and parallel albums deduplicated into one message each and one
//! conversation, and a database outage answered 503 so that Meta's redelivery is stored once.

use std::time::Duration;

use serde_json::json;
use switchboard_proto::{
    channel::v1::{self as ch, MessageAttached},
    events::TypedEvent,
    routing::v1 as pb,
};
use switchboard_testkit::Backend;

use crate::{
    channel_support::{
        APP_SECRET, ChannelWorld, PHONE_NUMBER_ID, VERIFY_TOKEN, image_message, notification,
        signature, text_message, unix_now, wamid,
    },
    on_both_backends,
};

async fn webhook_refuses_what_meta_did_not_sign_and_what_is_not_json(
    backend: Backend,
) -> anyhow::Result<()> {
    let w = ChannelWorld::new(backend).await?;
    // The subscription handshake echoes the challenge for our token only.
    let verify = |token: &str, mode: &str| {
        w.http.get(&w.webhook_url).query(&[
            ("hub.mode", mode),
            ("hub.verify_token", token),
            ("hub.challenge", "1158201444"),
        ])
    };
    let ok = verify(VERIFY_TOKEN, "subscribe").send().await?;
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.text().await?, "1158201444");
    assert_eq!(
        verify("wrong", "subscribe").send().await?.status().as_u16(),
        403
    );
    assert_eq!(
        verify(VERIFY_TOKEN, "unsubscribe")
            .send()
            .await?
            .status()
            .as_u16(),
        403
    );

    let wa_id = "5491155550101";
    let body = serde_json::to_vec(&text_message(wa_id, "Ana", &wamid(), unix_now(), "hola"))?;
    // Missing, malformed, wrong-key and tampered signatures: 401.
    assert_eq!(w.post_raw(&body, None).await?.0, 401);
    assert_eq!(w.post_raw(&body, Some("sha1=abcd")).await?.0, 401);
    assert_eq!(
        w.post_raw(&body, Some(&signature("other-secret", &body)))
            .await?
            .0,
        401
    );
    let mut tampered = body.clone();
    let at = tampered.len() - 5;
    tampered[at] ^= 0x01;
    assert_eq!(
        w.post_raw(&tampered, Some(&signature(APP_SECRET, &body)))
            .await?
            .0,
        401
    );
    // Signed but not JSON: 400.
    let garbage = b"{\"object\": \"whatsapp_business_account\", \"entry\": [".to_vec();
    let (status, text) = w
        .post_raw(&garbage, Some(&signature(APP_SECRET, &garbage)))
        .await?;
    assert_eq!(status, 400, "{text}");
    // Nothing of the refused bodies was stored.
    assert!(w.contact(wa_id).await?.is_none());
    // The genuine body is stored.
    assert_eq!(
        w.post_raw(&body, Some(&signature(APP_SECRET, &body)))
            .await?
            .0,
        200
    );
    let contact = w.contact(wa_id).await?.expect("stored");
    assert_eq!(contact.profile_name, "Ana");
    assert_eq!(contact.phone_number, "+5491155550101");
    assert_eq!(w.routed_messages(&contact.id, 1).await?.len(), 1);
    // What an SRE charts: refusals and acknowledgements by status, messages by outcome.
    let metrics = w
        .http
        .get(w.webhook_url.replace("/webhooks/whatsapp", "/metrics"))
        .send()
        .await?
        .text()
        .await?;
    for line in [
        "switchboard_channel_webhook_requests_total{status=\"401\"} 4",
        "switchboard_channel_webhook_requests_total{status=\"400\"} 1",
        "switchboard_channel_webhook_requests_total{status=\"200\"} 1",
        "switchboard_channel_inbound_messages_total{outcome=\"stored\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    w.stop().await
}
on_both_backends!(webhook_refuses_what_meta_did_not_sign_and_what_is_not_json);

async fn the_same_webhook_five_times_at_once_is_one_message_and_one_conversation(
    backend: Backend,
) -> anyhow::Result<()> {
    let w = ChannelWorld::new(backend).await?;
    // Every customer message that joins a conversation is announced once, with its words
    // (ticketing reads them for ticket numbers).
    let mut attached = w
        .world
        .suite
        .infra()
        .expect("running")
        .bus
        .tail(&[MessageAttached::TOPIC])
        .await?;
    let wa_id = "5491155550102";
    let body = text_message(wa_id, "Bruno", &wamid(), unix_now(), "necesito ayuda");
    let posts = (0..5).map(|_| w.post(&body));
    let statuses = futures::future::join_all(posts).await;
    for s in statuses {
        assert_eq!(s?, 200);
    }
    let contact = w.contact(wa_id).await?.expect("stored");
    let messages = w.routed_messages(&contact.id, 1).await?;
    assert_eq!(messages[0].direction, ch::MessageDirection::Inbound as i32);
    assert_eq!(messages[0].status, ch::MessageStatus::Received as i32);
    let conversations = w.conversations_of(&contact.id).await?;
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0].id, messages[0].conversation_id);
    assert_eq!(conversations[0].team_id, w.team);
    let first = attached
        .next(Duration::from_secs(10))
        .await?
        .expect("the first message's attachment is announced")
        .decode::<MessageAttached>()?;
    assert_eq!(first.message_id, messages[0].id);
    assert_eq!(first.conversation_id, messages[0].conversation_id);
    assert_eq!(first.contact_id, contact.id);
    assert_eq!(first.text, "necesito ayuda");
    assert_eq!(first.kind, "text");

    // A later message joins the active conversation and restarts its window.
    let later = unix_now() + 5;
    assert_eq!(
        w.post(&text_message(
            wa_id,
            "Bruno",
            &wamid(),
            later,
            "¿siguen ahí?"
        ))
        .await?,
        200
    );
    let messages = w.routed_messages(&contact.id, 2).await?;
    assert_eq!(messages[1].conversation_id, messages[0].conversation_id);
    let second = attached
        .next(Duration::from_secs(10))
        .await?
        .expect("the second message's attachment is announced")
        .decode::<MessageAttached>()?;
    assert_eq!(
        (second.message_id.as_str(), second.text.as_str()),
        (messages[1].id.as_str(), "¿siguen ahí?")
    );
    assert!(
        attached.next(Duration::from_millis(300)).await?.is_none(),
        "each message is announced once, whatever the duplicate webhooks"
    );
    let window = w
        .channel
        .clone()
        .get_conversation_window(ch::GetConversationWindowRequest {
            organization_id: w.world.org.clone(),
            subject: Some(
                ch::get_conversation_window_request::Subject::ConversationId(
                    messages[0].conversation_id.clone(),
                ),
            ),
        })
        .await?
        .into_inner();
    assert!(window.open);
    assert_eq!(
        window.last_customer_message_time.map(|t| t.seconds),
        Some(later),
        "the window restarts at the newest customer message"
    );
    assert_eq!(window.close_time.map(|t| t.seconds), Some(later + 86_400));
    w.stop().await
}
on_both_backends!(the_same_webhook_five_times_at_once_is_one_message_and_one_conversation);

async fn an_album_sent_as_parallel_webhooks_lands_in_one_conversation(
    backend: Backend,
) -> anyhow::Result<()> {
    let w = ChannelWorld::new(backend).await?;
    let wa_id = "5491155550103";
    let now = unix_now();
    let bodies: Vec<_> = (0..6)
        .map(|i| image_message(wa_id, &wamid(), now, &format!("{}", 1_000 + i)))
        .collect();
    // Each picture twice, all at once: Meta's retries overlap the album.
    let posts = bodies.iter().chain(bodies.iter()).map(|b| w.post(b));
    for status in futures::future::join_all(posts).await {
        assert_eq!(status?, 200);
    }
    let contact = w.contact(wa_id).await?.expect("stored");
    let messages = w.routed_messages(&contact.id, 6).await?;
    let conversation = &messages[0].conversation_id;
    assert!(messages.iter().all(|m| &m.conversation_id == conversation));
    assert_eq!(w.conversations_of(&contact.id).await?.len(), 1);
    let kinds: Vec<_> = messages
        .iter()
        .map(
            |m| match m.content.as_ref().and_then(|c| c.content.as_ref()) {
                Some(ch::message_content::Content::Media(media)) => media.kind,
                _ => -1,
            },
        )
        .collect();
    assert!(
        kinds.iter().all(|k| *k == ch::MediaKind::Image as i32),
        "{kinds:?}"
    );
    w.stop().await
}
on_both_backends!(an_album_sent_as_parallel_webhooks_lands_in_one_conversation);

/// Invariant 2 under a database outage: while PostgreSQL refuses connections the endpoint
/// answers 503 (Meta keeps the notification and retries); once it is back, the redelivery is
/// stored once, and a second redelivery changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_answers_503_and_the_redelivery_is_stored_once() -> anyhow::Result<()> {
    let w = ChannelWorld::with_settings(Backend::Cluster, |s| {
        s.database.connect_timeout_secs = 1;
    })
    .await?;
    let url = &w
        .world
        .suite
        .infra()
        .expect("running")
        .settings
        .database
        .url;
    let database = url
        .rsplit('/')
        .next()
        .and_then(|s| s.split('?').next())
        .expect("database name")
        .to_string();
    let admin = sea_orm::Database::connect(switchboard_testkit::database_admin_url()).await?;
    use sea_orm::ConnectionTrait;
    let set_connections = |allow: bool| {
        let admin = &admin;
        let database = database.clone();
        async move {
            admin
                .execute_unprepared(&format!(
                    "ALTER DATABASE \"{database}\" WITH ALLOW_CONNECTIONS {allow}"
                ))
                .await?;
            if !allow {
                admin
                    .execute_unprepared(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = '{database}' AND pid <> pg_backend_pid()"
                    ))
                    .await?;
            }
            anyhow::Ok(())
        }
    };
    let wa_id = "5491155550104";
    let body = text_message(wa_id, "Carla", &wamid(), unix_now(), "¿hay alguien?");
    set_connections(false).await?;
    let mut refused = 0;
    for _ in 0..3 {
        let status = w.post(&body).await?;
        assert_eq!(
            status, 503,
            "a notification that cannot be stored is not acknowledged"
        );
        refused += 1;
    }
    set_connections(true).await?;
    // Meta redelivers until it gets a 200.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if w.post(&body).await? == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never stored after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(w.post(&body).await?, 200);
    let contact = w.contact(wa_id).await?.expect("stored");
    let messages = w.routed_messages(&contact.id, 1).await?;
    assert_eq!(
        messages.len(),
        1,
        "after {refused} refusals and 2 deliveries"
    );
    assert_eq!(w.conversations_of(&contact.id).await?.len(), 1);
    admin.close().await?;
    w.stop().await
}

async fn a_number_nobody_registered_is_acknowledged_and_not_routed(
    backend: Backend,
) -> anyhow::Result<()> {
    let w = ChannelWorld::new(backend).await?;
    let body = notification(
        "999999999999999",
        json!({
            "contacts": [{ "profile": { "name": "Dora" }, "wa_id": "5491155550105" }],
            "messages": [{ "from": "5491155550105", "id": wamid(), "timestamp": unix_now().to_string(),
                           "type": "text", "text": { "body": "hola" } }]
        }),
    );
    assert_eq!(
        w.post(&body).await?,
        200,
        "acknowledged, so Meta does not retry for 7 days"
    );
    assert!(w.contact("5491155550105").await?.is_none());
    let _ = PHONE_NUMBER_ID;
    let list = w
        .world
        .routing
        .clone()
        .list_conversations(pb::ListConversationsRequest {
            organization_id: w.world.org.clone(),
            actor_agent_id: w.world.admin.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(list.conversations.is_empty());
    w.stop().await
}
on_both_backends!(a_number_nobody_registered_is_acknowledged_and_not_routed);

/// Meta's documented payloads, one per message type and status, through the real endpoint:
/// each message is stored once with its content (unknown types kept, not dropped), statuses for
/// messages not sent from here are acknowledged, and a second delivery of everything adds nothing.
async fn every_meta_example_is_stored_once_with_its_content(
    backend: Backend,
) -> anyhow::Result<()> {
    let w = ChannelWorld::new(backend).await?;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../services/channel/tests/fixtures/whatsapp");
    let mut bodies: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            std::fs::read(e.path()).map(|b| (name, b))
        })
        .collect::<Result<_, _>>()?;
    bodies.sort();
    assert!(bodies.len() >= 20, "fixtures missing: {}", bodies.len());
    for round in 0..2 {
        for (name, body) in &bodies {
            let (status, text) = w.post_raw(body, Some(&signature(APP_SECRET, body))).await?;
            assert_eq!(status, 200, "round {round}, {name}: {text}");
        }
    }
    let contact = w.contact("5491155550001").await?.expect("stored");
    assert_eq!(contact.profile_name, "Lucía Fernández");
    let messages = w.messages_of(&contact.id).await?;
    use ch::message_content::Content as C;
    let mut kinds: Vec<String> = messages
        .iter()
        .map(
            |m| match m.content.as_ref().and_then(|c| c.content.as_ref()) {
                Some(C::Text(_)) => "text".to_string(),
                Some(C::Media(media)) => format!("media:{}", media.kind),
                Some(C::Location(_)) => "location".into(),
                Some(C::Contacts(_)) => "contacts".into(),
                Some(C::InteractiveReply(_)) => "interactive".into(),
                Some(C::ButtonReply(_)) => "button".into(),
                Some(C::Reaction(_)) => "reaction".into(),
                Some(C::Unsupported(u)) => format!("unsupported:{}", u.whatsapp_type),
                other => format!("{other:?}"),
            },
        )
        .collect();
    kinds.sort();
    let media = |k: ch::MediaKind| format!("media:{}", k as i32);
    let mut expected = vec![
        "text".to_string(),
        "text".into(),
        "text".into(),
        media(ch::MediaKind::Image),
        media(ch::MediaKind::Audio),
        media(ch::MediaKind::Video),
        media(ch::MediaKind::Document),
        media(ch::MediaKind::Sticker),
        "location".into(),
        "contacts".into(),
        "interactive".into(),
        "interactive".into(),
        "button".into(),
        "reaction".into(),
        "unsupported:order".into(),
        "unsupported:system".into(),
        "unsupported:unsupported".into(),
    ];
    expected.sort();
    assert_eq!(kinds, expected);
    assert!(
        messages
            .iter()
            .all(|m| m.direction == ch::MessageDirection::Inbound as i32)
    );
    // The voice note and the document keep their details.
    for m in &messages {
        if let Some(C::Media(media)) = m.content.as_ref().and_then(|c| c.content.as_ref()) {
            assert!(
                !media.media_id.is_empty() && !media.mime_type.is_empty(),
                "{media:?}"
            );
            if media.kind == ch::MediaKind::Audio as i32 {
                assert!(media.voice);
            }
            if media.kind == ch::MediaKind::Document as i32 {
                assert!(!media.filename.is_empty());
            }
        }
    }
    // The reply names the message it answers.
    assert!(messages.iter().any(|m| !m.reply_to_wamid.is_empty()));
    w.stop().await
}
on_both_backends!(every_meta_example_is_stored_once_with_its_content);

//! The real Graph API client against the Graph simulator, over real HTTP: what goes on the
//! wire for each content kind, how refusals and outages come back, media and template
//! round trips, and the signed status callbacks that follow a send.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchboard_channel::{
    domain::content::{
        ButtonReply, ComponentKind, Content, Location, Media, MediaKind, Reaction, SharedContact,
        SharedEmail, SharedPhone, TemplateComponent, TemplateMessage, TemplateParameter,
        Unsupported,
    },
    graph::{GraphClient, GraphError, RetryPolicy},
};
use switchboard_graph_sim::{
    Fault, SimAccount, SimConfig, SimHandle, SimTemplate, Simulator, StatusPlan,
};

const PHONE: &str = "106540352242922";
const WABA: &str = "102290129340398";
const TOKEN: &str = "EAAGsim-token-1";
const OTHER_PHONE: &str = "106540352249999";
const OTHER_WABA: &str = "102290129349999";
const OTHER_TOKEN: &str = "EAAGsim-token-2";
const SECRET: &str = "test-app-secret";
const CUSTOMER: &str = "5215512345678";
const VERSION: &str = "v21.0";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Quick retries so outage tests stay fast.
fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: ms(2),
        max_backoff: ms(20),
    }
}

fn order_template() -> SimTemplate {
    SimTemplate::approved(
        WABA,
        "order_update",
        "es_MX",
        "UTILITY",
        "Hola {{1}}, tu pedido {{2}} va en camino.",
    )
    .with_header("IMAGE", "")
    .with_footer("Gracias por tu compra")
    .with_button("QUICK_REPLY", "Gracias", "")
    .with_button("URL", "Rastrear", "https://t.example/track/{{1}}")
}

fn config() -> SimConfig {
    SimConfig {
        app_secret: SECRET.into(),
        accounts: vec![
            SimAccount::new(PHONE, WABA, TOKEN),
            SimAccount::new(OTHER_PHONE, OTHER_WABA, OTHER_TOKEN),
        ],
        templates: vec![order_template(), SimTemplate::hello_world(WABA)],
        status_callbacks: StatusPlan::none(),
        ..SimConfig::default()
    }
}

async fn start(config: SimConfig, retry: RetryPolicy) -> (SimHandle, GraphClient) {
    let sim = Simulator::start(config).await.expect("simulator starts");
    let client = GraphClient::new(&sim.base_url(), VERSION, retry);
    (sim, client)
}

fn media(kind: MediaKind) -> Media {
    Media {
        kind,
        media_id: String::new(),
        link: String::new(),
        mime_type: String::new(),
        sha256: String::new(),
        caption: String::new(),
        filename: String::new(),
        voice: false,
        animated: false,
        size_bytes: 0,
    }
}

fn text(body: &str) -> Content {
    Content::Text {
        body: body.into(),
        preview_url: false,
    }
}

fn order_message(body_parameters: &[&str]) -> Content {
    let mut header_image = media(MediaKind::Image);
    header_image.link = "https://cdn.example.com/box.png".into();
    Content::Template(TemplateMessage {
        name: "order_update".into(),
        language_code: "es_MX".into(),
        components: vec![
            TemplateComponent {
                kind: ComponentKind::Header,
                button_sub_type: String::new(),
                button_index: 0,
                parameters: vec![TemplateParameter::Media(header_image)],
            },
            TemplateComponent {
                kind: ComponentKind::Body,
                button_sub_type: String::new(),
                button_index: 0,
                parameters: body_parameters
                    .iter()
                    .map(|p| TemplateParameter::Text((*p).into()))
                    .collect(),
            },
            TemplateComponent {
                kind: ComponentKind::Button,
                button_sub_type: "quick_reply".into(),
                button_index: 0,
                parameters: vec![TemplateParameter::Payload("THANKS_1234".into())],
            },
            TemplateComponent {
                kind: ComponentKind::Button,
                button_sub_type: "url".into(),
                button_index: 1,
                parameters: vec![TemplateParameter::Text("1234".into())],
            },
        ],
        rendered_body: String::new(),
    })
}

/// The common part of every send body.
fn envelope(kind: &str, payload: Value) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": kind,
    });
    body[kind] = payload;
    body
}

#[tokio::test]
async fn every_sendable_kind_reaches_whatsapp_as_the_exact_cloud_api_json() {
    let (sim, client) = start(config(), fast_retries()).await;
    let pdf = b"%PDF-1.4 invoice".to_vec();
    let uploaded = client
        .upload_media(TOKEN, PHONE, "application/pdf", "factura.pdf", pdf)
        .await
        .expect("upload");

    let mut image = media(MediaKind::Image);
    image.link = "https://cdn.example.com/p.jpg".into();
    image.caption = "Tu producto".into();
    let mut document = media(MediaKind::Document);
    document.media_id = uploaded.clone();
    document.caption = "Factura".into();
    document.filename = "factura.pdf".into();
    let mut audio = media(MediaKind::Audio);
    audio.link = "https://cdn.example.com/a.ogg".into();
    audio.caption = "audio takes no caption".into();
    let mut sticker = media(MediaKind::Sticker);
    sticker.link = "https://cdn.example.com/s.webp".into();
    let mut video = media(MediaKind::Video);
    video.link = "https://cdn.example.com/v.mp4".into();
    video.caption = "Mira".into();

    let reply_to = "wamid.HBgLNTIxNTUxMjM0NTY3OBUCABIYFjNFQjBDMEE0MzQ1NjdBQkNERUYA";
    let cases: Vec<(Content, Option<&str>, Value)> = vec![
        (
            Content::Text {
                body: "Hola, ¿en qué te ayudo? https://example.com".into(),
                preview_url: true,
            },
            Some(reply_to),
            {
                let mut body = envelope(
                    "text",
                    json!({ "preview_url": true, "body": "Hola, ¿en qué te ayudo? https://example.com" }),
                );
                body["context"] = json!({ "message_id": reply_to });
                body
            },
        ),
        (
            Content::Media(image),
            None,
            envelope(
                "image",
                json!({ "link": "https://cdn.example.com/p.jpg", "caption": "Tu producto" }),
            ),
        ),
        (
            Content::Media(document),
            None,
            envelope(
                "document",
                json!({ "id": uploaded, "caption": "Factura", "filename": "factura.pdf" }),
            ),
        ),
        (
            Content::Media(audio),
            None,
            envelope("audio", json!({ "link": "https://cdn.example.com/a.ogg" })),
        ),
        (
            Content::Media(sticker),
            None,
            envelope(
                "sticker",
                json!({ "link": "https://cdn.example.com/s.webp" }),
            ),
        ),
        (
            Content::Media(video),
            None,
            envelope(
                "video",
                json!({ "link": "https://cdn.example.com/v.mp4", "caption": "Mira" }),
            ),
        ),
        (
            Content::Reaction(Reaction {
                wamid: reply_to.into(),
                message_id: "msg_123".into(),
                emoji: "👍".into(),
            }),
            None,
            envelope("reaction", json!({ "message_id": reply_to, "emoji": "👍" })),
        ),
        (
            Content::Location(Location {
                latitude: 19.4326,
                longitude: -99.1332,
                name: "Tienda Centro".into(),
                address: "Av. Juárez 10, CDMX".into(),
                url: String::new(),
            }),
            None,
            envelope(
                "location",
                json!({ "latitude": 19.4326, "longitude": -99.1332, "name": "Tienda Centro", "address": "Av. Juárez 10, CDMX" }),
            ),
        ),
        (
            Content::Contacts {
                contacts: vec![SharedContact {
                    formatted_name: "Ana María López".into(),
                    phones: vec![SharedPhone {
                        phone: "+52 55 1234 5678".into(),
                        wa_id: "5215512345678".into(),
                        label: "CELL".into(),
                    }],
                    emails: vec![SharedEmail {
                        address: "ana@example.com".into(),
                        label: "WORK".into(),
                    }],
                    company: "Tiendas SA".into(),
                }],
            },
            None,
            envelope(
                "contacts",
                json!([{
                    "name": { "formatted_name": "Ana María López", "first_name": "Ana", "last_name": "María López" },
                    "phones": [{ "phone": "+52 55 1234 5678", "type": "CELL", "wa_id": "5215512345678" }],
                    "emails": [{ "email": "ana@example.com", "type": "WORK" }],
                    "org": { "company": "Tiendas SA" },
                }]),
            ),
        ),
        (
            order_message(&["Ana", "#1234"]),
            None,
            envelope(
                "template",
                json!({
                    "name": "order_update",
                    "language": { "code": "es_MX" },
                    "components": [
                        { "type": "header", "parameters": [{ "type": "image", "image": { "link": "https://cdn.example.com/box.png" } }] },
                        { "type": "body", "parameters": [{ "type": "text", "text": "Ana" }, { "type": "text", "text": "#1234" }] },
                        { "type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{ "type": "payload", "payload": "THANKS_1234" }] },
                        { "type": "button", "sub_type": "url", "index": "1", "parameters": [{ "type": "text", "text": "1234" }] },
                    ],
                }),
            ),
        ),
        (
            Content::Template(TemplateMessage {
                name: "hello_world".into(),
                language_code: "en_US".into(),
                components: Vec::new(),
                rendered_body: String::new(),
            }),
            None,
            envelope(
                "template",
                json!({ "name": "hello_world", "language": { "code": "en_US" } }),
            ),
        ),
    ];

    let expected_count = cases.len();
    for (content, reply, expected) in cases {
        let kind = content.kind_name();
        let wamid = client
            .send(TOKEN, PHONE, CUSTOMER, &content, reply)
            .await
            .unwrap_or_else(|e| panic!("{kind} is sent: {e}"));
        let sent = sim.sent();
        let record = sent.last().expect("the simulator recorded the send");
        assert_eq!(
            record.wamid, wamid,
            "{kind}: the wamid answered is the one recorded"
        );
        assert_eq!(record.phone_number_id, PHONE);
        assert_eq!(record.to, CUSTOMER);
        assert_eq!(record.body, expected, "{kind}: the body on the wire");
    }
    assert_eq!(sim.sent().len(), expected_count);
    assert_eq!(
        sim.requests(),
        expected_count,
        "one request per send, no retries"
    );
    let wamids: std::collections::HashSet<_> = sim.sent().into_iter().map(|s| s.wamid).collect();
    assert_eq!(wamids.len(), expected_count, "each send gets its own wamid");
    sim.stop().await;
}

#[tokio::test]
async fn received_only_kinds_are_unsendable_and_never_reach_whatsapp() {
    let (sim, client) = start(config(), fast_retries()).await;
    let unsendable = [
        Content::Button(ButtonReply {
            text: "Sí".into(),
            payload: "YES".into(),
        }),
        Content::Unsupported(Unsupported {
            whatsapp_type: "order".into(),
            raw_json: "{}".into(),
        }),
        Content::Media(media(MediaKind::Image)),
    ];
    for content in &unsendable {
        let err = client
            .send(TOKEN, PHONE, CUSTOMER, content, None)
            .await
            .expect_err("unsendable");
        assert!(matches!(err, GraphError::Unsendable(_)), "{err:?}");
    }
    assert_eq!(sim.requests(), 0);
    sim.stop().await;
}

#[tokio::test]
async fn a_template_with_the_wrong_parameter_count_is_rejected_with_132000_without_retry() {
    let (sim, client) = start(config(), fast_retries()).await;
    let err = client
        .send(TOKEN, PHONE, CUSTOMER, &order_message(&["Ana"]), None)
        .await
        .expect_err("one body parameter of two");
    match &err {
        GraphError::Rejected { status, error } => {
            assert_eq!(*status, 400);
            assert_eq!(error.code, 132_000);
            assert_eq!(
                error.title,
                "Number of parameters does not match the expected number of params"
            );
            assert!(error.details.contains("body"), "{}", error.details);
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert_eq!(sim.requests(), 1);
    assert!(sim.sent().is_empty());
    sim.stop().await;
}

#[tokio::test]
async fn http_429_twice_then_success_is_ok_after_three_attempts() {
    let (sim, client) = start(config(), fast_retries()).await;
    sim.fail_next(2, Fault::Http429);
    let wamid = client
        .send(TOKEN, PHONE, CUSTOMER, &text("hola"), None)
        .await
        .expect("the third attempt passes");
    assert_eq!(sim.requests(), 3);
    assert_eq!(sim.sent().len(), 1);
    assert_eq!(sim.sent()[0].wamid, wamid);
    sim.stop().await;
}

#[tokio::test]
async fn rate_limit_codes_under_http_400_are_retried() {
    let (sim, client) = start(config(), fast_retries()).await;
    sim.fail_next(1, Fault::RateLimit130429);
    sim.fail_next(
        1,
        Fault::Reject(
            131_056,
            "(Business Account, Consumer Account) pair rate limit hit".into(),
        ),
    );
    client
        .send(TOKEN, PHONE, CUSTOMER, &text("hola"), None)
        .await
        .expect("passes after the throughput and pair rate limits");
    assert_eq!(sim.requests(), 3);
    assert_eq!(sim.sent().len(), 1);
    sim.stop().await;
}

#[tokio::test]
async fn retry_after_is_honoured_up_to_the_backoff_cap() {
    let policy = RetryPolicy {
        max_attempts: 2,
        initial_backoff: ms(1),
        max_backoff: ms(400),
    };
    let (sim, client) = start(config(), policy).await;
    sim.fail_next(1, Fault::Http429RetryAfter(30));
    let started = Instant::now();
    client
        .send(TOKEN, PHONE, CUSTOMER, &text("hola"), None)
        .await
        .expect("passes on the second attempt");
    let waited = started.elapsed();
    // Jitter alone would wait at most 1 ms; Retry-After asked for 30 s, capped at 400 ms.
    assert!(waited >= ms(400), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    assert_eq!(sim.requests(), 2);
    sim.stop().await;
}

#[tokio::test]
async fn server_errors_on_every_attempt_end_unavailable_with_the_last_error() {
    let (sim, client) = start(config(), fast_retries()).await;
    sim.fail_next(4, Fault::Http500);
    let err = client
        .send(TOKEN, PHONE, CUSTOMER, &text("hola"), None)
        .await
        .expect_err("still failing after 4 attempts");
    match &err {
        GraphError::Unavailable {
            attempts,
            last,
            error,
        } => {
            assert_eq!(*attempts, 4);
            assert!(last.contains("500"), "{last}");
            assert_eq!(error.as_ref().map(|e| e.code), Some(131_000));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(err.is_transient());
    assert_eq!(sim.requests(), 4);
    assert!(sim.sent().is_empty());

    // 503 then success: a short outage is invisible to the caller.
    sim.fail_next(1, Fault::Http503);
    client
        .send(TOKEN, PHONE, CUSTOMER, &text("hola"), None)
        .await
        .expect("passes after one 503");
    assert_eq!(sim.requests(), 6);
    sim.stop().await;
}

#[tokio::test]
async fn a_permanent_refusal_is_rejected_after_exactly_one_request() {
    let (sim, client) = start(config(), fast_retries()).await;
    sim.fail_next(1, Fault::Reject(131_026, "Message undeliverable".into()));
    let err = client
        .send(TOKEN, PHONE, CUSTOMER, &text("hola"), None)
        .await
        .expect_err("refused");
    match err {
        GraphError::Rejected { status, error } => {
            assert_eq!(status, 400);
            assert_eq!(error.code, 131_026);
            assert_eq!(error.title, "Message undeliverable");
            assert_eq!(error.message, "(#131026) Message undeliverable");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(sim.requests(), 1);
    sim.stop().await;
}

#[tokio::test]
async fn a_bad_token_or_a_foreign_number_is_rejected_at_once() {
    let (sim, client) = start(config(), fast_retries()).await;
    let err = client
        .send("EAAG-expired", PHONE, CUSTOMER, &text("hola"), None)
        .await
        .expect_err("bad token");
    match err {
        GraphError::Rejected { status, error } => {
            assert_eq!((status, error.code), (401, 190));
        }
        other => panic!("expected Rejected 401/190, got {other:?}"),
    }
    // A valid token that does not own the number: Graph's "object does not exist".
    let err = client
        .send(OTHER_TOKEN, PHONE, CUSTOMER, &text("hola"), None)
        .await
        .expect_err("foreign number");
    match err {
        GraphError::Rejected { status, error } => assert_eq!((status, error.code), (400, 100)),
        other => panic!("expected Rejected 400/100, got {other:?}"),
    }
    assert_eq!(sim.requests(), 2);
    sim.stop().await;
}

#[tokio::test]
async fn a_timed_out_send_is_retried_and_may_reach_whatsapp_twice() {
    let (sim, client) = start(config(), fast_retries()).await;
    let client = client.with_timeout(ms(300));
    sim.fail_next(1, Fault::Stall(ms(700)));
    let wamid = client
        .send(TOKEN, PHONE, CUSTOMER, &text("hola"), None)
        .await
        .expect("the retry passes");
    assert_eq!(sim.requests(), 2);
    // The stalled first request still went through: WhatsApp has no idempotency key, so a
    // timeout can cost a duplicate. Callers store the wamid of the attempt that answered.
    tokio::time::sleep(ms(700)).await;
    let sent = sim.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].wamid, wamid, "the retry answered first");
    sim.stop().await;
}

#[tokio::test]
async fn uploaded_media_comes_back_byte_for_byte_through_media_info_and_download() {
    let (sim, client) = start(config(), fast_retries()).await;
    let bytes: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let id = client
        .upload_media(TOKEN, PHONE, "image/png", "photo.png", bytes.clone())
        .await
        .expect("upload");
    let info = client.media_info(TOKEN, &id).await.expect("media info");
    assert_eq!(info.mime_type, "image/png");
    assert_eq!(info.file_size, 70_000);
    assert_eq!(info.sha256, hex::encode(Sha256::digest(&bytes)));
    let downloaded = client.download(TOKEN, &info.url).await.expect("download");
    assert_eq!(downloaded, bytes);

    // Another business sees neither the media nor its bytes.
    match client.media_info(OTHER_TOKEN, &id).await {
        Err(GraphError::Rejected { status: 400, error }) => assert_eq!(error.code, 100),
        other => panic!("expected Rejected 400/100, got {other:?}"),
    }
    match client.download(OTHER_TOKEN, &info.url).await {
        Err(GraphError::Rejected { status: 401, .. }) => {}
        other => panic!("expected Rejected 401, got {other:?}"),
    }
    // An unsupported type is refused at upload.
    match client
        .upload_media(
            TOKEN,
            PHONE,
            "application/x-msdownload",
            "a.exe",
            vec![1, 2, 3],
        )
        .await
    {
        Err(GraphError::Rejected { status: 400, error }) => assert_eq!(error.code, 100),
        other => panic!("expected Rejected 400/100, got {other:?}"),
    }
    sim.stop().await;
}

#[tokio::test]
async fn templates_are_listed_across_every_page() {
    let mut config = config();
    config.templates = (0..230)
        .map(|i| {
            SimTemplate::approved(
                WABA,
                &format!("promo_{i:03}"),
                "es_MX",
                "MARKETING",
                "Hola {{1}}, {{2}} de descuento",
            )
        })
        .collect();
    config
        .templates
        .push(order_template().with_status("PAUSED"));
    config.templates.push(SimTemplate::approved(
        OTHER_WABA,
        "not_yours",
        "en_US",
        "UTILITY",
        "Hi",
    ));
    let (sim, client) = start(config, fast_retries()).await;

    let templates = client.templates(TOKEN, WABA).await.expect("templates");
    assert_eq!(
        templates.len(),
        231,
        "every page of this WABA, no other WABA's"
    );
    let names: Vec<&str> = templates.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names[0], "promo_000");
    assert_eq!(names[229], "promo_229");
    assert_eq!(templates[0].body_parameter_count, 2);
    assert!(!templates[0].id.is_empty());

    let order = &templates[230];
    assert_eq!(order.name, "order_update");
    assert_eq!(order.language, "es_MX");
    assert_eq!(order.status, "PAUSED");
    assert_eq!(order.category, "UTILITY");
    assert_eq!(order.header_format, "IMAGE");
    assert_eq!(order.body_text, "Hola {{1}}, tu pedido {{2}} va en camino.");
    assert_eq!(order.footer_text, "Gracias por tu compra");
    assert_eq!(order.body_parameter_count, 2);
    assert_eq!(order.buttons.len(), 2);
    assert_eq!(order.buttons[0].kind, "QUICK_REPLY");
    assert_eq!(order.buttons[1].kind, "URL");
    assert_eq!(order.buttons[1].value, "https://t.example/track/{{1}}");

    match client.templates(TOKEN, OTHER_WABA).await {
        Err(GraphError::Rejected { status: 400, error }) => assert_eq!(error.code, 100),
        other => panic!("expected Rejected 400/100, got {other:?}"),
    }
    sim.stop().await;
}

/// Signature header and raw body of each webhook POST received.
type Hits = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A webhook receiver that records the signature header and the raw body of each POST.
struct Receiver {
    url: String,
    hits: Hits,
}

impl Receiver {
    async fn start() -> Self {
        let hits: Hits = Arc::default();
        let app = Router::new()
            .route(
                "/webhooks/whatsapp",
                post(
                    |State(hits): State<Hits>, headers: HeaderMap, body: Bytes| async move {
                        let signature = headers
                            .get("x-hub-signature-256")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        hits.lock().unwrap().push((signature, body.to_vec()));
                        "EVENT_RECEIVED"
                    },
                ),
            )
            .with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{addr}/webhooks/whatsapp"),
            hits,
        }
    }

    async fn wait_for(&self, n: usize) -> Vec<(String, Vec<u8>)> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let hits = self.hits.lock().unwrap().clone();
            if hits.len() >= n || Instant::now() > deadline {
                return hits;
            }
            tokio::time::sleep(ms(10)).await;
        }
    }
}

/// Verifies `sha256=<hex>` over the raw body in constant time, as the channel must.
fn signed_by(secret: &str, header: &str, body: &[u8]) -> bool {
    let Some(hex_digest) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(digest) = hex::decode(hex_digest) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.verify_slice(&digest).is_ok()
}

#[tokio::test]
async fn status_callbacks_arrive_signed_in_order_and_shaped_like_meta() {
    let receiver = Receiver::start().await;
    let mut config = config();
    config.webhook_url = Some(receiver.url.clone());
    config.status_callbacks = StatusPlan::default();
    config.callback_delay = ms(10);
    let (sim, client) = start(config, fast_retries()).await;

    let wamid = client
        .send(
            TOKEN,
            PHONE,
            CUSTOMER,
            &order_message(&["Ana", "#1234"]),
            None,
        )
        .await
        .expect("send");
    let hits = receiver.wait_for(3).await;
    assert_eq!(hits.len(), 3, "sent, delivered and read");

    let mut statuses = Vec::new();
    for (signature, body) in &hits {
        assert!(signed_by(SECRET, signature, body), "signature {signature}");
        assert!(!signed_by("another-secret", signature, body));
        let payload: Value = serde_json::from_slice(body).expect("json");
        assert_eq!(payload["object"], "whatsapp_business_account");
        let entry = &payload["entry"][0];
        assert_eq!(entry["id"], WABA);
        assert_eq!(entry["changes"][0]["field"], "messages");
        let value = &entry["changes"][0]["value"];
        assert_eq!(value["messaging_product"], "whatsapp");
        assert_eq!(value["metadata"]["phone_number_id"], PHONE);
        assert!(value["metadata"]["display_phone_number"].is_string());
        let status = value["statuses"][0].clone();
        assert_eq!(status["id"], wamid.as_str());
        assert_eq!(status["recipient_id"], CUSTOMER);
        let timestamp = status["timestamp"].as_str().expect("timestamp is a string");
        assert!(
            timestamp.parse::<u64>().is_ok(),
            "unix seconds: {timestamp}"
        );
        statuses.push(status);
    }
    let names: Vec<&str> = statuses
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sent", "delivered", "read"]);

    let sent = &statuses[0];
    assert!(sent["conversation"]["id"].is_string());
    assert!(sent["conversation"]["expiration_timestamp"].is_string());
    assert_eq!(sent["conversation"]["origin"]["type"], "utility");
    assert_eq!(sent["pricing"]["category"], "utility");
    assert_eq!(sent["pricing"]["pricing_model"], "CBP");
    assert!(sent["pricing"]["billable"].is_boolean());
    assert_eq!(
        statuses[1]["conversation"]["id"],
        sent["conversation"]["id"]
    );
    assert!(statuses[2].get("conversation").is_none());

    // A failure reported later carries Meta's error object.
    assert_eq!(
        sim.fail_status(&wamid, 131_026, "Message undeliverable")
            .await
            .expect("posted"),
        200
    );
    let hits = receiver.wait_for(4).await;
    let (signature, body) = &hits[3];
    assert!(signed_by(SECRET, signature, body));
    let payload: Value = serde_json::from_slice(body).unwrap();
    let failed = &payload["entry"][0]["changes"][0]["value"]["statuses"][0];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["errors"][0]["code"], 131_026);
    assert_eq!(failed["errors"][0]["title"], "Message undeliverable");
    assert!(failed["errors"][0]["error_data"]["details"].is_string());
    sim.stop().await;
}

#[tokio::test]
async fn a_received_message_can_be_marked_read_and_an_unknown_one_cannot() {
    let receiver = Receiver::start().await;
    let mut config = config();
    config.webhook_url = Some(receiver.url.clone());
    let (sim, client) = start(config, fast_retries()).await;

    let (wamid, answered) = sim
        .customer_writes(
            PHONE,
            CUSTOMER,
            "Ana",
            json!({ "type": "text", "text": { "body": "hola" } }),
        )
        .await
        .expect("inbound webhook posted");
    assert_eq!(answered, 200);
    let hits = receiver.wait_for(1).await;
    let inbound: Value = serde_json::from_slice(&hits[0].1).unwrap();
    let value = &inbound["entry"][0]["changes"][0]["value"];
    assert_eq!(value["contacts"][0]["wa_id"], CUSTOMER);
    assert_eq!(value["contacts"][0]["profile"]["name"], "Ana");
    assert_eq!(value["messages"][0]["id"], wamid.as_str());
    assert_eq!(value["messages"][0]["from"], CUSTOMER);
    assert_eq!(value["messages"][0]["text"]["body"], "hola");

    client
        .mark_read(TOKEN, PHONE, &wamid)
        .await
        .expect("marked read");
    assert_eq!(sim.marked_read(), [wamid]);

    match client.mark_read(TOKEN, PHONE, "wamid.not-received").await {
        Err(GraphError::Rejected { status: 400, error }) => assert_eq!(error.code, 131_009),
        other => panic!("expected Rejected 400/131009, got {other:?}"),
    }
    sim.stop().await;
}

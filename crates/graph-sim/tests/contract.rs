//! The simulator over plain HTTP, with no WhatsApp client in between: Graph's auth and error
//! answers, paging, uploads, the webhook behaviour (retries until 200, duplicates, shuffled
//! order, the 24-hour window) and the `/_sim/` controls a person drives with curl.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, extract::State, http::StatusCode, routing::post};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::multipart;
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard_graph_sim::{
    CallbackStatus, SimAccount, SimConfig, SimHandle, SimTemplate, Simulator, StatusPlan,
};

const PHONE: &str = "111000111";
const WABA: &str = "222000222";
const TOKEN: &str = "tok-1";
const SECRET: &str = "s3cret";
const CUSTOMER: &str = "5215511112222";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config() -> SimConfig {
    SimConfig {
        app_secret: SECRET.into(),
        accounts: vec![SimAccount::new(PHONE, WABA, TOKEN)],
        templates: vec![SimTemplate::hello_world(WABA)],
        status_callbacks: StatusPlan::none(),
        callback_delay: ms(5),
        ..SimConfig::default()
    }
}

type Hits = Arc<Mutex<Vec<Value>>>;

/// A webhook receiver that answers the queued statuses (then 200) and keeps the verified
/// payloads of the POSTs it answered 200.
struct Receiver {
    url: String,
    hits: Hits,
}

impl Receiver {
    async fn start(answers: Vec<u16>) -> Self {
        #[derive(Clone)]
        struct Rx {
            hits: Hits,
            answers: Arc<Mutex<VecDeque<u16>>>,
        }
        let rx = Rx {
            hits: Arc::default(),
            answers: Arc::new(Mutex::new(answers.into())),
        };
        let app = Router::new()
            .route(
                "/hook",
                post(
                    |State(rx): State<Rx>, headers: axum::http::HeaderMap, body: Bytes| async move {
                        let signature = headers
                            .get("x-hub-signature-256")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.strip_prefix("sha256="))
                            .and_then(|v| hex::decode(v).ok())
                            .unwrap_or_default();
                        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
                        mac.update(&body);
                        if mac.verify_slice(&signature).is_err() {
                            return StatusCode::UNAUTHORIZED;
                        }
                        let answer = rx.answers.lock().unwrap().pop_front().unwrap_or(200);
                        if answer == 200 {
                            rx.hits
                                .lock()
                                .unwrap()
                                .push(serde_json::from_slice(&body).unwrap());
                        }
                        StatusCode::from_u16(answer).unwrap()
                    },
                ),
            )
            .with_state(rx.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{addr}/hook"),
            hits: rx.hits,
        }
    }

    async fn wait_for(&self, n: usize) -> Vec<Value> {
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

fn statuses(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .filter_map(|h| h["entry"][0]["changes"][0]["value"]["statuses"][0]["status"].as_str())
        .map(str::to_owned)
        .collect()
}

async fn post_json(url: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn messages_url(sim: &SimHandle) -> String {
    format!("{}/v21.0/{PHONE}/messages", sim.base_url())
}

fn hello(to: &str) -> Value {
    json!({ "messaging_product": "whatsapp", "to": to, "type": "text", "text": { "body": "hello" } })
}

#[tokio::test]
async fn graph_auth_and_path_errors_look_like_graph() {
    let sim = Simulator::start(config()).await.unwrap();
    let url = messages_url(&sim);

    let (status, body) = post_json(&url, None, hello(CUSTOMER)).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (401, Some(190)));
    assert_eq!(body["error"]["type"], "OAuthException");
    assert!(body["error"]["fbtrace_id"].is_string());

    let unknown = format!("{}/v21.0/999/messages", sim.base_url());
    let (status, body) = post_json(&unknown, Some(TOKEN), hello(CUSTOMER)).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(100)));
    assert_eq!(body["error"]["error_subcode"], 33);

    // Graph also takes the token as ?access_token=.
    let with_query = format!("{url}?access_token={TOKEN}");
    let (status, body) = post_json(&with_query, None, hello(CUSTOMER)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(body["contacts"][0]["input"], CUSTOMER);
    assert_eq!(body["contacts"][0]["wa_id"], CUSTOMER);
    assert!(
        body["messages"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("wamid.")
    );

    let bad_version = format!("{}/latest/{PHONE}/messages", sim.base_url());
    let (status, body) = post_json(&bad_version, Some(TOKEN), hello(CUSTOMER)).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(2500)));
    let (status, body) = post_json(
        &format!("{}/a/b/c/d", sim.base_url()),
        Some(TOKEN),
        json!({}),
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(2500)));

    // Not JSON at all: an answer, not a crash.
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(TOKEN)
        .body("to=1&text=hi")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(sim.requests(), 5);
    assert_eq!(sim.sent().len(), 1);
    sim.stop().await;
}

#[tokio::test]
async fn templates_page_with_cursors_and_next_links() {
    let mut config = config();
    config.templates = (0..5)
        .map(|i| SimTemplate::approved(WABA, &format!("t{i}"), "en_US", "UTILITY", "Hi {{1}}"))
        .collect();
    let sim = Simulator::start(config).await.unwrap();
    let http = reqwest::Client::new();
    let mut url = format!("{}/v21.0/{WABA}/message_templates?limit=2", sim.base_url());
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let page: Value = http
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pages += 1;
        for t in page["data"].as_array().unwrap() {
            names.push(t["name"].as_str().unwrap().to_owned());
            assert_eq!(t["components"][0]["type"], "BODY");
            assert_eq!(t["status"], "APPROVED");
        }
        assert!(page["paging"]["cursors"]["after"].is_string());
        match page["paging"]["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["t0", "t1", "t2", "t3", "t4"]);

    let huge = format!(
        "{}/v21.0/{WABA}/message_templates?limit={}",
        sim.base_url(),
        usize::MAX
    );
    let page: Value = http
        .get(&huge)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["data"].as_array().map(Vec::len), Some(5));
    assert!(page["paging"].get("next").is_none());

    let bad_cursor = format!(
        "{}/v21.0/{WABA}/message_templates?after=bm9wZQ",
        sim.base_url()
    );
    let response = http
        .get(&bad_cursor)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    sim.stop().await;
}

#[tokio::test]
async fn uploads_need_the_fields_meta_needs() {
    let sim = Simulator::start(config()).await.unwrap();
    let url = format!("{}/v21.0/{PHONE}/media", sim.base_url());
    let http = reqwest::Client::new();
    let upload = |form: multipart::Form| http.post(&url).bearer_auth(TOKEN).multipart(form).send();

    let no_file = multipart::Form::new()
        .text("messaging_product", "whatsapp")
        .text("type", "image/jpeg");
    let answer: Value = upload(no_file).await.unwrap().json().await.unwrap();
    assert_eq!(answer["error"]["code"], 131_008);

    let file = || multipart::Part::bytes(vec![0xff, 0xd8, 0xff]).file_name("a.jpg");
    let no_product = multipart::Form::new()
        .text("type", "image/jpeg")
        .part("file", file());
    let answer: Value = upload(no_product).await.unwrap().json().await.unwrap();
    assert_eq!(answer["error"]["code"], 131_008);

    let complete = multipart::Form::new()
        .text("messaging_product", "whatsapp")
        .text("type", "image/jpeg")
        .part("file", file());
    let answer: Value = upload(complete).await.unwrap().json().await.unwrap();
    let id = answer["id"].as_str().expect("a media id");
    assert!(id.bytes().all(|b| b.is_ascii_digit()));

    let not_multipart = http
        .post(&url)
        .bearer_auth(TOKEN)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(not_multipart.status(), 400);
    sim.stop().await;
}

#[tokio::test]
async fn status_webhooks_are_retried_until_the_receiver_answers_200() {
    let receiver = Receiver::start(vec![500, 503]).await;
    let mut config = config();
    config.webhook_url = Some(receiver.url.clone());
    config.status_callbacks = StatusPlan {
        statuses: vec![CallbackStatus::Sent],
        ..StatusPlan::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    let (status, _) = post_json(&messages_url(&sim), Some(TOKEN), hello(CUSTOMER)).await;
    assert_eq!(status, 200);
    let hits = receiver.wait_for(1).await;
    assert_eq!(statuses(&hits), ["sent"]);
    let deliveries = sim.wait_for_deliveries(1, Duration::from_secs(5)).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].attempts, 3);
    assert_eq!(deliveries[0].last_status, Some(200));
    sim.stop().await;
}

#[tokio::test]
async fn status_webhooks_can_come_twice_and_out_of_order() {
    let receiver = Receiver::start(Vec::new()).await;
    let mut config = config();
    config.webhook_url = Some(receiver.url.clone());
    config.status_callbacks = StatusPlan {
        deliver_twice: true,
        shuffle: true,
        ..StatusPlan::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    post_json(&messages_url(&sim), Some(TOKEN), hello(CUSTOMER)).await;
    let hits = receiver.wait_for(6).await;
    let mut seen = statuses(&hits);
    assert_eq!(seen.len(), 6);
    for pair in seen.chunks(2) {
        assert_eq!(pair[0], pair[1], "each status twice in a row");
    }
    seen.sort();
    assert_eq!(
        seen,
        ["delivered", "delivered", "read", "read", "sent", "sent"]
    );
    // Timestamps keep the real order whatever the posting order.
    let stamp = |status: &str| {
        hits.iter()
            .map(|h| &h["entry"][0]["changes"][0]["value"]["statuses"][0])
            .find(|s| s["status"] == status)
            .and_then(|s| s["timestamp"].as_str())
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap()
    };
    assert!(stamp("sent") < stamp("delivered") && stamp("delivered") < stamp("read"));
    sim.stop().await;
}

#[tokio::test]
async fn outside_the_service_window_free_form_sends_fail_with_131047_and_templates_pass() {
    let receiver = Receiver::start(Vec::new()).await;
    let mut config = config();
    config.webhook_url = Some(receiver.url.clone());
    config.enforce_service_window = true;
    config.status_callbacks = StatusPlan {
        statuses: vec![CallbackStatus::Sent],
        ..StatusPlan::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    let url = messages_url(&sim);

    // Accepted synchronously, failed asynchronously: as with Meta.
    let (status, _) = post_json(&url, Some(TOKEN), hello(CUSTOMER)).await;
    assert_eq!(status, 200);
    let hits = receiver.wait_for(1).await;
    let failed = &hits[0]["entry"][0]["changes"][0]["value"]["statuses"][0];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["errors"][0]["code"], 131_047);

    let template = json!({
        "messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
        "template": { "name": "hello_world", "language": { "code": "en_US" } },
    });
    let (status, body) = post_json(&url, Some(TOKEN), template).await;
    assert_eq!(status, 200);
    assert_eq!(body["messages"][0]["message_status"], "accepted");
    assert_eq!(statuses(&receiver.wait_for(2).await), ["failed", "sent"]);

    let (_, answered) = sim
        .customer_writes(
            PHONE,
            CUSTOMER,
            "Ana",
            json!({ "type": "text", "text": { "body": "hola" } }),
        )
        .await
        .unwrap();
    assert_eq!(answered, 200);
    post_json(&url, Some(TOKEN), hello(CUSTOMER)).await;
    let hits = receiver.wait_for(4).await;
    assert_eq!(statuses(&hits), ["failed", "sent", "sent"]);
    sim.stop().await;
}

#[tokio::test]
async fn the_sim_controls_work_over_http() {
    let receiver = Receiver::start(Vec::new()).await;
    let sim = Simulator::start(config()).await.unwrap();
    let base = sim.base_url();
    let http = reqwest::Client::new();

    // Without a webhook URL an inbound message cannot be delivered.
    let inbound = json!({ "phone_number_id": PHONE, "wa_id": CUSTOMER, "profile_name": "Ana", "text": "hola" });
    let (status, body) = post_json(&format!("{base}/_sim/inbound"), None, inbound.clone()).await;
    assert_eq!(status, 400, "{body}");

    let (status, _) = post_json(
        &format!("{base}/_sim/webhook_url"),
        None,
        json!({ "url": receiver.url }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post_json(&format!("{base}/_sim/inbound"), None, inbound).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], 200);
    let hits = receiver.wait_for(1).await;
    let message = &hits[0]["entry"][0]["changes"][0]["value"]["messages"][0];
    assert_eq!(message["id"], body["wamid"]);
    assert_eq!(message["text"]["body"], "hola");

    // Media added through /_sim/media can be sent by id.
    let added: Value = http
        .post(format!(
            "{base}/_sim/media?phone_number_id={PHONE}&mime_type=image/png"
        ))
        .body(vec![1u8, 2, 3])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let image = json!({ "messaging_product": "whatsapp", "to": CUSTOMER, "type": "image", "image": { "id": added["id"] } });
    let (status, _) = post_json(&messages_url(&sim), Some(TOKEN), image).await;
    assert_eq!(status, 200);

    let (status, body) = post_json(
        &format!("{base}/_sim/fail_next"),
        None,
        json!({ "count": 2, "fault": "http429", "retry_after": 1 }),
    )
    .await;
    assert_eq!((status, body["queued"].as_u64()), (200, Some(2)));
    for _ in 0..2 {
        let response = http
            .post(messages_url(&sim))
            .bearer_auth(TOKEN)
            .json(&hello(CUSTOMER))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "1");
    }
    let (status, _) = post_json(
        &format!("{base}/_sim/fail_next"),
        None,
        json!({ "fault": "meteor" }),
    )
    .await;
    assert_eq!(status, 400);

    let sent: Value = http
        .get(format!("{base}/_sim/sent"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent.as_array().unwrap().len(), 1);
    let requests: Value = http
        .get(format!("{base}/_sim/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(requests["requests"], 3);

    let wamid = sent[0]["wamid"].clone();
    let (status, body) = post_json(
        &format!("{base}/_sim/fail_status"),
        None,
        json!({ "wamid": wamid, "code": 131_026 }),
    )
    .await;
    assert_eq!((status, body["status"].as_u64()), (200, Some(200)));
    let hits = receiver.wait_for(2).await;
    assert_eq!(statuses(&hits), ["failed"]);
    let (status, _) = post_json(
        &format!("{base}/_sim/fail_status"),
        None,
        json!({ "wamid": "wamid.unknown" }),
    )
    .await;
    assert_eq!(status, 400);

    let deliveries: Value = http
        .get(format!("{base}/_sim/deliveries"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deliveries.as_array().unwrap().len(), 2);
    let (status, _) = post_json(
        &format!("{base}/_sim/inbound"),
        None,
        json!({ "nonsense": true }),
    )
    .await;
    assert_eq!(status, 400);
    sim.stop().await;
}

#[tokio::test]
async fn start_on_serves_on_the_given_listener() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sim = Simulator::start_on(config(), listener).await.unwrap();
    assert_eq!(sim.base_url(), format!("http://127.0.0.1:{port}"));
    let (status, _) = post_json(&messages_url(&sim), Some(TOKEN), hello(CUSTOMER)).await;
    assert_eq!(status, 200);
    sim.stop().await;
}

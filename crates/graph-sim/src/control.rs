//! `/_sim/…`: the simulator's controls over HTTP, for people driving it with curl.

use std::{collections::HashMap, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Fault, state::Shared, webhook};

/// More queued faults than any test needs; a bound keeps a typo from exhausting memory.
const MAX_QUEUED: usize = 10_000;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sim/sent", get(sent))
        .route("/_sim/requests", get(requests))
        .route("/_sim/marked_read", get(marked_read))
        .route("/_sim/deliveries", get(deliveries))
        .route("/_sim/inbound", post(inbound))
        .route("/_sim/fail_next", post(fail_next))
        .route("/_sim/fail_status", post(fail_status))
        .route("/_sim/webhook_url", post(webhook_url))
        .route("/_sim/media", post(add_media))
        .with_state(shared)
}

fn bad_request(message: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.to_string() })),
    )
        .into_response()
}

fn body<T: for<'de> Deserialize<'de>>(raw: &[u8]) -> Result<T, String> {
    serde_json::from_slice(raw).map_err(|e| e.to_string())
}

async fn sent(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.state().sent.clone()).into_response()
}

async fn requests(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!({ "requests": shared.state().requests })).into_response()
}

async fn marked_read(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.state().marked_read.clone()).into_response()
}

async fn deliveries(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.state().deliveries.clone()).into_response()
}

#[derive(Deserialize)]
struct Inbound {
    phone_number_id: String,
    wa_id: String,
    #[serde(default)]
    profile_name: String,
    /// A text message's body…
    #[serde(default)]
    text: Option<String>,
    /// …or the per-type part of any message, e.g. `{"type":"location","location":{…}}`.
    #[serde(default)]
    message: Option<Value>,
}

async fn inbound(State(shared): State<Arc<Shared>>, raw: Bytes) -> Response {
    let request: Inbound = match body(&raw) {
        Ok(r) => r,
        Err(error) => return bad_request(error),
    };
    let message = match (request.message, request.text) {
        (Some(message), _) => message,
        (None, Some(text)) => json!({ "type": "text", "text": { "body": text } }),
        (None, None) => return bad_request("give \"text\" or \"message\""),
    };
    match webhook::customer_writes(
        &shared,
        &request.phone_number_id,
        &request.wa_id,
        &request.profile_name,
        message,
    )
    .await
    {
        Ok((wamid, status)) => Json(json!({ "wamid": wamid, "status": status })).into_response(),
        Err(err) => bad_request(format!("{err:#}")),
    }
}

#[derive(Deserialize)]
struct FailNext {
    #[serde(default = "one")]
    count: usize,
    /// `http429`, `rate_limit_130429`, `http500`, `http503`, `reject` or `stall`.
    fault: String,
    /// `reject`: the error code and message.
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
    /// `http429`: a Retry-After in seconds. `stall`: how long, in milliseconds (`millis`).
    #[serde(default)]
    retry_after: Option<u64>,
    #[serde(default)]
    millis: Option<u64>,
}

fn one() -> usize {
    1
}

async fn fail_next(State(shared): State<Arc<Shared>>, raw: Bytes) -> Response {
    let request: FailNext = match body(&raw) {
        Ok(r) => r,
        Err(error) => return bad_request(error),
    };
    if request.count > MAX_QUEUED {
        return bad_request(format!("count must be at most {MAX_QUEUED}"));
    }
    let fault = match request.fault.as_str() {
        "http429" => match request.retry_after {
            Some(seconds) => Fault::Http429RetryAfter(seconds),
            None => Fault::Http429,
        },
        "rate_limit_130429" => Fault::RateLimit130429,
        "http500" => Fault::Http500,
        "http503" => Fault::Http503,
        "reject" => Fault::Reject(
            request.code.unwrap_or(131_026),
            request
                .message
                .unwrap_or_else(|| "Message undeliverable".to_owned()),
        ),
        "stall" => Fault::Stall(Duration::from_millis(request.millis.unwrap_or(15_000))),
        other => return bad_request(format!("unknown fault {other:?}")),
    };
    let queued = {
        let mut state = shared.state();
        state
            .faults
            .extend(std::iter::repeat_n(fault, request.count));
        state.faults.len()
    };
    Json(json!({ "queued": queued })).into_response()
}

#[derive(Deserialize)]
struct FailStatus {
    wamid: String,
    #[serde(default = "undeliverable")]
    code: i64,
    #[serde(default)]
    title: Option<String>,
}

fn undeliverable() -> i64 {
    131_026
}

async fn fail_status(State(shared): State<Arc<Shared>>, raw: Bytes) -> Response {
    let request: FailStatus = match body(&raw) {
        Ok(r) => r,
        Err(error) => return bad_request(error),
    };
    let title = request
        .title
        .unwrap_or_else(|| "Message undeliverable".to_owned());
    match webhook::fail_status(&shared, &request.wamid, request.code, &title).await {
        Ok(status) => Json(json!({ "status": status })).into_response(),
        Err(err) => bad_request(format!("{err:#}")),
    }
}

#[derive(Deserialize)]
struct WebhookUrl {
    url: Option<String>,
}

async fn webhook_url(State(shared): State<Arc<Shared>>, raw: Bytes) -> Response {
    let request: WebhookUrl = match body(&raw) {
        Ok(r) => r,
        Err(error) => return bad_request(error),
    };
    shared.set_webhook_url(request.url.filter(|u| !u.is_empty()));
    Json(json!({ "url": shared.webhook_url() })).into_response()
}

async fn add_media(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
    raw: Bytes,
) -> Response {
    let (Some(number), Some(mime_type)) = (params.get("phone_number_id"), params.get("mime_type"))
    else {
        return bad_request("give ?phone_number_id=…&mime_type=… and the bytes as the body");
    };
    if shared.account(number).is_none() {
        return bad_request(format!("unknown phone number id {number}"));
    }
    let id = shared.store_media(number, mime_type, "", Arc::new(raw.to_vec()));
    Json(json!({ "id": id })).into_response()
}

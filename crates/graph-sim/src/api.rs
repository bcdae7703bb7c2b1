//! The Graph API endpoints: messages, media upload / info / download, message templates.

use std::{collections::HashMap, sync::Arc};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, OriginalUri, Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

use crate::{
    Fault, SentRecord, SimTemplate, ids, multipart,
    state::{SendMeta, Shared, now_secs},
    validate::{self, ApiError, Ctx, Request},
    webhook,
};

/// Meta's largest media (documents, 100 MB) plus multipart overhead.
const BODY_LIMIT: usize = 101 * 1024 * 1024;

/// Graph's default page size for edges.
const DEFAULT_PAGE: usize = 25;

type Params = Query<HashMap<String, String>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{version}/{node}/messages", post(messages))
        .route("/{version}/{node}/media", post(upload))
        .route("/{version}/{node}/message_templates", get(templates))
        .route("/{version}/{node}", get(media_info))
        .route("/whatsapp_business/attachments/", get(download))
        .fallback(unknown_path)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

async fn unknown_path(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::unknown_path(uri.path())
}

/// The bearer token, from `Authorization: Bearer …` or `?access_token=…` (Graph takes both).
fn token(headers: &HeaderMap, params: &HashMap<String, String>) -> String {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        });
    header
        .or_else(|| params.get("access_token").cloned())
        .unwrap_or_default()
}

/// `v21.0`-style versions only, like Graph.
fn check_version(version: &str) -> Result<(), ApiError> {
    let valid = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit())
        });
    if valid {
        Ok(())
    } else {
        Err(ApiError::unknown_path(&format!("/{version}")))
    }
}

fn fault_response(fault: Fault) -> ApiError {
    match fault {
        Fault::Http429 | Fault::Http429RetryAfter(_) => {
            let mut error = ApiError::whatsapp(
                StatusCode::TOO_MANY_REQUESTS,
                4,
                "Application request limit reached",
                "Too many API calls were made by this app; try again later.",
            );
            if let Fault::Http429RetryAfter(seconds) = fault {
                error.retry_after = Some(seconds);
            }
            error
        }
        Fault::RateLimit130429 => ApiError::whatsapp(
            StatusCode::BAD_REQUEST,
            130_429,
            "Rate limit hit",
            "Cloud API message throughput has been reached.",
        ),
        Fault::Http500 => ApiError::whatsapp(
            StatusCode::INTERNAL_SERVER_ERROR,
            131_000,
            "Something went wrong",
            "Message failed to send due to an unknown error.",
        ),
        Fault::Http503 => ApiError::whatsapp(
            StatusCode::SERVICE_UNAVAILABLE,
            2,
            "Service temporarily unavailable",
            "The service is temporarily unavailable; try again later.",
        ),
        Fault::Reject(code, message) => {
            ApiError::whatsapp(StatusCode::BAD_REQUEST, code, &message, message.clone())
        }
        // Handled before: a stall ends in a normal answer.
        Fault::Stall(_) => ApiError::whatsapp(
            StatusCode::INTERNAL_SERVER_ERROR,
            1,
            "An unknown error occurred",
            "",
        ),
    }
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    Path((version, node)): Path<(String, String)>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = {
        let mut state = shared.state();
        state.requests += 1;
        state.faults.pop_front()
    };
    let token = token(&headers, &params);
    match fault {
        None => handle_messages(&shared, &version, &node, &token, &body).await,
        Some(Fault::Stall(delay)) => {
            // In a task of its own, so the send goes through even when the caller gives up.
            let task = tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                handle_messages(&shared, &version, &node, &token, &body).await
            });
            task.await.unwrap_or_else(|_| {
                ApiError::whatsapp(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    1,
                    "An unknown error occurred",
                    "",
                )
                .into_response()
            })
        }
        Some(fault) => fault_response(fault).into_response(),
    }
}

async fn handle_messages(
    shared: &Arc<Shared>,
    version: &str,
    phone_number_id: &str,
    token: &str,
    body: &[u8],
) -> Response {
    match send(shared, version, phone_number_id, token, body) {
        Ok(answer) => (StatusCode::OK, Json(answer)).into_response(),
        Err(error) => {
            tracing::debug!(phone_number_id, code = error.code, "send refused");
            error.into_response()
        }
    }
}

fn send(
    shared: &Arc<Shared>,
    version: &str,
    phone_number_id: &str,
    token: &str,
    raw: &[u8],
) -> Result<Value, ApiError> {
    check_version(version)?;
    if !shared.token_known(token) {
        return Err(ApiError::invalid_token());
    }
    let account = shared
        .account(phone_number_id)
        .filter(|a| a.token == token)
        .cloned()
        .ok_or_else(|| ApiError::unknown_object(phone_number_id, "post"))?;
    let body: Value = serde_json::from_slice(raw)
        .map_err(|_| ApiError::invalid("The request body is not valid JSON"))?;
    let media_known = |id: &str| {
        shared
            .state()
            .media
            .get(id)
            .is_some_and(|m| m.waba_id == account.waba_id)
    };
    let ctx = Ctx {
        waba_id: &account.waba_id,
        templates: &shared.templates,
        media_known: &media_known,
    };
    match validate::request(&body, &ctx)? {
        Request::MarkRead { message_id } => {
            let mut state = shared.state();
            if state.inbound.get(&message_id).map(String::as_str) != Some(phone_number_id) {
                return Err(ApiError::bad_value(format!(
                    "Param message_id is not a message received by this number: {message_id}"
                )));
            }
            state.marked_read.push(message_id);
            Ok(json!({ "success": true }))
        }
        Request::Send(accepted) => {
            let wamid = ids::wamid(&accepted.wa_id);
            let free_form = accepted.kind != "template";
            let outside_window = shared.enforce_service_window
                && free_form
                && !shared.window_open(phone_number_id, &accepted.wa_id);
            let origin = accepted.category.as_deref().unwrap_or("service");
            let meta = SendMeta {
                phone_number_id: phone_number_id.to_owned(),
                recipient: accepted.wa_id.clone(),
                conversation: shared.conversation(phone_number_id, &accepted.wa_id, origin),
            };
            {
                let mut state = shared.state();
                state.sent.push(SentRecord {
                    phone_number_id: phone_number_id.to_owned(),
                    to: accepted.to.clone(),
                    wamid: wamid.clone(),
                    body,
                });
                state.send_meta.insert(wamid.clone(), meta.clone());
            }
            webhook::after_send(shared.clone(), wamid.clone(), meta, outside_window);
            let mut message = json!({ "id": wamid });
            if !free_form {
                message["message_status"] = "accepted".into();
            }
            Ok(json!({
                "messaging_product": "whatsapp",
                "contacts": [{ "input": accepted.to, "wa_id": accepted.wa_id }],
                "messages": [message],
            }))
        }
    }
}

/// Meta's supported media types and their size limits (bytes).
fn media_limit(mime_type: &str) -> Option<usize> {
    const MB: usize = 1024 * 1024;
    let essence = mime_type.split(';').next().unwrap_or_default().trim();
    Some(match essence {
        "image/jpeg" | "image/png" => 5 * MB,
        "image/webp" => 500 * 1024,
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => 16 * MB,
        "video/mp4" | "video/3gpp" => 16 * MB,
        "text/plain"
        | "application/pdf"
        | "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation" => 100 * MB,
        _ => return None,
    })
}

async fn upload(
    State(shared): State<Arc<Shared>>,
    Path((version, node)): Path<(String, String)>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    check_version(&version)?;
    let token = token(&headers, &params);
    if !shared.token_known(&token) {
        return Err(ApiError::invalid_token());
    }
    if shared.account(&node).is_none_or(|a| a.token != token) {
        return Err(ApiError::unknown_object(&node, "post"));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let parts = multipart::parse(content_type, &body).map_err(ApiError::invalid)?;
    let field = |name: &str| parts.iter().find(|p| p.name == name);
    match field("messaging_product").and_then(|p| p.text()) {
        Some("whatsapp") => {}
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Param messaging_product must be one of {{WHATSAPP}} - got \"{other}\""
            )));
        }
        None => {
            return Err(ApiError::missing(
                "The parameter messaging_product is required.",
            ));
        }
    }
    let file = field("file").ok_or_else(|| ApiError::missing("The parameter file is required."))?;
    let mime_type = field("type")
        .and_then(|p| p.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::missing("The parameter type is required."))?;
    let limit = media_limit(mime_type).ok_or_else(|| {
        ApiError::invalid(format!(
            "Param type is not a supported media type - got \"{mime_type}\""
        ))
    })?;
    if file.data.is_empty() || file.data.len() > limit {
        return Err(ApiError::invalid(format!(
            "Param file must be between 1 byte and {limit} bytes for {mime_type}"
        )));
    }
    let filename = file.filename.clone().unwrap_or_default();
    let id = shared.store_media(&node, mime_type, &filename, Arc::new(file.data.clone()));
    Ok(Json(json!({ "id": id })))
}

async fn media_info(
    State(shared): State<Arc<Shared>>,
    Path((version, node)): Path<(String, String)>,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    check_version(&version)?;
    let token = token(&headers, &params);
    if !shared.token_known(&token) {
        return Err(ApiError::invalid_token());
    }
    let media = shared
        .state()
        .media
        .get(&node)
        .cloned()
        .filter(|m| shared.token_reaches_waba(&token, &m.waba_id))
        .ok_or_else(|| ApiError::unknown_object(&node, "get"))?;
    if params
        .get("phone_number_id")
        .is_some_and(|number| *number != media.phone_number_id)
    {
        return Err(ApiError::invalid(
            "The media was not uploaded to the phone_number_id given",
        ));
    }
    let url = reqwest::Url::parse_with_params(
        &format!("{}/whatsapp_business/attachments/", shared.base_url),
        [
            ("mid", node.as_str()),
            ("ext", &now_secs().to_string()),
            (
                "hash",
                &ids::opaque(&media.sha256[..16.min(media.sha256.len())]),
            ),
        ],
    )
    .map_err(|_| ApiError::invalid("cannot build the media url"))?;
    Ok(Json(json!({
        "messaging_product": "whatsapp",
        "url": url.as_str(),
        "mime_type": media.mime_type,
        "sha256": media.sha256,
        // Graph writes the size as a string.
        "file_size": media.data.len().to_string(),
        "id": node,
    })))
}

async fn download(
    State(shared): State<Arc<Shared>>,
    Query(params): Params,
    headers: HeaderMap,
) -> Response {
    let token = token(&headers, &params);
    let Some(media) = params
        .get("mid")
        .and_then(|mid| shared.state().media.get(mid).cloned())
    else {
        return (StatusCode::NOT_FOUND, "media not found").into_response();
    };
    if !shared.token_reaches_waba(&token, &media.waba_id) {
        return ApiError::invalid_token().into_response();
    }
    (
        [(header::CONTENT_TYPE, media.mime_type.clone())],
        media.data.as_ref().clone(),
    )
        .into_response()
}

fn template_json(template: &SimTemplate) -> Value {
    let mut components = Vec::new();
    if let Some(h) = &template.header {
        let mut header = json!({ "type": "HEADER", "format": h.format });
        if !h.text.is_empty() {
            header["text"] = h.text.clone().into();
        }
        components.push(header);
    }
    components.push(json!({ "type": "BODY", "text": template.body }));
    if !template.footer.is_empty() {
        components.push(json!({ "type": "FOOTER", "text": template.footer }));
    }
    if !template.buttons.is_empty() {
        let buttons: Vec<Value> = template
            .buttons
            .iter()
            .map(|b| {
                let mut button = json!({ "type": b.kind, "text": b.text });
                if !b.url.is_empty() {
                    button["url"] = b.url.clone().into();
                }
                if !b.phone_number.is_empty() {
                    button["phone_number"] = b.phone_number.clone().into();
                }
                button
            })
            .collect();
        components.push(json!({ "type": "BUTTONS", "buttons": buttons }));
    }
    json!({
        "name": template.name,
        "parameter_format": "POSITIONAL",
        "components": components,
        "language": template.language,
        "status": template.status,
        "category": template.category,
        "id": template.id,
    })
}

async fn templates(
    State(shared): State<Arc<Shared>>,
    Path((version, waba_id)): Path<(String, String)>,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    check_version(&version)?;
    let token = token(&headers, &params);
    if !shared.token_known(&token) {
        return Err(ApiError::invalid_token());
    }
    if !shared.token_reaches_waba(&token, &waba_id) {
        return Err(ApiError::unknown_object(&waba_id, "get"));
    }
    let limit = match params.get("limit") {
        None => DEFAULT_PAGE,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| *l > 0)
            .ok_or_else(|| ApiError::invalid("Param limit must be a positive integer"))?,
    };
    let all: Vec<&SimTemplate> = shared
        .templates
        .iter()
        .filter(|t| t.waba_id == waba_id)
        .collect();
    let cursor = |t: &SimTemplate| ids::opaque(&t.id);
    let start = match params.get("after") {
        None => 0,
        Some(after) => {
            let id = ids::unopaque(after)
                .ok_or_else(|| ApiError::invalid("Param after is not a valid cursor"))?;
            all.iter()
                .position(|t| t.id == id)
                .map(|i| i + 1)
                .ok_or_else(|| ApiError::invalid("Param after is not a valid cursor"))?
        }
    };
    let end = start.saturating_add(limit).min(all.len());
    let page = &all[start.min(end)..end];
    let data: Vec<Value> = page.iter().map(|t| template_json(t)).collect();
    let (Some(first), Some(last)) = (page.first(), page.last()) else {
        return Ok(Json(json!({ "data": data })));
    };
    let mut paging = json!({ "cursors": { "before": cursor(first), "after": cursor(last) } });
    if end < all.len() {
        let mut query: Vec<(&str, String)> =
            vec![("limit", limit.to_string()), ("after", cursor(last))];
        if let Some(fields) = params.get("fields") {
            query.push(("fields", fields.clone()));
        }
        let next = reqwest::Url::parse_with_params(
            &format!("{}/{version}/{waba_id}/message_templates", shared.base_url),
            query,
        )
        .map_err(|_| ApiError::invalid("cannot build the next page url"))?;
        paging["next"] = next.as_str().into();
    }
    Ok(Json(json!({ "data": data, "paging": paging })))
}

//! Meta's webhooks: signed with the app secret, shaped like Meta's, retried when the receiver
//! does not answer 200.

use std::{sync::Arc, time::Duration};

use anyhow::{Context, anyhow, bail};
use hmac::{Hmac, KeyInit, Mac};
use rand::seq::SliceRandom;
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::{
    CallbackStatus, Delivery, SimAccount, ids,
    state::{Conversation, SendMeta, Shared, now_secs},
};

/// POSTs per status webhook before the simulator gives up (Meta keeps trying for days; a test
/// needs a bound).
const MAX_ATTEMPTS: u32 = 5;
const FIRST_RETRY: Duration = Duration::from_millis(50);

/// `sha256=<hex HMAC-SHA256(app_secret, body)>`.
pub(crate) fn signature(app_secret: &str, body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        // HMAC takes keys of any length; this arm is unreachable in practice.
        Err(_) => String::new(),
    }
}

/// `{"object":"whatsapp_business_account","entry":[{"id":waba,"changes":[{"value":…,
/// "field":"messages"}]}]}` with `value` = messaging_product + metadata + `fields`.
fn envelope(account: &SimAccount, fields: Map<String, Value>) -> Value {
    let mut value = Map::new();
    value.insert("messaging_product".into(), "whatsapp".into());
    value.insert(
        "metadata".into(),
        json!({
            "display_phone_number": account.display_phone_number,
            "phone_number_id": account.phone_number_id,
        }),
    );
    value.extend(fields);
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": account.waba_id,
            "changes": [{ "value": value, "field": "messages" }],
        }],
    })
}

/// One entry of `value.statuses`. Like Meta: conversation (with its expiration) and pricing on
/// `sent`, conversation (without it) and pricing on `delivered`, neither on `read`.
fn status_object(
    wamid: &str,
    status: &str,
    timestamp: u64,
    recipient: &str,
    conversation: &Conversation,
) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), wamid.into());
    object.insert("status".into(), status.into());
    object.insert("timestamp".into(), timestamp.to_string().into());
    object.insert("recipient_id".into(), recipient.into());
    let pricing = json!({
        "billable": conversation.origin != "service",
        "pricing_model": "CBP",
        "category": conversation.origin,
    });
    match status {
        "sent" => {
            object.insert(
                "conversation".into(),
                json!({
                    "id": conversation.id,
                    "expiration_timestamp": conversation.expires_at.to_string(),
                    "origin": { "type": conversation.origin },
                }),
            );
            object.insert("pricing".into(), pricing);
        }
        "delivered" => {
            object.insert(
                "conversation".into(),
                json!({ "id": conversation.id, "origin": { "type": conversation.origin } }),
            );
            object.insert("pricing".into(), pricing);
        }
        _ => {}
    }
    Value::Object(object)
}

fn failed_object(wamid: &str, recipient: &str, code: i64, title: &str, details: &str) -> Value {
    json!({
        "id": wamid,
        "status": "failed",
        "timestamp": now_secs().to_string(),
        "recipient_id": recipient,
        "errors": [{
            "code": code,
            "title": title,
            "message": title,
            "error_data": { "details": details },
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        }],
    })
}

fn statuses_payload(account: &SimAccount, status: Value) -> Value {
    let mut fields = Map::new();
    fields.insert("statuses".into(), Value::Array(vec![status]));
    envelope(account, fields)
}

/// One signed POST; the receiver's HTTP status.
async fn post(shared: &Shared, payload: &Value) -> anyhow::Result<u16> {
    let url = shared
        .webhook_url()
        .ok_or_else(|| anyhow!("no webhook url is set"))?;
    let body = serde_json::to_vec(payload)?;
    let response = shared
        .http
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Hub-Signature-256", signature(&shared.app_secret, &body))
        .body(body)
        .send()
        .await
        .with_context(|| format!("posting the webhook to {url}"))?;
    Ok(response.status().as_u16())
}

fn record(shared: &Shared, wamid: &str, event: &str, attempts: u32, last_status: Option<u16>) {
    shared.state().deliveries.push(Delivery {
        wamid: wamid.to_owned(),
        event: event.to_owned(),
        attempts,
        last_status,
    });
}

/// POSTs until the receiver answers 200 (only 200 counts, as with Meta), a few times at most.
async fn deliver(shared: &Shared, payload: &Value, wamid: &str, event: &str) {
    if shared.webhook_url().is_none() {
        return;
    }
    let mut attempts = 0;
    let last_status = loop {
        attempts += 1;
        let status = match post(shared, payload).await {
            Ok(status) => Some(status),
            Err(err) => {
                tracing::debug!(error = %format!("{err:#}"), "webhook not delivered");
                None
            }
        };
        if status == Some(200) || attempts >= MAX_ATTEMPTS {
            break status;
        }
        let wait = FIRST_RETRY * 2u32.pow(attempts - 1);
        tokio::select! {
            _ = shared.cancel.cancelled() => break status,
            _ = tokio::time::sleep(wait) => {}
        }
    };
    record(shared, wamid, event, attempts, last_status);
}

/// After an accepted send: the planned status callbacks, or the 131047 failure of a free-form
/// message outside the customer service window.
pub(crate) fn after_send(shared: Arc<Shared>, wamid: String, meta: SendMeta, outside_window: bool) {
    let Some(account) = shared.account(&meta.phone_number_id).cloned() else {
        return;
    };
    let mut statuses = shared.plan.statuses.clone();
    let times = if shared.plan.deliver_twice { 2 } else { 1 };
    if shared.plan.shuffle {
        statuses.shuffle(&mut rand::rng());
    }
    let task_shared = shared.clone();
    shared.tasks.spawn(async move {
        let shared = task_shared;
        let sent_at = now_secs();
        if outside_window {
            if !pause(&shared).await {
                return;
            }
            let status = failed_object(
                &wamid,
                &meta.recipient,
                131_047,
                "Re-engagement message",
                "Message failed to send because more than 24 hours have passed since the \
                 customer last replied to this number.",
            );
            deliver(
                &shared,
                &statuses_payload(&account, status),
                &wamid,
                "failed",
            )
            .await;
            return;
        }
        for status in statuses {
            if !pause(&shared).await {
                return;
            }
            // Timestamps follow the order things happened, whatever order they are posted in.
            let offset = match status {
                CallbackStatus::Sent => 0,
                CallbackStatus::Delivered => 1,
                CallbackStatus::Read => 2,
            };
            let object = status_object(
                &wamid,
                status.as_str(),
                sent_at + offset,
                &meta.recipient,
                &meta.conversation,
            );
            let payload = statuses_payload(&account, object);
            for _ in 0..times {
                deliver(&shared, &payload, &wamid, status.as_str()).await;
            }
        }
    });
}

/// Waits the callback delay; false when the simulator is stopping.
async fn pause(shared: &Shared) -> bool {
    tokio::select! {
        _ = shared.cancel.cancelled() => false,
        _ = tokio::time::sleep(shared.callback_delay) => true,
    }
}

/// See [`crate::SimHandle::customer_writes`].
pub(crate) async fn customer_writes(
    shared: &Shared,
    phone_number_id: &str,
    wa_id: &str,
    profile_name: &str,
    message: Value,
) -> anyhow::Result<(String, u16)> {
    let account = shared
        .account(phone_number_id)
        .cloned()
        .ok_or_else(|| anyhow!("unknown phone number id {phone_number_id}"))?;
    if wa_id.is_empty() || !wa_id.bytes().all(|b| b.is_ascii_digit()) {
        bail!("a wa_id is digits only, got {wa_id:?}");
    }
    let Value::Object(mut message) = message else {
        bail!("the message must be a JSON object");
    };
    if !message.get("type").is_some_and(Value::is_string) {
        bail!("the message needs a \"type\"");
    }
    let wamid = match message.get("id").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => ids::wamid(wa_id),
    };
    let now = now_secs();
    message.insert("id".into(), wamid.clone().into());
    message.entry("from").or_insert_with(|| wa_id.into());
    message
        .entry("timestamp")
        .or_insert_with(|| now.to_string().into());
    {
        let mut state = shared.state();
        state
            .inbound
            .insert(wamid.clone(), phone_number_id.to_owned());
        state
            .last_inbound
            .insert((phone_number_id.to_owned(), wa_id.to_owned()), now);
    }
    let mut fields = Map::new();
    fields.insert(
        "contacts".into(),
        json!([{ "profile": { "name": profile_name }, "wa_id": wa_id }]),
    );
    fields.insert(
        "messages".into(),
        Value::Array(vec![Value::Object(message)]),
    );
    let status = post(shared, &envelope(&account, fields)).await?;
    record(shared, &wamid, "message", 1, Some(status));
    Ok((wamid, status))
}

/// See [`crate::SimHandle::fail_status`].
pub(crate) async fn fail_status(
    shared: &Shared,
    wamid: &str,
    code: i64,
    title: &str,
) -> anyhow::Result<u16> {
    let meta = shared
        .state()
        .send_meta
        .get(wamid)
        .cloned()
        .ok_or_else(|| anyhow!("no message {wamid} was sent through the simulator"))?;
    let account = shared
        .account(&meta.phone_number_id)
        .cloned()
        .ok_or_else(|| anyhow!("the sending account is gone"))?;
    let status = failed_object(wamid, &meta.recipient, code, title, title);
    let status = post(shared, &statuses_payload(&account, status)).await?;
    record(shared, wamid, "failed", 1, Some(status));
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hex_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn statuses_carry_conversation_and_pricing_like_meta() {
        let conversation = Conversation {
            id: "c1".into(),
            expires_at: 1_700_086_400,
            origin: "utility".into(),
        };
        let sent = status_object("wamid.A", "sent", 1_700_000_000, "521", &conversation);
        assert_eq!(sent["timestamp"], "1700000000");
        assert_eq!(sent["conversation"]["expiration_timestamp"], "1700086400");
        assert_eq!(sent["conversation"]["origin"]["type"], "utility");
        assert_eq!(sent["pricing"]["billable"], true);
        let delivered = status_object("wamid.A", "delivered", 1, "521", &conversation);
        assert!(
            delivered["conversation"]
                .get("expiration_timestamp")
                .is_none()
        );
        let read = status_object("wamid.A", "read", 2, "521", &conversation);
        assert!(read.get("conversation").is_none() && read.get("pricing").is_none());
    }
}

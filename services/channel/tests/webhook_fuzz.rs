//! Fuzzing the WhatsApp webhook parser and the signature check with proptest.
//!
//! 1. `raw_bytes_never_panic`: arbitrary bytes, JSON-ish noise, and Meta's fixtures with bytes
//!    replaced, inserted, removed or cut off never make `parse` or `verify_signature` panic.
//! 2. `meta_shaped_trees_never_panic_and_keep_every_storable_message`: random JSON trees built
//!    from the webhook's own keys, mostly shaped like Meta's body with random holes and random
//!    JSON types anywhere, never panic; every message with an id and a sender is kept, every
//!    other message and status is counted, and every content survives the JSON round trip it
//!    takes into storage.
//! 3. `generated_text_and_media_messages_parse_to_their_fields`: a valid inbound text or media
//!    body parses to exactly the generated fields.
//! 4. `signed_bodies_verify_and_any_one_byte_change_does_not`.
//!
//! Cases per property: `WEBHOOK_FUZZ_CASES` when set, otherwise 20_000 for 1 and 2 and 5_000
//! for 3 and 4: about 18 s of CPU in a debug build, 12 s of it for 2, so about 12 s on two
//! cores. Each property prints its executions and time:
//! `cargo test -p switchboard-channel --test webhook_fuzz -- --nocapture`.
//! A failure prints the shrunk input; `PROPTEST_RNG_SEED` replays a run.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::Union;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};
use switchboard_channel::domain::content::{Content, Media, MediaKind};
use switchboard_channel::domain::webhook::{
    Change, Context, InboundMessage, Notification, Profile, SignatureError, parse, sign,
    verify_signature,
};

const FIXTURES: &[&str] = &[
    include_str!("fixtures/whatsapp/text.json"),
    include_str!("fixtures/whatsapp/text_reply_with_context.json"),
    include_str!("fixtures/whatsapp/image.json"),
    include_str!("fixtures/whatsapp/audio_voice.json"),
    include_str!("fixtures/whatsapp/video.json"),
    include_str!("fixtures/whatsapp/document.json"),
    include_str!("fixtures/whatsapp/sticker.json"),
    include_str!("fixtures/whatsapp/location.json"),
    include_str!("fixtures/whatsapp/contacts.json"),
    include_str!("fixtures/whatsapp/interactive_button_reply.json"),
    include_str!("fixtures/whatsapp/interactive_list_reply.json"),
    include_str!("fixtures/whatsapp/button.json"),
    include_str!("fixtures/whatsapp/reaction.json"),
    include_str!("fixtures/whatsapp/order.json"),
    include_str!("fixtures/whatsapp/unsupported.json"),
    include_str!("fixtures/whatsapp/system.json"),
    include_str!("fixtures/whatsapp/status_sent.json"),
    include_str!("fixtures/whatsapp/status_delivered.json"),
    include_str!("fixtures/whatsapp/status_read.json"),
    include_str!("fixtures/whatsapp/status_failed.json"),
    include_str!("fixtures/whatsapp/multi_entry.json"),
];

const SECRET: &[u8] = b"fuzz-app-secret";

/// Cases for a property: `WEBHOOK_FUZZ_CASES`, or the property's default.
fn cases(default: u32) -> u32 {
    std::env::var("WEBHOOK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Runs `test` on `cases` values of `strategy` and reports executions and time on stderr.
fn fuzz<S: Strategy>(
    name: &str,
    default_cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = Config {
        cases: cases(default_cases),
        failure_persistence: None,
        // Much cheaper than ChaCha to seed, and proptest seeds a generator per union branch.
        rng_algorithm: RngAlgorithm::XorShift,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let executions = AtomicU64::new(0);
    let started = Instant::now();
    let result = runner.run(&strategy, |value| {
        executions.fetch_add(1, Ordering::Relaxed);
        test(value)
    });
    eprintln!(
        "webhook fuzz: {name}: {} executions in {:.2?}",
        executions.load(Ordering::Relaxed),
        started.elapsed()
    );
    if let Err(failure) = result {
        panic!("{name}: {failure}");
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Raw bytes
// ---------------------------------------------------------------------------------------------

/// Bytes that matter to a JSON parser, so noise gets past the first character more often.
const JSON_BYTES: &[u8] = b"{}[]\",:0123456789-+.eEtrufalsn \\/\n\t\xc3\xa9\xff\x00";

#[derive(Debug, Clone)]
enum Edit {
    Replace(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Truncate(Index),
}

fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![any::<u8>(), select(JSON_BYTES)]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<Index>(), byte()).prop_map(|(i, b)| Edit::Replace(i, b)),
        2 => (any::<Index>(), byte()).prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => any::<Index>().prop_map(Edit::Remove),
        1 => any::<Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(mut body: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        if body.is_empty() {
            break;
        }
        match *edit {
            Edit::Replace(i, b) => {
                let i = i.index(body.len());
                body[i] = b;
            }
            Edit::Insert(i, b) => body.insert(i.index(body.len() + 1), b),
            Edit::Remove(i) => {
                body.remove(i.index(body.len()));
            }
            Edit::Truncate(i) => body.truncate(i.index(body.len())),
        }
    }
    body
}

fn raw_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => vec(any::<u8>(), 0..512),
        1 => vec(select(JSON_BYTES), 0..256),
        3 => (select(FIXTURES), vec(edit(), 1..6))
            .prop_map(|(fixture, edits)| apply(fixture.as_bytes().to_vec(), &edits)),
    ]
}

#[test]
fn raw_bytes_never_panic() {
    fuzz("raw bytes", 20_000, raw_body(), |body| {
        if let Ok(notification) = parse(&body) {
            contents_survive_storage(&notification)?;
        }
        let header = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        let _ = verify_signature(SECRET, &body, Some(&header));
        let _ = verify_signature(SECRET, &body, Some(&format!("sha256={header}")));
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// 2. Meta-shaped JSON trees
// ---------------------------------------------------------------------------------------------

/// Keys of the webhook body, for random objects.
const KEYS: &[&str] = &[
    "object",
    "entry",
    "id",
    "changes",
    "field",
    "value",
    "messaging_product",
    "metadata",
    "display_phone_number",
    "phone_number_id",
    "contacts",
    "profile",
    "name",
    "wa_id",
    "messages",
    "statuses",
    "errors",
    "from",
    "timestamp",
    "type",
    "context",
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "interactive",
    "button",
    "reaction",
    "status",
    "recipient_id",
    "conversation",
    "origin",
    "pricing",
    "category",
    "code",
    "title",
    "message",
    "error_data",
    "details",
];

/// Keys inside a message's type object (and contact cards).
const CONTENT_KEYS: &[&str] = &[
    "body",
    "id",
    "mime_type",
    "sha256",
    "caption",
    "filename",
    "voice",
    "animated",
    "latitude",
    "longitude",
    "name",
    "address",
    "url",
    "formatted_name",
    "first_name",
    "last_name",
    "phones",
    "emails",
    "org",
    "company",
    "phone",
    "wa_id",
    "type",
    "email",
    "button_reply",
    "list_reply",
    "title",
    "description",
    "text",
    "payload",
    "message_id",
    "emoji",
];

/// String values the parser looks for, and some it must not trip on.
const WORDS: &[&str] = &[
    "whatsapp_business_account",
    "whatsapp",
    "messages",
    "text",
    "image",
    "audio",
    "sticker",
    "contacts",
    "interactive",
    "button_reply",
    "list_reply",
    "nfm_reply",
    "reaction",
    "sent",
    "delivered",
    "read",
    "failed",
    "deleted",
    "1795255260",
    " 1795255260 ",
    "-1",
    "1e3",
    "1.5",
    "99999999999999999999",
    "NaN",
    "inf",
    "-0",
    "",
    "wamid.HBgNNTQ5MTE1NTU1MDAwMRUCABIYFDNBMzcyRUEwOENBQjMzRTcxQzAyAA==",
    "5491155550001",
    "👍",
    "ñ",
];

/// Message types: the modelled ones, others Meta documents, and made-up ones.
const TYPES: &[&str] = &[
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "unsupported",
    "request_welcome",
    "hologram",
    "",
];

const STATUSES: &[&str] = &[
    "sent",
    "delivered",
    "read",
    "failed",
    "deleted",
    "warning",
    "pending",
    "received",
    "played",
    "",
];

const FIELDS: &[&str] = &[
    "messages",
    "messages",
    "messages",
    "messages",
    "messages",
    "message_template_status_update",
    "account_update",
    "",
];

/// Up to 16 arbitrary characters (control characters, quotes, emoji, …), half of them ASCII.
/// Made from a seed: `any::<String>()` costs more than the whole rest of a leaf in debug builds.
fn noise() -> impl Strategy<Value = String> {
    (any::<u64>(), 0..16usize).prop_map(|(mut seed, len)| {
        (0..len)
            .map(|_| {
                // xorshift64
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let code = if seed & 1 == 0 {
                    (seed >> 1) % 0x80
                } else {
                    (seed >> 1) % 0x11_0000
                };
                char::from_u32(code as u32).unwrap_or('\u{fffd}')
            })
            .collect()
    })
}

fn leaf() -> BoxedStrategy<Value> {
    // Most likely first: a union seeds a generator for every option before the one it picks.
    prop_oneof![
        4 => select(WORDS).prop_map(Value::from),
        2 => (-200.0..200.0f64).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => noise().prop_map(Value::String),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
    ]
    .boxed()
}

fn object<K: Into<String>>(fields: Vec<(K, Value)>) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

/// An object of the fields that are present (`None`: the key is absent).
fn some_fields<K: Into<String>>(fields: Vec<(K, Option<Value>)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .filter_map(|(k, v)| Some((k.into(), v?)))
            .collect::<Map<_, _>>(),
    )
}

/// A random tree of webhook keys and random values.
fn tree() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..5).prop_map(Value::Array),
                vec((select(KEYS), inner), 0..6).prop_map(object),
            ]
        })
        .boxed()
}

/// A random tree of the keys found inside a message's type object.
fn content_tree() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..3).prop_map(Value::Array),
                vec((select(CONTENT_KEYS), inner), 0..7).prop_map(object),
            ]
        })
        .boxed()
}

/// Usually `value`; sometimes absent, sometimes a random tree in its place.
fn hole(value: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        6 => value.prop_map(Some),
        1 => Just(None),
        1 => tree().prop_map(Some),
    ]
    .boxed()
}

/// Like [`hole`], for the skeleton: mostly there, so most bodies reach the messages.
fn rare_hole(value: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        18 => value.prop_map(Some),
        1 => Just(None),
        1 => tree().prop_map(Some),
    ]
    .boxed()
}

fn words(choices: &'static [&'static str]) -> BoxedStrategy<Value> {
    select(choices).prop_map(Value::from).boxed()
}

fn wamid() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<u128>().prop_map(|n| Value::String(format!("wamid.{n:X}"))),
        leaf(),
    ]
    .boxed()
}

fn phone() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => (0u64..1_000_000_000_000_000).prop_map(|n| Value::String(n.to_string())),
        1 => (0i64..99_999_999_999_999).prop_map(Value::from),
    ]
    .boxed()
}

fn timestamp() -> BoxedStrategy<Value> {
    prop_oneof![
        (0i64..4_000_000_000).prop_map(|t| Value::from(t.to_string())),
        any::<i64>().prop_map(Value::from),
        leaf(),
    ]
    .boxed()
}

fn errors() -> BoxedStrategy<Value> {
    let error = (
        hole(prop_oneof![
            any::<i64>().prop_map(Value::from),
            (0u32..10_000_000).prop_map(|n| Value::String(n.to_string())),
        ]),
        hole(leaf()),
        hole(leaf()),
        hole(vec((Just("details"), leaf()), 0..2).prop_map(object)),
    )
        .prop_map(|(code, title, message, data)| {
            some_fields(vec![
                ("code", code),
                ("title", title),
                ("message", message),
                ("error_data", data),
            ])
        });
    vec(error, 0..3).prop_map(Value::Array).boxed()
}

/// The keys the parser reads in a type's object.
fn keys_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "text" => &["body"],
        "image" | "audio" | "video" | "document" | "sticker" => &[
            "id",
            "mime_type",
            "sha256",
            "caption",
            "filename",
            "voice",
            "animated",
        ],
        "location" => &["latitude", "longitude", "name", "address", "url"],
        "interactive" => &["type", "button_reply", "list_reply"],
        "button" => &["text", "payload"],
        "reaction" => &["message_id", "emoji"],
        "contacts" => &["name", "phones", "emails", "org"],
        _ => &["body", "type", "id"],
    }
}

/// A value of the kind the parser expects under `key`, or something else now and then.
fn plausible(key: &'static str) -> BoxedStrategy<Value> {
    match key {
        "latitude" | "longitude" => prop_oneof![
            3 => (-180.0..180.0f64).prop_map(Value::from),
            1 => leaf(),
        ]
        .boxed(),
        "voice" | "animated" => prop_oneof![
            3 => any::<bool>().prop_map(Value::Bool),
            1 => leaf(),
        ]
        .boxed(),
        "type" => prop_oneof![
            3 => words(&["button_reply", "list_reply", "nfm_reply"]),
            1 => leaf(),
        ]
        .boxed(),
        "button_reply" | "list_reply" => fields(&["id", "title", "description"]),
        "name" => fields(&["formatted_name", "first_name", "middle_name", "last_name"]),
        "org" => fields(&["company", "title"]),
        "phones" => vec(fields(&["phone", "wa_id", "type"]), 0..3)
            .prop_map(Value::Array)
            .boxed(),
        "emails" => vec(fields(&["email", "type"]), 0..3)
            .prop_map(Value::Array)
            .boxed(),
        _ => leaf(),
    }
}

/// An object with (most of) `keys`, each holding a plausible value.
fn fields(keys: &'static [&'static str]) -> BoxedStrategy<Value> {
    keys.iter()
        .map(|key| hole(plausible(key)))
        .collect::<Vec<_>>()
        .prop_map(move |values| some_fields(keys.iter().copied().zip(values).collect()))
        .boxed()
}

/// A message type's object: often what the parser looks for, with holes; otherwise an object
/// of random content keys, a list of them, or anything.
fn type_body(kind: &'static str) -> BoxedStrategy<Value> {
    let expected = match kind {
        "contacts" => vec(fields(keys_of(kind)), 0..3)
            .prop_map(Value::Array)
            .boxed(),
        _ => fields(keys_of(kind)),
    };
    let random = vec((select(CONTENT_KEYS), content_tree()), 0..7).prop_map(object);
    prop_oneof![
        8 => expected,
        2 => random.clone(),
        1 => vec(random, 0..3).prop_map(Value::Array),
        1 => tree(),
    ]
    .boxed()
}

fn message() -> BoxedStrategy<Value> {
    let context = (hole(phone()), hole(wamid()), any::<bool>()).prop_map(|(from, id, fwd)| {
        some_fields(vec![
            ("from", from),
            ("id", id),
            ("forwarded", fwd.then_some(Value::Bool(true))),
        ])
    });
    (
        Union::new(
            TYPES
                .iter()
                .map(|&kind| type_body(kind).prop_map(move |body| (kind, body))),
        ),
        hole(wamid()),
        hole(phone()),
        hole(timestamp()),
        prop::option::weighted(0.3, context),
        prop::option::weighted(0.2, errors()),
        // None: `type` names the body; otherwise `type` is absent or some other value.
        prop_oneof![
            18 => Just(None),
            1 => Just(Some(None)),
            1 => leaf().prop_map(|v| Some(Some(v))),
        ],
    )
        .prop_map(
            |((kind, body), id, from, timestamp, context, errors, type_override)| {
                some_fields(vec![
                    ("context".to_owned(), context),
                    ("from".to_owned(), from),
                    ("id".to_owned(), id),
                    ("timestamp".to_owned(), timestamp),
                    ("errors".to_owned(), errors),
                    (
                        "type".to_owned(),
                        type_override.unwrap_or(Some(Value::from(kind))),
                    ),
                    (kind.to_owned(), Some(body)),
                ])
            },
        )
        .boxed()
}

fn status() -> BoxedStrategy<Value> {
    let conversation = (hole(leaf()), hole(timestamp()), hole(words(WORDS))).prop_map(
        |(id, expiration, origin)| {
            some_fields(vec![
                ("id", id),
                ("expiration_timestamp", expiration),
                ("origin", origin.map(|o| json!({ "type": o }))),
            ])
        },
    );
    let pricing = (any::<bool>(), hole(words(WORDS))).prop_map(|(billable, category)| {
        some_fields(vec![
            ("billable", Some(Value::Bool(billable))),
            ("pricing_model", Some(Value::from("PMP"))),
            ("category", category),
        ])
    });
    (
        hole(wamid()),
        hole(words(STATUSES)),
        hole(timestamp()),
        hole(phone()),
        prop::option::weighted(0.5, hole(conversation)),
        prop::option::weighted(0.5, hole(pricing)),
        prop::option::weighted(0.2, errors()),
    )
        .prop_map(
            |(id, status, timestamp, recipient, conversation, pricing, errors)| {
                some_fields(vec![
                    ("id", id),
                    ("status", status),
                    ("timestamp", timestamp),
                    ("recipient_id", recipient),
                    ("conversation", conversation.flatten()),
                    ("pricing", pricing.flatten()),
                    ("errors", errors),
                ])
            },
        )
        .boxed()
}

fn change_value() -> BoxedStrategy<Value> {
    let metadata = (hole(phone()), hole(phone())).prop_map(|(display, id)| {
        some_fields(vec![
            ("display_phone_number", display),
            ("phone_number_id", id),
        ])
    });
    let profile = (hole(phone()), hole(leaf())).prop_map(|(wa_id, name)| {
        some_fields(vec![
            ("profile", name.map(|name| json!({ "name": name }))),
            ("wa_id", wa_id),
        ])
    });
    (
        hole(metadata),
        hole(vec(profile, 0..3).prop_map(Value::Array)),
        rare_hole(vec(message(), 0..4).prop_map(Value::Array)),
        rare_hole(vec(status(), 0..3).prop_map(Value::Array)),
        prop::option::weighted(0.1, errors()),
    )
        .prop_map(|(metadata, contacts, messages, statuses, errors)| {
            some_fields(vec![
                ("messaging_product", Some(Value::from("whatsapp"))),
                ("metadata", metadata),
                ("contacts", contacts),
                ("messages", messages),
                ("statuses", statuses),
                ("errors", errors),
            ])
        })
        .boxed()
}

fn meta_body() -> BoxedStrategy<Value> {
    let change = (hole(words(FIELDS)), rare_hole(change_value()))
        .prop_map(|(field, value)| some_fields(vec![("value", value), ("field", field)]));
    let entry = (
        hole(phone()),
        rare_hole(vec(change, 1..3).prop_map(Value::Array)),
    )
        .prop_map(|(id, changes)| some_fields(vec![("id", id), ("changes", changes)]));
    (
        rare_hole(Just(Value::from("whatsapp_business_account"))),
        rare_hole(vec(entry, 1..3).prop_map(Value::Array)),
    )
        .prop_map(|(object, entry)| some_fields(vec![("object", object), ("entry", entry)]))
        .boxed()
}

fn structured_body() -> impl Strategy<Value = Value> {
    prop_oneof![4 => meta_body(), 1 => tree()]
}

/// Every content can be stored as JSON and read back, and Unsupported keeps a JSON object.
fn contents_survive_storage(notification: &Notification) -> Result<(), TestCaseError> {
    for message in notification.changes.iter().flat_map(|c| &c.messages) {
        let stored = serde_json::to_string(&message.content)
            .map_err(|e| TestCaseError::fail(format!("content does not serialize: {e}")))?;
        let back: Content = serde_json::from_str(&stored)
            .map_err(|e| TestCaseError::fail(format!("stored content does not load: {e}")))?;
        match (&back, &message.content) {
            // serde_json's default float parsing may be one ulp off.
            (Content::Location(a), Content::Location(b)) => {
                prop_assert!((a.latitude - b.latitude).abs() < 1e-9);
                prop_assert!((a.longitude - b.longitude).abs() < 1e-9);
                prop_assert_eq!((&a.name, &a.address, &a.url), (&b.name, &b.address, &b.url));
            }
            _ => prop_assert_eq!(&back, &message.content),
        }
        if let Content::Unsupported(unsupported) = &message.content {
            let raw: Value = serde_json::from_str(&unsupported.raw_json)
                .map_err(|e| TestCaseError::fail(format!("raw_json is not JSON: {e}")))?;
            prop_assert!(raw.is_object());
        }
        prop_assert!((0..=253_402_300_799).contains(&message.timestamp_secs));
    }
    Ok(())
}

fn items(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The `value` of every messages change, read straight off the generated body.
fn messages_values(body: &Value) -> Vec<&Map<String, Value>> {
    items(body.get("entry"))
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|entry| items(entry.get("changes")))
        .filter_map(Value::as_object)
        .filter(|change| match change.get("field") {
            None | Some(Value::Null) => true,
            Some(field) => field == "messages",
        })
        .filter_map(|change| change.get("value")?.as_object())
        .collect()
}

#[test]
fn meta_shaped_trees_never_panic_and_keep_every_storable_message() {
    fuzz("meta-shaped trees", 20_000, structured_body(), |body| {
        let bytes = serde_json::to_vec(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let Ok(notification) = parse(&bytes) else {
            return Ok(());
        };
        contents_survive_storage(&notification)?;
        let values = messages_values(&body);
        prop_assert_eq!(values.len(), notification.changes.len());
        for (value, change) in values.iter().zip(&notification.changes) {
            let messages = items(value.get("messages"));
            prop_assert_eq!(
                change.messages.len() + change.skipped_messages,
                messages.len()
            );
            let kept: HashSet<&str> = change.messages.iter().map(|m| m.wamid.as_str()).collect();
            for message in messages {
                let id = message.get("id").and_then(Value::as_str).unwrap_or("");
                let from = message.get("from").and_then(Value::as_str).unwrap_or("");
                if !id.is_empty() && !from.is_empty() {
                    prop_assert!(kept.contains(id), "message {} was dropped", id);
                }
            }
            let statuses = items(value.get("statuses"));
            prop_assert_eq!(
                change.statuses.len() + change.skipped_statuses,
                statuses.len()
            );
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// 3. Round trip of valid messages
// ---------------------------------------------------------------------------------------------

/// A number of `len` decimal digits, as a string (ids and phone numbers).
fn digits(len: std::ops::RangeInclusive<u32>) -> impl Strategy<Value = String> {
    len.prop_flat_map(|n| (10u64.pow(n - 1)..10u64.pow(n)).prop_map(|d| d.to_string()))
}

/// A wamid-looking id (regex strategies are slow in debug builds; this is not).
fn valid_wamid() -> impl Strategy<Value = String> {
    any::<(u128, u64)>().prop_map(|(a, b)| format!("wamid.HBgN{a:032X}{b:X}="))
}

/// A valid message's type, its wire object and the content it must parse to.
fn valid_content() -> impl Strategy<Value = (&'static str, Value, Content)> {
    let text = any::<String>().prop_map(|body| {
        (
            "text",
            json!({ "body": body }),
            Content::Text {
                body,
                preview_url: false,
            },
        )
    });
    let kinds = [
        MediaKind::Image,
        MediaKind::Audio,
        MediaKind::Video,
        MediaKind::Document,
        MediaKind::Sticker,
    ];
    let mimes = [
        "image/jpeg",
        "audio/ogg; codecs=opus",
        "video/mp4",
        "application/pdf",
        "image/webp",
    ];
    let media = (
        select(kinds.to_vec()),
        digits(6..=17),
        select(mimes.to_vec()),
        any::<(u128, u128)>().prop_map(|(a, b)| format!("{a:032x}{b:032x}")),
        prop::option::of(any::<String>()),
        prop::option::of(any::<String>()),
        any::<bool>(),
    )
        .prop_map(|(kind, id, mime, sha256, caption, filename, flag)| {
            let caption = caption.filter(|_| kind.takes_caption());
            let filename = filename.filter(|_| kind == MediaKind::Document);
            let mut wire = json!({ "mime_type": mime, "sha256": sha256, "id": id });
            if let Some(caption) = &caption {
                wire["caption"] = caption.as_str().into();
            }
            if let Some(filename) = &filename {
                wire["filename"] = filename.as_str().into();
            }
            match kind {
                MediaKind::Audio => wire["voice"] = flag.into(),
                MediaKind::Sticker => wire["animated"] = flag.into(),
                _ => {}
            }
            let content = Content::Media(Media {
                kind,
                media_id: id,
                link: String::new(),
                mime_type: mime.into(),
                sha256,
                caption: caption.unwrap_or_default(),
                filename: filename.unwrap_or_default(),
                voice: kind == MediaKind::Audio && flag,
                animated: kind == MediaKind::Sticker && flag,
                size_bytes: 0,
            });
            (kind.as_str(), wire, content)
        });
    prop_oneof![text, media]
}

/// A valid body with one message, and the notification it must parse to.
fn valid_message_body() -> impl Strategy<Value = (Vec<u8>, Notification)> {
    (
        valid_wamid(),
        digits(8..=15),
        any::<String>(),
        0i64..=253_402_300_799,
        any::<bool>(),
        prop::option::of((digits(8..=15), valid_wamid())),
        valid_content(),
        (digits(8..=16), digits(8..=15), digits(8..=16)),
    )
        .prop_map(
            |(wamid, from, name, secs, as_string, context, (kind, wire, content), ids)| {
                let (waba_id, display, phone_number_id) = ids;
                let mut message = json!({
                    "from": from,
                    "id": wamid,
                    "timestamp": if as_string { Value::from(secs.to_string()) } else { Value::from(secs) },
                    "type": kind,
                });
                message[kind] = wire;
                if let Some((context_from, context_id)) = &context {
                    message["context"] = json!({ "from": context_from, "id": context_id });
                }
                let body = json!({
                    "object": "whatsapp_business_account",
                    "entry": [{ "id": waba_id, "changes": [{ "value": {
                        "messaging_product": "whatsapp",
                        "metadata": { "display_phone_number": display, "phone_number_id": phone_number_id },
                        "contacts": [{ "profile": { "name": name }, "wa_id": from }],
                        "messages": [message],
                    }, "field": "messages" }] }],
                });
                let expected = Notification {
                    changes: vec![Change {
                        waba_id,
                        phone_number_id,
                        display_phone_number: display,
                        profiles: vec![Profile {
                            wa_id: from.clone(),
                            name,
                        }],
                        messages: vec![InboundMessage {
                            wamid,
                            from,
                            timestamp_secs: secs,
                            content,
                            context: context.map(|(from, wamid)| Context { from, wamid }),
                            errors: vec![],
                        }],
                        ..Change::default()
                    }],
                    ignored_fields: vec![],
                };
                (body.to_string().into_bytes(), expected)
            },
        )
}

#[test]
fn generated_text_and_media_messages_parse_to_their_fields() {
    fuzz(
        "text/media round trip",
        5_000,
        valid_message_body(),
        |(body, expected)| {
            let parsed = parse(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(parsed, expected);
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Signature
// ---------------------------------------------------------------------------------------------

#[test]
fn signed_bodies_verify_and_any_one_byte_change_does_not() {
    let strategy = (
        vec(any::<u8>(), 1..64),
        vec(any::<u8>(), 1..2048),
        any::<Index>(),
        1..=255u8,
    );
    fuzz(
        "signature",
        5_000,
        strategy,
        |(secret, body, index, delta)| {
            let header = sign(&secret, &body);
            let digest = header.strip_prefix("sha256=").unwrap_or("");
            prop_assert!(
                digest.len() == 64
                    && digest
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
            prop_assert_eq!(verify_signature(&secret, &body, Some(&header)), Ok(()));
            let mut changed = body.clone();
            let i = index.index(changed.len());
            changed[i] = changed[i].wrapping_add(delta);
            prop_assert_eq!(
                verify_signature(&secret, &changed, Some(&header)),
                Err(SignatureError::Mismatch)
            );
            let mut other_secret = secret.clone();
            let j = index.index(other_secret.len());
            other_secret[j] = other_secret[j].wrapping_add(delta);
            prop_assert_eq!(
                verify_signature(&other_secret, &body, Some(&header)),
                Err(SignatureError::Mismatch)
            );
            Ok(())
        },
    );
}

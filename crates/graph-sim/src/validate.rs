//! Meta's rules for a `POST /{phone-number-id}/messages` body, and Graph's error answers.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use crate::{SimButton, SimTemplate, ids};

/// Meta's documented maximums.
const TEXT_MAX_CHARS: usize = 4096;
const CAPTION_MAX_CHARS: usize = 1024;
const CONTACTS_MAX: usize = 257;

/// A Graph error answer: `{"error":{"message","type","code","error_subcode"?,"error_data":
/// {"messaging_product","details"},"fbtrace_id"}}`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub body: Value,
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A WhatsApp error: message `(#code) title`, details in `error_data`.
    pub fn whatsapp(
        status: StatusCode,
        code: i64,
        title: &str,
        details: impl Into<String>,
    ) -> Self {
        let body = json!({
            "error": {
                "message": format!("(#{code}) {title}"),
                "type": "OAuthException",
                "code": code,
                "error_data": { "messaging_product": "whatsapp", "details": details.into() },
                "fbtrace_id": ids::fbtrace_id(),
            }
        });
        Self {
            status,
            code,
            body,
            retry_after: None,
        }
    }

    /// 401, code 190: the token is unknown or malformed.
    pub fn invalid_token() -> Self {
        let body = json!({
            "error": {
                "message": "Invalid OAuth access token - Cannot parse access token",
                "type": "OAuthException",
                "code": 190,
                "fbtrace_id": ids::fbtrace_id(),
            }
        });
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: 190,
            body,
            retry_after: None,
        }
    }

    /// 400, code 100 subcode 33: no such node, or the token may not see it.
    pub fn unknown_object(id: &str, method: &str) -> Self {
        let body = json!({
            "error": {
                "message": format!(
                    "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be \
                     loaded due to missing permissions, or does not support this operation. \
                     Please read the Graph API documentation at \
                     https://developers.facebook.com/docs/graph-api"
                ),
                "type": "GraphMethodException",
                "code": 100,
                "error_subcode": 33,
                "fbtrace_id": ids::fbtrace_id(),
            }
        });
        Self {
            status: StatusCode::BAD_REQUEST,
            code: 100,
            body,
            retry_after: None,
        }
    }

    /// 400, code 2500: a path Graph does not know.
    pub fn unknown_path(path: &str) -> Self {
        let body = json!({
            "error": {
                "message": format!("Unknown path components: {path}"),
                "type": "OAuthException",
                "code": 2500,
                "fbtrace_id": ids::fbtrace_id(),
            }
        });
        Self {
            status: StatusCode::BAD_REQUEST,
            code: 2500,
            body,
            retry_after: None,
        }
    }

    /// 400, code 100: malformed or unsupported parameter.
    pub fn invalid(details: impl Into<String>) -> Self {
        Self::whatsapp(StatusCode::BAD_REQUEST, 100, "Invalid parameter", details)
    }

    /// 400, code 131008: a required parameter is missing.
    pub fn missing(details: impl Into<String>) -> Self {
        Self::whatsapp(
            StatusCode::BAD_REQUEST,
            131_008,
            "Required parameter is missing",
            details,
        )
    }

    /// 400, code 131009: a parameter value is not valid.
    pub fn bad_value(details: impl Into<String>) -> Self {
        Self::whatsapp(
            StatusCode::BAD_REQUEST,
            131_009,
            "Parameter value is not valid",
            details,
        )
    }

    fn params_mismatch(details: impl Into<String>) -> Self {
        Self::whatsapp(
            StatusCode::BAD_REQUEST,
            132_000,
            "Number of parameters does not match the expected number of params",
            details,
        )
    }

    fn format_mismatch(details: impl Into<String>) -> Self {
        Self::whatsapp(
            StatusCode::BAD_REQUEST,
            132_012,
            "Parameter format does not match format in the created template",
            details,
        )
    }

    fn no_template(details: impl Into<String>) -> Self {
        Self::whatsapp(
            StatusCode::BAD_REQUEST,
            132_001,
            "Template name does not exist in the translation",
            details,
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// What validation needs to know about the sender.
pub(crate) struct Ctx<'a> {
    pub waba_id: &'a str,
    pub templates: &'a [SimTemplate],
    /// Whether a media id was uploaded to this WhatsApp Business Account.
    pub media_known: &'a dyn Fn(&str) -> bool,
}

/// A valid send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// `to` as given.
    pub to: String,
    /// `to`, digits only.
    pub wa_id: String,
    /// The message type.
    pub kind: String,
    /// Templates: the template's category, lowercase.
    pub category: Option<String>,
}

/// A valid request to the messages endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    Send(Accepted),
    MarkRead { message_id: String },
}

/// Checks a messages-endpoint body the way Meta does.
pub(crate) fn request(body: &Value, ctx: &Ctx<'_>) -> Result<Request, ApiError> {
    let body = body
        .as_object()
        .ok_or_else(|| ApiError::invalid("The request body must be a JSON object"))?;
    match body.get("messaging_product") {
        None => {
            return Err(ApiError::missing(
                "The parameter messaging_product is required.",
            ));
        }
        Some(Value::String(p)) if p == "whatsapp" => {}
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Param messaging_product must be one of {{WHATSAPP}} - got {other}"
            )));
        }
    }
    if let Some(status) = body.get("status") {
        if status != "read" {
            return Err(ApiError::invalid("Param status must be one of {READ}"));
        }
        let message_id = required_str(body, "message_id", "message_id")?;
        return Ok(Request::MarkRead {
            message_id: message_id.to_owned(),
        });
    }
    if body
        .get("recipient_type")
        .is_some_and(|kind| kind != "individual" && kind != "group")
    {
        return Err(ApiError::invalid(
            "Param recipient_type must be one of {INDIVIDUAL, GROUP}",
        ));
    }
    let to = required_str(body, "to", "to")?;
    let wa_id = recipient(to)?;
    if let Some(context) = body.get("context") {
        let context = context
            .as_object()
            .ok_or_else(|| ApiError::invalid("Param context must be an object"))?;
        required_str(context, "message_id", "context['message_id']")?;
    }
    // Meta sends text when the type is left out.
    let kind = match body.get("type") {
        None => "text",
        Some(Value::String(kind)) => kind.as_str(),
        Some(_) => return Err(ApiError::invalid("Param type must be a string")),
    };
    let mut category = None;
    match kind {
        "text" => text(body)?,
        "image" | "audio" | "video" | "document" | "sticker" => media(body, kind, ctx)?,
        "location" => location(body)?,
        "contacts" => contacts(body)?,
        "reaction" => reaction(body)?,
        "interactive" => interactive(body)?,
        "template" => category = Some(template(body, ctx)?),
        other => {
            return Err(ApiError::invalid(format!(
                "Param type must be one of {{AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, \
                 LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO}} - got \"{other}\""
            )));
        }
    }
    Ok(Request::Send(Accepted {
        to: to.to_owned(),
        wa_id,
        kind: kind.to_owned(),
        category,
    }))
}

/// `to` may carry a leading `+`; the rest must be the digits of a phone number.
fn recipient(to: &str) -> Result<String, ApiError> {
    let digits = to.strip_prefix('+').unwrap_or(to);
    if digits.len() < 5 || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(format!(
            "Param to must be a valid phone number - got \"{to}\""
        )));
    }
    Ok(digits.to_owned())
}

fn object<'a>(
    parent: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Map<String, Value>, ApiError> {
    match parent.get(key) {
        None | Some(Value::Null) => Err(ApiError::missing(format!(
            "The parameter {path} is required."
        ))),
        Some(Value::Object(object)) => Ok(object),
        Some(_) => Err(ApiError::invalid(format!("Param {path} must be an object"))),
    }
}

fn required_str<'a>(
    parent: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, ApiError> {
    match parent.get(key) {
        None | Some(Value::Null) => Err(ApiError::missing(format!(
            "The parameter {path} is required."
        ))),
        Some(Value::String(s)) if s.is_empty() => Err(ApiError::missing(format!(
            "The parameter {path} is required."
        ))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::invalid(format!("Param {path} must be a string"))),
    }
}

fn optional_str<'a>(
    parent: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, ApiError> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(format!("Param {path} must be a string"))),
    }
}

fn text(body: &Map<String, Value>) -> Result<(), ApiError> {
    let text = object(body, "text", "text")?;
    let content = required_str(text, "body", "text['body']")?;
    if content.chars().count() > TEXT_MAX_CHARS {
        return Err(ApiError::invalid(format!(
            "Param text['body'] must be at most {TEXT_MAX_CHARS} characters long"
        )));
    }
    match text.get("preview_url") {
        None | Some(Value::Bool(_)) => Ok(()),
        Some(_) => Err(ApiError::invalid(
            "Param text['preview_url'] must be a boolean",
        )),
    }
}

fn media(body: &Map<String, Value>, kind: &str, ctx: &Ctx<'_>) -> Result<(), ApiError> {
    let media = object(body, kind, kind)?;
    media_source(media, kind, ctx)?;
    if let Some(caption) = optional_str(media, "caption", &format!("{kind}['caption']"))? {
        if matches!(kind, "audio" | "sticker") {
            return Err(ApiError::invalid(format!(
                "Param {kind}['caption'] is not allowed for {kind} messages"
            )));
        }
        if caption.chars().count() > CAPTION_MAX_CHARS {
            return Err(ApiError::invalid(format!(
                "Param {kind}['caption'] must be at most {CAPTION_MAX_CHARS} characters long"
            )));
        }
    }
    if optional_str(media, "filename", &format!("{kind}['filename']"))?.is_some()
        && kind != "document"
    {
        return Err(ApiError::invalid(format!(
            "Param {kind}['filename'] is only allowed for document messages"
        )));
    }
    Ok(())
}

/// Exactly one of `id` (uploaded to this account) and `link` (http or https).
fn media_source(media: &Map<String, Value>, kind: &str, ctx: &Ctx<'_>) -> Result<(), ApiError> {
    let id = optional_str(media, "id", &format!("{kind}['id']"))?;
    let link = optional_str(media, "link", &format!("{kind}['link']"))?;
    match (id, link) {
        (Some(_), Some(_)) => Err(ApiError::invalid(format!(
            "Param {kind} must have either id or link, not both"
        ))),
        (None, None) => Err(ApiError::missing(format!(
            "The parameter {kind}['id'] or {kind}['link'] is required."
        ))),
        (Some(id), None) if !(ctx.media_known)(id) => Err(ApiError::bad_value(format!(
            "Param {kind}['id'] is not a valid whatsapp business account media attachment ID"
        ))),
        (None, Some(link)) if !(link.starts_with("https://") || link.starts_with("http://")) => {
            Err(ApiError::invalid(format!(
                "Param {kind}['link'] must be a valid URL"
            )))
        }
        _ => Ok(()),
    }
}

fn coordinate(location: &Map<String, Value>, key: &str, limit: f64) -> Result<(), ApiError> {
    let value = match location.get(key) {
        None | Some(Value::Null) => {
            return Err(ApiError::missing(format!(
                "The parameter location['{key}'] is required."
            )));
        }
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match value {
        Some(v) if v.is_finite() && v.abs() <= limit => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "Param location['{key}'] must be a number between -{limit} and {limit}"
        ))),
    }
}

fn location(body: &Map<String, Value>) -> Result<(), ApiError> {
    let location = object(body, "location", "location")?;
    coordinate(location, "latitude", 90.0)?;
    coordinate(location, "longitude", 180.0)?;
    optional_str(location, "name", "location['name']")?;
    optional_str(location, "address", "location['address']")?;
    Ok(())
}

fn contacts(body: &Map<String, Value>) -> Result<(), ApiError> {
    let contacts = match body.get("contacts") {
        None | Some(Value::Null) => {
            return Err(ApiError::missing("The parameter contacts is required."));
        }
        Some(Value::Array(contacts)) => contacts,
        Some(_) => return Err(ApiError::invalid("Param contacts must be an array")),
    };
    if contacts.is_empty() || contacts.len() > CONTACTS_MAX {
        return Err(ApiError::invalid(format!(
            "Param contacts must have between 1 and {CONTACTS_MAX} elements"
        )));
    }
    for (i, contact) in contacts.iter().enumerate() {
        let contact = contact
            .as_object()
            .ok_or_else(|| ApiError::invalid(format!("Param contacts[{i}] must be an object")))?;
        let name = object(contact, "name", &format!("contacts[{i}]['name']"))?;
        required_str(
            name,
            "formatted_name",
            &format!("contacts[{i}]['name']['formatted_name']"),
        )?;
        let parts = ["first_name", "last_name", "middle_name", "suffix", "prefix"];
        let has_part = parts.iter().any(|p| {
            name.get(*p)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        });
        if !has_part {
            return Err(ApiError::missing(format!(
                "contacts[{i}]['name'] needs at least one of first_name, last_name, \
                 middle_name, suffix, prefix besides formatted_name"
            )));
        }
        for (list, field) in [("phones", "phone"), ("emails", "email"), ("urls", "url")] {
            match contact.get(list) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (j, item) in items.iter().enumerate() {
                        let item = item.as_object().ok_or_else(|| {
                            ApiError::invalid(format!(
                                "Param contacts[{i}]['{list}'][{j}] must be an object"
                            ))
                        })?;
                        optional_str(
                            item,
                            field,
                            &format!("contacts[{i}]['{list}'][{j}]['{field}']"),
                        )?;
                        optional_str(
                            item,
                            "type",
                            &format!("contacts[{i}]['{list}'][{j}]['type']"),
                        )?;
                    }
                }
                Some(_) => {
                    return Err(ApiError::invalid(format!(
                        "Param contacts[{i}]['{list}'] must be an array"
                    )));
                }
            }
        }
    }
    Ok(())
}

fn reaction(body: &Map<String, Value>) -> Result<(), ApiError> {
    let reaction = object(body, "reaction", "reaction")?;
    required_str(reaction, "message_id", "reaction['message_id']")?;
    // An empty emoji removes the reaction, so only the type is checked.
    match reaction.get("emoji") {
        Some(Value::String(_)) => Ok(()),
        None | Some(Value::Null) => Err(ApiError::missing(
            "The parameter reaction['emoji'] is required.",
        )),
        Some(_) => Err(ApiError::invalid(
            "Param reaction['emoji'] must be a string",
        )),
    }
}

fn interactive(body: &Map<String, Value>) -> Result<(), ApiError> {
    let interactive = object(body, "interactive", "interactive")?;
    let kind = required_str(interactive, "type", "interactive['type']")?;
    if !matches!(
        kind,
        "button"
            | "list"
            | "cta_url"
            | "product"
            | "product_list"
            | "flow"
            | "location_request_message"
    ) {
        return Err(ApiError::invalid(format!(
            "Param interactive['type'] is not supported - got \"{kind}\""
        )));
    }
    object(interactive, "action", "interactive['action']")?;
    Ok(())
}

/// Distinct `{{…}}` placeholders in a template text.
pub(crate) fn placeholders(text: &str) -> usize {
    let mut seen: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        rest = &rest[open + 2..];
        let Some(close) = rest.find("}}") else {
            break;
        };
        let name = rest[..close].trim();
        if !name.is_empty() && !seen.contains(&name) {
            seen.push(name);
        }
        rest = &rest[close + 2..];
    }
    seen.len()
}

fn parameters<'a>(component: &'a Map<String, Value>, path: &str) -> Result<&'a [Value], ApiError> {
    match component.get("parameters") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(parameters)) => Ok(parameters),
        Some(_) => Err(ApiError::invalid(format!(
            "Param {path}['parameters'] must be an array"
        ))),
    }
}

/// A parameter's type after checking that it carries the value of that type.
fn parameter_type<'a>(parameter: &'a Value, path: &str) -> Result<&'a str, ApiError> {
    let parameter = parameter
        .as_object()
        .ok_or_else(|| ApiError::invalid(format!("Param {path} must be an object")))?;
    let kind = required_str(parameter, "type", &format!("{path}['type']"))?;
    match kind {
        "text" => {
            required_str(parameter, "text", &format!("{path}['text']"))?;
        }
        "payload" => {
            required_str(parameter, "payload", &format!("{path}['payload']"))?;
        }
        "coupon_code" => {
            required_str(parameter, kind, &format!("{path}['{kind}']"))?;
        }
        "currency" | "date_time" | "location" | "action" => {
            object(parameter, kind, &format!("{path}['{kind}']"))?;
        }
        "image" | "video" | "document" => {
            let media = object(parameter, kind, &format!("{path}['{kind}']"))?;
            let id = optional_str(media, "id", &format!("{path}['{kind}']['id']"))?;
            let link = optional_str(media, "link", &format!("{path}['{kind}']['link']"))?;
            if id.is_none() == link.is_none() {
                return Err(ApiError::invalid(format!(
                    "Param {path}['{kind}'] must have either id or link"
                )));
            }
        }
        other => {
            return Err(ApiError::invalid(format!(
                "Param {path}['type'] is not a valid parameter type - got \"{other}\""
            )));
        }
    }
    Ok(kind)
}

fn button_index(component: &Map<String, Value>, path: &str) -> Result<usize, ApiError> {
    let index = match component.get("index") {
        None | Some(Value::Null) => {
            return Err(ApiError::missing(format!(
                "The parameter {path}['index'] is required."
            )));
        }
        Some(Value::String(s)) => s.trim().parse::<usize>().ok(),
        Some(Value::Number(n)) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Some(_) => None,
    };
    index
        .filter(|i| *i < 10)
        .ok_or_else(|| ApiError::invalid(format!("Param {path}['index'] must be between 0 and 9")))
}

fn matches_button(sub_type: &str, button: &SimButton) -> bool {
    matches!(
        (sub_type, button.kind.as_str()),
        ("quick_reply", "QUICK_REPLY") | ("url", "URL") | ("copy_code", "COPY_CODE")
    )
}

/// Returns the template's category (lowercase) when the template may be sent as given.
fn template(body: &Map<String, Value>, ctx: &Ctx<'_>) -> Result<String, ApiError> {
    let request = object(body, "template", "template")?;
    let name = required_str(request, "name", "template['name']")?;
    let language = object(request, "language", "template['language']")?;
    let code = required_str(language, "code", "template['language']['code']")?;
    let found = ctx
        .templates
        .iter()
        .find(|t| t.waba_id == ctx.waba_id && t.name == name && t.language == code)
        .ok_or_else(|| {
            ApiError::no_template(format!("template name ({name}) does not exist in {code}"))
        })?;
    match found.status.as_str() {
        "APPROVED" => {}
        "PAUSED" => {
            return Err(ApiError::whatsapp(
                StatusCode::BAD_REQUEST,
                132_015,
                "Template is Paused",
                format!("template ({name}) is paused because of low quality"),
            ));
        }
        "DISABLED" => {
            return Err(ApiError::whatsapp(
                StatusCode::BAD_REQUEST,
                132_016,
                "Template is disabled",
                format!("template ({name}) has been disabled"),
            ));
        }
        _ => {
            return Err(ApiError::no_template(format!(
                "template name ({name}) does not exist in {code}"
            )));
        }
    }

    let components: &[Value] = match request.get("components") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(components)) => components,
        Some(_) => {
            return Err(ApiError::invalid(
                "Param template['components'] must be an array",
            ));
        }
    };
    let mut header: Vec<&str> = Vec::new();
    let mut body_types: Vec<&str> = Vec::new();
    let mut buttons_given: Vec<usize> = Vec::new();
    for (i, component) in components.iter().enumerate() {
        let path = format!("template['components'][{i}]");
        let component = component
            .as_object()
            .ok_or_else(|| ApiError::invalid(format!("Param {path} must be an object")))?;
        let kind =
            required_str(component, "type", &format!("{path}['type']"))?.to_ascii_lowercase();
        let parameters = parameters(component, &path)?;
        let types = parameters
            .iter()
            .enumerate()
            .map(|(j, p)| parameter_type(p, &format!("{path}['parameters'][{j}]")))
            .collect::<Result<Vec<_>, _>>()?;
        match kind.as_str() {
            "header" => header.extend(types),
            "body" => body_types.extend(types),
            "button" => {
                let sub_type = required_str(component, "sub_type", &format!("{path}['sub_type']"))?;
                let index = button_index(component, &path)?;
                let button = found.buttons.get(index).ok_or_else(|| {
                    ApiError::bad_value(format!(
                        "button at index {index} does not exist in template ({name})"
                    ))
                })?;
                if !matches_button(sub_type, button) {
                    return Err(ApiError::format_mismatch(format!(
                        "buttons: button at index {index} is {}, not {sub_type}",
                        button.kind
                    )));
                }
                let expected = match button.kind.as_str() {
                    "URL" => placeholders(&button.url),
                    "COPY_CODE" => 1,
                    // A quick reply's payload is optional.
                    _ => types.len().min(1),
                };
                if types.len() != expected {
                    return Err(ApiError::params_mismatch(format!(
                        "button: number of localizable_params ({}) does not match the expected \
                         number of params ({expected})",
                        types.len()
                    )));
                }
                let allowed: &[&str] = match sub_type {
                    "quick_reply" => &["payload", "text"],
                    "copy_code" => &["coupon_code"],
                    _ => &["text"],
                };
                if let Some(bad) = types.iter().find(|t| !allowed.contains(t)) {
                    return Err(ApiError::format_mismatch(format!(
                        "buttons: a {sub_type} button does not take a {bad} parameter"
                    )));
                }
                buttons_given.push(index);
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "Param {path}['type'] must be one of {{HEADER, BODY, BUTTON}} - got \"{other}\""
                )));
            }
        }
    }

    // Header: as many text parameters as placeholders, or the one media of the header's format.
    match &found.header {
        None if !header.is_empty() => {
            return Err(ApiError::params_mismatch(format!(
                "header: number of localizable_params ({}) does not match the expected number of \
                 params (0)",
                header.len()
            )));
        }
        None => {}
        Some(h) if h.format.eq_ignore_ascii_case("TEXT") => {
            let expected = placeholders(&h.text);
            if header.len() != expected {
                return Err(ApiError::params_mismatch(format!(
                    "header: number of localizable_params ({}) does not match the expected \
                     number of params ({expected})",
                    header.len()
                )));
            }
            if header.iter().any(|t| *t != "text") {
                return Err(ApiError::format_mismatch(
                    "header: Format mismatch, expected TEXT",
                ));
            }
        }
        Some(h) => {
            let format = h.format.to_ascii_lowercase();
            if header.len() != 1 {
                return Err(ApiError::params_mismatch(format!(
                    "header: number of localizable_params ({}) does not match the expected \
                     number of params (1)",
                    header.len()
                )));
            }
            if header[0] != format {
                return Err(ApiError::format_mismatch(format!(
                    "header: Format mismatch, expected {}, received {}",
                    h.format.to_ascii_uppercase(),
                    header[0].to_ascii_uppercase()
                )));
            }
        }
    }

    let expected = placeholders(&found.body);
    if body_types.len() != expected {
        return Err(ApiError::params_mismatch(format!(
            "body: number of localizable_params ({}) does not match the expected number of \
             params ({expected})",
            body_types.len()
        )));
    }
    if let Some(bad) = body_types
        .iter()
        .find(|t| !matches!(**t, "text" | "currency" | "date_time"))
    {
        return Err(ApiError::format_mismatch(format!(
            "body: parameters are text, currency or date_time, not {bad}"
        )));
    }

    // A URL button with a placeholder needs its suffix.
    for (index, button) in found.buttons.iter().enumerate() {
        if button.kind == "URL" && placeholders(&button.url) > 0 && !buttons_given.contains(&index)
        {
            return Err(ApiError::params_mismatch(format!(
                "button: number of localizable_params (0) does not match the expected number of \
                 params (1) for the url button at index {index}"
            )));
        }
    }
    Ok(found.category.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> Vec<SimTemplate> {
        vec![
            SimTemplate::approved(
                "w1",
                "order",
                "es_MX",
                "UTILITY",
                "Hola {{1}}, tu pedido {{2}} va en camino",
            )
            .with_header("IMAGE", "")
            .with_button("QUICK_REPLY", "Gracias", "")
            .with_button("URL", "Rastrear", "https://t.example/{{1}}"),
            SimTemplate::approved("w1", "paused", "en_US", "MARKETING", "Hi").with_status("PAUSED"),
            SimTemplate::approved("w1", "pending", "en_US", "MARKETING", "Hi")
                .with_status("PENDING"),
        ]
    }

    fn check(body: Value) -> Result<Request, i64> {
        let templates = templates();
        let known = |id: &str| id == "111";
        let ctx = Ctx {
            waba_id: "w1",
            templates: &templates,
            media_known: &known,
        };
        request(&body, &ctx).map_err(|e| e.code)
    }

    fn send(extra: Value) -> Value {
        let mut body = json!({ "messaging_product": "whatsapp", "to": "+5215512345678" });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    }

    fn order_template(body_params: usize, header: Value, url_suffix: bool) -> Value {
        let params: Vec<Value> = (0..body_params)
            .map(|i| json!({ "type": "text", "text": format!("v{i}") }))
            .collect();
        let mut components = vec![
            json!({ "type": "header", "parameters": [header] }),
            json!({ "type": "body", "parameters": params }),
            json!({ "type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{ "type": "payload", "payload": "thanks" }] }),
        ];
        if url_suffix {
            components.push(json!({ "type": "button", "sub_type": "url", "index": 1, "parameters": [{ "type": "text", "text": "ABC123" }] }));
        }
        send(
            json!({ "type": "template", "template": { "name": "order", "language": { "code": "es_MX" }, "components": components } }),
        )
    }

    #[test]
    fn a_complete_template_send_is_accepted_with_its_category() {
        let image = json!({ "type": "image", "image": { "link": "https://x.example/a.png" } });
        let accepted = check(order_template(2, image, true)).unwrap();
        assert_eq!(
            accepted,
            Request::Send(Accepted {
                to: "+5215512345678".into(),
                wa_id: "5215512345678".into(),
                kind: "template".into(),
                category: Some("utility".into()),
            })
        );
    }

    #[test]
    fn template_rules_are_meta_rules() {
        let image = json!({ "type": "image", "image": { "link": "https://x.example/a.png" } });
        let video = json!({ "type": "video", "video": { "link": "https://x.example/a.mp4" } });
        assert_eq!(check(order_template(1, image.clone(), true)), Err(132_000));
        assert_eq!(check(order_template(3, image.clone(), true)), Err(132_000));
        assert_eq!(check(order_template(2, video, true)), Err(132_012));
        assert_eq!(check(order_template(2, image, false)), Err(132_000));
        let named = |name: &str, code: &str| {
            send(
                json!({ "type": "template", "template": { "name": name, "language": { "code": code } } }),
            )
        };
        assert_eq!(check(named("order", "en_US")), Err(132_001));
        assert_eq!(check(named("nope", "es_MX")), Err(132_001));
        assert_eq!(check(named("paused", "en_US")), Err(132_015));
        assert_eq!(check(named("pending", "en_US")), Err(132_001));
    }

    #[test]
    fn message_rules_are_meta_rules() {
        let ok = |v: Value| assert!(check(v.clone()).is_ok(), "{v}");
        ok(send(json!({ "text": { "body": "hola" } })));
        ok(send(json!({ "type": "audio", "audio": { "id": "111" } })));
        ok(send(
            json!({ "type": "reaction", "reaction": { "message_id": "wamid.X", "emoji": "" } }),
        ));
        ok(send(
            json!({ "type": "location", "location": { "latitude": "19.4", "longitude": -99.1 } }),
        ));
        ok(json!({ "messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X" }));

        let fails = |v: Value, code: i64| assert_eq!(check(v.clone()), Err(code), "{v}");
        fails(
            json!({ "to": "5215512345678", "text": { "body": "x" } }),
            131_008,
        );
        fails(
            json!({ "messaging_product": "sms", "to": "5215512345678", "text": { "body": "x" } }),
            100,
        );
        fails(
            send(json!({ "to": "55-12 34", "text": { "body": "x" } })),
            100,
        );
        fails(send(json!({ "type": "fax", "fax": {} })), 100);
        fails(
            send(json!({ "type": "text", "text": { "body": "" } })),
            131_008,
        );
        fails(send(json!({ "text": { "body": "x".repeat(4097) } })), 100);
        fails(
            send(
                json!({ "type": "image", "image": { "id": "111", "link": "https://a.example/x.png" } }),
            ),
            100,
        );
        fails(send(json!({ "type": "image", "image": {} })), 131_008);
        fails(
            send(json!({ "type": "image", "image": { "id": "999" } })),
            131_009,
        );
        fails(
            send(json!({ "type": "audio", "audio": { "id": "111", "caption": "no" } })),
            100,
        );
        fails(
            send(
                json!({ "type": "sticker", "sticker": { "link": "https://a.example/s.webp", "caption": "no" } }),
            ),
            100,
        );
        fails(
            send(
                json!({ "type": "image", "image": { "link": "https://a.example/x.png", "filename": "x.png" } }),
            ),
            100,
        );
        fails(
            send(json!({ "type": "reaction", "reaction": { "emoji": "👍" } })),
            131_008,
        );
        fails(
            send(json!({ "type": "location", "location": { "latitude": 91, "longitude": 0 } })),
            100,
        );
        fails(
            send(
                json!({ "type": "contacts", "contacts": [{ "name": { "formatted_name": "Ana" } }] }),
            ),
            131_008,
        );
        fails(send(json!({ "type": "contacts", "contacts": [] })), 100);
        fails(
            json!({ "messaging_product": "whatsapp", "status": "read" }),
            131_008,
        );
    }

    #[test]
    fn placeholders_count_each_name_once() {
        assert_eq!(placeholders("{{1}} {{2}} {{1}}"), 2);
        assert_eq!(placeholders("none"), 0);
        assert_eq!(placeholders("{{ name }} and {{name}}"), 1);
    }
}

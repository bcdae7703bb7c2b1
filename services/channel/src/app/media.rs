//! Media uploads: a file goes to WhatsApp's media store under a number, for a later send by
//! media id. Only the MIME types WhatsApp accepts, at most 16 MiB per call (and WhatsApp's
//! smaller limits for images and stickers). Idempotent by request id: a retried upload returns
//! the first media id instead of uploading again.

use serde::{Deserialize, Serialize};
use switchboard_runtime::{
    errors::FieldViolation,
    ids::{ChannelAccountId, OrganizationId},
};

use super::Channel;
use crate::{
    domain::content::MediaKind, error::ChannelError, graph::GraphError, store::idempotency,
};

/// Largest file accepted in one upload.
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;
/// How long WhatsApp keeps an uploaded media id.
pub const MEDIA_ID_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Longest file name kept.
const MAX_FILENAME_CHARS: usize = 255;
/// The idempotency method name of uploads.
const METHOD: &str = "UploadMedia";

const MIB: usize = 1024 * 1024;

/// The MIME types WhatsApp accepts, the kind they are sent as, and WhatsApp's size limit
/// (capped at [`MAX_UPLOAD_BYTES`]).
const SUPPORTED: &[(&str, MediaKind, usize)] = &[
    ("audio/aac", MediaKind::Audio, 16 * MIB),
    ("audio/amr", MediaKind::Audio, 16 * MIB),
    ("audio/mpeg", MediaKind::Audio, 16 * MIB),
    ("audio/mp4", MediaKind::Audio, 16 * MIB),
    // Opus only; WhatsApp refuses other Ogg codecs itself.
    ("audio/ogg", MediaKind::Audio, 16 * MIB),
    ("text/plain", MediaKind::Document, MAX_UPLOAD_BYTES),
    ("application/pdf", MediaKind::Document, MAX_UPLOAD_BYTES),
    ("application/msword", MediaKind::Document, MAX_UPLOAD_BYTES),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        MediaKind::Document,
        MAX_UPLOAD_BYTES,
    ),
    (
        "application/vnd.ms-excel",
        MediaKind::Document,
        MAX_UPLOAD_BYTES,
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        MediaKind::Document,
        MAX_UPLOAD_BYTES,
    ),
    (
        "application/vnd.ms-powerpoint",
        MediaKind::Document,
        MAX_UPLOAD_BYTES,
    ),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        MediaKind::Document,
        MAX_UPLOAD_BYTES,
    ),
    ("image/jpeg", MediaKind::Image, 5 * MIB),
    ("image/png", MediaKind::Image, 5 * MIB),
    // Animated stickers may be 500 KB, static ones 100 KB; the larger is checked here.
    ("image/webp", MediaKind::Sticker, 500 * 1024),
    ("video/mp4", MediaKind::Video, 16 * MIB),
    ("video/3gpp", MediaKind::Video, 16 * MIB),
    ("video/3gp", MediaKind::Video, 16 * MIB),
];

/// A file uploaded to WhatsApp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedMedia {
    /// WhatsApp's media id, for `Media::media_id`.
    pub media_id: String,
    /// When WhatsApp forgets it (ms since the epoch).
    pub expire_ms: i64,
}

/// A checked upload: the MIME type as WhatsApp expects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadKind {
    /// The MIME type without parameters, lowercase.
    pub mime_type: &'static str,
    /// What it is sent as.
    pub kind: MediaKind,
}

impl Channel {
    /// Checks an upload's MIME type, file name and size; every problem is a field violation
    /// (`mime_type`, `filename`, `data`).
    pub fn check_upload(
        mime_type: &str,
        filename: &str,
        size: usize,
    ) -> Result<UploadKind, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        // "audio/ogg; codecs=opus" is audio/ogg.
        let essence = mime_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let found = SUPPORTED.iter().find(|(m, _, _)| *m == essence);
        match found {
            None if essence.is_empty() => {
                violations.push(FieldViolation::new("mime_type", "is required"));
            }
            None => violations.push(FieldViolation::new(
                "mime_type",
                format!(
                    "{essence:?} is not a type WhatsApp accepts; supported: {}",
                    SUPPORTED
                        .iter()
                        .map(|(m, _, _)| *m)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Some(_) => {}
        }
        if size == 0 {
            violations.push(FieldViolation::new("data", "is empty"));
        } else if size > MAX_UPLOAD_BYTES {
            violations.push(FieldViolation::new(
                "data",
                format!("is {size} bytes; at most {MAX_UPLOAD_BYTES} (16 MiB) per upload"),
            ));
        } else if let Some((m, kind, max)) = found
            && size > *max
        {
            violations.push(FieldViolation::new(
                "data",
                format!(
                    "is {size} bytes; WhatsApp takes {} files ({m}) of at most {max} bytes",
                    kind.as_str()
                ),
            ));
        }
        if filename.chars().count() > MAX_FILENAME_CHARS
            || filename
                .chars()
                .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            violations.push(FieldViolation::new(
                "filename",
                format!("must be a file name of at most {MAX_FILENAME_CHARS} characters, without / or \\"),
            ));
        }
        match found {
            Some((m, kind, _)) if violations.is_empty() => Ok(UploadKind {
                mime_type: m,
                kind: *kind,
            }),
            _ => Err(violations),
        }
    }

    /// Uploads a file to WhatsApp under the number `account`; see the module doc.
    pub async fn upload_media(
        &self,
        org: &OrganizationId,
        request_id: &str,
        account: &ChannelAccountId,
        mime_type: &str,
        filename: &str,
        data: Vec<u8>,
    ) -> Result<UploadedMedia, ChannelError> {
        if let Some(saved) = idempotency::recall(&self.store.db, org, METHOD, request_id).await? {
            return recalled(&saved);
        }
        let upload = Self::check_upload(mime_type, filename, data.len())
            .map_err(ChannelError::InvalidArgument)?;
        let account = self.store.account(org, account).await?;
        let token = self.secrets.token(&account.access_token_secret_ref)?;
        let media_id = self
            .graph
            .upload_media(
                &token,
                &account.phone_number_id,
                upload.mime_type,
                filename,
                data,
            )
            .await
            .map_err(|e| match e {
                GraphError::Rejected { status, error } => ChannelError::FailedPrecondition {
                    reason: None,
                    message: format!("WhatsApp refused the upload ({status}): {}", error.message),
                    metadata: Default::default(),
                },
                other => ChannelError::Unavailable(format!("Graph API: {other}")),
            })?;
        let now = self.clock.now_ms();
        let uploaded = UploadedMedia {
            media_id,
            expire_ms: now + MEDIA_ID_TTL_MS,
        };
        let saved = serde_json::to_string(&uploaded)
            .map_err(|e| ChannelError::Corrupt(format!("upload result: {e}")))?;
        if !idempotency::remember(&self.store.db, org, METHOD, request_id, &saved, now).await? {
            // A concurrent retry finished first: answer as it did.
            if let Some(first) =
                idempotency::recall(&self.store.db, org, METHOD, request_id).await?
            {
                return recalled(&first);
            }
        }
        Ok(uploaded)
    }
}

fn recalled(saved: &str) -> Result<UploadedMedia, ChannelError> {
    serde_json::from_str(saved).map_err(|_| crate::store::corrupt("upload result", saved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_take_whatsapp_types_within_their_limits() {
        let ok = Channel::check_upload("Audio/OGG; codecs=opus", "nota.ogg", 10).expect("valid");
        assert_eq!(ok.mime_type, "audio/ogg");
        assert_eq!(ok.kind, MediaKind::Audio);
        assert_eq!(
            Channel::check_upload("application/pdf", "factura.pdf", MAX_UPLOAD_BYTES)
                .expect("valid")
                .kind,
            MediaKind::Document
        );
        let fields = |r: Result<UploadKind, Vec<FieldViolation>>| -> Vec<String> {
            r.expect_err("invalid")
                .into_iter()
                .map(|v| v.field)
                .collect()
        };
        assert_eq!(
            fields(Channel::check_upload("image/gif", "a.gif", 10)),
            ["mime_type"]
        );
        assert_eq!(
            fields(Channel::check_upload(
                "application/pdf",
                "",
                MAX_UPLOAD_BYTES + 1
            )),
            ["data"]
        );
        assert_eq!(
            fields(Channel::check_upload("image/jpeg", "a.jpg", 6 * MIB)),
            ["data"],
            "images are at most 5 MiB on WhatsApp"
        );
        assert_eq!(
            fields(Channel::check_upload("", "../etc/passwd", 0)),
            ["mime_type", "data", "filename"]
        );
    }
}

//! TEMPORARY stand-in with the agreed API; replaced by the Graph API client being written.
#![allow(dead_code, unused_variables)]
use std::time::Duration;

use crate::domain::content::{Content, ProviderError};

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}
impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
        }
    }
}
#[derive(Clone)]
pub struct GraphClient;
#[derive(Debug, Clone)]
pub struct MediaInfo {
    pub url: String,
    pub mime_type: String,
    pub sha256: String,
    pub file_size: i64,
}
#[derive(Debug, Clone)]
pub struct RemoteButton {
    pub kind: String,
    pub text: String,
    pub value: String,
}
#[derive(Debug, Clone)]
pub struct RemoteTemplate {
    pub id: String,
    pub name: String,
    pub language: String,
    pub status: String,
    pub category: String,
    pub header_format: String,
    pub header_text: String,
    pub body_text: String,
    pub footer_text: String,
    pub buttons: Vec<RemoteButton>,
    pub body_parameter_count: i32,
}
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("rejected {status}")]
    Rejected { status: u16, error: ProviderError },
    #[error("unavailable after {attempts}: {last}")]
    Unavailable {
        attempts: u32,
        last: String,
        error: Option<ProviderError>,
    },
    #[error("protocol {0}")]
    Protocol(String),
    #[error("unsendable {0}")]
    Unsendable(&'static str),
}
impl GraphClient {
    pub fn new(base_url: &str, api_version: &str, retry: RetryPolicy) -> Self {
        Self
    }
    pub async fn send(
        &self,
        token: &str,
        phone_number_id: &str,
        to: &str,
        content: &Content,
        reply_to_wamid: Option<&str>,
    ) -> Result<String, GraphError> {
        Err(GraphError::Protocol(String::new()))
    }
    pub async fn mark_read(
        &self,
        token: &str,
        phone_number_id: &str,
        wamid: &str,
    ) -> Result<(), GraphError> {
        Ok(())
    }
    pub async fn upload_media(
        &self,
        token: &str,
        phone_number_id: &str,
        mime_type: &str,
        filename: &str,
        data: Vec<u8>,
    ) -> Result<String, GraphError> {
        Err(GraphError::Protocol(String::new()))
    }
    pub async fn media_info(&self, token: &str, media_id: &str) -> Result<MediaInfo, GraphError> {
        Err(GraphError::Protocol(String::new()))
    }
    pub async fn download(&self, token: &str, url: &str) -> Result<Vec<u8>, GraphError> {
        Err(GraphError::Protocol(String::new()))
    }
    pub async fn templates(
        &self,
        token: &str,
        waba_id: &str,
    ) -> Result<Vec<RemoteTemplate>, GraphError> {
        Ok(vec![])
    }
}

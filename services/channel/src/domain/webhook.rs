//! Placeholder: the webhook parser and signature check are being written.

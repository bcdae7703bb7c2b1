//! The channel's domain: message content, delivery status, the webhook's shape and the rules
//! of the 24-hour window. No transport or storage types here.

pub mod content;
pub mod model;
pub mod status;
pub mod tags;
pub mod webhook;
pub mod window;

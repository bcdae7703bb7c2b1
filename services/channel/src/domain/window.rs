//! WhatsApp's 24-hour customer service window: every customer message opens a window of 24
//! hours (each new one restarts it); free-form messages go out only inside it, templates always.

use super::content::Content;

/// The window's length.
pub const WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// The window of one contact on one number, from the last customer message's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    /// When the customer last wrote (WhatsApp's timestamp, ms since the epoch); None if never.
    pub last_customer_message_ms: Option<i64>,
}

/// A free-form send outside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutsideWindow {
    /// When the window closed (ms); None when the customer never wrote.
    pub close_ms: Option<i64>,
}

impl Window {
    /// When the window closes (or closed).
    pub fn close_ms(&self) -> Option<i64> {
        self.last_customer_message_ms.map(|t| t + WINDOW_MS)
    }

    /// Whether free-form messages can be sent at `now_ms`.
    pub fn is_open(&self, now_ms: i64) -> bool {
        self.close_ms().is_some_and(|close| now_ms < close)
    }

    /// Milliseconds left at `now_ms`, zero when closed.
    pub fn time_left_ms(&self, now_ms: i64) -> i64 {
        self.close_ms().map_or(0, |close| (close - now_ms).max(0))
    }

    /// Whether `content` may be sent at `now_ms`: templates always, the rest inside the window.
    pub fn admits(&self, content: &Content, now_ms: i64) -> Result<(), OutsideWindow> {
        if !content.is_free_form() || self.is_open(now_ms) {
            Ok(())
        } else {
            Err(OutsideWindow {
                close_ms: self.close_ms(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::content::TemplateMessage;

    fn text() -> Content {
        Content::Text {
            body: "hola".into(),
            preview_url: false,
        }
    }

    #[test]
    fn free_form_only_inside_the_window_templates_always() {
        let w = Window {
            last_customer_message_ms: Some(1_000),
        };
        assert!(w.admits(&text(), 1_000 + WINDOW_MS - 1).is_ok());
        assert_eq!(
            w.admits(&text(), 1_000 + WINDOW_MS),
            Err(OutsideWindow {
                close_ms: Some(1_000 + WINDOW_MS)
            })
        );
        let template = Content::Template(TemplateMessage {
            name: "hello".into(),
            language_code: "es_AR".into(),
            components: vec![],
            rendered_body: String::new(),
        });
        assert!(w.admits(&template, 1_000 + 3 * WINDOW_MS).is_ok());
        let never = Window::default();
        assert_eq!(
            never.admits(&text(), 0),
            Err(OutsideWindow { close_ms: None })
        );
        assert_eq!(w.time_left_ms(1_000 + WINDOW_MS - 10), 10);
        assert_eq!(w.time_left_ms(1_000 + 2 * WINDOW_MS), 0);
    }
}

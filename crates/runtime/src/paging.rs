//! Offset pagination behind opaque page tokens (`switchboard.common.v1.PageRequest`).

use crate::errors::FieldViolation;

/// Page size when the request leaves it unset.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page served; bigger requests are clamped.
pub const MAX_PAGE_SIZE: u64 = 500;

/// A validated page selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub size: u64,
}

impl Page {
    /// Parses `page_size` (0 means the default; clamped to the maximum) and `page_token` (empty,
    /// or a token from a previous response).
    pub fn parse(page_size: i32, page_token: &str) -> Result<Self, FieldViolation> {
        if page_size < 0 {
            return Err(FieldViolation::new(
                "page.page_size",
                "must not be negative",
            ));
        }
        let size = match page_size as u64 {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        let offset = if page_token.is_empty() {
            0
        } else {
            page_token
                .strip_prefix("o")
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| {
                    FieldViolation::new(
                        "page.page_token",
                        "not a token returned by a previous page of this list",
                    )
                })?
        };
        Ok(Self { offset, size })
    }

    /// The token of the next page, empty when `returned` rows ended the list.
    pub fn next_token(&self, returned: usize, total: u64) -> String {
        let next = self.offset + returned as u64;
        if returned as u64 == self.size && next < total {
            format!("o{next}")
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_bad_tokens_are_refused() {
        let first = Page::parse(0, "").expect("valid");
        assert_eq!(
            first,
            Page {
                offset: 0,
                size: DEFAULT_PAGE_SIZE
            }
        );
        let token = first.next_token(50, 120);
        let second = Page::parse(0, &token).expect("valid");
        assert_eq!(second.offset, 50);
        assert_eq!(
            second.next_token(50, 100),
            "",
            "last page has no next token"
        );
        assert_eq!(Page::parse(10_000, "").expect("valid").size, MAX_PAGE_SIZE);
        assert_eq!(
            Page::parse(0, "garbage").expect_err("bad").field,
            "page.page_token"
        );
        assert_eq!(
            Page::parse(-1, "").expect_err("bad").field,
            "page.page_size"
        );
    }
}

//! Contact tags ("Etiquetar contactos"): free labels agents put on contacts to group and find
//! them. A tag is compared ignoring case (its key is the lowercase form) and shown as first
//! written.

/// At most this many tags per contact.
pub const MAX_CONTACT_TAGS: usize = 50;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;

/// The key a tag is unique by and found by: its trimmed lowercase form.
pub fn tag_key(tag: &str) -> String {
    tag.trim().to_lowercase()
}

/// One problem with a request's tags: the position of the bad one (None: the list itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagProblem {
    pub index: Option<usize>,
    pub description: String,
}

/// Checks a request's tags: each trimmed to 1 to 64 characters, none repeated ignoring case,
/// at most 50. Returns them trimmed, in request order, or every problem found.
pub fn parse_tags(values: &[String]) -> Result<Vec<String>, Vec<TagProblem>> {
    let mut problems = Vec::new();
    if values.len() > MAX_CONTACT_TAGS {
        problems.push(TagProblem {
            index: None,
            description: format!(
                "has {} tags; a contact has at most {MAX_CONTACT_TAGS}",
                values.len()
            ),
        });
    }
    let mut seen = std::collections::HashSet::new();
    let mut tags = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let tag = value.trim();
        let chars = tag.chars().count();
        if chars == 0 || chars > MAX_TAG_CHARS {
            problems.push(TagProblem {
                index: Some(i),
                description: format!(
                    "must be 1 to {MAX_TAG_CHARS} characters once trimmed (got {chars})"
                ),
            });
        } else if tag.chars().any(char::is_control) {
            problems.push(TagProblem {
                index: Some(i),
                description: "must not contain control characters".into(),
            });
        } else if !seen.insert(tag_key(tag)) {
            problems.push(TagProblem {
                index: Some(i),
                description: format!("repeats {tag:?} (tags are compared ignoring case)"),
            });
        } else {
            tags.push(tag.to_string());
        }
    }
    if problems.is_empty() {
        Ok(tags)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn tags_are_trimmed_bounded_and_unique_ignoring_case() {
        assert_eq!(
            parse_tags(&strings(&["  VIP ", "mayorista"])),
            Ok(strings(&["VIP", "mayorista"]))
        );
        assert_eq!(tag_key(" VIP "), "vip");
        let bad = parse_tags(&strings(&["vip", "", "VIP", &"x".repeat(65), "a\nb"]))
            .expect_err("bad tags");
        let at: Vec<_> = bad.iter().map(|p| p.index).collect();
        assert_eq!(at, vec![Some(1), Some(2), Some(3), Some(4)]);
        assert!(
            parse_tags(&strings(&[&"ñ".repeat(64)])).is_ok(),
            "characters, not bytes"
        );
        let many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
        assert_eq!(
            parse_tags(&many).expect_err("too many")[0].index,
            None,
            "the list itself is named"
        );
        assert!(parse_tags(&many[..50]).is_ok());
    }
}

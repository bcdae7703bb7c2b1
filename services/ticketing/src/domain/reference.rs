//! Ticket references in a customer's words: "#123", "ticket 123", "ticket nº 123",
//! "ticket no. 123", "ticket n° 123", "chamado 123", "caso 123" (any case, accents tolerated:
//! "tíquet", "número"). A pure function so every phrasing is unit-tested.

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// One reference found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketReference {
    /// The number named.
    pub number: i64,
    /// The words that named it, as the customer wrote them (e.g. "ticket nº 123").
    pub evidence: String,
}

/// The word that introduces a number, after folding (lowercase, accents removed).
/// "n", "no", "nro", "num", "numero" with an optional dot or ordinal mark may follow it.
static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?:
            \#\s?(?P<hash>\d{1,12})
          |
            \b(?:ticket|tiquet|tiquete|tickets|chamado|caso|incidencia|solicitud)
            \s*
            (?:(?:n|no|nro|num|numero)\s*[.ºo°]?\s*)?
            \#?\s*
            (?P<word>\d{1,12})
        )\b",
    )
    .expect("the reference pattern compiles")
});

/// Lowercases `text` and removes accents (NFD, combining marks dropped), keeping every other
/// character (º, °, #) in place; returns the folded text with, for each of its bytes, the byte
/// offset in `text` of the character it came from (so evidence is quoted as written).
fn fold(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len());
    for (at, ch) in text.char_indices() {
        for folded in ch.to_lowercase().flat_map(|c| c.nfd()) {
            if unicode_normalization::char::is_combining_mark(folded) {
                continue;
            }
            let mut buf = [0u8; 4];
            let encoded = folded.encode_utf8(&mut buf);
            out.push_str(encoded);
            origin.extend(std::iter::repeat_n(at, encoded.len()));
        }
    }
    (out, origin)
}

/// Every ticket reference in `text`, in order, each number once.
pub fn find_ticket_references(text: &str) -> Vec<TicketReference> {
    let (folded, origin) = fold(text);
    let mut found: Vec<TicketReference> = Vec::new();
    for caps in PATTERN.captures_iter(&folded) {
        let Some(digits) = caps.name("hash").or_else(|| caps.name("word")) else {
            continue;
        };
        let Ok(number) = digits.as_str().parse::<i64>() else {
            continue;
        };
        if number <= 0 || found.iter().any(|r| r.number == number) {
            continue;
        }
        let whole = caps.get(0).expect("a match has group 0");
        let start = origin[whole.start()];
        let end = origin[whole.end() - 1];
        let end = end + text[end..].chars().next().map_or(0, char::len_utf8);
        found.push(TicketReference {
            number,
            evidence: text[start..end].trim().to_string(),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(text: &str) -> Vec<i64> {
        find_ticket_references(text)
            .into_iter()
            .map(|r| r.number)
            .collect()
    }

    #[test]
    fn every_documented_phrasing_names_its_ticket() {
        for (text, number) in [
            ("tengo el ticket #2", 2),
            ("#123", 123),
            ("mi caso es el #45, gracias", 45),
            ("ticket 123", 123),
            ("Ticket 77 sigue abierto", 77),
            ("TICKET Nº 123", 123),
            ("ticket nº123", 123),
            ("ticket no. 123", 123),
            ("ticket No 9", 9),
            ("ticket n° 123", 123),
            ("ticket n. 31", 31),
            ("ticket número 8", 8),
            ("ticket numero 8", 8),
            ("ticket nro. 15", 15),
            ("o chamado 123 ainda não foi resolvido", 123),
            ("Chamado nº 321", 321),
            ("caso 555", 555),
            ("CASO #556", 556),
            ("sobre el tíquet 12", 12),
            ("el tiquete 13 por favor", 13),
            ("ticket #14", 14),
            ("# 15", 15),
        ] {
            assert_eq!(numbers(text), vec![number], "{text:?}");
        }
    }

    #[test]
    fn evidence_quotes_the_words_as_written() {
        let refs = find_ticket_references("Hola, sobre el Ticket Nº 123: ¿novedades?");
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].evidence, "Ticket Nº 123");
        let refs = find_ticket_references("tengo el ticket #2");
        assert_eq!(refs[0].evidence, "ticket #2");
        let refs = find_ticket_references("o chamado 99 não andou");
        assert_eq!(refs[0].evidence, "chamado 99");
        let refs = find_ticket_references("sobre el tíquet 12");
        assert_eq!(refs[0].evidence, "tíquet 12");
    }

    #[test]
    fn numbers_that_name_no_ticket_are_ignored() {
        for text in [
            "",
            "hola, necesito ayuda",
            "mi teléfono es 1155551234",
            "llamé 3 veces",
            "pedido 123",
            "el caso es que no funciona",
            "ticketera 12",
            "hashtag#12abc",
            "ticket #0",
            "precio $123",
        ] {
            assert!(numbers(text).is_empty(), "{text:?} -> {:?}", numbers(text));
        }
    }

    #[test]
    fn several_references_are_found_once_each() {
        assert_eq!(numbers("ticket 1, caso 2 y también #1 y #3"), vec![1, 2, 3]);
    }
}

//! Ids that look like Meta's: wamids are base64 (with `+`, `/` and `=` in them, so receivers
//! that put them in URLs or keys without escaping find out), media ids are long digit strings.

use rand::Rng;

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(BASE64[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `wamid.` + base64 of a made-up WhatsApp message key for `wa_id`.
pub(crate) fn wamid(wa_id: &str) -> String {
    let mut rng = rand::rng();
    let mut key = Vec::with_capacity(40);
    key.extend_from_slice(b"\x15\x02\x00\x11\x18\x12");
    key.extend_from_slice(wa_id.as_bytes());
    let len = rng.random_range(16..=22);
    key.extend((0..len).map(|_| rng.random::<u8>()));
    format!("wamid.HBgL{}", base64(&key))
}

/// A 16-digit media id.
pub(crate) fn media_id() -> String {
    let n: u64 = rand::rng().random_range(1_000_000_000_000_000..10_000_000_000_000_000);
    n.to_string()
}

/// A 32-hex-digit conversation id.
pub(crate) fn conversation_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// A Graph `fbtrace_id`.
pub(crate) fn fbtrace_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    base64(&bytes)
        .trim_end_matches('=')
        .replace(['+', '/'], "_")
}

/// An opaque token (paging cursors, media URL hashes).
pub(crate) fn opaque(text: &str) -> String {
    base64(text.as_bytes())
}

/// Reads a token made by [`opaque`].
pub(crate) fn unopaque(token: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in token.bytes() {
        if c == b'=' {
            break;
        }
        let value = BASE64.iter().position(|&b| b == c)? as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_round_trips() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
        assert_eq!(unopaque(&opaque("after:25")).as_deref(), Some("after:25"));
        assert_eq!(unopaque("not base64!"), None);
    }

    #[test]
    fn ids_look_like_meta_ids() {
        assert!(wamid("5215512345678").starts_with("wamid.HBgL"));
        assert_eq!(media_id().len(), 16);
        assert_eq!(conversation_id().len(), 32);
        assert_ne!(wamid("1"), wamid("1"));
    }
}

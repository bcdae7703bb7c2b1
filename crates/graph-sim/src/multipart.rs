//! Just enough `multipart/form-data` (RFC 7578) to read a media upload.

/// One form field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Part {
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.data).ok()
    }
}

/// The fields of a multipart body, given the request's `Content-Type`.
pub(crate) fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let (mime, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err("the body is not multipart/form-data".into());
    }
    let boundary = params
        .split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|b| !b.is_empty())
        .ok_or("the multipart body has no boundary")?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut next_delimiter = b"\r\n".to_vec();
    next_delimiter.extend_from_slice(&delimiter);

    let start = find(body, &delimiter).ok_or("the multipart body has no parts")?;
    let mut rest = &body[start + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or("a multipart delimiter is not followed by a line break")?;
        let header_end = find(rest, b"\r\n\r\n").ok_or("a multipart part has no header end")?;
        let headers = std::str::from_utf8(&rest[..header_end])
            .map_err(|_| "multipart headers are not UTF-8")?;
        let content = &rest[header_end + 4..];
        let end = find(content, &next_delimiter).ok_or("a multipart part is not closed")?;
        parts.push(part(headers, content[..end].to_vec())?);
        rest = &content[end + next_delimiter.len()..];
    }
}

fn part(headers: &str, data: Vec<u8>) -> Result<Part, String> {
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in headers.split("\r\n") {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("content-disposition") {
            for param in value.split(';').skip(1) {
                if let Some((k, v)) = param.split_once('=') {
                    let v = v.trim().trim_matches('"').to_owned();
                    match k.trim().to_ascii_lowercase().as_str() {
                        "name" => name = Some(v),
                        "filename" => filename = Some(v),
                        _ => {}
                    }
                }
            }
        } else if key.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_owned());
        }
    }
    Ok(Part {
        name: name.ok_or("a multipart part has no name")?,
        filename,
        content_type,
        data,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    (0..=haystack.len() - needle.len())
        .find(|&i| haystack[i] == first && &haystack[i..i + needle.len()] == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_and_file_fields() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\x00\x01\r\n--\xff\r\n--XyZ--\r\n";
        let parts = parse("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "messaging_product");
        assert_eq!(parts[0].text(), Some("whatsapp"));
        assert_eq!(parts[1].filename.as_deref(), Some("a.jpg"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(parts[1].data, b"\x00\x01\r\n--\xff");
    }

    #[test]
    fn refuses_what_is_not_multipart() {
        assert!(parse("application/json", b"{}").is_err());
        assert!(parse("multipart/form-data", b"--a\r\n").is_err());
        assert!(parse("multipart/form-data; boundary=a", b"--a\r\nno header end").is_err());
        assert!(parse("multipart/form-data; boundary=a", b"garbage").is_err());
    }
}

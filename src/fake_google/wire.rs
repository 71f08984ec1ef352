//! What the fake Gmail does to the bytes it is sent, as Gmail does: read a
//! `multipart/related` upload (JSON metadata, then the message), and replace
//! the client's Message-ID with one of its own (docs/google.md, "Sending").

/// The metadata and the message of an `uploadType=multipart` body.
pub fn related_parts(
    content_type: &str,
    body: &[u8],
) -> Result<(serde_json::Value, Vec<u8>), &'static str> {
    let (kind, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !kind.trim().eq_ignore_ascii_case("multipart/related") {
        return Err("Media type must be multipart/related");
    }
    let boundary = params
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or("Missing boundary")?;
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    // Each part runs from after a delimiter line to the CRLF before the next.
    let start = find(rest, delimiter.as_bytes()).ok_or("No parts")?;
    rest = &rest[start + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            break;
        }
        rest = rest.strip_prefix(b"\r\n").ok_or("Malformed part")?;
        let end = next_delimiter(rest, delimiter.as_bytes()).ok_or("Unterminated part")?;
        parts.push(&rest[..end]);
        rest = &rest[end + 2 + delimiter.len()..];
    }
    let [metadata, message] = parts[..] else {
        return Err("Expected a metadata part and a message part");
    };
    let (meta_headers, meta_body) = split_part(metadata)?;
    if !header_says(meta_headers, "application/json") {
        return Err("The first part must be application/json");
    }
    let (message_headers, message_body) = split_part(message)?;
    if !header_says(message_headers, "message/rfc822") {
        return Err("Media type must be message/rfc822");
    }
    let metadata = serde_json::from_slice(meta_body).map_err(|_| "Invalid JSON metadata")?;
    Ok((metadata, message_body.to_vec()))
}

fn split_part(part: &[u8]) -> Result<(&[u8], &[u8]), &'static str> {
    let at = find(part, b"\r\n\r\n").ok_or("A part without headers")?;
    Ok((&part[..at], &part[at + 4..]))
}

fn header_says(headers: &[u8], content_type: &str) -> bool {
    String::from_utf8_lossy(headers).lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("content-type")
                && v.trim().to_ascii_lowercase().starts_with(content_type)
        })
    })
}

/// Where the CRLF before the next delimiter line starts: the delimiter must be
/// followed by CRLF or by `--` (the last one), not by more of a line.
fn next_delimiter(haystack: &[u8], delimiter: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find(&haystack[from..], b"\r\n") {
        let start = from + at;
        let after = &haystack[start + 2..];
        if after.starts_with(delimiter) {
            let tail = &after[delimiter.len()..];
            if tail.starts_with(b"\r\n") || tail.starts_with(b"--") {
                return Some(start);
            }
        }
        from = start + 2;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The message with its Message-ID header (folded lines included) replaced by
/// `new_id`, or one added when it had none, and the Message-ID it was sent
/// with.
pub fn replace_message_id(raw: &[u8], new_id: &str) -> (Option<String>, Vec<u8>) {
    let header_end = find(raw, b"\r\n\r\n").map_or(raw.len(), |at| at + 2);
    let (head, body) = raw.split_at(header_end);
    let mut out = Vec::with_capacity(raw.len() + 64);
    let mut original = None;
    let mut skipping = false;
    for line in head.split_inclusive(|b| *b == b'\n') {
        let folded = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if folded && skipping {
            if let Some(id) = original.as_mut() {
                let id: &mut String = id;
                id.push_str(String::from_utf8_lossy(line).trim());
            }
            continue;
        }
        skipping = false;
        let is_message_id = line
            .iter()
            .position(|b| *b == b':')
            .is_some_and(|at| line[..at].eq_ignore_ascii_case(b"message-id"));
        if is_message_id && original.is_none() {
            let at = line.iter().position(|b| *b == b':').unwrap_or(0);
            original = Some(String::from_utf8_lossy(&line[at + 1..]).trim().to_string());
            out.extend_from_slice(format!("Message-ID: {new_id}\r\n").as_bytes());
            skipping = true;
            continue;
        }
        out.extend_from_slice(line);
    }
    if original.is_none() {
        let mut with = format!("Message-ID: {new_id}\r\n").into_bytes();
        with.extend_from_slice(&out);
        out = with;
    }
    out.extend_from_slice(body);
    (original, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_s_message_id_replaces_the_client_s() {
        let raw = b"From: a@example.com\r\nMessage-ID:\r\n <ours@host>\r\nSubject: Hi\r\n\r\nMessage-ID: in the body stays\r\n";
        let (original, out) = replace_message_id(raw, "<theirs@mail.gmail.com>");
        assert_eq!(original.as_deref(), Some("<ours@host>"));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "From: a@example.com\r\nMessage-ID: <theirs@mail.gmail.com>\r\nSubject: Hi\r\n\r\nMessage-ID: in the body stays\r\n"
        );
        let (none, out) = replace_message_id(b"Subject: Hi\r\n\r\nbody", "<x@y>");
        assert_eq!(none, None);
        assert_eq!(out, b"Message-ID: <x@y>\r\nSubject: Hi\r\n\r\nbody");
    }

    #[test]
    fn a_multipart_upload_gives_its_metadata_and_message() {
        let body = b"--b1\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{\"threadId\":\"t1\"}\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: Hi\r\n\r\n--b1x is not the boundary\r\n--b1--\r\n";
        let (meta, message) = related_parts("multipart/related; boundary=b1", body).unwrap();
        assert_eq!(meta["threadId"], "t1");
        assert_eq!(message, b"Subject: Hi\r\n\r\n--b1x is not the boundary");
        assert!(related_parts("multipart/related; boundary=b2", body).is_err());
        assert!(related_parts("message/rfc822", body).is_err());
    }
}

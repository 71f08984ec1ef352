//! The RFC 5322 message, built with lettre: From (name and address), To, Cc, Bcc,
//! a UTF-8 Subject, Date, our Message-ID and X-MailMerger-Id, and
//! multipart/alternative text + HTML.

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart};

/// A file to attach, read from storage just before sending.
pub struct File {
    pub name: String,
    pub content_type: String,
    pub bytes: bytes::Bytes,
}

pub struct Outgoing<'a> {
    pub from_name: &'a str,
    pub from_address: &'a str,
    pub to: &'a [String],
    pub cc: &'a [String],
    pub bcc: &'a [String],
    pub subject: &'a str,
    pub html: &'a str,
    pub text: &'a str,
    /// With angle brackets: `<id@host>`.
    pub message_id: &'a str,
    /// Ours, the message's row: `X-MailMerger-Id`, the same on every attempt.
    /// Gmail replaces the Message-ID on API sends; this finds the message again.
    pub mailmerger_id: uuid::Uuid,
    /// The one-click unsubscribe URL: `List-Unsubscribe` and
    /// `List-Unsubscribe-Post` (RFC 8058).
    pub list_unsubscribe: Option<&'a str>,
    /// The Message-IDs this one answers, oldest first: `References`, and the
    /// last as `In-Reply-To` (a campaign's follow-up).
    pub references: &'a [String],
    pub files: &'a [File],
}

/// Why a message cannot be built; the text is shown to the user.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct BuildError(pub String);

fn no_line_breaks(what: &str, value: &str) -> Result<(), BuildError> {
    if value.contains(['\r', '\n']) {
        return Err(BuildError(format!(
            "The {what} contains a line break, which a mail header cannot carry."
        )));
    }
    Ok(())
}

fn mailbox(what: &str, address: &str, name: Option<&str>) -> Result<Mailbox, BuildError> {
    no_line_breaks(what, address)?;
    let parsed = address.trim().parse().map_err(|_| {
        BuildError(format!(
            "{address:?} is not a valid email address ({what})."
        ))
    })?;
    Ok(Mailbox::new(name.map(str::to_string), parsed))
}

/// `keep_bcc` only for Gmail's API, which reads Bcc from the message itself. Over
/// SMTP the header would reach every recipient.
pub fn build(out: &Outgoing<'_>, keep_bcc: bool) -> Result<Message, BuildError> {
    no_line_breaks("subject", out.subject)?;
    no_line_breaks("sender's name", out.from_name)?;
    no_line_breaks("Message-ID", out.message_id)?;
    let name = Some(out.from_name.trim()).filter(|n| !n.is_empty());
    let mut builder = Message::builder()
        .from(mailbox("sender", out.from_address, name)?)
        .subject(out.subject)
        .date_now()
        .message_id(Some(out.message_id.to_string()));
    if let Some(last) = out.references.last() {
        for id in out.references {
            no_line_breaks("Message-ID it answers", id)?;
        }
        builder = builder
            .in_reply_to(last.clone())
            .references(out.references.join(" "));
    }
    for to in out.to {
        builder = builder.to(mailbox("To", to, None)?);
    }
    for cc in out.cc {
        builder = builder.cc(mailbox("Cc", cc, None)?);
    }
    for bcc in out.bcc {
        builder = builder.bcc(mailbox("Bcc", bcc, None)?);
    }
    if keep_bcc {
        builder = builder.keep_bcc();
    }
    builder = builder.raw_header(HeaderValue::new(
        HeaderName::new_from_ascii_str("X-MailMerger-Id"),
        out.mailmerger_id.to_string(),
    ));
    if let Some(url) = out.list_unsubscribe {
        no_line_breaks("unsubscribe link", url)?;
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_string(),
            ));
    }
    let body = MultiPart::alternative_plain_html(out.text.to_string(), out.html.to_string());
    let body = if out.files.is_empty() {
        body
    } else {
        // multipart/mixed: the text and HTML first, then each file.
        let mut mixed = MultiPart::mixed().multipart(body);
        for file in out.files {
            no_line_breaks("attachment's name", &file.name)?;
            let content_type = ContentType::parse(&file.content_type)
                .unwrap_or_else(|_| ContentType::parse("application/octet-stream").expect("valid"));
            mixed = mixed.singlepart(
                Attachment::new(file.name.clone()).body(file.bytes.to_vec(), content_type),
            );
        }
        mixed
    };
    builder
        .multipart(body)
        .map_err(|e| BuildError(format!("The message could not be built: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing<'a>(subject: &'a str, bcc: &'a [String]) -> Outgoing<'a> {
        Outgoing {
            from_name: "Ada Lovelace",
            from_address: "ada@example.com",
            to: &[],
            cc: &[],
            bcc,
            subject,
            html: "<p>Hello <b>Grace</b></p>",
            text: "Hello Grace",
            message_id: "<0192@mail.example.com>",
            mailmerger_id: uuid::Uuid::from_u128(0x0192),
            list_unsubscribe: None,
            references: &[],
            files: &[],
        }
    }

    #[test]
    fn a_follow_up_answers_the_steps_before_it() {
        let to = vec!["grace@example.com".to_string()];
        let plain = String::from_utf8(
            build(&with_to(outgoing("Hi", &[]), &to), false)
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(
            !plain.contains("In-Reply-To") && !plain.contains("References"),
            "{plain}"
        );
        let earlier = vec![
            "<a1@mail.gmail.com>".to_string(),
            "<b2@mail.gmail.com>".to_string(),
        ];
        let mut o = with_to(outgoing("Re: Hi", &[]), &to);
        o.references = &earlier;
        let raw = String::from_utf8(build(&o, false).unwrap().formatted()).unwrap();
        assert!(raw.contains("In-Reply-To: <b2@mail.gmail.com>"), "{raw}");
        assert!(
            raw.contains("References: <a1@mail.gmail.com> <b2@mail.gmail.com>"),
            "{raw}"
        );
        // An id that would break the header is refused, not sent.
        let broken = vec!["<a1@x>\r\nBcc: eve@example.com".to_string()];
        o.references = &broken;
        assert!(build(&o, false).is_err());
    }

    fn with_to<'a>(mut o: Outgoing<'a>, to: &'a [String]) -> Outgoing<'a> {
        o.to = to;
        o
    }

    #[test]
    fn a_message_has_every_header_and_both_parts() {
        let to = vec!["grace@example.com".to_string()];
        let m = build(&with_to(outgoing("Café ☕ on Friday", &[]), &to), false).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(
            raw.contains("From: \"Ada Lovelace\" <ada@example.com>"),
            "{raw}"
        );
        assert!(raw.contains("To: grace@example.com"), "{raw}");
        assert!(raw.contains("Message-ID: <0192@mail.example.com>"), "{raw}");
        assert!(
            raw.contains("X-MailMerger-Id: 00000000-0000-0000-0000-000000000192"),
            "{raw}"
        );
        assert!(raw.contains("Date: "), "{raw}");
        assert!(
            raw.contains("Subject: =?utf-8?"),
            "subject not encoded: {raw}"
        );
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("text/plain") && raw.contains("text/html"),
            "{raw}"
        );
    }

    #[test]
    fn a_one_click_unsubscribe_url_is_sent_as_both_rfc_8058_headers() {
        let to = vec!["grace@example.com".to_string()];
        let plain = build(&with_to(outgoing("Hi", &[]), &to), false).unwrap();
        let raw = String::from_utf8(plain.formatted()).unwrap();
        assert!(!raw.contains("List-Unsubscribe"), "{raw}");
        let mut o = with_to(outgoing("Hi", &[]), &to);
        o.list_unsubscribe = Some("https://mail.example.com/u/AbC-_1");
        let raw = String::from_utf8(build(&o, false).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("List-Unsubscribe: <https://mail.example.com/u/AbC-_1>\r\n"),
            "{raw}"
        );
        assert!(
            raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
            "{raw}"
        );
        o.list_unsubscribe = Some("https://x.example/u/a\r\nBcc: victim@example.com");
        assert!(build(&o, false).is_err());
    }

    #[test]
    fn bcc_is_kept_only_when_asked() {
        let to = vec!["grace@example.com".to_string()];
        let bcc = vec!["boss@example.com".to_string()];
        let smtp = build(&with_to(outgoing("Hi", &bcc), &to), false).unwrap();
        let raw = String::from_utf8(smtp.formatted()).unwrap();
        assert!(
            !raw.contains("boss@example.com"),
            "Bcc leaked over SMTP: {raw}"
        );
        assert!(
            smtp.envelope()
                .to()
                .iter()
                .any(|a| a.to_string() == "boss@example.com")
        );
        let gmail = build(&with_to(outgoing("Hi", &bcc), &to), true).unwrap();
        assert!(
            String::from_utf8(gmail.formatted())
                .unwrap()
                .contains("Bcc: boss@example.com")
        );
    }

    #[test]
    fn files_follow_the_text_in_a_mixed_message() {
        use mail_parser::MimeHeaders;
        let to = vec!["grace@example.com".to_string()];
        let files = [File {
            name: "Résumé 2026.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: bytes::Bytes::from_static(b"%PDF-1.7 not really"),
        }];
        let mut o = with_to(outgoing("Hi", &[]), &to);
        o.files = &files;
        let raw = build(&o, false).unwrap().formatted();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.attachment_count(), 1);
        let part = parsed.attachment(0).unwrap();
        assert_eq!(part.attachment_name(), Some("Résumé 2026.pdf"));
        assert_eq!(part.contents(), b"%PDF-1.7 not really");
        assert_eq!(parsed.body_text(0).as_deref(), Some("Hello Grace"));
        let raw = String::from_utf8(raw).unwrap();
        assert!(raw.contains("multipart/mixed"), "{raw}");
        assert!(raw.contains("application/pdf"), "{raw}");
    }

    #[test]
    fn line_breaks_in_headers_are_refused() {
        let to = vec!["grace@example.com".to_string()];
        let e = build(
            &with_to(outgoing("Hi\r\nBcc: victim@example.com", &[]), &to),
            false,
        )
        .unwrap_err();
        assert!(e.0.contains("subject"), "{e}");
        let bad_to = vec!["grace@example.com\r\nX: y".to_string()];
        assert!(build(&with_to(outgoing("Hi", &[]), &bad_to), false).is_err());
    }
}

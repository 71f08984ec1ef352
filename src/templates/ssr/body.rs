//! Turning what the user wrote (Markdown with placeholders) into the HTML and
//! plain-text parts of a template, once, when it is saved.
//!
//! Placeholders may stand in text, never inside a tag or an attribute (no
//! `[link]({{ url }})`): then HTML-escaping each value is all the sanitising a
//! render needs, and the stored HTML has been through ammonia exactly once.

use crate::merge::render::{MessageTemplate, SyntaxError};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub html: String,
    pub text: String,
}

/// A problem with the body or subject, for the field it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    pub field: &'static str,
    pub message: String,
}

fn options() -> Options {
    Options::ENABLE_STRIKETHROUGH
}

fn has_tag(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("%7B%7B") || s.contains("%7B%25")
}

/// Checks the subject and body, and derives the two body parts.
pub fn prepare(subject: &str, markdown: &str) -> Result<Body, BodyError> {
    build(subject, markdown).map(|(body, _)| body)
}

/// The body as the editor's preview shows it: the sanitised HTML with every
/// placeholder shown as the text it is, escaped like any other text.
pub fn preview(subject: &str, markdown: &str) -> Result<String, BodyError> {
    build(subject, markdown).map(|(_, clean)| clean)
}

/// The body parts, and the sanitised HTML before the template tags in it are
/// put back for the renderer.
fn build(subject: &str, markdown: &str) -> Result<(Body, String), BodyError> {
    // Syntax first, on exactly what the user wrote, so lines and columns match.
    if let Err(e) = MessageTemplate::compile(subject, "", markdown) {
        return Err(syntax(e));
    }
    // `[text]({{ url }})` is no link to Markdown (the space ends the address), but
    // it is what the user meant: refuse it like any link.
    let placeholder_as_address = markdown
        .match_indices("](")
        .any(|(i, _)| has_tag(markdown[i + 2..].trim_start().get(..2).unwrap_or("")));
    for event in Parser::new_ext(markdown, options()) {
        let inside_markup = placeholder_as_address
            || match &event {
                Event::Start(Tag::Link {
                    dest_url, title, ..
                })
                | Event::Start(Tag::Image {
                    dest_url, title, ..
                }) => has_tag(dest_url) || has_tag(title),
                Event::Html(raw) | Event::InlineHtml(raw) => has_tag(raw),
                _ => false,
            };
        if inside_markup {
            return Err(BodyError {
                field: "body",
                message: "Placeholders can stand in text, but not inside a link address or an HTML tag. Put the placeholder in the link's text instead.".into(),
            });
        }
    }

    let mut raw_html = String::new();
    pulldown_cmark::html::push_html(&mut raw_html, Parser::new_ext(markdown, options()));
    let clean = ammonia::clean(&raw_html);
    let html = unescape_tags(&clean);
    let text = plain_text(markdown);
    if let Err(e) = MessageTemplate::compile(subject, &html, &text) {
        return Err(syntax(e));
    }
    Ok((Body { html, text }, clean))
}

fn syntax(e: SyntaxError) -> BodyError {
    BodyError {
        field: e.part.field(),
        message: e.explain(),
    }
}

/// HTML escaping turns `default("there")` into `default(&quot;there&quot;)`;
/// inside template tags, put the characters back so the template still parses.
/// One pass over the text. What comes back inside a tag is only ever an
/// expression of the template language (`guard`), whose output is escaped again
/// when it is rendered into the HTML part.
fn unescape_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = next_tag(rest) {
        let close = if rest[start..].starts_with("{{") {
            "}}"
        } else {
            "%}"
        };
        let Some(end) = rest[start + 2..].find(close) else {
            break;
        };
        let end = start + 2 + end + 2;
        out.push_str(&rest[..start]);
        unescape_into(&mut out, &rest[start..end]);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Where the next `{{` or `{%` starts.
fn next_tag(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(i) = s[from..].find('{') {
        let at = from + i;
        if matches!(bytes.get(at + 1), Some(b'{') | Some(b'%')) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn unescape_into(out: &mut String, tag: &str) {
    const ENTITIES: [(&str, char); 5] = [
        ("&quot;", '"'),
        ("&#39;", '\''),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&amp;", '&'),
    ];
    let mut rest = tag;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let here = &rest[i..];
        match ENTITIES.iter().find(|(e, _)| here.starts_with(e)) {
            Some((e, c)) => {
                out.push(*c);
                rest = &here[e.len()..];
            }
            None => {
                out.push('&');
                rest = &here[1..];
            }
        }
    }
    out.push_str(rest);
}

/// The plain-text alternative: the Markdown read as text, with links written out.
fn plain_text(markdown: &str) -> String {
    let mut out = String::new();
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut link: Option<String> = None;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::Start(Tag::Item) => {
                let indent = "  ".repeat(lists.len().saturating_sub(1));
                match lists.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{indent}{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str(&format!("{indent}- ")),
                }
            }
            Event::Start(Tag::List(first)) => {
                if !lists.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                lists.push(first);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
                if lists.is_empty() {
                    out.push('\n');
                }
            }
            Event::End(TagEnd::Item) if !out.ends_with('\n') => out.push('\n'),
            Event::Start(Tag::Link { dest_url, .. }) => link = Some(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = link.take() {
                    out.push_str(&format!(" ({url})"));
                }
            }
            Event::End(TagEnd::Paragraph) | Event::End(TagEnd::Heading(_)) => {
                if lists.is_empty() {
                    out.push_str("\n\n");
                } else {
                    out.push('\n');
                }
            }
            Event::Rule => out.push_str("----\n\n"),
            _ => {}
        }
    }
    out.trim_end().to_string() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn markdown_becomes_sanitised_html_with_formatting() {
        let body = prepare(
            "Hi",
            "Hello **{{ name }}**, *really*.\n\n- one\n- two\n\n1. first\n2. second\n\n[our site](https://example.com)\n\n<script>alert(1)</script>",
        )
        .unwrap();
        assert!(
            body.html.contains("<strong>{{ name }}</strong>"),
            "{}",
            body.html
        );
        assert!(body.html.contains("<em>really</em>"));
        assert!(body.html.contains("<ul>\n<li>one</li>"));
        assert!(body.html.contains("<ol>\n<li>first</li>"));
        assert!(body.html.contains("<a href=\"https://example.com\""));
        assert!(!body.html.contains("script"), "{}", body.html);
    }

    #[test]
    fn the_text_part_reads_well() {
        let body = prepare(
            "Hi",
            "Hello {{ name }},\n\n- one\n- two\n\nSee [our site](https://example.com).",
        )
        .unwrap();
        assert_eq!(
            body.text,
            "Hello {{ name }},\n\n- one\n- two\n\nSee our site (https://example.com).\n"
        );
    }

    #[test]
    fn fallbacks_survive_html_escaping() {
        let body = prepare("Hi", r#"Dear {{ name | default("there & co") }}"#).unwrap();
        assert!(
            body.html.contains(r#"{{ name | default("there & co") }}"#),
            "{}",
            body.html
        );
        let t = MessageTemplate::compile("Hi", &body.html, &body.text).unwrap();
        let r = t.render(&BTreeMap::<String, String>::new()).unwrap();
        assert_eq!(r.html, "<p>Dear there &amp; co</p>\n");
        assert_eq!(r.text, "Dear there & co\n");
    }

    #[test]
    fn the_preview_shows_placeholders_as_escaped_text() {
        for body in [
            r#"{{ "&lt;img src=x onerror=alert(1)&gt;" }}"#,
            r#"{{ name | default("&lt;img src=x onerror=alert(1)&gt;") }}"#,
        ] {
            let html = preview("Hi", body).unwrap();
            assert!(!html.contains("<img"), "{html}");
            assert!(
                html.contains("&lt;img src=x onerror=alert(1)&gt;"),
                "{html}"
            );
            // What is sent escapes the value again.
            let parts = prepare("Hi", body).unwrap();
            let t = MessageTemplate::compile("Hi", &parts.html, &parts.text).unwrap();
            let r = t.render(&BTreeMap::<String, String>::new()).unwrap();
            assert!(!r.html.contains("<img"), "{}", r.html);
            assert!(
                r.html.contains("&lt;img src=x onerror=alert(1)&gt;"),
                "{}",
                r.html
            );
        }
    }

    #[test]
    fn raw_html_cannot_come_back_through_safe_or_autoescape() {
        for body in [
            r#"{{ "&lt;script&gt;" | safe }}"#,
            "{% autoescape false %}{{ x }}{% endautoescape %}",
            r#"{% raw %}{{ "&lt;script&gt;" }}{% endraw %}"#,
        ] {
            let err = prepare("Hi", body).unwrap_err();
            assert_eq!(err.field, "body");
            assert!(
                err.message.contains("templates cannot use"),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn unescaping_is_linear() {
        let body = "{{ a }} ".repeat(50_000);
        let html = unescape_tags(&body);
        assert_eq!(html, body);
        assert_eq!(
            unescape_tags("{{ a | default(&quot;x &amp;lt; y&quot;) }} &amp; {% if b %}"),
            "{{ a | default(\"x &lt; y\") }} &amp; {% if b %}"
        );
    }

    #[test]
    fn placeholders_inside_links_or_tags_are_refused() {
        for bad in [
            "[site]({{ url }})",
            "![x]({{ img }})",
            "<a href=\"{{ url }}\">x</a>",
            "[t](https://x.io \"{{ t }}\")",
        ] {
            let err = prepare("Hi", bad).unwrap_err();
            assert_eq!(err.field, "body", "{bad}");
            assert!(err.message.contains("not inside a link address"), "{bad}");
        }
    }

    #[test]
    fn syntax_errors_name_the_field_line_and_column() {
        let err = prepare("Hi", "First line\nsecond {{ name ").unwrap_err();
        assert_eq!(err.field, "body");
        assert!(err.message.contains("line 2"), "{}", err.message);
        let err = prepare("Hi {% if x %}", "ok").unwrap_err();
        assert_eq!(err.field, "subject");
        assert!(err.message.contains("line 1"), "{}", err.message);
    }
}

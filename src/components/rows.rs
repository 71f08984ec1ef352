//! Rows of the long lists written straight to HTML (docs/lists.md, "Rendering
//! rows"). A row that holds no live control (its checkbox and buttons belong to
//! the form around the table) needs no view tree: built as one string it costs
//! a fraction of the server's time, and the same code runs in the browser when
//! the list is loaded again. Every value goes through [`text`] or [`attr`].

use std::fmt::Write;

/// `s` escaped for the text of an element.
pub fn text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
}

/// `s` escaped for a double-quoted attribute value.
pub fn attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// `s` escaped for either, as a new string.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    attr(&mut out, s);
    out
}

/// A row's select box, named `ids[i]` for the form's server function, with a
/// visible-to-screen-readers label naming the recipient.
fn select_box(out: &mut String, i: usize, id: &uuid::Uuid, to: &str) {
    let _ = write!(
        out,
        r#"<input type="checkbox" id="select-{id}" name="ids[{i}]" value="{id}"/><label for="select-{id}" class="visually-hidden">Select the message to "#
    );
    text(out, to);
    out.push_str("</label>");
}

/// A submit button of the form around the list, with its action's value and a
/// label that names the message.
pub fn submit(out: &mut String, value: &str, aria_label: &str, label: &str) {
    out.push_str(r#"<button type="submit" class="small" name="action" value=""#);
    attr(out, value);
    out.push_str(r#"" aria-label=""#);
    attr(out, aria_label);
    out.push_str(r#"">"#);
    text(out, label);
    out.push_str("</button>");
}

/// The opening of a message's row, as Sent and the queue show it: `<tr>`, the
/// select box (if it may be selected), the recipient, the subject with what it
/// attaches, and when.
pub struct MessageCells<'a> {
    pub i: usize,
    pub selectable: bool,
    pub id: &'a uuid::Uuid,
    pub to: &'a str,
    pub subject: &'a str,
    pub attachments: &'a [String],
    pub when: &'a str,
}

impl MessageCells<'_> {
    pub fn write(&self, out: &mut String) {
        out.push_str("<tr><td>");
        if self.selectable {
            select_box(out, self.i, self.id, self.to);
        }
        out.push_str(r#"</td><td class="mono">"#);
        text(out, self.to);
        out.push_str("</td><td>");
        text(out, self.subject);
        attached(out, self.attachments);
        out.push_str(r#"</td><td class="when">"#);
        text(out, self.when);
        out.push_str("</td>");
    }
}

/// "Attached: cv.pdf, portfolio.pdf" under a message's subject.
fn attached(out: &mut String, names: &[String]) {
    if names.is_empty() {
        return;
    }
    out.push_str(r#"<span class="attached">Attached: "#);
    text(out, &names.join(", "));
    out.push_str("</span>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_a_subject_holds_becomes_markup() {
        let hostile =
            r#"<script>alert(1)</script> & "quoted" 'single' <img src=x onerror=alert(1)>"#;
        let mut t = String::new();
        text(&mut t, hostile);
        assert!(!t.contains('<') && !t.contains('>'), "{t}");
        assert!(t.contains("&amp;") && t.contains("&lt;script&gt;"), "{t}");
        let mut a = String::new();
        attr(&mut a, hostile);
        assert!(
            !a.contains('"') && !a.contains('\'') && !a.contains('<'),
            "{a}"
        );
        let mut b = String::new();
        submit(
            &mut b,
            "retry:1",
            r#"Retry the message to "x" onclick="y"#,
            "Retry",
        );
        assert_eq!(
            b,
            r#"<button type="submit" class="small" name="action" value="retry:1" aria-label="Retry the message to &quot;x&quot; onclick=&quot;y">Retry</button>"#
        );
        assert_eq!(escape("a<b>\"c\""), "a&lt;b&gt;&quot;c&quot;");
    }
}

//! The part of the merge engine that the browser gets: finding placeholders and
//! normalising keys. Small on purpose; the renderer (minijinja) is server-only.

/// A CSV header or placeholder name as a key: trimmed, lowercased, and each run of
/// characters other than letters and digits turned into one `_` ("First Name" and
/// "first-name" both become `first_name`). Leading and trailing `_` are dropped.
pub fn normalize_key(raw: &str) -> String {
    let mut key = String::with_capacity(raw.len());
    let mut gap = false;
    for c in raw.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if gap && !key.is_empty() {
                key.push('_');
            }
            gap = false;
            key.push(c);
        } else {
            gap = true;
        }
    }
    key
}

/// Words inside tags that are syntax, not placeholders.
const KEYWORDS: &[&str] = &[
    "if", "elif", "else", "endif", "and", "or", "not", "in", "is", "true", "false", "none", "for",
    "endfor", "set", "endset", "with", "endwith", "loop", "raw", "endraw",
];

/// One tag of a template: `{{ … }}` or `{% … %}`, with its inner text.
struct Tag<'a> {
    inner: &'a str,
}

/// The tags of `source`, in order. An unclosed tag ends the scan.
fn tags(source: &str) -> impl Iterator<Item = Tag<'_>> {
    let mut rest = source;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find('{')?;
            let after = &rest[start + 1..];
            let close = match after.chars().next() {
                Some('{') => "}}",
                Some('%') => "%}",
                _ => {
                    rest = after;
                    continue;
                }
            };
            let body = &after[1..];
            let end = body.find(close)?;
            rest = &body[end + 2..];
            return Some(Tag {
                inner: &body[..end],
            });
        }
    })
}

/// The identifiers of a tag that name values: not keywords, not filters (after
/// `|`), not attributes (after `.`), and not inside string literals.
fn variables(inner: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let bytes = inner.as_bytes();
    let mut i = 0;
    let mut previous = b' ';
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' || b == b'\'' {
            // skip the string literal
            i += 1;
            while i < bytes.len() && bytes[i] != b {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            previous = b'"';
            continue;
        }
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &inner[start..i];
            let is_call = inner[i..].trim_start().starts_with('(');
            let lower = word.to_ascii_lowercase();
            if previous != b'|'
                && previous != b'.'
                && !is_call
                && !KEYWORDS.contains(&lower.as_str())
            {
                found.push(word);
            }
            previous = b'a';
            continue;
        }
        if !b.is_ascii_whitespace() {
            previous = b;
        }
        i += 1;
    }
    found
}

/// The placeholders used in `sources`, normalised, in order of first use, each once.
/// This is the live list of keys beside the template editor.
pub fn placeholders<'a>(sources: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut keys = keys(sources);
    keys.retain(|k| !BUILT_IN.contains(&k.as_str()));
    keys
}

/// Placeholders MailMerger fills in itself, for each recipient: never asked
/// for, never a CSV column.
pub const BUILT_IN: &[&str] = &[UNSUBSCRIBE_URL];

/// The recipient's unsubscribe link (docs/unsubscribe.md).
pub const UNSUBSCRIBE_URL: &str = "unsubscribe_url";

/// Every key the sources use, built-in ones included.
pub fn keys<'a>(sources: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for source in sources {
        for tag in tags(source) {
            for word in variables(tag.inner) {
                let key = normalize_key(word);
                if !key.is_empty() && !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
    }
    keys
}

/// The template with everything inside its tags lowercased, except string
/// literals, so that `{{ First_Name }}` finds the key `first_name`: keys match
/// without regard to case.
pub fn lowercase_tags(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let close = match after.chars().next() {
            Some('{') => "}}",
            Some('%') => "%}",
            _ => {
                out.push_str(&rest[..start + 1]);
                rest = after;
                continue;
            }
        };
        let Some(end) = after[1..].find(close) else {
            break;
        };
        out.push_str(&rest[..start + 2]);
        let inner = &after[1..1 + end];
        let mut quote: Option<char> = None;
        let mut escaped = false;
        for c in inner.chars() {
            match quote {
                Some(q) => {
                    out.push(c);
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == q {
                        quote = None;
                    }
                }
                None => {
                    if c == '"' || c == '\'' {
                        quote = Some(c);
                    }
                    out.extend(c.to_lowercase());
                }
            }
        }
        out.push_str(close);
        rest = &after[1 + end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_normalise_to_keys() {
        assert_eq!(normalize_key("First Name"), "first_name");
        assert_eq!(normalize_key("  first-name "), "first_name");
        assert_eq!(normalize_key("E-Mail Address"), "e_mail_address");
        assert_eq!(normalize_key("Company (legal)"), "company_legal");
        assert_eq!(normalize_key("ÉCOLE"), "école");
        assert_eq!(normalize_key("__x__"), "x");
        assert_eq!(normalize_key("  "), "");
    }

    #[test]
    fn the_unsubscribe_link_is_never_asked_for() {
        let source = "Hi {{ first_name }}. <a href=\"{{ Unsubscribe_URL }}\">Unsubscribe</a>";
        assert_eq!(placeholders([source]), ["first_name"]);
        assert_eq!(keys([source]), ["first_name", "unsubscribe_url"]);
    }

    #[test]
    fn finds_placeholders_with_or_without_spaces_once_each() {
        let keys = placeholders(["Hi {{first_name}}, {{ Company }} and {{ first_name }}"]);
        assert_eq!(keys, ["first_name", "company"]);
    }

    #[test]
    fn finds_keys_in_fallbacks_and_conditionals_but_not_syntax() {
        let keys = placeholders([
            r#"{{ name | default("there") }} {% if company and not skip %}at {{ company }}{% endif %}"#,
            "{{ user.title | upper }}",
        ]);
        assert_eq!(keys, ["name", "company", "skip", "user"]);
    }

    #[test]
    fn string_literals_are_not_keys() {
        let keys = placeholders([r#"{{ a | default("some words {{ b }}") }}"#]);
        assert_eq!(keys, ["a"]);
    }

    #[test]
    fn subject_and_body_are_both_scanned() {
        assert_eq!(
            placeholders(["Hello {{ a }}", "Body {{ b }} {{ a }}"]),
            ["a", "b"]
        );
    }

    #[test]
    fn single_braces_and_unclosed_tags_are_text() {
        assert_eq!(placeholders(["{ not a tag } {{ ok }} {{ unclosed"]), ["ok"]);
    }

    #[test]
    fn tags_are_lowercased_but_literals_and_text_are_kept() {
        assert_eq!(
            lowercase_tags(
                r#"Dear {{ First_Name | default("There") }}, {% IF Co %}At {{CO}}{% endif %}"#
            ),
            r#"Dear {{ first_name | default("There") }}, {% if co %}At {{co}}{% endif %}"#
        );
        assert_eq!(lowercase_tags("No Tags { here }"), "No Tags { here }");
    }
}

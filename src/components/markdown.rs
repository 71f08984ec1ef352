//! The formatting toolbar of the Markdown editors: pure text edits, so they are
//! unit-tested here and only wired to the textarea in the browser.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Bold,
    Italic,
    Link,
    Bullets,
    Numbers,
}

impl Format {
    pub const ALL: [(Format, &'static str); 5] = [
        (Format::Bold, "Bold"),
        (Format::Italic, "Italic"),
        (Format::Link, "Link"),
        (Format::Bullets, "Bulleted list"),
        (Format::Numbers, "Numbered list"),
    ];
}

/// Applies `format` to the selection `start..end` (byte offsets) of `text`.
/// Returns the new text and the new selection.
pub fn apply(text: &str, start: usize, end: usize, format: Format) -> (String, usize, usize) {
    let start = floor_char(text, start.min(text.len()));
    let end = floor_char(text, end.clamp(start, text.len()));
    let selected = &text[start..end];
    let wrap = |before: &str, after: &str, placeholder: &str| {
        let inner = if selected.is_empty() {
            placeholder
        } else {
            selected
        };
        let replaced = format!("{before}{inner}{after}");
        let new = format!("{}{replaced}{}", &text[..start], &text[end..]);
        (
            new,
            start + before.len(),
            start + before.len() + inner.len(),
        )
    };
    match format {
        Format::Bold => wrap("**", "**", "bold text"),
        Format::Italic => wrap("*", "*", "italic text"),
        Format::Link => {
            let inner = if selected.is_empty() {
                "link text"
            } else {
                selected
            };
            let replaced = format!("[{inner}](https://)");
            let new = format!("{}{replaced}{}", &text[..start], &text[end..]);
            // Select the address, which is what the user types next.
            let url_start = start + inner.len() + 3;
            (new, url_start, url_start + "https://".len())
        }
        Format::Bullets | Format::Numbers => {
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            let block = &text[line_start..end];
            let lines: Vec<String> = block
                .split('\n')
                .enumerate()
                .map(|(i, line)| match format {
                    Format::Bullets => format!("- {line}"),
                    _ => format!("{}. {line}", i + 1),
                })
                .collect();
            let replaced = lines.join("\n");
            let new = format!("{}{replaced}{}", &text[..line_start], &text[end..]);
            (new.clone(), line_start, line_start + replaced.len())
        }
    }
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Byte offset of a UTF-16 offset (what the browser's selection reports).
pub fn byte_offset(text: &str, utf16: usize) -> usize {
    let mut units = 0;
    for (i, c) in text.char_indices() {
        if units >= utf16 {
            return i;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// UTF-16 offset of a byte offset.
pub fn utf16_offset(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bold_and_italic_wrap_the_selection_or_a_placeholder() {
        assert_eq!(
            apply("say hi now", 4, 6, Format::Bold),
            ("say **hi** now".into(), 6, 8)
        );
        assert_eq!(
            apply("x", 1, 1, Format::Italic),
            ("x*italic text*".into(), 2, 13)
        );
    }

    #[test]
    fn links_select_the_address_to_type() {
        let (text, s, e) = apply("see docs", 4, 8, Format::Link);
        assert_eq!(text, "see [docs](https://)");
        assert_eq!(&text[s..e], "https://");
    }

    #[test]
    fn lists_prefix_every_selected_line() {
        assert_eq!(apply("a\nb\nc", 0, 3, Format::Bullets).0, "- a\n- b\nc");
        assert_eq!(
            apply("intro\none\ntwo", 7, 13, Format::Numbers).0,
            "intro\n1. one\n2. two"
        );
    }

    #[test]
    fn offsets_convert_between_utf16_and_bytes() {
        let text = "é😀x";
        assert_eq!(byte_offset(text, 0), 0);
        assert_eq!(byte_offset(text, 1), 2);
        assert_eq!(byte_offset(text, 3), 6);
        assert_eq!(utf16_offset(text, 6), 3);
        assert_eq!(apply(text, 6, 7, Format::Bold).0, "é😀**x**");
    }
}

//! Rendering a message for one recipient with minijinja.
//!
//! Only the small language in `guard` is compiled, in an environment that has
//! nothing else (no `range`, no `safe`). Each render has a fuel budget and a cap
//! on what it may write: a subject is one header line, a body at most
//! [`MAX_BODY_BYTES`] (docs/templates.md).

use super::guard;
use super::scan::lowercase_tags;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use std::collections::BTreeMap;

/// The longest subject a render may produce: one header line (RFC 5322's 998).
pub const MAX_SUBJECT_BYTES: usize = 998;
/// The most a render may write for the HTML or the text part.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Instructions one part's render may run. Without loops each instruction runs
/// at most once, so this is a ceiling far above any template we accept.
const FUEL: u64 = 2_000_000;

/// Which part of a message a template problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Subject,
    Html,
    Text,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Html => "html",
            Part::Text => "text",
        }
    }

    /// The form field a problem with this part belongs next to.
    pub fn field(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Html | Part::Text => "body",
        }
    }

    fn limit(self) -> usize {
        match self {
            Part::Subject => MAX_SUBJECT_BYTES,
            Part::Html | Part::Text => MAX_BODY_BYTES,
        }
    }
}

/// A template that does not parse, or uses what the language does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SyntaxError {
    pub part: Part,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The construct the language does not have (`{% for %}`, `| safe`, `*`),
    /// when that is the problem rather than the syntax.
    pub unsupported: Option<String>,
}

impl SyntaxError {
    /// The message for the person who wrote the template.
    pub fn explain(&self) -> String {
        match &self.unsupported {
            Some(construct) => format!(
                "Line {}, column {}: templates cannot use {construct}. They can use placeholders such as {{{{ first_name }}}}, the filters {} (with text in quotes, as in default(\"there\")), and {{% if %}} … {{% elif %}} … {{% else %}} … {{% endif %}}.",
                self.line,
                self.column,
                guard::FILTERS.join(", ")
            ),
            None => format!(
                "This does not read as a template at line {}, column {}: {}. Placeholders look like {{{{ first_name }}}}.",
                self.line, self.column, self.message
            ),
        }
    }
}

/// Why one recipient's message could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("no value for {{{{ {key} }}}}")]
    Missing { key: String },
    #[error("{}", too_large(*.part))]
    TooLarge { part: Part },
    #[error("{message}")]
    Other { message: String },
}

fn too_large(part: Part) -> String {
    match part {
        Part::Subject => format!(
            "The subject would be longer than {MAX_SUBJECT_BYTES} characters once filled in."
        ),
        Part::Html | Part::Text => format!(
            "The message would be larger than {} MB once filled in.",
            MAX_BODY_BYTES / (1024 * 1024)
        ),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// A message template compiled once and rendered for many recipients.
pub struct MessageTemplate {
    env: Environment<'static>,
}

impl MessageTemplate {
    /// Compiles the three parts. Keys in tags match without regard to case.
    pub fn compile(subject: &str, html: &str, text: &str) -> Result<Self, SyntaxError> {
        let mut env = Environment::empty();
        for name in guard::FILTERS {
            match *name {
                "default" => env.add_filter("default", minijinja::filters::default),
                "upper" => env.add_filter("upper", minijinja::filters::upper),
                "lower" => env.add_filter("lower", minijinja::filters::lower),
                "title" => env.add_filter("title", minijinja::filters::title),
                "trim" => env.add_filter("trim", minijinja::filters::trim),
                _ => {}
            }
        }
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_fuel(Some(FUEL));
        // Values are escaped in the HTML part only; subject and text are plain.
        env.set_auto_escape_callback(|name| match name {
            "html" => AutoEscape::Html,
            _ => AutoEscape::None,
        });
        env.set_keep_trailing_newline(true);
        for (part, source) in [
            (Part::Subject, subject),
            (Part::Html, html),
            (Part::Text, text),
        ] {
            // Exactly the text that is compiled is checked.
            let compiled = lowercase_tags(source);
            if let Err(refusal) = guard::check(&compiled) {
                let (line, column) = line_and_column(&compiled, refusal.offset);
                return Err(SyntaxError {
                    part,
                    line,
                    column,
                    message: format!("templates cannot use {}", refusal.construct),
                    unsupported: Some(refusal.construct),
                });
            }
            env.add_template_owned(part.name(), compiled)
                .map_err(|e| syntax_error(part, source, &e))?;
        }
        Ok(MessageTemplate { env })
    }

    /// Renders for one recipient. `values` are keyed by normalised key; a missing
    /// or empty value with no fallback is an error naming the key, never "".
    pub fn render<K: AsRef<str>>(
        &self,
        values: &BTreeMap<K, String>,
    ) -> Result<Rendered, RenderError> {
        self.render_pairs(values.iter().map(|(k, v)| (k.as_ref(), v.as_str())))
    }

    /// `render` from (key, value) pairs, such as a CSV row's cells.
    pub fn render_pairs<'v>(
        &self,
        values: impl IntoIterator<Item = (&'v str, &'v str)>,
    ) -> Result<Rendered, RenderError> {
        let mut context: BTreeMap<&str, Value> = BTreeMap::new();
        // Built-in values are links we made: the HTML part shows each as a link
        // (a placeholder cannot stand inside a link address), the others as
        // the address itself. Everything else is escaped in the HTML part.
        let mut links: BTreeMap<&str, Value> = BTreeMap::new();
        for (k, v) in values {
            if v.trim().is_empty() {
                continue;
            }
            if super::scan::BUILT_IN.contains(&k) {
                let url = html_escape(v);
                links.insert(
                    k,
                    Value::from_safe_string(format!("<a href=\"{url}\">{url}</a>")),
                );
            }
            context.insert(k, Value::from(v));
        }
        let mut html_context = context.clone();
        html_context.extend(links);
        let one = |part: Part| -> Result<String, RenderError> {
            let context = match part {
                Part::Html => &html_context,
                _ => &context,
            };
            let template = self
                .env
                .get_template(part.name())
                .map_err(|e| RenderError::Other {
                    message: e.to_string(),
                })?;
            let mut out = Capped::new(part.limit());
            match template.render_captured_to(context, &mut out) {
                Ok(_) => Ok(out.into_string()),
                Err(_) if out.overflowed => Err(RenderError::TooLarge { part }),
                Err(e) => Err(render_error(&e, template.source())),
            }
        };
        Ok(Rendered {
            subject: one(Part::Subject)?.trim().to_string(),
            html: one(Part::Html)?,
            text: one(Part::Text)?,
        })
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A writer that refuses to grow past its limit, so one render cannot write
/// more than a message may hold.
struct Capped {
    buf: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl Capped {
    fn new(limit: usize) -> Self {
        Capped {
            buf: Vec::new(),
            limit,
            overflowed: false,
        }
    }

    fn into_string(self) -> String {
        // minijinja writes whole UTF-8 strings; a lossy conversion never changes one.
        String::from_utf8(self.buf)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

impl std::io::Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > self.limit {
            self.overflowed = true;
            return Err(std::io::Error::other("output limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn syntax_error(part: Part, source: &str, e: &minijinja::Error) -> SyntaxError {
    let (line, column) = match e.range() {
        Some(range) => line_and_column(source, range.start),
        None => (e.line().unwrap_or(1), 1),
    };
    SyntaxError {
        part,
        line,
        column,
        message: e
            .detail()
            .unwrap_or("the template does not parse")
            .to_string(),
        unsupported: None,
    }
}

fn line_and_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn render_error(e: &minijinja::Error, source: &str) -> RenderError {
    if e.kind() == ErrorKind::UndefinedError
        && let Some(range) = e.range()
        && let Some(key) = source.get(range).and_then(|expr| {
            super::scan::keys([format!("{{{{{expr}}}}}").as_str()])
                .into_iter()
                .next()
        })
    {
        return RenderError::Missing { key };
    }
    if e.kind() == ErrorKind::OutOfFuel {
        return RenderError::Other {
            message: "The template takes too much work to fill in.".into(),
        };
    }
    RenderError::Other {
        message: e
            .detail()
            .unwrap_or("the template could not be filled in")
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn render(subject: &str, html: &str, pairs: &[(&str, &str)]) -> Result<Rendered, RenderError> {
        MessageTemplate::compile(subject, html, html)
            .unwrap()
            .render(&values(pairs))
    }

    #[test]
    fn merges_subject_and_body_with_or_without_spaces() {
        let r = render(
            "Hi {{name}}",
            "<p>Dear {{ name }}, from {{company}}</p>",
            &[("name", "Ada"), ("company", "ACME")],
        )
        .unwrap();
        assert_eq!(r.subject, "Hi Ada");
        assert_eq!(r.html, "<p>Dear Ada, from ACME</p>");
    }

    #[test]
    fn keys_match_without_regard_to_case() {
        let r = render(
            "{{ First_Name }}",
            "{{ FIRST_NAME }}",
            &[("first_name", "Ada")],
        )
        .unwrap();
        assert_eq!((r.subject.as_str(), r.html.as_str()), ("Ada", "Ada"));
    }

    #[test]
    fn values_are_escaped_in_html_only() {
        let t = MessageTemplate::compile("Re: {{ co }}", "<p>{{ co }}</p>", "{{ co }}").unwrap();
        let r = t.render(&values(&[("co", "Smith & <Sons>")])).unwrap();
        assert_eq!(r.subject, "Re: Smith & <Sons>");
        assert_eq!(r.html, "<p>Smith &amp; &lt;Sons&gt;</p>");
        assert_eq!(r.text, "Smith & <Sons>");
    }

    #[test]
    fn fallbacks_fill_missing_and_empty_values() {
        let t =
            MessageTemplate::compile("x", r#"Hi {{ first_name | default("there") }}"#, "").unwrap();
        assert_eq!(t.render(&values(&[])).unwrap().html, "Hi there");
        assert_eq!(
            t.render(&values(&[("first_name", "  ")])).unwrap().html,
            "Hi there"
        );
        assert_eq!(
            t.render(&values(&[("first_name", "Ada")])).unwrap().html,
            "Hi Ada"
        );
    }

    #[test]
    fn conditionals_test_presence() {
        let t = MessageTemplate::compile(
            "x",
            "Hello{% if company %} from {{ company }}{% endif %}.",
            "",
        )
        .unwrap();
        assert_eq!(t.render(&values(&[])).unwrap().html, "Hello.");
        assert_eq!(
            t.render(&values(&[("company", "")])).unwrap().html,
            "Hello."
        );
        assert_eq!(
            t.render(&values(&[("company", "ACME")])).unwrap().html,
            "Hello from ACME."
        );
    }

    #[test]
    fn a_missing_value_is_an_error_naming_the_key() {
        let err = render("Hi {{ name }}", "{{ Company }} rocks", &[("name", "Ada")]).unwrap_err();
        assert_eq!(
            err,
            RenderError::Missing {
                key: "company".into()
            }
        );
        assert_eq!(err.to_string(), "no value for {{ company }}");
        let err = render("Hi {{ name }}", "", &[("name", "")]).unwrap_err();
        assert_eq!(err, RenderError::Missing { key: "name".into() });
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = MessageTemplate::compile("ok", "line one\nHello {{ name ", "")
            .err()
            .unwrap();
        assert_eq!(err.part, Part::Html);
        assert_eq!(err.line, 2);
        assert!(err.column >= 1);
        let err = MessageTemplate::compile("{% if x %}never closed", "", "")
            .err()
            .unwrap();
        assert_eq!(err.part, Part::Subject);
        assert_eq!(err.line, 1);
    }

    #[test]
    fn constructs_outside_the_language_are_refused_with_their_line() {
        for (html, construct) in [
            (
                "ok\n{%- for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}",
                "{% for %}",
            ),
            ("ok\n{% FOR a in b %}{% ENDFOR %}", "{% for %}"),
            ("ok\n{% set x = 1 %}", "{% set %}"),
            ("ok\n{% macro m() %}{% endmacro %}", "{% macro %}"),
            (
                "ok\n{% autoescape false %}{{ x }}{% endautoescape %}",
                "{% autoescape %}",
            ),
            ("ok\n{{ x | safe }}", "| safe"),
            ("ok\n{{ x | SAFE }}", "| safe"),
            ("ok\n{{ \"x\" * 100000000 }}", "*"),
            ("ok\n{{ a ~ b }}", "~"),
        ] {
            let err = MessageTemplate::compile("Hi", html, "").err().unwrap();
            assert_eq!(err.part, Part::Html, "{html}");
            assert_eq!(err.line, 2, "{html}");
            assert_eq!(err.unsupported.as_deref(), Some(construct), "{html}");
            let explained = err.explain();
            assert!(explained.starts_with("Line 2, column "), "{explained}");
            assert!(explained.contains(construct), "{explained}");
        }
        let err = MessageTemplate::compile("{{ \"x\" * 100000000 }}", "", "")
            .err()
            .unwrap();
        assert_eq!(err.part, Part::Subject);
    }

    #[test]
    fn output_is_capped_per_part() {
        let big = "x".repeat(10_000);
        let many = "{{ v }}".repeat(200);
        let t = MessageTemplate::compile("Hi", &many, "").unwrap();
        let err = t.render(&values(&[("v", &big)])).unwrap_err();
        assert_eq!(err, RenderError::TooLarge { part: Part::Html });
        assert!(err.to_string().contains("larger than 1 MB"), "{err}");
        let t = MessageTemplate::compile("{{ v }}", "", "").unwrap();
        let err = t.render(&values(&[("v", &"y".repeat(999))])).unwrap_err();
        assert_eq!(
            err,
            RenderError::TooLarge {
                part: Part::Subject
            }
        );
        assert_eq!(
            t.render(&values(&[("v", &"y".repeat(998))]))
                .unwrap()
                .subject
                .len(),
            998
        );
    }

    #[test]
    fn string_literals_are_escaped_in_html_and_safe_is_gone() {
        let t = MessageTemplate::compile(
            "x",
            r#"{{ "<img src=x onerror=alert(1)>" }} {{ a | default("<b>") }}"#,
            "",
        )
        .unwrap();
        let r = t.render(&values(&[])).unwrap();
        assert_eq!(r.html, "&lt;img src=x onerror=alert(1)&gt; &lt;b&gt;");
    }

    #[test]
    fn whitespace_around_the_subject_is_trimmed() {
        let r = render("  Hello {{ a }} \n", "", &[("a", "x")]).unwrap();
        assert_eq!(r.subject, "Hello x");
    }
}

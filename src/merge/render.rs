//! Rendering a message for one recipient with minijinja.

use super::scan::lowercase_tags;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use std::collections::BTreeMap;

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
}

/// A template that does not parse, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SyntaxError {
    pub part: Part,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Why one recipient's message could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("no value for {{{{ {key} }}}}")]
    Missing { key: String },
    #[error("{message}")]
    Other { message: String },
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
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
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
            env.add_template_owned(part.name(), lowercase_tags(source))
                .map_err(|e| syntax_error(part, source, &e))?;
        }
        Ok(MessageTemplate { env })
    }

    /// Renders for one recipient. `values` are keyed by normalised key; a missing
    /// or empty value with no fallback is an error naming the key, never "".
    pub fn render(&self, values: &BTreeMap<String, String>) -> Result<Rendered, RenderError> {
        let context: BTreeMap<&str, Value> = values
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.as_str(), Value::from(v.as_str())))
            .collect();
        let one = |part: Part| -> Result<String, RenderError> {
            let template = self
                .env
                .get_template(part.name())
                .map_err(|e| RenderError::Other {
                    message: e.to_string(),
                })?;
            template
                .render(&context)
                .map_err(|e| render_error(&e, template.source()))
        };
        Ok(Rendered {
            subject: one(Part::Subject)?.trim().to_string(),
            html: one(Part::Html)?,
            text: one(Part::Text)?,
        })
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
            super::scan::placeholders([format!("{{{{{expr}}}}}").as_str()])
                .into_iter()
                .next()
        })
    {
        return RenderError::Missing { key };
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
    fn whitespace_around_the_subject_is_trimmed() {
        let r = render("  Hello {{ a }} \n", "", &[("a", "x")]).unwrap();
        assert_eq!(r.subject, "Hello x");
    }
}

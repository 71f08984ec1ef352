//! A template as submitted, parsed into what may be stored.

use super::body::{self, Body};
use crate::error::{AppError, FieldErrors};
use crate::merge::placeholders;

pub struct TemplateInput {
    pub name: String,
    pub subject: String,
    pub markdown: String,
    pub body: Body,
    pub placeholders: Vec<String>,
}

const MAX_BODY_BYTES: usize = 100 * 1024;

fn name(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    match s.chars().count() {
        0 => Err("Give the template a name.".into()),
        n if n > 100 => Err("Use at most 100 characters for the name.".into()),
        _ if s.chars().any(char::is_control) => Err("The name cannot contain line breaks.".into()),
        _ => Ok(s.to_string()),
    }
}

pub fn subject(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    match s.chars().count() {
        0 => Err("Write a subject.".into()),
        n if n > 300 => Err("Use at most 300 characters for the subject.".into()),
        // The subject becomes a mail header: a line break there could add headers.
        _ if s.contains(['\r', '\n']) => Err("The subject must be one line.".into()),
        _ => Ok(s.to_string()),
    }
}

pub fn markdown(raw: &str) -> Result<String, String> {
    let s = raw.replace("\r\n", "\n");
    if s.trim().is_empty() {
        return Err("Write the body of the email.".into());
    }
    if s.len() > MAX_BODY_BYTES {
        return Err("The body is longer than 100 KB. Shorten it.".into());
    }
    Ok(s.trim_end().to_string())
}

impl TemplateInput {
    pub fn parse(raw_name: &str, raw_subject: &str, raw_body: &str) -> Result<Self, AppError> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", name(raw_name));
        let subject = errors.check("subject", subject(raw_subject));
        let markdown = errors.check("body", markdown(raw_body));
        let (Some(name), Some(subject), Some(markdown)) = (name, subject, markdown) else {
            return Err(errors.into_error());
        };
        let body =
            body::prepare(&subject, &markdown).map_err(|e| AppError::field(e.field, e.message))?;
        let placeholders = placeholders([subject.as_str(), markdown.as_str()]);
        Ok(TemplateInput {
            name,
            subject,
            markdown,
            body,
            placeholders,
        })
    }
}

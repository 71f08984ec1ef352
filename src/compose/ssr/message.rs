//! Write email on the server: drafts, previews and queueing one message.

use super::{Sender, address_list, check_recipient_count};
use crate::compose::Draft;
use crate::domain::{EmailAddress, UserId};
use crate::error::{AppError, FieldErrors};
use crate::files::ssr::repo as files;
use crate::mailmerge::MessagePreview;
use crate::merge::normalize_key;
use crate::merge::render::{MessageTemplate, RenderError, Rendered};
use crate::settings::ssr::zone::UserZone;
use crate::state::AppState;
use crate::templates::ssr::{body, input};
use crate::unsubscribe::ssr::links::{Links, PLACEHOLDER, Unsubscribe};
use crate::unsubscribe::ssr::repo as suppression;
use std::collections::BTreeMap;
use uuid::Uuid;

pub struct Message<'a> {
    pub id: Option<Uuid>,
    pub template_id: Option<Uuid>,
    pub to: &'a str,
    pub cc: &'a str,
    pub bcc: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub values: &'a BTreeMap<String, String>,
    pub attach: &'a [Uuid],
    pub when: &'a str,
    pub send_at: &'a str,
    /// The form's idempotency key: a repeat of it queues nothing more.
    pub submission: Option<Uuid>,
}

impl Message<'_> {
    /// What the form said, for telling a repeat from a different submit.
    fn fingerprint(&self) -> Vec<u8> {
        let values = serde_json::to_string(self.values).unwrap_or_default();
        let attach: Vec<String> = self.attach.iter().map(Uuid::to_string).collect();
        let template = self.template_id.map(|t| t.to_string()).unwrap_or_default();
        super::submissions::fingerprint(&[
            &template,
            self.to,
            self.cc,
            self.bcc,
            self.subject,
            self.body,
            &values,
            &attach.join(","),
            self.when,
            self.send_at,
        ])
    }
}

pub async fn start(
    state: &AppState,
    user_id: UserId,
    template_id: Option<Uuid>,
    edit: Option<Uuid>,
) -> Result<Draft, AppError> {
    let sender = Sender::load(state, user_id).await?;
    let mut draft = Draft {
        templates: sender.templates,
        time_zone: sender.zone.name,
        from_name: sender.name,
        files: sender.files,
        submission: Uuid::new_v4(),
        ..Draft::default()
    };
    if let Some(id) = edit {
        let row = crate::emails::read::queued_draft(&state.pool, user_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (Some(subject), Some(body)) = (row.subject_source, row.body_source) else {
            return Err(AppError::BadRequest(
                "Messages from a mail merge can be rescheduled or deleted from the queue, not edited one by one.".into(),
            ));
        };
        draft.id = Some(row.id);
        draft.template_id = row.template_id;
        draft.to = row.to_addrs.join(", ");
        draft.cc = row.cc_addrs.join(", ");
        draft.bcc = row.bcc_addrs.join(", ");
        draft.subject = subject;
        draft.body = body;
        draft.values = row.values;
        draft.attach = crate::files::ssr::repo::attached_to(&state.pool, row.id).await?;
    } else if let Some(template_id) = template_id {
        let t = crate::templates::ssr::repo::get(&state.pool, user_id, template_id)
            .await?
            .ok_or(AppError::NotFound)?;
        draft.template_id = Some(t.id);
        draft.subject = t.subject;
        draft.body = t.body;
    }
    Ok(draft)
}

struct Checked {
    to: Vec<EmailAddress>,
    cc: Vec<EmailAddress>,
    bcc: Vec<EmailAddress>,
    markdown: String,
    subject: String,
    values: BTreeMap<String, String>,
    rendered: Rendered,
    list_unsubscribe: Option<String>,
}

/// Who is writing, for the per-recipient unsubscribe link.
pub struct Writer<'a> {
    pub links: &'a Links,
    pub user: UserId,
}

/// Everything that makes a message sendable, checked at once; the body is rendered
/// exactly as the queue will send it.
fn check(writer: &Writer<'_>, m: &Message<'_>, need_to: bool) -> Result<Checked, AppError> {
    let Message {
        to,
        cc,
        bcc,
        subject,
        body,
        values,
        ..
    } = *m;
    let mut errors = FieldErrors::default();
    let to = errors.check(
        "to",
        address_list(to).and_then(|list| {
            if list.is_empty() && need_to {
                Err("Enter at least one recipient.".to_string())
            } else {
                Ok(list)
            }
        }),
    );
    let cc = errors.check("cc", address_list(cc));
    let bcc = errors.check("bcc", address_list(bcc));
    let subject = errors.check("subject", input::subject(subject));
    let markdown = errors.check("body", input::markdown(body));
    let (Some(to), Some(cc), Some(bcc), Some(subject), Some(markdown)) =
        (to, cc, bcc, subject, markdown)
    else {
        return Err(errors.into_error());
    };
    check_recipient_count("to", to.len() + cc.len() + bcc.len())?;
    let parts =
        body::prepare(&subject, &markdown).map_err(|e| AppError::field(e.field, e.message))?;
    let template = MessageTemplate::compile(&subject, &parts.html, &parts.text)
        .map_err(|e| AppError::field(e.part.field(), e.explain()))?;
    let values: BTreeMap<String, String> = values
        .iter()
        .map(|(k, v)| (normalize_key(k), v.trim().to_string()))
        .filter(|(k, v)| {
            !k.is_empty() && !v.is_empty() && !crate::merge::scan::BUILT_IN.contains(&k.as_str())
        })
        .collect();
    // `{{ unsubscribe_url }}` is the first recipient's link, never a value
    // kept with the message.
    let url = writer.links.url_for(writer.user, to.first());
    let mut context = values.clone();
    context.insert(PLACEHOLDER.to_string(), url.clone());
    let rendered = template.render(&context).map_err(|e| match &e {
        RenderError::Missing { key } => AppError::field(
            format!("values[{key}]"),
            format!("Fill in {key}, or give it a default in the text."),
        ),
        RenderError::TooLarge { part } => AppError::field(part.field(), e.to_string()),
        RenderError::Other { message } => AppError::field("body", message.clone()),
    })?;
    if rendered.subject.contains(['\r', '\n']) {
        return Err(AppError::field("subject", "The subject must be one line."));
    }
    let alone = to.len() == 1 && cc.is_empty() && bcc.is_empty();
    let list_unsubscribe = Unsubscribe::decide(writer.links, url, alone).list_header(&rendered);
    Ok(Checked {
        list_unsubscribe,
        to,
        cc,
        bcc,
        markdown,
        subject,
        values,
        rendered,
    })
}

pub fn preview(
    writer: &Writer<'_>,
    to: &str,
    subject: &str,
    body: &str,
    values: &BTreeMap<String, String>,
) -> Result<MessagePreview, AppError> {
    let m = Message {
        id: None,
        template_id: None,
        to,
        cc: "",
        bcc: "",
        subject,
        body,
        values,
        attach: &[],
        when: "",
        send_at: "",
        submission: None,
    };
    let c = check(writer, &m, false)?;
    Ok(MessagePreview {
        line: 0,
        to: c
            .to
            .iter()
            .map(EmailAddress::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        subject: c.rendered.subject,
        html: c.rendered.html,
        text: c.rendered.text,
        attachments: Vec::new(),
        list_unsubscribe: c.list_unsubscribe,
    })
}

/// Queues a new message or saves the queued one being edited. Returns its id and
/// whether it was an edit.
pub async fn queue(
    state: &AppState,
    user_id: UserId,
    m: Message<'_>,
) -> Result<(Uuid, bool), AppError> {
    crate::accounts::ssr::sending::may_queue(state, user_id).await?;
    let zone = UserZone::of_user(&state.pool, user_id).await?;
    let writer = Writer {
        links: &state.links,
        user: user_id,
    };
    let c = check(&writer, &m, true)?;
    // Refused now with the field to fix; the claim checks again at send time.
    let mut conn = state.pool.acquire().await?;
    suppression::refuse_listed(
        &mut conn,
        user_id,
        &[("to", &c.to), ("cc", &c.cc), ("bcc", &c.bcc)],
    )
    .await?;
    drop(conn);
    let send_at = zone
        .send_time(m.when, m.send_at)
        .map_err(|e| AppError::field("send_at", e))?;
    let files = if m.attach.is_empty() {
        Vec::new()
    } else {
        let mine = files::list(&state.pool, user_id).await?;
        files::chosen(&mine, m.attach)?
    };
    let template_id = match (m.id, m.template_id) {
        (None, Some(t)) => crate::templates::ssr::repo::get(&state.pool, user_id, t)
            .await?
            .map(|t| t.id),
        _ => None,
    };
    let shared = crate::emails::Enqueue {
        user_id,
        template_id,
        import_id: None,
        cc: &c.cc,
        bcc: &c.bcc,
        send_at,
        subject_source: &c.subject,
        body_source: &c.markdown,
    };
    let email = crate::emails::NewEmail {
        to: c.to,
        message: c.rendered,
        values: c.values,
        list_unsubscribe: c.list_unsubscribe,
        placement: None,
    };
    let mut tx = state.pool.begin().await?;
    if let Some(id) = m.id {
        if !crate::emails::replace_queued(&mut tx, id, &shared, &email).await? {
            return Err(AppError::NotFound);
        }
        files::reattach(&mut tx, id, &files).await?;
        tx.commit().await?;
        return Ok((id, true));
    }
    if let Some(key) = m.submission
        && let Some(earlier) =
            super::submissions::claim(&mut tx, user_id, key, &m.fingerprint()).await?
        && let Some(first) = earlier.first_email
    {
        tracing::info!(%user_id, email_id = %first, "repeated submit: nothing more queued");
        return Ok((first, false));
    }
    let id = crate::emails::enqueue(&mut tx, &shared, vec![email])
        .await?
        .remove(0);
    files::attach(&mut tx, &[id], &files, &[]).await?;
    if let Some(key) = m.submission {
        super::submissions::record(&mut tx, user_id, key, Some(id), 1).await?;
    }
    tx.commit().await?;
    tracing::info!(%user_id, email_id = %id, attachments = files.len(), "message queued");
    Ok((id, false))
}

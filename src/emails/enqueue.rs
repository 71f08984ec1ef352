//! The one way mail enters the queue, and the one way a queued message is
//! changed in place (Write email's edit).

use crate::domain::EmailAddress;
use crate::domain::UserId;
use crate::merge::render::Rendered;
use sqlx::PgConnection;
use sqlx::types::Json;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// What the messages of one enqueue share.
pub struct Enqueue<'a> {
    pub user_id: UserId,
    pub template_id: Option<Uuid>,
    /// The CSV import a merge came from.
    pub import_id: Option<Uuid>,
    pub cc: &'a [EmailAddress],
    pub bcc: &'a [EmailAddress],
    pub send_at: OffsetDateTime,
    /// The template as written (subject and Markdown body), so that each message
    /// can be reopened in Write email with its values.
    pub subject_source: &'a str,
    pub body_source: &'a str,
}

/// One message: its recipients, as rendered, and the values it was rendered with.
pub struct NewEmail {
    pub to: Vec<EmailAddress>,
    pub message: Rendered,
    pub values: BTreeMap<String, String>,
    /// The one-click unsubscribe URL to send as `List-Unsubscribe`.
    pub list_unsubscribe: Option<String>,
    /// Where this message differs from what the enqueue shares: a campaign's
    /// step for one recipient (its own time, thread and place in a sequence).
    pub placement: Option<Placement>,
}

/// A campaign message's own time, Gmail thread, recipient and step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub send_at: OffsetDateTime,
    pub thread_id: Option<String>,
    pub campaign_recipient_id: Uuid,
    pub campaign_step: i16,
}

fn strings(list: &[EmailAddress]) -> Vec<String> {
    list.iter().map(|a| a.as_str().to_string()).collect()
}

/// Queues the messages in the caller's transaction, in one statement, and wakes
/// delivery when it commits. The messages are taken, not copied: the caller
/// bounds how many (and how large) it passes at once. Returns the ids queued,
/// in order: a campaign step already queued for its recipient is not queued
/// again (a unique index), and is left out.
#[tracing::instrument(skip_all, fields(user_id = %shared.user_id, messages = emails.len()))]
pub async fn enqueue(
    conn: &mut PgConnection,
    shared: &Enqueue<'_>,
    emails: Vec<NewEmail>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let ids: Vec<Uuid> = emails.iter().map(|_| Uuid::now_v7()).collect();
    let mut send_at = Vec::with_capacity(emails.len());
    let mut threads = Vec::with_capacity(emails.len());
    let mut recipients = Vec::with_capacity(emails.len());
    let mut steps = Vec::with_capacity(emails.len());
    let mut to = Vec::with_capacity(emails.len());
    let mut subjects = Vec::with_capacity(emails.len());
    let mut html = Vec::with_capacity(emails.len());
    let mut text = Vec::with_capacity(emails.len());
    let mut values = Vec::with_capacity(emails.len());
    let mut unsubscribe = Vec::with_capacity(emails.len());
    for e in emails {
        let p = e.placement;
        send_at.push(p.as_ref().map_or(shared.send_at, |p| p.send_at));
        threads.push(p.as_ref().and_then(|p| p.thread_id.clone()));
        recipients.push(p.as_ref().map(|p| p.campaign_recipient_id));
        steps.push(p.as_ref().map(|p| p.campaign_step));
        unsubscribe.push(e.list_unsubscribe);
        to.push(serde_json::Value::from(strings(&e.to)));
        values.push(serde_json::to_value(&e.values).unwrap_or_default());
        subjects.push(e.message.subject);
        html.push(e.message.html);
        text.push(e.message.text);
    }
    let inserted = sqlx::query_scalar!(
        "INSERT INTO emails (id, user_id, template_id, import_id, to_addrs, cc_addrs, bcc_addrs,
                             subject, body_html, body_text, send_at, subject_source, body_source,
                             merge_values, list_unsubscribe, gmail_thread_id, campaign_recipient_id,
                             campaign_step, claim_order)
         SELECT u.id, $1, $2, $3, ARRAY(SELECT jsonb_array_elements_text(u.to_addrs)), $4, $5,
                u.subject, u.html, u.text, u.send_at, $6, $7, u.merge_values, u.list_unsubscribe,
                u.thread_id, u.recipient_id, u.step,
                CASE WHEN u.step IS NULL THEN 0 WHEN u.step = 1 THEN 2 ELSE 1 END
         FROM UNNEST($8::uuid[], $9::jsonb[], $10::text[], $11::text[], $12::text[], $13::jsonb[],
                     $14::text[], $15::timestamptz[], $16::text[], $17::uuid[], $18::int2[])
              AS u(id, to_addrs, subject, html, text, merge_values, list_unsubscribe, send_at,
                   thread_id, recipient_id, step)
         ON CONFLICT (campaign_recipient_id, campaign_step) WHERE campaign_recipient_id IS NOT NULL
         DO NOTHING
         RETURNING id",
        shared.user_id as UserId,
        shared.template_id,
        shared.import_id,
        &strings(shared.cc),
        &strings(shared.bcc),
        shared.subject_source,
        shared.body_source,
        &ids,
        &to,
        &subjects,
        &html,
        &text,
        &values,
        &unsubscribe as &[Option<String>],
        &send_at,
        &threads as &[Option<String>],
        &recipients as &[Option<Uuid>],
        &steps as &[Option<i16>],
    )
    .fetch_all(&mut *conn)
    .await?;
    if inserted.len() == ids.len() {
        super::wake(conn).await?;
        return Ok(ids);
    }
    let kept: std::collections::HashSet<Uuid> = inserted.into_iter().collect();
    if !kept.is_empty() {
        super::wake(conn).await?;
    }
    Ok(ids.into_iter().filter(|id| kept.contains(id)).collect())
}

/// Replaces a message that is still queued (Write email's edit), in the
/// caller's transaction. Returns false when it is not the user's or no longer
/// queued (it went meanwhile): then nothing changed.
pub async fn replace_queued(
    conn: &mut PgConnection,
    id: Uuid,
    shared: &Enqueue<'_>,
    email: &NewEmail,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query!(
        "UPDATE emails SET to_addrs = $3, cc_addrs = $4, bcc_addrs = $5, subject = $6, body_html = $7,
             body_text = $8, subject_source = $9, body_source = $10, merge_values = $11, send_at = $12,
             list_unsubscribe = $13, updated_at = mm_now()
         WHERE id = $1 AND user_id = $2 AND status = 'queued'",
        id,
        shared.user_id as UserId,
        &strings(&email.to),
        &strings(shared.cc),
        &strings(shared.bcc),
        email.message.subject,
        email.message.html,
        email.message.text,
        shared.subject_source,
        shared.body_source,
        Json(&email.values) as _,
        shared.send_at,
        email.list_unsubscribe,
    )
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    super::wake(conn).await?;
    Ok(true)
}

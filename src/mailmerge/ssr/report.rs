//! The merge report and queueing, on top of the merge engine.

use super::imports;
use crate::compose::ssr::{Sender, address_list, check_recipient_count, submissions};
use crate::domain::EmailAddress;
use crate::domain::UserId;
use crate::error::{AppError, FieldErrors};
use crate::files::ssr::repo as files;
use crate::files::{FileKind, FileView, MESSAGE_ATTACHMENTS_MAX_BYTES};
use crate::mailmerge::{BadRowView, MergeReport, MessagePreview};
use crate::merge::plan::{Attaching, ReadyRow, RowRules, each_row};
use crate::merge::recipients::{Limits, Table, parse};
use crate::merge::render::MessageTemplate;
use crate::settings::ssr::zone::UserZone;
use crate::state::AppState;
use crate::unsubscribe::ssr::links::{Links, Unsubscribe};
use crate::unsubscribe::ssr::repo as suppression;
use std::collections::HashMap;
use uuid::Uuid;

async fn compiled(
    state: &AppState,
    user_id: UserId,
    template_id: Uuid,
) -> Result<MessageTemplate, AppError> {
    let parts = crate::templates::ssr::repo::parts(&state.pool, user_id, template_id)
        .await?
        .ok_or(AppError::NotFound)?;
    // Templates are checked when saved; one saved before a rule was added can
    // fail here, and says why.
    MessageTemplate::compile(&parts.subject, &parts.html, &parts.text).map_err(|e| {
        AppError::field(
            "template_id",
            format!(
                "This template needs a change before it can be used. {} Open it in Templates to fix it.",
                e.explain()
            ),
        )
    })
}

/// Rows rendered and inserted at a time when a merge is queued: at most this
/// many, and about this many bytes of message bodies at most (10,000 rows of a
/// 100 KB body are 2 GB; a chunk of them is a few MB).
const QUEUE_CHUNK: usize = 2_000;
const QUEUE_CHUNK_BYTES: usize = 4 * 1024 * 1024;

fn table_of(csv: &str) -> Result<Table, AppError> {
    parse(csv.as_bytes(), Limits::default()).map_err(|e| AppError::BadRequest(e.to_string()))
}

/// What the user chose on the report: the template, the address column, the
/// files every message attaches and the column naming one more per row.
pub struct Choice {
    pub template_id: Option<Uuid>,
    pub email_column: Option<String>,
    /// `None`: a column called attachment (or attachments, file) if there is one;
    /// `Some("")`: none.
    pub attachment_column: Option<String>,
    pub attach: Vec<Uuid>,
    /// Add the unsubscribe footer to every message.
    pub unsubscribe_footer: bool,
}

/// The lowercased addresses of the table's rows that are on the user's
/// suppression list, each with why.
pub async fn suppressed_in(
    state: &AppState,
    user_id: UserId,
    table: &Table,
    column: &str,
) -> Result<HashMap<String, String>, AppError> {
    let addresses: Vec<String> = table
        .rows
        .iter()
        .filter_map(|r| EmailAddress::parse(r.get(column)?).ok())
        .map(|a| a.normalized())
        .collect();
    let mut conn = state.pool.acquire().await?;
    let found = suppression::find(&mut conn, user_id, &addresses).await?;
    Ok(found
        .into_iter()
        .map(|(a, (reason, since))| {
            let why = suppression::listed_because(&a, reason, since);
            (a, why)
        })
        .collect())
}

/// The footer (when asked for) and the `List-Unsubscribe` URL of a ready row.
/// `alone`: the message has no Cc or Bcc.
fn unsubscribe(links: &Links, footer: bool, alone: bool, row: &mut ReadyRow) -> Option<String> {
    let url = row.unsubscribe_url.clone()?;
    Unsubscribe::apply(links, url, alone, footer, &mut row.message)
}

/// The user's attachments by lower-case name, for an attachment column.
fn by_name(files: &[FileView]) -> HashMap<String, (Uuid, String, u64)> {
    files
        .iter()
        .filter(|f| f.kind == FileKind::Attachment)
        .map(|f| (f.name.to_lowercase(), (f.id, f.name.clone(), f.size_bytes)))
        .collect()
}

/// How a plan checks the column naming each row's file, when there is one.
fn attaching<'a>(
    column: Option<&'a str>,
    files: &'a HashMap<String, (Uuid, String, u64)>,
    shared_bytes: u64,
) -> Option<Attaching<'a>> {
    column.map(|column| Attaching {
        column,
        files,
        shared_bytes,
        max_bytes: MESSAGE_ATTACHMENTS_MAX_BYTES,
    })
}

fn attachment_column(table: &Table, chosen: Option<String>) -> Option<String> {
    match chosen {
        Some(c) => Some(c).filter(|c| table.columns.contains(c)),
        None => ["attachment", "attachments", "file"]
            .into_iter()
            .find(|c| table.columns.iter().any(|col| col == c))
            .map(str::to_string),
    }
}

/// What the report keeps of a plan.
#[derive(Default)]
struct Summary {
    ready_lines: Vec<(u64, String)>,
    bad: Vec<BadRowView>,
    /// The row being previewed: the one asked for, else the first ready one.
    shown: Option<ReadyRow>,
    list_unsubscribe: Option<String>,
}

pub async fn report(
    state: &AppState,
    user_id: UserId,
    import_id: Uuid,
    choice: Choice,
    line: Option<u64>,
) -> Result<MergeReport, AppError> {
    let import = imports::get(&state.pool, user_id, import_id).await?;
    let csv = import.csv;
    let table = state.rendering.run(move || table_of(&csv)).await??;
    let sender = Sender::load(state, user_id).await?;
    let email_column = choice
        .email_column
        .filter(|c| table.columns.contains(c))
        .or_else(|| table.email_column().map(str::to_string));
    let template_id = choice
        .template_id
        .filter(|id| sender.templates.iter().any(|t| t.id == *id));
    let attach: Vec<Uuid> = choice
        .attach
        .into_iter()
        .filter(|id| sender.files.iter().any(|f| f.id == *id))
        .collect();
    let attachment_column = attachment_column(&table, choice.attachment_column);

    let suppressed = match &email_column {
        Some(column) => suppressed_in(state, user_id, &table, column).await?,
        None => HashMap::new(),
    };
    let mut report = MergeReport {
        import_id,
        file_name: import.file_name,
        columns: table.columns.clone(),
        email_column: email_column.clone(),
        templates: sender.templates,
        template_id,
        problem: None,
        ready: 0,
        ready_lines: Vec::new(),
        bad: Vec::new(),
        preview: None,
        from_name: sender.name,
        time_zone: sender.zone.name,
        files: sender.files,
        attach,
        attachment_column,
        submission: Uuid::new_v4(),
        unsubscribe_footer: choice.unsubscribe_footer,
        one_click: state.links.one_click(),
    };
    let shared = match files::chosen(&report.files, &report.attach) {
        Ok(shared) => shared,
        Err(e) => {
            report.problem = Some(e.to_string());
            return Ok(report);
        }
    };
    let (Some(template_id), Some(column)) = (template_id, email_column) else {
        report.problem = Some(if report.templates.is_empty() {
            "Write a template first: the merge fills one in for every row.".into()
        } else if report.email_column.is_none() {
            "No column is called email. Choose the column that holds the addresses.".into()
        } else {
            "Choose the template to merge.".into()
        });
        return Ok(report);
    };
    let template = compiled(state, user_id, template_id).await?;
    let named = by_name(&report.files);
    let shared_bytes: u64 = shared.iter().map(|f| f.2).sum();
    let attachment_column = report.attachment_column.clone();
    let links = state.links.clone();
    let footer = choice.unsubscribe_footer;
    // Off the async threads, keeping only the counts, the bad rows and the one
    // row shown: 10,000 rendered messages are never held at once.
    let summary = state
        .rendering
        .run(move || {
            let link = |a: &EmailAddress| links.url(user_id, a);
            let rules = RowRules {
                attaching: attaching(attachment_column.as_deref(), &named, shared_bytes),
                suppressed: Some(&suppressed),
                unsubscribe_url: Some(&link),
            };
            let mut summary = Summary::default();
            each_row(&table, &template, &column, &rules, |row| {
                match row {
                    Ok(ready) => {
                        summary.ready_lines.push((ready.line, ready.to.to_string()));
                        // The first ready row, until the row asked for comes.
                        if summary.shown.is_none() || line == Some(ready.line) {
                            summary.shown = Some(ready);
                        }
                    }
                    Err(bad) => summary.bad.push(BadRowView {
                        line: bad.line,
                        address: bad.address,
                        reason: bad.reason,
                    }),
                }
                true
            });
            if let Some(shown) = summary.shown.as_mut() {
                summary.list_unsubscribe = unsubscribe(&links, footer, true, shown);
            }
            summary
        })
        .await?;
    report.ready = summary.ready_lines.len();
    report.ready_lines = summary.ready_lines;
    report.bad = summary.bad;
    report.preview = summary.shown.map(|r| MessagePreview {
        line: r.line,
        to: r.to.to_string(),
        subject: r.message.subject,
        html: r.message.html,
        text: r.message.text,
        attachments: shared
            .iter()
            .map(|f| f.1.clone())
            .chain(r.attachment.map(|a| a.1))
            .collect(),
        list_unsubscribe: summary.list_unsubscribe,
    });
    Ok(report)
}

/// How a merge is sent: copies, when, and the form's idempotency key.
pub struct Sending<'a> {
    pub cc: &'a str,
    pub bcc: &'a str,
    pub when: &'a str,
    pub send_at: &'a str,
    pub submission: Option<Uuid>,
}

pub async fn queue(
    state: &AppState,
    user_id: UserId,
    import_id: Uuid,
    choice: Choice,
    sending: Sending<'_>,
) -> Result<u64, AppError> {
    crate::accounts::ssr::sending::may_queue(state, user_id).await?;
    let Sending {
        cc,
        bcc,
        when,
        send_at,
        submission,
    } = sending;
    let attach: Vec<String> = choice.attach.iter().map(Uuid::to_string).collect();
    let fingerprint = submissions::fingerprint(&[
        &import_id.to_string(),
        &choice
            .template_id
            .map(|t| t.to_string())
            .unwrap_or_default(),
        choice.email_column.as_deref().unwrap_or(""),
        choice.attachment_column.as_deref().unwrap_or(""),
        &attach.join(","),
        cc,
        bcc,
        when,
        send_at,
        if choice.unsubscribe_footer {
            "footer"
        } else {
            ""
        },
    ]);
    let zone = UserZone::of_user(&state.pool, user_id).await?;
    let mut errors = FieldErrors::default();
    let cc = errors.check("cc", address_list(cc));
    let bcc = errors.check("bcc", address_list(bcc));
    let at = errors.check("send_at", zone.send_time(when, send_at));
    let (Some(cc), Some(bcc), Some(at)) = (cc, bcc, at) else {
        return Err(errors.into_error());
    };
    check_recipient_count("cc", 1 + cc.len() + bcc.len())?;
    let mut conn = state.pool.acquire().await?;
    suppression::refuse_listed(&mut conn, user_id, &[("cc", &cc), ("bcc", &bcc)]).await?;
    drop(conn);

    let import = imports::get(&state.pool, user_id, import_id).await?;
    let csv = import.csv;
    let table = state.rendering.run(move || table_of(&csv)).await??;
    let template_id = choice.template_id.ok_or(AppError::NotFound)?;
    let email_column = choice.email_column.as_deref().unwrap_or("");
    if !table.columns.iter().any(|c| c == email_column) {
        return Err(AppError::field(
            "email_column",
            "Choose the column that holds the addresses.",
        ));
    }
    let template = compiled(state, user_id, template_id).await?;
    let mine = files::list(&state.pool, user_id).await?;
    // The files every message attaches.
    let every = files::chosen(&mine, &choice.attach)?;
    let named = by_name(&mine);
    let column = attachment_column(&table, choice.attachment_column);
    let source = crate::templates::ssr::repo::get(&state.pool, user_id, template_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let shared_bytes: u64 = every.iter().map(|f| f.2).sum();
    let attaching_column = column.clone();
    let email_column = email_column.to_string();
    let suppressed = suppressed_in(state, user_id, &table, &email_column).await?;
    let links = state.links.clone();
    let footer = choice.unsubscribe_footer;
    let alone = cc.is_empty() && bcc.is_empty();

    let mut tx = state.pool.begin().await?;
    if let Some(key) = submission
        && let Some(earlier) = submissions::claim(&mut tx, user_id, key, &fingerprint).await?
    {
        // Queued already (a double click, a retry, the back button): the first
        // result, and nothing more.
        tracing::info!(%user_id, %import_id, queued = earlier.queued, "repeated submit: nothing more queued");
        return Ok(earlier.queued as u64);
    }
    // Rows are rendered off the async threads and inserted a chunk at a time
    // (QUEUE_CHUNK rows or QUEUE_CHUNK_BYTES) as they come, all in one
    // transaction: everything queues or nothing does, and only the chunk being
    // rendered, the one waiting and the one being inserted are in memory.
    // Each ready row with its List-Unsubscribe URL, if it carries one.
    let (chunks, mut incoming) = tokio::sync::mpsc::channel::<Vec<(ReadyRow, Option<String>)>>(1);
    let rendering = state.rendering.clone();
    let renderer = tokio::spawn(async move {
        rendering
            .run(move || {
                let link = |a: &EmailAddress| links.url(user_id, a);
                let rules = RowRules {
                    attaching: attaching(attaching_column.as_deref(), &named, shared_bytes),
                    suppressed: Some(&suppressed),
                    unsubscribe_url: Some(&link),
                };
                let mut bad = 0usize;
                let mut chunk = Vec::with_capacity(QUEUE_CHUNK);
                let mut bytes = 0usize;
                let mut open = true;
                each_row(&table, &template, &email_column, &rules, |row| {
                    match row {
                        Ok(mut ready) => {
                            let list = unsubscribe(&links, footer, alone, &mut ready);
                            bytes += ready.message.html.len() + ready.message.text.len();
                            chunk.push((ready, list));
                        }
                        Err(_) => bad += 1,
                    }
                    if chunk.len() == QUEUE_CHUNK || bytes >= QUEUE_CHUNK_BYTES {
                        open = chunks.blocking_send(std::mem::take(&mut chunk)).is_ok();
                        bytes = 0;
                    }
                    open
                });
                if open && !chunk.is_empty() {
                    let _ = chunks.blocking_send(chunk);
                }
                bad
            })
            .await
    });
    let shared = crate::emails::Enqueue {
        user_id,
        template_id: Some(template_id),
        import_id: Some(import_id),
        cc: &cc,
        bcc: &bcc,
        send_at: at,
        subject_source: &source.subject,
        body_source: &source.body,
    };
    let mut ids: Vec<Uuid> = Vec::new();
    while let Some(chunk) = incoming.recv().await {
        let per_row: Vec<Option<(Uuid, String)>> =
            chunk.iter().map(|(r, _)| r.attachment.clone()).collect();
        let messages = chunk
            .into_iter()
            .map(|(r, list_unsubscribe)| crate::emails::NewEmail {
                to: vec![r.to],
                message: r.message,
                values: r.values,
                list_unsubscribe,
                placement: None,
            })
            .collect();
        let inserted = crate::emails::enqueue(&mut tx, &shared, messages).await?;
        if !every.is_empty() || column.is_some() {
            files::attach(&mut tx, &inserted, &every, &per_row).await?;
        }
        ids.extend(inserted);
    }
    let skipped = renderer.await.map_err(AppError::internal)??;
    if ids.is_empty() {
        return Err(AppError::BadRequest(
            "No row is ready to send. Fix the rows in the report and upload the file again.".into(),
        ));
    }
    if let Some(key) = submission {
        submissions::record(
            &mut tx,
            user_id,
            key,
            ids.first().copied(),
            ids.len() as i64,
        )
        .await?;
    }
    tx.commit().await?;
    let queued = ids.len() as u64;
    tracing::info!(%user_id, %import_id, queued, skipped, "merge queued");
    Ok(queued)
}

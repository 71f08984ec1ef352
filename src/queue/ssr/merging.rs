//! The merge report and queueing, on top of the merge engine.

use super::{Sender, check_recipient_count, imports, repo, zone::UserZone};
use crate::auth::ssr::state;
use crate::domain::EmailAddress;
use crate::error::{AppError, FieldErrors};
use crate::merge::plan::{Plan, plan};
use crate::merge::recipients::{Limits, Table, parse};
use crate::merge::render::MessageTemplate;
use crate::queue::merge::{BadRowView, MergeReport, MessagePreview};
use uuid::Uuid;

async fn compiled(user_id: Uuid, template_id: Uuid) -> Result<MessageTemplate, AppError> {
    let (subject, html, text) =
        crate::templates::ssr::repo::parts(&state().pool, user_id, template_id)
            .await?
            .ok_or(AppError::NotFound)?;
    // Templates are checked when saved, so this only fails on a bug.
    MessageTemplate::compile(&subject, &html, &text)
        .map_err(|e| AppError::internal(anyhow::anyhow!("stored template does not compile: {e}")))
}

fn table_of(csv: &str) -> Result<Table, AppError> {
    parse(csv.as_bytes(), Limits::default()).map_err(|e| AppError::BadRequest(e.to_string()))
}

pub async fn report(
    user_id: Uuid,
    import_id: Uuid,
    template_id: Option<Uuid>,
    email_column: Option<String>,
    line: Option<u64>,
) -> Result<MergeReport, AppError> {
    let state = state();
    let import = imports::get(&state.pool, user_id, import_id).await?;
    let table = table_of(&import.csv)?;
    let sender = Sender::load(&state, user_id).await?;
    let email_column = email_column
        .filter(|c| table.columns.contains(c))
        .or_else(|| table.email_column().map(str::to_string));
    let template_id = template_id.filter(|id| sender.templates.iter().any(|(t, _)| t == id));

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
    let template = compiled(user_id, template_id).await?;
    let Plan { ready, bad } = plan(&table, &template, &column);
    report.ready = ready.len();
    report.ready_lines = ready.iter().map(|r| (r.line, r.to.to_string())).collect();
    report.bad = bad
        .into_iter()
        .map(|b| BadRowView {
            line: b.line,
            address: b.address,
            reason: b.reason,
        })
        .collect();
    let shown = line
        .and_then(|l| ready.iter().find(|r| r.line == l))
        .or(ready.first());
    report.preview = shown.map(|r| MessagePreview {
        line: r.line,
        to: r.to.to_string(),
        subject: r.message.subject.clone(),
        html: r.message.html.clone(),
        text: r.message.text.clone(),
    });
    Ok(report)
}

/// Parses a comma-separated list of addresses.
pub fn address_list(raw: &str) -> Result<Vec<String>, String> {
    raw.split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            EmailAddress::parse(s)
                .map(EmailAddress::into_inner)
                .map_err(|_| format!("\"{s}\" is not a valid email address."))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub async fn queue(
    user_id: Uuid,
    import_id: Uuid,
    template_id: Uuid,
    email_column: &str,
    cc: &str,
    bcc: &str,
    when: &str,
    send_at: &str,
) -> Result<u64, AppError> {
    let state = state();
    let zone = UserZone::of_user(&state.pool, user_id).await?;
    let mut errors = FieldErrors::default();
    let cc = errors.check("cc", address_list(cc));
    let bcc = errors.check("bcc", address_list(bcc));
    let at = errors.check("send_at", zone.send_time(when, send_at));
    let (Some(cc), Some(bcc), Some(at)) = (cc, bcc, at) else {
        return Err(errors.into_error());
    };
    check_recipient_count("cc", 1 + cc.len() + bcc.len())?;

    let import = imports::get(&state.pool, user_id, import_id).await?;
    let table = table_of(&import.csv)?;
    if !table.columns.iter().any(|c| c == email_column) {
        return Err(AppError::field(
            "email_column",
            "Choose the column that holds the addresses.",
        ));
    }
    let template = compiled(user_id, template_id).await?;
    let plan = plan(&table, &template, email_column);
    if plan.ready.is_empty() {
        return Err(AppError::BadRequest(
            "No row is ready to send. Fix the rows in the report and upload the file again.".into(),
        ));
    }
    // Everything queues or nothing does.
    let mut tx = state.pool.begin().await?;
    let source = crate::templates::ssr::repo::get(&state.pool, user_id, template_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let batch = repo::Batch {
        user_id,
        template_id: Some(template_id),
        import_id: Some(import_id),
        cc: &cc,
        bcc: &bcc,
        send_at: at,
        subject_source: &source.subject,
        body_source: &source.body,
    };
    let queued = repo::insert_batch(&mut tx, &batch, &plan.ready).await?;
    tx.commit().await?;
    tracing::info!(%user_id, %import_id, queued, skipped = plan.bad.len(), "merge queued");
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::address_list;

    #[test]
    fn address_lists_are_split_and_checked() {
        assert_eq!(
            address_list(" a@x.io, B@Y.io ;").unwrap(),
            ["a@x.io", "B@y.io"]
        );
        assert_eq!(address_list("").unwrap(), Vec::<String>::new());
        assert!(
            address_list("a@x.io, nope")
                .unwrap_err()
                .contains("\"nope\"")
        );
    }
}

//! Starting a campaign, and what a draft's rows give with its settings: the
//! same checks, so the page's report is what Start does.

use super::plan::{Sender, plan};
use super::recipients::{Against, Evaluated, evaluate};
use super::repo::{self, Stored, StoredStep, table_of};
use crate::campaigns::{AddCheck, CampaignStatus, DraftCheck, PlanView};
use crate::domain::UserId;
use crate::error::AppError;
use crate::merge::recipients::Table;
use crate::merge::render::MessageTemplate;
use crate::settings::ssr::zone::UserZone;
use crate::state::AppState;
use jiff::tz::TimeZone;
use sqlx::PgConnection;
use std::collections::HashSet;
use uuid::Uuid;

/// Rows put into the database at a time when a campaign starts.
const CHUNK: usize = 2_000;

/// A step's template as the campaign will send it.
struct Copied {
    position: i16,
    /// `None` once the template was deleted (the copy goes on).
    template_id: Option<Uuid>,
    subject: String,
    body_source: String,
    html: String,
    text: String,
    /// The files each message attaches (id, name).
    attach: Vec<(Uuid, String)>,
}

/// Each step's template from the user's templates, compiled; a step whose
/// template is gone or no longer fits the CSV is refused, naming the step.
async fn copy_steps(
    state: &AppState,
    user_id: UserId,
    steps: &[StoredStep],
    columns: &[String],
) -> Result<Vec<Copied>, AppError> {
    if steps.is_empty() {
        return Err(AppError::field(
            "step1",
            "Choose the template of the first message, and save.",
        ));
    }
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let field = format!("step{}", step.position);
        let refuse =
            |m: String| AppError::field(field.clone(), format!("Step {}: {m}", step.position));
        let template_id = step
            .template_id
            .ok_or_else(|| refuse("its template was deleted. Choose another and save.".into()))?;
        let source = crate::templates::ssr::repo::get(&state.pool, user_id, template_id)
            .await?
            .ok_or_else(|| refuse("its template was deleted. Choose another and save.".into()))?;
        let parts = crate::templates::ssr::repo::parts(&state.pool, user_id, template_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let compiled = repo::compile_template(&state.pool, user_id, template_id)
            .await
            .map_err(refuse)?;
        repo::fits_columns(&compiled, columns).map_err(refuse)?;
        if !step.attach.is_empty() {
            let mine = crate::files::ssr::repo::list(&state.pool, user_id).await?;
            if let Some(gone) = step
                .attach
                .iter()
                .zip(&step.attach_names)
                .find(|(id, _)| !mine.iter().any(|f| f.id == **id))
            {
                return Err(AppError::field(
                    format!("step{}_attach", step.position),
                    format!(
                        "Step {}: the file “{}” was deleted. Choose the step's files again and save.",
                        step.position, gone.1
                    ),
                ));
            }
        }
        out.push(Copied {
            position: step.position,
            template_id: Some(template_id),
            subject: parts.subject,
            body_source: source.body,
            html: parts.html,
            text: parts.text,
            attach: attached(step),
        });
    }
    Ok(out)
}

/// Lowercased addresses with a sequence still open in another of the user's
/// campaigns.
async fn elsewhere(
    conn: &mut PgConnection,
    user_id: UserId,
    campaign_id: Uuid,
) -> Result<HashSet<String>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "SELECT address FROM campaign_recipients
         WHERE user_id = $1 AND campaign_id <> $2 AND state IN ('active', 'waiting')",
        user_id as UserId,
        campaign_id,
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .collect())
}

/// Lowercased addresses already in this campaign.
async fn already_in(
    conn: &mut PgConnection,
    campaign_id: Uuid,
) -> Result<HashSet<String>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "SELECT address FROM campaign_recipients WHERE campaign_id = $1",
        campaign_id,
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .collect())
}

/// The steps of a campaign that has started, as it copied them.
fn as_copied(steps: &[StoredStep]) -> Vec<Copied> {
    steps
        .iter()
        .map(|s| Copied {
            position: s.position,
            template_id: s.template_id,
            subject: s.subject.clone().unwrap_or_default(),
            body_source: s.body_source.clone().unwrap_or_default(),
            html: s.body_html.clone().unwrap_or_default(),
            text: s.body_text.clone().unwrap_or_default(),
            attach: attached(s),
        })
        .collect()
}

/// A step's files as chosen: id and name.
fn attached(step: &StoredStep) -> Vec<(Uuid, String)> {
    step.attach
        .iter()
        .copied()
        .zip(step.attach_names.iter().cloned())
        .collect()
}

/// The rows of a CSV with a campaign's settings and these step templates.
async fn rows(
    state: &AppState,
    user_id: UserId,
    stored: &Stored,
    table: Table,
    steps: &[Copied],
    conn: &mut PgConnection,
) -> Result<Evaluated, AppError> {
    let email_column = stored
        .email_column
        .clone()
        .filter(|c| table.columns.contains(c))
        .ok_or_else(|| {
            AppError::field(
                "email_column",
                "Choose the column that holds the addresses.",
            )
        })?;
    let suppressed =
        crate::mailmerge::ssr::report::suppressed_in(state, user_id, &table, &email_column).await?;
    let elsewhere = elsewhere(conn, user_id, stored.id).await?;
    let here = already_in(conn, stored.id).await?;
    let templates: Vec<MessageTemplate> = steps
        .iter()
        .map(|s| MessageTemplate::compile(&s.subject, &s.html, &s.text))
        .collect::<Result<_, _>>()
        .map_err(|e| AppError::BadRequest(e.explain()))?;
    let links = state.links.clone();
    let zone_column = stored.zone_column.clone();
    let footer = stored.unsubscribe_footer;
    state
        .rendering
        .run(move || {
            evaluate(
                &table,
                &Against {
                    email_column: &email_column,
                    zone_column: zone_column.as_deref(),
                    steps: &templates,
                    suppressed: &suppressed,
                    elsewhere: &elsewhere,
                    here: &here,
                    links: &links,
                    user_id,
                    footer,
                },
            )
        })
        .await
}

/// What the draft's rows give with its saved settings, for its page.
pub async fn check(
    state: &AppState,
    user_id: UserId,
    stored: &Stored,
) -> Result<DraftCheck, AppError> {
    let mut conn = state.pool.acquire().await?;
    let steps = repo::steps(&mut conn, stored.id).await?;
    let csv = stored.csv.clone();
    let table = state.rendering.run(move || table_of(&csv)).await??;
    let problem = |p: String| DraftCheck {
        ready: 0,
        bad: Vec::new(),
        problem: Some(p),
        plan: None,
    };
    let copied = match copy_steps(state, user_id, &steps, &table.columns).await {
        Ok(c) => c,
        Err(e) => return Ok(problem(e.to_string())),
    };
    match rows(state, user_id, stored, table, &copied, &mut conn).await {
        Ok(e) => {
            let plan = plan_of(state, user_id, stored, &steps, &e, &mut conn).await?;
            Ok(DraftCheck {
                ready: e.ready.len(),
                bad: e.bad,
                problem: None,
                plan,
            })
        }
        Err(e @ AppError::Invalid { .. }) => Ok(problem(e.to_string())),
        Err(e) => Err(e),
    }
}

/// The plan of the ready rows, from the start time (or now), with the
/// account's cap and gap.
async fn plan_of(
    state: &AppState,
    user_id: UserId,
    stored: &Stored,
    steps: &[StoredStep],
    rows: &Evaluated,
    conn: &mut PgConnection,
) -> Result<Option<PlanView>, AppError> {
    if rows.ready.is_empty() {
        return Ok(None);
    }
    let account = sqlx::query!(
        "SELECT daily_send_cap, send_gap_seconds FROM users WHERE id = $1",
        user_id as UserId
    )
    .fetch_one(&mut *conn)
    .await?;
    let now = crate::emails::clock::now(conn).await?;
    let start = stored.starts_at.map_or(now, |s| s.max(now));
    let own = TimeZone::get(&stored.time_zone).unwrap_or(TimeZone::UTC);
    let zones: Vec<TimeZone> = rows
        .ready
        .iter()
        .map(|r| {
            r.time_zone
                .as_deref()
                .and_then(|z| TimeZone::get(z).ok())
                .unwrap_or_else(|| own.clone())
        })
        .collect();
    let delays: Vec<i16> = steps.iter().skip(1).map(|s| s.delay_days).collect();
    let window = stored.window;
    let config = state.config.delivery.clone();
    let (cap, gap) = (account.daily_send_cap as i64, account.send_gap_seconds);
    let plan = state
        .rendering
        .run(move || {
            let sender = Sender {
                config: &config,
                daily_cap: cap,
                gap_seconds: gap,
                zone: own,
            };
            plan(&sender, &window, &zones, &delays, start)
        })
        .await?;
    let zone = UserZone::new(&stored.time_zone);
    Ok(plan.map(|p| {
        let days = (p.last - start).whole_days();
        PlanView {
            messages: p.messages,
            per_day: p.per_day,
            step1_done: zone.day(p.step1_done),
            last: zone.day(p.last),
            days,
            outlives_testing_token: p.last - start > time::Duration::days(7),
        }
    }))
}

/// Starts a draft in one transaction: the templates copied into the steps, a
/// recipient for every ready row, step 1 queued for each at its first window
/// opening from the start. Starting a campaign that has started does nothing
/// and answers with its recipients (a second click).
pub async fn start(state: &AppState, user_id: UserId, id: Uuid) -> Result<u64, AppError> {
    crate::accounts::ssr::sending::may_queue(state, user_id).await?;
    let mut tx = state.pool.begin().await?;
    let stored = repo::load_in(&mut tx, user_id, id, true).await?;
    if stored.status != CampaignStatus::Draft {
        let n = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM campaign_recipients WHERE campaign_id = $1"#,
            id
        )
        .fetch_one(&mut *tx)
        .await?;
        return Ok(n as u64);
    }
    let steps = repo::steps(&mut tx, id).await?;
    let csv = stored.csv.clone();
    let table = state.rendering.run(move || table_of(&csv)).await??;
    let copied = copy_steps(state, user_id, &steps, &table.columns).await?;
    let evaluated = rows(state, user_id, &stored, table, &copied, &mut tx).await?;
    if evaluated.ready.is_empty() {
        return Err(AppError::BadRequest(
            "No row is ready to send. Fix the rows in the report, then upload the file in a new campaign.".into(),
        ));
    }
    for step in &copied {
        sqlx::query!(
            "UPDATE campaign_steps SET subject = $3, body_source = $4, body_html = $5, body_text = $6
             WHERE campaign_id = $1 AND position = $2",
            id,
            step.position,
            step.subject,
            step.body_source,
            step.html,
            step.text,
        )
        .execute(&mut *tx)
        .await?;
    }
    let now = crate::emails::clock::now(&mut tx).await?;
    let from = stored.starts_at.map_or(now, |s| s.max(now));
    let sender = sqlx::query_scalar!(
        r#"SELECT coalesce(g.email, u.email) AS "address!" FROM users u
           LEFT JOIN google_accounts g ON g.user_id = u.id WHERE u.id = $1"#,
        user_id as UserId
    )
    .fetch_one(&mut *tx)
    .await?;
    let total = evaluated.ready.len() as u64;
    let skipped = evaluated.bad.len();
    insert(&mut tx, user_id, &stored, &copied[0], evaluated.ready, from).await?;
    sqlx::query!(
        "UPDATE campaigns SET status = 'running', started_at = now(), sender_address = $2
         WHERE id = $1",
        id,
        sender,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(%user_id, campaign = %id, recipients = total, skipped, "campaign started");
    Ok(total)
}

/// Recipients for the ready rows, and step 1 queued for each at its first
/// window opening from `from`, a chunk at a time, in the caller's transaction.
async fn insert(
    conn: &mut PgConnection,
    user_id: UserId,
    stored: &Stored,
    first: &Copied,
    ready: Vec<super::recipients::Ready>,
    from: time::OffsetDateTime,
) -> Result<(), AppError> {
    let own_zone = TimeZone::get(&stored.time_zone).unwrap_or(TimeZone::UTC);
    let shared = crate::emails::Enqueue {
        user_id,
        template_id: first.template_id,
        import_id: None,
        cc: &[],
        bcc: &[],
        send_at: from,
        subject_source: &first.subject,
        body_source: &first.body_source,
    };
    let mut ready = ready.into_iter().peekable();
    while ready.peek().is_some() {
        let chunk: Vec<_> = ready.by_ref().take(CHUNK).collect();
        let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::now_v7()).collect();
        let addresses: Vec<String> = chunk.iter().map(|r| r.to.normalized()).collect();
        let to: Vec<String> = chunk.iter().map(|r| r.to.to_string()).collect();
        let lines: Vec<i32> = chunk.iter().map(|r| r.line as i32).collect();
        let values: Vec<serde_json::Value> = chunk
            .iter()
            .map(|r| serde_json::to_value(&r.values).unwrap_or_default())
            .collect();
        let zones: Vec<Option<String>> = chunk.iter().map(|r| r.time_zone.clone()).collect();
        sqlx::query!(
            "INSERT INTO campaign_recipients (id, campaign_id, user_id, address, to_addr, line,
                                              merge_values, time_zone)
             SELECT x.id, $1, $2, x.address, x.to_addr, x.line, x.merge_values, x.time_zone
             FROM unnest($3::uuid[], $4::text[], $5::text[], $6::int4[], $7::jsonb[], $8::text[])
                  AS x(id, address, to_addr, line, merge_values, time_zone)",
            stored.id,
            user_id as UserId,
            &ids,
            &addresses,
            &to,
            &lines,
            &values,
            &zones as &[Option<String>],
        )
        .execute(&mut *conn)
        .await?;
        let messages = chunk
            .into_iter()
            .zip(&ids)
            .map(|(r, recipient)| {
                let zone = r
                    .time_zone
                    .as_deref()
                    .and_then(|z| TimeZone::get(z).ok())
                    .unwrap_or_else(|| own_zone.clone());
                crate::emails::NewEmail {
                    to: vec![r.to],
                    message: r.message,
                    values: r.values,
                    list_unsubscribe: r.list_unsubscribe,
                    placement: Some(crate::emails::Placement {
                        send_at: stored.window.next_slot(&zone, from).not_before,
                        thread_id: None,
                        campaign_recipient_id: *recipient,
                        campaign_step: 1,
                    }),
                }
            })
            .collect();
        let inserted = crate::emails::enqueue(&mut *conn, &shared, messages).await?;
        crate::files::ssr::repo::attach_named(&mut *conn, user_id, &inserted, &first.attach)
            .await?;
    }
    Ok(())
}

/// What adding the rows of an uploaded CSV to a running campaign would do.
pub async fn check_more(
    state: &AppState,
    user_id: UserId,
    stored: &Stored,
    import_id: Uuid,
) -> Result<AddCheck, AppError> {
    let import = crate::mailmerge::ssr::imports::get(&state.pool, user_id, import_id).await?;
    let mut conn = state.pool.acquire().await?;
    let steps = as_copied(&repo::steps(&mut conn, stored.id).await?);
    let (ready, bad, problem) =
        match more_rows(state, user_id, stored, &import.csv, &steps, &mut conn).await {
            Ok(e) => (e.ready.len(), e.bad, None),
            Err(e @ (AppError::Invalid { .. } | AppError::BadRequest(_))) => {
                (0, Vec::new(), Some(e.to_string()))
            }
            Err(e) => return Err(e),
        };
    Ok(AddCheck {
        import_id,
        file_name: import.file_name,
        ready,
        bad,
        problem,
    })
}

/// The rows of a new CSV for a running campaign: it must have the address
/// column and every placeholder the steps use.
async fn more_rows(
    state: &AppState,
    user_id: UserId,
    stored: &Stored,
    csv: &str,
    steps: &[Copied],
    conn: &mut PgConnection,
) -> Result<Evaluated, AppError> {
    let text = csv.to_string();
    let table = state.rendering.run(move || table_of(&text)).await??;
    let column = stored.email_column.clone().unwrap_or_default();
    if !table.columns.contains(&column) {
        return Err(AppError::BadRequest(format!(
            "This file has no column called {column}, which holds the campaign's addresses."
        )));
    }
    for step in steps {
        let t = MessageTemplate::compile(&step.subject, &step.html, &step.text)
            .map_err(|e| AppError::BadRequest(e.explain()))?;
        repo::fits_columns(&t, &table.columns)
            .map_err(|e| AppError::BadRequest(format!("Step {}: {e}", step.position)))?;
    }
    rows(state, user_id, stored, table, steps, conn).await
}

/// Adds the ready rows of an uploaded CSV to a running or paused campaign:
/// each a recipient, step 1 queued at its first window opening from now.
/// Returns how many were added.
pub async fn add(
    state: &AppState,
    user_id: UserId,
    id: Uuid,
    import_id: Uuid,
) -> Result<u64, AppError> {
    let import = crate::mailmerge::ssr::imports::get(&state.pool, user_id, import_id).await?;
    let mut tx = state.pool.begin().await?;
    let stored = repo::load_in(&mut tx, user_id, id, true).await?;
    if !matches!(
        stored.status,
        CampaignStatus::Running | CampaignStatus::Paused
    ) {
        return Err(AppError::BadRequest(format!(
            "This campaign is {}: recipients can be added only while it runs or is paused.",
            stored.status.label().to_lowercase()
        )));
    }
    let steps = as_copied(&repo::steps(&mut tx, id).await?);
    let evaluated = more_rows(state, user_id, &stored, &import.csv, &steps, &mut tx).await?;
    if evaluated.ready.is_empty() {
        return Err(AppError::BadRequest(
            "No row of this file can be added. The report says why for each.".into(),
        ));
    }
    let added = evaluated.ready.len() as u64;
    let now = crate::emails::clock::now(&mut tx).await?;
    insert(&mut tx, user_id, &stored, &steps[0], evaluated.ready, now).await?;
    tx.commit().await?;
    tracing::info!(%user_id, campaign = %id, added, "recipients added");
    Ok(added)
}

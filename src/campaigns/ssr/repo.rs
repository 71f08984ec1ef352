//! The campaign tables: a draft made from a CSV, its settings saved, and what
//! users do to a campaign (pause, resume, cancel, mark replied). Every
//! statement is scoped to the user: another user's id is "not found".

use super::schedule::{DAY, Window};
use crate::campaigns::{CampaignForm, CampaignStatus, CampaignSummary, Counts, RecipientState};
use crate::domain::{EmailAddress, UserId};
use crate::emails::campaign::{Sequences, cancel_steps, due_again};
use crate::error::{AppError, FieldErrors};
use crate::merge::recipients::{Limits, Table, parse};
use crate::merge::render::{MessageTemplate, RenderError};
use crate::settings::ssr::zone::UserZone;
use crate::state::AppState;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

/// A campaign as stored.
pub struct Stored {
    pub id: Uuid,
    pub name: String,
    pub status: CampaignStatus,
    pub file_name: String,
    pub csv: String,
    pub email_column: Option<String>,
    pub zone_column: Option<String>,
    pub time_zone: String,
    pub window: Window,
    pub starts_at: Option<OffsetDateTime>,
    pub unsubscribe_footer: bool,
    pub stop_on_auto: bool,
    pub paused_reason: Option<String>,
    pub started_at: Option<OffsetDateTime>,
}

/// A step as stored: the template chosen, and its parts once copied at the start.
pub struct StoredStep {
    pub position: i16,
    pub template_id: Option<Uuid>,
    pub delay_days: i16,
    pub subject: Option<String>,
    pub body_source: Option<String>,
    pub body_html: Option<String>,
    pub body_text: Option<String>,
    pub attach: Vec<Uuid>,
    pub attach_names: Vec<String>,
}

/// A file a step attaches: id, name, size.
type ChosenFile = (Uuid, String, u64);

/// The columns a CSV's time zones may be in, looked for when a draft is made.
const ZONE_COLUMNS: [&str; 4] = ["time_zone", "timezone", "tz", "zone"];

pub fn table_of(csv: &str) -> Result<Table, AppError> {
    parse(csv.as_bytes(), Limits::default()).map_err(|e| AppError::BadRequest(e.to_string()))
}

pub async fn load(pool: &PgPool, user_id: UserId, id: Uuid) -> Result<Stored, AppError> {
    let mut conn = pool.acquire().await?;
    load_in(&mut conn, user_id, id, false).await
}

struct Row {
    id: Uuid,
    name: String,
    status: String,
    file_name: String,
    csv: String,
    email_column: Option<String>,
    zone_column: Option<String>,
    time_zone: String,
    window_days: i16,
    window_start: i16,
    window_end: i16,
    starts_at: Option<OffsetDateTime>,
    unsubscribe_footer: bool,
    stop_on_auto: bool,
    paused_reason: Option<String>,
    started_at: Option<OffsetDateTime>,
}

/// `load` in the caller's transaction; `lock` takes the row for update (a
/// second Start waits for the first, then finds it started).
pub async fn load_in(
    conn: &mut PgConnection,
    user_id: UserId,
    id: Uuid,
    lock: bool,
) -> Result<Stored, AppError> {
    // Two statements: FOR UPDATE cannot be optional in one.
    let row = if lock {
        sqlx::query_as!(
            Row,
            "SELECT id, name, status, file_name, csv, email_column, zone_column, time_zone, window_days,
                    window_start, window_end, starts_at, unsubscribe_footer, stop_on_auto, paused_reason,
                    started_at
             FROM campaigns WHERE id = $1 AND user_id = $2 FOR UPDATE",
            id,
            user_id as UserId,
        )
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query_as!(
            Row,
            "SELECT id, name, status, file_name, csv, email_column, zone_column, time_zone, window_days,
                    window_start, window_end, starts_at, unsubscribe_footer, stop_on_auto, paused_reason,
                    started_at
             FROM campaigns WHERE id = $1 AND user_id = $2",
            id,
            user_id as UserId,
        )
        .fetch_optional(&mut *conn)
        .await?
    };
    let r = row.ok_or(AppError::NotFound)?;
    Ok(Stored {
        id: r.id,
        name: r.name,
        status: CampaignStatus::parse(&r.status).ok_or(AppError::NotFound)?,
        file_name: r.file_name,
        csv: r.csv,
        email_column: r.email_column,
        zone_column: r.zone_column,
        time_zone: r.time_zone,
        window: Window::from_stored(r.window_days, r.window_start, r.window_end)
            .unwrap_or(Window::always()),
        starts_at: r.starts_at,
        unsubscribe_footer: r.unsubscribe_footer,
        stop_on_auto: r.stop_on_auto,
        paused_reason: r.paused_reason,
        started_at: r.started_at,
    })
}

pub async fn steps(conn: &mut PgConnection, id: Uuid) -> Result<Vec<StoredStep>, sqlx::Error> {
    sqlx::query_as!(
        StoredStep,
        "SELECT position, template_id, delay_days, subject, body_source, body_html, body_text,
                attach, attach_names
         FROM campaign_steps WHERE campaign_id = $1 ORDER BY position",
        id
    )
    .fetch_all(conn)
    .await
}

pub async fn list(state: &AppState, user_id: UserId) -> Result<Vec<CampaignSummary>, AppError> {
    let zone = UserZone::of_user(&state.pool, user_id).await?;
    let rows = sqlx::query!(
        r#"SELECT c.id, c.name, c.status, c.created_at,
                  coalesce(r.recipients, 0) AS "recipients!", coalesce(r.replied, 0) AS "replied!",
                  coalesce(r.sent, 0) AS "sent!",
                  coalesce(r.open, 0) * (SELECT count(*) FROM campaign_steps s WHERE s.campaign_id = c.id)
                      + coalesce(r.closed_sent, 0) AS "total!"
           FROM campaigns c
           LEFT JOIN LATERAL (
               SELECT count(*) AS recipients,
                      count(*) FILTER (WHERE state = 'replied') AS replied,
                      sum(steps_sent)::int8 AS sent,
                      count(*) FILTER (WHERE state IN ('active', 'waiting')) AS open,
                      (sum(steps_sent) FILTER (WHERE state NOT IN ('active', 'waiting')))::int8 AS closed_sent
               FROM campaign_recipients WHERE campaign_id = c.id) r ON true
           WHERE c.user_id = $1
           ORDER BY c.created_at DESC, c.id DESC
           LIMIT 200"#,
        user_id as UserId
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(CampaignSummary {
                id: r.id,
                name: r.name,
                status: CampaignStatus::parse(&r.status)?,
                recipients: r.recipients,
                replied: r.replied,
                steps_sent: r.sent,
                steps_total: r.total,
                created: zone.display(r.created_at),
            })
        })
        .collect())
}

/// Recipients by state and the steps sent of all there are to send.
pub async fn counts(pool: &PgPool, id: Uuid) -> Result<Counts, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT state, count(*) AS "n!", coalesce(sum(steps_sent), 0)::int8 AS "sent!"
           FROM campaign_recipients WHERE campaign_id = $1 GROUP BY state"#,
        id
    )
    .fetch_all(pool)
    .await?;
    let steps = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM campaign_steps WHERE campaign_id = $1"#,
        id
    )
    .fetch_one(pool)
    .await?;
    let mut counts = Counts::default();
    for r in rows {
        let Some(state) = RecipientState::parse(&r.state) else {
            continue;
        };
        counts.recipients += r.n;
        counts.steps_sent += r.sent;
        counts.steps_total += if state.is_open() { r.n * steps } else { r.sent };
        counts.by_state.push((state, r.n));
    }
    counts
        .by_state
        .sort_by_key(|(s, _)| RecipientState::ALL.iter().position(|x| x == s));
    Ok(counts)
}

/// A new draft from an uploaded CSV: named after the file, the address and
/// time-zone columns guessed, Monday to Friday 9:00–17:00 in the user's zone.
pub async fn create(
    state: &AppState,
    user_id: UserId,
    file_name: &str,
    csv: &str,
) -> Result<Uuid, AppError> {
    let text = csv.to_string();
    let table = state.rendering.run(move || table_of(&text)).await??;
    let zone = UserZone::of_user(&state.pool, user_id).await?;
    let name = file_name
        .strip_suffix(".csv")
        .unwrap_or(file_name)
        .chars()
        .take(200)
        .collect::<String>();
    let name = if name.trim().is_empty() {
        "New campaign".to_string()
    } else {
        name
    };
    let zone_column = ZONE_COLUMNS
        .iter()
        .find(|c| table.columns.iter().any(|col| col == *c))
        .map(|c| c.to_string());
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO campaigns (id, user_id, name, file_name, csv, email_column, zone_column, time_zone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        id,
        user_id as UserId,
        name,
        file_name,
        csv,
        table.email_column(),
        zone_column,
        zone.name,
    )
    .execute(&state.pool)
    .await?;
    Ok(id)
}

/// "09:00" → 540; "24:00" is the end of the day.
fn minutes(input: &str) -> Result<u16, String> {
    let bad = || "Enter a time such as 09:00.".to_string();
    let (h, m) = input.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h * 60 + m > DAY {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// 540 → "09:00".
pub fn hhmm(minutes: i16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Whether a step's template can be filled in from the CSV's columns: a
/// placeholder that is not a column and has no default is refused, naming it.
pub fn fits_columns(template: &MessageTemplate, columns: &[String]) -> Result<(), String> {
    let values: std::collections::BTreeMap<&str, String> = columns
        .iter()
        .map(|c| (c.as_str(), "x".to_string()))
        .chain([(crate::merge::scan::UNSUBSCRIBE_URL, "x".to_string())])
        .collect();
    match template.render(&values) {
        Err(RenderError::Missing { key }) => Err(format!(
            "This template uses {{{{ {key} }}}}, which is not a column of the CSV and has no default."
        )),
        _ => Ok(()),
    }
}

/// A step's template, compiled from the user's templates.
pub async fn compile_template(
    pool: &PgPool,
    user_id: UserId,
    template_id: Uuid,
) -> Result<MessageTemplate, String> {
    let parts = crate::templates::ssr::repo::parts(pool, user_id, template_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("Choose one of your templates.")?;
    MessageTemplate::compile(&parts.subject, &parts.html, &parts.text).map_err(|e| {
        format!(
            "This template needs a change first. {} Open it in Templates to fix it.",
            e.explain()
        )
    })
}

/// Saves a draft's settings, every field checked and every problem reported
/// next to its field. Only a draft's settings change.
pub async fn save(state: &AppState, user_id: UserId, form: CampaignForm) -> Result<(), AppError> {
    let stored = load(&state.pool, user_id, form.id).await?;
    if stored.status != CampaignStatus::Draft {
        return Err(AppError::BadRequest(
            "This campaign has started, so its settings can no longer be changed.".into(),
        ));
    }
    let csv = stored.csv.clone();
    let table = state.rendering.run(move || table_of(&csv)).await??;
    let zone = UserZone::new(&stored.time_zone);
    let mut errors = FieldErrors::default();
    let name = form.name.trim().to_string();
    errors.check(
        "name",
        if name.is_empty() || name.chars().count() > 200 {
            Err("Give the campaign a name of up to 200 characters.".to_string())
        } else {
            Ok(())
        },
    );
    let email_column = errors.check(
        "email_column",
        if table.columns.contains(&form.email_column) {
            Ok(form.email_column.clone())
        } else {
            Err("Choose the column that holds the addresses.".to_string())
        },
    );
    let zone_column = errors.check(
        "zone_column",
        match form.zone_column.as_str() {
            "" => Ok(None),
            c if table.columns.iter().any(|col| col == c) => Ok(Some(c.to_string())),
            _ => Err("Choose one of the CSV's columns, or none.".to_string()),
        },
    );
    let mut days = [false; 7];
    for d in &form.days {
        if let Ok(i) = d.parse::<usize>()
            && i < 7
        {
            days[i] = true;
        }
    }
    let start = errors.check("window_start", minutes(&form.window_start));
    let end = errors.check("window_end", minutes(&form.window_end));
    let window = match (start, end) {
        (Some(start), Some(end)) => match Window::new(days, start, end) {
            Ok(w) => Some(w),
            Err(e) if !days.contains(&true) => errors.check("days", Err(e.to_string())),
            Err(e) => errors.check("window_end", Err(e.to_string())),
        },
        _ => None,
    };
    let starts_at = errors.check(
        "send_at",
        if form.when == "later" {
            zone.send_time("later", &form.send_at).map(Some)
        } else {
            Ok(None)
        },
    );
    // Steps: the blank follow-up rows are dropped; step 1 must have a template.
    let mine = crate::files::ssr::repo::list(&state.pool, user_id).await?;
    let mut steps: Vec<(Uuid, i16, Vec<ChosenFile>)> = Vec::new();
    for (i, step) in form
        .steps
        .iter()
        .enumerate()
        .take(crate::campaigns::MAX_STEPS)
    {
        let field = format!("step{}", i + 1);
        let template_id = step.template_id.trim();
        if template_id.is_empty() {
            if i == 0 {
                errors.check::<()>(
                    &field,
                    Err("Choose the template of the first message.".into()),
                );
            }
            continue;
        }
        let Ok(template_id) = Uuid::parse_str(template_id) else {
            errors.check::<()>(&field, Err("Choose one of your templates.".into()));
            continue;
        };
        let checked = match compile_template(&state.pool, user_id, template_id).await {
            Ok(t) => fits_columns(&t, &table.columns),
            Err(e) => Err(e),
        };
        let delay = if i == 0 {
            Ok(0)
        } else {
            step.delay_days
                .trim()
                .parse::<i16>()
                .ok()
                .filter(|d| (1..=365).contains(d))
                .ok_or_else(|| "Wait between 1 and 365 days.".to_string())
        };
        let delay = errors.check(&format!("{field}_delay"), delay);
        let files = errors.check(
            &format!("{field}_attach"),
            crate::files::ssr::repo::chosen(&mine, &step.attach)
                .map_err(|e| e.to_string())
                .and_then(|f| {
                    let bytes: u64 = f.iter().map(|x| x.2).sum();
                    if bytes > crate::files::MESSAGE_ATTACHMENTS_MAX_BYTES {
                        Err(format!(
                            "Together these files are over Gmail's limit of {} MB for a message.",
                            crate::files::MESSAGE_ATTACHMENTS_MAX_BYTES / (1024 * 1024)
                        ))
                    } else {
                        Ok(f)
                    }
                }),
        );
        if errors.check(&field, checked).is_some()
            && let (Some(delay), Some(files)) = (delay, files)
        {
            steps.push((template_id, delay, files));
        }
    }
    let (Some(email_column), Some(zone_column), Some(window), Some(starts_at)) =
        (email_column, zone_column, window, starts_at)
    else {
        return Err(errors.into_error());
    };
    if errors.any() {
        return Err(errors.into_error());
    }
    let (start, end) = window.hours();
    let mut tx = state.pool.begin().await?;
    let updated = sqlx::query!(
        "UPDATE campaigns SET name = $3, email_column = $4, zone_column = $5, window_days = $6,
                window_start = $7, window_end = $8, starts_at = $9, unsubscribe_footer = $10,
                stop_on_auto = $11
         WHERE id = $1 AND user_id = $2 AND status = 'draft'",
        form.id,
        user_id as UserId,
        name,
        email_column,
        zone_column,
        window.day_bits(),
        start as i16,
        end as i16,
        starts_at,
        form.unsubscribe_footer,
        form.stop_on_auto,
    )
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(AppError::BadRequest(
            "This campaign has started, so its settings can no longer be changed.".into(),
        ));
    }
    sqlx::query!("DELETE FROM campaign_steps WHERE campaign_id = $1", form.id)
        .execute(&mut *tx)
        .await?;
    for (i, (template_id, delay, files)) in steps.into_iter().enumerate() {
        let (ids, names): (Vec<Uuid>, Vec<String>) =
            files.into_iter().map(|(id, name, _)| (id, name)).unzip();
        sqlx::query!(
            "INSERT INTO campaign_steps (campaign_id, position, template_id, delay_days, attach, attach_names)
             VALUES ($1, $2, $3, $4, $5, $6)",
            form.id,
            i as i16 + 1,
            template_id,
            delay,
            &ids,
            &names,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Pause,
    Resume,
    Cancel,
}

pub const CANCELLED: &str = "The campaign was cancelled.";

/// Pause stops new claims at once (a message already handed to Gmail
/// finishes); resume lets the queued steps go again, each in its window;
/// cancel ends every step not yet sent.
pub async fn act(state: &AppState, user_id: UserId, id: Uuid, act: Act) -> Result<(), AppError> {
    let mut tx = state.pool.begin().await?;
    let status = sqlx::query_scalar!(
        "SELECT status FROM campaigns WHERE id = $1 AND user_id = $2 FOR UPDATE",
        id,
        user_id as UserId
    )
    .fetch_optional(&mut *tx)
    .await?
    .and_then(|s| CampaignStatus::parse(&s))
    .ok_or(AppError::NotFound)?;
    use CampaignStatus::*;
    let next = match (act, status) {
        (Act::Pause, Running) => Paused,
        (Act::Resume, Paused) => Running,
        (Act::Cancel, Draft | Running | Paused) => Cancelled,
        // Already so: nothing to do (a second click).
        (Act::Pause, Paused) | (Act::Resume, Running) | (Act::Cancel, Cancelled) => {
            return Ok(());
        }
        (_, s) => {
            return Err(AppError::BadRequest(format!(
                "This campaign is {}, so it cannot be {}.",
                s.label().to_lowercase(),
                match act {
                    Act::Pause => "paused",
                    Act::Resume => "resumed",
                    Act::Cancel => "cancelled",
                }
            )));
        }
    };
    if next == Running && state.config.transport() == crate::config::TransportKind::Gmail {
        let other = sqlx::query_scalar!(
            r#"SELECT lower(c.sender_address) <> lower(coalesce(g.email, u.email)) AS "other!"
               FROM campaigns c JOIN users u ON u.id = c.user_id
               LEFT JOIN google_accounts g ON g.user_id = u.id
               WHERE c.id = $1 AND c.sender_address IS NOT NULL"#,
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(false);
        if other {
            return Err(AppError::BadRequest(
                "This campaign started from another Gmail account, and its follow-ups must go in that mailbox's threads. Connect that account in Settings and it goes on by itself.".into(),
            ));
        }
    }
    sqlx::query!(
        "UPDATE campaigns SET status = $2, paused_reason = NULL,
                ended_at = CASE WHEN $2 = 'cancelled' THEN now() ELSE ended_at END
         WHERE id = $1",
        id,
        next.as_str(),
    )
    .execute(&mut *tx)
    .await?;
    match next {
        Cancelled => {
            sqlx::query!(
                "UPDATE campaign_recipients SET state = 'cancelled', stopped_reason = $2, updated_at = now()
                 WHERE campaign_id = $1 AND state IN ('active', 'waiting')",
                id,
                CANCELLED,
            )
            .execute(&mut *tx)
            .await?;
            cancel_steps(&mut tx, user_id, Sequences::Campaign(id), CANCELLED).await?;
        }
        Running => {
            due_again(&mut tx, user_id, id).await?;
        }
        _ => {}
    }
    tx.commit().await?;
    tracing::info!(%user_id, campaign = %id, status = next.as_str(), "campaign changed");
    Ok(())
}

/// Cancels every campaign of the account that is not over (an account claimed
/// or deleted), in the caller's transaction; their queued steps are cancelled
/// with the rest of the account's mail by the caller.
pub async fn cancel_all(
    conn: &mut PgConnection,
    user_id: UserId,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    sqlx::query!(
        "UPDATE campaign_recipients SET state = 'cancelled', stopped_reason = $2, updated_at = now()
         WHERE user_id = $1 AND state IN ('active', 'waiting')",
        user_id as UserId,
        reason,
    )
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query!(
        "UPDATE campaigns SET status = 'cancelled', paused_reason = NULL, ended_at = now()
         WHERE user_id = $1 AND status IN ('draft', 'running', 'paused')",
        user_id as UserId,
    )
    .execute(conn)
    .await?
    .rows_affected())
}

pub const MARKED_REPLIED: &str = "Marked as replied: no more steps go to them.";

/// Marks recipients as replied, ticked or by address. An address that is not
/// one of the campaign's open recipients is reported, and nothing is marked.
pub async fn mark_replied(
    state: &AppState,
    user_id: UserId,
    id: Uuid,
    recipients: &[Uuid],
    addresses: &str,
) -> Result<u64, AppError> {
    let mut listed = Vec::new();
    for raw in addresses
        .split([',', ';', '\n', '\r', ' ', '\t'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .take(10_000)
    {
        match EmailAddress::parse(raw) {
            Ok(a) => listed.push(a.normalized()),
            Err(_) => {
                return Err(AppError::field(
                    "addresses",
                    format!("\"{raw}\" is not a valid email address."),
                ));
            }
        }
    }
    if recipients.is_empty() && listed.is_empty() {
        return Err(AppError::field(
            "addresses",
            "Tick the recipients who replied, or paste their addresses.",
        ));
    }
    let mut tx = state.pool.begin().await?;
    // The campaign first, as cancel and the outcome hook lock it.
    sqlx::query_scalar!(
        "SELECT id FROM campaigns WHERE id = $1 AND user_id = $2 FOR SHARE",
        id,
        user_id as UserId
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if !listed.is_empty() {
        let unknown = sqlx::query_scalar!(
            r#"SELECT a AS "a!" FROM unnest($2::text[]) a
               WHERE NOT EXISTS (SELECT 1 FROM campaign_recipients r
                                 WHERE r.campaign_id = $1 AND r.address = a)
               LIMIT 5"#,
            id,
            &listed,
        )
        .fetch_all(&mut *tx)
        .await?;
        if !unknown.is_empty() {
            return Err(AppError::field(
                "addresses",
                format!("Not in this campaign: {}.", unknown.join(", ")),
            ));
        }
    }
    let marked = sqlx::query_scalar!(
        "UPDATE campaign_recipients SET state = 'replied', stopped_reason = $4, updated_at = now()
         WHERE campaign_id = $1 AND user_id = $2 AND state IN ('active', 'waiting')
           AND (id = ANY($3) OR address = ANY($5))
         RETURNING id",
        id,
        user_id as UserId,
        recipients,
        MARKED_REPLIED,
        &listed,
    )
    .fetch_all(&mut *tx)
    .await?;
    cancel_steps(
        &mut tx,
        user_id,
        Sequences::Recipients(&marked),
        MARKED_REPLIED,
    )
    .await?;
    finish_done(&mut tx, &[id]).await?;
    tx.commit().await?;
    Ok(marked.len() as u64)
}

/// Campaigns none of whose recipients has a step to come are finished.
pub async fn finish_done(conn: &mut PgConnection, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE campaigns c SET status = 'finished', ended_at = now()
         WHERE c.id = ANY($1) AND c.status IN ('running', 'paused')
           AND NOT EXISTS (SELECT 1 FROM campaign_recipients r
                           WHERE r.campaign_id = c.id AND r.state IN ('active', 'waiting'))",
        ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Every running or paused campaign none of whose recipients has a step to
/// come is finished (housekeeping: the last two sequences of a campaign can
/// end in two transactions at once, neither seeing the other's end).
pub async fn finish_all_done(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE campaigns c SET status = 'finished', ended_at = now()
         WHERE c.status IN ('running', 'paused')
           AND NOT EXISTS (SELECT 1 FROM campaign_recipients r
                           WHERE r.campaign_id = c.id AND r.state IN ('active', 'waiting'))"
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Gmail was connected with `address`: the user's running campaigns that
/// started from another mailbox pause, saying why (Gmail thread ids belong to
/// one mailbox), and those MailMerger paused for that reason go on when their
/// own mailbox is connected again.
pub async fn mailbox_connected(
    conn: &mut PgConnection,
    user_id: UserId,
    address: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE campaigns SET status = 'paused', paused_reason = $3
         WHERE user_id = $1 AND status = 'running' AND lower(sender_address) <> lower($2)",
        user_id as UserId,
        address,
        super::rules::OTHER_MAILBOX,
    )
    .execute(&mut *conn)
    .await?;
    let back = sqlx::query_scalar!(
        "UPDATE campaigns SET status = 'running', paused_reason = NULL
         WHERE user_id = $1 AND status = 'paused' AND paused_reason = $3
           AND lower(sender_address) = lower($2)
         RETURNING id",
        user_id as UserId,
        address,
        super::rules::OTHER_MAILBOX,
    )
    .fetch_all(&mut *conn)
    .await?;
    for id in back {
        due_again(&mut *conn, user_id, id).await?;
    }
    Ok(())
}

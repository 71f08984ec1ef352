//! The campaign page: settings, counts, and each recipient's timeline.

use super::repo::{self, hhmm};
use crate::campaigns::{
    CampaignStatus, CampaignView, RecipientState, RecipientView, StepView, TimelineEntry,
};
use crate::domain::{EmailStatus, UserId};
use crate::error::AppError;
use crate::settings::ssr::zone::UserZone;
use crate::state::AppState;
use std::collections::HashMap;
use uuid::Uuid;

/// Recipients the page lists (the counts cover all of them).
const LISTED: i64 = 500;

pub async fn campaign(
    state: &AppState,
    user_id: UserId,
    id: Uuid,
    add: Option<Uuid>,
) -> Result<CampaignView, AppError> {
    let stored = repo::load(&state.pool, user_id, id).await?;
    let zone = UserZone::new(&stored.time_zone);
    let mut conn = state.pool.acquire().await?;
    let steps = repo::steps(&mut conn, id).await?;
    drop(conn);
    // The columns only for a draft's form: a running campaign's page is
    // polled, and its CSV may be thousands of rows.
    let columns = if stored.status == CampaignStatus::Draft {
        let csv = stored.csv.clone();
        state
            .rendering
            .run(move || repo::table_of(&csv))
            .await??
            .columns
    } else {
        Vec::new()
    };
    let sender = crate::compose::ssr::Sender::load(state, user_id).await?;
    let counts = repo::counts(&state.pool, id).await?;
    let check = match stored.status {
        CampaignStatus::Draft => Some(super::start::check(state, user_id, &stored).await?),
        _ => None,
    };
    let adding = match (add, stored.status) {
        (Some(import), CampaignStatus::Running | CampaignStatus::Paused) => {
            Some(super::start::check_more(state, user_id, &stored, import).await?)
        }
        _ => None,
    };

    let rows = sqlx::query!(
        "SELECT id, to_addr, line, state, steps_sent, stopped_reason FROM campaign_recipients
         WHERE campaign_id = $1 AND user_id = $2 ORDER BY line LIMIT $3",
        id,
        user_id as UserId,
        LISTED,
    )
    .fetch_all(&state.pool)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut timelines: HashMap<Uuid, Vec<TimelineEntry>> = HashMap::new();
    for m in crate::emails::campaign::steps_of(&state.pool, user_id, &ids).await? {
        let when = match (m.status, m.sent_at, m.due_at) {
            (EmailStatus::Sent, Some(at), _) => format!("Sent {}", zone.display(at)),
            (EmailStatus::Queued, _, Some(at)) => format!("Due {}", zone.display(at)),
            (EmailStatus::Sending, _, _) => "Sending now".to_string(),
            (status, _, _) => status.label().to_string(),
        };
        timelines
            .entry(m.recipient_id)
            .or_default()
            .push(TimelineEntry {
                step: m.step,
                status: m.status,
                when,
                gmail_id: m.gmail_message_id,
                error: m.error,
            });
    }
    let stop_on_reply = crate::replies::ssr::repo::status(&state.pool, user_id)
        .await?
        .is_some_and(|r| r.enabled);
    let mut notes: HashMap<Uuid, Vec<String>> = HashMap::new();
    for n in crate::replies::ssr::repo::automatic(&state.pool, user_id, &ids).await? {
        let (when, from) = (zone.display(n.received_at), n.from_addr.unwrap_or_default());
        notes
            .entry(n.recipient_id)
            .or_default()
            .push(if !n.automatic {
                format!(
                    "You said the message of {when} ({from}) was not a reply: the sequence went on."
                )
            } else if stored.stop_on_auto {
                format!("Automatic reply {when} ({from}).")
            } else {
                format!("Automatic reply {when} ({from}): the sequence goes on.")
            });
    }
    let findings = crate::replies::ssr::repo::latest_findings(&state.pool, user_id, &ids).await?;
    let recipients = rows
        .into_iter()
        .filter_map(|r| {
            Some(RecipientView {
                id: r.id,
                to: r.to_addr,
                line: r.line,
                state: RecipientState::parse(&r.state)?,
                steps_sent: r.steps_sent,
                stopped: r.stopped_reason,
                timeline: timelines.remove(&r.id).unwrap_or_default(),
                notes: notes.remove(&r.id).unwrap_or_default(),
                correct: match (
                    RecipientState::parse(&r.state)?,
                    findings.get(&r.id).map(String::as_str),
                ) {
                    (RecipientState::Replied | RecipientState::Wrote, Some(_)) => {
                        Some(crate::campaigns::Correction::GoOn)
                    }
                    (s, Some("auto")) if s.is_open() => Some(crate::campaigns::Correction::Stop),
                    _ => None,
                },
            })
        })
        .collect();
    // The last sequences can end in two transactions at once, neither seeing
    // the other's; housekeeping marks such a campaign finished within a
    // minute, and the page says so already.
    let open = counts.of(RecipientState::Active) + counts.of(RecipientState::Waiting);
    let status = match stored.status {
        CampaignStatus::Running | CampaignStatus::Paused if counts.recipients > 0 && open == 0 => {
            CampaignStatus::Finished
        }
        s => s,
    };
    let (start, end) = stored.window.hours();
    Ok(CampaignView {
        id,
        name: stored.name,
        status,
        paused_reason: stored.paused_reason,
        file_name: stored.file_name,
        columns,
        email_column: stored.email_column,
        zone_column: stored.zone_column,
        time_zone: stored.time_zone,
        days: stored.window.days(),
        window_start: hhmm(start as i16),
        window_end: hhmm(end as i16),
        starts_at: stored
            .starts_at
            .map(|t| zone.local_input(t))
            .unwrap_or_default(),
        started: stored.started_at.map(|t| zone.display(t)),
        unsubscribe_footer: stored.unsubscribe_footer,
        stop_on_auto: stored.stop_on_auto,
        stop_on_reply,
        steps: steps
            .into_iter()
            .map(|s| StepView {
                position: s.position,
                template_id: s.template_id,
                delay_days: s.delay_days,
                subject: s.subject,
                attach: s.attach,
                attach_names: s.attach_names,
            })
            .collect(),
        templates: sender.templates,
        files: sender.files,
        counts,
        recipients,
        check,
        adding,
        // With stop on reply the Message-IDs Gmail gave are read back, and
        // follow-ups carry In-Reply-To and References.
        threading_warning: !stop_on_reply,
    })
}

/// The campaign page a form was posted from (`/campaigns/<uuid>`, from the
/// Referer's path only: never another site), to send an error back to.
pub fn referring_campaign() -> Option<String> {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
    let referer = parts
        .headers
        .get(axum::http::header::REFERER)?
        .to_str()
        .ok()?;
    let path = url::Url::parse(referer).ok()?.path().to_string();
    let id = path.strip_prefix("/campaigns/")?;
    Uuid::parse_str(id)
        .ok()
        .map(|id| format!("/campaigns/{id}"))
}

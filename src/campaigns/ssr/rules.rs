//! What campaigns add to sending (docs/campaigns.md, "Sending"):
//! - [`InCampaign`], a claim-time check: a step goes only while its campaign
//!   runs, its recipient's sequence is open, the sender is the mailbox the
//!   campaign started from, and its window is open in the recipient's zone;
//!   otherwise it waits for the next opening or ends cancelled, saying why.
//! - [`NextStep`], an outcome hook: "step k sent" queues step k + 1 in the same
//!   transaction, in step 1's Gmail thread; a failed step ends the sequence
//!   with its reason, an uncertain one waits for the user's decision.
//!
//! Neither locks a `campaigns` row: both run inside the claim's or the
//! outcome's transaction, which hold account rows that others wait for. Pause,
//! cancel and a reply marked by hand are caught here at claim time instead, so
//! a step queued by an outcome that committed just after them still never goes.

use super::schedule::{Window, days_later};
use crate::campaigns::{CampaignStatus, RecipientState};
use crate::config::TransportKind;
use crate::domain::{EmailAddress, EmailStatus, UserId};
use crate::emails::{ClaimCheck, ClaimContext, OutcomeHook, Recorded, Verdict};
use crate::merge::plan::fill;
use crate::merge::render::MessageTemplate;
use crate::unsubscribe::ssr::links::{Links, Unsubscribe};
use async_trait::async_trait;
use jiff::tz::TimeZone;
use sqlx::PgConnection;
use std::collections::{BTreeMap, HashMap};
use time::Duration;
use uuid::Uuid;

/// How long a paused campaign's step waits before it is looked at again;
/// resuming makes it due at once.
pub const PAUSED_RECHECK: Duration = Duration::hours(1);

pub const OTHER_MAILBOX: &str = "Paused by MailMerger: the Gmail account connected now is not the one this campaign started from, and follow-ups must go in that mailbox's threads. Connect that account again and the campaign goes on by itself.";

/// Zones by name, each looked up once per claim or outcome batch.
#[derive(Default)]
struct Zones(HashMap<String, TimeZone>);

impl Zones {
    fn get(&mut self, name: &str) -> TimeZone {
        self.0
            .entry(name.to_string())
            .or_insert_with(|| TimeZone::get(name).unwrap_or(TimeZone::UTC))
            .clone()
    }
}

pub struct InCampaign;

#[async_trait]
impl ClaimCheck for InCampaign {
    fn name(&self) -> &'static str {
        "in_campaign"
    }

    async fn messages(
        &self,
        conn: &mut PgConnection,
        claim: &ClaimContext<'_>,
    ) -> Result<Vec<Verdict>, sqlx::Error> {
        if claim.candidates.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = claim.candidates.iter().map(|c| c.id).collect();
        let rows = sqlx::query!(
            r#"SELECT e.id, c.status, c.window_days, c.window_start, c.window_end,
                      coalesce(r.time_zone, c.time_zone) AS "zone!", r.state, r.stopped_reason,
                      c.sender_address,
                      (SELECT coalesce(g.email, u.email) FROM users u
                       LEFT JOIN google_accounts g ON g.user_id = u.id WHERE u.id = c.user_id)
                          AS "sender_now?"
               FROM emails e
               JOIN campaign_recipients r ON r.id = e.campaign_recipient_id
               JOIN campaigns c ON c.id = r.campaign_id
               WHERE e.id = ANY($1)"#,
            &ids,
        )
        .fetch_all(conn)
        .await?;
        let mut zones = Zones::default();
        let mut verdicts = Vec::new();
        for r in rows {
            let status = CampaignStatus::parse(&r.status);
            let state = RecipientState::parse(&r.state);
            let verdict = match (status, state) {
                (Some(CampaignStatus::Cancelled | CampaignStatus::Finished), _) => {
                    Verdict::Cancel {
                        id: r.id,
                        reason: super::repo::CANCELLED.into(),
                    }
                }
                (_, Some(s)) if !s.is_open() => Verdict::Cancel {
                    id: r.id,
                    reason: r.stopped_reason.unwrap_or_else(|| s.label().to_string()),
                },
                (Some(CampaignStatus::Paused | CampaignStatus::Draft) | None, _) => {
                    Verdict::Defer {
                        id: r.id,
                        until: claim.now + PAUSED_RECHECK,
                    }
                }
                _ if claim.transport == TransportKind::Gmail
                    && !same_address(r.sender_address.as_deref(), r.sender_now.as_deref()) =>
                {
                    Verdict::Defer {
                        id: r.id,
                        until: claim.now + PAUSED_RECHECK,
                    }
                }
                _ => {
                    let window = Window::from_stored(r.window_days, r.window_start, r.window_end)
                        .unwrap_or(Window::always());
                    let slot = window.next_slot(&zones.get(&r.zone), claim.now);
                    if slot.not_before <= claim.now {
                        continue;
                    }
                    Verdict::Defer {
                        id: r.id,
                        until: slot.not_before,
                    }
                }
            };
            verdicts.push(verdict);
        }
        Ok(verdicts)
    }
}

fn same_address(started: Option<&str>, now: Option<&str>) -> bool {
    match (started, now) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        // Not started from any (cannot be, once running): nothing to compare.
        (None, _) => true,
        (Some(_), None) => false,
    }
}

/// Queues each recipient's next step when one is recorded sent, and ends or
/// holds a sequence when a step failed, was suppressed or cancelled, or may not
/// have gone.
pub struct NextStep {
    pub links: Links,
}

/// A step of a campaign as copied at its start.
struct Step {
    template_id: Option<Uuid>,
    delay_days: i16,
    subject: String,
    body_source: String,
    compiled: Option<MessageTemplate>,
    /// The files each message attaches (id, name).
    attach: Vec<(Uuid, String)>,
}

#[async_trait]
impl OutcomeHook for NextStep {
    fn name(&self) -> &'static str {
        "campaign_next_step"
    }

    async fn recorded(
        &self,
        conn: &mut PgConnection,
        outcomes: &[Recorded],
    ) -> Result<(), sqlx::Error> {
        let ours: Vec<&Recorded> = outcomes.iter().filter(|o| o.step.is_some()).collect();
        if ours.is_empty() {
            return Ok(());
        }
        let (mut sent, mut ended) = (Vec::new(), Vec::new());
        for o in ours {
            match o.status {
                EmailStatus::Sent => sent.push(o),
                EmailStatus::Queued | EmailStatus::Sending => {}
                _ => ended.push(o),
            }
        }
        if !ended.is_empty() {
            stop(conn, &ended).await?;
        }
        if !sent.is_empty() {
            self.schedule(conn, &sent).await?;
        }
        Ok(())
    }
}

/// What a step's end means for its recipient's sequence.
fn stopped(o: &Recorded) -> Option<(RecipientState, String)> {
    let step = o.step.as_ref()?.step;
    let why = o.error.clone().unwrap_or_default();
    Some(match o.status {
        EmailStatus::Failed => (RecipientState::Failed, format!("Step {step} failed: {why}")),
        EmailStatus::Suppressed => (RecipientState::Unsubscribed, why),
        EmailStatus::Cancelled => (RecipientState::Cancelled, why),
        EmailStatus::Uncertain => (
            RecipientState::Waiting,
            format!(
                "Step {step} may or may not have gone. Check Gmail's Sent folder, then decide on the Sent page; the next step waits for you."
            ),
        ),
        _ => return None,
    })
}

async fn stop(conn: &mut PgConnection, ended: &[&Recorded]) -> Result<(), sqlx::Error> {
    let mut ids = Vec::new();
    let mut states = Vec::new();
    let mut reasons = Vec::new();
    for o in ended {
        if let (Some(step), Some((state, reason))) = (&o.step, stopped(o)) {
            ids.push(step.recipient_id);
            states.push(state.as_str());
            reasons.push(reason);
        }
    }
    // Only a sequence still open changes: one the user ended keeps its reason.
    sqlx::query!(
        "UPDATE campaign_recipients r SET state = x.state, stopped_reason = x.reason, updated_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::text[]) AS x(id, state, reason)
         WHERE r.id = x.id AND r.state IN ('active', 'waiting')",
        &ids,
        &states as &[&str],
        &reasons,
    )
    .execute(conn)
    .await?;
    Ok(())
}

impl NextStep {
    async fn schedule(
        &self,
        conn: &mut PgConnection,
        sent: &[&Recorded],
    ) -> Result<(), sqlx::Error> {
        let now = crate::emails::clock::now(&mut *conn).await?;
        let ids: Vec<Uuid> = sent
            .iter()
            .filter_map(|o| Some(o.step.as_ref()?.recipient_id))
            .collect();
        let steps: Vec<i16> = sent
            .iter()
            .filter_map(|o| Some(o.step.as_ref()?.step))
            .collect();
        let threads: Vec<Option<String>> = sent.iter().map(|o| o.thread_id.clone()).collect();
        let subjects: Vec<String> = sent
            .iter()
            .filter_map(|o| Some(o.step.as_ref()?.subject.clone()))
            .collect();
        // The sequence moves on (a step the user marked sent after it was
        // uncertain lets it go on too), and the thread and subject of step 1
        // are kept for the follow-ups.
        let moved = sqlx::query!(
            r#"UPDATE campaign_recipients r
               SET steps_sent = greatest(r.steps_sent, x.step),
                   thread_id = coalesce(r.thread_id, x.thread),
                   first_subject = CASE WHEN x.step = 1 THEN coalesce(r.first_subject, x.subject)
                                        ELSE r.first_subject END,
                   state = CASE WHEN r.state = 'waiting' THEN 'active' ELSE r.state END,
                   stopped_reason = CASE WHEN r.state = 'waiting' THEN NULL ELSE r.stopped_reason END,
                   updated_at = now()
               FROM unnest($1::uuid[], $2::int2[], $3::text[], $4::text[]) AS x(id, step, thread, subject)
               WHERE r.id = x.id
               RETURNING r.id, r.campaign_id, r.user_id AS "user_id: UserId", r.state, x.step AS "step!",
                         r.thread_id, r.first_subject, r.to_addr, r.merge_values, r.time_zone"#,
            &ids,
            &steps,
            &threads as &[Option<String>],
            &subjects,
        )
        .fetch_all(&mut *conn)
        .await?;
        let open: Vec<_> = moved
            .into_iter()
            .filter(|r| r.state == RecipientState::Active.as_str())
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        let mut campaign_ids: Vec<Uuid> = open.iter().map(|r| r.campaign_id).collect();
        campaign_ids.sort();
        campaign_ids.dedup();
        let campaigns: HashMap<Uuid, (Window, String, bool)> = sqlx::query!(
            "SELECT id, window_days, window_start, window_end, time_zone, unsubscribe_footer
             FROM campaigns WHERE id = ANY($1)",
            &campaign_ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|c| {
            let window = Window::from_stored(c.window_days, c.window_start, c.window_end)
                .unwrap_or(Window::always());
            (c.id, (window, c.time_zone, c.unsubscribe_footer))
        })
        .collect();
        let mut steps: HashMap<(Uuid, i16), Step> = HashMap::new();
        for s in sqlx::query!(
            "SELECT campaign_id, position, template_id, delay_days, subject, body_source, body_html, body_text,
                    attach, attach_names
             FROM campaign_steps WHERE campaign_id = ANY($1)",
            &campaign_ids
        )
        .fetch_all(&mut *conn)
        .await?
        {
            let (subject, html, text) = (
                s.subject.unwrap_or_default(),
                s.body_html.unwrap_or_default(),
                s.body_text.unwrap_or_default(),
            );
            // The follow-up's subject is step 1's as sent; its own is not used.
            let compiled = MessageTemplate::compile("", &html, &text).ok();
            steps.insert(
                (s.campaign_id, s.position),
                Step {
                    template_id: s.template_id,
                    delay_days: s.delay_days,
                    subject,
                    body_source: s.body_source.unwrap_or_default(),
                    compiled,
                    attach: s.attach.into_iter().zip(s.attach_names).collect(),
                },
            );
        }

        let mut zones = Zones::default();
        let mut finished = Vec::new();
        let mut failed: Vec<(Uuid, String)> = Vec::new();
        // The next steps, grouped by campaign and step (one enqueue each).
        let mut next: BTreeMap<(Uuid, i16), (UserId, Vec<crate::emails::NewEmail>)> =
            BTreeMap::new();
        for r in open {
            let position = r.step + 1;
            let Some(step) = steps.get(&(r.campaign_id, position)) else {
                finished.push(r.id);
                continue;
            };
            let Some((window, own_zone, footer)) = campaigns.get(&r.campaign_id) else {
                continue;
            };
            let zone = zones.get(r.time_zone.as_deref().unwrap_or(own_zone));
            let values: BTreeMap<String, String> =
                serde_json::from_value(r.merge_values).unwrap_or_default();
            let Ok(to) = EmailAddress::parse(&r.to_addr) else {
                failed.push((r.id, format!("“{}” is not a valid address.", r.to_addr)));
                continue;
            };
            let url = self.links.url(r.user_id, &to);
            let rendered = step.compiled.as_ref().ok_or_else(|| {
                "This step's template can no longer be read; edit the step.".to_string()
            });
            let rendered = rendered.and_then(|t| {
                fill(
                    t,
                    values.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                    Some(&url),
                )
            });
            let mut message = match rendered {
                Ok(m) => m,
                Err(reason) => {
                    failed.push((
                        r.id,
                        format!("Step {position} could not be filled in: {reason}"),
                    ));
                    continue;
                }
            };
            message.subject = reply_subject(r.first_subject.as_deref().unwrap_or(&step.subject));
            let list_unsubscribe =
                Unsubscribe::apply(&self.links, url, true, *footer, &mut message);
            let due = window
                .next_slot(&zone, days_later(&zone, now, step.delay_days as i64))
                .not_before;
            next.entry((r.campaign_id, position))
                .or_insert_with(|| (r.user_id, Vec::new()))
                .1
                .push(crate::emails::NewEmail {
                    to: vec![to],
                    message,
                    values,
                    list_unsubscribe,
                    placement: Some(crate::emails::Placement {
                        send_at: due,
                        thread_id: r.thread_id.clone(),
                        campaign_recipient_id: r.id,
                        campaign_step: position,
                    }),
                });
        }
        for ((campaign_id, position), (user_id, messages)) in next {
            let step = &steps[&(campaign_id, position)];
            let shared = crate::emails::Enqueue {
                user_id,
                template_id: step.template_id,
                import_id: None,
                cc: &[],
                bcc: &[],
                send_at: now,
                subject_source: &step.subject,
                body_source: &step.body_source,
            };
            let inserted = crate::emails::enqueue(&mut *conn, &shared, messages).await?;
            crate::files::ssr::repo::attach_named(&mut *conn, user_id, &inserted, &step.attach)
                .await?;
        }
        if !finished.is_empty() {
            sqlx::query!(
                "UPDATE campaign_recipients SET state = 'finished', updated_at = now()
                 WHERE id = ANY($1) AND state = 'active'",
                &finished
            )
            .execute(&mut *conn)
            .await?;
        }
        if !failed.is_empty() {
            let (ids, reasons): (Vec<Uuid>, Vec<String>) = failed.into_iter().unzip();
            sqlx::query!(
                "UPDATE campaign_recipients r SET state = 'failed', stopped_reason = x.reason, updated_at = now()
                 FROM unnest($1::uuid[], $2::text[]) AS x(id, reason)
                 WHERE r.id = x.id AND r.state = 'active'",
                &ids,
                &reasons,
            )
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

/// A follow-up's subject: `Re: ` and step 1's subject as sent (once).
pub fn reply_subject(first: &str) -> String {
    if first
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("re: "))
    {
        first.to_string()
    } else {
        format!("Re: {first}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_follow_up_is_re_the_first_subject_once() {
        assert_eq!(reply_subject("Hello Ada"), "Re: Hello Ada");
        assert_eq!(reply_subject("RE: Hello"), "RE: Hello");
        assert_eq!(reply_subject(""), "Re: ");
        assert_eq!(reply_subject("Ré"), "Re: Ré");
        assert_eq!(reply_subject("abcé"), "Re: abcé");
    }

    #[test]
    fn a_sequence_stops_with_the_reason_of_its_step() {
        let o = |status, error: Option<&str>| Recorded {
            id: Uuid::nil(),
            user_id: UserId::from_uuid(Uuid::nil()),
            status,
            thread_id: None,
            error: error.map(str::to_string),
            step: Some(crate::emails::StepOf {
                recipient_id: Uuid::nil(),
                step: 2,
                subject: String::new(),
            }),
        };
        assert_eq!(
            stopped(&o(EmailStatus::Failed, Some("Gmail refused it."))),
            Some((
                RecipientState::Failed,
                "Step 2 failed: Gmail refused it.".into()
            ))
        );
        assert_eq!(
            stopped(&o(EmailStatus::Suppressed, Some("a@x.io unsubscribed."))).map(|s| s.0),
            Some(RecipientState::Unsubscribed)
        );
        assert_eq!(
            stopped(&o(EmailStatus::Uncertain, None)).map(|s| s.0),
            Some(RecipientState::Waiting)
        );
        assert_eq!(stopped(&o(EmailStatus::Sent, None)), None);
    }
}

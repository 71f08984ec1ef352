//! Campaigns: a sequence of steps sent to the recipients of a CSV, each
//! follow-up a reply in the first message's Gmail thread, within send windows
//! (docs/campaigns.md). The types and server functions here are shared with
//! the browser; `ssr/` holds the tables, the start, the claim-time check and
//! the outcome hook that schedules the next step.

use crate::domain::EmailStatus;
use crate::error::AppError;
use crate::mailmerge::BadRowView;
use crate::templates::TemplateChoice;
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod ssr;

/// The most steps a campaign has: step 1 and up to four follow-ups.
pub const MAX_STEPS: usize = 5;

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    Draft,
    Running,
    Paused,
    Finished,
    Cancelled,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 5] = [
        CampaignStatus::Draft,
        CampaignStatus::Running,
        CampaignStatus::Paused,
        CampaignStatus::Finished,
        CampaignStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Running => "running",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Finished => "finished",
            CampaignStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<CampaignStatus> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "Draft",
            CampaignStatus::Running => "Running",
            CampaignStatus::Paused => "Paused",
            CampaignStatus::Finished => "Finished",
            CampaignStatus::Cancelled => "Cancelled",
        }
    }
}

/// Where one recipient's sequence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecipientState {
    /// A step is queued or to come.
    Active,
    /// A step ended uncertain: the user decides on the Sent page.
    Waiting,
    Replied,
    /// A delivery failure came back (stop on reply).
    Bounced,
    /// The user wrote to them by hand in the thread (stop on reply).
    Wrote,
    Unsubscribed,
    Failed,
    /// Every step went.
    Finished,
    Cancelled,
}

impl RecipientState {
    pub const ALL: [RecipientState; 9] = [
        RecipientState::Active,
        RecipientState::Waiting,
        RecipientState::Replied,
        RecipientState::Bounced,
        RecipientState::Wrote,
        RecipientState::Unsubscribed,
        RecipientState::Failed,
        RecipientState::Finished,
        RecipientState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecipientState::Active => "active",
            RecipientState::Waiting => "waiting",
            RecipientState::Replied => "replied",
            RecipientState::Bounced => "bounced",
            RecipientState::Wrote => "wrote",
            RecipientState::Unsubscribed => "unsubscribed",
            RecipientState::Failed => "failed",
            RecipientState::Finished => "finished",
            RecipientState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<RecipientState> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            RecipientState::Active => "Scheduled",
            RecipientState::Waiting => "Waiting for you",
            RecipientState::Replied => "Replied",
            RecipientState::Bounced => "Bounced",
            RecipientState::Wrote => "You wrote to them",
            RecipientState::Unsubscribed => "Unsubscribed",
            RecipientState::Failed => "Failed",
            RecipientState::Finished => "Finished",
            RecipientState::Cancelled => "Cancelled",
        }
    }

    /// More steps may still go to this recipient.
    pub fn is_open(self) -> bool {
        matches!(self, RecipientState::Active | RecipientState::Waiting)
    }
}

/// A row of the campaigns list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSummary {
    pub id: Uuid,
    pub name: String,
    pub status: CampaignStatus,
    pub recipients: i64,
    pub replied: i64,
    pub steps_sent: i64,
    pub steps_total: i64,
    /// When it was made, in the user's time zone.
    pub created: String,
}

/// One step as the campaign page shows and edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepView {
    pub position: i16,
    pub template_id: Option<Uuid>,
    pub delay_days: i16,
    /// The subject as copied when the campaign started.
    pub subject: Option<String>,
    /// The files every message of the step attaches.
    #[serde(default)]
    pub attach: Vec<Uuid>,
    #[serde(default)]
    pub attach_names: Vec<String>,
}

/// One step of one recipient: when, the Gmail id, the outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub step: i16,
    pub status: EmailStatus,
    /// "Sent Tue 3 Dec 10:02", "Due Fri 6 Dec 09:00".
    pub when: String,
    pub gmail_id: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientView {
    pub id: Uuid,
    pub to: String,
    pub line: i32,
    pub state: RecipientState,
    pub steps_sent: i16,
    /// What stopped the sequence.
    pub stopped: Option<String>,
    pub timeline: Vec<TimelineEntry>,
    /// What stop on reply found that did not stop it (an out-of-office answer).
    pub notes: Vec<String>,
    /// How the user may correct what stop on reply found.
    pub correct: Option<Correction>,
}

/// A user's correction of what stop on reply found in their mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Correction {
    /// It was not a reply: the sequence goes on.
    GoOn,
    /// The automatic answer was a reply after all: the sequence ends.
    Stop,
}

impl Correction {
    pub fn as_str(self) -> &'static str {
        match self {
            Correction::GoOn => "go_on",
            Correction::Stop => "stop",
        }
    }

    /// `<recipient id>:<go_on|stop>`, a button's value.
    pub fn parse(value: &str) -> Option<(Uuid, Correction)> {
        let (id, what) = value.split_once(':')?;
        let what = match what {
            "go_on" => Correction::GoOn,
            "stop" => Correction::Stop,
            _ => return None,
        };
        Some((Uuid::parse_str(id).ok()?, what))
    }
}

/// What a draft's CSV gives with its settings: rows ready, rows left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftCheck {
    pub ready: usize,
    pub bad: Vec<BadRowView>,
    /// Why it cannot start yet (no template for step 1, …).
    pub problem: Option<String>,
    /// What starting it now would do, if anything is ready.
    pub plan: Option<PlanView>,
}

/// A CSV uploaded to add recipients to a running campaign, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddCheck {
    pub import_id: Uuid,
    pub file_name: String,
    pub ready: usize,
    pub bad: Vec<BadRowView>,
    pub problem: Option<String>,
}

/// "About 60 a day; step 1 done Thu 3 Dec; last follow-up no earlier than Tue 8 Dec."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    pub messages: u64,
    pub per_day: u64,
    pub step1_done: String,
    pub last: String,
    /// Days from the start to the last follow-up.
    pub days: i64,
    /// It runs longer than a refresh token of an app in Google's Testing mode
    /// lasts (7 days).
    pub outlives_testing_token: bool,
}

/// Recipients by state, and the steps that went of all there are to go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub recipients: i64,
    pub by_state: Vec<(RecipientState, i64)>,
    pub steps_sent: i64,
    pub steps_total: i64,
}

impl Counts {
    pub fn of(&self, state: RecipientState) -> i64 {
        self.by_state
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignView {
    pub id: Uuid,
    pub name: String,
    pub status: CampaignStatus,
    pub paused_reason: Option<String>,
    pub file_name: String,
    pub columns: Vec<String>,
    pub email_column: Option<String>,
    pub zone_column: Option<String>,
    /// The sender's time zone, used where a recipient has none.
    pub time_zone: String,
    /// Monday first.
    pub days: [bool; 7],
    /// "09:00".
    pub window_start: String,
    pub window_end: String,
    /// The start as the form shows it (local "2026-12-03T09:00"), empty for "as soon as possible".
    pub starts_at: String,
    pub started: Option<String>,
    pub unsubscribe_footer: bool,
    /// Out-of-office replies end a sequence too (with stop on reply).
    pub stop_on_auto: bool,
    /// The user reads their mailbox for replies (stop on reply is on).
    pub stop_on_reply: bool,
    pub steps: Vec<StepView>,
    pub templates: Vec<TemplateChoice>,
    /// The user's files, for a draft's steps to attach.
    pub files: Vec<crate::files::FileView>,
    pub counts: Counts,
    /// The first recipients (all of them up to a few hundred).
    pub recipients: Vec<RecipientView>,
    /// A draft's rows with its current settings.
    pub check: Option<DraftCheck>,
    /// Recipients uploaded to be added, checked.
    pub adding: Option<AddCheck>,
    /// Follow-ups carry Gmail's thread but not In-Reply-To (without stop on
    /// reply, the Message-ID Gmail gave step 1 cannot be read).
    pub threading_warning: bool,
}

/// The draft's settings form, its inputs named `campaign[…]`
/// (`campaign[steps][1][delay_days]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CampaignForm {
    pub id: Uuid,
    pub name: String,
    pub email_column: String,
    /// Empty: every recipient in the sender's time zone.
    pub zone_column: String,
    /// The days ticked, as "0" (Monday) … "6" (Sunday).
    pub days: Vec<String>,
    /// "09:00".
    pub window_start: String,
    pub window_end: String,
    /// "now" or "later" (the When radio buttons), and the local time.
    pub when: String,
    pub send_at: String,
    pub unsubscribe_footer: bool,
    pub stop_on_auto: bool,
    pub steps: Vec<StepForm>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StepForm {
    /// Empty: no such step (a follow-up row left blank).
    pub template_id: String,
    pub delay_days: String,
    /// Files every message of the step attaches.
    pub attach: Vec<Uuid>,
}

#[server(endpoint = "campaigns/list")]
pub async fn list_campaigns() -> Result<Vec<CampaignSummary>, AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    ssr::repo::list(&state, user_id).await
}

/// A new draft from a CSV file or pasted text; goes to its page. Problems go
/// back to `/campaigns?error=…`.
#[server(endpoint = "campaigns/create", input = MultipartFormData)]
pub async fn create_campaign(data: MultipartData) -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let allowed = crate::limits::per_user(&state, user_id, crate::limits::Costly::Upload).await;
    let read = match allowed {
        Ok(()) => crate::mailmerge::ssr::upload::read(data).await,
        Err(e @ AppError::RateLimited { .. }) => Err(e.to_string()),
        Err(e) => return Err(e),
    };
    match read {
        Ok((file_name, csv)) => {
            let id = ssr::repo::create(&state, user_id, &file_name, &csv).await?;
            leptos_axum::redirect(&format!("/campaigns/{id}"));
        }
        Err(message) => {
            let q: String = url::form_urlencoded::byte_serialize(message.as_bytes()).collect();
            leptos_axum::redirect(&format!("/campaigns?error={q}"));
        }
    }
    Ok(())
}

/// A campaign's page; `add` is a CSV uploaded to add recipients from.
#[server(endpoint = "campaigns/get")]
pub async fn get_campaign(
    id: Uuid,
    #[server(default)] add: Option<Uuid>,
) -> Result<CampaignView, AppError> {
    let (state, user_id) = crate::limits::signed_in_for(crate::limits::Costly::Report).await?;
    ssr::view::campaign(&state, user_id, id, add).await
}

/// A CSV of more recipients for a running campaign (multipart, its `id`
/// field naming the campaign): kept, then its report on the campaign's page.
#[server(endpoint = "campaigns/more", input = MultipartFormData)]
pub async fn upload_more(data: MultipartData) -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let allowed = crate::limits::per_user(&state, user_id, crate::limits::Costly::Upload).await;
    let read = match allowed {
        Ok(()) => crate::mailmerge::ssr::upload::read_upload(data).await,
        Err(e @ AppError::RateLimited { .. }) => Err(e.to_string()),
        Err(e) => return Err(e),
    };
    let id = match &read {
        Ok(u) => u
            .fields
            .get("id")
            .and_then(|id| Uuid::parse_str(id.trim()).ok()),
        Err(_) => None,
    };
    match (read, id) {
        (Ok(upload), Some(id)) => {
            // Another user's campaign is not found, and nothing is kept.
            ssr::repo::load(&state.pool, user_id, id).await?;
            let import = crate::mailmerge::ssr::imports::create(
                &state.pool,
                user_id,
                &upload.file_name,
                &upload.csv,
            )
            .await?;
            leptos_axum::redirect(&format!("/campaigns/{id}?add={import}#add-heading"));
        }
        (Ok(_), None) => return Err(AppError::NotFound),
        (Err(message), _) => {
            // Back to the campaign's page the form was on, saying why.
            let q: String = url::form_urlencoded::byte_serialize(message.as_bytes()).collect();
            let page = ssr::view::referring_campaign().unwrap_or_else(|| "/campaigns".into());
            leptos_axum::redirect(&format!("{page}?error={q}#add-heading"));
        }
    }
    Ok(())
}

/// Adds the ready rows of an uploaded CSV to a running campaign. Returns how
/// many recipients were added.
#[server(endpoint = "campaigns/add")]
pub async fn add_recipients(id: Uuid, import_id: Uuid) -> Result<u64, AppError> {
    let (state, user_id) = crate::limits::signed_in_for(crate::limits::Costly::QueueAction).await?;
    let added = ssr::start::add(&state, user_id, id, import_id).await?;
    leptos_axum::redirect(&format!("/campaigns/{id}?added={added}"));
    Ok(added)
}

/// Saves a draft's settings; every problem is reported next to its field.
#[server(endpoint = "campaigns/save")]
pub async fn save_campaign(campaign: CampaignForm) -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let id = campaign.id;
    ssr::repo::save(&state, user_id, campaign).await?;
    leptos_axum::redirect(&format!("/campaigns/{id}?saved=1"));
    Ok(())
}

/// Starts a draft: copies its templates, makes its recipients from the ready
/// rows and queues step 1 for each. Returns how many recipients.
#[server(endpoint = "campaigns/start")]
pub async fn start_campaign(id: Uuid) -> Result<u64, AppError> {
    let (state, user_id) = crate::limits::signed_in_for(crate::limits::Costly::QueueAction).await?;
    let started = ssr::start::start(&state, user_id, id).await?;
    leptos_axum::redirect(&format!("/campaigns/{id}?started={started}"));
    Ok(started)
}

/// Gives a step of a running campaign another template: its messages not yet
/// claimed are rendered again. Returns how many.
#[server(endpoint = "campaigns/step")]
pub async fn change_step(id: Uuid, position: i16, template_id: Uuid) -> Result<u64, AppError> {
    let (state, user_id) = crate::limits::signed_in_for(crate::limits::Costly::QueueAction).await?;
    let changed = ssr::edit::change_step(&state, user_id, id, position, template_id).await?;
    leptos_axum::redirect(&format!(
        "/campaigns/{id}?step={position}&changed={changed}"
    ));
    Ok(changed)
}

/// Pause, resume or cancel.
#[server(endpoint = "campaigns/act")]
pub async fn campaign_action(id: Uuid, action: String) -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let action = match action.as_str() {
        "pause" => ssr::repo::Act::Pause,
        "resume" => ssr::repo::Act::Resume,
        "cancel" => ssr::repo::Act::Cancel,
        _ => return Err(AppError::BadRequest("Unknown action.".into())),
    };
    ssr::repo::act(&state, user_id, id, action).await?;
    leptos_axum::redirect(&format!("/campaigns/{id}"));
    Ok(())
}

/// Marks recipients as replied (ticked, or addresses pasted): they get no
/// more steps. Returns how many were marked.
#[server(endpoint = "campaigns/replied")]
pub async fn mark_replied(
    id: Uuid,
    #[server(default)] recipients: Vec<Uuid>,
    #[server(default)] addresses: String,
    /// A correction of what stop on reply found (a row's button), instead.
    #[server(default)]
    correct: String,
) -> Result<u64, AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    if !correct.is_empty() {
        let (recipient, what) = Correction::parse(&correct).ok_or_else(|| {
            AppError::BadRequest("That correction is not one MailMerger knows.".into())
        })?;
        crate::replies::ssr::correct::correct(&state, user_id, id, recipient, what).await?;
        leptos_axum::redirect(&format!("/campaigns/{id}?corrected={}", what.as_str()));
        return Ok(0);
    }
    let marked = ssr::repo::mark_replied(&state, user_id, id, &recipients, &addresses).await?;
    leptos_axum::redirect(&format!("/campaigns/{id}?replied={marked}"));
    Ok(marked)
}

//! One read of an account's mailbox (docs/replies.md, "Reading"): from the
//! stored `historyId`, `history.list` gives what was added; a message that may
//! matter (in an open sequence's thread, or any message while a sequence has
//! begun, or our own Sent mail while a send is uncertain) costs one
//! `messages.get` of its headers, is classified and acted on. A 404 (the id is
//! too old) is recovered by paging `messages.list` back to a message already
//! seen. Every call is paid for first from the account's read budget.

use super::budget::Budget;
use super::classify::{Found, address_in, classify};
use super::gmail::{self, Brief, GmailReader, HistoryPage, ListPage, Metadata, ReadError};
use super::repo::{self, Ended, Leased};
use crate::campaigns::RecipientState;
use crate::campaigns::ssr::replies::{self as campaigns, Target};
use crate::domain::UserId;
use crate::google::ssr::accounts::{self, TokenError};
use crate::google::ssr::client::can_read;
use crate::state::AppState;
use crate::unsubscribe::Reason;
use secrecy::SecretString;
use time::OffsetDateTime;

/// How many newest message ids a read keeps, to page back to after a 404.
const RECENT_IDS: usize = 20;
/// How far back a recovery pages (100 ids a page) before it gives up looking
/// for a message it has seen.
const RECOVERY_PAGES: usize = 10;

/// What one read did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Reached the end of the history: the account is fresh.
    pub complete: bool,
    /// Messages whose headers were read.
    pub read: usize,
    /// Sequences stopped (reply, bounce, written by hand).
    pub stopped: usize,
    /// Uncertain messages found in Sent.
    pub resolved: usize,
    /// A history 404 recovered.
    pub recovered: bool,
    /// Message-IDs Gmail gave campaign messages, read back for follow-ups.
    pub message_ids: usize,
    /// Why it stopped short, when it did.
    pub short: Option<String>,
}

/// A Gmail read, and what it costs.
#[derive(Clone, Copy)]
enum Request<'a> {
    Profile,
    History(&'a str, Option<&'a str>),
    List(Option<&'a str>),
    Get(&'a str),
}

enum Answer {
    Profile(String),
    History(HistoryPage),
    List(ListPage),
    Get(Metadata),
}

impl Request<'_> {
    fn units(self) -> u32 {
        match self {
            Request::Profile => gmail::PROFILE_UNITS,
            Request::History(..) => gmail::HISTORY_UNITS,
            Request::List(_) => gmail::LIST_UNITS,
            Request::Get(_) => gmail::GET_UNITS,
        }
    }

    async fn send(self, g: &GmailReader, token: &SecretString) -> Result<Answer, ReadError> {
        Ok(match self {
            Request::Profile => Answer::Profile(g.profile(token).await?),
            Request::History(start, page) => Answer::History(g.history(token, start, page).await?),
            Request::List(page) => Answer::List(g.list(token, page).await?),
            Request::Get(id) => Answer::Get(g.metadata(token, id).await?),
        })
    }
}

enum Stop {
    /// The read budget of this minute is spent: go on next time.
    Budget,
    Read(ReadError),
    Token(TokenError),
    Db(sqlx::Error),
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Stop::Db(e)
    }
}

struct Session<'a> {
    state: &'a AppState,
    gmail: &'a GmailReader,
    user_id: UserId,
    token: SecretString,
    refreshed: bool,
    budget: Budget,
    pass: Pass,
    /// The mailbox's own address (its messages are not replies).
    address: String,
}

impl Session<'_> {
    /// One paid call, with one refresh of the token if Gmail refuses it.
    async fn call(&mut self, request: Request<'_>) -> Result<Answer, Stop> {
        let units = request.units();
        if !self.budget.take(units) {
            return Err(Stop::Budget);
        }
        match request.send(self.gmail, &self.token).await {
            Err(ReadError::Unauthorized) if !self.refreshed => {
                self.refreshed = true;
                let google = self
                    .state
                    .google
                    .as_ref()
                    .ok_or(Stop::Token(TokenError::NotConnected))?;
                self.token = accounts::access_token(
                    self.state,
                    &self.state.cipher,
                    google,
                    self.user_id,
                    Some(&self.token),
                )
                .await
                .map_err(Stop::Token)?;
                if !self.budget.take(units) {
                    return Err(Stop::Budget);
                }
                request
                    .send(self.gmail, &self.token)
                    .await
                    .map_err(Stop::Read)
            }
            other => other.map_err(Stop::Read),
        }
    }

    async fn profile(&mut self) -> Result<String, Stop> {
        match self.call(Request::Profile).await? {
            Answer::Profile(h) => Ok(h),
            _ => unreachable!("a profile answers a profile request"),
        }
    }

    async fn history(&mut self, start: &str, page: Option<&str>) -> Result<HistoryPage, Stop> {
        match self.call(Request::History(start, page)).await? {
            Answer::History(h) => Ok(h),
            _ => unreachable!("a history page answers a history request"),
        }
    }

    async fn list(&mut self, page: Option<&str>) -> Result<ListPage, Stop> {
        match self.call(Request::List(page)).await? {
            Answer::List(l) => Ok(l),
            _ => unreachable!("a list answers a list request"),
        }
    }

    async fn metadata(&mut self, id: &str) -> Result<Metadata, Stop> {
        match self.call(Request::Get(id)).await? {
            Answer::Get(m) => Ok(m),
            _ => unreachable!("metadata answers a get request"),
        }
    }

    /// Looks at what was added (oldest first): reads the headers of what may
    /// matter and acts on it.
    async fn look_at(&mut self, added: &[Brief]) -> Result<(), Stop> {
        if added.is_empty() {
            return Ok(());
        }
        let pool = &self.state.pool;
        let mut conn = pool.acquire().await?;
        let ids: Vec<String> = added.iter().map(|b| b.id.clone()).collect();
        let mut threads: Vec<String> = added.iter().map(|b| b.thread_id.clone()).collect();
        threads.sort();
        threads.dedup();
        let seen = repo::seen(&mut conn, self.user_id, &ids).await?;
        let ours = crate::emails::read::sent_gmail_ids(&mut conn, self.user_id, &ids).await?;
        let open = campaigns::open_threads(&mut conn, self.user_id, &threads).await?;
        let contacted = campaigns::has_contacted(&mut conn, self.user_id).await?;
        let uncertain = crate::emails::read::has_recent_uncertain(&mut conn, self.user_id).await?;
        drop(conn);
        for brief in added {
            if seen.contains(&brief.id) || ours.contains(&brief.id) {
                continue;
            }
            let labels = brief.labels.as_deref();
            if labels.is_some_and(|l| l.iter().any(|l| l == "DRAFT" || l == "CHAT")) {
                continue;
            }
            let sent = labels.map(|l| l.iter().any(|l| l == "SENT"));
            let wanted = open.contains(&brief.thread_id)
                || match sent {
                    Some(true) => uncertain,
                    Some(false) => contacted,
                    None => contacted || uncertain,
                };
            if !wanted {
                continue;
            }
            let message = match self.metadata(&brief.id).await {
                Ok(m) => m,
                // Deleted since it was added.
                Err(Stop::Read(ReadError::NotFound)) => continue,
                Err(e) => return Err(e),
            };
            self.pass.read += 1;
            self.act_on(&message).await?;
        }
        Ok(())
    }

    /// Classifies one message and does what it means, in one transaction
    /// with the record of it.
    async fn act_on(&mut self, m: &Metadata) -> Result<(), Stop> {
        let found = classify(m);
        let received_at =
            OffsetDateTime::from_unix_timestamp_nanos(m.internal_ms as i128 * 1_000_000)
                .unwrap_or_else(|_| OffsetDateTime::now_utc());
        let day = crate::unsubscribe::ssr::repo::day(received_at);
        let state = self.state;
        let user_id = self.user_id;
        let mut tx = state.pool.begin().await?;
        let mut recipient = None;
        let mut email_id = None;
        let mut kind = found.kind();
        match &found {
            Found::Ours(id) => {
                let how = format!(
                    "Found in your Gmail's Sent mail on {day}: it went out, so it is marked sent."
                );
                if crate::emails::found_sent(
                    &mut tx,
                    &state.rules,
                    user_id,
                    *id,
                    (&m.id, &m.thread_id),
                    &how,
                )
                .await?
                {
                    email_id = Some(*id);
                    self.pass.resolved += 1;
                }
            }
            Found::Wrote => {
                if let Some(t) = campaigns::find(&mut tx, user_id, Some(&m.thread_id), &[]).await? {
                    let reason =
                        format!("You wrote to them yourself on {day}: no more steps go to them.");
                    self.stop(&mut tx, &t, RecipientState::Wrote, &reason)
                        .await?;
                    recipient = Some(t.id);
                }
            }
            Found::Bounce { failed } => {
                if let Some(t) =
                    campaigns::find(&mut tx, user_id, Some(&m.thread_id), failed).await?
                {
                    let reason = format!(
                        "Bounced on {day}: Gmail reported that {} could not be reached. The address is on your suppression list now.",
                        t.address
                    );
                    crate::unsubscribe::ssr::repo::add(
                        &mut tx,
                        user_id,
                        std::slice::from_ref(&t.address),
                        Reason::Bounced,
                    )
                    .await?;
                    self.stop(&mut tx, &t, RecipientState::Bounced, &reason)
                        .await?;
                    recipient = Some(t.id);
                }
            }
            Found::Auto { from } | Found::Reply { from } => {
                let from_us = from.as_deref() == Some(self.address.as_str());
                let addresses: Vec<String> = from.iter().filter(|_| !from_us).cloned().collect();
                let thread = (!from_us).then_some(m.thread_id.as_str());
                match campaigns::find(&mut tx, user_id, thread, &addresses).await? {
                    Some(t) => {
                        let who = from.clone().unwrap_or_else(|| "someone".into());
                        let auto = matches!(found, Found::Auto { .. });
                        if !auto {
                            let reason =
                                format!("Replied on {day} ({who}): no more steps go to them.");
                            self.stop(&mut tx, &t, RecipientState::Replied, &reason)
                                .await?;
                        } else if t.stop_on_auto {
                            let reason = format!(
                                "Automatic reply on {day} ({who}): this campaign stops for those."
                            );
                            self.stop(&mut tx, &t, RecipientState::Replied, &reason)
                                .await?;
                        }
                        recipient = Some(t.id);
                    }
                    None => kind = "other",
                }
            }
        }
        let from = found
            .from()
            .map(str::to_string)
            .or_else(|| m.header("From").and_then(address_in));
        repo::record(
            &mut tx,
            user_id,
            &repo::Found {
                gmail_id: &m.id,
                thread_id: &m.thread_id,
                kind,
                from: from.as_deref(),
                failed: match &found {
                    Found::Bounce { failed } => failed,
                    _ => &[],
                },
                received_at,
                recipient_id: recipient,
                email_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn stop(
        &mut self,
        conn: &mut sqlx::PgConnection,
        target: &Target,
        state: RecipientState,
        reason: &str,
    ) -> Result<(), Stop> {
        if campaigns::stop(conn, self.user_id, target, state, reason).await? {
            self.pass.stopped += 1;
        }
        Ok(())
    }
}

/// Reads `user_id`'s mailbox once, if reading is on and no other read of it
/// is under way.
#[tracing::instrument(skip(state, gmail))]
pub async fn read(
    state: &AppState,
    gmail: &GmailReader,
    user_id: UserId,
) -> Result<Pass, sqlx::Error> {
    let Some(leased) = repo::lease(&state.pool, user_id).await? else {
        return Ok(Pass::default());
    };
    let limit = state.config.delivery.read_units_per_minute();
    let budget = Budget::load(&leased.spent_at, &leased.spent_units, limit);
    let account = crate::google::ssr::accounts::find_for_user(&state.pool, user_id)
        .await
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let token = match (&account, state.google.as_ref()) {
        (Some(a), Some(google)) if can_read(&a.scopes) => {
            accounts::access_token(state, &state.cipher, google, user_id, None)
                .await
                .map_err(|e| match e {
                    TokenError::Revoked => ("revoked", "Google no longer accepts MailMerger's access to this Gmail account (it was revoked or has expired). Connect Gmail again to read replies.".to_string()),
                    TokenError::NotConnected => ("not_granted", "Gmail is not connected.".to_string()),
                    TokenError::Unavailable(e) => ("failed", e),
                })
        }
        (Some(_), Some(_)) => Err(("not_granted", "Google has not granted MailMerger the right to read message headers (gmail.metadata). Turn stop-on-reply on again to grant it.".to_string())),
        _ => Err(("not_granted", "Gmail is not connected.".to_string())),
    };
    let token = match token {
        Ok(t) => t,
        Err((status, why)) => {
            let mut conn = state.pool.acquire().await?;
            return stopped_short(
                &mut conn,
                user_id,
                &leased,
                &budget,
                status,
                why,
                Pass::default(),
            )
            .await;
        }
    };
    let address = account.map(|a| a.email.to_lowercase()).unwrap_or_default();
    let mut session = Session {
        state,
        gmail,
        user_id,
        token,
        refreshed: false,
        budget,
        pass: Pass::default(),
        address: address.clone(),
    };
    let mut outcome = walk(&mut session, &leased, &address).await;
    if outcome.is_ok() {
        match read_message_ids(&mut session).await {
            Ok(n) => session.pass.message_ids = n,
            Err(Stop::Db(e)) => outcome = Err(Stop::Db(e)),
            // The read itself is complete; the ids are read next time.
            Err(_) => {}
        }
    }
    let spent = session.budget.parts();
    let mut pass = session.pass;
    let mut conn = state.pool.acquire().await?;
    match outcome {
        Ok((history_id, recent)) => {
            repo::finish(
                &mut conn,
                user_id,
                &leased,
                (&spent.0, &spent.1),
                Ended::Complete {
                    address: &address,
                    history_id: &history_id,
                    recent_ids: &recent,
                    recovered: pass.recovered,
                },
            )
            .await?;
            // Follow-ups that waited for this read may go now.
            crate::emails::campaign::follow_ups_due_again(&mut conn, user_id, super::check::WAIT)
                .await?;
            pass.complete = true;
        }
        Err(stop) => {
            let (status, why) = match stop {
                Stop::Budget => (
                    "ok",
                    "The read budget of this minute is spent; the rest is read within a minute."
                        .to_string(),
                ),
                Stop::Read(ReadError::NotGranted) => {
                    ("not_granted", ReadError::NotGranted.to_string())
                }
                Stop::Read(e) => ("failed", e.to_string()),
                Stop::Token(TokenError::Revoked) => ("revoked", TokenError::Revoked.to_string()),
                Stop::Token(e) => ("failed", e.to_string()),
                Stop::Db(e) => {
                    // Let the lease run out; the next read starts again.
                    return Err(e);
                }
            };
            tracing::info!(status, why, "mailbox read stopped short");
            return stopped_short(
                &mut conn,
                user_id,
                &leased,
                &session.budget,
                status,
                why,
                pass,
            )
            .await;
        }
    }
    Ok(pass)
}

/// Ends a read that stopped short: what it spent is kept, its freshness is
/// not renewed, and Settings shows why.
async fn stopped_short(
    conn: &mut sqlx::PgConnection,
    user_id: UserId,
    leased: &Leased,
    budget: &Budget,
    status: &str,
    why: String,
    mut pass: Pass,
) -> Result<Pass, sqlx::Error> {
    let spent = budget.parts();
    repo::finish(
        conn,
        user_id,
        leased,
        (&spent.0, &spent.1),
        Ended::Short {
            status,
            error: Some(&why),
        },
    )
    .await?;
    pass.short = Some(why);
    Ok(pass)
}

/// The history from where the last read stopped (or a baseline, or a
/// recovery): the new history id and the newest message ids.
async fn walk(
    s: &mut Session<'_>,
    leased: &Leased,
    address: &str,
) -> Result<(String, Vec<String>), Stop> {
    let mut recent: Vec<String> = leased.recent_ids.clone();
    let start = match (&leased.history_id, &leased.address) {
        (Some(h), Some(a)) if a == address => h.clone(),
        // First read, or another mailbox: start from now.
        _ => {
            let h = s.profile().await?;
            return Ok((h, Vec::new()));
        }
    };
    let mut page: Option<String> = None;
    loop {
        let answer = s.history(&start, page.as_deref()).await;
        match answer {
            Ok(h) => {
                s.look_at(&h.added).await?;
                remember(&mut recent, h.added.iter().map(|b| b.id.clone()));
                match h.next_page {
                    Some(next) => page = Some(next),
                    None => return Ok((h.history_id, recent)),
                }
            }
            Err(Stop::Read(ReadError::NotFound)) => return recover(s, recent).await,
            Err(e) => return Err(e),
        }
    }
}

/// After a history 404: a new baseline first (so nothing that arrives during
/// the recovery is missed), then `messages.list` pages, newest first, back to
/// a message seen before; what came since is looked at oldest first.
async fn recover(s: &mut Session<'_>, recent: Vec<String>) -> Result<(String, Vec<String>), Stop> {
    tracing::info!(user_id = %s.user_id, "history id too old: recovering from messages.list");
    let baseline = s.profile().await?;
    let mut since: Vec<Brief> = Vec::new();
    let mut page: Option<String> = None;
    'pages: for _ in 0..RECOVERY_PAGES {
        let listed = s.list(page.as_deref()).await?;
        let ids: Vec<String> = listed.messages.iter().map(|m| m.id.clone()).collect();
        let mut conn = s.state.pool.acquire().await?;
        let seen = repo::seen(&mut conn, s.user_id, &ids).await?;
        let ours = crate::emails::read::sent_gmail_ids(&mut conn, s.user_id, &ids).await?;
        drop(conn);
        for m in listed.messages {
            if recent.contains(&m.id) || seen.contains(&m.id) || ours.contains(&m.id) {
                break 'pages;
            }
            since.push(m);
        }
        match listed.next_page {
            Some(next) => page = Some(next),
            None => break,
        }
    }
    since.reverse();
    s.look_at(&since).await?;
    s.pass.recovered = true;
    let mut newest = Vec::new();
    remember(&mut newest, since.iter().map(|b| b.id.clone()));
    if newest.is_empty() {
        newest = recent;
    }
    Ok((baseline, newest))
}

/// With what the budget leaves after a complete read: the Message-IDs Gmail
/// gave campaign messages that a later step will answer, so that it carries
/// them in `In-Reply-To` and `References` (Gmail replaced ours on sending).
async fn read_message_ids(s: &mut Session<'_>) -> Result<usize, Stop> {
    let mut conn = s.state.pool.acquire().await?;
    let wanted = crate::emails::campaign::message_ids_to_read(&mut conn, s.user_id, 50).await?;
    drop(conn);
    let mut done = 0;
    for (id, gmail_id) in wanted {
        let value = match s.metadata(&gmail_id).await {
            Ok(m) => m
                .header("Message-ID")
                .map(str::trim)
                .filter(|v| is_message_id(v))
                .unwrap_or("")
                .to_string(),
            // Deleted from the mailbox: nothing to answer.
            Err(Stop::Read(ReadError::NotFound)) => String::new(),
            Err(Stop::Budget) => break,
            Err(e) => return Err(e),
        };
        let mut conn = s.state.pool.acquire().await?;
        crate::emails::campaign::set_message_id(&mut conn, s.user_id, id, &value).await?;
        done += 1;
    }
    Ok(done)
}

/// `<left@right>`, one header line's worth, nothing that could end a header.
fn is_message_id(v: &str) -> bool {
    v.len() <= 250
        && v.starts_with('<')
        && v.ends_with('>')
        && v.contains('@')
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Keeps the newest `RECENT_IDS` ids (`more` oldest first).
fn remember(recent: &mut Vec<String>, more: impl Iterator<Item = String>) {
    recent.extend(more);
    let extra = recent.len().saturating_sub(RECENT_IDS);
    recent.drain(..extra);
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_real_message_id_is_kept() {
        assert!(super::is_message_id("<CAF=x1@mail.gmail.com>"));
        for bad in ["", "<no-at>", "a@b", "<a@b>\r\nBcc: x@y", "<a @b>"] {
            assert!(!super::is_message_id(bad), "{bad:?}");
        }
    }
}

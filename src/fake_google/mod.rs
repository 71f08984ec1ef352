//! A fake Google for tests and local runs: OAuth consent, token, userinfo and
//! revoke, Gmail's two send endpoints, injected failures, and a listing of every
//! message received (docs/google.md lists what it imitates).
//!
//! It is served by the `fake-google` binary (for Playwright and `scripts/run`
//! demos) and spawned in-process by the integration tests. Nothing in the app
//! depends on it.

mod mailbox;
mod messages;
mod wire;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use mailbox::{Incoming, IncomingKind};
pub use messages::Received;

pub const GMAIL_SEND: &str = "https://www.googleapis.com/auth/gmail.send";
pub const GMAIL_METADATA: &str = "https://www.googleapis.com/auth/gmail.metadata";
const GMAIL_READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";

#[derive(Clone)]
pub struct FakeGoogle {
    inner: Arc<Mutex<Inner>>,
    client_id: String,
    client_secret: String,
}

#[derive(Clone, Debug)]
struct Identity {
    email: String,
}

struct Grant {
    identity: Identity,
    scopes: Vec<String>,
    client_id: String,
    redirect_uri: String,
    challenge: Option<String>,
}

struct AccessToken {
    email: String,
    scopes: Vec<String>,
    expires: Instant,
    refresh: Option<String>,
}

struct RefreshToken {
    identity: Identity,
    scopes: Vec<String>,
    revoked: bool,
}

/// The next N sends answer with this status and body.
#[derive(Clone, Deserialize)]
pub struct Failure {
    pub count: u32,
    pub status: u16,
    #[serde(default)]
    pub body: serde_json::Value,
}

#[derive(Default)]
struct Inner {
    codes: HashMap<String, Grant>,
    /// Display names by email, as given on the consent screen.
    names: HashMap<String, String>,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    received: Vec<Received>,
    sends: u64,
    token_requests: u64,
    failures: Vec<Failure>,
    delay: Duration,
    auto: Option<AutoConsent>,
    access_ttl: u64,
    /// Count sends but keep no copies (benchmarks).
    discard: bool,
    /// Gmail's per-user quota, when enforced: units per sliding minute.
    user_units_per_minute: Option<u64>,
    /// Each account's quota units in the last minute, oldest first: (when,
    /// units, whether a read).
    recent: HashMap<String, std::collections::VecDeque<(Instant, u64, bool)>>,
    /// The most units each account spent in any 60 seconds: (all, reads).
    peak_units: HashMap<String, (u64, u64)>,
    /// Gmail API calls by endpoint (`messages.get`, `history.list`, ...).
    calls: HashMap<&'static str, u64>,
    /// Each account's mailbox (lowercased address): what it sent and received.
    mailboxes: HashMap<String, mailbox::Mailbox>,
    /// Sends refused for going over the per-user quota.
    rate_limited: u64,
    /// Keep the client's Message-ID (Gmail replaces it on API sends).
    keep_message_id: bool,
    /// Each account's threads, kept when messages are discarded too.
    threads: HashMap<String, HashSet<String>>,
}

/// What a `messages.send` costs in quota units.
const SEND_UNITS: u64 = 100;
/// What reads cost, in the 2026 table (docs/google.md).
const PROFILE_UNITS: u64 = 1;
const HISTORY_UNITS: u64 = 2;
const LIST_UNITS: u64 = 5;
const GET_UNITS: u64 = 20;
const THREAD_UNITS: u64 = 40;

/// Answer the consent screen without showing it.
#[derive(Clone, Deserialize)]
pub struct AutoConsent {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Grant only these scopes (granular consent); all asked for when absent.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub deny: bool,
}

impl FakeGoogle {
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        FakeGoogle {
            inner: Arc::new(Mutex::new(Inner {
                access_ttl: 3599,
                ..Default::default()
            })),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_discard(&self, discard: bool) {
        self.lock().discard = discard;
    }

    /// Every message received for `email` (all when `None`), oldest first.
    pub fn received(&self, email: Option<&str>) -> Vec<Received> {
        self.lock()
            .received
            .iter()
            .filter(|m| email.is_none_or(|e| m.account.eq_ignore_ascii_case(e)))
            .cloned()
            .collect()
    }

    /// Keep the Message-ID a message was sent with instead of replacing it, as
    /// Gmail does on API sends (the default).
    pub fn set_keep_message_id(&self, keep: bool) {
        self.lock().keep_message_id = keep;
    }

    pub fn sends(&self) -> u64 {
        self.lock().sends
    }

    /// Gmail API calls made to `endpoint` (`messages.get`, `history.list`,
    /// `messages.list`, `threads.get`, `getProfile`, `messages.send`).
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.lock().calls.get(endpoint).copied().unwrap_or(0)
    }

    /// The most quota units `email` spent in any 60 seconds: (everything, reads).
    pub fn peak_units(&self, email: &str) -> (u64, u64) {
        self.lock()
            .peak_units
            .get(&email.to_lowercase())
            .copied()
            .unwrap_or((0, 0))
    }

    /// A message arrives in (or, for `sent`, is written from) a mailbox; its
    /// Gmail id.
    pub fn deliver(&self, incoming: &Incoming) -> String {
        let mut inner = self.lock();
        let account = incoming.email.to_lowercase();
        let id = format!("{:016x}", rand::random::<u64>());
        let thread = incoming.thread_id.clone().unwrap_or_else(|| id.clone());
        let stored = incoming.stored(id.clone(), thread.clone(), now_ms());
        inner
            .threads
            .entry(account.clone())
            .or_default()
            .insert(thread);
        inner
            .mailboxes
            .entry(account)
            .or_insert_with(mailbox::Mailbox::fresh)
            .add(stored);
        id
    }

    /// Every history id `email` was given so far answers 404 from now on.
    pub fn expire_history(&self, email: &str) {
        self.lock()
            .mailboxes
            .entry(email.to_lowercase())
            .or_insert_with(mailbox::Mailbox::fresh)
            .expire_history();
    }

    /// A header of a message in `email`'s mailbox, as Gmail keeps it.
    pub fn mailbox_header(&self, email: &str, id: &str, name: &str) -> Option<String> {
        self.lock()
            .mailboxes
            .get(&email.to_lowercase())?
            .get(id)?
            .header(name)
    }

    /// Enforce Gmail's per-user quota as Google does: a send that would take an
    /// account over `units` in any 60 seconds is refused with 429 and not kept.
    pub fn set_user_quota(&self, units: Option<u64>) {
        self.lock().user_units_per_minute = units;
    }

    /// Sends refused by the per-user quota.
    pub fn rate_limited(&self) -> u64 {
        self.lock().rate_limited
    }

    pub fn token_requests(&self) -> u64 {
        self.lock().token_requests
    }

    /// Refresh tokens revoked so far (by the app or the test).
    pub fn revoked_count(&self) -> usize {
        self.lock().refresh.values().filter(|r| r.revoked).count()
    }

    pub fn fail_next(&self, failure: Failure) {
        self.lock().failures.push(failure);
    }

    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    pub fn set_auto_consent(&self, auto: Option<AutoConsent>) {
        self.lock().auto = auto;
    }

    /// Access tokens issued from now on live this long.
    pub fn set_access_ttl(&self, secs: u64) {
        self.lock().access_ttl = secs;
    }

    /// Every token of this user stops working, as when they remove access.
    pub fn revoke_user(&self, email: &str) {
        let mut inner = self.lock();
        for r in inner.refresh.values_mut() {
            if r.identity.email.eq_ignore_ascii_case(email) {
                r.revoked = true;
            }
        }
        inner
            .access
            .retain(|_, a| !a.email.eq_ignore_ascii_case(email));
    }

    /// Live access tokens of this user start answering 401.
    pub fn expire_access_tokens(&self, email: &str) {
        let now = Instant::now();
        for a in self.lock().access.values_mut() {
            if a.email.eq_ignore_ascii_case(email) {
                a.expires = now;
            }
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/o/oauth2/v2/auth", get(authorize).post(decide))
            .route("/token", post(token))
            .route("/v1/userinfo", get(userinfo))
            .route("/revoke", post(revoke))
            .route("/gmail/v1/users/me/messages/send", post(send_json))
            .route("/upload/gmail/v1/users/me/messages/send", post(send_upload))
            .route("/gmail/v1/users/me/profile", get(profile))
            .route("/gmail/v1/users/me/history", get(history))
            .route("/gmail/v1/users/me/messages", get(list))
            .route("/gmail/v1/users/me/messages/{id}", get(message))
            .route("/gmail/v1/users/me/threads/{id}", get(thread))
            .route("/_fake/mailbox", post(control_mailbox))
            .route("/_fake/expire_history", post(control_expire_history))
            .route("/_fake/messages", get(list_messages))
            .route("/_fake/fail", post(control_fail))
            .route("/_fake/delay", post(control_delay))
            .route("/_fake/consent", post(control_consent))
            .route("/_fake/revoke", post(control_revoke))
            .route("/_fake/expire", post(control_expire))
            .route("/_fake/reset", post(control_reset))
            .route("/_fake/stats", get(stats))
            .layer(axum::extract::DefaultBodyLimit::max(40 * 1024 * 1024))
            .with_state(self.clone())
    }

    /// Serves on `listener` until the task is dropped.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }
}

/// The Google-style URLs of a fake served at `base`, as the app's configuration
/// wants them.
pub fn urls(base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GOOGLE_AUTH_URL", format!("{base}/o/oauth2/v2/auth")),
        ("GOOGLE_TOKEN_URL", format!("{base}/token")),
        ("GOOGLE_USERINFO_URL", format!("{base}/v1/userinfo")),
        ("GOOGLE_REVOKE_URL", format!("{base}/revoke")),
        ("GMAIL_API_URL", base.to_string()),
    ]
}

fn random_token(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn sub_for(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    // Google's subjects are long decimal strings.
    let n = u128::from_be_bytes(digest[..16].try_into().unwrap_or([0; 16]));
    format!("1{:020}", n % 10u128.pow(20))
}

fn google_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn api_error(status: u16, message: &str, reason: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(json!({"error": {"code": status, "message": message,
            "errors": [{"domain": "global", "reason": reason, "message": message}]}})),
    )
        .into_response()
}

// --- OAuth ------------------------------------------------------------------------

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    response_type: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: String,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn authorize(State(fake): State<FakeGoogle>, Query(q): Query<AuthorizeQuery>) -> Response {
    if q.client_id != fake.client_id {
        return (StatusCode::BAD_REQUEST, "Error 401: invalid_client").into_response();
    }
    if q.response_type != "code" {
        return (StatusCode::BAD_REQUEST, "unsupported response_type").into_response();
    }
    if q.code_challenge.is_some() && q.code_challenge_method.as_deref() != Some("S256") {
        return (
            StatusCode::BAD_REQUEST,
            "code_challenge_method must be S256",
        )
            .into_response();
    }
    let auto = fake.lock().auto.clone();
    if let Some(auto) = auto {
        let decision = Decision {
            client_id: q.client_id,
            redirect_uri: q.redirect_uri,
            state: q.state,
            code_challenge: q.code_challenge.unwrap_or_default(),
            email: auto.email,
            name: auto.name.unwrap_or_default(),
            requested: q.scope.clone(),
            granted: auto.scopes.map(|s| s.join(" ")).unwrap_or(q.scope),
            decision: if auto.deny { "deny" } else { "allow" }.into(),
        };
        return decide_with(&fake, decision);
    }
    let scopes: String = q
        .scope
        .split_whitespace()
        .map(|s| {
            format!(
                r#"<li><label><input type="checkbox" name="granted_scope" value="{s}" checked> Grant {s}</label></li>"#,
                s = html_escape(s)
            )
        })
        .collect();
    let hidden = |name: &str, value: &str| {
        format!(
            r#"<input type="hidden" name="{name}" value="{}">"#,
            html_escape(value)
        )
    };
    Html(format!(
        r#"<!doctype html><html><head><title>Fake Google: sign in</title></head><body>
<h1>Fake Google</h1><p>An app wants to use your Google account.</p>
<form method="post" action="/o/oauth2/v2/auth">
{}{}{}{}{}
<p><label>Email <input name="email" type="email" value="ada@gmail.test" required></label></p>
<p><label>Name <input name="name" value="Ada Lovelace"></label></p>
<ul>{scopes}</ul>
<button name="decision" value="allow">Allow</button>
<button name="decision" value="deny">Deny</button>
</form></body></html>"#,
        hidden("client_id", &q.client_id),
        hidden("redirect_uri", &q.redirect_uri),
        hidden("state", &q.state),
        hidden("code_challenge", q.code_challenge.as_deref().unwrap_or("")),
        hidden("requested", &q.scope),
    ))
    .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[derive(Deserialize)]
struct Decision {
    client_id: String,
    redirect_uri: String,
    state: String,
    #[serde(default)]
    code_challenge: String,
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    requested: String,
    /// Space-separated (the form sends one `granted_scope` per box instead).
    #[serde(default)]
    granted: String,
    decision: String,
}

async fn decide(State(fake): State<FakeGoogle>, body: String) -> Response {
    // Repeated `granted_scope` fields: collect them by hand.
    let mut granted = Vec::new();
    let mut fields = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
        if k == "granted_scope" {
            granted.push(v.into_owned());
        } else {
            fields.insert(k.into_owned(), v.into_owned());
        }
    }
    let field = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let decision = Decision {
        client_id: field("client_id"),
        redirect_uri: field("redirect_uri"),
        state: field("state"),
        code_challenge: field("code_challenge"),
        email: field("email"),
        name: field("name"),
        requested: field("requested"),
        granted: granted.join(" "),
        decision: field("decision"),
    };
    decide_with(&fake, decision)
}

fn decide_with(fake: &FakeGoogle, d: Decision) -> Response {
    let separator = if d.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let state: String = url::form_urlencoded::byte_serialize(d.state.as_bytes()).collect();
    if d.decision != "allow" {
        return Redirect::to(&format!(
            "{}{separator}error=access_denied&state={state}",
            d.redirect_uri
        ))
        .into_response();
    }
    // Identity scopes always come along; the rest only if granted.
    let requested: Vec<&str> = d.requested.split_whitespace().collect();
    let granted: Vec<String> = requested
        .iter()
        .filter(|s| {
            matches!(**s, "openid" | "email" | "profile")
                || d.granted.split_whitespace().any(|g| g == **s)
        })
        .map(|s| expand_scope(s))
        .collect();
    let email = d.email.trim().to_string();
    let name = if d.name.trim().is_empty() {
        email.split('@').next().unwrap_or("").to_string()
    } else {
        d.name.trim().to_string()
    };
    let code = random_token("code-");
    fake.lock().names.insert(email.to_lowercase(), name.clone());
    fake.lock().codes.insert(
        code.clone(),
        Grant {
            identity: Identity { email },
            scopes: granted,
            client_id: d.client_id,
            redirect_uri: d.redirect_uri.clone(),
            challenge: Some(d.code_challenge).filter(|c| !c.is_empty()),
        },
    );
    Redirect::to(&format!(
        "{}{separator}code={code}&state={state}",
        d.redirect_uri
    ))
    .into_response()
}

/// Google reports the short identity scopes by their URLs.
fn expand_scope(s: &str) -> String {
    match s {
        "email" => "https://www.googleapis.com/auth/userinfo.email".into(),
        "profile" => "https://www.googleapis.com/auth/userinfo.profile".into(),
        other => other.into(),
    }
}

async fn token(State(fake): State<FakeGoogle>, headers: HeaderMap, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    fake.lock().token_requests += 1;
    // Client authentication: HTTP Basic or the body.
    let (id, secret) = match basic_auth(&headers) {
        Some(pair) => pair,
        None => (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    if id != fake.client_id || secret != fake.client_secret {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        );
    }
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let mut inner = fake.lock();
    let ttl = inner.access_ttl;
    match get("grant_type") {
        "authorization_code" => {
            let Some(grant) = inner.codes.remove(get("code")) else {
                return google_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Malformed auth code.",
                );
            };
            if grant.client_id != id || grant.redirect_uri != get("redirect_uri") {
                return google_error(
                    StatusCode::BAD_REQUEST,
                    "redirect_uri_mismatch",
                    "Bad Request",
                );
            }
            if let Some(challenge) = &grant.challenge {
                let verifier = get("code_verifier");
                let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                if verifier.is_empty() || &computed != challenge {
                    return google_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Invalid code verifier.",
                    );
                }
            }
            let offline = grant.scopes.iter().any(|s| s == GMAIL_SEND);
            let refresh = offline.then(|| random_token("1//refresh-"));
            if let Some(r) = &refresh {
                inner.refresh.insert(
                    r.clone(),
                    RefreshToken {
                        identity: grant.identity.clone(),
                        scopes: grant.scopes.clone(),
                        revoked: false,
                    },
                );
            }
            let access = random_token("ya29.");
            inner.access.insert(
                access.clone(),
                AccessToken {
                    email: grant.identity.email.clone(),
                    scopes: grant.scopes.clone(),
                    expires: Instant::now() + Duration::from_secs(ttl),
                    refresh: refresh.clone(),
                },
            );
            let mut answer = json!({
                "access_token": access,
                "expires_in": ttl,
                "scope": grant.scopes.join(" "),
                "token_type": "Bearer",
                "id_token": "fake.id.token",
            });
            if let Some(r) = refresh {
                answer["refresh_token"] = json!(r);
            }
            Json(answer).into_response()
        }
        "refresh_token" => {
            let Some(r) = inner.refresh.get(get("refresh_token")) else {
                return google_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
            };
            if r.revoked {
                return google_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Token has been expired or revoked.",
                );
            }
            let (email, scopes) = (r.identity.email.clone(), r.scopes.clone());
            let access = random_token("ya29.");
            inner.access.insert(
                access.clone(),
                AccessToken {
                    email,
                    scopes: scopes.clone(),
                    expires: Instant::now() + Duration::from_secs(ttl),
                    refresh: Some(get("refresh_token").to_string()),
                },
            );
            Json(json!({
                "access_token": access,
                "expires_in": ttl,
                "scope": scopes.join(" "),
                "token_type": "Bearer",
            }))
            .into_response()
        }
        _ => google_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Invalid grant_type.",
        ),
    }
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// Google's answer to a missing, unknown, expired or revoked access token.
fn unauthorized() -> Response {
    api_error(
        401,
        "Request had invalid authentication credentials.",
        "authError",
    )
}

/// The owner and scopes of a request's live access token.
fn bearer(fake: &FakeGoogle, headers: &HeaderMap) -> Option<(String, Vec<String>)> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))?;
    let inner = fake.lock();
    let access = inner.access.get(token)?;
    if access.expires <= Instant::now() {
        return None;
    }
    if let Some(r) = &access.refresh
        && inner.refresh.get(r).is_some_and(|r| r.revoked)
    {
        return None;
    }
    Some((access.email.clone(), access.scopes.clone()))
}

async fn userinfo(State(fake): State<FakeGoogle>, headers: HeaderMap) -> Response {
    let Some((email, _)) = bearer(&fake, &headers) else {
        return unauthorized();
    };
    let name = fake.lock().names.get(&email.to_lowercase()).cloned();
    let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or("").to_string());
    // As Google does: `hd` (the hosted domain) only for Workspace accounts,
    // which here are all but the consumer domains.
    let domain = email.rsplit('@').next().unwrap_or("").to_lowercase();
    let hd = (!matches!(
        domain.as_str(),
        "gmail.com" | "googlemail.com" | "gmail.test"
    ))
    .then_some(domain);
    Json(json!({
        "sub": sub_for(&email),
        "email": email,
        "email_verified": true,
        "hd": hd,
        "name": name,
        "given_name": name.split(' ').next().unwrap_or(""),
        "family_name": name.split(' ').skip(1).collect::<Vec<_>>().join(" "),
        "picture": "https://example.invalid/photo.png",
    }))
    .into_response()
}

async fn revoke(
    State(fake): State<FakeGoogle>,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let Some(token) = form.get("token").or(q.get("token")).cloned() else {
        return google_error(StatusCode::BAD_REQUEST, "invalid_request", "Missing token.");
    };
    let mut inner = fake.lock();
    // Revoking an access token revokes its refresh token, and the other way round.
    let refresh = match inner.access.remove(&token) {
        Some(a) => a.refresh,
        None => inner.refresh.contains_key(&token).then(|| token.clone()),
    };
    let Some(refresh) = refresh else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        );
    };
    if let Some(r) = inner.refresh.get_mut(&refresh) {
        r.revoked = true;
    }
    inner
        .access
        .retain(|_, a| a.refresh.as_deref() != Some(&refresh));
    StatusCode::OK.into_response()
}

// --- Gmail --------------------------------------------------------------------------

#[derive(Deserialize)]
struct SendJson {
    raw: String,
    #[serde(rename = "threadId")]
    thread_id: Option<String>,
}

async fn send_json(State(fake): State<FakeGoogle>, headers: HeaderMap, body: String) -> Response {
    if body.len() > 5 * 1024 * 1024 {
        return api_error(413, "Request payload size exceeds the limit", "badRequest");
    }
    let request: SendJson = match serde_json::from_str(&body) {
        Ok(r) => r,
        Err(_) => return api_error(400, "Invalid JSON payload received.", "badRequest"),
    };
    let trimmed = request.raw.trim_end_matches('=');
    let raw = match URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE.decode(&request.raw))
    {
        Ok(raw) => raw,
        Err(_) => return api_error(400, "Invalid value for ByteString", "invalidArgument"),
    };
    accept(&fake, &headers, raw, request.thread_id, "json").await
}

async fn send_upload(
    State(fake): State<FakeGoogle>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match q.get("uploadType").map(String::as_str) {
        // The message alone: no thread can be named.
        Some("media") => {
            if !content_type.starts_with("message/rfc822") {
                return api_error(400, "Media type must be message/rfc822", "badContent");
            }
            accept(&fake, &headers, body.to_vec(), None, "upload").await
        }
        Some("multipart") => match wire::related_parts(content_type, &body) {
            Ok((metadata, raw)) => {
                let thread = metadata["threadId"].as_str().map(str::to_string);
                accept(&fake, &headers, raw, thread, "upload").await
            }
            Err(why) => api_error(400, why, "badContent"),
        },
        _ => api_error(400, "uploadType must be media or multipart", "badRequest"),
    }
}

async fn accept(
    fake: &FakeGoogle,
    headers: &HeaderMap,
    raw: Vec<u8>,
    thread_id: Option<String>,
    endpoint: &'static str,
) -> Response {
    let delay = fake.lock().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let Some((account, scopes)) = bearer(fake, headers) else {
        return unauthorized();
    };
    if !scopes.iter().any(|s| s == GMAIL_SEND) {
        return api_error(
            403,
            "Request had insufficient authentication scopes.",
            "insufficientPermissions",
        );
    }
    let mut inner = fake.lock();
    if let Some(injected) = injected_failure(&mut inner) {
        return injected;
    }
    if let Some(refused) = charge(&mut inner, &account, SEND_UNITS, false) {
        return refused;
    }
    // A thread of another mailbox, or one that never was, is not found.
    if let Some(thread) = &thread_id
        && !inner
            .threads
            .get(&account.to_lowercase())
            .is_some_and(|threads| threads.contains(thread))
    {
        return api_error(404, "Requested entity was not found.", "notFound");
    }
    inner.sends += 1;
    *inner.calls.entry("messages.send").or_default() += 1;
    let id = format!("{:016x}", rand::random::<u64>());
    let thread = thread_id.unwrap_or_else(|| id.clone());
    inner
        .threads
        .entry(account.to_lowercase())
        .or_default()
        .insert(thread.clone());
    if !inner.discard {
        let (sent_message_id, raw) = if inner.keep_message_id {
            let parsed = mail_parser::MessageParser::default()
                .parse(&raw[..])
                .and_then(|m| m.message_id().map(|id| format!("<{id}>")));
            (parsed, raw)
        } else {
            wire::replace_message_id(&raw, &format!("<{id}.fake@mail.gmail.com>"))
        };
        let stored = mailbox::Stored {
            id: id.clone(),
            thread_id: thread.clone(),
            labels: vec!["SENT".into()],
            headers: mailbox::Stored::headers_of(&raw),
            internal_ms: now_ms(),
        };
        inner
            .mailboxes
            .entry(account.to_lowercase())
            .or_insert_with(mailbox::Mailbox::fresh)
            .add(stored);
        inner.received.push(Received::new(
            account,
            id.clone(),
            thread.clone(),
            endpoint,
            raw,
            sent_message_id,
        ));
    }
    Json(json!({"id": id, "threadId": thread, "labelIds": ["SENT"]})).into_response()
}

/// The next failure a test asked for (`fail_next`), sends and reads alike.
fn injected_failure(inner: &mut Inner) -> Option<Response> {
    let failure = inner.failures.first_mut()?;
    failure.count = failure.count.saturating_sub(1);
    let (status, body) = (failure.status, failure.body.clone());
    if failure.count == 0 {
        inner.failures.remove(0);
    }
    Some(
        (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Json(body),
        )
            .into_response(),
    )
}

/// Charges `units` to `account`'s per-user quota: Google's 429 when the
/// configured quota would be exceeded in the last 60 seconds.
fn charge(inner: &mut Inner, account: &str, units: u64, read: bool) -> Option<Response> {
    let now = Instant::now();
    let minute = Duration::from_secs(60);
    let key = account.to_lowercase();
    let limit = inner.user_units_per_minute;
    let recent = inner.recent.entry(key.clone()).or_default();
    while recent
        .front()
        .is_some_and(|(t, _, _)| now.duration_since(*t) >= minute)
    {
        recent.pop_front();
    }
    let spent: u64 = recent.iter().map(|(_, u, _)| u).sum();
    if let Some(limit) = limit
        && spent + units > limit
    {
        inner.rate_limited += 1;
        let retry = time::OffsetDateTime::now_utc() + time::Duration::seconds(60);
        let retry = retry
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let what = if read { "Queries" } else { "Mail sending" };
        return Some(api_error(
            429,
            &format!("Too many requests: User-rate limit exceeded ({what}). Retry after {retry}"),
            "rateLimitExceeded",
        ));
    }
    recent.push_back((now, units, read));
    let reads: u64 = recent.iter().filter(|r| r.2).map(|(_, u, _)| u).sum();
    let peak = inner.peak_units.entry(key).or_default();
    peak.0 = peak.0.max(spent + units);
    peak.1 = peak.1.max(reads);
    None
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The account of a read request, charged `units`, or Google's answer: 401,
/// 403 without a read scope, 429 over the quota. `metadata_only` says whether
/// the grant is `gmail.metadata` without `gmail.readonly`.
#[allow(clippy::result_large_err)] // the answer itself, returned at once
fn reader(
    fake: &FakeGoogle,
    headers: &HeaderMap,
    endpoint: &'static str,
    units: u64,
) -> Result<(String, bool), Response> {
    let Some((account, scopes)) = bearer(fake, headers) else {
        return Err(unauthorized());
    };
    let full = scopes
        .iter()
        .any(|s| s == GMAIL_READONLY || s == "https://mail.google.com/");
    if !full && !scopes.iter().any(|s| s == GMAIL_METADATA) {
        return Err(api_error(
            403,
            "Request had insufficient authentication scopes.",
            "insufficientPermissions",
        ));
    }
    let mut inner = fake.lock();
    *inner.calls.entry(endpoint).or_default() += 1;
    if let Some(injected) = injected_failure(&mut inner) {
        return Err(injected);
    }
    if let Some(refused) = charge(&mut inner, &account, units, true) {
        return Err(refused);
    }
    Ok((account.to_lowercase(), !full))
}

async fn profile(State(fake): State<FakeGoogle>, headers: HeaderMap) -> Response {
    let (account, _) = match reader(&fake, &headers, "getProfile", PROFILE_UNITS) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut inner = fake.lock();
    let mailbox = inner
        .mailboxes
        .entry(account.clone())
        .or_insert_with(mailbox::Mailbox::fresh);
    Json(
        json!({"emailAddress": account, "messagesTotal": 0, "threadsTotal": 0,
                "historyId": mailbox.history_id().to_string()}),
    )
    .into_response()
}

#[derive(Deserialize)]
struct HistoryQuery {
    #[serde(rename = "startHistoryId")]
    start: Option<String>,
    #[serde(rename = "pageToken")]
    page_token: Option<String>,
}

async fn history(
    State(fake): State<FakeGoogle>,
    headers: HeaderMap,
    Query(q): Query<HistoryQuery>,
) -> Response {
    let (account, _) = match reader(&fake, &headers, "history.list", HISTORY_UNITS) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(start) = q.start.as_deref().and_then(|s| s.parse::<u64>().ok()) else {
        return api_error(400, "Invalid startHistoryId", "invalidArgument");
    };
    let mut inner = fake.lock();
    let mailbox = inner
        .mailboxes
        .entry(account)
        .or_insert_with(mailbox::Mailbox::fresh);
    match mailbox.history_since(start, q.page_token.as_deref()) {
        Some(answer) => Json(answer).into_response(),
        None => api_error(404, "Requested entity was not found.", "notFound"),
    }
}

async fn list(
    State(fake): State<FakeGoogle>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (account, metadata_only) = match reader(&fake, &headers, "messages.list", LIST_UNITS) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if metadata_only && q.contains_key("q") {
        return api_error(
            403,
            "Metadata scope does not support 'q' parameter",
            "forbidden",
        );
    }
    let mut inner = fake.lock();
    let mailbox = inner
        .mailboxes
        .entry(account)
        .or_insert_with(mailbox::Mailbox::fresh);
    Json(mailbox.list(q.get("pageToken").map(String::as_str))).into_response()
}

/// `format` and the repeated `metadataHeaders` of a read.
fn metadata_query(query: Option<&str>) -> (String, Vec<String>) {
    let mut format = "full".to_string();
    let mut wanted = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match &*k {
            "format" => format = v.into_owned(),
            "metadataHeaders" => wanted.push(v.into_owned()),
            _ => {}
        }
    }
    (format, wanted)
}

async fn message(
    State(fake): State<FakeGoogle>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
    uri: axum::http::Uri,
) -> Response {
    read_one(&fake, &headers, &uri, "messages.get", GET_UNITS, |m, w| {
        m.metadata(&id, w)
    })
}

async fn thread(
    State(fake): State<FakeGoogle>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
    uri: axum::http::Uri,
) -> Response {
    read_one(
        &fake,
        &headers,
        &uri,
        "threads.get",
        THREAD_UNITS,
        |m, w| m.thread(&id, w),
    )
}

fn read_one(
    fake: &FakeGoogle,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    endpoint: &'static str,
    units: u64,
    find: impl Fn(&mailbox::Mailbox, &[String]) -> Option<serde_json::Value>,
) -> Response {
    let (account, metadata_only) = match reader(fake, headers, endpoint, units) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (format, wanted) = metadata_query(uri.query());
    if metadata_only && format != "metadata" && format != "minimal" {
        return api_error(
            403,
            &format!(
                "Metadata scope doesn't allow format {}",
                format.to_uppercase()
            ),
            "forbidden",
        );
    }
    let inner = fake.lock();
    match inner.mailboxes.get(&account).and_then(|m| find(m, &wanted)) {
        Some(answer) => Json(answer).into_response(),
        None => api_error(404, "Requested entity was not found.", "notFound"),
    }
}

// --- test controls ------------------------------------------------------------------

#[derive(Deserialize)]
struct AccountQuery {
    email: Option<String>,
}

async fn list_messages(State(fake): State<FakeGoogle>, Query(q): Query<AccountQuery>) -> Response {
    let list: Vec<serde_json::Value> = fake
        .received(q.email.as_deref())
        .iter()
        .map(Received::summary)
        .collect();
    Json(list).into_response()
}

async fn control_fail(State(fake): State<FakeGoogle>, Json(f): Json<Failure>) -> StatusCode {
    fake.fail_next(f);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct DelayBody {
    ms: u64,
}

async fn control_delay(State(fake): State<FakeGoogle>, Json(d): Json<DelayBody>) -> StatusCode {
    fake.set_delay(Duration::from_millis(d.ms));
    StatusCode::NO_CONTENT
}

async fn control_consent(
    State(fake): State<FakeGoogle>,
    Json(auto): Json<Option<AutoConsent>>,
) -> StatusCode {
    fake.set_auto_consent(auto);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct EmailBody {
    email: String,
}

async fn control_revoke(State(fake): State<FakeGoogle>, Json(b): Json<EmailBody>) -> StatusCode {
    fake.revoke_user(&b.email);
    StatusCode::NO_CONTENT
}

async fn control_expire(State(fake): State<FakeGoogle>, Json(b): Json<EmailBody>) -> StatusCode {
    fake.expire_access_tokens(&b.email);
    StatusCode::NO_CONTENT
}

async fn control_mailbox(State(fake): State<FakeGoogle>, Json(m): Json<Incoming>) -> Response {
    Json(json!({"id": fake.deliver(&m)})).into_response()
}

async fn control_expire_history(
    State(fake): State<FakeGoogle>,
    Json(b): Json<EmailBody>,
) -> StatusCode {
    fake.expire_history(&b.email);
    StatusCode::NO_CONTENT
}

async fn control_reset(State(fake): State<FakeGoogle>) -> StatusCode {
    let mut inner = fake.lock();
    inner.received.clear();
    inner.failures.clear();
    inner.delay = Duration::ZERO;
    inner.auto = None;
    inner.sends = 0;
    inner.recent.clear();
    inner.peak_units.clear();
    inner.calls.clear();
    inner.rate_limited = 0;
    StatusCode::NO_CONTENT
}

async fn stats(State(fake): State<FakeGoogle>) -> Response {
    let inner = fake.lock();
    Json(
        json!({"sends": inner.sends, "token_requests": inner.token_requests,
                "rate_limited": inner.rate_limited}),
    )
    .into_response()
}

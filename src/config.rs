//! Settings from the environment (and `.env` when present).
//!
//! Every variable has a default that runs the app on one machine. A malformed value
//! stops start-up with one line naming the variable; a secret's value is never echoed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::{SecretBox, SecretString};
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/mailmerger";
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:3000";

pub struct Config {
    pub database_url: String,
    pub redis_url: String,
    /// The public URL; its origin is "our origin" for the same-origin check.
    pub base_url: Url,
    /// Master key for encryption at rest (subkeys are derived from it).
    pub secret_key: SecretBox<[u8; 32]>,
    /// `APP_SECRET_KEY_PREVIOUS`: the key before a rotation, still accepted
    /// when checking unsubscribe links (docs/unsubscribe.md).
    pub previous_secret_key: Option<SecretBox<[u8; 32]>>,
    /// Set when the key was generated for development rather than configured.
    pub secret_key_generated: bool,
    pub data_dir: PathBuf,
    /// Every Redis key starts with this.
    pub redis_key_prefix: String,
    pub session_idle: Duration,
    pub login_throttle: LoginThrottle,
    /// Limits on what one client or user may make the server do.
    pub limits: Limits,
    /// Google sign-in and the Gmail API; `None` runs on the local outbox.
    pub google: Option<GoogleConfig>,
    /// Send through this SMTP server instead (`smtp://`, `smtps://`); may carry a password.
    pub smtp_url: Option<SecretString>,
    /// Where the local outbox writes `.eml` files.
    pub outbox_dir: PathBuf,
    /// The product's own mail (verification and reset links, notices): never
    /// through a user's Gmail (docs/accounts.md, "System mail").
    pub system_mail: SystemMailConfig,
    /// A session ends this long after it started, however active
    /// (`SESSION_MAX_DAYS`, default 30).
    pub session_max_age: Duration,
    /// Who may create an account (`SIGNUP`, docs/accounts.md).
    pub signup: SignupPolicy,
    /// `ADMIN_EMAILS`, lowercased: these accounts, once verified, get the
    /// Admin page.
    pub admin_emails: Vec<String>,
    /// Timeout of every call to Google or an SMTP server.
    pub http_timeout: Duration,
    pub delivery: DeliveryConfig,
    pub storage: StorageConfig,
    /// The largest file a user may upload (`UPLOAD_MAX_MB`, default 10).
    pub upload_max_bytes: u64,
    /// `TEST_CONTROLS=true`: answer the tests' controls (moving the clock).
    /// They exist only in builds with the fake-google feature, never in
    /// release builds or the image.
    pub test_controls: bool,
}

/// Who may create an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignupPolicy {
    /// Anyone (the default).
    Open,
    /// Addresses at these domains (lowercase, `SIGNUP_ALLOWED_DOMAINS`); a
    /// password account can do nothing until its address is verified, and a
    /// Google account must belong to one of them (its `hd` claim).
    Domains(Vec<String>),
    /// Only existing users; `mailmerger create-user` makes new ones.
    Closed,
}

impl SignupPolicy {
    /// The part of an address after its last `@`, lowercased.
    pub fn domain_of(address: &str) -> String {
        address
            .rsplit_once('@')
            .map(|(_, d)| d.trim().to_lowercase())
            .unwrap_or_default()
    }

    /// Whether a password sign-up with `address` is allowed.
    pub fn allows_address(&self, address: &str) -> bool {
        match self {
            SignupPolicy::Open => true,
            SignupPolicy::Domains(domains) => domains.contains(&Self::domain_of(address)),
            SignupPolicy::Closed => false,
        }
    }

    /// Whether a Google sign-up whose hosted domain is `hd` is allowed.
    pub fn allows_google(&self, hd: Option<&str>) -> bool {
        match self {
            SignupPolicy::Open => true,
            SignupPolicy::Domains(domains) => {
                hd.is_some_and(|hd| domains.contains(&hd.trim().to_lowercase()))
            }
            SignupPolicy::Closed => false,
        }
    }

    /// Under `domains`, an unverified account can do nothing.
    pub fn requires_verification(&self) -> bool {
        matches!(self, SignupPolicy::Domains(_))
    }
}

fn signup(get: &impl Fn(&str) -> Option<String>) -> Result<SignupPolicy, ConfigError> {
    match get("SIGNUP").as_deref().map(str::trim).unwrap_or("open") {
        "open" => Ok(SignupPolicy::Open),
        "closed" => Ok(SignupPolicy::Closed),
        "domains" => {
            let domains: Vec<String> = get("SIGNUP_ALLOWED_DOMAINS")
                .unwrap_or_default()
                .split(',')
                .map(|d| d.trim().trim_start_matches('@').to_lowercase())
                .filter(|d| !d.is_empty())
                .collect();
            if domains.is_empty() {
                return Err(bad(
                    "SIGNUP_ALLOWED_DOMAINS",
                    "must name at least one domain when SIGNUP=domains (e.g. example.com,example.org)",
                ));
            }
            if let Some(d) = domains
                .iter()
                .find(|d| !d.contains('.') || d.contains(['@', ' ', '/']))
            {
                return Err(bad(
                    "SIGNUP_ALLOWED_DOMAINS",
                    format!("{d:?} is not a domain"),
                ));
            }
            Ok(SignupPolicy::Domains(domains))
        }
        other => Err(bad(
            "SIGNUP",
            format!("must be open, domains or closed (got {other:?})"),
        )),
    }
}

/// How the product's own mail leaves.
pub struct SystemMailConfig {
    /// `SYSTEM_SMTP_URL`; without it, `.eml` files in `<OUTBOX_DIR>/system/`.
    pub smtp_url: Option<SecretString>,
    /// `SYSTEM_FROM`: a mailbox (`MailMerger <no-reply@example.com>`); by
    /// default `no-reply@` the host of `APP_BASE_URL`.
    pub from: lettre::message::Mailbox,
    /// Where the mail goes without `SYSTEM_SMTP_URL`.
    pub outbox_dir: PathBuf,
}

/// Where uploaded files live.
pub enum StorageConfig {
    /// `STORAGE=fs`: a directory (`STORAGE_DIR`, default `./data/files`).
    Fs { dir: PathBuf },
    /// `STORAGE=s3`: a bucket on S3 or an S3-compatible store.
    S3(S3Config),
}

pub struct S3Config {
    /// A custom endpoint (Supabase, MinIO, R2, moto); AWS itself when unset.
    pub endpoint: Option<Url>,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: Option<SecretString>,
    pub timeout: Duration,
}

impl StorageConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            StorageConfig::Fs { .. } => "fs",
            StorageConfig::S3(_) => "s3",
        }
    }
}

pub struct GoogleConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    pub auth_url: Url,
    pub token_url: Url,
    pub userinfo_url: Url,
    pub revoke_url: Url,
    /// Base of the Gmail API (`https://gmail.googleapis.com`).
    pub gmail_api_url: Url,
}

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Run the loop in this process (tests drive it step by step instead).
    pub enabled: bool,
    /// Loops per process; each claims and sends one batch at a time.
    pub workers: usize,
    pub batch_size: i64,
    /// Attempts before a message that keeps failing temporarily is failed.
    pub max_attempts: i32,
    /// Pace each account (Gmail's per-user quota, the user's gap between sends).
    pub pacing: bool,
    /// Gmail API quota units per user per minute (`GMAIL_USER_UNITS_PER_MINUTE`):
    /// the budget that sending (100 units a message) and, later, reading replies share.
    pub gmail_units_per_minute: u64,
    /// Sends per minute per account when pacing: 90 % of the units, at 100 units a
    /// send (54 for the default 6,000), or `GMAIL_SENDS_PER_MINUTE` as given.
    pub sends_per_minute: u64,
    /// How long a claim owns its rows; longer than any send can take.
    pub lease: Duration,
    /// After SIGTERM: how long sends already in flight may take before they are
    /// recorded as `uncertain` and the process exits (`SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace: Duration,
}

/// What one `messages.send` costs in Gmail API quota units.
pub const GMAIL_SEND_UNITS: u64 = 100;

impl DeliveryConfig {
    /// The quota units reading an account's mailbox (stop on reply) may spend
    /// in any 60 seconds: half of what the sending pace leaves of the per-user
    /// quota (300 of the default 6,000), so that sends and reads together
    /// still keep some headroom (docs/replies.md, "The quota").
    pub fn read_units_per_minute(&self) -> u32 {
        let left = self
            .gmail_units_per_minute
            .saturating_sub(self.sends_per_minute * GMAIL_SEND_UNITS);
        (left / 2).min(u32::MAX as u64) as u32
    }
}

/// The share of the per-user quota we plan to use: the rest absorbs clock skew and
/// the spread of one burst's sends.
pub const GMAIL_QUOTA_HEADROOM_PERCENT: u64 = 10;

/// The pace from `GMAIL_USER_UNITS_PER_MINUTE` (default 6,000: Google Cloud projects
/// created from May 2026) or its alias `GMAIL_SENDS_PER_MINUTE`; not both.
fn gmail_pace(get: &impl Fn(&str) -> Option<String>) -> Result<(u64, u64), ConfigError> {
    let units = get("GMAIL_USER_UNITS_PER_MINUTE");
    let sends = get("GMAIL_SENDS_PER_MINUTE");
    if units.is_some() && sends.is_some() {
        return Err(bad(
            "GMAIL_SENDS_PER_MINUTE",
            "set GMAIL_USER_UNITS_PER_MINUTE or GMAIL_SENDS_PER_MINUTE, not both",
        ));
    }
    if sends.is_some() {
        let per_minute = number(get, "GMAIL_SENDS_PER_MINUTE", 1)?;
        return Ok((per_minute * GMAIL_SEND_UNITS, per_minute));
    }
    let units = number(get, "GMAIL_USER_UNITS_PER_MINUTE", 6_000)?;
    let per_minute = units * (100 - GMAIL_QUOTA_HEADROOM_PERCENT) / 100 / GMAIL_SEND_UNITS;
    if per_minute == 0 {
        return Err(bad(
            "GMAIL_USER_UNITS_PER_MINUTE",
            "must allow at least one send a minute (112 units or more: a send costs 100, and 10 % is kept back)",
        ));
    }
    Ok((units, per_minute))
}

/// How a message leaves: chosen once from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Gmail,
    Smtp,
    Outbox,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Gmail => "gmail",
            TransportKind::Smtp => "smtp",
            TransportKind::Outbox => "outbox",
        }
    }
}

/// Limits against abuse (docs/limits.md).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Proxies in front of us that append to `X-Forwarded-For` (`TRUSTED_PROXY_HOPS`).
    /// 0: the header is ignored and the socket address is the client.
    pub trusted_proxy_hops: usize,
    /// Password hashes computed at once (`PASSWORD_HASH_CONCURRENCY`, default the cores).
    pub hash_concurrency: usize,
    /// Requests that may wait for a hash (`PASSWORD_HASH_QUEUE`); beyond, 503.
    pub hash_queue: usize,
    /// Sign-ups from one IP address per window (`SIGNUP_MAX_PER_IP`, default 10).
    pub signups_per_ip: u64,
    /// The window of the sign-up limit (`SIGNUP_WINDOW_SECS`, default 3600).
    pub signup_window: Duration,
    /// Merges (rendering every row of a CSV) running at once (`RENDER_CONCURRENCY`).
    pub render_concurrency: usize,
    /// The bearer token `/metrics` requires; without it `/metrics` is 404.
    pub metrics_token: Option<SecretString>,
    /// Per-user requests per minute to the expensive server functions.
    pub per_minute: PerMinute,
    /// Uploaded CSV imports are deleted after this many days
    /// (`IMPORT_RETENTION_DAYS`), unless queued mail still comes from them.
    pub import_retention_days: i32,
    /// What one user's files may add up to (`STORAGE_QUOTA_MB`, default 200).
    pub storage_quota_bytes: u64,
}

/// Requests per user per minute (`RATE_*_PER_MINUTE`), counted in Redis so the
/// limit holds across instances.
#[derive(Debug, Clone, Copy)]
pub struct PerMinute {
    /// Both previews: Write email's and the template editor's.
    pub previews: u64,
    /// Views of a merge report (each renders every row).
    pub reports: u64,
    /// CSV and file uploads.
    pub uploads: u64,
    /// Queueing, and the queue page's actions.
    pub queue_actions: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    /// Failed logins for one email address before it is slowed down.
    pub max_failures_per_email: u64,
    /// Failed logins from one IP address before it is slowed down.
    pub max_failures_per_ip: u64,
    pub window: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn bad(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads settings through `get`, so tests can pass their own values. Each
    /// section is parsed by its own function below; the first bad value stops
    /// the start, naming its variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database_url = service_url(
            &get,
            "DATABASE_URL",
            DEFAULT_DATABASE_URL,
            &["postgres", "postgresql"],
            "must start with postgres://",
        )?;
        let redis_url = service_url(
            &get,
            "REDIS_URL",
            DEFAULT_REDIS_URL,
            &["redis", "rediss"],
            "must start with redis:// or rediss://",
        )?;
        let base_url = base_url(&get)?;
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "./data".into()));
        let (secret_key, secret_key_generated) = match get("APP_SECRET_KEY") {
            Some(raw) => (parse_secret_key(&raw)?, false),
            None => (dev_secret_key(&data_dir)?, true),
        };
        // Still accepted for unsubscribe links after APP_SECRET_KEY is rotated.
        let previous_secret_key = get("APP_SECRET_KEY_PREVIOUS")
            .map(|raw| parse_key("APP_SECRET_KEY_PREVIOUS", &raw))
            .transpose()?;
        let redis_key_prefix = redis_key_prefix(&get)?;
        let session_idle = Duration::from_secs(60 * number(&get, "SESSION_IDLE_MINUTES", 1440)?);
        let login_throttle = LoginThrottle {
            max_failures_per_email: number(&get, "LOGIN_MAX_FAILURES", 5)?,
            max_failures_per_ip: number(&get, "LOGIN_MAX_FAILURES_PER_IP", 50)?,
            window: Duration::from_secs(number(&get, "LOGIN_THROTTLE_WINDOW_SECS", 900)?),
        };
        let http_timeout = Duration::from_secs(number(&get, "HTTP_TIMEOUT_SECS", 30)?);
        let outbox_dir = get("OUTBOX_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("outbox"));
        let session_max_days = number(&get, "SESSION_MAX_DAYS", 30)?;
        if session_max_days == 0 {
            return Err(bad("SESSION_MAX_DAYS", "must be at least 1"));
        }
        Ok(Config {
            system_mail: system_mail(&get, &base_url, &outbox_dir)?,
            session_max_age: Duration::from_secs(86_400 * session_max_days.min(3650)),
            signup: signup(&get)?,
            admin_emails: get("ADMIN_EMAILS")
                .unwrap_or_default()
                .split(',')
                .map(|a| a.trim().to_lowercase())
                .filter(|a| !a.is_empty())
                .collect(),
            limits: limits(&get)?,
            google: google(&get)?,
            smtp_url: smtp_url(&get)?,
            outbox_dir,
            delivery: delivery(&get, http_timeout)?,
            storage: storage(&get, &data_dir, http_timeout)?,
            upload_max_bytes: upload_max_bytes(&get)?,
            test_controls: boolean(&get, "TEST_CONTROLS", false)?,
            database_url,
            redis_url,
            base_url,
            secret_key,
            previous_secret_key,
            secret_key_generated,
            data_dir,
            redis_key_prefix,
            session_idle,
            login_throttle,
            http_timeout,
        })
    }

    /// Gmail when Google is configured, else SMTP when configured, else the outbox.
    pub fn transport(&self) -> TransportKind {
        if self.google.is_some() {
            TransportKind::Gmail
        } else if self.smtp_url.is_some() {
            TransportKind::Smtp
        } else {
            TransportKind::Outbox
        }
    }

    /// `scheme://host[:port]` of `APP_BASE_URL`, as browsers send it in `Origin`.
    pub fn origin(&self) -> String {
        self.base_url.origin().ascii_serialization()
    }

    /// Cookies get `Secure` only when the public URL is https.
    pub fn is_https(&self) -> bool {
        self.base_url.scheme() == "https"
    }
}

/// A service's URL with one of the schemes it speaks.
fn service_url(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: &str,
    schemes: &[&str],
    wrong_scheme: &'static str,
) -> Result<String, ConfigError> {
    let raw = get(var).unwrap_or_else(|| default.into());
    let parsed = Url::parse(&raw).map_err(|e| bad(var, format!("not a URL ({e})")))?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(bad(var, wrong_scheme));
    }
    Ok(raw)
}

fn base_url(get: &impl Fn(&str) -> Option<String>) -> Result<Url, ConfigError> {
    let raw = get("APP_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.into());
    let base_url = Url::parse(&raw).map_err(|e| {
        bad(
            "APP_BASE_URL",
            format!("not a URL ({e}); expected e.g. {DEFAULT_BASE_URL}"),
        )
    })?;
    if !matches!(base_url.scheme(), "http" | "https") || base_url.host().is_none() {
        return Err(bad(
            "APP_BASE_URL",
            format!("must be an http(s) URL such as {DEFAULT_BASE_URL}"),
        ));
    }
    Ok(base_url)
}

fn redis_key_prefix(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let prefix = get("REDIS_KEY_PREFIX").unwrap_or_else(|| "mm:".into());
    if prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(
            "REDIS_KEY_PREFIX",
            "must not contain spaces or control characters",
        ));
    }
    Ok(prefix)
}

/// Google sign-in and Gmail: on when `GOOGLE_CLIENT_ID` is set.
fn google(get: &impl Fn(&str) -> Option<String>) -> Result<Option<GoogleConfig>, ConfigError> {
    let Some(client_id) = get("GOOGLE_CLIENT_ID") else {
        return Ok(None);
    };
    let client_secret = get("GOOGLE_CLIENT_SECRET").ok_or_else(|| {
        bad(
            "GOOGLE_CLIENT_SECRET",
            "must be set when GOOGLE_CLIENT_ID is (the OAuth client's secret)",
        )
    })?;
    Ok(Some(GoogleConfig {
        client_id: client_id.trim().to_string(),
        client_secret: SecretString::from(client_secret.trim().to_string()),
        auth_url: http_url(
            get,
            "GOOGLE_AUTH_URL",
            "https://accounts.google.com/o/oauth2/v2/auth",
        )?,
        token_url: http_url(
            get,
            "GOOGLE_TOKEN_URL",
            "https://oauth2.googleapis.com/token",
        )?,
        userinfo_url: http_url(
            get,
            "GOOGLE_USERINFO_URL",
            "https://openidconnect.googleapis.com/v1/userinfo",
        )?,
        revoke_url: http_url(
            get,
            "GOOGLE_REVOKE_URL",
            "https://oauth2.googleapis.com/revoke",
        )?,
        gmail_api_url: http_url(get, "GMAIL_API_URL", "https://gmail.googleapis.com")?,
    }))
}

fn smtp_url(get: &impl Fn(&str) -> Option<String>) -> Result<Option<SecretString>, ConfigError> {
    let Some(raw) = get("SMTP_URL") else {
        return Ok(None);
    };
    let parsed = Url::parse(raw.trim())
        .map_err(|_| bad("SMTP_URL", "not a URL; expected e.g. smtp://127.0.0.1:1025"))?;
    if !matches!(parsed.scheme(), "smtp" | "smtps") {
        return Err(bad("SMTP_URL", "must start with smtp:// or smtps://"));
    }
    Ok(Some(SecretString::from(raw.trim().to_string())))
}

fn system_mail(
    get: &impl Fn(&str) -> Option<String>,
    base_url: &Url,
    outbox_dir: &Path,
) -> Result<SystemMailConfig, ConfigError> {
    let smtp_url = match get("SYSTEM_SMTP_URL") {
        None => None,
        Some(raw) => {
            let parsed = Url::parse(raw.trim()).map_err(|_| {
                bad(
                    "SYSTEM_SMTP_URL",
                    "not a URL; expected e.g. smtps://user:password@smtp.example.com",
                )
            })?;
            if !matches!(parsed.scheme(), "smtp" | "smtps") {
                return Err(bad(
                    "SYSTEM_SMTP_URL",
                    "must start with smtp:// or smtps://",
                ));
            }
            Some(SecretString::from(raw.trim().to_string()))
        }
    };
    let from = match get("SYSTEM_FROM") {
        Some(raw) => raw.trim().parse().map_err(|_| {
            bad(
                "SYSTEM_FROM",
                "not a mailbox; expected e.g. MailMerger <no-reply@example.com>",
            )
        })?,
        None => {
            let host = base_url.host_str().unwrap_or("localhost");
            // An IP address is no mail domain: `localhost` stands in for it.
            let domain = if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
                "localhost"
            } else {
                host
            };
            format!("MailMerger <no-reply@{domain}>")
                .parse()
                .map_err(|_| {
                    bad(
                        "SYSTEM_FROM",
                        "must be set: APP_BASE_URL's host is no mail domain",
                    )
                })?
        }
    };
    Ok(SystemMailConfig {
        smtp_url,
        from,
        outbox_dir: outbox_dir.join("system"),
    })
}

fn delivery(
    get: &impl Fn(&str) -> Option<String>,
    http_timeout: Duration,
) -> Result<DeliveryConfig, ConfigError> {
    // A send is at most four calls (refresh, send, refresh after a 401, send
    // again), each within the timeout.
    let lease = match get("DELIVERY_LEASE_SECS") {
        None => http_timeout * 4 + Duration::from_secs(30),
        Some(_) => {
            let lease = Duration::from_secs(number(get, "DELIVERY_LEASE_SECS", 150)?);
            if lease <= http_timeout {
                return Err(bad(
                    "DELIVERY_LEASE_SECS",
                    "must be longer than HTTP_TIMEOUT_SECS, or a slow send would be taken for a dead one",
                ));
            }
            lease
        }
    };
    let (gmail_units_per_minute, sends_per_minute) = gmail_pace(get)?;
    Ok(DeliveryConfig {
        enabled: boolean(get, "DELIVERY_LOOP", true)?,
        workers: number(get, "DELIVERY_WORKERS", 2)? as usize,
        batch_size: number(get, "DELIVERY_BATCH_SIZE", 50)? as i64,
        max_attempts: number(get, "DELIVERY_MAX_ATTEMPTS", 8)?.min(1000) as i32,
        pacing: boolean(get, "DELIVERY_PACING", true)?,
        gmail_units_per_minute,
        sends_per_minute,
        lease,
        shutdown_grace: Duration::from_secs(number(get, "SHUTDOWN_GRACE_SECS", 8)?.min(3600)),
    })
}

fn upload_max_bytes(get: &impl Fn(&str) -> Option<String>) -> Result<u64, ConfigError> {
    let mb = number(get, "UPLOAD_MAX_MB", 10)?;
    if mb > 25 {
        return Err(bad(
            "UPLOAD_MAX_MB",
            "must be at most 25 (Gmail takes 25 MB per message)",
        ));
    }
    Ok(mb * 1024 * 1024)
}

fn storage(
    get: &impl Fn(&str) -> Option<String>,
    data_dir: &Path,
    timeout: Duration,
) -> Result<StorageConfig, ConfigError> {
    // S3 when a bucket is named, unless STORAGE says otherwise.
    let default = if get("S3_BUCKET").is_some() {
        "s3"
    } else {
        "fs"
    };
    match get("STORAGE").as_deref().map(str::trim).unwrap_or(default) {
        "fs" => Ok(StorageConfig::Fs {
            dir: get("STORAGE_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("files")),
        }),
        "s3" => {
            let need =
                |var: &'static str| get(var).ok_or_else(|| bad(var, "must be set when STORAGE=s3"));
            let endpoint = match get("S3_ENDPOINT") {
                None => None,
                Some(_) => Some(http_url(get, "S3_ENDPOINT", "")?),
            };
            Ok(StorageConfig::S3(S3Config {
                endpoint,
                bucket: need("S3_BUCKET")?.trim().to_string(),
                region: get("S3_REGION")
                    .or_else(|| get("AWS_REGION"))
                    .unwrap_or_else(|| "us-east-1".into())
                    .trim()
                    .to_string(),
                access_key_id: need("AWS_ACCESS_KEY_ID")?.trim().to_string(),
                secret_access_key: SecretString::from(
                    need("AWS_SECRET_ACCESS_KEY")?.trim().to_string(),
                ),
                session_token: get("AWS_SESSION_TOKEN")
                    .map(|t| SecretString::from(t.trim().to_string())),
                timeout,
            }))
        }
        other => Err(bad("STORAGE", format!("must be fs or s3 (got {other:?})"))),
    }
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match whole(get, var, default) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad(
            var,
            format!(
                "must be a whole number above 0 (got {:?})",
                get(var).unwrap_or_default()
            ),
        )),
    }
}

fn http_url(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: &str,
) -> Result<Url, ConfigError> {
    let raw = get(var).unwrap_or_else(|| default.to_string());
    let url = Url::parse(raw.trim()).map_err(|e| bad(var, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad(var, "must be an http(s) URL"));
    }
    Ok(url)
}

fn limits(get: &impl Fn(&str) -> Option<String>) -> Result<Limits, ConfigError> {
    if get("TRUST_FORWARDED_FOR").is_some() {
        return Err(bad(
            "TRUST_FORWARDED_FOR",
            "is replaced by TRUSTED_PROXY_HOPS: set it to the number of proxies in front of MailMerger (1 for one load balancer), and remove TRUST_FORWARDED_FOR",
        ));
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let metrics_token = match get("METRICS_TOKEN") {
        None => None,
        Some(t) if t.trim().len() < 16 => {
            return Err(bad("METRICS_TOKEN", "must be at least 16 characters"));
        }
        Some(t) => Some(SecretString::from(t.trim().to_string())),
    };
    Ok(Limits {
        trusted_proxy_hops: whole(get, "TRUSTED_PROXY_HOPS", 0)?.min(16) as usize,
        hash_concurrency: number(get, "PASSWORD_HASH_CONCURRENCY", cores)?.min(64) as usize,
        hash_queue: whole(get, "PASSWORD_HASH_QUEUE", 4 * cores)?.min(10_000) as usize,
        signups_per_ip: number(get, "SIGNUP_MAX_PER_IP", 10)?,
        signup_window: Duration::from_secs(number(get, "SIGNUP_WINDOW_SECS", 3600)?),
        render_concurrency: number(get, "RENDER_CONCURRENCY", cores.saturating_sub(1).max(1))?
            .min(64) as usize,
        metrics_token,
        per_minute: PerMinute {
            previews: number(get, "RATE_PREVIEWS_PER_MINUTE", 60)?,
            reports: number(get, "RATE_REPORTS_PER_MINUTE", 30)?,
            uploads: number(get, "RATE_UPLOADS_PER_MINUTE", 20)?,
            queue_actions: number(get, "RATE_QUEUE_ACTIONS_PER_MINUTE", 60)?,
        },
        import_retention_days: number(get, "IMPORT_RETENTION_DAYS", 7)?.min(3650) as i32,
        storage_quota_bytes: number(get, "STORAGE_QUOTA_MB", 200)?.min(1 << 30) * 1024 * 1024,
    })
}

/// A whole number, 0 allowed.
fn whole(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map_err(|_| bad(var, format!("must be a whole number (got {v:?})"))),
    }
}

fn boolean(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(var).as_deref().map(str::trim) {
        None => Ok(default),
        Some("1" | "true" | "yes") => Ok(true),
        Some("0" | "false" | "no") => Ok(false),
        Some(v) => Err(bad(var, format!("must be true or false (got {v:?})"))),
    }
}

fn parse_secret_key(raw: &str) -> Result<SecretBox<[u8; 32]>, ConfigError> {
    parse_key("APP_SECRET_KEY", raw)
}

fn parse_key(var: &'static str, raw: &str) -> Result<SecretBox<[u8; 32]>, ConfigError> {
    let bytes = BASE64
        .decode(raw.trim())
        .map_err(|_| bad(var, "must be base64 (try: openssl rand -base64 32)"))?;
    let key: [u8; 32] = bytes.try_into().map_err(|_| {
        bad(
            var,
            "must decode to exactly 32 bytes (try: openssl rand -base64 32)",
        )
    })?;
    Ok(SecretBox::new(Box::new(key)))
}

/// Development only: a key generated once and kept under the data directory.
fn dev_secret_key(data_dir: &Path) -> Result<SecretBox<[u8; 32]>, ConfigError> {
    let path = data_dir.join("secret.key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return parse_secret_key(&existing).map_err(|e| {
            bad(
                "APP_SECRET_KEY",
                format!("{} (in {})", e.message, path.display()),
            )
        });
    }
    let mut key = [0u8; 32];
    rand::Rng::fill(&mut rand::rngs::OsRng, &mut key[..]);
    std::fs::create_dir_all(data_dir)
        .and_then(|_| write_private(&path, BASE64.encode(key).as_bytes()))
        .map_err(|e| {
            bad(
                "APP_SECRET_KEY",
                format!("not set, and {} could not be written: {e}", path.display()),
            )
        })?;
    Ok(SecretBox::new(Box::new(key)))
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents)
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("****"));
            }
            url.to_string()
        }
        Err(_) => "(unparseable URL)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir().join(format!("mm-config-{}", uuid::Uuid::new_v4()));
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("DATA_DIR".into())
            .or_insert(dir.display().to_string());
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn gmail_pace_comes_from_the_per_user_unit_budget() {
        // 6,000 units (projects from May 2026), 10 % kept back, 100 units a send.
        let d = config(&[]).unwrap().delivery;
        assert_eq!((d.gmail_units_per_minute, d.sends_per_minute), (6_000, 54));
        let d = config(&[("GMAIL_USER_UNITS_PER_MINUTE", "15000")])
            .unwrap()
            .delivery;
        assert_eq!(d.sends_per_minute, 135);
        // The old setting still works, taken as it is.
        let d = config(&[("GMAIL_SENDS_PER_MINUTE", "150")])
            .unwrap()
            .delivery;
        assert_eq!(
            (d.gmail_units_per_minute, d.sends_per_minute),
            (15_000, 150)
        );
        let e = config(&[
            ("GMAIL_SENDS_PER_MINUTE", "150"),
            ("GMAIL_USER_UNITS_PER_MINUTE", "6000"),
        ])
        .err()
        .unwrap();
        assert!(e.to_string().contains("not both"), "{e}");
        let e = config(&[("GMAIL_USER_UNITS_PER_MINUTE", "100")])
            .err()
            .unwrap();
        assert!(e.to_string().contains("at least one send a minute"), "{e}");
        assert_eq!(
            config(&[]).unwrap().delivery.shutdown_grace,
            Duration::from_secs(8)
        );
    }

    #[test]
    fn defaults_run_on_one_machine() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.origin(), "http://127.0.0.1:3000");
        assert!(!c.is_https());
        assert!(c.secret_key_generated);
        assert_eq!(c.login_throttle.max_failures_per_email, 5);
        assert_eq!(c.transport(), TransportKind::Outbox);
        assert!(c.delivery.lease > c.http_timeout * 2);
    }

    #[test]
    fn storage_is_a_directory_unless_a_bucket_is_named() {
        let c = config(&[]).unwrap();
        assert!(
            matches!(&c.storage, StorageConfig::Fs { dir } if *dir == c.data_dir.join("files"))
        );
        assert_eq!(c.upload_max_bytes, 10 * 1024 * 1024);
        let e = config(&[("S3_BUCKET", "mail")]).err().unwrap();
        assert_eq!(e.var, "AWS_ACCESS_KEY_ID");
        let c = config(&[
            ("S3_BUCKET", "mail"),
            ("S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("AWS_ACCESS_KEY_ID", "key"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("UPLOAD_MAX_MB", "2"),
        ])
        .unwrap();
        let StorageConfig::S3(s3) = &c.storage else {
            panic!("expected S3");
        };
        assert_eq!(s3.region, "us-east-1");
        assert_eq!(
            s3.endpoint.as_ref().unwrap().as_str(),
            "http://127.0.0.1:9000/"
        );
        assert_eq!(c.upload_max_bytes, 2 * 1024 * 1024);
        let e = config(&[("UPLOAD_MAX_MB", "50")]).err().unwrap();
        assert_eq!(e.var, "UPLOAD_MAX_MB");
        let e = config(&[("STORAGE", "ftp")]).err().unwrap();
        assert_eq!(e.var, "STORAGE");
        let e = config(&[("STORAGE", "s3"), ("S3_ENDPOINT", "nope")])
            .err()
            .unwrap();
        assert_eq!(e.var, "S3_ENDPOINT");
        let e = config(&[("STORAGE", "s3")]).err().unwrap();
        assert_eq!(e.var, "S3_BUCKET");
    }

    #[test]
    fn a_generated_key_is_kept_for_the_next_start() {
        use secrecy::ExposeSecret;
        let dir = std::env::temp_dir().join(format!("mm-key-{}", uuid::Uuid::new_v4()));
        let d = dir.display().to_string();
        let a = config(&[("DATA_DIR", &d)]).unwrap();
        let b = config(&[("DATA_DIR", &d)]).unwrap();
        assert_eq!(a.secret_key.expose_secret(), b.secret_key.expose_secret());
    }

    #[test]
    fn malformed_values_name_their_variable() {
        let e = config(&[("APP_BASE_URL", "ftp://x")]).err().unwrap();
        assert_eq!(e.var, "APP_BASE_URL");
        let e = config(&[("APP_SECRET_KEY", "c2hvcnQ=")]).err().unwrap();
        assert_eq!(e.var, "APP_SECRET_KEY");
        assert!(
            !e.to_string().contains("c2hvcnQ="),
            "echoed the secret: {e}"
        );
        let e = config(&[("LOGIN_MAX_FAILURES", "lots")]).err().unwrap();
        assert_eq!(e.var, "LOGIN_MAX_FAILURES");
        let e = config(&[("DATABASE_URL", "mysql://x")]).err().unwrap();
        assert_eq!(e.var, "DATABASE_URL");
        let e = config(&[("GOOGLE_CLIENT_ID", "id")]).err().unwrap();
        assert_eq!(e.var, "GOOGLE_CLIENT_SECRET");
        let e = config(&[
            ("GOOGLE_CLIENT_ID", "id"),
            ("GOOGLE_CLIENT_SECRET", "s"),
            ("GMAIL_API_URL", "gmail"),
        ])
        .err()
        .unwrap();
        assert_eq!(e.var, "GMAIL_API_URL");
        let e = config(&[("SMTP_URL", "http://x")]).err().unwrap();
        assert_eq!(e.var, "SMTP_URL");
    }

    #[test]
    fn sign_up_policy_system_mail_and_session_lifetime() {
        let c = config(&[]).unwrap();
        assert_eq!(c.signup, SignupPolicy::Open);
        assert_eq!(c.session_max_age, Duration::from_secs(30 * 86_400));
        assert_eq!(
            c.system_mail.from.to_string(),
            "MailMerger <no-reply@localhost>"
        );
        assert!(c.system_mail.outbox_dir.ends_with("outbox/system"));
        let c = config(&[
            ("SIGNUP", "domains"),
            ("SIGNUP_ALLOWED_DOMAINS", " Example.com, @example.org "),
            ("APP_BASE_URL", "https://mail.example.com"),
            ("ADMIN_EMAILS", "Root@Example.com"),
        ])
        .unwrap();
        let policy = &c.signup;
        assert_eq!(
            *policy,
            SignupPolicy::Domains(vec!["example.com".into(), "example.org".into()])
        );
        assert!(policy.allows_address("ada@EXAMPLE.com"));
        assert!(!policy.allows_address("ada@example.com.evil.test"));
        assert!(!policy.allows_address("ada@evil.test"));
        assert!(policy.allows_google(Some("example.org")));
        assert!(!policy.allows_google(None), "a gmail.com account has no hd");
        assert!(policy.requires_verification());
        assert_eq!(c.admin_emails, vec!["root@example.com"]);
        assert_eq!(
            c.system_mail.from.to_string(),
            "MailMerger <no-reply@mail.example.com>"
        );
        assert!(!SignupPolicy::Closed.allows_address("a@b.c"));
        for (vars, var) in [
            (vec![("SIGNUP", "domains")], "SIGNUP_ALLOWED_DOMAINS"),
            (vec![("SIGNUP", "maybe")], "SIGNUP"),
            (vec![("SESSION_MAX_DAYS", "0")], "SESSION_MAX_DAYS"),
            (vec![("SYSTEM_FROM", "not a mailbox")], "SYSTEM_FROM"),
            (vec![("SYSTEM_SMTP_URL", "http://x")], "SYSTEM_SMTP_URL"),
        ] {
            assert_eq!(config(&vars).err().unwrap().var, var, "{vars:?}");
        }
    }

    #[test]
    fn https_base_url_means_secure_cookies() {
        let c = config(&[("APP_BASE_URL", "https://mail.example.com/")]).unwrap();
        assert!(c.is_https());
        assert_eq!(c.origin(), "https://mail.example.com");
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/mm"),
            "postgres://app:****@db:5432/mm"
        );
    }
}

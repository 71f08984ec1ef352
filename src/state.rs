use crate::config::Config;
use crate::crypto::TokenCipher;
use crate::google::ssr::client::GoogleClient;
use crate::limits::CpuPool;
use crate::redis::RedisKeys;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use std::sync::Arc;

/// Everything a request or a background task needs: one shared `Services`,
/// so a clone is one reference count. Axum's middleware, leptos' contexts and
/// every server function clone it, several hundred times for one page; when it
/// was the struct itself (the token cipher's AES key schedule, the Redis key
/// prefix and the Leptos options among it) those copies were a third of a
/// page view's instructions (docs/operations.md, "The request path").
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl AppState {
    /// The same services with other claim-time rules (tests add their own).
    pub fn with_rules(&self, rules: crate::emails::Rules) -> AppState {
        let mut services = (*self.0).clone();
        services.rules = Arc::new(rules);
        AppState(Arc::new(services))
    }
}

/// What `AppState` shares.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub pool: PgPool,
    pub redis: fred::clients::Pool,
    pub keys: RedisKeys,
    pub leptos_options: LeptosOptions,
    /// Encrypts OAuth tokens at rest.
    pub cipher: TokenCipher,
    /// Google sign-in and Gmail, when configured.
    pub google: Option<Arc<GoogleClient>>,
    /// Where delivery loops wait for work; NOTIFY and local queueing wake them.
    pub wake: Arc<tokio::sync::Notify>,
    /// Uploaded files (S3 or a directory).
    pub storage: Arc<dyn crate::storage::Storage>,
    /// Password hashing: a few at a time (each holds 19 MiB), a short queue.
    pub hashing: Arc<CpuPool>,
    /// Rendering every row of a merge, off the async threads.
    pub rendering: Arc<CpuPool>,
    /// This app's own metrics recorder (`/metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The claim-time checks and outcome hooks every message goes through.
    pub rules: Arc<crate::emails::Rules>,
    /// Makes and checks unsubscribe links.
    pub links: crate::unsubscribe::ssr::links::Links,
    /// The product's own mail (links, notices), never through a user's Gmail.
    pub system_mail: Arc<crate::accounts::ssr::mail::SystemMail>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    pub fn new(
        config: Config,
        pool: PgPool,
        redis: fred::clients::Pool,
        leptos_options: LeptosOptions,
    ) -> Result<Self, String> {
        let google = match &config.google {
            Some(google) => {
                let redirect = config
                    .base_url
                    .join(crate::google::ssr::routes::CALLBACK_PATH)
                    .map_err(|e| format!("APP_BASE_URL: {e}"))?;
                let client = GoogleClient::new(google, redirect, config.http_timeout)
                    .map_err(|e| format!("Google client: {e}"))?;
                Some(Arc::new(client))
            }
            None => None,
        };
        let storage = crate::storage::from_config(&config.storage).map_err(|e| e.to_string())?;
        let limits = &config.limits;
        let hashing = CpuPool::new(
            "password hashing",
            limits.hash_concurrency,
            limits.hash_queue,
            std::time::Duration::from_secs(5),
        );
        let rendering = CpuPool::new(
            "merge rendering",
            limits.render_concurrency,
            4 * limits.render_concurrency,
            std::time::Duration::from_secs(20),
        );
        let links = crate::unsubscribe::ssr::links::Links::new(
            &config.secret_key,
            config.previous_secret_key.as_ref(),
            config.base_url.as_str(),
        );
        let system_mail =
            crate::accounts::ssr::mail::SystemMail::new(&config.system_mail, config.http_timeout)
                .map_err(|e| e.to_string())?;
        Ok(AppState(Arc::new(Services {
            system_mail: Arc::new(system_mail),
            storage,
            hashing: Arc::new(hashing),
            rendering: Arc::new(rendering),
            metrics: Arc::new(crate::metrics::Metrics::new()),
            rules: Arc::new(product_rules(&links)),
            links,
            keys: RedisKeys::new(config.redis_key_prefix.clone()),
            cipher: TokenCipher::new(&config.secret_key),
            google,
            wake: Arc::new(tokio::sync::Notify::new()),
            config: Arc::new(config),
            pool,
            redis,
            leptos_options,
        })))
    }
}

/// The rules every message goes through: the lifecycle's own checks, then
/// those of capabilities (docs/ARCHITECTURE.md, "Where the rules go").
pub fn product_rules(links: &crate::unsubscribe::ssr::links::Links) -> crate::emails::Rules {
    let mut rules = crate::emails::Rules::standard();
    rules
        .checks
        .push(Arc::new(crate::accounts::ssr::sending::SenderAllowed));
    rules
        .checks
        .push(Arc::new(crate::unsubscribe::ssr::check::NotSuppressed));
    rules
        .checks
        .push(Arc::new(crate::campaigns::ssr::rules::InCampaign));
    rules
        .checks
        .push(Arc::new(crate::replies::ssr::check::MailboxRead));
    rules
        .hooks
        .push(Arc::new(crate::campaigns::ssr::rules::NextStep {
            links: links.clone(),
        }));
    rules
}

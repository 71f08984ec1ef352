//! Connecting to Postgres and Redis at start-up, with one clear line on failure.

use crate::config::{Config, redact_url};
use crate::state::AppState;
use leptos::config::LeptosOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::str::FromStr;
use std::time::Duration;

/// How long a request waits for a database connection before answering 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long start-up waits for Postgres or Redis.
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection that sat idle at least this long is pinged before use.
const PING_AFTER_IDLE: Duration = Duration::from_secs(2);

/// The pool every instance uses. sqlx pings each connection it hands out by
/// default: a round trip before every query, a fifth of a page view's database
/// work. Here only one that has been idle a while is pinged (one that fails is
/// closed and another opened, so a restarted Postgres is found before a
/// request uses a dead connection); under load connections are never idle that
/// long (docs/operations.md, "The request path").
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(16)
        .min_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// Connects to the database in `url`, creating it first if it does not exist.
pub async fn connect_postgres(url: &str) -> Result<PgPool, String> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| format!("cannot use DATABASE_URL {}: {e}", redact_url(url)))?;
    let fail = |e: &dyn std::fmt::Display| {
        format!("cannot connect to PostgreSQL at {}: {e}", redact_url(url))
    };
    match connect(&options).await {
        Ok(pool) => Ok(pool),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
            create_database(&options).await.map_err(|e| fail(&e))?;
            tracing::info!(
                database = options.get_database().unwrap_or("?"),
                "created the database"
            );
            connect(&options).await.map_err(|e| fail(&e))
        }
        Err(e) => Err(fail(&e)),
    }
}

/// Postgres that is down should fail start-up within seconds, not hang.
async fn connect(options: &PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    // One plain connection first: its error says why (refused, auth, no such
    // database), where the pool would only say it timed out.
    let probe = tokio::time::timeout(START_TIMEOUT, options.connect())
        .await
        .map_err(|_| {
            sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no answer within 5 s",
            ))
        })??;
    probe.close().await?;
    tokio::time::timeout(START_TIMEOUT, pool_options().connect_with(options.clone()))
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
}

async fn create_database(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let name = options
        .get_database()
        .ok_or_else(|| sqlx::Error::Configuration("DATABASE_URL names no database".into()))?
        .to_string();
    let mut admin = options.clone().database("postgres").connect().await?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    let created = sqlx::query(&format!("CREATE DATABASE {quoted}"))
        .execute(&mut admin)
        .await;
    admin.close().await?;
    match created {
        // Another instance created it first.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => Ok(()),
        other => other.map(|_| ()),
    }
}

pub async fn migrate(pool: &PgPool) -> Result<(), String> {
    sqlx::migrate!("./migrations")
        .run(pool)
        .await
        .map_err(|e| format!("database migration failed: {e}"))
}

pub async fn connect_redis(url: &str) -> Result<fred::clients::Pool, String> {
    crate::redis::connect(url, START_TIMEOUT)
        .await
        .map_err(|e| format!("cannot connect to Redis at {}: {e}", redact_url(url)))
}

/// Connects everything and builds the state the router needs.
pub async fn build_state(
    config: Config,
    leptos_options: LeptosOptions,
) -> Result<AppState, String> {
    let pool = connect_postgres(&config.database_url).await?;
    migrate(&pool).await?;
    let redis = connect_redis(&config.redis_url).await?;
    AppState::new(config, pool, redis, leptos_options)
}

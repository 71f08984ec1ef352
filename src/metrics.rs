//! This app's metrics, served at `/metrics` in the Prometheus text format
//! (docs/operations.md lists every series).
//!
//! Each `AppState` owns its own recorder; nothing is installed process-wide, so
//! two apps in one process (the integration tests) never see each other's counts.
//! Handles for the fixed series are registered once, here; the per-route HTTP
//! series are looked up in this recorder's registry on each request.

use crate::domain::EmailStatus;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use sqlx::PgPool;
use std::time::Instant;

static META: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Latency buckets in seconds: a page in a millisecond up to a slow Gmail call.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The statuses counted in `mailmerger_queue_depth`: mail not yet settled.
/// Sent and failed mail is counted by `mailmerger_messages_total` as it happens.
const QUEUE_STATUSES: [EmailStatus; 3] = [
    EmailStatus::Queued,
    EmailStatus::Sending,
    EmailStatus::Uncertain,
];

pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    sent: Counter,
    failed: Counter,
    retried: Counter,
    uncertain: Counter,
    held: Counter,
    handed_back: Counter,
    pub token_refreshes: Counter,
    pub claim_seconds: Histogram,
    pub send_seconds: Histogram,
    queue_depth: Vec<(EmailStatus, Gauge)>,
    pool_connections: Gauge,
    pool_idle: Gauge,
}

/// What became of a claimed message, for `mailmerger_messages_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Failed,
    Retried,
    Uncertain,
    /// Put back without counting an attempt (Gmail disconnected, memory busy).
    Held,
    /// Put back because this instance was stopping before it sent them.
    HandedBack,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(SECONDS_BUCKETS)
            .expect("static buckets are valid")
            .build_recorder();
        let handle = recorder.handle();
        let describe = |name: &'static str, help: &'static str| {
            recorder.describe_counter(KeyName::from_const_str(name), None, help.into());
        };
        describe(
            "mailmerger_messages_total",
            "Claimed messages by outcome: sent, failed, retried, uncertain, held, handed_back.",
        );
        describe(
            "mailmerger_token_refreshes_total",
            "OAuth access tokens refreshed after Gmail refused one.",
        );
        describe(
            "mailmerger_http_requests_total",
            "HTTP requests by route (the matched pattern) and status.",
        );
        describe(
            "mailmerger_http_request_duration_seconds",
            "HTTP request latency by route.",
        );
        describe(
            "mailmerger_delivery_claim_duration_seconds",
            "How long one claim of a batch took in Postgres.",
        );
        describe(
            "mailmerger_delivery_send_duration_seconds",
            "How long one send took at the transport (Gmail, SMTP or the outbox).",
        );
        describe(
            "mailmerger_queue_depth",
            "Messages by status (queued, sending, uncertain), read from Postgres every 15 s.",
        );
        describe(
            "mailmerger_db_pool_connections",
            "Postgres connections this instance holds.",
        );
        describe("mailmerger_db_pool_idle", "Of those, idle ones.");
        let outcome = |o: &'static str| {
            recorder.register_counter(
                &Key::from_parts("mailmerger_messages_total", vec![Label::new("outcome", o)]),
                &META,
            )
        };
        let histogram =
            |name: &'static str| recorder.register_histogram(&Key::from_static_name(name), &META);
        let gauge =
            |name: &'static str| recorder.register_gauge(&Key::from_static_name(name), &META);
        Metrics {
            sent: outcome("sent"),
            failed: outcome("failed"),
            retried: outcome("retried"),
            uncertain: outcome("uncertain"),
            held: outcome("held"),
            handed_back: outcome("handed_back"),
            token_refreshes: recorder.register_counter(
                &Key::from_static_name("mailmerger_token_refreshes_total"),
                &META,
            ),
            claim_seconds: histogram("mailmerger_delivery_claim_duration_seconds"),
            send_seconds: histogram("mailmerger_delivery_send_duration_seconds"),
            queue_depth: QUEUE_STATUSES
                .iter()
                .map(|s| {
                    let key = Key::from_parts(
                        "mailmerger_queue_depth",
                        vec![Label::new("status", s.as_str())],
                    );
                    (*s, recorder.register_gauge(&key, &META))
                })
                .collect(),
            pool_connections: gauge("mailmerger_db_pool_connections"),
            pool_idle: gauge("mailmerger_db_pool_idle"),
            handle,
            recorder,
        }
    }

    pub fn messages(&self, outcome: Outcome, n: u64) {
        if n == 0 {
            return;
        }
        match outcome {
            Outcome::Sent => &self.sent,
            Outcome::Failed => &self.failed,
            Outcome::Retried => &self.retried,
            Outcome::Uncertain => &self.uncertain,
            Outcome::Held => &self.held,
            Outcome::HandedBack => &self.handed_back,
        }
        .increment(n);
    }

    /// One HTTP request: `route` is the matched pattern, never the raw path, so
    /// the series stay few whatever paths clients make up.
    pub fn http(&self, route: &str, status: u16, seconds: f64) {
        let route = Label::new("route", route.to_owned());
        let counter = Key::from_parts(
            "mailmerger_http_requests_total",
            vec![route.clone(), Label::new("status", status.to_string())],
        );
        self.recorder.register_counter(&counter, &META).increment(1);
        let latency = Key::from_parts("mailmerger_http_request_duration_seconds", vec![route]);
        self.recorder
            .register_histogram(&latency, &META)
            .record(seconds);
    }

    /// Reads the queue depth and the pool's use, and folds recent histogram
    /// samples in. The upkeep task calls this every 15 s; a scrape never queries.
    pub async fn refresh(&self, pool: &PgPool) {
        match crate::emails::read::count_by_status(pool, &QUEUE_STATUSES).await {
            Ok(counts) => {
                for (status, gauge) in &self.queue_depth {
                    gauge.set(counts.get(status).copied().unwrap_or(0) as f64);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the queue depth for /metrics"),
        }
        self.pool_connections.set(pool.size() as f64);
        self.pool_idle.set(pool.num_idle() as f64);
        self.handle.run_upkeep();
    }

    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// Counts every request by route and status, with its latency.
pub async fn track(
    State(state): State<crate::state::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let started = Instant::now();
    let res = next.run(req).await;
    state.metrics.http(
        &route,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}

/// `/metrics`: 404 unless `METRICS_TOKEN` is set, and then only with
/// `Authorization: Bearer <token>` (compared in constant time).
pub async fn endpoint(
    State(state): State<crate::state::AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    use secrecy::ExposeSecret;
    let Some(token) = &state.config.limits.metrics_token else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !crate::crypto::constant_time_eq(given.as_bytes(), token.expose_secret().as_bytes()) {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "A bearer token is required.\n",
        )
            .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_apps_count_apart_and_routes_stay_patterns() {
        let a = Metrics::new();
        let b = Metrics::new();
        a.messages(Outcome::Sent, 3);
        a.messages(Outcome::HandedBack, 2);
        a.http("/api/{*fn_name}", 200, 0.002);
        a.http("/api/{*fn_name}", 200, 0.004);
        let text = a.render();
        assert!(
            text.contains("mailmerger_messages_total{outcome=\"sent\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("mailmerger_messages_total{outcome=\"handed_back\"} 2"),
            "{text}"
        );
        assert!(
            text.contains(
                "mailmerger_http_requests_total{route=\"/api/{*fn_name}\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("mailmerger_http_request_duration_seconds_bucket{route=\"/api/{*fn_name}\",le=\"0.005\"} 2"),
            "{text}"
        );
        assert!(
            !b.render().contains("outcome=\"sent\"} 3"),
            "{}",
            b.render()
        );
    }
}

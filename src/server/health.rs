//! `/healthz`: the process is up. `/readyz`: Postgres and Redis both answer.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fred::prelude::*;
use serde_json::json;
use std::time::Duration;

const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let postgres = async {
        tokio::time::timeout(CHECK_TIMEOUT, sqlx::query("SELECT 1").execute(&state.pool))
            .await
            .map_err(|_| "timed out".to_string())
            .and_then(|r| r.map(|_| ()).map_err(|e| e.to_string()))
    };
    let redis = async {
        tokio::time::timeout(CHECK_TIMEOUT, state.redis.ping::<String>(None))
            .await
            .map_err(|_| "timed out".to_string())
            .and_then(|r| r.map(|_| ()).map_err(|e| e.to_string()))
    };
    let (postgres, redis) = tokio::join!(postgres, redis);
    let mut down = Vec::new();
    let mut report = |name: &'static str, result: Result<(), String>| match result {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!(dependency = name, error = %e, "readiness check failed");
            down.push(name);
            "unavailable"
        }
    };
    let body = json!({ "postgres": report("postgres", postgres), "redis": report("redis", redis) });
    if down.is_empty() {
        (StatusCode::OK, Json(body))
    } else {
        let mut body = body;
        body["error"] = json!(format!("not ready: {} not answering", down.join(" and ")));
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}

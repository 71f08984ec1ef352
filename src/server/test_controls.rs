//! Controls for the tests, compiled only with the fake-google feature and
//! answered only when `TEST_CONTROLS=true` (404 otherwise, as for any unknown
//! path): `POST /test/clock?seconds=N` moves the clock of delivery and pacing N
//! seconds forward for every instance on the database (src/emails/clock.rs), so a
//! browser test can make scheduled mail (a follow-up, a daily limit's window) due
//! without waiting.

use crate::state::AppState;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/test/clock", post(advance))
}

#[derive(Deserialize)]
struct Advance {
    seconds: f64,
}

async fn advance(State(state): State<AppState>, Query(q): Query<Advance>) -> Response {
    if !state.config.test_controls {
        return StatusCode::NOT_FOUND.into_response();
    }
    // Forward only, and at most a year at a time.
    if !(0.0..=366.0 * 86_400.0).contains(&q.seconds) {
        return (StatusCode::BAD_REQUEST, "seconds: 0 to a year").into_response();
    }
    // The loops of every instance look again at the new time (NOTIFY).
    let moved = async {
        let mut conn = state.pool.acquire().await?;
        let now = crate::emails::clock::advance(&mut conn, q.seconds).await?;
        crate::emails::wake(&mut conn).await?;
        Ok::<_, sqlx::Error>(now)
    }
    .await;
    match moved {
        Ok(now) => {
            tracing::info!(seconds = q.seconds, %now, "test clock moved");
            now.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
                .into_response()
        }
        Err(e) => crate::error::AppError::from(e).into_response(),
    }
}

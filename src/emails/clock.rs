//! The one clock of delivery and pacing: `mm_now()` in Postgres (the migration
//! `20261201000003_clock.sql`), so every instance on the database reads the same
//! time and tests can move it. Rust asks it here when it needs the time for a
//! decision about mail; SQL calls `mm_now()` itself.

use sqlx::PgConnection;
use time::OffsetDateTime;

/// The time every claim, lease and count uses.
pub async fn now(conn: &mut PgConnection) -> Result<OffsetDateTime, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT mm_now() AS "now!""#)
        .fetch_one(conn)
        .await
}

/// Moves the clock `seconds` forward (tests only: the control that calls this
/// is compiled with the fake-google feature and answers only when
/// `TEST_CONTROLS=true`). Returns the new time.
#[cfg(feature = "fake-google")]
pub async fn advance(conn: &mut PgConnection, seconds: f64) -> Result<OffsetDateTime, sqlx::Error> {
    sqlx::query!(
        "INSERT INTO clock_shift (id, shift) VALUES (true, make_interval(secs => $1))
         ON CONFLICT (id) DO UPDATE SET shift = clock_shift.shift + EXCLUDED.shift",
        seconds
    )
    .execute(&mut *conn)
    .await?;
    now(conn).await
}

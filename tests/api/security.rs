use crate::helpers::spawn_app;
use reqwest::header::{ACCEPT, ORIGIN, REFERER};
use sqlx::PgPool;

async fn signup_with(app: &crate::helpers::TestApp, header: (&str, &str)) -> reqwest::Response {
    app.client
        .post(app.url("/api/signup"))
        .header(header.0, header.1)
        .header(ACCEPT, "application/json")
        .form(&[
            ("name", "Mallory"),
            ("email", "m@example.com"),
            ("password", "long enough pw"),
        ])
        .send()
        .await
        .unwrap()
}

async fn users(app: &crate::helpers::TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_cross_origin_post_is_refused_and_changes_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    for header in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        (ORIGIN.as_str(), "https://evil.example"),
        (ORIGIN.as_str(), "http://localhost:3000"),
        (REFERER.as_str(), "https://evil.example/page"),
    ] {
        let res = signup_with(&app, header).await;
        assert_eq!(res.status(), 403, "{header:?}");
    }
    assert_eq!(users(&app).await, 0);
}

#[sqlx::test]
async fn a_same_origin_post_is_accepted(pool: PgPool) {
    let app = spawn_app(pool).await;
    let origin = app.base.clone();
    let res = signup_with(&app, (ORIGIN.as_str(), &origin)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(users(&app).await, 1);
}

#[sqlx::test]
async fn server_functions_need_a_session_for_private_data(pool: PgPool) {
    let app = spawn_app(pool).await;
    assert_eq!(app.current_user(&app.client).await, serde_json::Value::Null);
}

#[sqlx::test]
async fn a_database_error_answers_with_a_reference_and_no_sql(pool: PgPool) {
    let app = spawn_app(pool).await;
    // Break the table the login reads, so the query fails inside Postgres.
    sqlx::query("ALTER TABLE users RENAME COLUMN password_hash TO gone")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = app
        .login(&app.client, "ada@example.com", "whatever pw")
        .await;
    assert_eq!(res.status(), 500);
    let body = res.text().await.unwrap();
    assert!(
        body.starts_with("{\"Internal\":{\"reference\":\""),
        "{body}"
    );
    for leak in ["password_hash", "SELECT", "column", "users"] {
        assert!(!body.contains(leak), "error body leaks {leak:?}: {body}");
    }
}

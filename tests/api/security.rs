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
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let body = res.text().await.unwrap();
    assert!(
        body.starts_with("{\"Internal\":{\"reference\":\""),
        "{body}"
    );
    // The reference is the request's id, so it finds that request's log lines.
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["Internal"]["reference"], request_id.as_str());
    for leak in ["password_hash", "SELECT", "column", "users"] {
        assert!(!body.contains(leak), "error body leaks {leak:?}: {body}");
    }
}

#[sqlx::test]
async fn request_ids_are_ours_unless_a_trusted_proxy_sent_one(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = reqwest::Client::new()
        .get(app.url("/healthz"))
        .header("x-request-id", "from-the-client")
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "from-the-client");
    assert_eq!(id.len(), 12);

    let behind = crate::helpers::spawn_app_with(
        app.pool.clone(),
        crate::helpers::Options {
            vars: vec![("TRUSTED_PROXY_HOPS", "1".into())],
            ..Default::default()
        },
    )
    .await;
    let res = reqwest::Client::new()
        .get(behind.url("/healthz"))
        .header("x-request-id", "lb-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "lb-7f3a");
}

#[sqlx::test]
async fn the_healthcheck_subcommand_asks_healthz(pool: PgPool) {
    let app = spawn_app(pool).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let run = |addr: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mailmerger"))
            .arg("healthcheck")
            .env("LEPTOS_SITE_ADDR", addr)
            .output()
            .unwrap()
    };
    let ok = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || run(&addr)
    })
    .await
    .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // Nothing listens on port 1.
    let down = tokio::task::spawn_blocking(move || run("127.0.0.1:1"))
        .await
        .unwrap();
    assert_eq!(down.status.code(), Some(1));
    let message = String::from_utf8_lossy(&down.stderr);
    assert!(
        message.starts_with(
            "mailmerger: error: healthcheck: http://127.0.0.1:1/healthz did not answer"
        ),
        "{message}"
    );
}

#[sqlx::test]
async fn the_test_clock_control_is_not_found_unless_switched_on(pool: PgPool) {
    let now = |app: &crate::helpers::TestApp| {
        let pool = app.pool.clone();
        async move {
            let skew: f64 =
                sqlx::query_scalar("SELECT extract(epoch FROM mm_now() - now())::float8")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            skew
        }
    };
    let app = spawn_app(pool.clone()).await;
    let client = reqwest::Client::new();
    let res = client
        .post(app.url("/test/clock?seconds=3600"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(now(&app).await, 0.0);

    let app =
        crate::helpers::spawn_app_with_google(pool, vec![("TEST_CONTROLS", "true".into())]).await;
    for bad in ["-5", "nope", "99999999999"] {
        let res = client
            .post(app.url(&format!("/test/clock?seconds={bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
    let res = client
        .post(app.url("/test/clock?seconds=3600"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        time::OffsetDateTime::parse(
            &res.text().await.unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    // Every statement about mail reads the moved clock.
    assert_eq!(now(&app).await, 3600.0);
}

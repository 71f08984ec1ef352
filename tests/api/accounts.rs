use crate::helpers::{Options, browser_client, page_text, spawn_app, spawn_app_with};
use fred::prelude::*;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test]
async fn signup_logs_the_new_user_in_and_goes_to_the_dashboard(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app
        .signup(
            &app.client,
            "Ada Lovelace",
            " Ada@Example.com ",
            "analytical engine",
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[LOCATION], "/dashboard");

    let me = app.current_user(&app.client).await;
    assert_eq!(me["name"], "Ada Lovelace");
    assert_eq!(me["email"], "Ada@example.com");

    let page = app.client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let text = page_text(&page.text().await.unwrap());
    assert!(
        text.contains("Welcome, Ada."),
        "dashboard does not greet the user: {text}"
    );
}

#[sqlx::test]
async fn a_second_signup_with_the_same_email_in_another_case_is_refused(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&app.client, "Ada", "ada@example.com", "analytical engine")
        .await;

    let other = browser_client();
    let res = app
        .signup(&other, "Imposter", "  ADA@example.COM", "another password")
        .await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"Invalid": {"errors": [{"field": "email", "message": "An account with this email already exists. Log in instead."}]}})
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[sqlx::test]
async fn signup_reports_every_invalid_field_at_once(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.signup(&app.client, " ", "not-an-email", "short").await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["Invalid"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "email", "password"]);
    assert!(body.to_string().contains("at least 8 characters"));
}

#[sqlx::test]
async fn the_stored_password_hash_is_argon2id(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&app.client, "Ada", "ada@example.com", "analytical engine")
        .await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(!hash.contains("analytical"));
}

#[sqlx::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&app.client, "Ada", "ada@example.com", "analytical engine")
        .await;

    let c = browser_client();
    let wrong_password = app.login(&c, "ada@example.com", "difference engine").await;
    let status1 = wrong_password.status();
    let body1 = wrong_password.text().await.unwrap();
    let unknown_email = app
        .login(&c, "nobody@example.com", "difference engine")
        .await;
    let status2 = unknown_email.status();
    let body2 = unknown_email.text().await.unwrap();

    assert_eq!(status1, 401);
    assert_eq!((status1, &body1), (status2, &body2));
    assert_eq!(body1, "\"WrongCredentials\"");
    assert_eq!(app.current_user(&c).await, serde_json::Value::Null);
}

#[sqlx::test]
async fn logging_in_with_any_case_of_the_email_works_and_returns_to_next(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(
        &browser_client(),
        "Ada",
        "ada@example.com",
        "analytical engine",
    )
    .await;

    let res = app
        .call(
            &app.client,
            "login",
            &[
                ("email", "ADA@EXAMPLE.COM"),
                ("password", "analytical engine"),
                ("next", "/queue?page=2"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[LOCATION], "/queue?page=2");
    assert_eq!(
        app.current_user(&app.client).await["email"],
        "ada@example.com"
    );
}

#[sqlx::test]
async fn next_that_leaves_the_site_is_ignored(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(
        &browser_client(),
        "Ada",
        "ada@example.com",
        "analytical engine",
    )
    .await;
    for evil in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/a\r\nSet-Cookie: x=1",
    ] {
        let c = browser_client();
        let res = app
            .call(
                &c,
                "login",
                &[
                    ("email", "ada@example.com"),
                    ("password", "analytical engine"),
                    ("next", evil),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "next={evil:?}");
        assert_eq!(res.headers()[LOCATION], "/dashboard", "next={evil:?}");
    }
}

#[sqlx::test]
async fn logout_ends_the_session_so_the_old_cookie_no_longer_works(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app
        .signup(&app.client, "Ada", "ada@example.com", "analytical engine")
        .await;
    let cookie = session_cookie(&res).expect("a session cookie");
    let keys_before = app.redis_keys().await;
    assert_eq!(
        keys_before
            .iter()
            .filter(|k| k.contains("session:"))
            .count(),
        1
    );

    let res = app.call(&app.client, "logout", &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[LOCATION], "/login");
    assert!(
        app.redis_keys()
            .await
            .iter()
            .all(|k| !k.contains("session:"))
    );

    // Replay the cookie from before the logout, from a client that never saw it go.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = replay
        .get(app.url("/dashboard"))
        .header("cookie", format!("mm_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION], "/login?next=%2Fdashboard");
}

#[sqlx::test]
async fn the_session_lives_in_redis_under_the_configured_prefix(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app
        .signup(&app.client, "Ada", "ada@example.com", "analytical engine")
        .await;
    let cookie = session_cookie(&res).unwrap();
    let key = format!("{}session:{cookie}", app.prefix);
    let exists: i64 = app.redis.exists(&key).await.unwrap();
    assert_eq!(exists, 1, "no session at {key}");
    let ttl: i64 = app.redis.ttl(&key).await.unwrap();
    assert!(ttl > 0 && ttl <= 24 * 3600, "ttl {ttl}");
}

/// Visits only read the session until the renewal interval (a minute by
/// default) has passed since it was last renewed; the first visit after that
/// pushes the expiry back and sends the cookie again.
#[sqlx::test]
async fn visits_push_the_session_expiry_back_once_a_minute_not_on_every_request(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app
        .signup(&app.client, "Ada", "ada@example.com", "analytical engine")
        .await;
    let key = format!("{}session:{}", app.prefix, session_cookie(&res).unwrap());
    let stored: Vec<u8> = app.redis.get(&key).await.unwrap();
    let first_ttl: i64 = app.redis.pttl(&key).await.unwrap();
    for path in ["/dashboard", "/templates", "/api/templates/list"] {
        let res = if path.starts_with("/api/") {
            app.client
                .post(app.url(path))
                .header("Origin", app.origin())
                .header("Accept", "application/json")
                .send()
                .await
                .unwrap()
        } else {
            app.client.get(app.url(path)).send().await.unwrap()
        };
        assert!(res.status().is_success(), "{path}: {}", res.status());
        assert!(
            session_cookie(&res).is_none(),
            "{path} sent the cookie again"
        );
    }
    let unchanged: Vec<u8> = app.redis.get(&key).await.unwrap();
    assert_eq!(
        unchanged, stored,
        "a visit within the interval wrote the session"
    );
    let ttl: i64 = app.redis.pttl(&key).await.unwrap();
    assert!(ttl <= first_ttl, "the expiry moved: {first_ttl} -> {ttl}");

    // As if the last renewal was two minutes ago, and the deadline an hour
    // away (the store keeps whole seconds: a renewal within the same second
    // would not show).
    let mut record: tower_sessions::session::Record = rmp_serde::from_slice(&stored).unwrap();
    let long_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 120;
    record.data.insert("renewed_at".into(), json!(long_ago));
    let _: () = app
        .redis
        .set(
            &key,
            rmp_serde::to_vec(&record).unwrap().as_slice(),
            Some(Expiration::EX(3600)),
            None,
            false,
        )
        .await
        .unwrap();
    let before: i64 = app.redis.pttl(&key).await.unwrap();
    let page = app.client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        session_cookie(&page).is_some(),
        "the cookie was not renewed"
    );
    let after: i64 = app.redis.pttl(&key).await.unwrap();
    assert!(
        before <= 3_600_000 && after > 86_000_000,
        "expiry did not move: {before} -> {after}"
    );
    let renewed: tower_sessions::session::Record =
        rmp_serde::from_slice(&app.redis.get::<Vec<u8>, _>(&key).await.unwrap()).unwrap();
    assert!(renewed.data["renewed_at"].as_i64().unwrap() > long_ago);
}

#[sqlx::test]
async fn the_session_cookie_is_http_only_lax_and_not_secure_over_http(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app
        .signup(&app.client, "Ada", "ada@example.com", "analytical engine")
        .await;
    let header = res.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(header.starts_with("mm_session="), "{header}");
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("SameSite=Lax"), "{header}");
    assert!(!header.contains("Secure"), "{header}");
    assert!(
        header.contains("Max-Age=") || header.contains("Expires="),
        "{header}"
    );
}

#[sqlx::test]
async fn logging_in_again_issues_a_new_session_id(pool: PgPool) {
    let app = spawn_app(pool).await;
    let first = session_cookie(
        &app.signup(&app.client, "Ada", "ada@example.com", "analytical engine")
            .await,
    )
    .unwrap();
    let res = app
        .login(&app.client, "ada@example.com", "analytical engine")
        .await;
    let second = session_cookie(&res).expect("login sets a new cookie");
    assert_ne!(first, second);
    let old: i64 = app
        .redis
        .exists(format!("{}session:{first}", app.prefix))
        .await
        .unwrap();
    assert_eq!(old, 0, "the pre-login session id still works");
}

#[sqlx::test]
async fn repeated_failures_slow_down_login_and_redis_holds_the_counter(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        Options {
            vars: vec![("LOGIN_MAX_FAILURES", "3".into())],
            ..Default::default()
        },
    )
    .await;
    app.signup(
        &browser_client(),
        "Ada",
        "ada@example.com",
        "analytical engine",
    )
    .await;

    let c = browser_client();
    for _ in 0..3 {
        assert_eq!(
            app.login(&c, "ada@example.com", "wrong password")
                .await
                .status(),
            401
        );
    }
    // The address is counted under a digest of it, not the address itself.
    let key = app
        .redis_keys()
        .await
        .into_iter()
        .find(|k| k.contains("login-failures:email:"))
        .expect("a counter for the address");
    assert!(!key.contains("ada@"), "{key}");
    let count: i64 = app.redis.get(&key).await.unwrap();
    assert_eq!(count, 3);

    // Even the right password waits now.
    let res = app.login(&c, "ada@example.com", "analytical engine").await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: serde_json::Value = res.json().await.unwrap();
    let retry = body["RateLimited"]["retry_after"].as_u64().unwrap();
    assert!(retry > 0 && retry <= 900, "{retry}");

    // When the window ends (here: the counter is gone), the user can log in.
    let _: i64 = app.redis.del(&key).await.unwrap();
    assert_eq!(
        app.login(&c, "ada@example.com", "analytical engine")
            .await
            .status(),
        200
    );
}

#[sqlx::test]
async fn protected_pages_send_logged_out_visitors_to_login_with_next(pool: PgPool) {
    let app = spawn_app(pool).await;
    for (path, next) in [
        ("/dashboard", "%2Fdashboard"),
        ("/queue?page=2", "%2Fqueue%3Fpage%3D2"),
        ("/settings", "%2Fsettings"),
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(
            res.headers()[LOCATION],
            format!("/login?next={next}"),
            "{path}"
        );
    }
    for public in ["/", "/login", "/signup", "/healthz"] {
        let res = app.client.get(app.url(public)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{public}");
    }
}

#[sqlx::test]
async fn a_logged_in_user_visiting_login_goes_to_the_dashboard(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.signup(&app.client, "Ada", "ada@example.com", "analytical engine")
        .await;
    let res = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION], "/dashboard");
}

#[sqlx::test]
async fn plain_form_posts_work_without_javascript(pool: PgPool) {
    let app = spawn_app(pool).await;
    // A browser without wasm posts the form and follows redirects.
    let form = [
        ("name", "Ada"),
        ("email", "ada@example.com"),
        ("password", "analytical engine"),
    ];
    let res = app.post_form(&app.client, "signup", "/signup", &form).await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()[LOCATION], "/dashboard");

    // An error goes back to the form, which shows it next to the field.
    let other = browser_client();
    let form = [
        ("name", "Bob"),
        ("email", "bob@example.com"),
        ("password", "short"),
    ];
    let res = app.post_form(&other, "signup", "/signup", &form).await;
    assert_eq!(res.status(), 302);
    let back = res.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(back.starts_with(&app.url("/signup?")), "{back}");
    let text = page_text(&other.get(&back).send().await.unwrap().text().await.unwrap());
    assert!(
        text.contains("Use at least 8 characters for your password."),
        "error not shown: {text}"
    );
}

/// The session id from a response's Set-Cookie.
pub fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("mm_session="))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .filter(|v| !v.is_empty())
}

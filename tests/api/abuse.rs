//! One test per way a hostile visitor or user could hang, exhaust or fool the
//! server (docs/limits.md). Each asserts what the attacker gets back and that
//! `/healthz`, asked during the attack, still answers.

use crate::helpers::{Options, TestApp, browser_client, spawn_app, spawn_app_with};
use fred::prelude::*;
use futures::future::join_all;
use sqlx::PgPool;
use std::time::Duration;

async fn app_with(pool: PgPool, vars: Vec<(&'static str, String)>) -> TestApp {
    spawn_app_with(
        pool,
        Options {
            vars,
            ..Default::default()
        },
    )
    .await
}

/// `/healthz` answers while `attack` runs.
async fn healthy_during<F: std::future::Future>(app: &TestApp, attack: F) -> F::Output {
    let health = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        tokio::time::timeout(Duration::from_secs(5), reqwest::get(app.url("/healthz")))
            .await
            .expect("/healthz answers during the attack")
            .expect("request")
            .status()
    };
    let (out, status) = tokio::join!(attack, health);
    assert_eq!(status, 200);
    out
}

async fn json(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

fn field_message(body: &serde_json::Value, field: &str) -> String {
    body["Invalid"]["errors"]
        .as_array()
        .and_then(|errors| errors.iter().find(|e| e["field"] == field))
        .and_then(|e| e["message"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[sqlx::test]
async fn a_nested_loop_in_a_preview_is_refused_at_once(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Mallory", "m@example.com").await;
    let body = "Hi\n{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}";
    let form = [("to", "v@example.com"), ("subject", "Hi"), ("body", body)];
    let previews = (0..4).map(|_| app.call(&c, "compose/preview", &form));
    let answers = healthy_during(&app, join_all(previews)).await;
    for res in answers {
        let (status, body) = json(res).await;
        assert_eq!(status, 422);
        let message = field_message(&body, "body");
        assert!(
            message.starts_with("Line 2, column 1: templates cannot use {% for %}"),
            "{message}"
        );
    }
}

#[sqlx::test]
async fn every_construct_outside_the_language_is_refused_when_saving(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Mallory", "m@example.com").await;
    for (body, construct) in [
        ("Hi\n{%- for a in b %}x{% endfor %}", "{% for %}"),
        ("Hi\n{% FOR a in b %}x{% ENDFOR %}", "{% for %}"),
        ("Hi\n{% set x = 1 %}", "{% set %}"),
        ("Hi\n{% macro m() %}x{% endmacro %}", "{% macro %}"),
        (
            "Hi\n{% autoescape false %}{{ x }}{% endautoescape %}",
            "{% autoescape %}",
        ),
        ("Hi\n{{ x | safe }}", "| safe"),
        ("Hi\n{{ \"x\" * 100000000 }}", "*"),
        ("Hi\n{{ a ~ b }}", "~"),
    ] {
        let res = app
            .call(
                &c,
                "templates/save",
                &[
                    ("id", ""),
                    ("name", "Bad"),
                    ("subject", "Hi"),
                    ("body", body),
                ],
            )
            .await;
        let (status, json) = json(res).await;
        assert_eq!(status, 422, "{body}");
        let message = field_message(&json, "body");
        assert!(message.starts_with("Line 2, column "), "{body}: {message}");
        assert!(
            message.contains(&format!("cannot use {construct}")),
            "{body}: {message}"
        );
    }
    // In the subject too: it passed the length check before.
    let res = app
        .call(
            &c,
            "templates/save",
            &[
                ("id", ""),
                ("name", "Bad"),
                ("subject", "{{ \"x\" * 100000000 }}"),
                ("body", "ok"),
            ],
        )
        .await;
    let (status, json) = json(res).await;
    assert_eq!(status, 422);
    assert!(field_message(&json, "subject").contains("cannot use *"));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM templates")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test]
async fn a_render_that_would_overflow_is_stopped_with_a_message(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Mallory", "m@example.com").await;
    let body = "{{ v }}".repeat(2_000);
    let value = "x".repeat(50_000);
    let res = healthy_during(
        &app,
        app.call(
            &c,
            "compose/preview",
            &[
                ("to", "v@example.com"),
                ("subject", "Hi"),
                ("body", &body),
                ("values[v]", &value),
            ],
        ),
    )
    .await;
    let (status, json) = json(res).await;
    assert_eq!(status, 422);
    assert_eq!(
        field_message(&json, "body"),
        "The message would be larger than 1 MB once filled in."
    );
}

#[sqlx::test]
async fn the_editor_preview_never_turns_text_into_html(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Mallory", "m@example.com").await;
    for body in [
        r#"{{ "&lt;img src=x onerror=alert(1)&gt;" }}"#,
        r#"{{ name | default("&lt;img src=x onerror=alert(1)&gt;") }}"#,
    ] {
        let res = app
            .call(
                &c,
                "templates/preview",
                &[("subject", "Hi"), ("body", body)],
            )
            .await;
        let (status, json) = json(res).await;
        assert_eq!(status, 200, "{json}");
        let html = json.as_str().unwrap();
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
    }
    // The same limit as saving.
    let big = "a".repeat(101 * 1024);
    let res = app
        .call(
            &c,
            "templates/preview",
            &[("subject", "Hi"), ("body", &big)],
        )
        .await;
    let (status, json) = json(res).await;
    assert_eq!(status, 422);
    assert!(field_message(&json, "body").contains("longer than 100 KB"));
}

#[sqlx::test]
async fn a_template_saved_before_the_rules_opens_showing_what_to_change(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Ada", "ada@example.com").await;
    let user: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let id = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO templates (id, user_id, name, subject, body_markdown, body_html, body_text, placeholders)
         VALUES ($1, $2, 'Old', 'Hi', $3, $3, $3, '{}')",
    )
    .bind(id)
    .bind(user)
    .bind("Hello\n{% for a in range(3) %}{{ a }}{% endfor %}")
    .execute(&app.pool)
    .await
    .unwrap();
    let page = app.page(&c, &format!("/templates/{id}/edit")).await;
    let text = crate::helpers::page_text(&page);
    assert!(
        text.contains("Line 2, column 1: templates cannot use {% for %}"),
        "{text}"
    );
    assert!(
        page.contains("{% for a in range(3) %}"),
        "the body is in the editor"
    );
}

#[sqlx::test]
async fn a_login_burst_gets_exactly_the_limit_of_password_checks(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.new_user("Ada", "ada@example.com").await;
    let attempts = (0..100).map(|_| {
        let c = browser_client();
        let app = &app;
        async move {
            app.login(&c, "ada@example.com", "wrong password")
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = healthy_during(&app, join_all(attempts)).await;
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((wrong, limited), (5, 95), "{statuses:?}");
    // Locked for the window, even with the right password, and the window is set.
    let res = app
        .login(&browser_client(), "ADA@example.com ", "a long password")
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let keys = app.redis_keys().await;
    let key = keys
        .iter()
        .find(|k| k.contains("login-failures:email:"))
        .expect("a counter for the address");
    assert!(
        !key.contains("ada@example.com"),
        "the address is not in the key: {key}"
    );
    let ttl: i64 = app.redis.ttl(key).await.unwrap();
    assert!(ttl > 0 && ttl <= 900, "{ttl}");
}

#[sqlx::test]
async fn a_huge_email_never_becomes_a_redis_key(pool: PgPool) {
    let app = spawn_app(pool).await;
    let huge = format!("{}@example.com", "a".repeat(100_000));
    let res = app.login(&browser_client(), &huge, "whatever pw").await;
    assert_eq!(res.status(), 401);
    assert!(app.redis_keys().await.iter().all(|k| k.len() < 200));
}

#[sqlx::test]
async fn parallel_sign_ups_beyond_the_hash_queue_are_refused_with_503(pool: PgPool) {
    let app = app_with(
        pool,
        vec![
            ("PASSWORD_HASH_CONCURRENCY", "1".into()),
            ("PASSWORD_HASH_QUEUE", "2".into()),
            ("SIGNUP_MAX_PER_IP", "1000".into()),
        ],
    )
    .await;
    let signups = (0..30).map(|i| {
        let app = &app;
        async move {
            let res = app
                .signup(
                    &browser_client(),
                    "Mallory",
                    &format!("m{i}@example.com"),
                    "a long password",
                )
                .await;
            let retry = res.headers().get("retry-after").cloned();
            let (status, body) = json(res).await;
            (status, retry, body)
        }
    });
    let answers = healthy_during(&app, join_all(signups)).await;
    let created = answers.iter().filter(|a| a.0 == 200).count();
    let busy: Vec<_> = answers.iter().filter(|a| a.0 == 503).collect();
    assert_eq!(created + busy.len(), 30, "{answers:?}");
    assert!(created >= 1, "{answers:?}");
    assert!(
        !busy.is_empty(),
        "a burst of 30 with one hasher and a queue of 2 is refused in part"
    );
    for (_, retry, body) in busy {
        assert_eq!(retry.as_ref().and_then(|v| v.to_str().ok()), Some("5"));
        assert_eq!(body["Busy"]["retry_after"], 5);
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(users as usize, created);
}

#[sqlx::test]
async fn sign_ups_from_one_address_are_throttled(pool: PgPool) {
    let app = app_with(pool, vec![("SIGNUP_MAX_PER_IP", "3".into())]).await;
    for i in 0..3 {
        let res = app
            .signup(
                &browser_client(),
                "M",
                &format!("m{i}@example.com"),
                "a long password",
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    let res = app
        .signup(&browser_client(), "M", "m3@example.com", "a long password")
        .await;
    assert_eq!(res.status(), 429);
    let (_, body) = json(res).await;
    assert!(body["RateLimited"]["retry_after"].as_u64().unwrap() > 0);
}

async fn login_from(app: &TestApp, forwarded: &str) -> u16 {
    browser_client()
        .post(app.url("/api/login"))
        .header("origin", &app.base)
        .header("accept", "application/json")
        .header("x-forwarded-for", forwarded)
        .form(&[
            ("email", "x@example.com"),
            ("password", "wrong pw"),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// An app that lets one IP fail twice, behind `hops` trusted proxies.
async fn ip_limited(pool: PgPool, hops: &str) -> TestApp {
    app_with(
        pool,
        vec![
            ("TRUSTED_PROXY_HOPS", hops.into()),
            ("LOGIN_MAX_FAILURES", "1000".into()),
            ("LOGIN_MAX_FAILURES_PER_IP", "2".into()),
        ],
    )
    .await
}

#[sqlx::test]
async fn forwarded_for_counts_the_entry_our_proxy_wrote(pool: PgPool) {
    let app = ip_limited(pool, "1").await;
    // The client varies what it writes itself; our proxy appended 203.0.113.7.
    assert_eq!(login_from(&app, "1.1.1.1, 203.0.113.7").await, 401);
    assert_eq!(login_from(&app, "2.2.2.2, 203.0.113.7").await, 401);
    assert_eq!(login_from(&app, "3.3.3.3, 203.0.113.7").await, 429);
    // Another client behind the same proxy is not blamed.
    assert_eq!(login_from(&app, "203.0.113.7, 198.51.100.1").await, 401);
}

#[sqlx::test]
async fn without_trusted_proxies_forwarded_for_is_ignored(pool: PgPool) {
    let app = ip_limited(pool, "0").await;
    assert_eq!(login_from(&app, "1.1.1.1").await, 401);
    assert_eq!(login_from(&app, "2.2.2.2").await, 401);
    assert_eq!(login_from(&app, "3.3.3.3").await, 429);
}

#[sqlx::test]
async fn random_session_cookies_create_no_redis_keys(pool: PgPool) {
    let app = spawn_app(pool).await;
    let before = app.redis_keys().await.len();
    let client = reqwest::Client::new();
    let requests = (0..1_000).map(|i| {
        let id = tower_sessions::session::Id::default().to_string();
        let path = ["/healthz", "/login", "/pkg/mailmerger.css", "/dashboard"][i % 4];
        client
            .get(app.url(path))
            .header("cookie", format!("mm_session={id}"))
            .send()
    });
    for res in join_all(requests).await {
        assert!(res.unwrap().status().as_u16() < 500);
    }
    assert_eq!(app.redis_keys().await.len(), before);
}

#[sqlx::test]
async fn an_anonymous_google_sign_in_costs_minutes_of_redis(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        Options {
            google: true,
            ..Default::default()
        },
    )
    .await;
    let c = browser_client();
    let res = c
        .post(app.url("/auth/google/login"))
        .header("origin", &app.base)
        .form(&[("next", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let keys = app.redis_keys().await;
    let session = keys
        .iter()
        .find(|k| k.contains("session:"))
        .expect("a pending session");
    let ttl: i64 = app.redis.ttl(session).await.unwrap();
    assert!(ttl > 0 && ttl <= 600, "{ttl}");
}

#[sqlx::test]
async fn metrics_are_not_public(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(res.status(), 404);
}

#[sqlx::test]
async fn pages_carry_a_policy_with_their_own_nonce(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let res = reqwest::get(app.url("/login")).await.unwrap();
        let h = res.headers().clone();
        let policy = h["content-security-policy"].to_str().unwrap().to_string();
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(policy.contains("'wasm-unsafe-eval'"), "{policy}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert!(!h.contains_key("strict-transport-security"), "not on http");
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .expect("a nonce")
            .to_string();
        let html = res.text().await.unwrap();
        assert!(
            html.contains(&format!("nonce=\"{nonce}\"")),
            "the page's scripts carry it"
        );
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a fresh nonce per response");
    // Other responses get the strict default; downloads keep their own.
    let res = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(
        res.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

#[sqlx::test]
async fn expensive_calls_are_limited_per_user_per_minute(pool: PgPool) {
    let app = app_with(pool, vec![("RATE_PREVIEWS_PER_MINUTE", "3".into())]).await;
    let c = app.new_user("Mallory", "m@example.com").await;
    let form = [
        ("to", "v@example.com"),
        ("subject", "Hi"),
        ("body", "Hello"),
    ];
    for _ in 0..3 {
        assert_eq!(app.call(&c, "compose/preview", &form).await.status(), 200);
    }
    let res = app.call(&c, "compose/preview", &form).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let (_, body) = json(res).await;
    assert_eq!(body["RateLimited"]["retry_after"], retry);
    // The template editor's preview shares the limit; another user has their own.
    let res = app
        .call(&c, "templates/preview", &[("subject", "Hi"), ("body", "x")])
        .await;
    assert_eq!(res.status(), 429);
    let other = app.new_user("Ada", "ada@example.com").await;
    assert_eq!(
        app.call(&other, "compose/preview", &form).await.status(),
        200
    );
}

fn compose_form<'a>(key: &'a str, subject: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("to", "grace@example.com"),
        ("subject", subject),
        ("body", "Hello"),
        ("when", "now"),
        ("submission", key),
    ]
}

#[sqlx::test]
async fn a_double_submit_of_add_to_queue_queues_once(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Ada", "ada@example.com").await;
    let key = uuid::Uuid::new_v4().to_string();
    // A double click: both at once.
    let form = compose_form(&key, "Hi");
    let (a, b) = tokio::join!(app.queue_message(&c, &form), app.queue_message(&c, &form));
    let (a, b) = (json(a).await, json(b).await);
    assert_eq!((a.0, b.0), (200, 200));
    assert_eq!(a.1, b.1, "the repeat gets the first result back");
    // A retry later, and the back button, the same.
    let again = json(app.queue_message(&c, &form).await).await;
    assert_eq!(again.1, a.1);
    assert_eq!(app.count("queued").await, 1);
    // The same key with other content is told to reload, and queues nothing.
    let changed = compose_form(&key, "Something else");
    let (status, body) = json(app.queue_message(&c, &changed).await).await;
    assert_eq!(status, 422);
    assert!(
        body["BadRequest"]
            .as_str()
            .unwrap()
            .contains("reload the page"),
        "{body}"
    );
    assert_eq!(app.count("queued").await, 1);
    // A fresh page (a new key) queues again.
    let fresh = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        app.queue_message(&c, &compose_form(&fresh, "Hi"))
            .await
            .status(),
        200
    );
    assert_eq!(app.count("queued").await, 2);
}

#[sqlx::test]
async fn a_double_submit_of_queue_n_messages_queues_once(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Ada", "ada@example.com").await;
    let template = crate::merge::template(&app, &c).await;
    let import = crate::merge::upload(&app, &c, crate::merge::file(crate::merge::CSV))
        .await
        .trim_start_matches("/merge/")
        .to_string();
    let report = crate::merge::report(&app, &c, &import, &template).await;
    let key = report["submission"].as_str().unwrap().to_string();
    let extra = [("submission", key.as_str())];
    let (a, b) = tokio::join!(
        crate::merge::queue(&app, &c, &import, &template, "now", "", &extra),
        crate::merge::queue(&app, &c, &import, &template, "now", "", &extra)
    );
    let (a, b) = (json(a).await, json(b).await);
    assert_eq!((a.0, b.0), (200, 200));
    assert_eq!((a.1.as_u64(), b.1.as_u64()), (Some(3), Some(3)));
    assert_eq!(app.count("queued").await, 3);
    let (status, _) = json(
        crate::merge::queue(
            &app,
            &c,
            &import,
            &template,
            "now",
            "",
            &[("submission", &key), ("cc", "x@example.com")],
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(app.count("queued").await, 3);
    // Each view of the report is a new form.
    let again = crate::merge::report(&app, &c, &import, &template).await;
    assert_ne!(again["submission"], report["submission"]);
}

#[sqlx::test]
async fn old_imports_expire_unless_queued_mail_still_comes_from_them(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Ada", "ada@example.com").await;
    let template = crate::merge::template(&app, &c).await;
    let mut imports = Vec::new();
    for _ in 0..3 {
        let import = crate::merge::upload(&app, &c, crate::merge::file(crate::merge::CSV)).await;
        imports.push(import.trim_start_matches("/merge/").to_string());
    }
    // The second one is queued; the third is recent.
    let res = crate::merge::queue(
        &app,
        &c,
        &imports[1],
        &template,
        "later",
        "2030-01-01T09:00",
        &[],
    )
    .await;
    assert_eq!(res.status(), 200);
    app.exec(&format!(
        "UPDATE merge_imports SET created_at = now() - interval '8 days' WHERE id IN ('{}', '{}')",
        imports[0], imports[1]
    ))
    .await;
    mailmerger::server::upkeep::run_once(&app.state).await;
    let left: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM merge_imports ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let mut want: Vec<uuid::Uuid> = imports[1..].iter().map(|i| i.parse().unwrap()).collect();
    want.sort();
    assert_eq!(left, want);
    // The expired one is gone for its owner too.
    let res = app
        .call(
            &c,
            "merge/report",
            &[("import_id", &imports[0]), ("template_id", &template)],
        )
        .await;
    assert_eq!(res.status(), 404);
    // Once its mail is no longer waiting, the queued one goes as well.
    app.exec("UPDATE emails SET status = 'cancelled'").await;
    mailmerger::server::upkeep::run_once(&app.state).await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM merge_imports")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 1);
}

#[sqlx::test]
async fn files_stop_at_the_storage_quota(pool: PgPool) {
    use reqwest::multipart::{Form, Part};
    let app = app_with(
        pool,
        vec![("STORAGE_QUOTA_MB", "1".into()), ("STORAGE", "fs".into())],
    )
    .await;
    let c = app.new_user("Ada", "ada@example.com").await;
    let upload = |name: &'static str, size: usize| {
        let form = Form::new().text("kind", "attachment").part(
            "file",
            Part::bytes(vec![b'a'; size])
                .file_name(name)
                .mime_str("text/plain")
                .unwrap(),
        );
        app.post_multipart(&c, "/api/files/upload", form)
    };
    let res = upload("notes.txt", 700 * 1024).await;
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .contains("saved=")
    );
    let res = upload("more.txt", 400 * 1024).await;
    let back = res.headers()["location"].to_str().unwrap().to_string();
    assert!(back.contains("error="), "{back}");
    let page = crate::helpers::page_text(&app.page(&c, &back).await);
    assert!(
        page.contains("“more.txt” was not saved: your files would take"),
        "{page}"
    );
    assert!(page.contains("over your 1 MB of storage"), "{page}");
    // Replacing a file counts only the new size.
    let res = upload("notes.txt", 900 * 1024).await;
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .contains("replaced=")
    );
    let page = crate::helpers::page_text(&app.page(&c, "/files").await);
    assert!(page.contains("Storage: 900 KB of 1 MB used"), "{page}");
    let files: i64 = sqlx::query_scalar("SELECT count(*) FROM files")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(files, 1);
}

#[sqlx::test]
async fn on_https_the_cookie_is_host_prefixed_and_hsts_is_sent(pool: PgPool) {
    let public = "https://mail.example.com";
    let app = app_with(pool, vec![("APP_BASE_URL", public.into())]).await;
    let res = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let res = browser_client()
        .post(app.url("/api/signup"))
        .header("origin", public)
        .header("accept", "application/json")
        .form(&[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", "a long password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-mm_session="), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
}

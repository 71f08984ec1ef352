//! The delivery loop against the fake Gmail, driven step by step (or running).

use crate::helpers::{
    Options, Server, TestApp, database_name, free_port, queue_rows, spawn_app_with,
    spawn_app_with_google,
};
use mailmerger::delivery::StepReport;
use mailmerger::fake_google::Failure;
use serde_json::json;
use sqlx::PgPool;
use std::collections::HashSet;
use std::time::Duration;

async fn app_with(pool: PgPool, vars: Vec<(&'static str, String)>) -> TestApp {
    spawn_app_with_google(pool, vars).await
}

async fn app(pool: PgPool) -> TestApp {
    app_with(pool, vec![("DELIVERY_PACING", "false".into())]).await
}

/// The real server binary with its delivery loop on: one worker, small batches,
/// short leases.
fn start_server(app: &TestApp, db: &str, port: u16, vars: &[(&str, &str)]) -> Server {
    let mut all = vec![
        ("DELIVERY_WORKERS", "1"),
        ("DELIVERY_BATCH_SIZE", "5"),
        ("DELIVERY_PACING", "false"),
        ("HTTP_TIMEOUT_SECS", "2"),
        ("DELIVERY_LEASE_SECS", "3"),
    ];
    all.extend_from_slice(vars);
    Server::start(app, db, port, &all)
}

/// Sends SIGTERM and waits: the exit status and how long the exit took.
async fn terminate(server: Server) -> (std::process::ExitStatus, Duration) {
    let started = std::time::Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.child.wait().unwrap()
    })
    .await
    .unwrap();
    (exit, started.elapsed())
}

/// Runs steps until nothing is queued, or nothing more is due within `horizon`
/// on the test clock, which it moves to each retry instead of waiting for it.
pub(crate) async fn drain(app: &TestApp, horizon: Duration) -> StepReport {
    let d = app.deliverer();
    let mut total = StepReport::default();
    for _ in 0..10_000 {
        let r = d.run_once().await.unwrap();
        total.claimed += r.claimed;
        total.sent += r.sent;
        total.retried += r.retried;
        total.failed += r.failed;
        total.uncertain += r.uncertain;
        total.held += r.held;
        if r.claimed > 0 {
            continue;
        }
        if app.count("queued").await == 0 {
            return total;
        }
        let wait = d.next_wake().await;
        if wait > horizon {
            return total;
        }
        app.advance_clock(wait.as_secs_f64() + 0.001).await;
    }
    panic!("delivery did not settle: {total:?}");
}

#[sqlx::test]
async fn a_queued_message_reaches_gmail_once_with_the_right_headers(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.queue_message(
        &c,
        &[
            ("to", "grace@example.com"),
            ("cc", "boss@example.com"),
            ("bcc", "archive@example.com"),
            ("subject", "Café on Friday?"),
            ("body", "Hello **Grace**."),
            ("send", "now"),
        ],
    )
    .await;
    let report = app.deliverer().run_once().await.unwrap();
    assert_eq!((report.claimed, report.sent), (1, 1));

    let received = app.fake().received(Some("ada@gmail.test"));
    assert_eq!(received.len(), 1);
    let m = &received[0];
    assert_eq!(m.to(), vec!["grace@example.com"]);
    assert_eq!(m.cc(), vec!["boss@example.com"]);
    // Gmail's API reads Bcc from the message, so it is kept for this transport.
    assert_eq!(m.bcc(), vec!["archive@example.com"]);
    assert_eq!(m.from(), vec!["ada@gmail.test"]);
    assert_eq!(m.from_name().as_deref(), Some("Ada Lovelace"));
    assert_eq!(m.subject().as_deref(), Some("Café on Friday?"));
    assert_eq!(m.content_type().as_deref(), Some("multipart/alternative"));
    assert_eq!(
        m.html().unwrap().trim(),
        "<p>Hello <strong>Grace</strong>.</p>"
    );
    assert_eq!(m.text().unwrap().trim(), "Hello Grace.");

    let (status, message_id, gmail_id, attempts): (String, String, String, i32) =
        sqlx::query_as("SELECT status, message_id, gmail_message_id, attempts FROM emails")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "sent");
    assert_eq!(attempts, 1);
    // Sent with our Message-ID, which Gmail replaces; X-MailMerger-Id stays.
    assert_eq!(m.sent_message_id.as_deref(), Some(message_id.as_str()));
    assert_ne!(m.message_id().map(|id| format!("<{id}>")), Some(message_id));
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(m.mailmerger_id(), Some(id.to_string()));
    assert_eq!(gmail_id, m.id);
    // Nothing is sent twice.
    assert_eq!(app.deliverer().run_once().await.unwrap().claimed, 0);
    assert_eq!(app.fake().sends(), 1);
}

/// Mail due on an account another loop's claim has locked is not claimed
/// (`SKIP LOCKED`); the loop that found nothing looks again within
/// `CONTENDED`, not at the next timer (a lease expiry, up to 30 s away).
#[sqlx::test]
async fn a_loop_that_finds_due_mail_locked_by_another_claim_looks_again_at_once(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.queue_one(&c, "grace@example.com", "Locked", "now")
        .await;
    let d = app.deliverer();

    // Nothing is in flight, so without the lock the next event is far away.
    let mut other_claim = app.pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM users FOR UPDATE")
        .execute(&mut *other_claim)
        .await
        .unwrap();
    assert_eq!(d.run_once().await.unwrap().claimed, 0);
    assert!(d.next_wake().await <= mailmerger::emails::CONTENDED);
    other_claim.commit().await.unwrap();

    assert_eq!(d.run_once().await.unwrap().sent, 1);
    // Nothing waits now: the loop sleeps its longest.
    assert_eq!(d.next_wake().await, mailmerger::delivery::MAX_SLEEP);
}

#[sqlx::test]
async fn a_429_with_retry_after_waits_until_then_and_sends_once(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.queue_one(&c, "grace@example.com", "Hi", "now").await;
    let until = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let stamp = until
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    app.fake().fail_next(Failure {
        count: 1,
        status: 429,
        body: json!({"error": {"code": 429,
            "message": format!("User-rate limit exceeded.  Retry after {stamp}")}}),
    });
    let first = app.deliverer().run_once().await.unwrap();
    assert_eq!(first.retried, 1);
    let next: time::OffsetDateTime = sqlx::query_scalar("SELECT next_attempt_at FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        next >= until - time::Duration::milliseconds(1),
        "{next} < {until}"
    );
    // Not before the time Gmail named.
    assert_eq!(app.deliverer().run_once().await.unwrap().claimed, 0);
    app.advance_clock(2.1).await;
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);
    assert_eq!(app.fake().received(None).len(), 1);
    assert_eq!(app.statuses().await, vec!["sent"]);
}

#[sqlx::test]
async fn two_500s_then_success_sends_once(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.queue_one(&c, "grace@example.com", "Hi", "now").await;
    app.fake().fail_next(Failure {
        count: 2,
        status: 500,
        body: json!({"error": {"code": 500, "message": "Backend Error"}}),
    });
    let total = drain(&app, Duration::from_secs(15)).await;
    assert_eq!((total.retried, total.sent), (2, 1));
    assert_eq!(app.fake().received(None).len(), 1);
    let (status, attempts): (String, i32) = sqlx::query_as("SELECT status, attempts FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((status.as_str(), attempts), ("sent", 3));
}

#[sqlx::test]
async fn a_400_fails_with_gmail_s_reason(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.queue_one(&c, "grace@example.com", "Hi", "now").await;
    app.fake().fail_next(Failure {
        count: 1,
        status: 400,
        body: json!({"error": {"code": 400, "message": "Invalid To header",
            "errors": [{"reason": "badRequest"}]}}),
    });
    assert_eq!(app.deliverer().run_once().await.unwrap().failed, 1);
    let (status, error): (String, String) = sqlx::query_as("SELECT status, last_error FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "failed");
    assert_eq!(error, "Gmail said: Invalid To header");
    assert_eq!(app.deliverer().run_once().await.unwrap().claimed, 0);
}

#[sqlx::test]
async fn a_401_refreshes_the_token_once_and_sends(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.queue_one(&c, "grace@example.com", "Hi", "now").await;
    app.fake().expire_access_tokens("ada@gmail.test");
    let before = app.fake().token_requests();
    let r = app.deliverer().run_once().await.unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(app.fake().token_requests() - before, 1, "one refresh");
    assert_eq!(app.fake().received(None).len(), 1);
}

#[sqlx::test]
async fn invalid_grant_disconnects_holds_the_mail_and_reconnecting_sends_it(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.queue_one(&c, "grace@example.com", "Hi", "now").await;
    app.fake().revoke_user("ada@gmail.test");
    let r = app.deliverer().run_once().await.unwrap();
    assert_eq!((r.claimed, r.held, r.sent), (1, 1, 0));
    let (status, attempts): (String, i32) = sqlx::query_as("SELECT status, attempts FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((status.as_str(), attempts), ("queued", 0));
    let gmail: String = sqlx::query_scalar("SELECT gmail_status FROM google_accounts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(gmail, "disconnected");
    // Held: not claimed again, and every page asks to reconnect.
    assert_eq!(app.deliverer().run_once().await.unwrap().claimed, 0);
    let page = app.page(&c, "/dashboard").await;
    assert!(page.contains("Reconnect Gmail"), "{page}");

    app.connect_gmail(&c, "ada@gmail.test").await;
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);
    assert_eq!(app.fake().received(None).len(), 1);
}

#[sqlx::test]
async fn two_loops_send_500_messages_each_exactly_once(pool: PgPool) {
    let app = app(pool).await;
    for i in 0..2 {
        app.gmail_user(&format!("sender{i}@gmail.test")).await;
    }
    app.exec("UPDATE users SET daily_send_cap = 1000").await;
    queue_rows(&app, 250).await;
    let (a, b) = tokio::join!(
        drain(&app, Duration::from_secs(60)),
        drain(&app, Duration::from_secs(60))
    );
    assert_eq!(a.sent + b.sent, 500);
    assert!(a.sent > 0 && b.sent > 0, "both loops worked: {a:?} {b:?}");
    let received = app.fake().received(None);
    assert_eq!(received.len(), 500);
    let ids: HashSet<String> = received.iter().filter_map(|m| m.mailmerger_id()).collect();
    assert_eq!(ids.len(), 500, "a message was sent twice");
    assert_eq!(app.count("sent").await, 500);
}

#[sqlx::test]
async fn a_scheduled_message_does_not_go_before_its_time(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.queue_one(&c, "grace@example.com", "Later", "now").await;
    app.exec("UPDATE emails SET send_at = now() + interval '2 hours'")
        .await;
    assert_eq!(app.deliverer().run_once().await.unwrap().claimed, 0);
    app.advance_clock(7_100.0).await;
    assert_eq!(app.deliverer().run_once().await.unwrap().claimed, 0);
    assert!(app.fake().received(None).is_empty());
    app.advance_clock(110.0).await;
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);
}

#[sqlx::test]
async fn the_daily_cap_stops_sending_until_the_rolling_window_frees(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.exec("UPDATE users SET daily_send_cap = 3").await;
    for i in 0..5 {
        app.queue_one(&c, &format!("r{i}@example.com"), "Hi", "now")
            .await;
    }
    let first = drain(&app, Duration::from_secs(2)).await;
    assert_eq!(first.sent, 3);
    assert_eq!(app.deliverer().run_once().await.unwrap().claimed, 0);
    assert_eq!(app.fake().received(None).len(), 3);

    // Almost a day: still capped. Then the first sends leave the 24 hours.
    app.advance_clock(23.0 * 3600.0).await;
    assert_eq!(app.deliverer().run_once().await.unwrap().claimed, 0);
    app.advance_clock(3600.0 + 60.0).await;
    let second = drain(&app, Duration::from_secs(2)).await;
    assert_eq!(second.sent, 2);
    assert_eq!(app.fake().received(None).len(), 5);
}

/// What the daily cap counts (kept in a ledger beside the messages) against
/// what the messages themselves say: recipients of messages claimed in the last
/// 24 hours that went or may have gone.
async fn cap_use(app: &TestApp) -> (i64, i64) {
    let ledger: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(recipients), 0)::int8 FROM send_usage
         WHERE minute_end > mm_now() - interval '24 hours'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let messages: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(cardinality(to_addrs) + cardinality(cc_addrs) + cardinality(bcc_addrs)), 0)::int8
         FROM emails WHERE status IN ('sending', 'sent', 'uncertain')
           AND claimed_at > mm_now() - interval '24 hours'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    (ledger, messages)
}

#[sqlx::test]
async fn the_daily_cap_counts_what_went_not_what_failed_or_went_back(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.exec("UPDATE users SET daily_send_cap = 4").await;
    for i in 0..6 {
        app.queue_one(&c, &format!("r{i}@example.com"), &format!("m{i}"), "now")
            .await;
    }
    // Four claimed (the cap), one refused for good: it hands its place back.
    app.fake().fail_next(Failure {
        count: 1,
        status: 400,
        body: json!({"error": {"code": 400, "message": "Invalid To header"}}),
    });
    let first = app.deliverer().run_once().await.unwrap();
    assert_eq!((first.claimed, first.sent, first.failed), (4, 3, 1));
    assert_eq!(cap_use(&app).await, (3, 3));

    // The freed place: a 500 puts the message back in the queue, uncounted,
    // and its retry takes the place again.
    app.fake().fail_next(Failure {
        count: 1,
        status: 500,
        body: json!({"error": {"code": 500, "message": "Backend Error"}}),
    });
    let second = app.deliverer().run_once().await.unwrap();
    assert_eq!((second.claimed, second.retried), (1, 1));
    assert_eq!(cap_use(&app).await, (3, 3));
    let third = drain(&app, Duration::from_secs(15)).await;
    assert_eq!(third.sent, 1);
    assert_eq!(cap_use(&app).await, (4, 4));
    assert_eq!(app.deliverer().run_once().await.unwrap().claimed, 0);

    // "Send again" on a message that may have gone hands its place back until
    // it is claimed again; the cap still holds the last one.
    app.exec("UPDATE emails SET status = 'uncertain' WHERE id = (SELECT id FROM emails WHERE status = 'sent' ORDER BY id LIMIT 1)").await;
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM emails WHERE status = 'uncertain'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let res = app
        .post_form(
            &c,
            "sent/resolve",
            "/sent",
            &[("action", &format!("send_again:{id}"))],
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(cap_use(&app).await, (3, 3));
    assert_eq!(drain(&app, Duration::from_secs(5)).await.sent, 1);
    assert_eq!(cap_use(&app).await, (4, 4));
    assert_eq!(app.count("queued").await, 1);
    assert_eq!(app.fake().received(None).len(), 5);
}

#[sqlx::test]
async fn the_running_loop_wakes_on_notify_and_sends(pool: PgPool) {
    let app = app_with(
        pool,
        vec![
            ("DELIVERY_LOOP", "true".into()),
            ("DELIVERY_PACING", "false".into()),
        ],
    )
    .await;
    let c = app.gmail_user("ada@gmail.test").await;
    // Let the loop settle into its (up to 30 s) sleep, then queue.
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.queue_one(&c, "grace@example.com", "Hi", "now").await;
    let started = std::time::Instant::now();
    while app.fake().received(None).is_empty() && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.fake().received(None).len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "woke only on the timer"
    );
}

#[sqlx::test]
async fn an_expired_lease_makes_a_message_uncertain_never_queued(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.queue_one(&c, "grace@example.com", "Hi", "now").await;
    // As if a server had claimed it and died.
    app.exec("UPDATE emails SET status = 'sending', lease_until = now() - interval '1 second', lease_id = gen_random_uuid(), attempts = 1").await;
    assert_eq!(app.deliverer().expire_leases().await.unwrap(), 1);
    assert_eq!(app.statuses().await, vec!["uncertain"]);
    assert_eq!(app.deliverer().run_once().await.unwrap().claimed, 0);
    assert!(app.fake().received(None).is_empty());
}

#[sqlx::test]
async fn a_server_killed_mid_batch_loses_nothing_and_sends_nothing_twice(pool: PgPool) {
    let db = database_name(&pool);
    let app = app(pool).await;
    app.gmail_user("ada@gmail.test").await;
    queue_rows(&app, 30).await;
    // Slow sends, so that a kill lands while a batch is in flight.
    app.fake().set_delay(Duration::from_millis(400));

    let port = free_port();
    let mut server = start_server(&app, &db, port, &[]);
    let started = std::time::Instant::now();
    // After a first batch was recorded as sent, kill while the next is in flight
    // (each send takes 400 ms).
    while (app.count("sent").await < 5 || app.count("sending").await == 0)
        && started.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();
    assert!(app.fake().sends() >= 5, "the server never sent");
    let in_flight: HashSet<uuid::Uuid> =
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM emails WHERE status = 'sending'")
            .fetch_all(&app.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert!(
        !in_flight.is_empty(),
        "the kill should land while a batch is in flight"
    );

    // Restarted, it finishes the queue; what was in flight becomes uncertain.
    let mut server = start_server(&app, &db, port, &[]);
    let started = std::time::Instant::now();
    while app.count("queued").await + app.count("sending").await > 0
        && started.elapsed() < Duration::from_secs(40)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill();

    assert_eq!(
        app.count("queued").await + app.count("sending").await,
        0,
        "lost messages"
    );
    let uncertain: HashSet<uuid::Uuid> =
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM emails WHERE status = 'uncertain'")
            .fetch_all(&app.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(
        uncertain, in_flight,
        "exactly the rows in flight at the kill are uncertain"
    );
    let sent = app.count("sent").await;
    assert_eq!(sent + uncertain.len() as i64, 30);

    // Gmail got no message twice, and every row marked sent was received.
    let received = app.fake().received(None);
    let ids: Vec<String> = received.iter().filter_map(|m| m.mailmerger_id()).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a message reached Gmail twice");
    let sent_ids: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM emails WHERE status = 'sent'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    for id in &sent_ids {
        assert!(unique.contains(id), "{id} marked sent but never received");
    }
}

#[sqlx::test]
async fn nobody_can_send_retry_or_see_another_user_s_messages(pool: PgPool) {
    let app = app(pool).await;
    let owner = app.gmail_user("owner@gmail.test").await;
    app.queue_one(&owner, "grace@example.com", "Private plans", "now")
        .await;
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    app.exec("UPDATE emails SET send_at = now() + interval '1 day'")
        .await;

    let other = app.gmail_user("other@gmail.test").await;
    let id = id.to_string();
    // Send now, by row and by selection.
    for form in [
        vec![("action", format!("send:{id}"))],
        vec![("action", "send_now".to_string()), ("ids[0]", id.clone())],
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        app.call(&other, "queue/update", &form).await;
    }
    let due_later: bool = sqlx::query_scalar("SELECT send_at > now() FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(due_later, "another user moved the message forward");

    // Retry, send again, mark as sent.
    app.exec("UPDATE emails SET status = 'failed', last_error = 'x'")
        .await;
    for action in ["retry", "send_again", "mark_sent"] {
        let res = app
            .call(
                &other,
                "sent/resolve",
                &[("action", &format!("{action}:{id}"))],
            )
            .await;
        assert_eq!(res.status(), 404, "{action}");
    }
    // Made-up actions are refused before anything is looked up.
    for action in ["drop", "retry:not-an-id", "delete"] {
        let res = app
            .call(
                &other,
                "sent/resolve",
                &[("action", action), ("ids[0]", &id.to_string())],
            )
            .await;
        assert_eq!(res.status(), 422, "{action}");
    }
    assert_eq!(app.statuses().await, vec!["failed"]);

    // Neither the list nor the page shows it.
    let list = app
        .call(&other, "sent/list", &[("filter", "all")])
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains("Private plans"), "{list}");
    let page = other
        .get(app.url("/sent?filter=failed"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Private plans"));
    let mine = owner
        .get(app.url("/sent?filter=failed"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(mine.contains("Private plans"));
    assert!(app.fake().received(None).is_empty());
}

#[sqlx::test]
async fn without_google_mail_goes_to_the_local_outbox(pool: PgPool) {
    let app = crate::helpers::spawn_app(pool).await;
    let c = crate::helpers::browser_client();
    app.signup(&c, "Ada Lovelace", "ada@example.com", "a long password")
        .await;
    app.queue_one(&c, "grace@example.com", "To the outbox", "now")
        .await;
    let r = app.deliverer().run_once().await.unwrap();
    assert_eq!(r.sent, 1);
    let dir = std::path::PathBuf::from(&app.vars["DATA_DIR"]).join("outbox");
    // The user's mail; the product's own (the verification link) is in system/.
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|f| f.path().extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(raw.contains("Subject: To the outbox"), "{raw}");
    assert!(
        raw.contains("From: \"Ada Lovelace\" <ada@example.com>"),
        "{raw}"
    );
    let page = app.page(&c, "/sent").await;
    assert!(page.contains("Outbox ("), "{page}");
    let settings = app.page(&c, "/settings").await;
    assert!(settings.contains("local outbox"), "{settings}");
}

#[sqlx::test]
async fn metrics_count_what_the_loop_did(pool: PgPool) {
    let token = "a-metrics-token-for-tests";
    let app = app_with(
        pool,
        vec![
            ("DELIVERY_PACING", "false".into()),
            ("METRICS_TOKEN", token.into()),
        ],
    )
    .await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.queue_one(&c, "grace@example.com", "Hi", "now").await;
    app.deliverer().run_once().await.unwrap();
    let anonymous = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth("a-metrics-token-for-testz")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let text = reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // This app's own recorder: exactly what this app did.
    assert!(
        text.contains("mailmerger_messages_total{outcome=\"sent\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("mailmerger_messages_total{outcome=\"failed\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "mailmerger_http_requests_total{route=\"/api/compose/queue\",status=\"200\"} 1\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("mailmerger_delivery_send_duration_seconds_count 1\n"),
        "{text}"
    );
    assert!(
        text.contains("mailmerger_delivery_claim_duration_seconds_count 1\n"),
        "{text}"
    );

    // Queue depth is read from Postgres on the upkeep timer, not per scrape.
    app.queue_one(&c, "later@example.com", "Later", "now").await;
    app.state.metrics.refresh(&app.pool).await;
    let text = app.state.metrics.render();
    assert!(
        text.contains("mailmerger_queue_depth{status=\"queued\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("mailmerger_queue_depth{status=\"sending\"} 0\n"),
        "{text}"
    );
    // A made-up path is counted under one label, not one series each.
    for n in 0..3 {
        reqwest::get(app.url(&format!("/no-such-page-{n}")))
            .await
            .unwrap();
    }
    let text = app.state.metrics.render();
    assert!(!text.contains("no-such-page"), "{text}");
}

#[sqlx::test]
async fn over_smtp_bcc_recipients_get_the_mail_but_nobody_sees_them(pool: PgPool) {
    let (port, log) = crate::helpers::smtp_sink().await;
    let app = spawn_app_with(
        pool,
        Options {
            vars: vec![("SMTP_URL", format!("smtp://127.0.0.1:{port}"))],
            ..Default::default()
        },
    )
    .await;
    let c = crate::helpers::browser_client();
    app.signup(&c, "Ada Lovelace", "ada@example.com", "a long password")
        .await;
    // Over SMTP, mail goes From the account's address: only once it is verified.
    app.verify_address(&c, "ada@example.com").await;
    app.queue_message(
        &c,
        &[
            ("to", "grace@example.com"),
            ("bcc", "secret@example.com"),
            ("subject", "Over SMTP"),
            ("body", "Hello."),
            ("when", "now"),
        ],
    )
    .await;
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 1);
    let mut rcpt = log[0].rcpt.clone();
    rcpt.sort();
    assert_eq!(rcpt, vec!["grace@example.com", "secret@example.com"]);
    assert!(log[0].data.contains("Subject: Over SMTP"));
    assert!(
        !log[0].data.contains("secret@example.com"),
        "Bcc shown to recipients: {}",
        log[0].data
    );
    assert_eq!(app.statuses().await, vec!["sent"]);
}

#[sqlx::test]
async fn a_message_over_a_megabyte_goes_through_gmail_s_upload_endpoint(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.queue_one(&c, "grace@example.com", "Small", "now").await;
    app.queue_one(&c, "grace@example.com", "Large", "now").await;
    // A body of about 1.2 MB (attachments will make such messages common).
    app.exec("UPDATE emails SET body_text = repeat('All work and no play. ', 55000) WHERE subject = 'Large'").await;
    assert_eq!(drain(&app, Duration::from_secs(5)).await.sent, 2);
    let mut by_subject: Vec<(String, &str, usize)> = app
        .fake()
        .received(None)
        .iter()
        .map(|m| (m.subject().unwrap(), m.endpoint, m.raw.len()))
        .collect();
    by_subject.sort();
    assert_eq!(by_subject[0].0, "Large");
    assert_eq!(by_subject[0].1, "upload");
    assert!(by_subject[0].2 > 1_000_000);
    assert_eq!(
        (by_subject[1].0.as_str(), by_subject[1].1),
        ("Small", "json")
    );
}

/// A message that names a Gmail conversation (as a follow-up will) goes into
/// it on both endpoints: `threadId` in the JSON, and beside the message in a
/// multipart upload. A conversation the mailbox does not have fails saying so.
#[sqlx::test]
async fn a_message_in_a_thread_carries_it_on_both_endpoints(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.queue_one(&c, "grace@example.com", "First", "now").await;
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);
    let thread: String = sqlx::query_scalar("SELECT gmail_thread_id FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for subject in ["Re: First", "Re: First, large", "Elsewhere"] {
        app.queue_one(&c, "grace@example.com", subject, "now").await;
    }
    app.exec(&format!(
        "UPDATE emails SET gmail_thread_id = '{thread}' WHERE subject LIKE 'Re: %'"
    ))
    .await;
    app.exec("UPDATE emails SET gmail_thread_id = 'not-a-thread-of-ada', body_text = 'x' WHERE subject = 'Elsewhere'").await;
    app.exec("UPDATE emails SET body_text = repeat('All work and no play. ', 55000) WHERE subject = 'Re: First, large'").await;
    let report = drain(&app, Duration::from_secs(5)).await;
    assert_eq!((report.sent, report.failed), (2, 1));

    let received = app.fake().received(None);
    let mut got: Vec<(String, &str, &str)> = received
        .iter()
        .map(|m| (m.subject().unwrap(), m.endpoint, m.thread_id.as_str()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("First".to_string(), "json", thread.as_str()),
            ("Re: First".to_string(), "json", thread.as_str()),
            ("Re: First, large".to_string(), "upload", thread.as_str()),
        ]
    );
    let (status, error): (String, String) =
        sqlx::query_as("SELECT status, last_error FROM emails WHERE subject = 'Elsewhere'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    assert_eq!(error, "Gmail said: Requested entity was not found.");
    // Every message carries its own id, which Gmail's replaced Message-ID does not.
    let ours: HashSet<String> = received.iter().filter_map(|m| m.mailmerger_id()).collect();
    let rows: HashSet<String> =
        sqlx::query_scalar::<_, String>("SELECT id::text FROM emails WHERE status = 'sent'")
            .fetch_all(&app.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(ours, rows);
}

/// 20 messages for one account; a server with a 5-minute lease, as in
/// production, whose sends Gmail answers after `delay`; SIGTERM once a batch is
/// at Gmail. It must exit 0 within docker stop's 10 s.
async fn sigterm_mid_batch(pool: PgPool, delay: Duration) -> TestApp {
    let db = database_name(&pool);
    let app = app(pool).await;
    app.gmail_user("ada@gmail.test").await;
    queue_rows(&app, 20).await;
    app.fake().set_delay(delay);
    let server = start_server(
        &app,
        &db,
        free_port(),
        &[("HTTP_TIMEOUT_SECS", "30"), ("DELIVERY_LEASE_SECS", "300")],
    );
    let started = std::time::Instant::now();
    while app.count("sending").await == 0 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Claimed; a moment more and the batch is at Gmail (a claimed message not yet
    // handed to Gmail would go back to the queue instead).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (exit, took) = terminate(server).await;
    assert!(exit.success(), "exited with {exit}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    app
}

#[sqlx::test]
async fn sigterm_finishes_the_sends_in_flight_and_exits_within_docker_s_grace(pool: PgPool) {
    let app = sigterm_mid_batch(pool, Duration::from_millis(800)).await;
    // Nothing is left in flight: what was sent is recorded as sent, the rest waits.
    assert_eq!(app.count("sending").await, 0);
    assert_eq!(app.count("uncertain").await, 0);
    let sent = app.count("sent").await;
    assert!(sent >= 1, "the batch in hand was not finished");
    assert_eq!(sent as usize, app.fake().received(None).len());
    assert_eq!(sent + app.count("queued").await, 20);
    let attempts: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(attempts), 0)::int8 FROM emails WHERE status = 'queued'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 0, "mail that was not sent counts no attempt");
}

#[sqlx::test]
async fn sigterm_with_gmail_still_answering_records_uncertain_and_exits_in_time(pool: PgPool) {
    // Gmail takes longer than the grace period (8 s) to answer.
    let app = sigterm_mid_batch(pool, Duration::from_secs(20)).await;
    // The batch at Gmail may have gone: uncertain at once, with the reason, not
    // `sending` until a 5-minute lease runs out. The rest waits, untouched.
    assert_eq!(app.count("sending").await, 0);
    assert_eq!(app.count("uncertain").await, 5);
    assert_eq!(app.count("queued").await, 15);
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT last_error FROM emails WHERE status = 'uncertain'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(reasons.len(), 1);
    assert!(
        reasons[0].starts_with("MailMerger was stopped while Gmail was answering"),
        "{reasons:?}"
    );
}

#[sqlx::test]
async fn failed_and_uncertain_messages_can_be_retried_sent_again_or_marked_sent(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    for to in [
        "failed@example.com",
        "again@example.com",
        "marked@example.com",
    ] {
        app.queue_one(&c, to, to, "now").await;
    }
    // One fails for good; the other two are left as a killed server leaves them.
    app.fake().fail_next(Failure {
        count: 1,
        status: 400,
        body: json!({"error": {"code": 400, "message": "Invalid To header"}}),
    });
    app.exec("UPDATE emails SET send_at = now() + interval '1 day' WHERE subject <> 'failed@example.com'").await;
    assert_eq!(app.deliverer().run_once().await.unwrap().failed, 1);
    app.exec(
        "UPDATE emails SET status = 'uncertain', attempts = 1, claimed_at = now(),
                message_id = '<' || id || '@127.0.0.1>', last_error = 'interrupted'
         WHERE status = 'queued'",
    )
    .await;
    let id_of = |subject: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM emails WHERE subject = $1")
                .bind(subject)
                .fetch_one(&pool)
                .await
                .unwrap()
                .to_string()
        }
    };
    let page = app.page(&c, "/sent?filter=all").await;
    assert!(page.contains("Gmail said: Invalid To header"), "{page}");
    assert!(page.contains("2 messages may have been sent"), "{page}");

    for (action, subject) in [
        ("retry", "failed@example.com"),
        ("send_again", "again@example.com"),
        ("mark_sent", "marked@example.com"),
    ] {
        let id = id_of(subject).await;
        let res = app
            .post_form(
                &c,
                "sent/resolve",
                "/sent",
                &[("action", &format!("{action}:{id}"))],
            )
            .await;
        assert!(res.status().is_redirection(), "{action}: {}", res.status());
    }
    let again_id: String =
        sqlx::query_scalar("SELECT message_id FROM emails WHERE subject = 'again@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(drain(&app, Duration::from_secs(5)).await.sent, 2);
    assert_eq!(app.statuses().await, vec!["sent", "sent", "sent"]);
    // "Mark as sent" sent nothing; "Send again" kept its Message-ID.
    let received = app.fake().received(None);
    let mut subjects: Vec<String> = received.iter().filter_map(|m| m.subject()).collect();
    subjects.sort();
    assert_eq!(subjects, vec!["again@example.com", "failed@example.com"]);
    let again = received
        .iter()
        .find(|m| m.subject().as_deref() == Some("again@example.com"))
        .unwrap();
    assert_eq!(again.sent_message_id, Some(again_id));
}

//! Several real server processes on one database and one Redis (docs/deploy.md,
//! "Several instances").

use crate::helpers::{
    Server, TestApp, browser_client, consent, database_name, free_port, queue_rows,
    spawn_app_with_google,
};
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

const ACCOUNTS: usize = 50;
const PER_ACCOUNT: i32 = 100;
const DAILY_CAP: i64 = 80;
const BATCH: i64 = 20;
const WORKERS: i64 = 2;
/// Gmail's quota for projects created from May 2026: 60 sends a minute.
const UNITS_PER_MINUTE: u64 = 6_000;

async fn app(pool: PgPool) -> TestApp {
    spawn_app_with_google(pool, Vec::new()).await
}

/// Accounts made the quick way: Sign in with Google, then Connect Gmail.
async fn connect_accounts(app: &TestApp, n: usize) -> Vec<String> {
    let mut emails = Vec::with_capacity(n);
    for i in 0..n {
        let email = format!("sender{i:02}@gmail.test");
        let c = browser_client();
        let (_, url) = app
            .google_flow(&c, "/auth/google/login", consent(&email))
            .await;
        assert!(url.ends_with("/dashboard"), "ended at {url}");
        app.connect_gmail(&c, &email).await;
        emails.push(email);
    }
    emails
}

/// `lease` tells the instances' claims apart: a claim's `lease_until` is its
/// `claimed_at` plus the lease of the instance that made it.
fn start(app: &TestApp, db: &str, lease: &str) -> Server {
    let batch = BATCH.to_string();
    let workers = WORKERS.to_string();
    Server::start(
        app,
        db,
        free_port(),
        &[
            ("DELIVERY_WORKERS", &workers),
            ("DELIVERY_BATCH_SIZE", &batch),
            ("HTTP_TIMEOUT_SECS", "5"),
            ("DELIVERY_LEASE_SECS", lease),
            ("GMAIL_USER_UNITS_PER_MINUTE", "6000"),
        ],
    )
}

#[sqlx::test]
async fn three_instances_share_one_queue_one_pace_and_one_cap_and_survive_a_kill(pool: PgPool) {
    let db = database_name(&pool);
    let app = app(pool).await;
    let fake = app.fake().clone();
    // The fake refuses, as Google would, any send over the quota in a sliding minute.
    fake.set_user_quota(Some(UNITS_PER_MINUTE));
    let emails = connect_accounts(&app, ACCOUNTS).await;
    app.exec(&format!("UPDATE users SET daily_send_cap = {DAILY_CAP}"))
        .await;
    queue_rows(&app, PER_ACCOUNT).await;
    assert_eq!(app.count("queued").await, 5_000);
    // Slow enough that a batch is at Gmail much of the time.
    fake.set_delay(Duration::from_millis(300));

    let mut servers: Vec<Server> = ["10", "11", "10"]
        .iter()
        .map(|lease| start(&app, &db, lease))
        .collect();
    for s in &servers {
        s.ready().await;
    }
    let started = Instant::now();
    while fake.sends() < 1_000 && started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(fake.sends() >= 1_000, "the instances did not send");
    // Wait for the victim (the one with the 11 s lease) to claim a batch, give
    // it a moment to reach Gmail, then SIGKILL: no chance to hand anything back.
    // The batch is caught within 50 ms of its claim, so 100 ms later its sends
    // (300 ms each at the fake) are still at Gmail and none can be recorded.
    let victim_holding = |claimed_within_ms: i64| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM emails WHERE status = 'sending'
               AND lease_until - claimed_at = interval '11 seconds'
               AND claimed_at > mm_now() - make_interval(secs => $1::float8 / 1000)",
            )
            .bind(claimed_within_ms as f64)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    while victim_holding(50).await == 0 && started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let held = victim_holding(60_000).await;
    servers[1].kill();
    assert!(
        held > 0,
        "the kill should land while the victim holds a batch"
    );
    let killed_at = fake.sends();

    // The survivors finish: every account reaches its cap and stops there.
    let settled = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM emails WHERE status IN ('sent', 'uncertain')",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    while (settled(&app).await < ACCOUNTS as i64 * DAILY_CAP || app.count("sending").await > 0)
        && started.elapsed() < Duration::from_secs(300)
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A little longer: nothing more may go once the caps are reached.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let elapsed = started.elapsed();
    let logs: Vec<String> = servers.iter().map(Server::log_text).collect();
    drop(servers);

    // Per account: exactly the cap claimed (sent, or uncertain because it may have
    // gone), the rest still queued for tomorrow, nothing failed.
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT g.email, e.status, count(*) FROM emails e
         JOIN google_accounts g ON g.user_id = e.user_id
         GROUP BY g.email, e.status",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut by_account: HashMap<String, HashMap<String, i64>> = HashMap::new();
    for (email, status, n) in rows {
        by_account.entry(email).or_default().insert(status, n);
    }
    for email in &emails {
        let s = by_account.get(email).cloned().unwrap_or_default();
        let get = |k: &str| s.get(k).copied().unwrap_or(0);
        assert_eq!(
            get("sent") + get("uncertain"),
            DAILY_CAP,
            "{email}: {s:?} after {elapsed:?}\n{}",
            logs.join("\n---\n")
        );
        assert_eq!(
            get("queued"),
            PER_ACCOUNT as i64 - DAILY_CAP,
            "{email}: {s:?}"
        );
        assert_eq!(get("failed") + get("sending"), 0, "{email}: {s:?}");
    }

    // At the fake Gmail: no message twice, every `sent` row exactly once, nothing
    // that is still queued, and `uncertain` rows at most what the killed instance held.
    let received = fake.received(None);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in &received {
        *seen
            .entry(m.mailmerger_id().expect("an X-MailMerger-Id"))
            .or_default() += 1;
    }
    let twice: Vec<&String> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    assert!(twice.is_empty(), "received twice: {twice:?}");
    let ids = |status: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT id::text FROM emails WHERE status = $1")
                .bind(status)
                .fetch_all(&pool)
                .await
                .unwrap()
                .into_iter()
                .collect::<HashSet<String>>()
        }
    };
    let sent = ids("sent").await;
    for id in &sent {
        assert_eq!(seen.get(id), Some(&1), "{id} is marked sent");
    }
    for id in ids("queued").await {
        assert!(!seen.contains_key(&id), "{id} is queued but was received");
    }
    let uncertain = ids("uncertain").await;
    assert!(
        uncertain.len() as i64 <= BATCH * WORKERS,
        "{} uncertain, more than the killed instance could hold",
        uncertain.len()
    );
    assert!(
        !uncertain.is_empty(),
        "the victim held {held} at the kill, yet none is uncertain"
    );
    let reached = uncertain.iter().filter(|id| seen.contains_key(*id)).count();
    assert_eq!(
        received.len(),
        sent.len() + reached,
        "received messages that no row accounts for"
    );

    // The pace held for every account across the three instances: Gmail refused
    // nothing, and no 60-second window at Gmail holds more than 60 of one account's.
    assert_eq!(
        fake.rate_limited(),
        0,
        "a send went over the per-user quota"
    );
    let mut worst = 0;
    for email in &emails {
        let times: Vec<Instant> = received
            .iter()
            .filter(|m| &m.account == email)
            .map(|m| m.at)
            .collect();
        for (i, t) in times.iter().enumerate() {
            let within = times[i..]
                .iter()
                .take_while(|u| u.duration_since(*t) < Duration::from_secs(60))
                .count();
            worst = worst.max(within);
        }
    }
    assert!(
        worst as u64 <= UNITS_PER_MINUTE / 100,
        "{worst} sends in one minute"
    );
    println!(
        "instances: {} received ({killed_at} before the kill), {} uncertain, busiest minute {worst}, {elapsed:?}",
        received.len(),
        uncertain.len()
    );
}

#[sqlx::test]
async fn a_session_and_a_template_change_are_seen_by_every_instance(pool: PgPool) {
    let db = database_name(&pool);
    let app = app(pool).await;
    let quiet = [("DELIVERY_LOOP", "false")];
    let a = Server::start(&app, &db, free_port(), &quiet);
    let b = Server::start(&app, &db, free_port(), &quiet);
    a.ready().await;
    b.ready().await;

    // Signed up on A, served by B: the session lives in Redis. (Cookies are per
    // host, not per port, as behind one load balancer.)
    let c = browser_client();
    let res = a
        .call(
            &c,
            "signup",
            &[
                ("name", "Grace Hopper"),
                ("email", "grace@example.com"),
                ("password", "a long password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let page = c.get(b.url("/dashboard")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Grace Hopper"));

    // B lists (and caches) the templates; A renames one; B shows the new name.
    let res = a
        .call(
            &c,
            "templates/save",
            &[
                ("id", ""),
                ("name", "Intro"),
                ("subject", "Hello {{ first_name }}"),
                ("body", "Hi {{ first_name }}"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let id: String = res.json().await.unwrap();
    let list = |server: &Server| {
        let c = c.clone();
        let url = server.url("/templates");
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(list(&b).await.contains("Intro"));
    let res = a
        .call(
            &c,
            "templates/save",
            &[
                ("id", &id),
                ("name", "Introduction, second draft"),
                ("subject", "Hello {{ first_name }}"),
                ("body", "Hi {{ first_name }}"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let fresh = list(&b).await;
    assert!(
        fresh.contains("Introduction, second draft"),
        "B served a stale list"
    );

    // Logged out on B: A no longer knows the session either.
    let res = b.call(&c, "logout", &[]).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let page = c.get(a.url("/dashboard")).send().await.unwrap();
    assert_eq!(page.status(), 303, "A still honours a session ended on B");
}

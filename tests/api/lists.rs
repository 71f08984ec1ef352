//! The long lists (docs/lists.md): counts kept by triggers stay equal to
//! `count(*)`, and pages read by key walk every row once, both ways.

use crate::helpers::{TestApp, queue_rows, spawn_app, spawn_app_with_google};
use mailmerger::fake_google::Failure;
use reqwest::Client;
use serde_json::{Value, json};
use sqlx::PgPool;

type Counted = Vec<(uuid::Uuid, String, i64)>;

/// What the counters say and what counting says, per account and status.
async fn both_counts(app: &TestApp) -> (Counted, Counted) {
    let kept: Counted = sqlx::query_as(
        "SELECT user_id, status, sum(n)::int8 FROM email_counts
         GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let counted: Counted =
        sqlx::query_as("SELECT user_id, status, count(*) FROM emails GROUP BY 1, 2 ORDER BY 1, 2")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    (kept, counted)
}

/// The ids a query of `emails` returns, in its order.
async fn ids_in(app: &TestApp, sql: &str) -> Vec<String> {
    sqlx::query_scalar::<_, uuid::Uuid>(sql)
        .fetch_all(&app.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|id| id.to_string())
        .collect()
}

/// Rows Ada or Bob can act on (ids are random, so without the filter all of
/// them could be Carl's and every action refused).
const ADA_OR_BOB: &str =
    "user_id IN (SELECT id FROM users WHERE email IN ('ada@gmail.test', 'bob@gmail.test'))";

async fn ids_of(app: &TestApp, status: &str, n: i64) -> Vec<String> {
    ids_in(
        app,
        &format!(
            "SELECT id FROM emails WHERE status = '{status}' AND {ADA_OR_BOB} ORDER BY id LIMIT {n}"
        ),
    )
    .await
}

#[sqlx::test]
async fn the_counts_stay_exact_through_a_mixed_workload(pool: PgPool) {
    let app = spawn_app_with_google(pool, vec![("DELIVERY_PACING", "false".into())]).await;
    let ada = app.gmail_user("ada@gmail.test").await;
    let bob = app.gmail_user("bob@gmail.test").await;
    let carl = app.new_user("Carl", "carl@example.com").await;
    for i in 0..4 {
        app.queue_one(&ada, &format!("r{i}@example.com"), "Hi", "now")
            .await;
    }
    app.queue_one(&carl, "x@example.com", "Held", "now").await;
    // Straight into the table too: the triggers count every statement.
    queue_rows(&app, 40).await;

    // Cancelled before they go (each id tried by both users: one is refused).
    for id in ids_of(&app, "queued", 3).await {
        for c in [&ada, &bob] {
            app.call(c, "queue/update", &[("action", "delete"), ("ids[0]", &id)])
                .await;
        }
    }

    // Two loops at once, with refusals (failed) and outages (retried).
    app.fake().fail_next(Failure {
        count: 3,
        status: 400,
        body: json!({"error": {"code": 400, "message": "Invalid To header"}}),
    });
    app.fake().fail_next(Failure {
        count: 2,
        status: 500,
        body: json!({"error": {"code": 500, "message": "Backend Error"}}),
    });
    let (a, b) = (app.deliverer(), app.deliverer());
    for _ in 0..3 {
        let (x, y) = tokio::join!(a.run_once(), b.run_once());
        x.unwrap();
        y.unwrap();
    }

    // What users do: reschedule, retry, settle what may have gone.
    app.call(
        &bob,
        "queue/update",
        &[
            ("action", "reschedule"),
            ("all_matching", "on"),
            ("send_at", "2099-01-02T03:04"),
        ],
    )
    .await;
    for id in ids_of(&app, "failed", 2).await {
        for c in [&ada, &bob] {
            app.call(c, "sent/resolve", &[("action", &format!("retry:{id}"))])
                .await;
        }
    }
    app.exec(&format!(
        "UPDATE emails SET status = 'uncertain'
         WHERE id IN (SELECT id FROM emails WHERE status = 'sent' AND {ADA_OR_BOB}
                      ORDER BY id LIMIT 4)"
    ))
    .await;
    let uncertain = ids_of(&app, "uncertain", 2).await;
    for (id, action) in uncertain.iter().zip(["send_again", "mark_sent"]) {
        for c in [&ada, &bob] {
            app.call(c, "sent/resolve", &[("action", &format!("{action}:{id}"))])
                .await;
        }
    }
    app.exec(
        "DELETE FROM emails WHERE id IN (SELECT id FROM emails WHERE status = 'cancelled' LIMIT 1)",
    )
    .await;
    // An account that goes takes its counts with it.
    app.exec("DELETE FROM users WHERE email = 'carl@example.com'")
        .await;
    let (_, _) = tokio::join!(a.run_once(), b.run_once());

    let (kept, counted) = both_counts(&app).await;
    let statuses: std::collections::BTreeSet<&str> =
        counted.iter().map(|(_, s, _)| s.as_str()).collect();
    assert!(
        ["sent", "failed", "queued", "cancelled", "uncertain"]
            .iter()
            .all(|s| statuses.contains(s)),
        "the workload did not reach every status: {counted:?}"
    );
    assert_eq!(kept, counted);

    // Folded: one row per account and status, the same sums, none for Carl.
    let rows_before: i64 = sqlx::query_scalar("SELECT count(*) FROM email_counts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let folded = mailmerger::emails::counts::fold(&app.pool).await.unwrap();
    let rows_after: i64 = sqlx::query_scalar("SELECT count(*) FROM email_counts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows_before - folded as i64, rows_after);
    assert_eq!(rows_after, counted.len() as i64);
    assert_eq!(both_counts(&app).await.0, counted);
    let carls: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM email_counts c WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(carls, 0);

    // The pages say what the counters say.
    let ada_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'ada@gmail.test'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let of = |s: &str| {
        counted
            .iter()
            .find(|(u, st, _)| *u == ada_id && st == s)
            .map_or(0, |(_, _, n)| *n)
    };
    let text = app.page(&ada, "/sent").await;
    assert!(text.contains(&format!("Sent ({})", of("sent"))), "{text}");
    assert!(
        text.contains(&format!("Failed ({})", of("failed"))),
        "{text}"
    );
}

/// Walks a list from its start by `after` until it has no more, as its JSON.
async fn walk(
    app: &TestApp,
    c: &Client,
    function: &str,
    fixed: &[(&str, &str)],
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut at = String::new();
    loop {
        let mut form = fixed.to_vec();
        form.push(("at", &at));
        let page: Value = app.call(c, function, &form).await.json().await.unwrap();
        pages.push(
            page["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect(),
        );
        match page["paging"]["after"].as_str() {
            Some(k) => at = format!("after={k}"),
            None => return pages,
        }
        assert!(pages.len() < 10, "the pages do not end");
    }
}

/// All of Sent at page `at`, as its JSON.
async fn sent_at(app: &TestApp, c: &Client, at: &str) -> Value {
    app.call(c, "sent/list", &[("filter", "all"), ("at", at)])
        .await
        .json()
        .await
        .unwrap()
}

#[sqlx::test]
async fn pages_go_by_key_through_every_row_once_either_way(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Ada", "ada@example.com").await;
    let other = app.new_user("Bob", "bob@example.com").await;
    // 130 finished messages, three to each minute (ties broken by id), 10 failed.
    app.exec(
        "INSERT INTO emails (id, user_id, to_addrs, subject, body_html, body_text, status, sent_at, updated_at)
         SELECT gen_random_uuid(), u.id, ARRAY['r' || n || '@example.com'], 'Message ' || n, 'x', 'x',
                CASE WHEN n % 13 = 0 THEN 'failed' ELSE 'sent' END,
                '2026-11-01'::timestamptz + (n / 3) * interval '1 minute',
                '2026-11-01'::timestamptz + (n / 3) * interval '1 minute'
         FROM users u, generate_series(1, 130) n WHERE u.email = 'ada@example.com'",
    )
    .await;
    let newest_first = ids_in(
        &app,
        "SELECT id FROM emails WHERE status IN ('sent', 'failed') ORDER BY updated_at DESC, id DESC",
    )
    .await;

    let pages = walk(&app, &c, "sent/list", &[("filter", "all")]).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![50, 50, 30]
    );
    assert_eq!(pages.concat(), newest_first);

    // From the oldest back by `before`: the same pages.
    let end = sent_at(&app, &c, "at=end").await;
    assert_eq!(end["paging"]["after"], Value::Null);
    let before = end["paging"]["before"].as_str().unwrap().to_string();
    let middle = sent_at(&app, &c, &format!("before={before}")).await;
    let ids = |v: &Value| -> Vec<String> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    // The end is the oldest full page; before it, the 50 before those.
    assert_eq!(ids(&end), newest_first[80..].to_vec());
    assert_eq!(ids(&middle), newest_first[30..80].to_vec());
    assert!(middle["paging"]["before"].is_string() && middle["paging"]["after"].is_string());

    // A filter keeps to its status; its counts are the page's.
    let failed = walk(&app, &c, "sent/list", &[("filter", "failed")]).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].len(), 10);

    // The links a reader follows, without JavaScript.
    let first = app.page(&c, "/sent").await;
    assert!(
        first.contains("Older") && first.contains("Oldest"),
        "{first}"
    );
    assert!(!first.contains("Newer"), "{first}");
    let last = app.page(&c, "/sent?filter=all&at=end").await;
    assert!(last.contains("Newest") && last.contains("Newer"), "{last}");
    assert!(!last.contains("Older"), "{last}");

    // A key past the oldest row shows the last page, not nothing; nonsense is
    // the first page; another account's key shows that account nothing of Ada's.
    let past = sent_at(&app, &c, &format!("after=-1_{}", uuid::Uuid::nil())).await;
    assert_eq!(ids(&past), ids(&end));
    let nonsense = app.page(&c, "/sent?after=12_nope&before=%27;--").await;
    assert!(
        nonsense.contains("Older") && !nonsense.contains("Newer"),
        "{nonsense}"
    );
    let theirs = sent_at(&app, &other, &format!("before={before}")).await;
    assert_eq!((theirs["total"].as_i64(), ids(&theirs).len()), (Some(0), 0));

    // The queue: soonest due first, 120 of them.
    app.exec(
        "INSERT INTO emails (id, user_id, to_addrs, subject, body_html, body_text, send_at)
         SELECT gen_random_uuid(), u.id, ARRAY['q' || n || '@example.com'], 'Queued ' || n, 'x', 'x',
                '2099-01-01'::timestamptz + (n / 2) * interval '1 hour'
         FROM users u, generate_series(1, 120) n WHERE u.email = 'ada@example.com'",
    )
    .await;
    let soonest_first = ids_in(
        &app,
        "SELECT id FROM emails WHERE status = 'queued' ORDER BY send_at, id",
    )
    .await;
    let pages = walk(&app, &c, "queue/list", &[]).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![50, 50, 20]
    );
    assert_eq!(pages.concat(), soonest_first);
    let text = app.page(&c, "/queue").await;
    assert!(text.contains("120 queued messages"), "{text}");
    assert!(
        text.contains("Later") && text.contains("Latest") && !text.contains("Sooner"),
        "{text}"
    );
}

#[sqlx::test]
async fn the_progress_bar_looks_back_a_day_at_most(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Ada", "ada@example.com").await;
    app.exec(
        "INSERT INTO emails (id, user_id, to_addrs, subject, body_html, body_text, status, sent_at, updated_at)
         SELECT gen_random_uuid(), u.id, ARRAY['r' || n || '@example.com'], 'Old ' || n, 'x', 'x',
                'sent', now() - n * interval '1 hour', now() - n * interval '1 hour'
         FROM users u, generate_series(1, 48) n",
    )
    .await;
    // Asked from 1970, it counts the last day only (23 of the 48 hours).
    let page: Value = app
        .call(&c, "sent/list", &[("filter", "all"), ("since", "0")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["progress"]["sent"], 23);
    let page: Value = app
        .call(
            &c,
            "sent/list",
            &[
                ("filter", "all"),
                (
                    "since",
                    &(time::OffsetDateTime::now_utc().unix_timestamp() - 3 * 3600 - 60).to_string(),
                ),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["progress"]["sent"], 3);
}

#[sqlx::test]
async fn a_hostile_subject_is_only_text_on_sent_and_the_queue(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Ada", "ada@example.com").await;
    let hostile = r#"<img src=x onerror=alert(1)> "quoted" & more"#;
    for status in ["failed", "queued"] {
        sqlx::query(
            "INSERT INTO emails (id, user_id, to_addrs, subject, body_html, body_text, status, last_error)
             SELECT gen_random_uuid(), u.id, ARRAY['x\"><b>@example.com'], $1, 'x', 'x', $2, $1 FROM users u",
        )
        .bind(hostile)
        .bind(status)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    for path in ["/sent", "/queue"] {
        let html = app.html(&c, path).await;
        assert!(!html.contains("<img src=x"), "{path}: {html}");
        assert!(!html.contains("\"><b>"), "{path}: {html}");
        // Shown as written: the text escaped, the address too.
        assert!(
            html.contains(r#"&lt;img src=x onerror=alert(1)&gt; "quoted" &amp; more"#),
            "{path}: {html}"
        );
        assert!(
            html.contains("Select the message to x\"&gt;&lt;b&gt;@example.com"),
            "{path}: {html}"
        );
    }
}

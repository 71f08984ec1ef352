//! Campaigns end to end on the movable clock, never sleeping: steps as replies
//! in step 1's Gmail thread, replies marked by hand, unsubscribes, pause and
//! resume, send windows in each recipient's zone, and another user's ids.

use crate::helpers::{TestApp, spawn_app_with_google};
use reqwest::Client;
use reqwest::header::LOCATION;
use reqwest::multipart::{Form, Part};
use sqlx::PgPool;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

pub async fn app(pool: PgPool) -> TestApp {
    spawn_app_with_google(pool, vec![("DELIVERY_PACING", "false".into())]).await
}

pub async fn template(app: &TestApp, c: &Client, name: &str, subject: &str, body: &str) -> String {
    let res = app
        .call(
            c,
            "templates/save",
            &[
                ("id", ""),
                ("name", name),
                ("subject", subject),
                ("body", body),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json::<String>().await.unwrap()
}

/// A draft from a CSV, as the campaigns page's upload form makes it.
pub async fn create(app: &TestApp, c: &Client, csv: &str) -> String {
    let form = Form::new()
        .part(
            "csv_file",
            Part::bytes(csv.as_bytes().to_vec())
                .file_name("outreach.csv")
                .mime_str("text/csv")
                .unwrap(),
        )
        .text("csv_text", "");
    let res = app.post_multipart(c, "/api/campaigns/create", form).await;
    assert_eq!(res.status(), 302);
    let to = res.headers()[LOCATION].to_str().unwrap().to_string();
    to.strip_prefix("/campaigns/")
        .unwrap_or_else(|| panic!("went to {to}"))
        .to_string()
}

/// Saves a draft's settings as its form does (`campaign[…]`).
pub async fn save(
    app: &TestApp,
    c: &Client,
    id: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("id", id)];
    form.extend_from_slice(fields);
    let named = crate::helpers::nested("campaign", &form);
    let named: Vec<(&str, &str)> = named.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    app.call(c, "campaigns/save", &named).await
}

pub async fn start(app: &TestApp, c: &Client, id: &str) -> u64 {
    let res = app.call(c, "campaigns/start", &[("id", id)]).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn act(app: &TestApp, c: &Client, id: &str, action: &str) {
    let res = app
        .call(c, "campaigns/act", &[("id", id), ("action", action)])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// Every day, all day.
pub const ALWAYS: [(&str, &str); 9] = [
    ("days[0]", "0"),
    ("days[1]", "1"),
    ("days[2]", "2"),
    ("days[3]", "3"),
    ("days[4]", "4"),
    ("days[5]", "5"),
    ("days[6]", "6"),
    ("window_start", "00:00"),
    ("window_end", "24:00"),
];

pub async fn recipient_states(app: &TestApp) -> HashMap<String, (String, i16)> {
    sqlx::query_as::<_, (String, String, i16)>(
        "SELECT address, state, steps_sent FROM campaign_recipients",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(a, s, n)| (a, (s, n)))
    .collect()
}

/// Sends everything due now, without moving the clock; returns how many went.
pub async fn send_due(app: &TestApp) -> u64 {
    let d = app.deliverer();
    let mut sent = 0;
    for _ in 0..1_000 {
        let r = d.run_once().await.unwrap();
        sent += r.sent as u64;
        if r.claimed == 0 {
            return sent;
        }
    }
    panic!("delivery did not settle");
}

pub const DAY: f64 = 86_400.0;

#[sqlx::test]
async fn three_steps_go_as_replies_in_the_thread_and_stop_for_replies_unsubscribes_and_pauses(
    pool: PgPool,
) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let first = template(
        &app,
        &c,
        "Intro",
        "Quick question, {{ first_name }}",
        "Hello {{ first_name }}, are you hiring?",
    )
    .await;
    let second = template(
        &app,
        &c,
        "Nudge",
        "unused",
        "Just checking in, {{ first_name }}.",
    )
    .await;
    let third = template(
        &app,
        &c,
        "Last",
        "unused",
        "Last note from me, {{ first_name }}.",
    )
    .await;
    let mut csv = String::from("email,first_name\n");
    for i in 0..20 {
        csv.push_str(&format!("person{i:02}@example.com,P{i}\n"));
    }
    let id = create(&app, &c, &csv).await;
    let mut fields = vec![
        ("name", "Hiring managers"),
        ("email_column", "email"),
        ("zone_column", ""),
        ("when", "now"),
        ("steps[0][template_id]", first.as_str()),
        ("steps[1][template_id]", second.as_str()),
        ("steps[1][delay_days]", "3"),
        ("steps[2][template_id]", third.as_str()),
        ("steps[2][delay_days]", "2"),
        // A blank follow-up row is no step.
        ("steps[3][template_id]", ""),
        ("steps[3][delay_days]", ""),
    ];
    fields.extend_from_slice(&ALWAYS);
    let res = save(&app, &c, &id, &fields).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let page = app.page(&c, &format!("/campaigns/{id}")).await;
    assert!(page.contains("20 of 20 rows ready"), "{page}");
    // 60 messages, well under the daily limit of 400, all day: everything at
    // its first moment.
    assert!(page.contains("60 messages: about 20 a day"), "{page}");

    assert_eq!(start(&app, &c, &id).await, 20);
    // A second Start (a double click) starts nothing more.
    assert_eq!(start(&app, &c, &id).await, 20);
    assert_eq!(app.count("queued").await, 20);
    assert_eq!(send_due(&app).await, 20);

    // After step 1: one replied (marked by hand), one unsubscribed, and the
    // campaign paused for a day.
    let res = app
        .call(
            &c,
            "campaigns/replied",
            &[("id", id.as_str()), ("addresses", "Person00@example.com")],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(res.json::<u64>().await.unwrap(), 1);
    let res = app
        .call(
            &c,
            "suppression/add",
            &[("address", "person01@example.com")],
        )
        .await;
    assert_eq!(res.status(), 200);
    act(&app, &c, &id, "pause").await;
    // Step 2 is due three days after step 1; paused, nothing goes.
    app.advance_clock(3.0 * DAY + 60.0).await;
    assert_eq!(send_due(&app).await, 0);
    app.advance_clock(DAY).await;
    assert_eq!(send_due(&app).await, 0);
    act(&app, &c, &id, "resume").await;
    assert_eq!(send_due(&app).await, 18);
    // Step 3, two days after step 2: not a minute before.
    app.advance_clock(2.0 * DAY - 60.0).await;
    assert_eq!(send_due(&app).await, 0);
    app.advance_clock(120.0).await;
    assert_eq!(send_due(&app).await, 18);
    assert_eq!(app.count("queued").await, 0);

    let states = recipient_states(&app).await;
    assert_eq!(states["person00@example.com"], ("replied".to_string(), 1));
    assert_eq!(
        states["person01@example.com"],
        ("unsubscribed".to_string(), 1)
    );
    for i in 2..20 {
        assert_eq!(
            states[&format!("person{i:02}@example.com")],
            ("finished".to_string(), 3)
        );
    }

    // At the fake Gmail: who got which step, in which thread, with which subject.
    let received = app.fake().received(None);
    assert_eq!(received.len(), 20 + 18 + 18);
    let mut by_to: HashMap<String, Vec<&mailmerger::fake_google::Received>> = HashMap::new();
    for m in &received {
        by_to.entry(m.to()[0].to_lowercase()).or_default().push(m);
    }
    for (to, got) in &by_to {
        let n = if to == "person00@example.com" || to == "person01@example.com" {
            1
        } else {
            3
        };
        assert_eq!(got.len(), n, "{to}");
        let first_subject = got[0].subject().unwrap();
        assert!(
            first_subject.starts_with("Quick question, P"),
            "{first_subject}"
        );
        for follow_up in &got[1..] {
            assert_eq!(follow_up.thread_id, got[0].thread_id, "{to}");
            assert_eq!(follow_up.subject().unwrap(), format!("Re: {first_subject}"));
        }
        if n == 3 {
            assert!(got[1].text().unwrap().contains("Just checking in"));
            assert!(got[2].text().unwrap().contains("Last note from me"));
        }
    }
    // Each is a row of ours, by its X-MailMerger-Id, and none went twice.
    let rows: Vec<(Uuid, String, i16)> = sqlx::query_as(
        "SELECT e.id, r.address, e.campaign_step FROM emails e
         JOIN campaign_recipients r ON r.id = e.campaign_recipient_id WHERE e.status = 'sent'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut ids: Vec<String> = received.iter().filter_map(|m| m.mailmerger_id()).collect();
    ids.sort();
    let mut sent: Vec<String> = rows.iter().map(|r| r.0.to_string()).collect();
    sent.sort();
    assert_eq!(ids, sent);
    // Step 2 went after the resume, not during the pause: four days after step 1.
    let (first_at, second_at): (OffsetDateTime, OffsetDateTime) = sqlx::query_as(
        "SELECT min(sent_at) FILTER (WHERE campaign_step = 1), min(sent_at) FILTER (WHERE campaign_step = 2)
         FROM emails",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        second_at - first_at >= time::Duration::days(4),
        "{first_at} → {second_at}"
    );
    // The replied recipient's step 2 was cancelled, saying why; the
    // unsubscribed one's was not sent.
    let ends: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT r.address, e.status, e.last_error FROM emails e
         JOIN campaign_recipients r ON r.id = e.campaign_recipient_id
         WHERE e.status <> 'sent' ORDER BY r.address",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(ends.len(), 2, "{ends:?}");
    assert_eq!(ends[0].0, "person00@example.com");
    assert_eq!(ends[0].1, "cancelled");
    assert_eq!(ends[1].0, "person01@example.com");
    assert_eq!(ends[1].1, "suppressed");

    // The page: counts by state and each recipient's timeline. Housekeeping
    // marks the campaign finished.
    mailmerger::server::upkeep::run_once(&app.state).await;
    let status: String = sqlx::query_scalar("SELECT status FROM campaigns")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "finished");
    let page = app.page(&c, &format!("/campaigns/{id}")).await;
    for text in [
        "Finished",
        "Replied 1",
        "Unsubscribed 1",
        "Finished 18",
        "56 of 56 steps sent",
        "person00@example.com",
        "Marked as replied",
    ] {
        assert!(page.contains(text), "{text} in {page}");
    }
}

/// Within the few seconds the test takes on the clock, which runs on.
fn near(got: OffsetDateTime, want: OffsetDateTime) {
    let off = (got - want).abs();
    assert!(off < time::Duration::seconds(30), "{got} is not {want}");
}

/// Sets the test clock to `at`.
async fn clock_to(app: &TestApp, at: OffsetDateTime) {
    let mut conn = app.pool.acquire().await.unwrap();
    let now = mailmerger::emails::clock::now(&mut conn).await.unwrap();
    mailmerger::emails::clock::advance(&mut conn, (at - now).as_seconds_f64())
        .await
        .unwrap();
}

#[sqlx::test]
async fn windows_hold_in_the_recipients_zone_and_delays_keep_the_local_time_across_dst(
    pool: PgPool,
) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.exec("UPDATE users SET time_zone = 'Europe/Berlin'")
        .await;
    let first = template(&app, &c, "Intro", "Hello {{ name }}", "Hi {{ name }}").await;
    let second = template(&app, &c, "Nudge", "x", "Following up, {{ name }}").await;
    // Fri 23 Oct 2026, 10:00 in Berlin (CEST, UTC+2): Tokyo is at 17:00,
    // its window just closed.
    clock_to(&app, time::macros::datetime!(2026-10-23 08:00 UTC)).await;
    let id = create(
        &app,
        &c,
        "email,name,tz\nberlin@example.com,Bea,\ntokyo@example.com,Taro,Asia/Tokyo\nmars@example.com,Marvin,Mars/Base\n",
    )
    .await;
    let res = save(
        &app,
        &c,
        &id,
        &[
            ("name", "Windows"),
            ("email_column", "email"),
            ("zone_column", "tz"),
            ("when", "now"),
            ("days[0]", "0"),
            ("days[1]", "1"),
            ("days[2]", "2"),
            ("days[3]", "3"),
            ("days[4]", "4"),
            ("window_start", "09:00"),
            ("window_end", "17:00"),
            ("steps[0][template_id]", first.as_str()),
            ("steps[1][template_id]", second.as_str()),
            ("steps[1][delay_days]", "3"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // The bad zone is a bad row on the page, not a silent UTC.
    let page = app.page(&c, &format!("/campaigns/{id}")).await;
    assert!(page.contains("2 of 3 rows ready"), "{page}");
    assert!(page.contains("“Mars/Base” is not a time zone"), "{page}");
    assert_eq!(start(&app, &c, &id).await, 2);

    // Berlin's goes now; Tokyo's waits for Monday 09:00 in Tokyo (00:00 UTC).
    assert_eq!(send_due(&app).await, 1);
    let due = |to: &'static str, step: i16| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_as::<_, (OffsetDateTime, Option<OffsetDateTime>)>(
                "SELECT e.due_at, e.sent_at FROM emails e
                 JOIN campaign_recipients r ON r.id = e.campaign_recipient_id
                 WHERE r.address = $1 AND e.campaign_step = $2",
            )
            .bind(to)
            .bind(step)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let (_, berlin_sent) = due("berlin@example.com", 1).await;
    near(
        berlin_sent.unwrap(),
        time::macros::datetime!(2026-10-23 08:00 UTC),
    );
    // Three days later at the same local time, across the change to CET on
    // Sunday: 10:00 on Monday is 09:00 UTC, 73 hours on.
    let (berlin_next, _) = due("berlin@example.com", 2).await;
    near(berlin_next, time::macros::datetime!(2026-10-26 09:00 UTC));

    clock_to(&app, time::macros::datetime!(2026-10-25 23:59 UTC)).await;
    assert_eq!(send_due(&app).await, 0);
    clock_to(&app, time::macros::datetime!(2026-10-26 00:00:01 UTC)).await;
    assert_eq!(send_due(&app).await, 1);
    clock_to(&app, time::macros::datetime!(2026-10-26 09:00:01 UTC)).await;
    assert_eq!(send_due(&app).await, 1);
    let (_, tokyo_sent) = due("tokyo@example.com", 1).await;
    // Monday 26 Oct, 09:00 in Tokyo.
    near(
        tokyo_sent.unwrap(),
        time::macros::datetime!(2026-10-26 00:00 UTC),
    );
    // Its follow-up: three days later, Thursday 09:00 in Tokyo.
    let (tokyo_next, _) = due("tokyo@example.com", 2).await;
    near(tokyo_next, time::macros::datetime!(2026-10-29 00:00 UTC));
    let (_, berlin_second) = due("berlin@example.com", 2).await;
    near(
        berlin_second.unwrap(),
        time::macros::datetime!(2026-10-26 09:00 UTC),
    );
}

#[sqlx::test]
async fn another_users_campaign_is_not_found_and_bad_settings_say_where(pool: PgPool) {
    let app = app(pool).await;
    let ada = app.gmail_user("ada@gmail.test").await;
    let eve = app.new_user("Eve", "eve@example.com").await;
    let first = template(&app, &ada, "Intro", "Hello {{ name }}", "Hi {{ name }}").await;
    let id = create(&app, &ada, "email,name\ngrace@example.com,Grace\n").await;

    // Every field checked, each problem next to its field.
    let res = save(
        &app,
        &ada,
        &id,
        &[
            ("name", ""),
            ("email_column", "nope"),
            ("window_start", "17:00"),
            ("window_end", "09:00"),
            ("days[0]", "0"),
            ("steps[0][template_id]", ""),
            ("steps[1][template_id]", first.as_str()),
            ("steps[1][delay_days]", "0"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["Invalid"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["name", "email_column", "window_end", "step1", "step2_delay"] {
        assert!(fields.contains(&f), "{f} in {body}");
    }
    // A placeholder the CSV lacks is refused at the edit.
    let company = template(&app, &ada, "Co", "Hi", "How is {{ company }}?").await;
    let res = save(
        &app,
        &ada,
        &id,
        &[
            ("name", "x"),
            ("email_column", "email"),
            ("window_start", "09:00"),
            ("window_end", "17:00"),
            ("days[0]", "0"),
            ("steps[0][template_id]", company.as_str()),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("{{ company }}, which is not a column"),
        "{text}"
    );

    for (function, form) in [
        ("campaigns/get", vec![("id", id.as_str())]),
        ("campaigns/start", vec![("id", id.as_str())]),
        (
            "campaigns/act",
            vec![("id", id.as_str()), ("action", "cancel")],
        ),
        (
            "campaigns/replied",
            vec![("id", id.as_str()), ("addresses", "grace@example.com")],
        ),
    ] {
        let res = app.call(&eve, function, &form).await;
        assert_eq!(res.status(), 404, "{function}");
    }
    let res = save(
        &app,
        &eve,
        &id,
        &[("name", "mine"), ("email_column", "email")],
    )
    .await;
    assert_eq!(res.status(), 404);
    let name: String = sqlx::query_scalar("SELECT status FROM campaigns")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(name, "draft");
    let list = app.call(&eve, "campaigns/list", &[]).await;
    assert_eq!(
        list.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!([])
    );
}

/// A draft with `steps` (template ids, the follow-ups 1 day apart) sending all
/// day every day, started; returns its id.
async fn running(app: &TestApp, c: &Client, csv: &str, steps: &[&str]) -> String {
    let id = create(app, c, csv).await;
    let keys: Vec<(String, String)> = (0..steps.len())
        .flat_map(|i| {
            [
                (format!("steps[{i}][template_id]"), steps[i].to_string()),
                (format!("steps[{i}][delay_days]"), "1".to_string()),
            ]
        })
        .collect();
    let mut fields: Vec<(&str, &str)> =
        vec![("name", "Run"), ("email_column", "email"), ("when", "now")];
    fields.extend(keys.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    fields.extend_from_slice(&ALWAYS);
    let res = save(app, c, &id, &fields).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    start(app, c, &id).await;
    id
}

async fn recipient(app: &TestApp, address: &str) -> (String, i16, Option<String>) {
    sqlx::query_as(
        "SELECT state, steps_sent, stopped_reason FROM campaign_recipients WHERE address = $1",
    )
    .bind(address)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn a_failed_step_ends_the_sequence_and_an_uncertain_one_waits_for_the_users_decision(
    pool: PgPool,
) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let first = template(&app, &c, "Intro", "Hello {{ name }}", "Hi {{ name }}").await;
    let second = template(&app, &c, "Nudge", "x", "Following up, {{ name }}").await;
    running(
        &app,
        &c,
        "email,name\nfails@example.com,F\nunsure@example.com,U\n",
        &[&first, &second],
    )
    .await;
    // As if a server had claimed the second and died after handing it to Gmail.
    app.exec(
        "UPDATE emails SET status = 'sending', lease_until = now() - interval '1 second',
                lease_id = gen_random_uuid(), attempts = 1, claimed_at = now()
         WHERE to_addrs[1] = 'unsure@example.com'",
    )
    .await;
    assert_eq!(app.deliverer().expire_leases().await.unwrap(), 1);
    let (state, _, reason) = recipient(&app, "unsure@example.com").await;
    assert_eq!(state, "waiting");
    assert!(reason.unwrap().contains("decide on the Sent page"));
    app.fake().fail_next(mailmerger::fake_google::Failure {
        count: 1,
        status: 400,
        body: serde_json::json!({"error": {"code": 400, "message": "Invalid To header"}}),
    });
    assert_eq!(send_due(&app).await, 0);
    let (state, sent, reason) = recipient(&app, "fails@example.com").await;
    assert_eq!((state.as_str(), sent), ("failed", 0));
    assert_eq!(
        reason.as_deref(),
        Some("Step 1 failed: Gmail said: Invalid To header")
    );
    // Nothing comes after either of them by itself.
    app.advance_clock(2.0 * DAY).await;
    assert_eq!(send_due(&app).await, 0);
    assert_eq!(app.count("queued").await, 0);

    // The user checked Gmail: it went. The sequence goes on, without a thread
    // (Gmail's answer never came), with step 1's subject.
    let id: Uuid = sqlx::query_scalar("SELECT id FROM emails WHERE status = 'uncertain'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let res = app
        .call(
            &c,
            "sent/resolve",
            &[("action", &format!("mark_sent:{id}"))],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(recipient(&app, "unsure@example.com").await.0, "active");
    app.advance_clock(DAY + 60.0).await;
    assert_eq!(send_due(&app).await, 1);
    let got = app.fake().received(None);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].subject().unwrap(), "Re: Hello U");
    assert_eq!(recipient(&app, "unsure@example.com").await.0, "finished");
}

#[sqlx::test]
async fn another_gmail_address_pauses_the_campaign_until_its_own_is_back(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let first = template(&app, &c, "Intro", "Hello {{ name }}", "Hi {{ name }}").await;
    let second = template(&app, &c, "Nudge", "x", "Following up, {{ name }}").await;
    let id = running(
        &app,
        &c,
        "email,name\ngrace@example.com,Grace\n",
        &[&first, &second],
    )
    .await;
    assert_eq!(send_due(&app).await, 1);
    app.connect_gmail(&c, "someone.else@gmail.test").await;
    let page = app.page(&c, &format!("/campaigns/{id}")).await;
    assert!(page.contains("Paused"), "{page}");
    assert!(
        page.contains("not the one this campaign started from"),
        "{page}"
    );
    let res = app
        .call(
            &c,
            "campaigns/act",
            &[("id", id.as_str()), ("action", "resume")],
        )
        .await;
    assert_eq!(res.status(), 422);
    // Resume is a plain form (components::form::PostForm): without the wasm
    // the refusal comes back in the address and shows above the buttons.
    let here = format!("/campaigns/{id}");
    let res = app
        .post_form(
            &c,
            "campaigns/act",
            &here,
            &[("id", id.as_str()), ("action", "resume")],
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let back = res.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(
        back.starts_with(&app.url(&here)) || back.starts_with(&here),
        "{back}"
    );
    let html = app.html(&c, back.trim_start_matches(&app.url(""))).await;
    assert!(
        html.contains(
            r#"<div role="alert" class="alert">This campaign started from another Gmail account"#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"value="resume""#),
        "the buttons are still there"
    );
    app.advance_clock(DAY + 60.0).await;
    assert_eq!(send_due(&app).await, 0);
    app.connect_gmail(&c, "ada@gmail.test").await;
    assert_eq!(send_due(&app).await, 1);
    let got = app.fake().received(Some("ada@gmail.test"));
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].thread_id, got[0].thread_id);
    assert!(
        app.fake()
            .received(Some("someone.else@gmail.test"))
            .is_empty()
    );
}

#[sqlx::test]
async fn an_account_sends_one_off_mail_first_then_follow_ups_then_new_recipients(pool: PgPool) {
    let app = spawn_app_with_google(
        pool,
        vec![
            ("DELIVERY_PACING", "false".into()),
            ("DELIVERY_BATCH_SIZE", "1".into()),
        ],
    )
    .await;
    let c = app.gmail_user("ada@gmail.test").await;
    let first = template(&app, &c, "Intro", "Hello {{ name }}", "Hi {{ name }}").await;
    let second = template(&app, &c, "Nudge", "x", "Following up, {{ name }}").await;
    running(
        &app,
        &c,
        "email,name\nold@example.com,Old\n",
        &[&first, &second],
    )
    .await;
    assert_eq!(send_due(&app).await, 1);
    app.advance_clock(DAY + 60.0).await;
    // Now three are due: old's follow-up, new's step 1, and a one-off queued last.
    running(&app, &c, "email,name\nnew@example.com,New\n", &[&first]).await;
    app.queue_one(&c, "someone@example.com", "One-off", "now")
        .await;
    assert_eq!(send_due(&app).await, 3);
    let order: Vec<String> = app.fake().received(None)[1..]
        .iter()
        .map(|m| m.subject().unwrap())
        .collect();
    assert_eq!(order, ["One-off", "Re: Hello Old", "Hello New"]);
}

#[sqlx::test]
async fn a_run_on_the_test_clock_ends_on_the_day_the_plan_said(pool: PgPool) {
    // Paced as in production, at a daily limit of 10.
    let app = spawn_app_with_google(pool, vec![]).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.exec("UPDATE users SET daily_send_cap = 10, time_zone = 'UTC'")
        .await;
    let first = template(&app, &c, "Intro", "Hello {{ name }}", "Hi {{ name }}").await;
    let second = template(&app, &c, "Nudge", "x", "Following up, {{ name }}").await;
    // Monday 7 Dec 2026, 08:00 UTC: the window opens at 09:00.
    clock_to(&app, time::macros::datetime!(2026-12-07 08:00 UTC)).await;
    let mut csv = String::from("email,name\n");
    for i in 0..25 {
        csv.push_str(&format!("p{i}@example.com,P{i}\n"));
    }
    let id = create(&app, &c, &csv).await;
    let res = save(
        &app,
        &c,
        &id,
        &[
            ("name", "Paced"),
            ("email_column", "email"),
            ("when", "now"),
            ("days[0]", "0"),
            ("days[1]", "1"),
            ("days[2]", "2"),
            ("days[3]", "3"),
            ("days[4]", "4"),
            ("window_start", "09:00"),
            ("window_end", "17:00"),
            ("steps[0][template_id]", first.as_str()),
            ("steps[1][template_id]", second.as_str()),
            ("steps[1][delay_days]", "2"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let page = app.page(&c, &format!("/campaigns/{id}")).await;
    // 50 messages at 10 a day, weekdays: 10 first steps Monday and Tuesday;
    // their follow-ups go first on Wednesday and Thursday (follow-ups before
    // new recipients); the last 5 first steps on Friday, and their follow-ups
    // two days later, which is the next Monday.
    assert!(
        page.contains("50 messages: about 10 a day; step 1 done Fri 11 Dec; last follow-up no earlier than Mon 14 Dec."),
        "{page}"
    );
    start(&app, &c, &id).await;
    for _ in 0..10_000 {
        send_due(&app).await;
        match mailmerger::emails::next_event(&app.pool).await.unwrap() {
            Some(wait) => app.advance_clock(wait.as_secs_f64() + 0.001).await,
            None => break,
        }
    }
    assert_eq!(app.fake().received(None).len(), 50);
    let (step1, last): (OffsetDateTime, OffsetDateTime) = sqlx::query_as(
        "SELECT max(sent_at) FILTER (WHERE campaign_step = 1), max(sent_at) FROM emails",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let utc = mailmerger::settings::ssr::zone::UserZone::new("UTC");
    assert_eq!(utc.day(step1), "Fri 11 Dec");
    assert_eq!(utc.day(last), "Mon 14 Dec");
    // Never outside 9:00–17:00 on a weekday.
    let times: Vec<OffsetDateTime> = sqlx::query_scalar("SELECT sent_at FROM emails")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    for t in times {
        assert!((9..17).contains(&t.hour()), "{t}");
        assert!(t.weekday().number_days_from_monday() < 5, "{t}");
    }
}

#[sqlx::test]
async fn two_instances_and_a_kill_send_no_step_twice_and_lose_none(pool: PgPool) {
    use crate::helpers::{Server, database_name, free_port};
    use std::collections::HashSet;
    use std::time::{Duration, Instant};
    let db = database_name(&pool);
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let first = template(&app, &c, "Intro", "Hello {{ name }}", "Hi {{ name }}").await;
    let second = template(&app, &c, "Nudge", "x", "Following up, {{ name }}").await;
    let mut csv = String::from("email,name\n");
    for i in 0..30 {
        csv.push_str(&format!("p{i:02}@example.com,P{i}\n"));
    }
    running(&app, &c, &csv, &[&first, &second]).await;
    // Slow sends, so that the kill lands while a batch is at Gmail.
    app.fake().set_delay(Duration::from_millis(300));
    // The instances' leases tell their claims apart (lease_until − claimed_at).
    let start = |lease: &str| {
        Server::start(
            &app,
            &db,
            free_port(),
            &[
                ("DELIVERY_WORKERS", "1"),
                ("DELIVERY_BATCH_SIZE", "5"),
                ("DELIVERY_PACING", "false"),
                ("HTTP_TIMEOUT_SECS", "2"),
                ("DELIVERY_LEASE_SECS", lease),
            ],
        )
    };
    let (mut a, b) = (start("4"), start("3"));
    a.ready().await;
    b.ready().await;
    // Until no message of this step waits or is at Gmail.
    let settle = |step: i16| {
        let pool = app.pool.clone();
        async move {
            let started = Instant::now();
            loop {
                let open: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM emails WHERE campaign_step = $1 AND status IN ('queued', 'sending')",
                )
                .bind(step)
                .fetch_one(&pool)
                .await
                .unwrap();
                if open == 0 {
                    return;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "step {step} did not settle"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // Kill the first while a batch of its own is at Gmail.
    let started = Instant::now();
    loop {
        let mine: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM emails WHERE status = 'sending'
             AND lease_until - claimed_at = interval '4 seconds'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if mine > 0 && app.count("sent").await >= 5 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first instance never sent"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.kill();
    // What it had at Gmail (almost always some: it was seen a moment ago).
    let in_flight: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM emails WHERE status = 'sending'
         AND lease_until - claimed_at = interval '4 seconds'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    settle(1).await;
    // The follow-ups, a day later, with one instance left.
    app.advance_clock(DAY + 60.0).await;
    app.exec("SELECT pg_notify('mm_delivery', '')").await;
    settle(2).await;
    drop(b);

    let received = app.fake().received(None);
    let ids: Vec<String> = received.iter().filter_map(|m| m.mailmerger_id()).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a step reached Gmail twice");
    let rows: Vec<(String, String, i16)> =
        sqlx::query_as("SELECT address, state, steps_sent FROM campaign_recipients")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let uncertain = app.count("uncertain").await;
    assert_eq!(
        uncertain, in_flight,
        "exactly what was at Gmail at the kill may have gone"
    );
    let waiting = rows.iter().filter(|r| r.1 == "waiting").count() as i64;
    assert_eq!(
        waiting, uncertain,
        "each step that may have gone holds its sequence"
    );
    for (address, state, steps) in &rows {
        let got: Vec<_> = received.iter().filter(|m| &m.to()[0] == address).collect();
        match state.as_str() {
            "finished" => {
                assert_eq!((got.len(), *steps), (2, 2), "{address}");
                assert_eq!(got[1].thread_id, got[0].thread_id, "{address}");
            }
            // Its step 1 may or may not be at Gmail; its step 2 was never queued.
            "waiting" => assert!(got.len() <= 1, "{address}"),
            other => panic!("{address} ended {other}"),
        }
    }
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM emails WHERE campaign_step = 2")
            .fetch_one(&app.pool)
            .await
            .unwrap(),
        30 - waiting
    );
}

/// Uploads more recipients for a running campaign; returns where it went.
async fn upload_more(app: &TestApp, c: &Client, id: &str, csv: &str) -> reqwest::Response {
    let form = Form::new()
        .text("id", id.to_string())
        .part(
            "csv_file",
            Part::bytes(csv.as_bytes().to_vec())
                .file_name("more.csv")
                .mime_str("text/csv")
                .unwrap(),
        )
        .text("csv_text", "");
    app.post_multipart(c, "/api/campaigns/more", form).await
}

#[sqlx::test]
async fn recipients_added_to_a_running_campaign_get_its_steps_with_the_same_report(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let first = template(&app, &c, "Intro", "Hello {{ name }}", "Hi {{ name }}").await;
    let second = template(&app, &c, "Nudge", "x", "Following up, {{ name }}").await;
    let id = running(
        &app,
        &c,
        "email,name\na@example.com,A\nb@example.com,B\n",
        &[&first, &second],
    )
    .await;
    // d's sequence in another campaign is still open (its follow-up waits).
    running(
        &app,
        &c,
        "email,name\nd@example.com,D\n",
        &[&first, &second],
    )
    .await;
    assert_eq!(send_due(&app).await, 3);

    let res = upload_more(
        &app,
        &c,
        &id,
        "email,name\nB@example.com,B again\nc@example.com,C\nd@example.com,D\nnope,E\n",
    )
    .await;
    assert_eq!(res.status(), 302);
    let to = res.headers()[LOCATION].to_str().unwrap().to_string();
    let import = to
        .split("add=")
        .nth(1)
        .and_then(|s| s.split('#').next())
        .unwrap_or_else(|| panic!("went to {to}"))
        .to_string();
    let page = app.page(&c, &to).await;
    for text in [
        "1 of 4 rows can be added, 3 with problems (left out)",
        "B@example.com is in this campaign already; it is left out.",
        "d@example.com is in another running campaign of yours; it is left out.",
        "\"nope\" is not a valid email address.",
        "Add 1 recipient",
    ] {
        assert!(page.contains(text), "{text} in {page}");
    }
    // A file without a column the steps use is refused as a whole.
    let res = upload_more(&app, &c, &id, "email\nx@example.com\n").await;
    let to = res.headers()[LOCATION].to_str().unwrap().to_string();
    let page = app.page(&c, &to).await;
    assert!(
        page.contains("Step 1: This template uses {{ name }}"),
        "{page}"
    );

    // Nobody else can add to it, or use the upload.
    let eve = app.new_user("Eve", "eve@example.com").await;
    let imports = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM merge_imports")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let before = imports().await;
    let res = upload_more(&app, &eve, &id, "email,name\ne@example.com,E\n").await;
    let to = res.headers()[LOCATION].to_str().unwrap_or("").to_string();
    assert!(!to.contains("add="), "went to {to}");
    assert_eq!(imports().await, before, "another user's upload was kept");
    let res = app
        .call(
            &eve,
            "campaigns/add",
            &[("id", id.as_str()), ("import_id", import.as_str())],
        )
        .await;
    assert_eq!(res.status(), 404);

    let res = app
        .call(
            &c,
            "campaigns/add",
            &[("id", id.as_str()), ("import_id", import.as_str())],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(res.json::<u64>().await.unwrap(), 1);
    assert_eq!(send_due(&app).await, 1);
    app.advance_clock(DAY + 60.0).await;
    assert_eq!(send_due(&app).await, 4);
    let states = recipient_states(&app).await;
    assert_eq!(states["c@example.com"], ("finished".to_string(), 2));
    let got = app.fake().received(None);
    let to_c: Vec<_> = got
        .iter()
        .filter(|m| m.to()[0] == "c@example.com")
        .collect();
    assert_eq!(to_c.len(), 2);
    assert_eq!(to_c[1].thread_id, to_c[0].thread_id);
    assert_eq!(to_c[1].subject().unwrap(), "Re: Hello C");
}

#[sqlx::test]
async fn a_step_changed_while_running_rewrites_only_what_is_not_yet_claimed(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let first = template(&app, &c, "Intro", "Hello {{ name }}", "Hi {{ name }}").await;
    let second = template(&app, &c, "Nudge", "x", "Following up, {{ name }}").await;
    let better = template(&app, &c, "Better", "y", "One more thing, {{ name }}.").await;
    let needs = template(&app, &c, "Needs", "z", "How is {{ company }}?").await;
    let id = running(
        &app,
        &c,
        "email,name\na@example.com,A\nb@example.com,B\n",
        &[&first, &second],
    )
    .await;
    assert_eq!(send_due(&app).await, 2);
    // b's follow-up is claimed (being sent) when the step changes.
    app.advance_clock(DAY + 60.0).await;
    app.exec(
        "UPDATE emails SET status = 'sending', lease_until = now() + interval '1 hour',
                lease_id = gen_random_uuid(), claimed_at = now()
         WHERE campaign_step = 2 AND to_addrs[1] = 'b@example.com'",
    )
    .await;
    // A template the recipients cannot fill in is refused, and nothing changes.
    let res = app
        .call(
            &c,
            "campaigns/step",
            &[
                ("id", id.as_str()),
                ("position", "2"),
                ("template_id", needs.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("{{ company }}"));
    let res = app
        .call(
            &c,
            "campaigns/step",
            &[
                ("id", id.as_str()),
                ("position", "2"),
                ("template_id", better.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(res.json::<u64>().await.unwrap(), 1);
    let bodies: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT to_addrs[1], subject, body_text FROM emails WHERE campaign_step = 2 ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(bodies[0].0, "a@example.com");
    assert_eq!(bodies[0].1, "Re: Hello A");
    assert!(bodies[0].2.contains("One more thing, A."), "{bodies:?}");
    assert!(bodies[1].2.contains("Following up, B"), "{bodies:?}");
    // Another user cannot change it.
    let eve = app.new_user("Eve", "eve@example.com").await;
    let res = app
        .call(
            &eve,
            "campaigns/step",
            &[
                ("id", id.as_str()),
                ("position", "2"),
                ("template_id", better.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(send_due(&app).await, 1);
    let got = app.fake().received(Some("ada@gmail.test"));
    assert!(
        got.last()
            .unwrap()
            .text()
            .unwrap()
            .contains("One more thing, A.")
    );
}

#[sqlx::test]
async fn each_step_attaches_its_own_files_and_a_file_deleted_since_ends_the_sequence_saying_so(
    pool: PgPool,
) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let res = crate::files::upload(
        &app,
        &c,
        "resume",
        "cv.pdf",
        crate::files::pdf(100),
        "application/pdf",
    )
    .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let res = crate::files::upload(
        &app,
        &c,
        "attachment",
        "portfolio.pdf",
        crate::files::pdf(200),
        "application/pdf",
    )
    .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let files: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, name FROM files ORDER BY name")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let (cv, portfolio) = (files[0].0.to_string(), files[1].0.to_string());
    assert_eq!(files[0].1, "cv.pdf");
    let first = template(&app, &c, "Intro", "Hello {{ name }}", "Hi {{ name }}").await;
    let second = template(&app, &c, "Nudge", "x", "Following up, {{ name }}").await;
    let id = create(&app, &c, "email,name\na@example.com,A\n").await;
    let mut fields = vec![
        ("name", "Files"),
        ("email_column", "email"),
        ("when", "now"),
        ("steps[0][template_id]", first.as_str()),
        ("steps[0][attach][0]", cv.as_str()),
        ("steps[1][template_id]", second.as_str()),
        ("steps[1][delay_days]", "1"),
        ("steps[1][attach][1]", portfolio.as_str()),
    ];
    fields.extend_from_slice(&ALWAYS);
    // Someone else's file is refused next to its step.
    let other = Uuid::now_v7().to_string();
    let mut bad = fields.clone();
    bad.push(("steps[1][attach][2]", other.as_str()));
    let res = save(&app, &c, &id, &bad).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("step2_attach"));
    let res = save(&app, &c, &id, &fields).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    start(&app, &c, &id).await;
    assert_eq!(send_due(&app).await, 1);
    let got = app.fake().received(None);
    let names: Vec<String> = got[0]
        .attachments()
        .into_iter()
        .map(|a| a.filename)
        .collect();
    assert_eq!(names, ["cv.pdf"]);

    // The portfolio is deleted before step 2 goes: the step fails, naming it.
    let res = app
        .call(&c, "files/delete", &[("id", portfolio.as_str())])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    app.advance_clock(DAY + 60.0).await;
    assert_eq!(send_due(&app).await, 0);
    assert_eq!(app.fake().received(None).len(), 1);
    let (state, _, reason) = recipient(&app, "a@example.com").await;
    assert_eq!(state, "failed");
    let reason = reason.unwrap();
    assert!(
        reason.starts_with("Step 2 failed: The attachment “portfolio.pdf” was deleted"),
        "{reason}"
    );
}

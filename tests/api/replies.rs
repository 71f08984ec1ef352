//! Stop on reply against the fake Gmail's mailbox, on the movable clock:
//! replies, out-of-office answers, bounces, a reply from a new thread and a
//! message written by hand; a history 404 recovered; an uncertain send found
//! in Sent; the read budget kept.

use crate::campaigns::{ALWAYS, DAY, create, recipient_states, save, send_due, start, template};
use crate::helpers::{TestApp, consent, spawn_app_with_google};
use mailmerger::fake_google::{Incoming, IncomingKind};
use reqwest::Client;
use sqlx::PgPool;
use std::collections::HashMap;

const ADA: &str = "ada@gmail.test";

fn reader(app: &TestApp) -> mailmerger::replies::ssr::reader::Reader {
    mailmerger::replies::ssr::reader::Reader::new(app.state.clone()).expect("google configured")
}

/// Turns stop on reply on through Settings' button and Google's consent.
async fn turn_on(app: &TestApp, c: &Client) {
    let (_, url) = app
        .google_flow(c, "/auth/google/replies", consent(ADA))
        .await;
    assert!(url.ends_with("/settings?replies=on"), "ended at {url}");
}

async fn user_id(app: &TestApp) -> mailmerger::domain::UserId {
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(ADA)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    mailmerger::domain::UserId::from_uuid(id)
}

/// A running two-step campaign (the follow-up a day after step 1) to these
/// recipients, step 1 sent; each recipient's Gmail thread.
async fn running(app: &TestApp, c: &Client, people: &[&str]) -> (String, HashMap<String, String>) {
    let first = template(
        app,
        c,
        "Intro",
        "Hello {{ name }}",
        "Are you hiring, {{ name }}?",
    )
    .await;
    let second = template(app, c, "Nudge", "unused", "Just checking in, {{ name }}.").await;
    let mut csv = String::from("email,name\n");
    for p in people {
        csv.push_str(&format!("{p},{}\n", p.split('@').next().unwrap()));
    }
    let id = create(app, c, &csv).await;
    let mut fields = vec![
        ("name", "Outreach"),
        ("email_column", "email"),
        ("zone_column", ""),
        ("when", "now"),
        ("steps[0][template_id]", first.as_str()),
        ("steps[1][template_id]", second.as_str()),
        ("steps[1][delay_days]", "1"),
    ];
    fields.extend_from_slice(&ALWAYS);
    let res = save(app, c, &id, &fields).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(start(app, c, &id).await, people.len() as u64);
    assert_eq!(send_due(app).await, people.len() as u64);
    let threads: HashMap<String, String> =
        sqlx::query_as::<_, (String, String)>("SELECT address, thread_id FROM campaign_recipients")
            .fetch_all(&app.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    (id, threads)
}

fn incoming(kind: IncomingKind, thread: Option<&String>, from: &str) -> Incoming {
    Incoming {
        email: ADA.into(),
        thread_id: thread.cloned(),
        kind,
        from: Some(from.into()),
        subject: None,
    }
}

/// Step 2's recipients at the fake Gmail.
fn follow_ups_to(app: &TestApp) -> Vec<String> {
    let mut to: Vec<String> = app
        .fake()
        .received(Some(ADA))
        .iter()
        .filter(|m| m.subject().is_some_and(|s| s.starts_with("Re: ")))
        .map(|m| m.to()[0].to_lowercase())
        .collect();
    to.sort();
    to
}

#[sqlx::test]
async fn replies_bounces_and_hand_written_mail_end_sequences_and_out_of_office_does_not(
    pool: PgPool,
) {
    let app = crate::campaigns::app(pool).await;
    let c = app.gmail_user(ADA).await;
    turn_on(&app, &c).await;
    let people = [
        "ann@example.com",
        "bob@example.com",
        "cat@example.com",
        "dan@example.com",
        "eve@example.com",
        "fay@example.com",
    ];
    let (id, threads) = running(&app, &c, &people).await;
    let reader = reader(&app);
    // The first read takes the place in the history: nothing before it counts.
    let passes = reader.run_once().await.unwrap();
    assert_eq!(passes.len(), 1);
    assert!(passes[0].complete, "{passes:?}");
    // It also read back the Message-ID Gmail gave each step 1.
    assert_eq!(passes[0].message_ids, 6, "{passes:?}");

    let fake = app.fake();
    fake.deliver(&incoming(
        IncomingKind::Reply,
        threads.get("ann@example.com"),
        "Ann <ann@example.com>",
    ));
    fake.deliver(&incoming(
        IncomingKind::AutoReply,
        threads.get("bob@example.com"),
        "bob@example.com",
    ));
    // Gmail's bounce comes in the thread of the message that bounced.
    fake.deliver(&incoming(
        IncomingKind::Bounce,
        threads.get("cat@example.com"),
        "cat@example.com",
    ));
    // Dan answers in a new thread, with another subject.
    fake.deliver(&Incoming {
        subject: Some("About your note".into()),
        ..incoming(IncomingKind::Reply, None, "Dan <DAN@example.com>")
    });
    // Ada writes to Eve by hand in her thread.
    fake.deliver(&incoming(
        IncomingKind::Sent,
        threads.get("eve@example.com"),
        "eve@example.com",
    ));
    // A bounce for an address in no campaign is kept, unattributed.
    fake.deliver(&incoming(
        IncomingKind::Bounce,
        None,
        "stranger@example.net",
    ));
    // Mail from someone else, in no campaign's thread, changes nothing.
    fake.deliver(&incoming(
        IncomingKind::Reply,
        None,
        "newsletter@example.org",
    ));

    // The follow-ups are due; without a fresh read of the mailbox none goes.
    app.advance_clock(DAY + 60.0).await;
    assert_eq!(send_due(&app).await, 0);
    assert!(follow_ups_to(&app).is_empty());
    let passes = reader.run_once().await.unwrap();
    assert_eq!(passes.len(), 1);
    let pass = &passes[0];
    assert!(pass.complete, "{pass:?}");
    assert_eq!((pass.read, pass.stopped), (7, 4), "{pass:?}");
    assert_eq!(send_due(&app).await, 2);
    assert_eq!(
        follow_ups_to(&app),
        vec!["bob@example.com", "fay@example.com"]
    );
    // Each follow-up answers its step 1 as the recipient got it: the
    // Message-ID Gmail put there, not ours.
    for to in ["bob@example.com", "fay@example.com"] {
        let got: Vec<_> = app
            .fake()
            .received(Some(ADA))
            .into_iter()
            .filter(|m| m.to()[0] == to)
            .collect();
        assert_eq!(got.len(), 2);
        let step1 = format!("<{}>", got[0].message_id().unwrap());
        assert!(step1.ends_with(".fake@mail.gmail.com>"), "{step1}");
        assert_ne!(got[0].sent_message_id.as_deref(), Some(step1.as_str()));
        assert_eq!(
            got[1].raw_header("In-Reply-To").as_deref(),
            Some(step1.as_str())
        );
        assert_eq!(
            got[1].raw_header("References").as_deref(),
            Some(step1.as_str())
        );
        assert_eq!(got[1].thread_id, got[0].thread_id);
    }

    let states = recipient_states(&app).await;
    assert_eq!(states["ann@example.com"].0, "replied");
    assert_eq!(states["bob@example.com"].0, "finished");
    assert_eq!(states["cat@example.com"].0, "bounced");
    assert_eq!(states["dan@example.com"].0, "replied");
    assert_eq!(states["eve@example.com"].0, "wrote");
    assert_eq!(states["fay@example.com"].0, "finished");
    // The bounced address is on the suppression list, saying so.
    let listed: Vec<(String, String)> = sqlx::query_as("SELECT address, reason FROM suppressions")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        listed,
        vec![("cat@example.com".to_string(), "bounced".to_string())]
    );
    // No thread was read whole: one messages.get per message that mattered
    // (and one per step 1, for its Message-ID).
    assert_eq!(fake.calls("threads.get"), 0);
    assert_eq!(fake.calls("messages.get"), 6 + 7);

    // The campaign page says why each one stopped.
    let page = app.page(&c, &format!("/campaigns/{id}")).await;
    for expected in [
        "Replied on",
        "(ann@example.com): no more steps go to them.",
        "(dan@example.com)",
        "Bounced on",
        "cat@example.com could not be reached",
        "You wrote to them yourself on",
        "Automatic reply",
        "(bob@example.com): the sequence goes on.",
        "Stop on reply is on",
    ] {
        assert!(page.contains(expected), "{expected}: {page}");
    }
    assert!(!page.contains("separate conversations"), "{page}");
    let settings = app.page(&c, "/settings").await;
    assert!(
        settings.contains("1 bounce(s) named no recipient"),
        "{settings}"
    );
    assert!(settings.contains("stranger@example.net"), "{settings}");
    // A second read finds nothing new and reads no message again.
    app.advance_clock(60.0).await;
    let passes = reader.run_once().await.unwrap();
    assert!(passes.iter().all(|p| p.read == 0), "{passes:?}");
}

#[sqlx::test]
async fn a_history_gmail_forgot_is_recovered_from_the_message_list(pool: PgPool) {
    let app = crate::campaigns::app(pool).await;
    let c = app.gmail_user(ADA).await;
    turn_on(&app, &c).await;
    let (_, threads) = running(&app, &c, &["ann@example.com", "bob@example.com"]).await;
    let reader = reader(&app);
    assert!(reader.run_once().await.unwrap()[0].complete);
    let fake = app.fake();
    // Some unrelated mail, then Ann's reply, then Gmail forgets the history.
    for i in 0..3 {
        fake.deliver(&incoming(
            IncomingKind::Reply,
            None,
            &format!("n{i}@example.org"),
        ));
    }
    fake.deliver(&incoming(
        IncomingKind::Reply,
        threads.get("ann@example.com"),
        "ann@example.com",
    ));
    fake.expire_history(ADA);

    app.advance_clock(DAY + 60.0).await;
    let pass = reader.run_once().await.unwrap().remove(0);
    assert!(pass.complete && pass.recovered, "{pass:?}");
    assert_eq!(pass.stopped, 1, "{pass:?}");
    assert_eq!(fake.calls("threads.get"), 0);
    assert_eq!(fake.calls("messages.list"), 1);
    // Only what came after the last message seen was read.
    // Only what came after the last message seen was read (and, in the
    // first read, each step 1's Message-ID).
    assert_eq!(fake.calls("messages.get"), 2 + 4);
    assert_eq!(send_due(&app).await, 1);
    assert_eq!(follow_ups_to(&app), vec!["bob@example.com"]);
    assert_eq!(recipient_states(&app).await["ann@example.com"].0, "replied");

    // The next read goes on from the new place in the history.
    fake.deliver(&incoming(
        IncomingKind::Reply,
        threads.get("bob@example.com"),
        "bob@example.com",
    ));
    app.advance_clock(60.0).await;
    let passes = reader.run_once().await.unwrap();
    // Bob's sequence had finished; nothing is open, so there is nothing to read.
    assert!(passes.is_empty(), "{passes:?}");
    assert_eq!(fake.calls("messages.list"), 1);

    let page = app.page(&c, "/settings").await;
    assert!(
        page.contains("Gmail had forgotten where the last read stopped"),
        "{page}"
    );
}

#[sqlx::test]
async fn an_uncertain_send_found_in_sent_mail_is_marked_sent(pool: PgPool) {
    let app = crate::campaigns::app(pool).await;
    let c = app.gmail_user(ADA).await;
    turn_on(&app, &c).await;
    let reader = reader(&app);
    // The first read, when there is nothing to watch yet.
    assert!(reader.read_now(user_id(&app).await).await.unwrap().complete);

    app.queue_one(&c, "zoe@example.com", "Hello Zoe", "now")
        .await;
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);
    let at_gmail = app.fake().received(Some(ADA)).remove(0);
    // As when the process died after Gmail took it: the row cannot know.
    app.exec(
        "UPDATE emails SET status = 'uncertain', gmail_message_id = NULL, gmail_thread_id = NULL,
                last_error = 'The server stopped while this message was being sent.'",
    )
    .await;
    assert!(app.page(&c, "/sent").await.contains("Mark as sent"));

    app.advance_clock(60.0).await;
    let pass = reader.run_once().await.unwrap().remove(0);
    assert_eq!(pass.resolved, 1, "{pass:?}");
    let (status, gmail_id, note): (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT status, gmail_message_id, last_error FROM emails")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "sent");
    assert_eq!(gmail_id.as_deref(), Some(at_gmail.id.as_str()));
    assert!(
        note.unwrap()
            .starts_with("Found in your Gmail's Sent mail on")
    );
    let page = app.page(&c, "/sent").await;
    assert!(page.contains("Found in your Gmail's Sent mail"), "{page}");
    assert!(!page.contains("Mark as sent"), "{page}");
}

#[sqlx::test]
async fn without_a_grant_or_with_reading_failing_follow_ups_wait_until_it_is_turned_off(
    pool: PgPool,
) {
    let app = crate::campaigns::app(pool).await;
    let c = app.gmail_user(ADA).await;
    turn_on(&app, &c).await;
    let (_, _) = running(&app, &c, &["ann@example.com"]).await;
    let reader = reader(&app);
    assert!(reader.run_once().await.unwrap()[0].complete);
    // Gmail is down for the next read.
    app.fake().fail_next(mailmerger::fake_google::Failure {
        count: 1,
        status: 503,
        body: serde_json::json!({"error": {"code": 503, "message": "Backend Error"}}),
    });
    app.advance_clock(DAY + 60.0).await;
    let pass = reader.run_once().await.unwrap().remove(0);
    assert!(!pass.complete, "{pass:?}");
    assert_eq!(send_due(&app).await, 0);
    let page = app.page(&c, "/settings").await;
    assert!(
        page.contains("Reading your mailbox does not work now"),
        "{page}"
    );
    assert!(
        page.contains("Follow-ups wait until it works again"),
        "{page}"
    );
    // Turned off, the follow-up goes without a check.
    let res = app.call(&c, "replies/off", &[]).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(send_due(&app).await, 1);
    assert_eq!(follow_ups_to(&app), vec!["ann@example.com"]);
}

#[sqlx::test]
async fn reads_never_spend_more_than_their_share_of_the_quota(pool: PgPool) {
    // 1,200 units a minute: sending paces itself to 10 a minute (1,000
    // units), and reads get half of the rest, 100 units a minute.
    let app = spawn_app_with_google(
        pool,
        vec![
            ("DELIVERY_PACING", "false".into()),
            ("GMAIL_USER_UNITS_PER_MINUTE", "1200".into()),
        ],
    )
    .await;
    app.fake().set_user_quota(Some(1_200));
    let c = app.gmail_user(ADA).await;
    turn_on(&app, &c).await;
    let (_, _) = running(&app, &c, &["ann@example.com"]).await;
    let reader = reader(&app);
    assert!(reader.run_once().await.unwrap()[0].complete);
    // The first read spent 21 units (the baseline, and step 1's Message-ID).
    // Five strangers write, then Ann answers from a new thread: six reads of
    // 20 units, more than what is left of the minute's 100.
    for i in 0..5 {
        app.fake().deliver(&incoming(
            IncomingKind::Reply,
            None,
            &format!("s{i}@example.org"),
        ));
    }
    app.fake()
        .deliver(&incoming(IncomingKind::Reply, None, "ann@example.com"));
    app.advance_clock(DAY + 60.0).await;
    let pass = reader.run_once().await.unwrap().remove(0);
    assert!(!pass.complete, "{pass:?}");
    assert_eq!(pass.read, 3, "{pass:?}");
    // Not fresh: Ann's follow-up waits.
    assert_eq!(send_due(&app).await, 0);
    // Within the same minute nothing more is read.
    app.advance_clock(60.0).await;
    let pass = reader.run_once().await.unwrap().remove(0);
    assert_eq!(pass.read, 0, "{pass:?}");

    tokio::time::sleep(std::time::Duration::from_secs(61)).await;
    app.advance_clock(60.0).await;
    let pass = reader.run_once().await.unwrap().remove(0);
    assert!(pass.complete, "{pass:?}");
    assert_eq!((pass.read, pass.stopped), (3, 1), "{pass:?}");
    assert_eq!(send_due(&app).await, 0);
    assert_eq!(recipient_states(&app).await["ann@example.com"].0, "replied");
    let (all, reads) = app.fake().peak_units(ADA);
    assert!(reads <= 100, "reads spent {reads} units in a minute");
    assert!(all <= 1_200, "{all} units in a minute");
    assert_eq!(app.fake().rate_limited(), 0);
}

#[sqlx::test]
async fn a_correction_lets_a_sequence_go_on_or_ends_it_and_holds(pool: PgPool) {
    let app = crate::campaigns::app(pool).await;
    let c = app.gmail_user(ADA).await;
    turn_on(&app, &c).await;
    let (id, threads) = running(&app, &c, &["ann@example.com", "bob@example.com"]).await;
    let reader = reader(&app);
    assert!(reader.run_once().await.unwrap()[0].complete);
    // Ann's "reply" is really a colleague's forward; Bob's "out of office" is
    // really his answer.
    app.fake().deliver(&incoming(
        IncomingKind::Reply,
        threads.get("ann@example.com"),
        "ann@example.com",
    ));
    app.fake().deliver(&incoming(
        IncomingKind::AutoReply,
        threads.get("bob@example.com"),
        "bob@example.com",
    ));
    app.advance_clock(60.0).await;
    assert_eq!(reader.run_once().await.unwrap()[0].stopped, 1);
    let page = app.page(&c, &format!("/campaigns/{id}")).await;
    assert!(page.contains("Not a reply: go on"), "{page}");
    assert!(page.contains("It was a reply: stop"), "{page}");

    let ids: HashMap<String, uuid::Uuid> =
        sqlx::query_as::<_, (String, uuid::Uuid)>("SELECT address, id FROM campaign_recipients")
            .fetch_all(&app.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let correct = |who: &str, what: &str| format!("{}:{what}", ids[who]);
    // Nobody else can correct Ada's campaign.
    let eve = app.new_user("Eve", "eve@example.com").await;
    let res = app
        .call(
            &eve,
            "campaigns/replied",
            &[
                ("id", id.as_str()),
                ("correct", &correct("ann@example.com", "go_on")),
            ],
        )
        .await;
    assert_eq!(res.status(), 404);
    for (who, what) in [("ann@example.com", "go_on"), ("bob@example.com", "stop")] {
        let res = app
            .call(
                &c,
                "campaigns/replied",
                &[("id", id.as_str()), ("correct", &correct(who, what))],
            )
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    let states = recipient_states(&app).await;
    assert_eq!(states["ann@example.com"].0, "active");
    assert_eq!(states["bob@example.com"].0, "replied");
    let page = app.page(&c, &format!("/campaigns/{id}")).await;
    assert!(
        page.contains("was not a reply: the sequence went on."),
        "{page}"
    );
    assert!(page.contains("You said the automatic answer of"), "{page}");

    // A day later the next read reads nothing again, so the correction
    // holds, and Ann's follow-up goes; Bob's does not.
    app.advance_clock(DAY + 60.0).await;
    let pass = reader.run_once().await.unwrap().remove(0);
    assert!(pass.complete && pass.read == 0, "{pass:?}");
    assert_eq!(send_due(&app).await, 1);
    assert_eq!(follow_ups_to(&app), vec!["ann@example.com"]);
    assert_eq!(
        recipient_states(&app).await["ann@example.com"].0,
        "finished"
    );
}

//! The claim-time checks and outcome hooks (src/emails/): the product's own
//! checks, and rules a test adds the way campaigns, unsubscribe and accounts will,
//! without touching the claim.

use crate::helpers::{TestApp, spawn_app_with_google};
use async_trait::async_trait;
use mailmerger::delivery::Deliverer;
use mailmerger::domain::{EmailStatus, UserId};
use mailmerger::emails::{
    self, ClaimCheck, ClaimContext, OutcomeHook, Recorded, Resolution, Rules, Verdict,
};
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use uuid::Uuid;

async fn app(pool: PgPool) -> TestApp {
    spawn_app_with_google(pool, vec![("DELIVERY_PACING", "false".into())]).await
}

fn deliverer_with(app: &TestApp, rules: Rules) -> Deliverer {
    Deliverer::new(app.state.with_rules(rules)).unwrap()
}

async fn ids_by_subject(app: &TestApp) -> Vec<(String, Uuid)> {
    sqlx::query_as("SELECT subject, id FROM emails ORDER BY subject")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

async fn row(app: &TestApp, id: Uuid) -> (String, i32, Option<String>, bool) {
    sqlx::query_as(
        "SELECT status, attempts, last_error, due_at > now() + interval '50 minutes' FROM emails WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// Defers the message with subject "Later", fails "Never", holds the account
/// sending "Held": what a send window, a suppression and a suspension would say.
struct Judge {
    later: Uuid,
    never: Uuid,
    held_user: UserId,
}

#[async_trait]
impl ClaimCheck for Judge {
    fn name(&self) -> &'static str {
        "test_judge"
    }

    async fn accounts(
        &self,
        _conn: &mut PgConnection,
        claim: &ClaimContext<'_>,
    ) -> Result<Vec<Verdict>, sqlx::Error> {
        Ok(claim
            .accounts
            .iter()
            .filter(|a| a.id == self.held_user)
            .map(|a| Verdict::HoldAccount {
                user_id: a.id,
                until: claim.now + time::Duration::hours(2),
            })
            .collect())
    }

    async fn messages(
        &self,
        _conn: &mut PgConnection,
        claim: &ClaimContext<'_>,
    ) -> Result<Vec<Verdict>, sqlx::Error> {
        // Asked only about the accounts not held.
        assert!(claim.candidates.iter().all(|c| c.user_id != self.held_user));
        let mut v = Vec::new();
        for c in claim.candidates {
            if c.id == self.later {
                v.push(Verdict::Defer {
                    id: c.id,
                    until: claim.now + time::Duration::hours(1),
                });
            }
            if c.id == self.never {
                v.push(Verdict::Fail {
                    id: c.id,
                    reason: "This recipient asked not to be written to.".into(),
                });
            }
        }
        Ok(v)
    }
}

#[sqlx::test]
async fn a_check_defers_fails_or_holds_what_it_names_and_the_rest_goes(pool: PgPool) {
    let app = app(pool).await;
    let ada = app.gmail_user("ada@gmail.test").await;
    let bob = app.gmail_user("bob@gmail.test").await;
    for subject in ["Later", "Never", "Now"] {
        app.queue_one(&ada, "grace@example.com", subject, "now")
            .await;
    }
    app.queue_one(&bob, "grace@example.com", "Held", "now")
        .await;
    let ids = ids_by_subject(&app).await;
    let id = |s: &str| ids.iter().find(|(x, _)| x == s).unwrap().1;
    let bob_id: UserId = sqlx::query_scalar("SELECT id FROM users WHERE email = 'bob@gmail.test'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut rules = Rules::standard();
    rules.checks.push(Arc::new(Judge {
        later: id("Later"),
        never: id("Never"),
        held_user: bob_id,
    }));
    let d = deliverer_with(&app, rules);

    let r = d.run_once().await.unwrap();
    assert_eq!((r.claimed, r.sent), (1, 1));
    let received = app.fake().received(None);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].subject().as_deref(), Some("Now"));
    // Deferred: still queued, an hour away, no attempt counted.
    assert_eq!(
        row(&app, id("Later")).await,
        ("queued".into(), 0, None, true)
    );
    // Failed, saying why, on the Sent page.
    let never = row(&app, id("Never")).await;
    assert_eq!((never.0.as_str(), never.1), ("failed", 0));
    let sent = app.page(&ada, "/sent?filter=failed").await;
    assert!(
        sent.contains("This recipient asked not to be written to."),
        "{sent}"
    );
    // Held: queued, and the account is not looked at again before its time.
    assert_eq!(row(&app, id("Held")).await.0, "queued");
    let parked: bool = sqlx::query_scalar(
        "SELECT pace_next_at > now() + interval '110 minutes' FROM users WHERE id = $1",
    )
    .bind(bob_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(parked);
    assert_eq!(d.run_once().await.unwrap().claimed, 0);
    // Releasing the hold lets it go at once (with the standard rules).
    let mut conn = app.pool.acquire().await.unwrap();
    emails::release(&mut conn, bob_id).await.unwrap();
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);
    assert_eq!(app.fake().received(Some("bob@gmail.test")).len(), 1);
}

#[sqlx::test]
async fn a_disconnected_account_waits_without_holding_up_the_others(pool: PgPool) {
    // One account a claim: Ada is held each time she comes up; Bob still goes.
    let app = spawn_app_with_google(
        pool,
        vec![
            ("DELIVERY_PACING", "false".into()),
            ("DELIVERY_BATCH_SIZE", "1".into()),
        ],
    )
    .await;
    let ada = app.gmail_user("ada@gmail.test").await;
    let bob = app.gmail_user("bob@gmail.test").await;
    app.queue_one(&ada, "grace@example.com", "From Ada", "now")
        .await;
    app.queue_one(&bob, "grace@example.com", "From Bob", "now")
        .await;
    app.exec(
        "UPDATE google_accounts SET gmail_status = 'disconnected' WHERE email = 'ada@gmail.test'",
    )
    .await;
    let d = app.deliverer();
    let mut sent = 0;
    for _ in 0..3 {
        sent += d.run_once().await.unwrap().sent;
    }
    assert_eq!(sent, 1);
    assert_eq!(app.fake().received(Some("bob@gmail.test")).len(), 1);
    let (status, attempts): (String, i32) =
        sqlx::query_as("SELECT status, attempts FROM emails WHERE subject = 'From Ada'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("queued", 0));
    // Connecting Gmail again lets it go at once, not minutes later.
    app.connect_gmail(&ada, "ada@gmail.test").await;
    assert_eq!(d.run_once().await.unwrap().sent, 1);
    assert_eq!(app.fake().received(Some("ada@gmail.test")).len(), 1);
}

#[sqlx::test]
async fn a_message_with_more_recipients_than_the_daily_limit_fails_saying_so(pool: PgPool) {
    let app = app(pool).await;
    let ada = app.gmail_user("ada@gmail.test").await;
    app.exec("UPDATE users SET daily_send_cap = 2").await;
    let res = app
        .queue_message(
            &ada,
            &[
                ("to", "a@example.com, b@example.com"),
                ("cc", "c@example.com"),
                ("subject", "Three"),
                ("body", "Hi"),
                ("send", "now"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    app.queue_one(&ada, "d@example.com", "One", "now").await;
    let r = app.deliverer().run_once().await.unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(app.count("failed").await, 1);
    let page = app.page(&ada, "/sent?filter=failed").await;
    assert!(
        page.contains("more recipients than your daily sending limit allows"),
        "{page}"
    );
    assert_eq!(
        app.fake().received(None)[0].subject().as_deref(),
        Some("One")
    );
}

/// Writes what it is told into a table of the test's, or fails.
struct Log {
    fail: bool,
}

#[async_trait]
impl OutcomeHook for Log {
    fn name(&self) -> &'static str {
        "test_log"
    }

    async fn recorded(
        &self,
        conn: &mut PgConnection,
        outcomes: &[Recorded],
    ) -> Result<(), sqlx::Error> {
        for o in outcomes {
            sqlx::query("INSERT INTO hook_log (email_id, status) VALUES ($1, $2)")
                .bind(o.id)
                .bind(o.status.as_str())
                .execute(&mut *conn)
                .await?;
        }
        if self.fail {
            return Err(sqlx::Error::Protocol("the hook failed".into()));
        }
        Ok(())
    }
}

fn with_hook(fail: bool) -> Rules {
    let mut rules = Rules::standard();
    rules.hooks.push(Arc::new(Log { fail }));
    rules
}

async fn logged(app: &TestApp) -> Vec<(Uuid, String)> {
    sqlx::query_as("SELECT email_id, status FROM hook_log ORDER BY status")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn an_outcome_hook_commits_with_the_outcome_or_neither_does(pool: PgPool) {
    let app = app(pool).await;
    app.exec("CREATE TABLE hook_log (email_id uuid, status text)")
        .await;
    let ada = app.gmail_user("ada@gmail.test").await;
    app.queue_one(&ada, "grace@example.com", "First", "now")
        .await;
    let r = deliverer_with(&app, with_hook(false))
        .run_once()
        .await
        .unwrap();
    assert_eq!(r.sent, 1);
    let first = ids_by_subject(&app).await[0].1;
    assert_eq!(logged(&app).await, [(first, "sent".to_string())]);

    // A hook that fails: the outcome is not written either. The message went to
    // Gmail, so it stays `sending` until its lease ends and then needs the
    // user's decision; it is never queued to go again by itself.
    app.queue_one(&ada, "grace@example.com", "Second", "now")
        .await;
    assert!(
        deliverer_with(&app, with_hook(true))
            .run_once()
            .await
            .is_err()
    );
    let second = ids_by_subject(&app).await[1].1;
    assert_eq!(row(&app, second).await.0, "sending");
    assert_eq!(logged(&app).await.len(), 1);
    assert_eq!(app.fake().received(None).len(), 2);
    app.exec(
        "UPDATE emails SET lease_until = now() - interval '1 second' WHERE status = 'sending'",
    )
    .await;
    assert_eq!(
        emails::expire_leases(&app.pool, &emails::Rules::standard())
            .await
            .unwrap(),
        1
    );
    assert_eq!(row(&app, second).await.0, "uncertain");

    // "Mark as sent" is an outcome too: the hooks run with it.
    let ada_id: UserId = sqlx::query_scalar("SELECT id FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let n = emails::resolve(
        &app.pool,
        &with_hook(false),
        ada_id,
        &[second],
        Resolution::MarkSent,
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    assert_eq!(row(&app, second).await.0, EmailStatus::Sent.as_str());
    assert_eq!(logged(&app).await.len(), 2);
    // Another user's id: nothing changes, no hook runs.
    let n = emails::resolve(
        &app.pool,
        &with_hook(false),
        UserId::from_uuid(Uuid::new_v4()),
        &[first],
        Resolution::MarkSent,
    )
    .await
    .unwrap();
    assert_eq!((n, logged(&app).await.len()), (0, 2));
}

//! Accounts people can trust (docs/accounts.md): verification, password reset,
//! sessions, a change of address, and Google claiming an unverified account.
//! Every link is read from the `.eml` the product wrote and followed.

use crate::helpers::{
    Options, TestApp, browser_client, consent, page_text, smtp_sink, spawn_app, spawn_app_with,
    spawn_app_with_google,
};
use reqwest::header::{LOCATION, REFERRER_POLICY};
use reqwest::{Client, redirect};
use sqlx::PgPool;
use std::time::Duration;

fn client_as(user_agent: &str) -> Client {
    Client::builder()
        .cookie_store(true)
        .user_agent(user_agent)
        .redirect(redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const CHROME: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

async fn logged_out(app: &TestApp, c: &Client) -> bool {
    app.call(c, "me", &[]).await.text().await.unwrap() == "null"
}

#[sqlx::test]
async fn the_sign_up_link_verifies_the_address_once_and_the_banner_goes(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Ada Lovelace", "ada@example.com").await;
    assert_eq!(app.current_user(&c).await["email_verified"], false);
    let dashboard = app.page(&c, "/dashboard").await;
    assert!(
        dashboard.contains("Please verify your email address: we sent a link to ada@example.com.")
            && dashboard.contains("outbox/system")
            && dashboard.contains("Send the link again"),
        "{dashboard}"
    );

    let mail = app.system_mail_to("ada@example.com", 1).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].0, "Verify your email address for MailMerger");
    assert!(
        mail[0].1.starts_with("Hello Ada Lovelace,"),
        "{}",
        mail[0].1
    );
    let link = app.mailed_link("ada@example.com", "/verify/").await;

    // Opening the link (as a mail scanner would) changes nothing.
    let shown = c.get(&link).send().await.unwrap();
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.headers()[REFERRER_POLICY], "no-referrer");
    let text = page_text(&shown.text().await.unwrap());
    assert!(
        text.contains("ada@example.com") && text.contains("Verify my address"),
        "{text}"
    );
    assert_eq!(app.current_user(&c).await["email_verified"], false);

    // The button does; from another browser too (no session needed).
    let res = app.follow_link(&browser_client(), &link, &[]).await;
    assert_eq!(res.status(), 200);
    assert!(page_text(&res.text().await.unwrap()).contains("Your address is verified"));
    assert_eq!(app.current_user(&c).await["email_verified"], true);
    assert!(!app.page(&c, "/dashboard").await.contains("Please verify"));

    // Once only.
    let again = app.follow_link(&c, &link, &[]).await;
    assert_eq!(again.status(), 404);
    assert!(page_text(&again.text().await.unwrap()).contains("already used, has expired"));
    // A token that was never made, or one cut short.
    let cut = &link[..link.len() - 3];
    assert_eq!(app.follow_link(&c, cut, &[]).await.status(), 404);
}

#[sqlx::test]
async fn send_the_link_again_mails_a_new_one_and_is_limited(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Ada", "ada@example.com").await;
    let first = app.mailed_link("ada@example.com", "/verify/").await;
    let res = app
        .follow_link(&c, &app.url("/account/verify/resend"), &[])
        .await;
    assert_eq!(res.status(), 200);
    let text = page_text(&res.text().await.unwrap());
    assert!(
        text.contains("We sent a new link to ada@example.com") && text.contains(".eml"),
        "{text}"
    );
    assert_eq!(app.system_mail_to("ada@example.com", 2).await.len(), 2);
    let second = app.mailed_link("ada@example.com", "/verify/").await;
    assert_ne!(first, second);
    // Either works; using one voids the other.
    assert_eq!(app.follow_link(&c, &first, &[]).await.status(), 200);
    assert_eq!(app.follow_link(&c, &second, &[]).await.status(), 404);

    let bob = app.new_user("Bob", "bob@example.com").await;
    for _ in 0..mailmerger::accounts::ssr::VERIFY_MAILS_PER_USER {
        app.follow_link(&bob, &app.url("/account/verify/resend"), &[])
            .await;
    }
    let refused = app
        .follow_link(&bob, &app.url("/account/verify/resend"), &[])
        .await;
    assert_eq!(refused.status(), 429);
    assert!(page_text(&refused.text().await.unwrap()).contains("Too many attempts"));
}

#[sqlx::test]
async fn over_smtp_an_unverified_sender_is_refused_and_held_until_verified(pool: PgPool) {
    let (port, log) = smtp_sink().await;
    let app = spawn_app_with(
        pool,
        Options {
            vars: vec![("SMTP_URL", format!("smtp://127.0.0.1:{port}"))],
            ..Default::default()
        },
    )
    .await;
    let c = app.new_user("Ada", "ada@example.com").await;
    let res = app
        .queue_message(
            &c,
            &[
                ("to", "grace@example.com"),
                ("subject", "Hi"),
                ("body", "Hello."),
                ("when", "now"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Verify your email address before sending"),
    );
    assert_eq!(app.count("queued").await, 0);

    // Mail queued some other way (before verification was required) waits.
    crate::helpers::queue_rows(&app, 1).await;
    let r = app.deliverer().run_once().await.unwrap();
    assert_eq!(r.sent, 0);
    assert_eq!(app.statuses().await, vec!["queued"]);
    assert!(log.lock().unwrap().is_empty());

    app.verify_address(&c, "ada@example.com").await;
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);
    assert_eq!(log.lock().unwrap().len(), 1);
    // And queueing is open now.
    app.queue_one(&c, "grace@example.com", "Now it goes", "now")
        .await;
    assert_eq!(app.count("queued").await, 1);
}

#[sqlx::test]
async fn through_the_outbox_an_unverified_account_sends_as_before(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Ada", "ada@example.com").await;
    app.queue_one(&c, "grace@example.com", "First run", "now")
        .await;
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);
}

#[sqlx::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session(pool: PgPool) {
    let app = spawn_app(pool).await;
    let laptop = app.new_user("Ada", "ada@example.com").await;
    let phone = browser_client();
    assert_eq!(
        app.login(&phone, "ada@example.com", "a long password")
            .await
            .status(),
        200
    );
    app.new_user("Bob", "bob@example.com").await;

    let login_page = app.page(&browser_client(), "/login").await;
    assert!(login_page.contains("Forgot your password?"), "{login_page}");
    let form = browser_client()
        .get(app.url("/forgot"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    assert!(page_text(&form.text().await.unwrap()).contains("Send the link"));

    // The same answer whether or not the address has an account.
    let anon = browser_client();
    let known = app
        .follow_link(&anon, &app.url("/forgot"), &[("email", "ADA@example.com")])
        .await;
    assert_eq!(known.status(), 200);
    let known = page_text(&known.text().await.unwrap());
    let unknown = app
        .follow_link(
            &anon,
            &app.url("/forgot"),
            &[("email", "nobody@example.com")],
        )
        .await;
    assert_eq!(unknown.status(), 200);
    let unknown = page_text(&unknown.text().await.unwrap());
    assert_eq!(
        known.replace("ADA@example.com", "X"),
        unknown.replace("nobody@example.com", "X")
    );
    assert!(
        known.contains("If an account uses ADA@example.com"),
        "{known}"
    );
    let bad = app
        .follow_link(&anon, &app.url("/forgot"), &[("email", "not an address")])
        .await;
    assert_eq!(bad.status(), 422);

    let link = app.mailed_link("ada@example.com", "/reset/").await;
    let shown = anon.get(&link).send().await.unwrap();
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.headers()[REFERRER_POLICY], "no-referrer");
    assert!(page_text(&shown.text().await.unwrap()).contains("New password"));

    // A password that does not do is refused next to its field; the link stays good.
    let short = app
        .follow_link(&anon, &link, &[("password", "short")])
        .await;
    assert_eq!(short.status(), 422);
    let html = short.text().await.unwrap();
    assert!(html.contains(r#"aria-invalid="true""#), "{html}");
    assert!(page_text(&html).contains("at least 8 characters"), "{html}");

    let res = app
        .follow_link(&anon, &link, &[("password", "a new long password")])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION], "/login?reset=done");
    let done = app.page(&anon, "/login?reset=done").await;
    assert!(done.contains("Your password is changed"), "{done}");

    assert!(logged_out(&app, &laptop).await);
    assert!(logged_out(&app, &phone).await);
    assert_eq!(
        app.login(&anon, "ada@example.com", "a long password")
            .await
            .status(),
        401
    );
    assert_eq!(
        app.login(&anon, "ada@example.com", "a new long password")
            .await
            .status(),
        200
    );
    let mail = app.system_mail_to("ada@example.com", 3).await;
    assert_eq!(
        mail.last().unwrap().0,
        "Your MailMerger password was changed"
    );
    // The link reached the address: it counts as verified.
    assert_eq!(app.current_user(&anon).await["email_verified"], true);

    // Used twice.
    let twice = app
        .follow_link(&anon, &link, &[("password", "yet another password")])
        .await;
    assert_eq!(twice.status(), 404);
    assert_eq!(
        app.login(&browser_client(), "ada@example.com", "yet another password")
            .await
            .status(),
        401
    );

    // Expired.
    app.follow_link(&anon, &app.url("/forgot"), &[("email", "bob@example.com")])
        .await;
    let bobs = app.mailed_link("bob@example.com", "/reset/").await;
    app.exec("UPDATE account_links SET expires_at = now() - interval '1 second' WHERE purpose = 'reset' AND email = 'bob@example.com'").await;
    assert_eq!(
        app.follow_link(&anon, &bobs, &[("password", "a new long password")])
            .await
            .status(),
        404
    );

    // Another account's: Ada's link id with the secret of Bob's new link.
    app.exec("UPDATE account_links SET used_at = NULL WHERE email = 'ada@example.com' AND purpose = 'reset'").await;
    app.follow_link(&anon, &app.url("/forgot"), &[("email", "bob@example.com")])
        .await;
    let fresh = app.mailed_link("bob@example.com", "/reset/").await;
    let token = |l: &str| l.rsplit('/').next().unwrap().to_string();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut mixed = b64.decode(token(&link)).unwrap();
    mixed[16..].copy_from_slice(&b64.decode(token(&fresh)).unwrap()[16..]);
    let forged = format!("{}/reset/{}", app.base, b64.encode(mixed));
    assert_eq!(
        app.follow_link(&anon, &forged, &[("password", "forged password!")])
            .await
            .status(),
        404
    );
    assert_eq!(
        app.login(&browser_client(), "ada@example.com", "forged password!")
            .await
            .status(),
        401
    );
    assert_eq!(
        app.login(&browser_client(), "bob@example.com", "forged password!")
            .await
            .status(),
        401
    );
}

#[sqlx::test]
async fn sessions_are_listed_and_ended_from_another_browser(pool: PgPool) {
    let app = spawn_app(pool).await;
    let firefox = client_as(FIREFOX);
    assert_eq!(
        app.signup(&firefox, "Ada", "ada@example.com", "a long password")
            .await
            .status(),
        200
    );
    let chrome = client_as(CHROME);
    assert_eq!(
        app.login(&chrome, "ada@example.com", "a long password")
            .await
            .status(),
        200
    );

    let account: serde_json::Value = app
        .call(&firefox, "account/get", &[])
        .await
        .json()
        .await
        .unwrap();
    let sessions = account["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{account}");
    let mine = sessions.iter().find(|s| s["current"] == true).unwrap();
    let other = sessions.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(mine["browser"], "Firefox on Linux");
    assert_eq!(other["browser"], "Chrome on macOS");
    assert_eq!(other["ip"], "127.0.0.1");
    let settings = app.page(&firefox, "/settings").await;
    assert!(
        settings.contains("Chrome on macOS")
            && settings.contains("This session")
            && settings.contains("Log out everywhere else"),
        "{settings}"
    );

    // Another user cannot end Ada's session.
    let bob = app.new_user("Bob", "bob@example.com").await;
    let id = other["id"].as_str().unwrap();
    assert_eq!(
        app.call(&bob, "account/sessions/end", &[("id", id)])
            .await
            .status(),
        404
    );
    assert!(!logged_out(&app, &chrome).await);

    // Ada ends it from Firefox, as the plain form does.
    let res = app
        .post_form(&firefox, "account/sessions/end", "/settings", &[("id", id)])
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert!(logged_out(&app, &chrome).await);
    assert!(!logged_out(&app, &firefox).await);
    // Its cookie is worthless for pages too.
    let page = chrome.get(app.url("/queue")).send().await.unwrap();
    assert_eq!(page.status(), 303);

    let a = client_as(CHROME);
    let b = browser_client();
    app.login(&a, "ada@example.com", "a long password").await;
    app.login(&b, "ada@example.com", "a long password").await;
    app.post_form(&firefox, "account/sessions/end_others", "/settings", &[])
        .await;
    assert!(logged_out(&app, &a).await && logged_out(&app, &b).await);
    assert!(!logged_out(&app, &firefox).await);
    assert!(!logged_out(&app, &bob).await);

    // Past SESSION_MAX_DAYS a session ends, however active.
    app.exec("UPDATE user_sessions SET started_at = now() - interval '31 days'")
        .await;
    assert!(logged_out(&app, &firefox).await);
    // Logging out deletes the session's row.
    let c = browser_client();
    app.login(&c, "ada@example.com", "a long password").await;
    app.call(&c, "logout", &[]).await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'ada@example.com' AND s.started_at > now() - interval '1 day'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[sqlx::test]
async fn a_new_password_needs_the_current_one_and_ends_the_other_sessions(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Ada", "ada@example.com").await;
    let other = browser_client();
    app.login(&other, "ada@example.com", "a long password")
        .await;
    let wrong = app
        .call(
            &c,
            "account/password",
            &[
                ("current", "not it at all"),
                ("password", "a new long password"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That is not your current password.")
    );
    let res = app
        .post_form(
            &c,
            "account/password",
            "/settings",
            &[
                ("current", "a long password"),
                ("password", "a new long password"),
            ],
        )
        .await;
    assert!(res.status().is_redirection());
    assert!(!logged_out(&app, &c).await);
    assert!(logged_out(&app, &other).await);
    assert_eq!(
        app.login(&browser_client(), "ada@example.com", "a new long password")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.system_mail_to("ada@example.com", 2)
            .await
            .last()
            .unwrap()
            .0,
        "Your MailMerger password was changed"
    );
}

#[sqlx::test]
async fn a_new_address_takes_effect_when_its_link_is_followed(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = app.new_user("Ada", "ada@example.com").await;
    app.verify_address(&c, "ada@example.com").await;
    app.new_user("Bob", "bob@example.com").await;

    let taken = app
        .call(
            &c,
            "account/email",
            &[
                ("email", "BOB@example.com"),
                ("password", "a long password"),
            ],
        )
        .await;
    assert!(
        taken
            .text()
            .await
            .unwrap()
            .contains("Another account uses this address.")
    );
    let wrong = app
        .call(
            &c,
            "account/email",
            &[("email", "ada@new.example"), ("password", "wrong password")],
        )
        .await;
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That is not your password.")
    );
    // A reset link sent to the old address before the change.
    app.follow_link(
        &browser_client(),
        &app.url("/forgot"),
        &[("email", "ada@example.com")],
    )
    .await;
    let old_reset = app.mailed_link("ada@example.com", "/reset/").await;
    let res = app
        .call(
            &c,
            "account/email",
            &[
                ("email", "ada@new.example"),
                ("password", "a long password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // Until the link is followed, nothing changes.
    assert_eq!(app.current_user(&c).await["email"], "ada@example.com");
    let settings = app.page(&c, "/settings").await;
    assert!(
        settings.contains("Waiting for you to confirm ada@new.example"),
        "{settings}"
    );

    let link = app.mailed_link("ada@new.example", "/verify/").await;
    let shown = page_text(&c.get(&link).send().await.unwrap().text().await.unwrap());
    assert!(shown.contains("Use this address"), "{shown}");
    let res = app.follow_link(&c, &link, &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.current_user(&c).await["email"], "ada@new.example");
    assert_eq!(app.current_user(&c).await["email_verified"], true);
    let notice = app.system_mail_to("ada@example.com", 3).await;
    assert_eq!(
        notice.last().unwrap().0,
        "Your MailMerger address was changed"
    );
    assert!(notice.last().unwrap().1.contains("ada@new.example"));
    assert_eq!(
        app.login(&browser_client(), "ada@new.example", "a long password")
            .await
            .status(),
        200
    );
    // The old address can no longer reset the account's password.
    let res = app
        .follow_link(
            &browser_client(),
            &old_reset,
            &[("password", "taken over!!")],
        )
        .await;
    assert_eq!(res.status(), 404);

    // An address someone else took between the request and the link: refused.
    app.call(
        &c,
        "account/email",
        &[
            ("email", "cat@example.com"),
            ("password", "a long password"),
        ],
    )
    .await;
    let link = app.mailed_link("cat@example.com", "/verify/").await;
    app.new_user("Cat", "cat@example.com").await;
    let res = app.follow_link(&c, &link, &[]).await;
    assert_eq!(res.status(), 409);
    assert_eq!(app.current_user(&c).await["email"], "ada@new.example");
}

#[sqlx::test]
async fn google_claims_an_account_an_attacker_registered_with_the_victims_address(pool: PgPool) {
    let app = spawn_app_with_google(pool, Vec::new()).await;
    // The attacker registers the victim's address, connects their own Gmail,
    // plants a template and queues mail.
    let attacker = app.new_user("Not Grace", "grace@gmail.test").await;
    app.connect_gmail(&attacker, "attacker@gmail.test").await;
    let res = app
        .call(
            &attacker,
            "templates/save",
            &[
                ("id", ""),
                ("name", "Planted"),
                ("subject", "Hi"),
                ("body", "Hello {{ name }}"),
            ],
        )
        .await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    let res = app
        .queue_message(
            &attacker,
            &[
                ("to", "someone@example.com"),
                ("subject", "From the attacker"),
                ("body", "Hi."),
                ("when", "later"),
                ("send_at", "2030-01-01T09:00"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    app.follow_link(
        &attacker,
        &app.url("/forgot"),
        &[("email", "grace@gmail.test")],
    )
    .await;
    let reset_link = app.mailed_link("grace@gmail.test", "/reset/").await;
    let revoked_before = app.fake().revoked_count();

    // The victim signs in with Google.
    let victim = browser_client();
    let (res, url) = app
        .google_flow(&victim, "/auth/google/login", consent("grace@gmail.test"))
        .await;
    assert!(url.ends_with("/account/claimed"), "ended at {url}");
    let text = page_text(&res.text().await.unwrap());
    assert!(text.contains("This account is yours now"), "{text}");
    assert!(
        text.contains("Planted"),
        "the planted template is listed: {text}"
    );
    assert!(text.contains("1 queued messages"), "{text}");
    assert!(text.contains("attacker@gmail.test"), "{text}");
    let me = app.current_user(&victim).await;
    assert_eq!(me["email"], "grace@gmail.test");
    assert_eq!(me["email_verified"], true);

    // The attacker's session, password, Gmail and reset link stop working.
    assert!(logged_out(&app, &attacker).await);
    assert_eq!(
        app.login(&browser_client(), "grace@gmail.test", "a long password")
            .await
            .status(),
        401
    );
    assert_eq!(app.statuses().await, vec!["cancelled"]);
    assert!(app.fake().revoked_count() > revoked_before);
    let google: Vec<String> = sqlx::query_scalar("SELECT email FROM google_accounts")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(google, vec!["grace@gmail.test"]);
    let reset = app
        .follow_link(
            &browser_client(),
            &reset_link,
            &[("password", "attacker again")],
        )
        .await;
    assert_eq!(reset.status(), 404);

    // Next time the victim signs straight in.
    let again = browser_client();
    let (_, url) = app
        .google_flow(&again, "/auth/google/login", consent("grace@gmail.test"))
        .await;
    assert!(url.ends_with("/dashboard"), "ended at {url}");
}

#[sqlx::test]
async fn closed_sign_up_refuses_both_ways_and_the_command_line_makes_users(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        Options {
            google: true,
            vars: vec![("SIGNUP", "closed".into())],
            ..Default::default()
        },
    )
    .await;
    let c = browser_client();
    let res = app
        .signup(&c, "Ada", "ada@example.com", "a long password")
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Sign-up is closed on this server")
    );
    let (_, url) = app
        .google_flow(&c, "/auth/google/login", consent("grace@gmail.test"))
        .await;
    assert!(
        url.ends_with("/login?google=signup_closed"),
        "ended at {url}"
    );
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(users, 0);

    // The operator's way in: `mailmerger create-user`, the password on
    // standard input; a verified account, whatever SIGNUP says.
    let create = |email: &str| {
        use std::io::Write;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mailmerger"));
        for (k, v) in &app.vars {
            cmd.env(k, v);
        }
        let db = crate::helpers::database_name(&app.pool);
        let mut child = cmd
            .env(
                "DATABASE_URL",
                format!("postgres://postgres@127.0.0.1:5432/{db}"),
            )
            .env_remove("MAILMERGER_PASSWORD")
            .args(["create-user", "--email", email, "--name", "Ada Lovelace"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the server binary");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"a long password\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, said) = create("ada@example.com");
    assert!(ok, "{said}");
    assert!(
        said.contains("created ada@example.com") && said.contains("verified"),
        "{said}"
    );
    let (ok, said) = create("ADA@example.com");
    assert!(!ok && said.contains("already exists"), "{said}");
    assert_eq!(
        app.login(&c, "ada@example.com", "a long password")
            .await
            .status(),
        200
    );
    let me = app.current_user(&c).await;
    assert_eq!(me["name"], "Ada Lovelace");
    assert_eq!(me["email_verified"], true);
}

#[sqlx::test]
async fn domain_sign_up_refuses_other_domains_and_unverified_accounts_can_do_nothing(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        Options {
            google: true,
            vars: vec![
                ("SIGNUP", "domains".into()),
                ("SIGNUP_ALLOWED_DOMAINS", "example.com".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let c = browser_client();
    let res = app
        .signup(&c, "Eve", "eve@elsewhere.test", "a long password")
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("only for addresses at example.com")
    );
    // Google: the hosted domain decides, not the address (a gmail.com account
    // has none).
    let (_, url) = app
        .google_flow(&c, "/auth/google/login", consent("eve@gmail.test"))
        .await;
    assert!(
        url.ends_with("/login?google=signup_domain"),
        "ended at {url}"
    );
    let google = browser_client();
    let (_, url) = app
        .google_flow(&google, "/auth/google/login", consent("grace@example.com"))
        .await;
    assert!(url.ends_with("/dashboard"), "ended at {url}");

    // A password account at the domain can do nothing until it is verified.
    let ada = app.new_user("Ada", "ada@example.com").await;
    let page = app.page(&ada, "/templates").await;
    assert!(
        page.contains(
            "Before you can use MailMerger here, open the link we sent to ada@example.com"
        ),
        "{page}"
    );
    let res = app.call(&ada, "templates/list", &[]).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Verify your email address first")
    );
    app.verify_address(&ada, "ada@example.com").await;
    assert_eq!(app.call(&ada, "templates/list", &[]).await.status(), 200);
    assert!(app.page(&ada, "/templates").await.contains("Templates"));
}

#[sqlx::test]
async fn an_admin_suspends_a_user_whose_mail_waits_and_unsuspends_them(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        Options {
            vars: vec![(
                "ADMIN_EMAILS",
                "root@example.com, nobody@example.com".into(),
            )],
            ..Default::default()
        },
    )
    .await;
    let root = app.new_user("Root", "root@example.com").await;
    let bob = app.new_user("Bob", "bob@example.com").await;
    app.queue_one(&bob, "grace@example.com", "Held", "now")
        .await;

    // Not an admin until the address is verified: someone else could have
    // registered it.
    assert_eq!(app.call(&root, "admin/users", &[]).await.status(), 404);
    assert!(!app.page(&root, "/dashboard").await.contains("Admin"));
    app.verify_address(&root, "root@example.com").await;
    assert!(app.page(&root, "/dashboard").await.contains("Admin"));
    // Bob is no admin.
    assert_eq!(app.call(&bob, "admin/users", &[]).await.status(), 404);
    let bob_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'bob@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let id = bob_id.to_string();
    assert_eq!(
        app.call(&bob, "admin/suspend", &[("id", &id), ("suspend", "true")])
            .await
            .status(),
        404
    );

    let admin = app.page(&root, "/admin").await;
    assert!(
        admin.contains("bob@example.com") && admin.contains("Sign-up is open"),
        "{admin}"
    );
    let list: serde_json::Value = app
        .call(&root, "admin/users", &[])
        .await
        .json()
        .await
        .unwrap();
    let bob_row = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "bob@example.com")
        .unwrap()
        .clone();
    assert_eq!(
        (bob_row["queued"].as_i64(), bob_row["templates"].as_i64()),
        (Some(1), Some(0))
    );

    let res = app
        .post_form(
            &root,
            "admin/suspend",
            "/admin",
            &[("id", &id), ("suspend", "true")],
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    // Logged out at once, cannot log in again, and the mail waits.
    assert!(logged_out(&app, &bob).await);
    let again = browser_client();
    let res = app
        .login(&again, "bob@example.com", "a long password")
        .await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("This account is suspended")
    );
    assert!(logged_out(&app, &again).await);
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 0);
    assert_eq!(app.statuses().await, vec!["queued"]);
    // Nor can an admin suspend themselves.
    let root_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'root@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let res = app
        .call(
            &root,
            "admin/suspend",
            &[("id", &root_id.to_string()), ("suspend", "true")],
        )
        .await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("You cannot suspend yourself.")
    );

    app.post_form(
        &root,
        "admin/suspend",
        "/admin",
        &[("id", &id), ("suspend", "false")],
    )
    .await;
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);
    assert_eq!(
        app.login(&again, "bob@example.com", "a long password")
            .await
            .status(),
        200
    );
}

/// Every row of any table with a `user_id` column that belongs to `user`.
async fn rows_of(app: &TestApp, user: uuid::Uuid) -> Vec<(String, i64)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND column_name = 'user_id' ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(tables.len() > 10, "{tables:?}");
    let mut found = Vec::new();
    for t in tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {t} WHERE user_id = $1"))
            .bind(user)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        if n > 0 {
            found.push((t, n));
        }
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    if users > 0 {
        found.push(("users".into(), users));
    }
    found
}

#[sqlx::test]
async fn download_my_data_then_delete_the_account_leaves_no_row_and_no_object(pool: PgPool) {
    use std::io::Read;
    let app = spawn_app_with_google(pool, vec![("DELIVERY_PACING", "false".into())]).await;
    let ada = app.gmail_user("ada@gmail.test").await;
    let bob = app.gmail_user("bob@gmail.test").await;
    let ada_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'ada@gmail.test'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    app.call(
        &ada,
        "templates/save",
        &[
            ("id", ""),
            ("name", "Intro"),
            ("subject", "Hello {{ name }}"),
            ("body", "Dear {{ name }},"),
        ],
    )
    .await;
    let cv = crate::files::pdf(50_000);
    let res = crate::files::upload(
        &app,
        &ada,
        "attachment",
        "Portfolio.pdf",
        cv.clone(),
        "application/pdf",
    )
    .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    crate::files::upload(
        &app,
        &bob,
        "attachment",
        "Bob.pdf",
        crate::files::pdf(10),
        "application/pdf",
    )
    .await;
    app.queue_one(&ada, "grace@example.com", "Went out", "now")
        .await;
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);
    let res = app
        .queue_message(
            &ada,
            &[
                ("to", "alan@example.com"),
                ("subject", "Still queued"),
                ("body", "Hi."),
                ("when", "later"),
                ("send_at", "2030-01-01T09:00"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    app.exec("INSERT INTO suppressions (user_id, address, reason) SELECT id, 'gone@example.com', 'added' FROM users WHERE email = 'ada@gmail.test'").await;

    // Download my data.
    let res = ada.get(app.url("/account/export")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"mailmerger-data-")
    );
    let bytes = res.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut entry = |name: &str| {
        let mut out = Vec::new();
        zip.by_name(name)
            .unwrap_or_else(|_| panic!("{name} in the zip"))
            .read_to_end(&mut out)
            .unwrap();
        out
    };
    let templates = String::from_utf8(entry("templates.csv")).unwrap();
    assert!(
        templates.starts_with("name,subject,body,created,updated\n"),
        "{templates}"
    );
    assert!(
        templates.contains("Intro,Hello {{ name }},\"Dear {{ name }},\""),
        "{templates}"
    );
    let messages = String::from_utf8(entry("messages.csv")).unwrap();
    assert!(
        messages.contains(",sent,")
            && messages.contains("Went out")
            && messages.contains("grace@example.com"),
        "{messages}"
    );
    assert!(
        messages.contains(",queued,") && messages.contains("Still queued"),
        "{messages}"
    );
    let contacts = String::from_utf8(entry("contacts.csv")).unwrap();
    assert!(contacts.contains("grace@example.com,1,"), "{contacts}");
    assert!(
        !contacts.contains("alan@example.com"),
        "only addresses mail went to: {contacts}"
    );
    assert!(
        String::from_utf8(entry("suppression.csv"))
            .unwrap()
            .contains("gone@example.com,added,")
    );
    assert_eq!(entry("files/attachment/Portfolio.pdf"), cv);
    assert!(
        zip.by_name("files/attachment/Bob.pdf").is_err(),
        "another user's file"
    );

    // Delete: the password confirms.
    let wrong = app
        .call(&ada, "account/delete", &[("password", "not my password")])
        .await;
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That is not your password.")
    );
    assert!(!rows_of(&app, ada_id).await.is_empty());
    let revoked = app.fake().revoked_count();
    let res = app
        .post_form(
            &ada,
            "account/delete",
            "/settings",
            &[("password", "a long password")],
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()[LOCATION], "/account/deleted");
    assert!(
        page_text(
            &ada.get(app.url("/account/deleted"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        )
        .contains("Your account is deleted")
    );
    assert!(logged_out(&app, &ada).await);
    assert_eq!(
        app.login(&browser_client(), "ada@gmail.test", "a long password")
            .await
            .status(),
        401
    );
    assert!(
        app.fake().revoked_count() > revoked,
        "the Gmail grant is revoked"
    );

    // After the storage sweep: no row and no object of Ada's; Bob's untouched.
    mailmerger::server::upkeep::run_once(&app.state).await;
    assert_eq!(rows_of(&app, ada_id).await, Vec::<(String, i64)>::new());
    let storage = std::path::PathBuf::from(&app.vars["DATA_DIR"]).join("files");
    let mut objects = Vec::new();
    let mut dirs = vec![storage];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            } else {
                objects.push(e.path().display().to_string());
            }
        }
    }
    assert_eq!(objects.len(), 1, "only Bob's file is left: {objects:?}");
    assert!(!objects[0].contains(&ada_id.to_string()));
    assert!(!logged_out(&app, &bob).await);
    assert_eq!(app.call(&bob, "templates/list", &[]).await.status(), 200);
}

#[sqlx::test]
async fn with_system_smtp_the_links_go_through_it_never_the_users_gmail(pool: PgPool) {
    let (port, log) = smtp_sink().await;
    let app = spawn_app_with(
        pool,
        Options {
            google: true,
            vars: vec![
                ("SYSTEM_SMTP_URL", format!("smtp://127.0.0.1:{port}")),
                ("SYSTEM_FROM", "Acme Mailer <accounts@acme.test>".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let c = app.gmail_user("ada@gmail.test").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while log.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sent = log.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].rcpt, vec!["ada@gmail.test"]);
    assert!(
        sent[0]
            .data
            .contains("From: \"Acme Mailer\" <accounts@acme.test>"),
        "{}",
        sent[0].data
    );
    assert!(
        sent[0]
            .data
            .contains("Subject: Verify your email address for MailMerger")
    );
    // Not through Gmail, and nothing in the outbox; the banner says no more
    // than that a link went.
    assert!(app.fake().received(Some("ada@gmail.test")).is_empty());
    let outbox = std::path::PathBuf::from(&app.vars["DATA_DIR"]).join("outbox/system");
    assert_eq!(
        std::fs::read_dir(&outbox).map(|d| d.count()).unwrap_or(0),
        0
    );
    let page = app.page(&c, "/dashboard").await;
    assert!(
        page.contains("we sent a link to ada@gmail.test") && !page.contains("saved as a"),
        "{page}"
    );
}

#[sqlx::test]
async fn an_account_made_with_google_can_set_a_password(pool: PgPool) {
    let app = spawn_app_with_google(pool, Vec::new()).await;
    let c = browser_client();
    let (_, url) = app
        .google_flow(&c, "/auth/google/login", consent("grace@gmail.test"))
        .await;
    assert!(url.ends_with("/dashboard"), "{url}");
    let account: serde_json::Value = app.call(&c, "account/get", &[]).await.json().await.unwrap();
    assert_eq!(account["has_password"], false);
    assert!(app.page(&c, "/settings").await.contains("Set password"));
    let res = app
        .call(
            &c,
            "account/password",
            &[("current", ""), ("password", "my own password")],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(
        app.login(&browser_client(), "grace@gmail.test", "my own password")
            .await
            .status(),
        200
    );
    // Now the current one is needed.
    let res = app
        .call(
            &c,
            "account/password",
            &[("current", ""), ("password", "another password")],
        )
        .await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Enter your current password.")
    );
}

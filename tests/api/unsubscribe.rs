//! One-click unsubscribe (RFC 8058) and the suppression list.

use crate::helpers::{Options, TestApp, browser_client, spawn_app_with, spawn_app_with_google};
use crate::merge::{file, upload};
use mailmerger::domain::{EmailAddress, UserId};
use mailmerger::server::unavailable::BAD_LINKS_PER_IP;
use mailmerger::unsubscribe::ssr::links::Links;
use reqwest::Client;
use reqwest::header::{CONTENT_TYPE, LOCATION, ORIGIN};
use reqwest::multipart::{Form, Part};
use secrecy::SecretBox;
use serde_json::Value;
use sqlx::PgPool;

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const OTHER_KEY: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";

fn key(b64: &str) -> SecretBox<[u8; 32]> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    SecretBox::new(Box::new(bytes.try_into().unwrap()))
}

async fn user_id(app: &TestApp, email: &str) -> UserId {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// A template whose body links to `{{ unsubscribe_url }}`, or not.
async fn template(app: &TestApp, c: &Client, body: &str) -> String {
    let res = app
        .call(
            c,
            "templates/save",
            &[
                ("id", ""),
                ("name", "Cold"),
                ("subject", "Hi {{ first_name }}"),
                ("body", body),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json::<String>().await.unwrap()
}

/// The path of the first `/u/…` link in `text`.
fn link_in(text: &str) -> String {
    let start = text.find("/u/").expect("an unsubscribe link");
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "/-_".contains(*c))
        .collect()
}

async fn suppressed(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as("SELECT address, reason FROM suppressions ORDER BY address")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

fn body_of(row: (String,)) -> String {
    row.0
}

/// Queues one message to `to` through Write email with the link in its body,
/// and returns the link's path.
async fn queue_linked(app: &TestApp, c: &Client, to: &str) -> String {
    let res = app
        .queue_message(
            c,
            &[
                ("to", to),
                ("subject", "Hello"),
                ("body", "Hello.\n\nNot interested? {{ unsubscribe_url }}"),
                ("when", "now"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let text = sqlx::query_as::<_, (String,)>(
        "SELECT body_text FROM emails WHERE $1 = ANY(to_addrs) ORDER BY created_at DESC LIMIT 1",
    )
    .bind(to)
    .fetch_one(&app.pool)
    .await
    .map(body_of)
    .unwrap();
    link_in(&text)
}

/// A template and an upload of `csv`: their ids.
async fn merge_of(app: &TestApp, c: &Client, csv: &str) -> (String, String) {
    let template_id = template(app, c, "Hello {{ first_name }}.").await;
    let import = upload(app, c, file(csv)).await;
    (
        template_id,
        import.trim_start_matches("/merge/").to_string(),
    )
}

/// The merge report, with or without the footer.
async fn report_of(
    app: &TestApp,
    c: &Client,
    import_id: &str,
    template_id: &str,
    footer: bool,
) -> Value {
    let mut form = vec![("import_id", import_id), ("template_id", template_id)];
    if footer {
        form.push(("unsubscribe_footer", "true"));
    }
    let res = app.call(c, "merge/report", &form).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Queues the import's rows now, with the unsubscribe footer.
async fn queue_with_footer(app: &TestApp, c: &Client, import_id: &str, template_id: &str) {
    let res = app
        .queue_merge(
            c,
            &[
                ("import_id", import_id),
                ("template_id", template_id),
                ("email_column", "email"),
                ("when", "now"),
                ("unsubscribe_footer", "true"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

#[sqlx::test]
async fn an_https_merge_with_the_footer_sends_the_link_and_both_one_click_headers(pool: PgPool) {
    // The public address is https (a proxy in front would end TLS); the test
    // talks to the server directly.
    let app = spawn_app_with(
        pool,
        Options {
            google: true,
            vars: vec![
                ("APP_BASE_URL", "https://mail.example.com".into()),
                ("DELIVERY_PACING", "false".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let c = app.gmail_user("ada@gmail.test").await;
    let (template_id, import_id) =
        merge_of(&app, &c, "email,first_name\ngrace@example.com,Grace\n").await;

    // The report's preview shows the footer and the headers as they will go.
    let report = report_of(&app, &c, &import_id, &template_id, true).await;
    let preview = &report["preview"];
    let shown = preview["list_unsubscribe"]
        .as_str()
        .expect("a List-Unsubscribe URL");
    assert!(shown.starts_with("https://mail.example.com/u/"), "{shown}");
    assert!(
        preview["text"]
            .as_str()
            .unwrap()
            .contains(&format!("Unsubscribe: {shown}"))
    );

    queue_with_footer(&app, &c, &import_id, &template_id).await;
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);

    // What the fake Gmail received.
    let m = &app.fake().received(Some("ada@gmail.test"))[0];
    let header = m.raw_header("List-Unsubscribe").expect("List-Unsubscribe");
    let header = header.as_str();
    assert!(
        header.starts_with("<https://mail.example.com/u/") && header.ends_with('>'),
        "{header}"
    );
    let url = &header[1..header.len() - 1];
    assert_eq!(
        m.raw_header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    // The footer in both parts carries the same link as the header.
    let text = m.text().unwrap();
    assert!(
        text.contains(&format!(
            "Don\u{2019}t want these emails? Unsubscribe: {url}"
        )),
        "{text}"
    );
    let html = m.html().unwrap();
    assert!(
        html.contains(&format!("<a href=\"{url}\">Unsubscribe</a>")),
        "{html}"
    );
    // And the link works: it names this sender and this recipient.
    let (user, address) = app
        .state
        .links
        .open(url.rsplit('/').next().unwrap())
        .unwrap();
    assert_eq!(user, user_id(&app, "ada@gmail.test").await);
    assert_eq!(address, "grace@example.com");
}

#[sqlx::test]
async fn on_http_only_the_footer_link_goes_and_the_option_says_why(pool: PgPool) {
    let app = spawn_app_with_google(pool, vec![("DELIVERY_PACING", "false".into())]).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let (template_id, import_id) =
        merge_of(&app, &c, "email,first_name\ngrace@example.com,Grace\n").await;
    let page = app
        .page(
            &c,
            &format!("/merge/{import_id}?template_id={template_id}&unsubscribe_footer=1"),
        )
        .await;
    assert!(page.contains("Add an unsubscribe footer"), "{page}");
    assert!(
        page.contains("One-click unsubscribe headers are not added: they need MailMerger on https"),
        "{page}"
    );
    queue_with_footer(&app, &c, &import_id, &template_id).await;
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);
    let m = &app.fake().received(Some("ada@gmail.test"))[0];
    assert!(!m.has_header("List-Unsubscribe"));
    assert!(!m.has_header("List-Unsubscribe-Post"));
    let text = m.text().unwrap();
    assert!(
        text.contains(&format!("Unsubscribe: {}/u/", app.base)),
        "{text}"
    );
}

#[sqlx::test]
async fn a_cookieless_post_from_anywhere_unsubscribes_in_either_encoding_and_a_get_changes_nothing(
    pool: PgPool,
) {
    let app = spawn_app_with_google(pool, vec![("DELIVERY_PACING", "false".into())]).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let grace = queue_linked(&app, &c, "grace@example.com").await;
    let hopper = queue_linked(&app, &c, "hopper@example.com").await;
    let stranger = browser_client();

    // A mail scanner opening the link changes nothing.
    let res = stranger.get(app.url(&grace)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("Stop getting email from Ada Lovelace?"),
        "{body}"
    );
    assert!(
        body.contains("name=\"List-Unsubscribe\" value=\"One-Click\""),
        "{body}"
    );
    assert!(suppressed(&app).await.is_empty());

    // A mail provider's one-click POST: another origin, no cookie, urlencoded.
    for _ in 0..2 {
        let res = stranger
            .post(app.url(&grace))
            .header(ORIGIN, "https://mail.google.com")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "never a redirect");
        assert!(res.headers().get(LOCATION).is_none());
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("Ada Lovelace will not send you email at this address again.")
        );
    }
    assert_eq!(
        suppressed(&app).await,
        [("grace@example.com".into(), "unsubscribed".into())]
    );

    // multipart/form-data is allowed too.
    let res = stranger
        .post(app.url(&hopper))
        .header(ORIGIN, "https://outlook.example")
        .multipart(Form::new().text("List-Unsubscribe", "One-Click"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(suppressed(&app).await.len(), 2);

    // A POST that does not ask changes nothing.
    let third = queue_linked(&app, &c, "third@example.com").await;
    let res = stranger
        .post(app.url(&third))
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(suppressed(&app).await.len(), 2);

    // Both were queued before they unsubscribed: the claim does not send them.
    let report = app.deliverer().run_once().await.unwrap();
    assert_eq!((report.claimed, report.sent), (1, 1), "{report:?}");
    let received = app.fake().received(Some("ada@gmail.test"));
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to(), ["third@example.com"]);
    let (status, reason): (String, String) = sqlx::query_as(
        "SELECT status, last_error FROM emails WHERE 'grace@example.com' = ANY(to_addrs)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(status, "suppressed");
    assert!(
        reason.starts_with("Not sent: grace@example.com unsubscribed on "),
        "{reason}"
    );
    let sent = app.page(&c, "/sent?filter=suppressed").await;
    assert!(sent.contains("Not sent (2)"), "{sent}");
    assert!(
        sent.contains("Not sent: grace@example.com unsubscribed on"),
        "{sent}"
    );
}

#[sqlx::test]
async fn bad_links_are_refused_and_throttled_per_address_but_good_ones_never(pool: PgPool) {
    let app = spawn_app_with_google(pool, vec![]).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let good = queue_linked(&app, &c, "grace@example.com").await;
    let stranger = browser_client();
    let mut tampered = good.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let foreign = Links::new(&key(OTHER_KEY), None, &app.base).url(
        user_id(&app, "ada@gmail.test").await,
        &EmailAddress::parse("grace@example.com").unwrap(),
    );
    for bad in [
        tampered.as_str(),
        foreign.trim_start_matches(&app.base),
        "/u/nonsense",
    ] {
        let res = stranger
            .post(app.url(bad))
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{bad}");
        assert!(res.text().await.unwrap().contains("This link is not valid"));
    }
    assert!(suppressed(&app).await.is_empty());
    for _ in 3..BAD_LINKS_PER_IP {
        stranger.get(app.url("/u/nonsense")).send().await.unwrap();
    }
    let res = stranger.get(app.url("/u/nonsense")).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // The real link still works from the same address.
    let res = stranger
        .post(app.url(&good))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(suppressed(&app).await.len(), 1);
}

#[sqlx::test]
async fn links_made_under_the_previous_key_still_unsubscribe(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        Options {
            vars: vec![
                ("APP_SECRET_KEY", OTHER_KEY.into()),
                ("APP_SECRET_KEY_PREVIOUS", KEY.into()),
            ],
            ..Default::default()
        },
    )
    .await;
    app.new_user("Ada Lovelace", "ada@example.com").await;
    let user = user_id(&app, "ada@example.com").await;
    let grace = EmailAddress::parse("Grace@Example.com").unwrap();
    let old = Links::new(&key(KEY), None, &app.base).url(user, &grace);
    let res = browser_client()
        .post(old)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        suppressed(&app).await,
        [("grace@example.com".into(), "unsubscribed".into())]
    );
}

#[sqlx::test]
async fn a_suppressed_cc_is_dropped_at_send_time_and_sent_says_so(pool: PgPool) {
    let app = spawn_app_with_google(pool, vec![("DELIVERY_PACING", "false".into())]).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let res = app
        .queue_message(
            &c,
            &[
                ("to", "grace@example.com"),
                ("cc", "Boss@Example.com, team@example.com"),
                ("subject", "Hello"),
                ("body", "Hello."),
                ("when", "now"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    // Added after queueing: the claim drops it.
    let res = app
        .post_form(
            &c,
            "suppression/add",
            "/suppression",
            &[("address", "boss@example.com")],
        )
        .await;
    assert_eq!(
        res.headers()[LOCATION],
        "/suppression?added=boss%40example.com"
    );
    assert_eq!(app.deliverer().run_once().await.unwrap().sent, 1);
    let m = &app.fake().received(Some("ada@gmail.test"))[0];
    assert_eq!(m.to(), ["grace@example.com"]);
    assert_eq!(m.cc(), ["team@example.com"]);
    let sent = app.page(&c, "/sent").await;
    assert!(
        sent.contains("Not sent to boss@example.com: on your suppression list."),
        "{sent}"
    );
}

#[sqlx::test]
async fn write_email_and_the_merge_report_name_suppressed_addresses_before_queueing(pool: PgPool) {
    let app = spawn_app_with_google(pool, vec![]).await;
    let c = app.gmail_user("ada@gmail.test").await;
    app.post_form(
        &c,
        "suppression/add",
        "/suppression",
        &[("address", "grace@example.com")],
    )
    .await;
    let res = app
        .queue_message(
            &c,
            &[
                ("to", "GRACE@example.com"),
                ("subject", "Hi"),
                ("body", "Hello."),
                ("when", "now"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let errors = body["Invalid"]["errors"].as_array().unwrap();
    let to = errors
        .iter()
        .find(|e| e["field"] == "to")
        .expect("an error next to To");
    let message = to["message"].as_str().unwrap();
    assert!(
        message.starts_with("GRACE@example.com unsubscribed on")
            || message.starts_with("GRACE@example.com is on your suppression list"),
        "{message}"
    );
    assert_eq!(app.count("queued").await, 0);

    let (template_id, import_id) = merge_of(
        &app,
        &c,
        "email,first_name\ngrace@example.com,Grace\nhopper@example.com,Grace H\n",
    )
    .await;
    let report = report_of(&app, &c, &import_id, &template_id, false).await;
    assert_eq!(report["ready"], 1);
    assert_eq!(report["bad"][0]["line"], 2);
    let reason = report["bad"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("grace@example.com is on your suppression list (since "),
        "{reason}"
    );
    assert!(reason.ends_with("It is left out."), "{reason}");
}

#[sqlx::test]
async fn import_export_round_trip_and_another_users_list_is_untouched(pool: PgPool) {
    let app = spawn_app_with(pool, Options::default()).await;
    let ada = app.new_user("Ada", "ada@example.com").await;
    let bob = app.new_user("Bob", "bob@example.com").await;
    app.post_form(
        &ada,
        "suppression/add",
        "/suppression",
        &[("address", "old@example.com")],
    )
    .await;
    let csv = "Name,Email\nGrace,grace@example.com\nNobody,not an address\nOld,OLD@example.com\n,=cmd@example.com\n";
    let res = app
        .post_multipart(
            &ada,
            "/api/suppression/import",
            Form::new().part(
                "file",
                Part::bytes(csv.as_bytes().to_vec())
                    .file_name("list.csv")
                    .mime_str("text/csv")
                    .unwrap(),
            ),
        )
        .await;
    let back = res.headers()[LOCATION].to_str().unwrap().to_string();
    assert_eq!(back, "/suppression?imported=2&already=1&bad=1&bad_lines=3");
    let page = app.page(&ada, &back).await;
    assert!(page.contains("Imported 2 new addresses; 1 were on the list already. 1 line held no valid email address and was skipped (line 3)."), "{page}");
    assert!(page.contains("3 addresses"), "{page}");

    let export = ada
        .get(app.url("/suppression/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(export.headers()[CONTENT_TYPE], "text/csv; charset=utf-8");
    let text = export.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "address,reason,since");
    assert_eq!(lines.len(), 4);
    assert!(lines[1].starts_with("old@example.com,added,"), "{text}");
    assert!(
        text.contains("\n'=cmd@example.com,imported,"),
        "a formula is defused: {text}"
    );
    assert!(text.contains("\ngrace@example.com,imported,"), "{text}");

    // Bob sees none of it and cannot remove Ada's entries.
    let theirs = bob
        .get(app.url("/suppression/export.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(theirs.trim(), "address,reason,since");
    let res = app
        .call(
            &bob,
            "suppression/remove",
            &[("address", "grace@example.com")],
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(suppressed(&app).await.len(), 3);
    // Ada removes one, with the page saying what that means.
    let res = app
        .post_form(
            &ada,
            "suppression/remove",
            "/suppression",
            &[("address", "grace@example.com")],
        )
        .await;
    assert_eq!(
        res.headers()[LOCATION],
        "/suppression?removed=grace%40example.com"
    );
    let page = app
        .page(&ada, "/suppression?removed=grace%40example.com")
        .await;
    assert!(
        page.contains("Removed grace@example.com. Your messages can reach it again."),
        "{page}"
    );
    assert_eq!(suppressed(&app).await.len(), 2);
    // A bad address is refused next to the field, keeping what was typed.
    let res = app
        .post_form(
            &ada,
            "suppression/add",
            "/suppression",
            &[("address", "nope")],
        )
        .await;
    let back = res.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(back.starts_with("/suppression?error="), "{back}");
    let page = app.page(&ada, &back).await;
    assert!(
        page.contains("Enter an email address like name@example.com."),
        "{page}"
    );
}

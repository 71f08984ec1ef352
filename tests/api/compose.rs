use crate::helpers::{TestApp, spawn_app};
use reqwest::Client;
use reqwest::header::LOCATION;
use serde_json::Value;
use sqlx::PgPool;

async fn user(app: &TestApp, email: &str) -> Client {
    app.new_user("Writer", email).await
}

const BODY: &str = "Dear {{ first_name }},\n\nHow is **{{ company }}**?";

#[sqlx::test]
async fn the_preview_is_exactly_what_is_queued(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = user(&app, "w@example.com").await;
    let form = [
        ("to", "ada@example.com"),
        ("subject", "Hello {{ first_name }}"),
        ("body", BODY),
        ("values[first_name]", "Ada"),
        ("values[company]", "Smith & Sons"),
    ];
    let preview: Value = app
        .call(&c, "compose/preview", &form)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(preview["subject"], "Hello Ada");
    assert_eq!(
        preview["html"],
        "<p>Dear Ada,</p>\n<p>How is <strong>Smith &amp; Sons</strong>?</p>\n"
    );
    assert_eq!(preview["text"], "Dear Ada,\n\nHow is Smith & Sons?\n");

    let mut queue_form = form.to_vec();
    queue_form.extend([("cc", "boss@example.com"), ("when", "now")]);
    let res = app.queue_message(&c, &queue_form).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[LOCATION], "/queue?queued=1");
    let (to, cc, subject, html, text): (Vec<String>, Vec<String>, String, String, String) =
        sqlx::query_as("SELECT to_addrs, cc_addrs, subject, body_html, body_text FROM emails")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (to, cc),
        (
            vec!["ada@example.com".to_string()],
            vec!["boss@example.com".to_string()]
        )
    );
    assert_eq!(
        (subject.as_str(), html.as_str(), text.as_str()),
        (
            preview["subject"].as_str().unwrap(),
            preview["html"].as_str().unwrap(),
            preview["text"].as_str().unwrap()
        )
    );
}

#[sqlx::test]
async fn mistakes_are_reported_next_to_their_fields_and_nothing_is_queued(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = user(&app, "m@example.com").await;
    let res = app
        .queue_message(
            &c,
            &[
                ("to", "ada@example.com, not-an-address"),
                ("subject", "Hi"),
                ("body", "x"),
                ("when", "now"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["Invalid"]["errors"][0]["field"], "to");

    let res = app
        .queue_message(
            &c,
            &[
                ("to", "ada@example.com"),
                ("subject", "Hi {{ first_name }}"),
                ("body", BODY),
                ("values[first_name]", "Ada"),
                ("when", "now"),
            ],
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["Invalid"]["errors"][0]["field"], "values[company]");

    let many: Vec<String> = (0..101).map(|i| format!("p{i}@example.com")).collect();
    let res = app
        .queue_message(
            &c,
            &[
                ("to", &many.join(",")),
                ("subject", "Hi"),
                ("body", "x"),
                ("when", "now"),
            ],
        )
        .await;
    assert!(res.text().await.unwrap().contains("At most 100 recipients"));

    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[sqlx::test]
async fn a_queued_message_reopens_for_editing_and_saving_updates_it(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = user(&app, "e@example.com").await;
    let form = [
        ("to", "ada@example.com"),
        ("subject", "Hi {{ first_name }}"),
        ("body", BODY),
        ("values[first_name]", "Ada"),
        ("values[company]", "ACME"),
        ("when", "now"),
    ];
    let id: String = app.queue_message(&c, &form).await.json().await.unwrap();

    let draft: Value = app
        .call(&c, "compose/start", &[("edit", &id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(draft["id"], id.as_str());
    assert_eq!(draft["subject"], "Hi {{ first_name }}");
    assert_eq!(draft["body"], BODY);
    assert_eq!(draft["values"]["company"], "ACME");

    let edited = [
        ("id", id.as_str()),
        ("to", "ada@example.com"),
        ("subject", "Hi again {{ first_name }}"),
        ("body", BODY),
        ("values[first_name]", "Ada"),
        ("values[company]", "Initech"),
        ("when", "now"),
    ];
    let res = app.queue_message(&c, &edited).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[LOCATION], "/queue?saved=1");
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT subject, body_text FROM emails")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        rows,
        [(
            "Hi again Ada".to_string(),
            "Dear Ada,\n\nHow is Initech?\n".to_string()
        )]
    );

    let intruder = user(&app, "i@example.com").await;
    assert_eq!(
        app.call(&intruder, "compose/start", &[("edit", &id)])
            .await
            .status(),
        404
    );
    let mut hijack = edited.to_vec();
    hijack[2] = ("subject", "Hijacked");
    assert_eq!(app.queue_message(&intruder, &hijack).await.status(), 404);
    let subject: String = sqlx::query_scalar("SELECT subject FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(subject, "Hi again Ada");
}

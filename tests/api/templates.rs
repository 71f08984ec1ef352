use crate::helpers::{TestApp, browser_client, page_text, spawn_app};
use fred::prelude::*;
use reqwest::Client;
use serde_json::Value;
use sqlx::PgPool;

async fn user(app: &TestApp, email: &str) -> Client {
    app.new_user("Templater", email).await
}

async fn save(
    app: &TestApp,
    c: &Client,
    id: &str,
    name: &str,
    subject: &str,
    body: &str,
) -> reqwest::Response {
    app.call(
        c,
        "templates/save",
        &[
            ("id", id),
            ("name", name),
            ("subject", subject),
            ("body", body),
        ],
    )
    .await
}

async fn create(app: &TestApp, c: &Client, name: &str) -> String {
    let res = save(
        app,
        c,
        "",
        name,
        "Hello {{ first_name }}",
        "Dear {{ first_name }} at {{ Company }},\n\n**Thanks**",
    )
    .await;
    assert_eq!(res.status(), 200);
    res.json::<String>().await.unwrap()
}

async fn list(app: &TestApp, c: &Client) -> Vec<Value> {
    let res = app.call(c, "templates/list", &[]).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[sqlx::test]
async fn templates_can_be_created_listed_edited_duplicated_and_deleted(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = user(&app, "t@example.com").await;

    let id = create(&app, &c, "Follow-up").await;
    let rows = list(&app, &c).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "Follow-up");
    assert_eq!(rows[0]["subject"], "Hello {{ first_name }}");
    assert_eq!(
        rows[0]["placeholders"],
        serde_json::json!(["first_name", "company"])
    );
    assert!(rows[0]["updated"].as_str().unwrap().ends_with("UTC"));

    let got: Value = app
        .call(&c, "templates/get", &[("id", &id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        got["body"],
        "Dear {{ first_name }} at {{ Company }},\n\n**Thanks**"
    );
    let html: String = sqlx::query_scalar("SELECT body_html FROM templates")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        html,
        "<p>Dear {{ first_name }} at {{ Company }},</p>\n<p><strong>Thanks</strong></p>\n"
    );

    let res = save(
        &app,
        &c,
        &id,
        "Follow-up v2",
        "Hi {{ name }}",
        "Short {{ name }}",
    )
    .await;
    assert_eq!(res.status(), 200);
    let rows = list(&app, &c).await;
    assert_eq!(
        (rows[0]["name"].as_str(), rows[0]["placeholders"].clone()),
        (Some("Follow-up v2"), serde_json::json!(["name"]))
    );

    let res = app.call(&c, "templates/duplicate", &[("id", &id)]).await;
    assert_eq!(res.status(), 200);
    let res = app.call(&c, "templates/duplicate", &[("id", &id)]).await;
    assert_eq!(res.status(), 200);
    let mut names: Vec<String> = list(&app, &c)
        .await
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Copy of Follow-up v2",
            "Copy of Follow-up v2 (2)",
            "Follow-up v2"
        ]
    );

    let res = app.call(&c, "templates/delete", &[("id", &id)]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(list(&app, &c).await.len(), 2);
    let res = app.call(&c, "templates/get", &[("id", &id)]).await;
    assert_eq!(res.status(), 404);
}

#[sqlx::test]
async fn another_users_template_is_not_found_by_every_function(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = user(&app, "owner@example.com").await;
    let id = create(&app, &owner, "Mine").await;
    let intruder = user(&app, "intruder@example.com").await;

    assert_eq!(list(&app, &intruder).await.len(), 0);
    for (function, form) in [
        ("templates/get", vec![("id", id.as_str())]),
        ("templates/duplicate", vec![("id", id.as_str())]),
        ("templates/delete", vec![("id", id.as_str())]),
        (
            "templates/save",
            vec![
                ("id", id.as_str()),
                ("name", "Hijacked"),
                ("subject", "x"),
                ("body", "x"),
            ],
        ),
    ] {
        let res = app.call(&intruder, function, &form).await;
        assert_eq!(res.status(), 404, "{function}");
        assert_eq!(res.text().await.unwrap(), "\"NotFound\"", "{function}");
    }
    let page = intruder
        .get(app.url(&format!("/templates/{id}/edit")))
        .send()
        .await
        .unwrap();
    let text = page_text(&page.text().await.unwrap());
    assert!(text.contains("There is no such template"), "{text}");
    assert!(!text.contains("Mine"), "{text}");

    let rows = list(&app, &owner).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "Mine");
}

#[sqlx::test]
async fn logged_out_callers_get_unauthorized(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.call(&browser_client(), "templates/list", &[]).await;
    assert_eq!(res.status(), 401);
}

#[sqlx::test]
async fn the_cached_list_is_dropped_on_every_write_and_rebuilt_after_a_flush(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = user(&app, "cache@example.com").await;
    let user_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let key = format!("{}templates:{user_id}", app.prefix);
    let cached = || async { app.redis.exists::<i64, _>(&key).await.unwrap() == 1 };

    assert_eq!(list(&app, &c).await.len(), 0);
    assert!(cached().await, "the list is not cached after a read");

    let id = create(&app, &c, "One").await;
    assert!(!cached().await, "create did not drop the cache");
    assert_eq!(list(&app, &c).await.len(), 1);
    assert!(cached().await);

    save(&app, &c, &id, "Renamed", "s", "b").await;
    assert!(!cached().await, "update did not drop the cache");
    assert_eq!(list(&app, &c).await[0]["name"], "Renamed");

    app.call(&c, "templates/duplicate", &[("id", &id)]).await;
    assert!(!cached().await, "duplicate did not drop the cache");
    assert_eq!(list(&app, &c).await.len(), 2);

    app.call(&c, "templates/delete", &[("id", &id)]).await;
    assert!(!cached().await, "delete did not drop the cache");
    assert_eq!(list(&app, &c).await.len(), 1);

    // Flush everything this app keeps in Redis (its own prefix only, so other tests
    // are untouched). The session goes too, so log in again.
    for k in app.redis_keys().await {
        let _: i64 = app.redis.del(k).await.unwrap();
    }
    assert_eq!(app.call(&c, "templates/list", &[]).await.status(), 401);
    assert_eq!(
        app.login(&c, "cache@example.com", "a long password")
            .await
            .status(),
        200
    );
    let rows = list(&app, &c).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "Copy of Renamed");
}

#[sqlx::test]
async fn a_template_that_does_not_parse_is_not_saved_and_says_where(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = user(&app, "syntax@example.com").await;
    let res = save(
        &app,
        &c,
        "",
        "Broken",
        "Hi",
        "Line one\nDear {{ first_name ,",
    )
    .await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let error = &body["Invalid"]["errors"][0];
    assert_eq!(error["field"], "body");
    assert!(
        error["message"].as_str().unwrap().contains("line 2"),
        "{error}"
    );
    assert_eq!(list(&app, &c).await.len(), 0);
}

#[sqlx::test]
async fn placeholders_inside_links_are_refused_and_html_is_sanitised(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = user(&app, "links@example.com").await;
    let res = save(&app, &c, "", "Link", "Hi", "Visit [us]({{ url }})").await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("not inside a link address")
    );

    let res = save(
        &app,
        &c,
        "",
        "Script",
        "Hi",
        "Hello<script>alert(1)</script> <img src=x onerror=alert(1)>",
    )
    .await;
    assert_eq!(res.status(), 200);
    let html: String = sqlx::query_scalar("SELECT body_html FROM templates")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        !html.contains("script") && !html.contains("onerror"),
        "{html}"
    );
}

#[sqlx::test]
async fn names_are_unique_per_user_and_subjects_are_one_line(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = user(&app, "names@example.com").await;
    create(&app, &c, "Intro").await;
    let res = save(&app, &c, "", "intro", "x", "y").await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("You already have a template called")
    );
    let res = save(&app, &c, "", "Other", "Hi\r\nBcc: x@example.com", "y").await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["Invalid"]["errors"][0]["field"], "subject");

    // Another user may use the same name.
    let other = user(&app, "other@example.com").await;
    create(&app, &other, "Intro").await;
}

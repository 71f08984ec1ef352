use crate::helpers::{TestApp, page_text, spawn_app};
use reqwest::Client;
use reqwest::header::LOCATION;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use sqlx::PgPool;

pub(crate) const CSV: &str = "Email,First Name,Company\n\
ada@example.com,Ada,ACME\n\
not-an-address,Bob,Widgets\n\
carol@example.com,Carol,\n\
ada@EXAMPLE.com,Ada twice,ACME\n\
dan@example.com,Dan,Initech\n";

async fn user(app: &TestApp, email: &str) -> Client {
    app.new_user("Merger", email).await
}

pub(crate) async fn template(app: &TestApp, c: &Client) -> String {
    let res = app
        .call(
            c,
            "templates/save",
            &[
                ("id", ""),
                ("name", "Intro"),
                ("subject", "Hi {{ first_name }}"),
                (
                    "body",
                    "Hello {{ first_name }} at {{ company | default(\"your company\") }} & co",
                ),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json::<String>().await.unwrap()
}

/// Uploads like the browser's plain multipart form; returns the redirect target.
pub(crate) async fn upload(app: &TestApp, c: &Client, form: Form) -> String {
    let res = app.post_multipart(c, "/api/merge/upload", form).await;
    assert_eq!(res.status(), 302);
    res.headers()[LOCATION].to_str().unwrap().to_string()
}

pub(crate) fn file(csv: &str) -> Form {
    Form::new()
        .part(
            "csv_file",
            Part::bytes(csv.as_bytes().to_vec())
                .file_name("people.csv")
                .mime_str("text/csv")
                .unwrap(),
        )
        .text("csv_text", "")
}

/// Queues the import's ready rows as the report page's form does.
pub(crate) async fn queue(
    app: &TestApp,
    c: &Client,
    import_id: &str,
    template_id: &str,
    when: &str,
    send_at: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("import_id", import_id),
        ("template_id", template_id),
        ("email_column", "email"),
        ("when", when),
        ("send_at", send_at),
    ];
    form.extend_from_slice(extra);
    app.queue_merge(c, &form).await
}

pub(crate) async fn report(app: &TestApp, c: &Client, import: &str, template: &str) -> Value {
    let res = app
        .call(
            c,
            "merge/report",
            &[("import_id", import), ("template_id", template)],
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[sqlx::test]
async fn a_csv_of_three_good_and_two_bad_rows_reports_them_and_queues_exactly_three(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = user(&app, "merge@example.com").await;
    let template_id = template(&app, &c).await;
    let target = upload(&app, &c, file(CSV)).await;
    let import_id = target
        .strip_prefix("/merge/")
        .expect("goes to the report")
        .to_string();

    let r = report(&app, &c, &import_id, &template_id).await;
    assert_eq!(r["file_name"], "people.csv");
    assert_eq!(r["email_column"], "email");
    assert_eq!(r["ready"], 3);
    let bad: Vec<(u64, String)> = r["bad"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["line"].as_u64().unwrap(),
                b["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        bad,
        [
            (
                3,
                "\"not-an-address\" is not a valid email address.".to_string()
            ),
            (
                5,
                "ada@example.com appears more than once; it is kept once, at its first row."
                    .to_string()
            ),
        ]
    );
    // The preview is the first ready row, exactly as it will be sent.
    assert_eq!(r["preview"]["to"], "ada@example.com");
    assert_eq!(r["preview"]["subject"], "Hi Ada");
    assert_eq!(r["preview"]["html"], "<p>Hello Ada at ACME &amp; co</p>\n");
    assert_eq!(r["preview"]["text"], "Hello Ada at ACME & co\n");
    // …and any other row on request.
    let res = app
        .call(
            &c,
            "merge/report",
            &[
                ("import_id", &import_id),
                ("template_id", &template_id),
                ("line", "4"),
            ],
        )
        .await;
    let other: Value = res.json().await.unwrap();
    assert_eq!(
        other["preview"]["html"],
        "<p>Hello Carol at your company &amp; co</p>\n"
    );

    let res = queue(
        &app,
        &c,
        &import_id,
        &template_id,
        "now",
        "",
        &[("cc", "boss@example.com")],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[LOCATION], "/queue?queued=3");

    let rows: Vec<(Vec<String>, Vec<String>, String, String)> =
        sqlx::query_as("SELECT to_addrs, cc_addrs, subject, status FROM emails ORDER BY to_addrs")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            (
                vec!["ada@example.com".to_string()],
                vec!["boss@example.com".to_string()],
                "Hi Ada".to_string(),
                "queued".to_string()
            ),
            (
                vec!["carol@example.com".to_string()],
                vec!["boss@example.com".to_string()],
                "Hi Carol".to_string(),
                "queued".to_string()
            ),
            (
                vec!["dan@example.com".to_string()],
                vec!["boss@example.com".to_string()],
                "Hi Dan".to_string(),
                "queued".to_string()
            ),
        ]
    );

    let page: Value = app.call(&c, "queue/list", &[]).await.json().await.unwrap();
    assert_eq!(page["total"], 3);
    assert!(page["rows"][0]["when"].as_str().unwrap().ends_with(", UTC"));
}

#[sqlx::test]
async fn pasted_text_works_and_bad_input_is_explained_on_the_upload_page(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = user(&app, "paste@example.com").await;
    let target = upload(
        &app,
        &c,
        Form::new().text("csv_text", "email;name\nx@example.com;X\n"),
    )
    .await;
    assert!(target.starts_with("/merge/"), "{target}");

    let target = upload(&app, &c, Form::new().text("csv_text", "  ")).await;
    assert!(target.starts_with("/merge?error="), "{target}");
    let html = c
        .get(app.url(&target))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page_text(&html).contains("Choose a CSV file, or paste your recipients."));

    let big = format!("email\n{}", "someone@example.com\n".repeat(300_000));
    let target = upload(&app, &c, file(&big)).await;
    let html = c
        .get(app.url(&target))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page_text(&html).contains("The file is larger than 5 MB"),
        "{}",
        page_text(&html)
    );

    let target = upload(&app, &c, file("Email,email\na,b\n")).await;
    let html = c
        .get(app.url(&target))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page_text(&html).contains("Two columns are both called"));
    let imports: i64 = sqlx::query_scalar("SELECT count(*) FROM merge_imports")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(imports, 1, "only the good upload is kept");
}

#[sqlx::test]
async fn queueing_checks_cc_and_the_schedule_and_queues_nothing_on_error(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = user(&app, "checks@example.com").await;
    let template_id = template(&app, &c).await;
    let import_id = upload(&app, &c, file(CSV)).await.replace("/merge/", "");
    let res = queue(
        &app,
        &c,
        &import_id,
        &template_id,
        "later",
        "2020-01-01T09:00",
        &[("cc", "ok@example.com, nope")],
    )
    .await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["Invalid"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["cc", "send_at"]);
    let emails: i64 = sqlx::query_scalar("SELECT count(*) FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(emails, 0);

    let res = queue(
        &app,
        &c,
        &import_id,
        &template_id,
        "later",
        "2099-06-01T09:30",
        &[],
    )
    .await;
    assert_eq!(res.status(), 200);
    let when: time::OffsetDateTime = sqlx::query_scalar("SELECT send_at FROM emails LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(when.unix_timestamp(), 4_083_989_400); // 2099-06-01 09:30 UTC
}

#[sqlx::test]
async fn another_users_import_and_queue_are_not_found(pool: PgPool) {
    let app = spawn_app(pool).await;
    let owner = user(&app, "owner@example.com").await;
    let template_id = template(&app, &owner).await;
    let import_id = upload(&app, &owner, file(CSV)).await.replace("/merge/", "");
    queue(&app, &owner, &import_id, &template_id, "now", "", &[]).await;

    let intruder = user(&app, "intruder@example.com").await;
    let res = app
        .call(&intruder, "merge/report", &[("import_id", &import_id)])
        .await;
    assert_eq!(res.status(), 404);
    let res = queue(&app, &intruder, &import_id, &template_id, "now", "", &[]).await;
    assert_eq!(res.status(), 404);
    let page: Value = app
        .call(&intruder, "queue/list", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 0);

    let ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM emails")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let id = ids[0].to_string();
    let res = app
        .call(
            &intruder,
            "queue/update",
            &[("action", "delete"), ("ids[0]", &id)],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<u64>().await.unwrap(),
        0,
        "touched another user's mail"
    );
    let res = app
        .call(
            &intruder,
            "queue/update",
            &[("action", "delete"), ("all_matching", "on")],
        )
        .await;
    assert_eq!(res.json::<u64>().await.unwrap(), 0);
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM emails WHERE status = 'queued'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(queued, 3);
}

#[sqlx::test]
async fn the_queue_pages_counts_all_and_deletes_or_reschedules_a_selection(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = user(&app, "queue@example.com").await;
    let template_id = template(&app, &c).await;
    let mut csv = String::from("email,first_name\n");
    for i in 0..120 {
        csv.push_str(&format!("person{i}@example.com,P{i}\n"));
    }
    let import_id = upload(&app, &c, file(&csv)).await.replace("/merge/", "");
    let res = queue(&app, &c, &import_id, &template_id, "now", "", &[]).await;
    assert_eq!(res.json::<u64>().await.unwrap(), 120);

    let page: Value = app
        .call(&c, "queue/list", &[("at", "at=end")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            page["total"].as_i64(),
            page["rows"].as_array().unwrap().len(),
            page["paging"]["after"].as_str()
        ),
        (Some(120), 50, None)
    );

    let first: Value = app.call(&c, "queue/list", &[]).await.json().await.unwrap();
    let a = first["rows"][0]["id"].as_str().unwrap().to_string();
    let b = first["rows"][1]["id"].as_str().unwrap().to_string();
    let res = app
        .call(
            &c,
            "queue/update",
            &[("action", "delete"), ("ids[0]", &a), ("ids[1]", &b)],
        )
        .await;
    assert_eq!(res.json::<u64>().await.unwrap(), 2);

    let res = app
        .call(
            &c,
            "queue/update",
            &[
                ("action", "reschedule"),
                ("all_matching", "on"),
                ("send_at", "2099-01-02T03:04"),
            ],
        )
        .await;
    assert_eq!(res.json::<u64>().await.unwrap(), 118);
    let res = app
        .call(
            &c,
            "queue/update",
            &[
                ("action", "reschedule"),
                ("ids[0]", &a),
                ("send_at", "nonsense"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = app.call(&c, "queue/update", &[("action", "delete")]).await;
    assert_eq!(res.status(), 422);

    let (queued, cancelled): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE status = 'cancelled') FROM emails",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((queued, cancelled), (118, 2));
    let page = c
        .get(app.url("/queue"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let text = page_text(&page);
    assert!(text.contains("118 queued messages"), "{text}");
    assert!(text.contains("Fri 2 Jan 2099, 3:04 AM, UTC"), "{text}");
    assert!(text.contains("Later") && !text.contains("Sooner"), "{text}");
}

#[sqlx::test]
async fn a_merged_message_reopens_in_write_email_with_its_rows_values(pool: PgPool) {
    let app = spawn_app(pool).await;
    let c = user(&app, "edit-merge@example.com").await;
    let template_id = template(&app, &c).await;
    let import_id = upload(&app, &c, file(CSV)).await.replace("/merge/", "");
    queue(&app, &c, &import_id, &template_id, "now", "", &[]).await;
    let id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM emails WHERE to_addrs = ARRAY['dan@example.com']")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let draft: Value = app
        .call(&c, "compose/start", &[("edit", &id.to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(draft["to"], "dan@example.com");
    assert_eq!(draft["subject"], "Hi {{ first_name }}");
    assert_eq!(draft["values"]["first_name"], "Dan");
    assert_eq!(draft["values"]["company"], "Initech");

    // Saving it unchanged gives exactly the message the merge queued.
    let before: (String, String) =
        sqlx::query_as("SELECT body_html, body_text FROM emails WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let res = app
        .queue_message(
            &c,
            &[
                ("id", &id.to_string()),
                ("to", "dan@example.com"),
                ("subject", draft["subject"].as_str().unwrap()),
                ("body", draft["body"].as_str().unwrap()),
                ("values[first_name]", "Dan"),
                ("values[company]", "Initech"),
                ("when", "now"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let after: (String, String) =
        sqlx::query_as("SELECT body_html, body_text FROM emails WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(before, after);
}

//! Files: uploads checked by content, storage on the filesystem and on a real
//! S3-compatible server (moto, started by scripts/test), ownership, outages, and
//! attachments on the messages the fake Gmail receives.

use crate::helpers::{Options, Proxy, TestApp, browser_client, page_text, spawn_app_with};
use futures::StreamExt;
use reqwest::header::{ACCEPT, LOCATION, ORIGIN};
use reqwest::multipart::{Form, Part};
use reqwest::{Client, Response};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Copy, Debug)]
enum Backend {
    Fs,
    S3,
}

/// The S3 server the test command started (moto).
fn s3_endpoint() -> String {
    std::env::var("TEST_S3_ENDPOINT").expect(
        "TEST_S3_ENDPOINT is not set: run the tests with scripts/test, which starts a local S3 server (moto)",
    )
}

fn s3_vars(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("STORAGE", "s3".into()),
        ("S3_ENDPOINT", endpoint.into()),
        (
            "S3_BUCKET",
            format!("mm-test-{}", uuid::Uuid::new_v4().simple()),
        ),
        ("S3_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test-key".into()),
        ("AWS_SECRET_ACCESS_KEY", "test-secret".into()),
    ]
}

async fn files_app(
    pool: PgPool,
    backend: Backend,
    google: bool,
    mut vars: Vec<(&'static str, String)>,
) -> TestApp {
    if let Backend::S3 = backend {
        vars.extend(s3_vars(&s3_endpoint()));
    }
    vars.push(("DELIVERY_PACING", "false".into()));
    let app = spawn_app_with(
        pool,
        Options {
            google,
            vars,
            ..Default::default()
        },
    )
    .await;
    // Creates the test's bucket.
    app.state.storage.check().await.expect("storage answers");
    app
}

/// A small but real PDF, `extra` bytes of stream data long.
pub(crate) fn pdf(extra: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n".to_vec();
    out.extend(std::iter::repeat_n(b'x', extra));
    out.extend_from_slice(b"\ntrailer <</Root 1 0 R>>\n%%EOF\n");
    out
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Posts the upload form as a browser without wasm does.
pub(crate) async fn upload(
    app: &TestApp,
    client: &Client,
    kind: &str,
    name: &str,
    bytes: Vec<u8>,
    mime: &str,
) -> Response {
    let form = Form::new().text("kind", kind.to_string()).part(
        "file",
        Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str(mime)
            .unwrap(),
    );
    app.post_multipart(client, "/api/files/upload", form).await
}

/// Where a form post sent the browser, decoded.
fn location(res: &Response) -> String {
    let raw = res
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no redirect: {}", res.status()))
        .to_str()
        .unwrap();
    let Some((path, query)) = raw.split_once('?') else {
        return raw.to_string();
    };
    let query = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!("{path}?{query}")
}

async fn user(app: &TestApp, email: &str) -> Client {
    app.new_user("Ada Lovelace", email).await
}

async fn file_rows(app: &TestApp) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT kind, name, storage_key FROM files ORDER BY kind, name")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

async fn id_of(app: &TestApp, name: &str) -> uuid::Uuid {
    sqlx::query_scalar("SELECT id FROM files WHERE name = $1")
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn stored(app: &TestApp, key: &str) -> Option<Vec<u8>> {
    match app.state.storage.read(key, 100 << 20).await {
        Ok(bytes) => Some(bytes.to_vec()),
        Err(mailmerger::storage::StorageError::NotFound) => None,
        Err(e) => panic!("storage: {e}"),
    }
}

async fn upload_download_replace_delete(pool: PgPool, backend: Backend) {
    let app = files_app(pool, backend, false, vec![]).await;
    let c = user(&app, "ada@example.com").await;
    let resume = pdf(300_000);

    let res = upload(
        &app,
        &c,
        "resume",
        "C:\\Users\\ada\\CV 2026.pdf",
        resume.clone(),
        "application/pdf",
    )
    .await;
    assert_eq!(res.status(), 302);
    assert_eq!(location(&res), "/files?saved=resume:CV 2026.pdf");
    let rows = file_rows(&app).await;
    assert_eq!(rows.len(), 1);
    let (kind, name, key) = rows[0].clone();
    assert_eq!((kind.as_str(), name.as_str()), ("resume", "CV 2026.pdf"));
    assert!(
        !key.contains("CV"),
        "the key comes from the server, not the name: {key}"
    );
    assert_eq!(stored(&app, &key).await.as_deref(), Some(&resume[..]));

    let page = app.page(&c, "/files?saved=resume:CV%202026.pdf").await;
    assert!(page.contains("Saved your resume “CV 2026.pdf”."), "{page}");
    let size = mailmerger::files::format_size(resume.len() as u64);
    assert!(page.contains(&format!("CV 2026.pdf · {size}")), "{page}");
    assert!(page.contains("Replace resume"), "{page}");

    // Download: the same bytes, as an attachment with its name.
    let id = id_of(&app, "CV 2026.pdf").await;
    let res = c
        .get(app.url(&format!("/files/{id}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        res.headers()["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''CV%202026.pdf")
    );
    assert_eq!(sha256(&res.bytes().await.unwrap()), sha256(&resume));

    // An attachment beside it, then a new resume in place of the old one.
    let res = upload(
        &app,
        &c,
        "attachment",
        "portfolio.png",
        PNG.to_vec(),
        "image/png",
    )
    .await;
    assert_eq!(location(&res), "/files?saved=attachment:portfolio.png");
    let newer = pdf(1_000);
    let res = upload(
        &app,
        &c,
        "resume",
        "resume-v2.pdf",
        newer.clone(),
        "application/pdf",
    )
    .await;
    assert_eq!(location(&res), "/files?replaced=resume:resume-v2.pdf");
    assert_eq!(
        id_of(&app, "resume-v2.pdf").await,
        id,
        "replacing keeps the file's id"
    );
    assert_eq!(stored(&app, &key).await, None, "the old object is deleted");
    let rows = file_rows(&app).await;
    assert_eq!(rows.len(), 2);
    let new_key = rows.iter().find(|r| r.0 == "resume").unwrap().2.clone();
    assert_eq!(stored(&app, &new_key).await.as_deref(), Some(&newer[..]));
    let page = app.page(&c, "/files").await;
    assert!(
        page.contains("resume-v2.pdf") && page.contains("portfolio.png"),
        "{page}"
    );

    // Delete: the row and the object go.
    let res = app
        .post_form(&c, "files/delete", "/files", &[("id", &id.to_string())])
        .await;
    assert_eq!(location(&res), "/files?deleted=resume-v2.pdf");
    assert_eq!(stored(&app, &new_key).await, None);
    assert_eq!(file_rows(&app).await.len(), 1);
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM storage_deletions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(pending, 0);
    let res = c
        .get(app.url(&format!("/files/{id}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[sqlx::test]
async fn upload_download_replace_and_delete_on_the_filesystem(pool: PgPool) {
    upload_download_replace_delete(pool, Backend::Fs).await;
}

#[sqlx::test]
async fn upload_download_replace_and_delete_on_s3(pool: PgPool) {
    upload_download_replace_delete(pool, Backend::S3).await;
}

async fn refusals(pool: PgPool, backend: Backend) {
    let app = files_app(pool, backend, false, vec![]).await;
    let c = user(&app, "ada@example.com").await;
    // A PNG named like a PDF.
    let res = upload(
        &app,
        &c,
        "resume",
        "resume.pdf",
        PNG.to_vec(),
        "application/pdf",
    )
    .await;
    let to = location(&res);
    assert!(to.contains("for=resume"), "{to}");
    assert!(
        to.contains("“resume.pdf” is not a PDF: its content is a PNG image."),
        "{to}"
    );
    // A Word document is a fine attachment but not a resume; an executable is neither.
    let res = upload(
        &app,
        &c,
        "attachment",
        "tool.exe",
        b"MZ\x90\0\x03\0\0\0".to_vec(),
        "application/octet-stream",
    )
    .await;
    assert!(location(&res).contains("not a type of file MailMerger can attach"));
    let res = upload(
        &app,
        &c,
        "cover_letter",
        "letter.pdf",
        Vec::new(),
        "application/pdf",
    )
    .await;
    assert!(location(&res).contains("“letter.pdf” is empty."));
    assert!(file_rows(&app).await.is_empty());
    // The message shows next to the resume's field.
    let page = app
        .page(
            &c,
            "/files?error=%E2%80%9Cresume.pdf%E2%80%9D+is+not+a+PDF.&for=resume",
        )
        .await;
    assert!(page.contains("Resume (PDF)"), "{page}");
    assert!(page.contains("“resume.pdf” is not a PDF."), "{page}");
}

#[sqlx::test]
async fn files_that_are_not_what_they_claim_are_refused_on_the_filesystem(pool: PgPool) {
    refusals(pool, Backend::Fs).await;
}

#[sqlx::test]
async fn files_that_are_not_what_they_claim_are_refused_on_s3(pool: PgPool) {
    refusals(pool, Backend::S3).await;
}

/// A body that counts how much of it the server pulled.
fn counted_stream(total: u64, pulled: Arc<AtomicU64>) -> reqwest::Body {
    let chunk = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
    let mut first = pdf(0);
    first.truncate(9);
    let chunks = (total / chunk.len() as u64) as usize;
    let stream = futures::stream::iter(
        std::iter::once(bytes::Bytes::from(first)).chain(std::iter::repeat_n(chunk, chunks)),
    )
    .map(move |c| {
        pulled.fetch_add(c.len() as u64, Ordering::SeqCst);
        Ok::<_, std::io::Error>(c)
    });
    reqwest::Body::wrap_stream(stream)
}

#[sqlx::test]
async fn an_oversized_file_is_refused_before_it_is_read_to_the_end(pool: PgPool) {
    let app = files_app(
        pool,
        Backend::Fs,
        false,
        vec![("UPLOAD_MAX_MB", "1".into())],
    )
    .await;
    let c = user(&app, "ada@example.com").await;
    let total: u64 = 40 << 20;

    // Streamed without a length: counted while it arrives.
    let pulled = Arc::new(AtomicU64::new(0));
    let form = Form::new().text("kind", "resume").part(
        "file",
        Part::stream(counted_stream(total, pulled.clone()))
            .file_name("huge.pdf")
            .mime_str("application/pdf")
            .unwrap(),
    );
    let res = c
        .post(app.url("/api/files/upload"))
        .header(ORIGIN, &app.base)
        .header(ACCEPT, "text/html")
        .multipart(form)
        .send()
        .await;
    // The server answers (or closes) long before 40 MB went through.
    if let Ok(res) = res {
        let to = location(&res);
        assert!(to.contains("larger than 1 MB"), "{to}");
        assert!(to.contains("for=resume"), "{to}");
    }
    let read = pulled.load(Ordering::SeqCst);
    assert!(read < total / 4, "the server read {read} of {total} bytes");

    // Declared too large: refused before a byte of the file is read.
    let pulled = Arc::new(AtomicU64::new(0));
    let res = c
        .post(app.url("/api/files/upload"))
        .header(ORIGIN, &app.base)
        .header(ACCEPT, "text/html")
        .header("content-type", "multipart/form-data; boundary=x")
        .header("content-length", total.to_string())
        .body(counted_stream(total, pulled.clone()))
        .send()
        .await;
    if let Ok(res) = res {
        assert!(location(&res).contains("larger than 1 MB"));
    }
    let read = pulled.load(Ordering::SeqCst);
    assert!(read < total / 4, "the server read {read} of {total} bytes");
    assert!(file_rows(&app).await.is_empty());

    // A browser's upload a little over the limit: read to the end and thrown away,
    // so that the browser gets the answer rather than a reset connection.
    let res = upload(
        &app,
        &c,
        "resume",
        "big.pdf",
        pdf(1_500_000),
        "application/pdf",
    )
    .await;
    let to = location(&res);
    assert!(
        to.contains("larger than 1 MB") && to.contains("for=resume"),
        "{to}"
    );
    assert!(file_rows(&app).await.is_empty());

    // Just under the limit is fine.
    let res = upload(
        &app,
        &c,
        "resume",
        "ok.pdf",
        pdf(1_000_000),
        "application/pdf",
    )
    .await;
    assert_eq!(location(&res), "/files?saved=resume:ok.pdf");
}

#[sqlx::test]
async fn another_users_file_is_not_found_anywhere(pool: PgPool) {
    let app = files_app(pool, Backend::Fs, false, vec![]).await;
    let owner = user(&app, "ada@example.com").await;
    let other = user(&app, "eve@example.com").await;
    upload(&app, &owner, "resume", "cv.pdf", pdf(10), "application/pdf").await;
    let id = id_of(&app, "cv.pdf").await.to_string();

    let res = other
        .get(app.url(&format!("/files/{id}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app.call(&other, "files/delete", &[("id", &id)]).await;
    assert_eq!(res.status(), 404);
    let res = app
        .queue_message(
            &other,
            &[
                ("to", "grace@example.com"),
                ("subject", "Hi"),
                ("body", "Hello"),
                ("attach[0]", &id),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("no longer exists"));
    assert!(!app.page(&other, "/files").await.contains("cv.pdf"));
    let logged_out = browser_client()
        .get(app.url(&format!("/files/{id}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(logged_out.status(), 303);
    assert_eq!(file_rows(&app).await.len(), 1);
}

#[sqlx::test]
async fn s3_down_gives_a_clear_error_and_leaves_no_row(pool: PgPool) {
    let mut proxy = Proxy::start(s3_endpoint().trim_start_matches("http://")).await;
    let mut vars = s3_vars(&format!("http://{}", proxy.addr));
    vars.push(("DELIVERY_PACING", "false".into()));
    let app = spawn_app_with(
        pool,
        Options {
            vars,
            ..Default::default()
        },
    )
    .await;
    app.state.storage.check().await.unwrap();
    let c = user(&app, "ada@example.com").await;

    proxy.stop();
    let res = upload(&app, &c, "resume", "cv.pdf", pdf(10), "application/pdf").await;
    let to = location(&res);
    assert!(
        to.contains("File storage is not answering, so “cv.pdf” was not saved."),
        "{to}"
    );
    assert!(
        file_rows(&app).await.is_empty(),
        "no row without its object"
    );

    // Back up: the upload works; a delete while it is down is finished later.
    proxy.restart().await;
    upload(&app, &c, "resume", "cv.pdf", pdf(10), "application/pdf").await;
    let (_, _, key) = file_rows(&app).await.remove(0);
    let id = id_of(&app, "cv.pdf").await.to_string();
    proxy.stop();
    let res = app
        .post_form(&c, "files/delete", "/files", &[("id", &id)])
        .await;
    assert_eq!(location(&res), "/files?deleted=cv.pdf&pending=1");
    let page = app.page(&c, "/files").await;
    assert!(
        page.contains("still waiting to be removed from file storage"),
        "{page}"
    );
    proxy.restart().await;
    assert_eq!(
        stored(&app, &key).await.map(|b| b.len()),
        Some(pdf(10).len())
    );
    app.exec("UPDATE storage_deletions SET next_attempt_at = now()")
        .await;
    let removed = mailmerger::files::ssr::repo::sweep(&app.state)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(stored(&app, &key).await, None);
    assert!(!app.page(&c, "/files").await.contains("still waiting"));
}

async fn resume_reaches_gmail(pool: PgPool, backend: Backend) {
    let app = files_app(pool, backend, true, vec![]).await;
    let c = app.gmail_user("ada@gmail.test").await;
    // Large enough for Gmail's upload endpoint.
    let resume = pdf(1_200_000);
    upload(
        &app,
        &c,
        "resume",
        "Ada Lovelace CV.pdf",
        resume.clone(),
        "application/pdf",
    )
    .await;
    upload(
        &app,
        &c,
        "attachment",
        "notes.txt",
        "Zoë's notes\n".as_bytes().to_vec(),
        "text/plain",
    )
    .await;
    let resume_id = id_of(&app, "Ada Lovelace CV.pdf").await.to_string();
    let notes_id = id_of(&app, "notes.txt").await.to_string();
    let compose = app.page(&c, "/compose").await;
    let size = mailmerger::files::format_size(resume.len() as u64);
    assert!(
        compose.contains(&format!("Include resume (Ada Lovelace CV.pdf, {size})")),
        "{compose}"
    );
    let res = app
        .queue_message(
            &c,
            &[
                ("to", "grace@example.com"),
                ("subject", "My application"),
                ("body", "Please find my CV attached."),
                ("attach[0]", &resume_id),
                ("attach[1]", &notes_id),
                ("send", "now"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert!(
        app.page(&c, "/files")
            .await
            .contains("attached to 1 queued message(s)")
    );
    let report = app.deliverer().run_once().await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    let received = app.fake().received(Some("ada@gmail.test"));
    assert_eq!(received.len(), 1);
    let m = &received[0];
    assert_eq!(m.endpoint, "upload");
    assert_eq!(m.content_type().as_deref(), Some("multipart/mixed"));
    assert_eq!(m.text().unwrap().trim(), "Please find my CV attached.");
    let files = m.attachments();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(files[0].filename, "Ada Lovelace CV.pdf");
    assert_eq!(files[0].content_type, "application/pdf");
    assert_eq!(files[0].sha256, sha256(&resume));
    assert_eq!(files[1].filename, "notes.txt");
    assert_eq!(files[1].sha256, sha256("Zoë's notes\n".as_bytes()));
}

#[sqlx::test]
async fn the_resume_reaches_gmail_byte_for_byte_from_the_filesystem(pool: PgPool) {
    resume_reaches_gmail(pool, Backend::Fs).await;
}

#[sqlx::test]
async fn the_resume_reaches_gmail_byte_for_byte_from_s3(pool: PgPool) {
    resume_reaches_gmail(pool, Backend::S3).await;
}

#[sqlx::test]
async fn a_file_deleted_after_queueing_fails_the_message_naming_it(pool: PgPool) {
    let app = files_app(pool, Backend::Fs, true, vec![]).await;
    let c = app.gmail_user("ada@gmail.test").await;
    upload(
        &app,
        &c,
        "cover_letter",
        "letter.pdf",
        pdf(100),
        "application/pdf",
    )
    .await;
    let id = id_of(&app, "letter.pdf").await.to_string();
    app.queue_message(
        &c,
        &[
            ("to", "grace@example.com"),
            ("subject", "Hello"),
            ("body", "Hi"),
            ("attach[0]", &id),
        ],
    )
    .await;
    app.post_form(&c, "files/delete", "/files", &[("id", &id)])
        .await;
    let report = app.deliverer().run_once().await.unwrap();
    assert_eq!((report.claimed, report.failed), (1, 1));
    assert!(
        app.fake().received(None).is_empty(),
        "never sent without its file"
    );
    let error: String = sqlx::query_scalar("SELECT last_error FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        error.contains("The attachment “letter.pdf” was deleted after this message was queued"),
        "{error}"
    );
    let sent = app.page(&c, "/sent?filter=failed").await;
    assert!(sent.contains("“letter.pdf” was deleted"), "{sent}");
    // Retrying cannot bring the file back: it says so, and the message stays failed.
    let email: uuid::Uuid = sqlx::query_scalar("SELECT id FROM emails")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let res = app
        .call(&c, "sent/resolve", &[("action", &format!("retry:{email}"))])
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("cannot be sent again"));
    assert_eq!(app.statuses().await, ["failed"]);
}

#[sqlx::test]
async fn a_csv_column_attaches_each_rows_file(pool: PgPool) {
    let app = files_app(pool, Backend::Fs, true, vec![]).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let portfolio = pdf(5_000);
    upload(&app, &c, "resume", "cv.pdf", pdf(50), "application/pdf").await;
    upload(
        &app,
        &c,
        "attachment",
        "Portfolio.pdf",
        portfolio.clone(),
        "application/pdf",
    )
    .await;
    let resume_id = id_of(&app, "cv.pdf").await.to_string();
    let res = app
        .call(
            &c,
            "templates/save",
            &[
                ("id", ""),
                ("name", "Intro"),
                ("subject", "Hi {{ name }}"),
                ("body", "Hello {{ name }}."),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let template: uuid::Uuid = sqlx::query_scalar("SELECT id FROM templates")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let csv = "email,name,attachment\n\
               grace@example.com,Grace,portfolio.pdf\n\
               alan@example.com,Alan,missing.pdf\n\
               ken@example.com,Ken,\n";
    let import = crate::merge::upload(&app, &c, crate::merge::file(csv)).await;
    let report = page_text(
        &c.get(app.url(&format!(
            "{import}?template_id={template}&attach={resume_id}"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap(),
    );
    assert!(report.contains("2 of 3 rows ready"), "{report}");
    assert!(
        report.contains("No attachment is called “missing.pdf”. Upload it on the Files page, or correct the name."),
        "{report}"
    );
    assert!(
        report.contains("cv.pdf, Portfolio.pdf"),
        "the preview lists the files: {report}"
    );

    let import_id = import.rsplit('/').next().unwrap().to_string();
    let res = app
        .queue_merge(
            &c,
            &[
                ("import_id", &import_id),
                ("template_id", &template.to_string()),
                ("email_column", "email"),
                ("attachment_column", "attachment"),
                ("attach[0]", &resume_id),
                ("when", "now"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let queue = app.page(&c, "/queue").await;
    assert!(
        queue.contains("Hi GraceAttached: cv.pdf, Portfolio.pdf"),
        "{queue}"
    );
    assert!(queue.contains("Hi KenAttached: cv.pdf"), "{queue}");
    // Files are read when sent: a resume replaced now is the one that goes.
    let newer = pdf(70);
    let res = upload(
        &app,
        &c,
        "resume",
        "cv-2026.pdf",
        newer.clone(),
        "application/pdf",
    )
    .await;
    assert_eq!(location(&res), "/files?replaced=resume:cv-2026.pdf");
    assert!(
        app.page(&c, "/queue")
            .await
            .contains("Hi KenAttached: cv-2026.pdf")
    );
    let report = app.deliverer().run_once().await.unwrap();
    assert_eq!(report.sent, 2, "{report:?}");
    let sent = app.page(&c, "/sent").await;
    assert!(
        sent.contains("Attached: cv-2026.pdf, Portfolio.pdf"),
        "{sent}"
    );
    let received = app.fake().received(Some("ada@gmail.test"));
    let names = |to: &str| -> Vec<String> {
        received
            .iter()
            .find(|m| m.to() == vec![to.to_string()])
            .unwrap_or_else(|| panic!("nothing sent to {to}"))
            .attachments()
            .into_iter()
            .map(|a| a.filename)
            .collect()
    };
    assert_eq!(names("grace@example.com"), ["cv-2026.pdf", "Portfolio.pdf"]);
    assert_eq!(names("ken@example.com"), ["cv-2026.pdf"]);
    let grace = received
        .iter()
        .find(|m| m.to() == vec!["grace@example.com".to_string()])
        .unwrap();
    assert_eq!(grace.attachments()[0].sha256, sha256(&newer));
    assert_eq!(grace.attachments()[1].sha256, sha256(&portfolio));
    assert!(
        received
            .iter()
            .all(|m| m.to() != vec!["alan@example.com".to_string()])
    );
}

#[sqlx::test]
async fn large_attachments_wait_their_turn_without_outliving_the_lease(pool: PgPool) {
    // Two messages of 24 MB each cannot be built at once within the memory budget;
    // the second is put back for a moment (its attempt not counted) rather than
    // waiting until its lease runs out.
    let app = files_app(
        pool,
        Backend::Fs,
        true,
        vec![
            ("UPLOAD_MAX_MB", "25".into()),
            ("DELIVERY_LEASE_SECS", "8".into()),
            // The first send takes the fake's 3 s delay and 24 MB of upload:
            // on a loaded machine more than the tests' usual 5 s.
            ("HTTP_TIMEOUT_SECS", "7".into()),
        ],
    )
    .await;
    let c = app.gmail_user("ada@gmail.test").await;
    let big = pdf(24 << 20);
    let res = upload(
        &app,
        &c,
        "attachment",
        "big.pdf",
        big.clone(),
        "application/pdf",
    )
    .await;
    assert_eq!(location(&res), "/files?saved=attachment:big.pdf");
    let id = id_of(&app, "big.pdf").await.to_string();
    for to in ["grace@example.com", "alan@example.com"] {
        let res = app
            .queue_message(
                &c,
                &[
                    ("to", to),
                    ("subject", "Big"),
                    ("body", "Hi"),
                    ("attach[0]", &id),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    app.fake().set_delay(std::time::Duration::from_secs(3));
    let report = app.deliverer().run_once().await.unwrap();
    assert_eq!(
        (report.claimed, report.sent, report.held),
        (2, 1, 1),
        "{report:?}"
    );
    let (status, attempts, error): (String, i32, String) =
        sqlx::query_as("SELECT status, attempts, last_error FROM emails WHERE status <> 'sent'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("queued", 0));
    assert!(error.contains("large attachments"), "{error}");
    app.fake().set_delay(std::time::Duration::ZERO);
    app.advance_clock(5.1).await;
    let report = app.deliverer().run_once().await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    let received = app.fake().received(Some("ada@gmail.test"));
    assert_eq!(received.len(), 2);
    assert!(
        received
            .iter()
            .all(|m| m.attachments()[0].sha256 == sha256(&big))
    );
}

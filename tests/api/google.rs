//! Sign in with Google, Connect Gmail and Disconnect, against the fake Google.

use crate::helpers::{browser_client, consent, page_text, spawn_app_with_google};
use mailmerger::fake_google::AutoConsent;
use reqwest::header::ORIGIN;
use sqlx::PgPool;

async fn app(pool: PgPool) -> crate::helpers::TestApp {
    spawn_app_with_google(pool, Vec::new()).await
}

#[sqlx::test]
async fn the_first_google_sign_in_creates_an_account_and_the_next_logs_into_it(pool: PgPool) {
    let app = app(pool).await;
    let c = browser_client();
    let (res, url) = app
        .google_flow(&c, "/auth/google/login", consent("grace@gmail.test"))
        .await;
    assert!(url.ends_with("/dashboard"), "ended at {url}");
    assert!(page_text(&res.text().await.unwrap()).contains("Ada"));
    let me = app.current_user(&c).await;
    assert_eq!(me["email"], "grace@gmail.test");

    // Sign-in asks for identity only: no refresh token is minted, nothing stored.
    let (scopes, refresh): (Vec<String>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT scopes, refresh_token FROM google_accounts")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(scopes.is_empty() && refresh.is_none());

    let again = browser_client();
    let (_, url) = app
        .google_flow(&again, "/auth/google/login", consent("grace@gmail.test"))
        .await;
    assert!(url.ends_with("/dashboard"));
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[sqlx::test]
async fn google_never_takes_over_a_verified_password_account_with_the_same_email(pool: PgPool) {
    let app = app(pool).await;
    let owner = browser_client();
    app.signup(&owner, "Owner", "ada@gmail.test", "a long password")
        .await;
    app.verify_address(&owner, "ada@gmail.test").await;
    let intruder = browser_client();
    let (res, url) = app
        .google_flow(&intruder, "/auth/google/login", consent("ADA@gmail.test"))
        .await;
    assert!(url.ends_with("/login?google=email_taken"), "ended at {url}");
    let text = page_text(&res.text().await.unwrap());
    assert!(
        text.contains("log in with your password") && text.contains("Settings"),
        "{text}"
    );
    assert_eq!(
        app.call(&intruder, "me", &[]).await.text().await.unwrap(),
        "null"
    );
    // The owner is still logged in, with the password.
    assert_eq!(app.current_user(&owner).await["email"], "ada@gmail.test");
}

#[sqlx::test]
async fn a_denied_consent_comes_back_with_a_message(pool: PgPool) {
    let app = app(pool).await;
    let c = browser_client();
    let deny = AutoConsent {
        deny: true,
        ..consent("x@gmail.test")
    };
    let (res, url) = app.google_flow(&c, "/auth/google/login", deny).await;
    assert!(url.ends_with("/login?google=denied"), "ended at {url}");
    assert!(page_text(&res.text().await.unwrap()).contains("cancelled"));
}

#[sqlx::test]
async fn a_callback_with_a_forged_state_is_refused(pool: PgPool) {
    let app = app(pool).await;
    let c = browser_client();
    // Start a flow so the session holds a state, then answer with another.
    c.post(app.url("/auth/google/login"))
        .header(ORIGIN, &app.base)
        .form(&[("next", "")])
        .send()
        .await
        .unwrap();
    let res = c
        .get(app.url("/auth/google/callback?code=abc&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/login?google=expired");
    assert_eq!(app.call(&c, "me", &[]).await.text().await.unwrap(), "null");
}

#[sqlx::test]
async fn connecting_gmail_stores_encrypted_tokens_and_shows_the_address(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let (access, refresh, status, scopes): (Vec<u8>, Vec<u8>, String, Vec<String>) =
        sqlx::query_as(
            "SELECT access_token, refresh_token, gmail_status, scopes FROM google_accounts",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "connected");
    assert!(scopes.iter().any(|s| s.ends_with("/auth/gmail.send")));
    for token in [&access, &refresh] {
        let lossy = String::from_utf8_lossy(token);
        assert!(
            !lossy.contains("ya29.") && !lossy.contains("refresh-"),
            "a token is stored in plaintext"
        );
    }
    let settings = app.page(&c, "/settings").await;
    assert!(settings.contains("ada@gmail.test"), "{settings}");
    assert!(settings.contains("gmail.send"), "{settings}");
}

#[sqlx::test]
async fn a_consent_without_the_send_scope_is_explained(pool: PgPool) {
    let app = app(pool).await;
    let c = browser_client();
    app.signup(&c, "Ada", "ada@example.com", "a long password")
        .await;
    let partial = AutoConsent {
        scopes: Some(vec!["openid".into(), "email".into(), "profile".into()]),
        ..consent("ada@gmail.test")
    };
    let (res, url) = app.google_flow(&c, "/auth/google/connect", partial).await;
    assert!(
        url.ends_with("/settings?gmail=missing_scope"),
        "ended at {url}"
    );
    let text = page_text(&res.text().await.unwrap());
    assert!(text.contains("Send email on your behalf"), "{text}");
    let status: String = sqlx::query_scalar("SELECT gmail_status FROM google_accounts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "none");
}

#[sqlx::test]
async fn disconnect_revokes_at_google_and_forgets_the_tokens(pool: PgPool) {
    let app = app(pool).await;
    let c = app.gmail_user("ada@gmail.test").await;
    let res = app
        .post_form(&c, "settings/disconnect", "/settings", &[])
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let (access, refresh, status): (Option<Vec<u8>>, Option<Vec<u8>>, String) =
        sqlx::query_as("SELECT access_token, refresh_token, gmail_status FROM google_accounts")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(access.is_none() && refresh.is_none());
    assert_eq!(status, "none");
    // The refresh token no longer works at Google.
    assert_eq!(app.fake().revoked_count(), 1);
}

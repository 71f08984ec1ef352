use crate::helpers::{Options, Proxy, spawn_app_behind_redis_proxy, spawn_app_with};
use sqlx::PgPool;
use std::time::{Duration, Instant};

#[sqlx::test]
async fn readyz_reports_each_dependency(pool: PgPool) {
    let (app, mut redis) = spawn_app_behind_redis_proxy(pool).await;
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["redis"],
        "ok"
    );

    redis.stop();
    let started = Instant::now();
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "readyz hung");
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["postgres"], "ok");
    assert_eq!(body["redis"], "unavailable");
    assert_eq!(body["error"], "not ready: redis not answering");
}

#[sqlx::test]
async fn while_redis_is_down_pages_answer_503_quickly_and_recover(pool: PgPool) {
    let (app, mut redis) = spawn_app_behind_redis_proxy(pool).await;
    app.signup(&app.client, "Ada", "ada@example.com", "analytical engine")
        .await;

    redis.stop();
    let started = Instant::now();
    let res = app.client.get(app.url("/dashboard")).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(res.status(), 503);
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("temporarily unavailable")
    );

    let res = app
        .login(&app.client, "ada@example.com", "analytical engine")
        .await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.text().await.unwrap(), "\"Unavailable\"");

    redis.restart().await;
    let mut recovered = false;
    for _ in 0..40 {
        let res = app.client.get(app.url("/dashboard")).send().await.unwrap();
        if res.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(recovered, "the app did not recover when Redis came back");
}

#[sqlx::test]
async fn while_postgres_is_down_pages_answer_503_quickly(pool: PgPool) {
    // Point the app at the same test database through a proxy we can stop.
    let options = pool.connect_options();
    let database = options.get_database().unwrap().to_string();
    let mut pg = Proxy::start("127.0.0.1:5432").await;
    let app_pool = mailmerger::server::startup::pool_options()
        .connect_with(
            (*options)
                .clone()
                .host("127.0.0.1")
                .port(pg.addr.port())
                .database(&database),
        )
        .await
        .unwrap();
    let app = spawn_app_with(app_pool, Options::default()).await;
    let res = app
        .signup(&app.client, "Ada", "ada@example.com", "analytical engine")
        .await;
    assert_eq!(res.status(), 200);

    pg.stop();
    let started = Instant::now();
    let res = app.client.get(app.url("/dashboard")).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(res.status(), 503);
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["postgres"],
        "unavailable"
    );
    let res = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200, "the landing page needs neither");
}

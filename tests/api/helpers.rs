use fred::prelude::*;
use leptos::config::LeptosOptions;
use mailmerger::config::Config;
use mailmerger::fake_google::FakeGoogle;
use mailmerger::state::AppState;
use reqwest::header::{ACCEPT, ORIGIN};
use reqwest::multipart::Form;
use reqwest::{Client, Response, redirect};
use sqlx::PgPool;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    /// The fake Google this app talks to, when spawned with one.
    pub google: Option<FakeGoogle>,
    /// The settings the app was started with.
    pub vars: HashMap<String, String>,
    pub pool: PgPool,
    pub redis: Pool,
    pub prefix: String,
    /// A browser-like client: keeps cookies, does not follow redirects.
    pub client: Client,
    _server: AbortOnDrop,
}

struct AbortOnDrop(Vec<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

#[derive(Default)]
pub struct Options {
    pub vars: Vec<(&'static str, String)>,
    /// Connect the app to Redis through this URL instead of the real one.
    pub redis_url: Option<String>,
    /// Start a fake Google and configure the app to use it.
    pub google: bool,
}

pub const GOOGLE_CLIENT_ID: &str = "test-client.apps.googleusercontent.com";
pub const GOOGLE_CLIENT_SECRET: &str = "test-secret";

pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, Options::default()).await
}

pub async fn spawn_app_with(pool: PgPool, options: Options) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let prefix = format!("test-{}:", uuid::Uuid::new_v4().simple());
    let data_dir = std::env::temp_dir().join(format!("mm-test-{}", uuid::Uuid::new_v4()));

    let mut vars: HashMap<String, String> = HashMap::from([
        ("APP_BASE_URL".into(), base.clone()),
        ("REDIS_KEY_PREFIX".into(), prefix.clone()),
        ("DATA_DIR".into(), data_dir.display().to_string()),
        (
            "APP_SECRET_KEY".into(),
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into(),
        ),
        // Tests drive the delivery loop step by step unless they turn it on.
        ("DELIVERY_LOOP".into(), "false".into()),
        ("HTTP_TIMEOUT_SECS".into(), "5".into()),
    ]);
    let google = if options.google {
        let fake = FakeGoogle::new(GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake_base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(fake.clone().serve(listener));
        for (k, v) in mailmerger::fake_google::urls(&fake_base) {
            vars.insert(k.into(), v);
        }
        vars.insert("GOOGLE_CLIENT_ID".into(), GOOGLE_CLIENT_ID.into());
        vars.insert("GOOGLE_CLIENT_SECRET".into(), GOOGLE_CLIENT_SECRET.into());
        Some(fake)
    } else {
        None
    };
    for (k, v) in options.vars {
        vars.insert(k.to_string(), v);
    }
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test config");
    let started_with = vars.clone();
    let redis_url = options.redis_url.unwrap_or_else(|| REDIS_URL.to_string());
    let app_redis = mailmerger::server::startup::connect_redis(&redis_url)
        .await
        .expect("redis for the app");
    let leptos_options = LeptosOptions::builder()
        .output_name("mailmerger")
        .site_root("target/site")
        .site_addr(addr)
        .build();
    let state = AppState::new(config, pool.clone(), app_redis, leptos_options).expect("state");
    let loops = if state.config.delivery.enabled {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        std::mem::forget(stop);
        mailmerger::delivery::spawn(state.clone(), stopped).expect("delivery")
    } else {
        Vec::new()
    };
    let router = mailmerger::server::router(state.clone());
    let server = tokio::spawn(async move {
        let _ = mailmerger::server::serve(listener, router, std::future::pending()).await;
    });

    let redis = mailmerger::server::startup::connect_redis(REDIS_URL)
        .await
        .expect("redis for the test");
    TestApp {
        base,
        state,
        google,
        vars: started_with,
        pool,
        redis,
        prefix,
        client: browser_client(),
        _server: AbortOnDrop(loops.into_iter().chain([server]).collect()),
    }
}

/// An app whose Redis connection goes through a proxy the test can stop.
pub async fn spawn_app_behind_redis_proxy(pool: PgPool) -> (TestApp, Proxy) {
    let proxy = Proxy::start("127.0.0.1:6379").await;
    let app = spawn_app_with(
        pool,
        Options {
            redis_url: Some(format!("redis://{}", proxy.addr)),
            ..Default::default()
        },
    )
    .await;
    (app, proxy)
}

/// A server function called on the server at `base`, as its hydrated page would.
pub async fn call_at(
    base: &str,
    client: &Client,
    function: &str,
    form: &[(&str, &str)],
) -> Response {
    client
        .post(format!("{base}/api/{function}"))
        .header(ORIGIN, base)
        .header(ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .expect("request")
}

/// An app with a fake Google of its own, and `vars` on top.
pub async fn spawn_app_with_google(pool: PgPool, vars: Vec<(&'static str, String)>) -> TestApp {
    spawn_app_with(
        pool,
        Options {
            google: true,
            vars,
            ..Default::default()
        },
    )
    .await
}

/// A browser for an app whose `APP_BASE_URL` is https while the test talks
/// plain http to it: it sends the `Secure` session cookie anyway.
pub fn lax_client() -> Client {
    Client::builder()
        .cookie_provider(Arc::new(LaxJar::default()))
        .redirect(redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Keeps every cookie by name, whatever its attributes say.
#[derive(Default)]
struct LaxJar(std::sync::Mutex<HashMap<String, String>>);

impl reqwest::cookie::CookieStore for LaxJar {
    fn set_cookies(
        &self,
        headers: &mut dyn Iterator<Item = &reqwest::header::HeaderValue>,
        _url: &url::Url,
    ) {
        let mut jar = self.0.lock().unwrap();
        for h in headers {
            let Some(pair) = h.to_str().ok().and_then(|v| v.split(';').next()) else {
                continue;
            };
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    jar.remove(name.trim());
                } else {
                    jar.insert(name.trim().to_string(), value.trim().to_string());
                }
            }
        }
    }

    fn cookies(&self, _url: &url::Url) -> Option<reqwest::header::HeaderValue> {
        let jar = self.0.lock().unwrap();
        let line: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        (!line.is_empty())
            .then(|| line.join("; "))
            .and_then(|l| reqwest::header::HeaderValue::from_str(&l).ok())
    }
}

pub fn browser_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Calls a server function the way the hydrated page does.
    pub async fn call(&self, client: &Client, function: &str, form: &[(&str, &str)]) -> Response {
        client
            .post(self.url(&format!("/api/{function}")))
            .header(ORIGIN, self.origin())
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// The origin our pages have (`APP_BASE_URL`'s), which browsers send.
    pub fn origin(&self) -> String {
        self.state.config.origin()
    }

    /// Queues through Write email's server function (its fields inside `message[…]`).
    pub async fn queue_message(&self, client: &Client, fields: &[(&str, &str)]) -> Response {
        self.call_nested(client, "compose/queue", "message", fields)
            .await
    }

    /// Queues a merge through its server function (its fields inside `merge[…]`).
    pub async fn queue_merge(&self, client: &Client, fields: &[(&str, &str)]) -> Response {
        self.call_nested(client, "merge/queue", "merge", fields)
            .await
    }

    async fn call_nested(
        &self,
        client: &Client,
        function: &str,
        form: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let named = nested(form, fields);
        let named: Vec<(&str, &str)> = named.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        self.call(client, function, &named).await
    }

    /// Posts a form the way a browser without wasm does: it accepts HTML and comes
    /// from `page`, so the server answers with a redirect.
    pub async fn post_form(
        &self,
        client: &Client,
        function: &str,
        page: &str,
        form: &[(&str, &str)],
    ) -> Response {
        client
            .post(self.url(&format!("/api/{function}")))
            .header(ORIGIN, self.origin())
            .header(reqwest::header::REFERER, self.url(page))
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .form(form)
            .send()
            .await
            .expect("request")
    }

    pub async fn signup(
        &self,
        client: &Client,
        name: &str,
        email: &str,
        password: &str,
    ) -> Response {
        self.call(
            client,
            "signup",
            &[("name", name), ("email", email), ("password", password)],
        )
        .await
    }

    /// A new password account, logged in on its own client.
    pub async fn new_user(&self, name: &str, email: &str) -> Client {
        let c = browser_client();
        let res = self.signup(&c, name, email, "a long password").await;
        assert_eq!(res.status(), 200, "sign-up of {email}");
        c
    }

    /// Posts a multipart form as a browser without wasm does (it accepts HTML, so
    /// the server answers with a redirect).
    pub async fn post_multipart(&self, client: &Client, path: &str, form: Form) -> Response {
        client
            .post(self.url(path))
            .header(ORIGIN, self.origin())
            .header(ACCEPT, "text/html")
            .multipart(form)
            .send()
            .await
            .expect("request")
    }

    pub async fn login(&self, client: &Client, email: &str, password: &str) -> Response {
        self.call(
            client,
            "login",
            &[("email", email), ("password", password), ("next", "")],
        )
        .await
    }

    pub async fn current_user(&self, client: &Client) -> serde_json::Value {
        let res = self.call(client, "me", &[]).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// Every Redis key this app wrote.
    pub async fn redis_keys(&self) -> Vec<String> {
        self.redis
            .custom(fred::cmd!("KEYS"), vec![format!("{}*", self.prefix)])
            .await
            .unwrap()
    }
}

/// A TCP forwarder standing in front of Postgres or Redis, so a test can make the
/// dependency vanish and come back while the app runs.
pub struct Proxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    task: Option<JoinHandle<()>>,
    connections: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    pub async fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut proxy = Proxy {
            addr,
            target: target.parse().unwrap(),
            task: None,
            connections: Default::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target;
        let connections = self.connections.clone();
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections.lock().unwrap().push(conn);
            }
        }));
    }

    /// Drops every connection and stops listening: the dependency is "down".
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        for conn in self.connections.lock().unwrap().drain(..) {
            conn.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The text of an HTML page, without tags or hydration markers, with white space
/// folded: what a reader sees, near enough for assertions.
/// A server function's fields as the page names them inside its one struct
/// argument: `to` as `message[to]`, `values[x]` as `message[values][x]`.
pub fn nested<'a>(form: &str, fields: &[(&str, &'a str)]) -> Vec<(String, &'a str)> {
    fields
        .iter()
        .map(|&(k, v)| {
            let name = match k.split_once('[') {
                Some((head, rest)) => format!("{form}[{head}][{rest}"),
                None => format!("{form}[{k}]"),
            };
            (name, v)
        })
        .collect()
}

pub fn page_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Follows redirects (across hosts, e.g. to the fake Google and back) with GETs,
/// keeping the client's cookies, and sending what is addressed to `public` (an
/// https `APP_BASE_URL`) to `local` (the test server) instead. Returns the last
/// response and its URL.
async fn follow_to(
    client: &Client,
    mut res: Response,
    rewrite: Option<(&str, &str)>,
) -> (Response, String) {
    let mut url = res.url().to_string();
    for _ in 0..10 {
        if !res.status().is_redirection() {
            break;
        }
        let location = res.headers()[reqwest::header::LOCATION]
            .to_str()
            .unwrap()
            .to_string();
        url = res.url().join(&location).unwrap().to_string();
        if let Some((public, local)) = rewrite
            && let Some(rest) = url.strip_prefix(public)
        {
            url = format!("{local}{rest}");
        }
        res = client.get(&url).send().await.unwrap();
    }
    (res, url)
}

impl TestApp {
    pub fn fake(&self) -> &FakeGoogle {
        self.google.as_ref().expect("spawned with google: true")
    }

    /// Posts one of the Google buttons' forms and follows the whole dance. The
    /// fake answers the consent screen as `consent` says.
    pub async fn google_flow(
        &self,
        client: &Client,
        button: &str,
        consent: mailmerger::fake_google::AutoConsent,
    ) -> (Response, String) {
        self.fake().set_auto_consent(Some(consent));
        let res = client
            .post(self.url(button))
            .header(ORIGIN, self.origin())
            .form(&[("next", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{button} should redirect to Google");
        let origin = self.origin();
        follow_to(client, res, Some((origin.as_str(), self.base.as_str()))).await
    }

    /// Connects Gmail for the logged-in client, granting everything.
    pub async fn connect_gmail(&self, client: &Client, email: &str) {
        let (_, url) = self
            .google_flow(client, "/auth/google/connect", consent(email))
            .await;
        assert!(url.ends_with("/settings?gmail=connected"), "ended at {url}");
    }

    /// A new password account with Gmail connected.
    pub async fn gmail_user(&self, email: &str) -> Client {
        let c = if self.origin().starts_with("https://") {
            lax_client()
        } else {
            browser_client()
        };
        assert_eq!(
            self.signup(&c, "Ada Lovelace", email, "a long password")
                .await
                .status(),
            200
        );
        self.connect_gmail(&c, email).await;
        c
    }

    /// Queues one message through Write email, now or at `when`.
    pub async fn queue_one(&self, client: &Client, to: &str, subject: &str, when: &str) {
        let res = self
            .queue_message(
                client,
                &[
                    ("to", to),
                    ("subject", subject),
                    ("body", "Hello **there**."),
                    ("when", when),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }

    /// The product's own mail to `to` in the system outbox, oldest first, as
    /// (subject, text). Mail goes in the background: waits up to 5 s for
    /// `at_least` of them.
    pub async fn system_mail_to(&self, to: &str, at_least: usize) -> Vec<(String, String)> {
        let dir = std::path::PathBuf::from(&self.vars["DATA_DIR"]).join("outbox/system");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let mut found: Vec<(std::time::SystemTime, String, String)> = Vec::new();
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let Ok(raw) = std::fs::read(entry.path()) else {
                    continue;
                };
                let Some(m) = mail_parser::MessageParser::default().parse(&raw) else {
                    continue;
                };
                let to_us = m
                    .to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .is_some_and(|a| a.eq_ignore_ascii_case(to));
                if to_us {
                    let when = entry.metadata().and_then(|m| m.modified()).unwrap();
                    found.push((
                        when,
                        m.subject().unwrap_or("").to_string(),
                        m.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
                    ));
                }
            }
            if found.len() >= at_least || std::time::Instant::now() > deadline {
                found.sort_by_key(|f| f.0);
                return found.into_iter().map(|(_, s, t)| (s, t)).collect();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The newest link to `path` (`/verify/`, `/reset/`) mailed to `to`.
    pub async fn mailed_link(&self, to: &str, path: &str) -> String {
        let prefix = format!("{}{path}", self.base);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let mail = self.system_mail_to(to, 1).await;
            let link = mail.iter().rev().find_map(|(_, text)| {
                text.split_whitespace()
                    .find(|w| w.starts_with(&prefix))
                    .map(str::to_string)
            });
            match link {
                Some(l) => return l,
                None if std::time::Instant::now() > deadline => {
                    panic!("no {path} link mailed to {to}: {mail:?}")
                }
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Posts the form of a link's page, as its button does.
    pub async fn follow_link(
        &self,
        client: &Client,
        link: &str,
        form: &[(&str, &str)],
    ) -> Response {
        client
            .post(link)
            .header(ORIGIN, self.origin())
            .header(ACCEPT, "text/html")
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// Follows the verification link mailed to `to`.
    pub async fn verify_address(&self, client: &Client, to: &str) {
        let link = self.mailed_link(to, "/verify/").await;
        let res = self.follow_link(client, &link, &[]).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }

    pub fn deliverer(&self) -> mailmerger::delivery::Deliverer {
        mailmerger::delivery::Deliverer::new(self.state.clone()).unwrap()
    }

    /// The HTML of a page, fetched as `client`.
    pub async fn html(&self, client: &Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The visible text of a page, fetched as `client`.
    pub async fn page(&self, client: &Client, path: &str) -> String {
        page_text(&self.html(client, path).await)
    }

    /// Moves the clock of delivery and pacing forward (`mm_now()`), for every
    /// instance on this database.
    pub async fn advance_clock(&self, seconds: f64) {
        let mut conn = self.pool.acquire().await.unwrap();
        mailmerger::emails::clock::advance(&mut conn, seconds)
            .await
            .unwrap();
    }

    /// Runs one SQL statement against the app's database (test setup).
    pub async fn exec(&self, sql: &str) {
        sqlx::query(sql).execute(&self.pool).await.unwrap();
    }

    /// How many messages have this status.
    pub async fn count(&self, status: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM emails WHERE status = $1")
            .bind(status)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// The status of every message, oldest first.
    pub async fn statuses(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT status FROM emails ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }
}

pub fn consent(email: &str) -> mailmerger::fake_google::AutoConsent {
    mailmerger::fake_google::AutoConsent {
        email: email.into(),
        name: Some("Ada Lovelace".into()),
        scopes: None,
        deny: false,
    }
}

/// `per_user` messages for every user, due now, straight into the table.
pub async fn queue_rows(app: &TestApp, per_user: i32) {
    sqlx::query(
        "INSERT INTO emails (id, user_id, to_addrs, subject, body_html, body_text)
         SELECT gen_random_uuid(), u.id, ARRAY['r' || n || '@example.com'], 'Message ' || n,
                '<p>x</p>', 'x'
         FROM users u, generate_series(1, $1) n",
    )
    .bind(per_user)
    .execute(&app.pool)
    .await
    .unwrap();
}

pub fn database_name(pool: &PgPool) -> String {
    pool.connect_options()
        .get_database()
        .expect("a test database")
        .to_string()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real server process (the `mailmerger` binary), configured like `app` (same
/// database, Redis prefix, fake Google and secret key) with `vars` on top. Killed
/// when dropped; its log is kept in a file for a failing test to show.
pub struct Server {
    pub child: std::process::Child,
    pub base: String,
    pub log: std::path::PathBuf,
}

impl Server {
    pub fn start(app: &TestApp, db: &str, port: u16, vars: &[(&str, &str)]) -> Server {
        let base = format!("http://127.0.0.1:{port}");
        let log = std::env::temp_dir().join(format!("mm-server-{}.log", uuid::Uuid::new_v4()));
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mailmerger"));
        for (k, v) in &app.vars {
            cmd.env(k, v);
        }
        cmd.env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:5432/{db}"),
        )
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("APP_BASE_URL", &base)
        .env("DELIVERY_LOOP", "true")
        .env("RUST_LOG", "warn");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let file = std::fs::File::create(&log).unwrap();
        cmd.stdout(std::process::Stdio::null()).stderr(file);
        let child = cmd.spawn().expect("the server binary");
        Server { child, base, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits until `/healthz` answers.
    pub async fn ready(&self) {
        for _ in 0..300 {
            if let Ok(res) = reqwest::get(self.url("/healthz")).await
                && res.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{} never answered /healthz:\n{}",
            self.base,
            self.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Calls a server function on this instance, as its own pages would.
    pub async fn call(&self, client: &Client, function: &str, form: &[(&str, &str)]) -> Response {
        call_at(&self.base, client, function, form).await
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// What a minimal SMTP server received: envelope recipients and the data.
#[derive(Default, Clone)]
pub struct SmtpLog {
    pub rcpt: Vec<String>,
    pub data: String,
}

/// A tiny SMTP server that accepts everything, for the SMTP transport.
pub async fn smtp_sink() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<SmtpLog>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let shared = log.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = shared.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let mut current = SmtpLog::default();
                write.write_all(b"220 sink ESMTP\r\n").await.ok();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        current
                            .rcpt
                            .push(line[8..].trim().trim_matches(['<', '>']).to_string());
                        b"250 OK\r\n"
                    } else if upper.starts_with("DATA") {
                        write.write_all(b"354 go ahead\r\n").await.ok();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            current.data.push_str(&l);
                            current.data.push('\n');
                        }
                        log.lock().unwrap().push(std::mem::take(&mut current));
                        b"250 queued as 42\r\n"
                    } else if upper.starts_with("QUIT") {
                        write.write_all(b"221 bye\r\n").await.ok();
                        break;
                    } else {
                        b"250 OK\r\n"
                    };
                    write.write_all(reply).await.ok();
                }
            });
        }
    });
    (port, log)
}

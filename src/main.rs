//! config -> state -> migrate -> serve, with a graceful shutdown.

/// mimalloc, not glibc's malloc: a page view allocates and frees thousands of
/// small strings and nodes, and glibc spent a quarter of the server's CPU
/// doing it (docs/operations.md, "Memory").
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() {
    use mailmerger::config::Config;
    use mailmerger::server;

    // A missing .env is normal; a broken one is worth knowing about.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        fail(&format!(".env could not be read: {e}"));
    }
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        healthcheck().await;
    }
    if std::env::args().nth(1).as_deref() == Some("create-user") {
        create_user().await;
    }
    init_tracing();
    // Caught from here on: a SIGTERM during start-up stops the server cleanly once
    // it is up, instead of killing it mid-migration.
    let signal = server::shutdown_signal();

    let config = Config::from_env().unwrap_or_else(|e| fail(&format!("configuration: {e}")));
    if config.secret_key_generated {
        tracing::warn!(
            "APP_SECRET_KEY is not set: using a development key kept in {}/secret.key. \
             Set APP_SECRET_KEY in production.",
            config.data_dir.display()
        );
    }
    let leptos_options = leptos::config::get_configuration(None)
        .unwrap_or_else(|e| fail(&format!("Leptos configuration: {e}")))
        .leptos_options;
    let addr = leptos_options.site_addr;
    let base_url = config.base_url.clone();

    let state = server::startup::build_state(config, leptos_options)
        .await
        .unwrap_or_else(|e| fail(&e));
    // SIGTERM (or Ctrl-C) turns `stop` true: delivery stops claiming at once and
    // hands back what it has not started; HTTP stops accepting and drains.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let grace = state.config.delivery.shutdown_grace;
    let loops = if state.config.delivery.enabled {
        let mut loops = mailmerger::delivery::spawn(state.clone(), stopping.clone())
            .unwrap_or_else(|e| fail(&format!("delivery: {e}")));
        // Stop on reply: reading the mailboxes that asked for it (with Google).
        loops.extend(mailmerger::replies::ssr::reader::spawn(
            state.clone(),
            stopping.clone(),
        ));
        loops
    } else {
        tracing::warn!("DELIVERY_LOOP is off: this instance queues mail but does not send it");
        Vec::new()
    };
    // Housekeeping (storage deletions, expired imports, metrics) runs wherever the server does.
    let sweeper = server::upkeep::spawn(state.clone(), stopping.clone());
    {
        let storage = state.storage.clone();
        // Checked (and the bucket made) until it answers: a store started beside
        // the app, as in compose.yaml, may come up a little later.
        tokio::spawn(async move {
            let mut wait = std::time::Duration::from_secs(2);
            loop {
                match storage.check().await {
                    Ok(()) => {
                        tracing::info!(storage = storage.kind(), "file storage answers");
                        break;
                    }
                    Err(e) => tracing::error!(
                        storage = storage.kind(),
                        error = %e,
                        retry_in_secs = wait.as_secs(),
                        "file storage is not answering: uploads and attachments will fail until it does"
                    ),
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(60));
            }
        });
    }
    let app = server::router(state);

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| fail(&format!("cannot listen on {addr} (LEPTOS_SITE_ADDR): {e}")));
    tracing::info!("MailMerger is listening on http://{addr} (public URL {base_url})");
    let signalled = {
        let stop = stop.clone();
        async move {
            signal.await;
            let _ = stop.send(true);
        }
    };
    let mut serving = tokio::spawn(server::serve(listener, app, signalled));
    let mut stopped = stopping.clone();
    // The server ends on its own only after the signal (a graceful stop with no
    // open connections is quick) or on an error.
    let mut server_done = false;
    tokio::select! {
        result = &mut serving => {
            match result {
                Ok(Ok(())) if *stopping.borrow() => server_done = true,
                Ok(Err(e)) => fail(&format!("server error: {e}")),
                _ => fail("the server stopped unexpectedly"),
            }
        }
        _ = stopped.wait_for(|s| *s) => {}
    }
    // Everything below shares one deadline, inside `docker stop`'s 10 s: sends in
    // flight get `grace`, then the rest is recorded and the process exits.
    let deadline = tokio::time::Instant::now() + grace + std::time::Duration::from_secs(1);
    if tokio::time::timeout_at(deadline, futures::future::join_all(loops))
        .await
        .is_err()
    {
        tracing::warn!(
            "delivery did not finish in time; unfinished rows become uncertain when their lease ends"
        );
    }
    let _ = tokio::time::timeout_at(deadline, sweeper).await;
    if !server_done
        && tokio::time::timeout_at(deadline, &mut serving)
            .await
            .is_err()
    {
        tracing::warn!("requests still open at the deadline were cut off");
    }
    tracing::info!("stopped");
}

/// `LOG_FORMAT`: `text` (the default) or `json` (one object per line, with the
/// request id in its span). Anything else stops start-up.
#[cfg(feature = "ssr")]
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,fred=warn,tower_sessions=warn"));
    let format = std::env::var("LOG_FORMAT").unwrap_or_default();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match format.trim() {
        "" | "text" => builder.init(),
        "json" => builder.json().with_current_span(true).init(),
        other => fail(&format!(
            "configuration: LOG_FORMAT: must be text or json (got {other:?})"
        )),
    }
}

/// `mailmerger create-user --email ADDRESS --name NAME`: an account, verified,
/// whatever `SIGNUP` says (the way to add users when it is `closed`). The
/// password comes from `MAILMERGER_PASSWORD` or the first line of standard input,
/// never from the command line (which `ps` shows).
#[cfg(feature = "ssr")]
async fn create_user() -> ! {
    let args: Vec<String> = std::env::args().skip(2).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(email), Some(name)) = (value("--email"), value("--name")) else {
        fail(
            "usage: mailmerger create-user --email ADDRESS --name NAME (the password from MAILMERGER_PASSWORD or standard input)",
        );
    };
    let password = match std::env::var("MAILMERGER_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() {
                fail("create-user: could not read the password from standard input");
            }
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let config = mailmerger::config::Config::from_env()
        .unwrap_or_else(|e| fail(&format!("configuration: {e}")));
    // The migrations first, as the server runs them.
    let pool = mailmerger::server::startup::connect_postgres(&config.database_url)
        .await
        .unwrap_or_else(|e| fail(&format!("create-user: {e}")));
    mailmerger::server::startup::migrate(&pool)
        .await
        .unwrap_or_else(|e| fail(&format!("create-user: {e}")));
    match mailmerger::accounts::ssr::create_verified_user(&pool, &email, &name, password).await {
        Ok(id) => {
            println!("created {email} ({id}), verified");
            std::process::exit(0)
        }
        Err(e) => fail(&format!("create-user: {e}")),
    }
}

/// `mailmerger healthcheck`: asks this instance's `/healthz` (on
/// `LEPTOS_SITE_ADDR`, or loopback when it listens on every address) and exits
/// 0 when it answers 200, 1 otherwise. A container's HEALTHCHECK needs no curl.
#[cfg(feature = "ssr")]
async fn healthcheck() -> ! {
    let addr = std::env::var("LEPTOS_SITE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let addr: std::net::SocketAddr = addr
        .trim()
        .parse()
        .unwrap_or_else(|_| fail(&format!("LEPTOS_SITE_ADDR: not an address ({addr:?})")));
    let host = if addr.ip().is_unspecified() {
        match addr {
            std::net::SocketAddr::V4(_) => "127.0.0.1".to_string(),
            std::net::SocketAddr::V6(_) => "[::1]".to_string(),
        }
    } else {
        match addr {
            std::net::SocketAddr::V4(a) => a.ip().to_string(),
            std::net::SocketAddr::V6(a) => format!("[{}]", a.ip()),
        }
    };
    let url = format!("http://{host}:{}/healthz", addr.port());
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .unwrap_or_else(|e| fail(&format!("healthcheck: {e}")));
    match client.get(&url).send().await {
        Ok(res) if res.status().is_success() => std::process::exit(0),
        Ok(res) => fail(&format!("healthcheck: {url} answered {}", res.status())),
        Err(e) => fail(&format!("healthcheck: {url} did not answer ({e})")),
    }
}

/// One clear line and a non-zero exit: no panic, no stack trace.
#[cfg(feature = "ssr")]
fn fail(message: &str) -> ! {
    eprintln!("mailmerger: error: {message}");
    std::process::exit(1);
}

#[cfg(not(feature = "ssr"))]
pub fn main() {
    // The browser build has no main; see `hydrate` in lib.rs.
}

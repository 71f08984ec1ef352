//! The fake Google server, for the end-to-end tests, the benchmark and local demos.
//!
//! FAKE_GOOGLE_ADDR (default 127.0.0.1:3900), FAKE_GOOGLE_CLIENT_ID and
//! FAKE_GOOGLE_CLIENT_SECRET (what the app must present), FAKE_GOOGLE_DISCARD=1 to
//! count sends without keeping them (benchmarks), FAKE_GOOGLE_USER_UNITS_PER_MINUTE
//! to refuse sends over Gmail's per-user quota with 429.

#[cfg(feature = "fake-google")]
#[tokio::main]
async fn main() {
    use mailmerger::fake_google::FakeGoogle;
    let var = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.to_string());
    let addr = var("FAKE_GOOGLE_ADDR", "127.0.0.1:3900");
    let fake = FakeGoogle::new(
        &var("FAKE_GOOGLE_CLIENT_ID", "mailmerger-test"),
        &var("FAKE_GOOGLE_CLIENT_SECRET", "test-secret"),
    );
    fake.set_discard(var("FAKE_GOOGLE_DISCARD", "0") == "1");
    // Refuse sends over Gmail's per-user quota, as Google does (off by default).
    fake.set_user_quota(var("FAKE_GOOGLE_USER_UNITS_PER_MINUTE", "").parse().ok());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fake-google: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("fake Google listening on http://{addr}");
    if let Err(e) = fake.serve(listener).await {
        eprintln!("fake-google: {e}");
        std::process::exit(1);
    }
}

#[cfg(not(feature = "fake-google"))]
fn main() {}

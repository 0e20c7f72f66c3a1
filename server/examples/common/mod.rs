//! What both benchmarks share: the real application on a random port with the demo network,
//! on a fresh SQLite file or PostgreSQL database (`backend::test_support::fresh_database`).

use backend::test_support::{fresh_database, Backend, FreshDatabase};
use backend::{Settings, Store};
use server::config::Config;
use server::demo;
use server::startup::Application;

/// The allocator of the `ooievaar` binary (server/src/main.rs): a benchmark measures the server
/// as it ships. Without it the in-process server ran on glibc's malloc, whose arena
/// consolidation and page faults took about a tenth of view_load's CPU (perf, issue 15).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A running benchmark app: its store, base URL and the guard of its SQLite folder.
pub struct BenchApp {
    pub store: Store,
    pub base: String,
    pub backend: String,
    _guard: Option<tempfile::TempDir>,
}

/// Starts the app for `args[1]` (`sqlite` or `postgres`, with `args[2]` the admin URL).
pub async fn start(settings: Settings) -> anyhow::Result<BenchApp> {
    let args: Vec<String> = std::env::args().collect();
    let backend = args.get(1).cloned().unwrap_or_else(|| "sqlite".into());
    let kind = if backend == "postgres" {
        // An explicit admin URL wins over the environment: `fresh_database` reads it from
        // there. Set before any other thread of ours could read the environment.
        if let Some(admin) = args.get(2).filter(|a| a.starts_with("postgres")) {
            std::env::set_var("OOIEVAAR_TEST_PG", admin);
        }
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let FreshDatabase { url, guard } = fresh_database(kind).await;
    let leptos_options = leptos::config::LeptosOptions::builder()
        .output_name("ooievaar")
        .site_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .build();
    let app = Application::build(Config {
        database_url: url,
        leptos_options,
        settings,
        checkpoint_every: None,
        secret_key: backend::second_factor::SecretKey::from_hex(
            &backend::second_factor::SecretKey::generate_hex(),
        )
        .map_err(|e| anyhow::anyhow!(e))?,
    })
    .await?;
    let store = app.store().clone();
    demo::seed(&store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    Ok(BenchApp {
        store,
        base,
        backend,
        _guard: guard,
    })
}

/// Adds a midwife of De Wieg with `password` and returns a client logged in as her (its
/// cookie store keeps the session). Not every benchmark logs clinicians in.
#[allow(dead_code)]
pub async fn logged_in_midwife(
    store: &Store,
    base: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<reqwest::Client> {
    backend::accounts::add_user(
        store,
        "vp-de-wieg",
        "verloskundige",
        username,
        "Benchmark",
        secrecy::SecretString::from(password),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let login = client
        .post(format!("{base}/api/login"))
        .form(&[("username", username), ("password", password)])
        .send()
        .await?;
    anyhow::ensure!(login.status() == 200, "login {}", login.status());
    // Her first login: she sets up the authenticator app (the second step) as a user would.
    let enrolment: serde_json::Value = client
        .post(format!("{base}/api/login_enrolment"))
        .send()
        .await?
        .json()
        .await?;
    let secret =
        backend::second_factor::totp::from_base32(enrolment["secret"].as_str().unwrap_or_default())
            .ok_or_else(|| anyhow::anyhow!("no enrolment secret: {enrolment}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let code = backend::second_factor::totp::code_at_step(
        &secret,
        backend::second_factor::totp::step_of(now),
    );
    let enrolled = client
        .post(format!("{base}/api/login_enrol"))
        .form(&[("code", code.as_str())])
        .send()
        .await?;
    anyhow::ensure!(enrolled.status() == 200, "enrolment {}", enrolled.status());
    Ok(client)
}

//! What both benchmarks share: the real application on a random port with the demo network,
//! on SQLite (a temp file) or a fresh PostgreSQL database.

use backend::{Settings, Store};
use server::config::Config;
use server::demo;
use server::startup::Application;

/// A running benchmark app: its store, base URL and the guard of its SQLite folder.
pub struct BenchApp {
    pub store: Store,
    pub base: String,
    pub backend: String,
    _dir: tempfile::TempDir,
}

/// Starts the app for `args[1]` (`sqlite` or `postgres`, with `args[2]` the admin URL).
pub async fn start(settings: Settings) -> anyhow::Result<BenchApp> {
    let args: Vec<String> = std::env::args().collect();
    let backend = args.get(1).cloned().unwrap_or_else(|| "sqlite".into());
    let dir = tempfile::tempdir()?;
    let url = if backend == "postgres" {
        let admin = args
            .get(2)
            .cloned()
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".into());
        let name = format!("ooievaar_bench_{}", uuid::Uuid::new_v4().simple());
        let mut c =
            <sqlx::PgConnection as sqlx::Connection>::connect(&format!("{admin}/postgres")).await?;
        sqlx::Executor::execute(&mut c, format!("CREATE DATABASE {name}").as_str()).await?;
        format!("{admin}/{name}")
    } else {
        format!("sqlite://{}/bench.db", dir.path().display())
    };
    let leptos_options = leptos::config::LeptosOptions::builder()
        .output_name("ooievaar")
        .site_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .build();
    let app = Application::build(Config {
        database_url: url,
        leptos_options,
        settings,
        checkpoint_every: None,
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
        _dir: dir,
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
    Ok(client)
}

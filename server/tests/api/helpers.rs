//! `spawn_app()`: the real application on port 0 with a fresh database, seeded with the demo
//! network, and a cookie-keeping client with typed helpers.

use backend::integrity::VerifyReport;
pub use backend::test_support::{fresh_database, Backend, FreshDatabase};
use backend::{Settings, Store};
use leptos::config::LeptosOptions;
use server::config::Config;
use server::demo;
use server::startup::Application;
use std::time::Duration;

pub const PASSWORD: &str = demo::DEMO_PASSWORD;

pub struct TestApp {
    pub address: String,
    pub store: Store,
    /// The app's per-address flood counters (rule 9).
    pub flood: std::sync::Arc<backend::flood::FloodGuard>,
    /// The app's password hasher (its bound on argon2 runs, rule 9).
    pub hasher: backend::accounts::Hasher,
    /// This app's database (the namespace of `next_demo_code`).
    pub database_url: String,
    _guard: Option<tempfile::TempDir>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Settings::default()).await
}

pub async fn spawn_app_with(backend: Backend, settings: Settings) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        server::telemetry::init();
    }
    let FreshDatabase {
        url: database_url,
        guard,
    } = fresh_database(backend).await;
    let leptos_options = LeptosOptions::builder()
        .output_name("ooievaar")
        .site_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .build();
    let secret_key = backend::second_factor::SecretKey::from_hex(
        &backend::second_factor::SecretKey::generate_hex(),
    )
    .expect("a fresh key");
    let config = Config {
        database_url: database_url.clone(),
        leptos_options,
        settings,
        checkpoint_every: None,
        secret_key: secret_key.clone(),
    };
    let application = Application::build(config).await.expect("app builds");
    let store = application.store().clone();
    let flood = application.flood();
    let hasher = application.hasher();
    demo::seed(&store).await.expect("demo seed");
    // As `ooievaar demo seed` does: every demo account has the app with its fixed secret.
    demo::enrol_second_factors(&store, &secret_key)
        .await
        .expect("demo second factors");
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    TestApp {
        address,
        store,
        flood,
        hasher,
        database_url,
        _guard: guard,
    }
}

/// The second step after a password step's answer `first` (returned as it is unless it led
/// to a second step): the code step with the user's next unused code, or, for an account's
/// first login, the enrolment from the page's secret (kept for her later logins). Sends
/// `headers` with each request. The answer of the last step taken.
pub async fn second_step(
    client: &reqwest::Client,
    base: &str,
    database_url: &str,
    username: &str,
    first: reqwest::Response,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let location = first
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let post = |endpoint: &str, form: Vec<(&str, String)>| {
        let mut request = client
            .post(format!("{base}/api/{endpoint}"))
            .header("accept", "application/json")
            .form(&form);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.send()
    };
    if first.status() != 200 {
        return first;
    }
    let key = (database_url.to_owned(), username.to_owned());
    match location.as_str() {
        "/login/code" => {
            // One code step at a time per user: concurrent logins must reach the server in the
            // order their steps were handed out (an earlier step after a later one is refused).
            let lock = code_lock(&key);
            let _turn = lock.lock().await;
            let code = next_demo_code(database_url, username).await;
            post("login_code", vec![("code", code)]).await.unwrap()
        }
        "/login/instellen" => {
            let page: serde_json::Value = post("login_enrolment", vec![])
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let secret =
                backend::second_factor::totp::from_base32(page["secret"].as_str().unwrap())
                    .expect("the enrolment page's secret");
            secrets().lock().unwrap().insert(key, secret);
            let code = next_demo_code(database_url, username).await;
            post("login_enrol", vec![("code", code)]).await.unwrap()
        }
        _ => first,
    }
}

/// Values kept per (database, username) for the whole test process.
type PerUser<T> = std::sync::Mutex<std::collections::HashMap<(String, String), T>>;

/// The authenticator secrets of accounts enrolled by `second_step`, by (database, username).
fn secrets() -> &'static PerUser<Vec<u8>> {
    static SECRETS: std::sync::OnceLock<PerUser<Vec<u8>>> = std::sync::OnceLock::new();
    SECRETS.get_or_init(Default::default)
}

fn code_lock(key: &(String, String)) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    static LOCKS: std::sync::OnceLock<PerUser<std::sync::Arc<tokio::sync::Mutex<()>>>> =
        std::sync::OnceLock::new();
    LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(key.clone())
        .or_default()
        .clone()
}

/// The code of a user's next unused authenticator step on the database `database_url` (a
/// demo account's fixed secret, or the secret a test account enrolled with): the current step,
/// or a later one (accepted one step ahead) when a login of this test used it already (a code
/// is accepted once); waits when both are used.
pub async fn next_demo_code(database_url: &str, username: &str) -> String {
    use backend::second_factor::totp;
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static USED: OnceLock<Mutex<HashMap<(String, String), u64>>> = OnceLock::new();
    let used = USED.get_or_init(Default::default);
    let key = (database_url.to_owned(), username.to_owned());
    let secret = secrets()
        .lock()
        .unwrap()
        .get(&key)
        .cloned()
        .unwrap_or_else(|| demo::demo_totp_secret(username));
    loop {
        let current = totp::step_of(unix_now());
        let step = {
            let mut used = used.lock().unwrap();
            let step = used
                .get(&key)
                .map_or(current, |last| (last + 1).max(current));
            (step <= current + 1).then(|| {
                used.insert(key.clone(), step);
                step
            })
        };
        match step {
            Some(step) => return totp::code_at_step(&secret, step),
            None => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// The second-factor key of instances that share one database in a test (like production's
/// instances share one key file).
pub fn shared_secret_key() -> backend::second_factor::SecretKey {
    backend::second_factor::SecretKey::from_hex(&"5e".repeat(32)).expect("a fixed test key")
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The longest one request of a test may take. Generous: CI runs the suites on two shared
/// cores beside each other, and a debug server under that load is slow; a hang still fails.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(180);
/// The longest `ooievaar serve` (a debug binary) may take to answer `/healthz`.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("client")
}

/// [`client`] connecting from another loopback address (`127.0.0.x`), as another workstation
/// would: per-address counters (flood control) see it apart.
pub fn client_from(last_octet: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .local_address(std::net::IpAddr::from([127, 0, 0, last_octet]))
        .build()
        .expect("client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Calls a server function the way the hydrated client does (no `text/html` in Accept).
    pub async fn call(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(&format!("/api/{endpoint}")))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// The password step alone (the session then waits for the second step).
    pub async fn password_step(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        self.call(
            client,
            "login",
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// A whole login: the password, then the second step (see [`second_step`]); the answer
    /// of the last step taken.
    pub async fn login_as(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let first = self.password_step(client, username, password).await;
        second_step(
            client,
            &self.address,
            &self.database_url,
            username,
            first,
            &[],
        )
        .await
    }

    /// The code of a demo user's next unused authenticator step (see [`next_demo_code`]).
    pub async fn next_code(&self, username: &str) -> String {
        next_demo_code(&self.database_url, username).await
    }

    /// An access request by `c`'s user for `client_id`, attested, on `ground` with `reason`.
    pub async fn request_access(
        &self,
        c: &reqwest::Client,
        client_id: &str,
        ground: &str,
        reason: &str,
    ) -> reqwest::Response {
        self.call(
            c,
            "request_access",
            &[
                ("client_id", client_id),
                ("ground", ground),
                ("reason", reason),
                ("attest", "ja"),
            ],
        )
        .await
    }

    /// A search by BSN and birth date (server function `search`).
    pub async fn search(
        &self,
        c: &reqwest::Client,
        bsn: &str,
        birth_date: &str,
    ) -> reqwest::Response {
        self.call(c, "search", &[("bsn", bsn), ("birth_date", birth_date)])
            .await
    }

    /// The client page's data as the hydrated page reads it (server function `client`).
    pub async fn client_page(&self, c: &reqwest::Client, client_id: &str) -> reqwest::Response {
        self.call(c, "client", &[("client_id", client_id)]).await
    }

    /// The client page as a browser gets it: server-rendered HTML.
    pub async fn client_page_html(&self, c: &reqwest::Client, client_id: &str) -> String {
        html_of(c, &self.url(&format!("/clients/{client_id}"))).await
    }

    /// A page of the officer's log list under her kept filters; `before` is the cursor of
    /// the previous page's `next`.
    pub async fn audit_page(&self, c: &reqwest::Client, before: Option<&str>) -> reqwest::Response {
        let form: Vec<(&str, &str)> = before.map(|b| vec![("before", b)]).unwrap_or_default();
        self.call(c, "audit_page", &form).await
    }

    /// Sets the officer's kept filters; fields not named are empty, `flagged` is sent only
    /// when named.
    pub async fn audit_filter(
        &self,
        c: &reqwest::Client,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.call(c, "audit_filter", &audit_filter_form(fields))
            .await
    }

    /// Clears the officer's kept filters.
    pub async fn audit_filter_clear(&self, c: &reqwest::Client) -> reqwest::Response {
        self.call(c, "audit_filter_clear", &[]).await
    }

    /// The officer asks for the overview of one client over a period (`from`, `until` may be
    /// empty); `audit_overview` then makes it.
    pub async fn audit_overview_request(
        &self,
        c: &reqwest::Client,
        bsn: &str,
        from: &str,
        until: &str,
    ) -> reqwest::Response {
        self.call(
            c,
            "audit_overview_request",
            &[("bsn", bsn), ("from", from), ("until", until)],
        )
        .await
    }

    /// A PUT to the source API at `path` with `body`, signed by `token` when given.
    pub async fn put_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: String,
    ) -> reqwest::Response {
        let mut request = client()
            .put(self.url(path))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// A source pushes the share of `bsn`, signed by `token`.
    pub async fn put_share(
        &self,
        token: &str,
        bsn: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.put_raw(
            &format!("/api/v1/shares/{bsn}"),
            Some(token),
            "application/json",
            body.to_string(),
        )
        .await
    }

    /// A source sets the consent of `bsn` (`active` or `withdrawn`), signed by `token`.
    pub async fn put_consent(&self, token: &str, bsn: &str, status: &str) -> reqwest::Response {
        self.put_raw(
            &format!("/api/v1/shares/{bsn}/consent"),
            Some(token),
            "application/json",
            serde_json::json!({ "status": status }).to_string(),
        )
        .await
    }

    /// A new client logged in as `username` (a demo user).
    pub async fn logged_in(&self, username: &str) -> reqwest::Client {
        let c = client();
        let response = self.login_as(&c, username, PASSWORD).await;
        assert_eq!(response.status(), 200, "demo login of {username}");
        c
    }

    /// The `/api/shell` answer as JSON.
    pub async fn shell(&self, client: &reqwest::Client) -> serde_json::Value {
        self.call(client, "shell", &[])
            .await
            .json()
            .await
            .expect("shell json")
    }

    pub async fn audit_events(&self) -> Vec<backend::store::AuditRow> {
        self.store
            .audit_events_after(0, 100_000)
            .await
            .expect("audit rows")
    }

    /// Raw SQL behind the application's back, for tests that break things on purpose.
    pub async fn raw_sql(&self, sql: &str) {
        match self.store.db() {
            backend::store::Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            backend::store::Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        }
        .expect("raw sql");
    }

    /// One text column of a raw query, for tests that look at what is stored.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        match self.store.db() {
            backend::store::Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
            backend::store::Db::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        }
        .expect("raw query")
    }

    pub async fn assert_chain_intact(&self) {
        let report = backend::integrity::verify_chain(&self.store)
            .await
            .expect("verify");
        assert!(matches!(report, VerifyReport::Intact { .. }), "{report:?}");
    }
}

/// A BSN that passes the 11-check and is not one of the demo clients.
pub fn valid_bsn_not_in_demo() -> String {
    let demo: Vec<String> = demo::demo_bsns()
        .iter()
        .map(|b| b.as_ref().to_owned())
        .collect();
    (100_000_000u32..)
        .map(|n| n.to_string())
        .find(|n| domain::Bsn::parse(n).is_ok() && !demo.contains(n))
        .unwrap()
}

/// The form of `audit_filter` as the review page posts it: every filter field, empty where
/// `fields` does not name it, and `flagged` only when named (an unticked box is not sent).
pub fn audit_filter_form<'a>(fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let value = |k: &str| {
        fields
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, v)| *v)
            .unwrap_or("")
    };
    let mut form: Vec<(&str, &str)> = [
        "from",
        "until",
        "bsn",
        "user",
        "organisation",
        "action",
        "ground",
    ]
    .iter()
    .map(|k| (*k, value(k)))
    .collect();
    if let Some(flagged) = fields.iter().find(|(f, _)| *f == "flagged") {
        form.push(*flagged);
    }
    form
}

/// The real `ooievaar serve` on a free port against `database_url`, with extra environment and
/// the given output handling; returns once `/healthz` answers (within [`STARTUP_TIMEOUT`]).
pub async fn serve_binary(
    database_url: &str,
    env: &[(&str, &str)],
    output: fn() -> std::process::Stdio,
) -> (std::process::Child, String) {
    // Port 0: the server takes a free port itself, read back from /proc below. A port picked
    // here and handed over could be taken by another test in between, and /healthz would then
    // answer from that test's server.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ooievaar"))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stdout(output())
        .stderr(output())
        .spawn()
        .expect("start ooievaar serve");
    // Piped output is read as it comes: a full pipe would stop the server mid-request.
    let readers: Vec<_> = [
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn std::io::Read + Send>),
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut reader| {
        std::thread::spawn(move || {
            use std::io::Read as _;
            let mut text = String::new();
            let _ = reader.read_to_string(&mut text);
            text
        })
    })
    .collect();
    output_readers().lock().unwrap().insert(child.id(), readers);
    let c = client();
    // A deadline, not a count of tries: a debug binary on a busy CI machine may take a while
    // to open a large database, and a refused connection returns at once.
    let deadline = std::time::Instant::now() + STARTUP_TIMEOUT;
    let base = loop {
        if let Some(port) = listening_port(child.id()) {
            let base = format!("http://127.0.0.1:{port}");
            if c.get(format!("{base}/healthz")).send().await.is_ok() {
                break base;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("ooievaar serve exited before answering /healthz: {status}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ooievaar serve did not answer /healthz within {STARTUP_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    (child, base)
}

/// The TCP port process `pid` listens on, once it does: its socket descriptors
/// (`/proc/<pid>/fd`) matched against the listening sockets of `/proc/net/tcp`.
fn listening_port(pid: u32) -> Option<u16> {
    let sockets: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|link| {
            let inode = link.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?;
            Some(inode.to_owned())
        })
        .collect();
    // Columns: sl, local_address (hex ip:port), rem_address, st (0A: listening), ..., inode.
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let columns: Vec<&str> = line.split_whitespace().collect();
        let listening = columns.get(3) == Some(&"0A");
        if !listening || !sockets.contains(*columns.get(9)?) {
            return None;
        }
        u16::from_str_radix(columns[1].rsplit(':').next()?, 16).ok()
    })
}

/// Stops a child started by `serve_binary` with piped output and returns all it wrote:
/// its stderr, then its stdout.
pub fn stop_and_read_output(mut server: std::process::Child) -> String {
    server.kill().unwrap();
    server.wait().unwrap();
    let readers = output_readers()
        .lock()
        .unwrap()
        .remove(&server.id())
        .unwrap_or_default();
    readers.into_iter().map(|r| r.join().unwrap()).collect()
}

/// The threads reading each served binary's piped output, by process id.
fn output_readers(
) -> &'static std::sync::Mutex<std::collections::HashMap<u32, Vec<std::thread::JoinHandle<String>>>>
{
    static READERS: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<u32, Vec<std::thread::JoinHandle<String>>>>,
    > = std::sync::OnceLock::new();
    READERS.get_or_init(Default::default)
}

/// The body of a GET of `url` asking for HTML, as a browser would.
pub async fn html_of(c: &reqwest::Client, url: &str) -> String {
    let (status, html) = page_of(c, url).await;
    // A page a test reads is a page that was served: an error answer (a timeout on a loaded
    // machine, say) must name itself, not fail a later `find` without a word.
    assert!(
        status.is_success() || status.is_redirection(),
        "GET {url}: {status}\n{html}"
    );
    html
}

/// A page as a browser asks for it, with its status, whatever that is.
pub async fn page_of(c: &reqwest::Client, url: &str) -> (reqwest::StatusCode, String) {
    let response = c
        .get(url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

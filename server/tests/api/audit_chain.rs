//! The access log's hash chain (DESIGN section 7) end to end: events written through the real
//! router and the command line, tampered with behind the application's back, and checked by
//! both `backend::integrity::verify_chain` and `ooievaar audit verify`.
//!
//! - Altering any one of the 20 columns of an event in the middle of the chain (including `id`,
//!   `prev_hash` and `hash`, and NULL versus empty text) is reported at exactly the event that
//!   check_link (backend/src/integrity.rs) must stop at.
//! - Deleting a middle event or reordering events is reported at the right event.
//! - Several server instances on one database, many concurrent clients and command-line writers
//!   at the same time still produce one intact chain with ids 1..=n and exactly one event per
//!   audited action.
//!
//! Deleting the *last* event is out of scope here (it needs signed checkpoints).

use crate::helpers::{fresh_database, Backend, FreshDatabase, PASSWORD};
use backend::audit::chain_hash;
use backend::integrity::{ChainBreak, VerifyReport};
use backend::on_both_backends;
use backend::store::{AuditLogQueries as _, AuditRow, Db};
use backend::{Settings, Store};
use leptos::config::LeptosOptions;
use serde_json::Value;
use server::config::Config;
use server::demo;
use server::startup::Application;
use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ----- helpers private to this file -----

/// One running server instance; several may share a database.
struct Instance {
    address: String,
    store: Store,
    database_url: String,
}

/// Builds and starts one `Application` on `database_url` (like `spawn_app_with`, without
/// creating a database or seeding).
async fn start_instance(database_url: &str) -> Instance {
    let leptos_options = LeptosOptions::builder()
        .output_name("ooievaar")
        .site_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .build();
    let config = Config {
        database_url: database_url.to_owned(),
        leptos_options,
        settings: Settings::default(),
        checkpoint_every: None,
        secret_key: crate::helpers::shared_secret_key(),
    };
    let application = Application::build(config).await.expect("app builds");
    let store = application.store().clone();
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    Instance {
        address,
        store,
        database_url: database_url.to_owned(),
    }
}

/// A browser-like client that sends a user agent (so `user_agent` is filled in the log).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("audit-chain-test/1.0")
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

impl Instance {
    async fn call(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> (u16, String) {
        let response = client
            .post(format!("{}/api/{endpoint}", self.address))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{endpoint} on {}: {e}", self.address));
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// Both login steps (the second with the demo user's next code); the last step's status.
    async fn login(&self, client: &reqwest::Client, username: &str, password: &str) -> u16 {
        let first = client
            .post(format!("{}/api/login", self.address))
            .header("accept", "application/json")
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap();
        crate::helpers::second_step(
            client,
            &self.address,
            &self.database_url,
            username,
            first,
            &[],
        )
        .await
        .status()
        .as_u16()
    }

    /// Searches a client and returns her client id (asserting that she is found).
    async fn search(&self, client: &reqwest::Client, bsn: &str, birth_date: &str) -> String {
        let (status, body) = self
            .call(
                client,
                "search",
                &[("bsn", bsn), ("birth_date", birth_date)],
            )
            .await;
        assert_eq!(status, 200, "search: {body}");
        let json: Value = serde_json::from_str(&body).expect("search json");
        json["found"]["client_id"]
            .as_str()
            .unwrap_or_else(|| panic!("demo client {bsn} not found: {body}"))
            .to_owned()
    }

    async fn request_access(&self, client: &reqwest::Client, client_id: &str) {
        let (status, body) = self
            .call(
                client,
                "request_access",
                &[
                    ("client_id", client_id),
                    ("ground", "behandelrelatie"),
                    ("reason", ""),
                    ("attest", "ja"),
                ],
            )
            .await;
        assert_eq!(status, 200, "access request: {body}");
    }

    async fn view(&self, client: &reqwest::Client, client_id: &str) -> (u16, String) {
        self.call(client, "client", &[("client_id", client_id)])
            .await
    }

    async fn all_events(&self) -> Vec<AuditRow> {
        self.store
            .audit_events_after(0, 1_000_000)
            .await
            .expect("audit rows")
    }

    async fn verify(&self) -> VerifyReport {
        backend::integrity::verify_chain(&self.store)
            .await
            .expect("verify")
    }
}

/// The demo clients as (BSN, birth date) the way the search form takes them.
fn demo_searches() -> Vec<(String, String)> {
    demo::demo_clients()
        .into_iter()
        .map(|(bsn, _, birth)| (bsn.as_ref().to_owned(), birth.to_string()))
        .collect()
}

/// The clinical demo users (they may search, request access and view).
const CLINICAL_USERS: [&str; 5] = [
    "verloskundige",
    "gynaecoloog",
    "ogverpleegkundige",
    "kraamverzorgende",
    "echoscopist",
];

/// Runs the real binary with `DATABASE_URL` (like `cli.rs`).
fn ooievaar(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ooievaar"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .expect("run ooievaar")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The event id the CLI names first ("... event 17 ..."), if any.
fn event_named(output: &str) -> Option<i64> {
    let mut rest = output;
    while let Some(pos) = rest.find("event ") {
        let after = &rest[pos + "event ".len()..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            return digits.parse().ok();
        }
        rest = after;
    }
    None
}

/// Asserts `ooievaar audit verify` fails and names `event_id` as the broken event.
fn assert_cli_reports_break_at(database_url: &str, event_id: i64, case: &str) {
    let out = ooievaar(database_url, &["audit", "verify"]);
    let output = text(&out);
    assert!(
        !out.status.success(),
        "{case}: audit verify exited 0: {output}"
    );
    assert_eq!(
        event_named(&output),
        Some(event_id),
        "{case}: audit verify must name event {event_id}: {output}"
    );
}

/// Asserts `ooievaar audit verify` succeeds and prints `events` as the count.
fn assert_cli_reports_intact(database_url: &str, events: usize) {
    let out = ooievaar(database_url, &["audit", "verify"]);
    let output = text(&out);
    assert!(out.status.success(), "audit verify failed: {output}");
    assert!(
        output.contains(&format!(" {events} events")),
        "count {events} in: {output}"
    );
}

/// Raw SQL behind the application's back, returning the database's refusal as text.
async fn try_sql(store: &Store, sql: &str) -> Result<(), String> {
    match store.db() {
        Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
    }
    .map_err(|e| e.to_string())
}

async fn sql(store: &Store, sql: &str) {
    try_sql(store, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Checks that the append-only triggers refuse a change, then drops them.
async fn drop_append_only_triggers(store: &Store) {
    let refused = try_sql(store, "UPDATE audit_events SET detail = '{}' WHERE id = 1").await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("append-only")),
        "the triggers guard the log before the test drops them: {refused:?}"
    );
    match store.db() {
        Db::Sqlite(_) => {
            sql(store, "DROP TRIGGER audit_events_no_update").await;
            sql(store, "DROP TRIGGER audit_events_no_delete").await;
        }
        Db::Postgres(_) => {
            sql(
                store,
                "DROP TRIGGER audit_events_no_update_or_delete ON audit_events",
            )
            .await;
            sql(
                store,
                "DROP TRIGGER audit_events_no_truncate ON audit_events",
            )
            .await;
        }
    }
}

/// The columns of `audit_events` as the database has them, in table order.
async fn audit_columns(store: &Store) -> Vec<String> {
    match store.db() {
        Db::Sqlite(p) => {
            sqlx::query_scalar("SELECT name FROM pragma_table_info('audit_events') ORDER BY cid")
                .fetch_all(p)
                .await
                .unwrap()
        }
        Db::Postgres(p) => sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_name = 'audit_events' AND table_schema = current_schema() \
             ORDER BY ordinal_position",
        )
        .fetch_all(p)
        .await
        .unwrap(),
    }
}

/// Replaces the whole table by `rows` (the triggers must be dropped).
async fn restore_all(store: &Store, rows: &[AuditRow]) {
    match store.db() {
        Db::Sqlite(p) => {
            let mut tx = p.begin().await.unwrap();
            sqlx::query("DELETE FROM audit_events")
                .execute(&mut *tx)
                .await
                .unwrap();
            (*tx).insert_audit_rows(rows).await.unwrap();
            tx.commit().await.unwrap();
        }
        Db::Postgres(p) => {
            let mut tx = p.begin().await.unwrap();
            sqlx::query("DELETE FROM audit_events")
                .execute(&mut *tx)
                .await
                .unwrap();
            (*tx).insert_audit_rows(rows).await.unwrap();
            tx.commit().await.unwrap();
        }
    }
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn quoted_or_null(text: &Option<String>) -> String {
    text.as_deref().map_or_else(|| "NULL".to_owned(), quoted)
}

/// An INSERT of `row` with literal values.
fn insert_sql(row: &AuditRow) -> String {
    let values = [
        row.id.to_string(),
        row.occurred_at.to_string(),
        quoted(&row.action),
        quoted(&row.outcome),
        quoted_or_null(&row.user_id),
        quoted_or_null(&row.user_name),
        quoted_or_null(&row.user_role),
        quoted_or_null(&row.organisation_id),
        quoted_or_null(&row.on_behalf_of),
        quoted_or_null(&row.client_id),
        quoted_or_null(&row.bsn),
        quoted_or_null(&row.source_id),
        quoted_or_null(&row.ground),
        quoted_or_null(&row.grant_id),
        quoted(&row.detail),
        quoted_or_null(&row.ip),
        quoted_or_null(&row.user_agent),
        quoted_or_null(&row.request_id),
        quoted(&row.prev_hash),
        quoted(&row.hash),
    ];
    format!(
        "INSERT INTO audit_events (id, occurred_at, action, outcome, user_id, user_name, \
         user_role, organisation_id, on_behalf_of, client_id, bsn, source_id, ground, grant_id, \
         detail, ip, user_agent, request_id, prev_hash, hash) VALUES ({})",
        values.join(", ")
    )
}

/// A demo network with some real traffic: seeding, then a midwife who logs in, searches,
/// requests access and views a client (the `read` event, returned as `k`), then more events
/// after it so that `k` lies in the middle of the chain.
struct Scene {
    instance: Instance,
    database_url: String,
    _guard: Option<tempfile::TempDir>,
    k: i64,
}

async fn scene(backend: Backend) -> Scene {
    let FreshDatabase {
        url: database_url,
        guard,
    } = fresh_database(backend).await;
    let instance = start_instance(&database_url).await;
    demo::seed(&instance.store).await.expect("demo seed");
    demo::enrol_second_factors(&instance.store, &crate::helpers::shared_secret_key())
        .await
        .expect("demo second factors");
    let c = browser();
    assert_eq!(instance.login(&c, "verloskundige", PASSWORD).await, 200);
    let (bsn, birth) = demo_searches().remove(0);
    let client_id = instance.search(&c, &bsn, &birth).await;
    instance.request_access(&c, &client_id).await;
    assert_eq!(instance.view(&c, &client_id).await.0, 200);
    // More after the read event.
    for _ in 0..3 {
        assert_eq!(instance.view(&c, &client_id).await.0, 200);
    }
    instance.search(&c, &bsn, &birth).await;
    let events = instance.all_events().await;
    let k = events
        .iter()
        .find(|e| e.action == "read")
        .expect("a read event")
        .id;
    assert!(
        k > 20 && k + 4 <= events.len() as i64,
        "k = {k} lies in the middle of {} events",
        events.len()
    );
    // The cases below rely on this mix of NULL and non-NULL columns in event k.
    let row = &events[k as usize - 1];
    assert!(
        row.on_behalf_of.is_none() && row.source_id.is_none(),
        "{row:?}"
    );
    assert!(
        row.user_id.is_some()
            && row.ip.is_some()
            && row.user_agent.is_some()
            && row.request_id.is_some()
            && row.grant_id.is_some()
            && row.bsn.is_some()
            && row.ground.is_some(),
        "{row:?}"
    );
    assert!(matches!(
        instance.verify().await,
        VerifyReport::Intact { .. }
    ));
    Scene {
        instance,
        database_url,
        _guard: guard,
        k,
    }
}

/// A tampering case: SQL run against the table, and where check_link must stop.
struct Case {
    name: String,
    /// The columns of audit_events this case changes (for the coverage check).
    columns: Vec<&'static str>,
    statements: Vec<String>,
    event_id: i64,
    reason: ChainBreak,
    /// Events verified before the break.
    checked: i64,
}

/// Runs each case on the scene's database: applies it, checks the library and the CLI report
/// the break at the expected event, then restores the original table and checks it is intact.
async fn run_cases(scene: &Scene, cases: &[Case]) {
    let store = &scene.instance.store;
    let original = scene.instance.all_events().await;
    let total = original.len();
    for case in cases {
        for statement in &case.statements {
            sql(store, statement).await;
        }
        assert_ne!(
            scene.instance.all_events().await,
            original,
            "{}: the tampering changed nothing",
            case.name
        );
        let report = scene.instance.verify().await;
        assert_eq!(
            report,
            VerifyReport::Broken {
                event_id: case.event_id,
                reason: case.reason.clone(),
                checked: case.checked,
            },
            "{}",
            case.name
        );
        assert_cli_reports_break_at(&scene.database_url, case.event_id, &case.name);
        restore_all(store, &original).await;
        assert_eq!(
            scene.instance.verify().await,
            VerifyReport::Intact {
                events: total as i64
            },
            "restored after {}",
            case.name
        );
    }
}

// ----- 1. tampering with each column -----

on_both_backends!(
    altering_any_column_of_a_middle_event_is_reported_at_that_event,
    deleting_or_reordering_middle_events_is_reported_at_the_right_event,
);

async fn altering_any_column_of_a_middle_event_is_reported_at_that_event(backend: Backend) {
    let scene = scene(backend).await;
    let k = scene.k;
    drop_append_only_triggers(&scene.instance.store).await;
    let original = scene.instance.all_events().await;
    let row = &original[k as usize - 1];
    let other_bsn = demo_searches()
        .into_iter()
        .map(|(bsn, _)| bsn)
        .find(|b| Some(b) != row.bsn.as_ref())
        .unwrap();

    // A content column changed at event k: the stored hash no longer matches (Hash at k).
    let content = |column: &'static str, value: &str| Case {
        name: format!("{column} = {value}"),
        columns: vec![column],
        statements: vec![format!(
            "UPDATE audit_events SET {column} = {value} WHERE id = {k}"
        )],
        event_id: k,
        reason: ChainBreak::Hash,
        checked: k - 1,
    };
    let mut cases = vec![
        content("occurred_at", "occurred_at + 1"),
        content("action", "'search'"),
        content("outcome", "'denied'"),
        content("user_id", "user_id || 'x'"),
        content("user_name", "user_name || ' '"),
        content("user_role", "'gynaecoloog'"),
        content("organisation_id", "'zh-rivierenland'"),
        // NULL -> empty text.
        content("on_behalf_of", "''"),
        content("on_behalf_of", "'gynaecoloog'"),
        content("client_id", "client_id || 'x'"),
        content("bsn", &quoted(&other_bsn)),
        // NULL -> a value.
        content("source_id", "'de-wieg-epd'"),
        content("ground", "'spoed'"),
        // A value -> NULL.
        content("grant_id", "NULL"),
        content("detail", "'{\"entries\":0}'"),
        // A value -> empty text, and a value -> NULL.
        content("ip", "''"),
        content("ip", "NULL"),
        content("user_agent", "user_agent || 'x'"),
        content("request_id", "request_id || 'x'"),
        // The stored hash itself changed (its first hex digit): its own check fails (Hash at
        // k), the link from k+1 is never looked at.
        content(
            "hash",
            "CASE WHEN substr(hash, 1, 1) = '0' THEN '1' ELSE '0' END || substr(hash, 2)",
        ),
    ];
    // prev_hash changed: the link to event k-1 is broken (PrevHash at k).
    cases.push(Case {
        name: "prev_hash = hash".into(),
        columns: vec!["prev_hash"],
        statements: vec![format!(
            "UPDATE audit_events SET prev_hash = hash WHERE id = {k}"
        )],
        event_id: k,
        reason: ChainBreak::PrevHash,
        checked: k - 1,
    });
    // id moved past the end: the row is read last, so the walk meets event k+1 right after
    // k-1 and reports the gap there (Gap { expected: k } at k+1).
    cases.push(Case {
        name: "id = id + 1000000".into(),
        columns: vec!["id"],
        statements: vec![format!(
            "UPDATE audit_events SET id = id + 1000000 WHERE id = {k}"
        )],
        event_id: k + 1,
        reason: ChainBreak::Gap { expected: k },
        checked: k - 1,
    });
    // A forger who alters a column and recomputes the event's own hash: event k checks out,
    // the link from event k+1 does not (PrevHash at k+1).
    let mut forged = row.clone();
    forged.detail = r#"{"categories":[],"entries":0,"sources":[]}"#.into();
    forged.hash = chain_hash(&forged);
    cases.push(Case {
        name: "detail and hash recomputed".into(),
        columns: vec!["detail", "hash"],
        statements: vec![format!(
            "UPDATE audit_events SET detail = {}, hash = {} WHERE id = {k}",
            quoted(&forged.detail),
            quoted(&forged.hash)
        )],
        event_id: k + 1,
        reason: ChainBreak::PrevHash,
        checked: k,
    });

    // Every column of the table is covered.
    let columns = audit_columns(&scene.instance.store).await;
    assert_eq!(columns.len(), 20, "{columns:?}");
    for column in &columns {
        assert!(
            cases.iter().any(|c| c.columns.contains(&column.as_str())),
            "no case alters {column}"
        );
    }
    run_cases(&scene, &cases).await;
}

// ----- 2. deleting and reordering -----

async fn deleting_or_reordering_middle_events_is_reported_at_the_right_event(backend: Backend) {
    let scene = scene(backend).await;
    let k = scene.k;
    drop_append_only_triggers(&scene.instance.store).await;
    let original = scene.instance.all_events().await;
    let row = |id: i64| original[id as usize - 1].clone();
    // Swap the non-id contents of events a and b (re-inserted: `hash` is UNIQUE, so an
    // in-place swap would collide half-way).
    let swap_contents = |a: i64, b: i64| {
        let (mut new_a, mut new_b) = (row(b), row(a));
        new_a.id = a;
        new_b.id = b;
        vec![
            format!("DELETE FROM audit_events WHERE id IN ({a}, {b})"),
            insert_sql(&new_a),
            insert_sql(&new_b),
        ]
    };
    let cases = vec![
        // Event k gone: the walk meets k+1 right after k-1.
        Case {
            name: "event k deleted".into(),
            columns: vec![],
            statements: vec![format!("DELETE FROM audit_events WHERE id = {k}")],
            event_id: k + 1,
            reason: ChainBreak::Gap { expected: k },
            checked: k - 1,
        },
        // Contents of k and k+1 swapped, ids kept: the row now at k links to event k.
        Case {
            name: "contents of k and k+1 swapped".into(),
            columns: vec![],
            statements: swap_contents(k, k + 1),
            event_id: k,
            reason: ChainBreak::PrevHash,
            checked: k - 1,
        },
        // Ids of k+1 and k+2 swapped (through a free id): the row now at k+1 links to k+1.
        Case {
            name: "ids of k+1 and k+2 swapped".into(),
            columns: vec![],
            statements: vec![
                format!("UPDATE audit_events SET id = -1 WHERE id = {}", k + 1),
                format!(
                    "UPDATE audit_events SET id = {} WHERE id = {}",
                    k + 1,
                    k + 2
                ),
                format!("UPDATE audit_events SET id = {} WHERE id = -1", k + 2),
            ],
            event_id: k + 1,
            reason: ChainBreak::PrevHash,
            checked: k,
        },
        // Event k deleted and the later ids closed up: no gap, but the row now at k still
        // links to the deleted event.
        Case {
            name: "event k deleted and later ids renumbered".into(),
            columns: vec![],
            statements: vec![
                format!("DELETE FROM audit_events WHERE id = {k}"),
                format!("UPDATE audit_events SET id = -id WHERE id > {k}"),
                "UPDATE audit_events SET id = -id - 1 WHERE id < 0".to_owned(),
            ],
            event_id: k,
            reason: ChainBreak::PrevHash,
            checked: k - 1,
        },
    ];
    run_cases(&scene, &cases).await;
}

// ----- 3. several instances and the command line at once -----

/// Counts of audited actions by action key.
type Tally = BTreeMap<&'static str, usize>;

fn add(tally: &mut Tally, action: &'static str) {
    *tally.entry(action).or_default() += 1;
}

/// One simulated professional: logs in, and for each of her clients searches, requests access
/// and views twice; looks at an unknown client id once; logs out. Each request goes to the
/// next instance in turn (sessions live in the shared database). Returns what she did.
async fn professional(
    instances: Arc<Vec<Instance>>,
    worker: usize,
    username: &'static str,
    clients: Vec<(String, String)>,
    failed_login_first: bool,
) -> Tally {
    let mut tally = Tally::new();
    let mut turn = worker;
    let mut next = || {
        turn += 1;
        &instances[turn % instances.len()]
    };
    let c = browser();
    if failed_login_first {
        assert_eq!(next().login(&c, username, "wrong-password-x").await, 401);
        add(&mut tally, "login_failed");
    }
    assert_eq!(
        next().login(&c, username, PASSWORD).await,
        200,
        "{username}"
    );
    add(&mut tally, "login");
    for (bsn, birth) in &clients {
        let client_id = next().search(&c, bsn, birth).await;
        add(&mut tally, "search");
        next().request_access(&c, &client_id).await;
        add(&mut tally, "access_request");
        for _ in 0..2 {
            let (status, body) = next().view(&c, &client_id).await;
            assert_eq!(status, 200, "{body}");
            assert!(
                body.contains("Granted"),
                "{username} sees {bsn}: {body:.200}"
            );
            add(&mut tally, "read");
        }
    }
    let (status, body) = next().view(&c, "00000000000000000000000000000000").await;
    assert_eq!(status, 200, "{body}");
    add(&mut tally, "access_denied");
    assert_eq!(next().call(&c, "logout", &[]).await.0, 200);
    add(&mut tally, "logout");
    tally
}

/// Searches over and over, round the instances, from its login (then `ready` is sent) until
/// `done` is set, and once more after that. Returns what it did.
async fn searcher(
    instances: Arc<Vec<Instance>>,
    ready: tokio::sync::oneshot::Sender<()>,
    done: Arc<AtomicBool>,
) -> Tally {
    let mut tally = Tally::new();
    let c = browser();
    assert_eq!(instances[0].login(&c, "verloskundige", PASSWORD).await, 200);
    add(&mut tally, "login");
    ready.send(()).expect("the command line waits");
    let (bsn, birth) = demo_searches().remove(1);
    for turn in 1.. {
        let finished = done.load(Ordering::SeqCst);
        instances[turn % instances.len()]
            .search(&c, &bsn, &birth)
            .await;
        add(&mut tally, "search");
        if finished {
            break;
        }
    }
    tally
}

async fn many_writers_extend_one_intact_chain(backend: Backend, instance_count: usize) {
    let started = Instant::now();
    let FreshDatabase {
        url: database_url,
        guard: _guard,
    } = fresh_database(backend).await;
    // Built one after the other: the first runs the migrations, all share the database.
    let mut instances = Vec::new();
    for _ in 0..instance_count {
        instances.push(start_instance(&database_url).await);
    }
    demo::seed(&instances[0].store).await.expect("demo seed");
    demo::enrol_second_factors(&instances[0].store, &crate::helpers::shared_secret_key())
        .await
        .expect("demo second factors");
    let before = instances[0].all_events().await.len();
    assert!(before > 0);
    let instances = Arc::new(instances);

    // A verifier that checks the chain over and over while it grows: every committed prefix
    // must be intact.
    let stop = Arc::new(AtomicBool::new(false));
    let verifications = Arc::new(AtomicUsize::new(0));
    let verifier = {
        let (instances, stop, verifications) =
            (instances.clone(), stop.clone(), verifications.clone());
        tokio::spawn(async move {
            let mut last = 0;
            while !stop.load(Ordering::Relaxed) {
                let store =
                    &instances[verifications.load(Ordering::Relaxed) % instances.len()].store;
                match backend::integrity::verify_chain(store)
                    .await
                    .expect("verify")
                {
                    VerifyReport::Intact { events } => {
                        assert!(events >= last, "the chain shrank: {events} < {last}");
                        last = events;
                    }
                    broken => panic!("broken while writers run: {broken:?}"),
                }
                verifications.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    // A searcher that runs from before the first command-line writer starts until after the
    // last one has finished, so the command line's events land among HTTP events.
    let (ready, cli_may_start) = tokio::sync::oneshot::channel();
    let cli_done = Arc::new(AtomicBool::new(false));
    let background = tokio::spawn(searcher(instances.clone(), ready, cli_done.clone()));

    // Command-line writers: `org add` with distinct ids, as separate processes, staggered.
    let cli_orgs = 6;
    let cli = {
        let (url, cli_done) = (database_url.clone(), cli_done.clone());
        tokio::task::spawn_blocking(move || {
            cli_may_start.blocking_recv().expect("searcher logged in");
            let children: Vec<_> = (0..cli_orgs)
                .map(|n| {
                    std::thread::sleep(Duration::from_millis(100));
                    Command::new(env!("CARGO_BIN_EXE_ooievaar"))
                        .args([
                            "org",
                            "add",
                            "--id",
                            &format!("audit-chain-org-{n}"),
                            "--name",
                            &format!("Praktijk {n}"),
                            "--kind",
                            "verloskundigenpraktijk",
                        ])
                        .env("DATABASE_URL", &url)
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .expect("run ooievaar")
                })
                .collect();
            let outputs = children
                .into_iter()
                .map(|child| child.wait_with_output().unwrap())
                .collect::<Vec<_>>();
            cli_done.store(true, Ordering::SeqCst);
            outputs
        })
    };

    // HTTP writers: each clinical user three times over (one worker per third of the demo
    // clients), so that each (user, client) pair asks for access exactly once; two workers start
    // with a wrong password (fewer than the free failures: no slow-down).
    let searches = demo_searches();
    let thirds = 3;
    let workers: Vec<_> = (0..CLINICAL_USERS.len() * thirds)
        .map(|w| {
            let username = CLINICAL_USERS[w % CLINICAL_USERS.len()];
            let third = w / CLINICAL_USERS.len();
            let clients: Vec<_> = searches
                .iter()
                .enumerate()
                .filter(|(i, _)| i % thirds == third)
                .map(|(_, s)| s.clone())
                .collect();
            tokio::spawn(professional(instances.clone(), w, username, clients, w < 2))
        })
        .collect();
    let mut performed = Tally::new();
    for worker in workers {
        for (action, n) in worker.await.expect("worker") {
            *performed.entry(action).or_default() += n;
        }
    }
    for out in cli.await.unwrap() {
        assert!(out.status.success(), "org add: {}", text(&out));
    }
    performed.insert("organisation_added", cli_orgs);
    for (action, n) in background.await.expect("searcher") {
        *performed.entry(action).or_default() += n;
    }
    stop.store(true, Ordering::Relaxed);
    verifier.await.expect("verifier");
    assert!(
        verifications.load(Ordering::Relaxed) >= 3,
        "the verifier ran during the load"
    );

    let events = instances[0].all_events().await;
    let expected = before + performed.values().sum::<usize>();
    assert_eq!(
        events.len(),
        expected,
        "one event per audited action: {performed:?}"
    );
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=expected as i64).collect::<Vec<_>>());
    let mut logged = Tally::new();
    for e in &events[before..] {
        let action = performed
            .keys()
            .find(|a| **a == e.action)
            .unwrap_or_else(|| panic!("unexpected event {e:?}"));
        add(&mut logged, action);
    }
    assert_eq!(logged, performed);
    // The command line's events lie among the HTTP events, not before or after them all.
    let (cli_events, http_events): (Vec<_>, Vec<_>) = events[before..]
        .iter()
        .partition(|e| e.action == "organisation_added");
    let cli_ids: Vec<i64> = cli_events.iter().map(|e| e.id).collect();
    assert!(
        http_events.first().unwrap().id < cli_ids[0]
            && http_events.last().unwrap().id > *cli_ids.last().unwrap(),
        "command-line events at {cli_ids:?}"
    );
    let http_between = http_events
        .iter()
        .filter(|e| e.id > cli_ids[0] && e.id < *cli_ids.last().unwrap())
        .count();
    // Times rise with ids (taken under the chain lock).
    assert!(events
        .windows(2)
        .all(|w| w[0].occurred_at <= w[1].occurred_at));
    for instance in instances.iter() {
        assert_eq!(
            instance.verify().await,
            VerifyReport::Intact {
                events: expected as i64
            }
        );
    }
    assert_cli_reports_intact(&database_url, expected);
    println!(
        "{backend:?}: {instance_count} instances, {} events written concurrently ({http_between} \
         HTTP events between the first and last command-line event), {} verifications during \
         the load, {:.1} s",
        expected - before,
        verifications.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}

mod several_instances_and_the_cli_extend_one_intact_chain {
    use crate::helpers::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::many_writers_extend_one_intact_chain(Backend::Postgres, 3).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        super::many_writers_extend_one_intact_chain(Backend::Sqlite, 3).await
    }
}

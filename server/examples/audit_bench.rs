//! Benchmark of the access log at volume: fills a fresh database with the demo network and N
//! events of generated history (`audit_load`), then measures the full chain verification, the
//! incremental one right after, and the privacy officer's review query (`Store::review_page`)
//! for each kind of filter, and prints the query plans. A benchmark, not a test.
//!
//! ```text
//! cargo run --release -p server --example audit_bench -- sqlite [--events N] [--seed S] [--keep]
//! cargo run --release -p server --example audit_bench -- postgres [--events N]
//! ```
//! N defaults to 1,000,000. The database comes from `backend::test_support::fresh_database`:
//! PostgreSQL: a fresh `ooievaar_test_<uuid>` on `OOIEVAAR_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432`), dropped at the end unless `--keep`.

use backend::store::{review_sql, Db, Keyset, ReviewQuery};
use backend::test_support::{drop_database, fresh_database, Backend};
use backend::{integrity, Store, StoreError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use server::demo;
use server::demo::audit_load::{self, LoadOptions};
use std::time::{Duration, Instant};

/// The officer whose review is measured.
const OFFICER_ORG: &str = "zh-rivierenland";
/// Queries per filter kind: half the first page, half from a random position (page 2+).
const QUERIES: usize = 300;
const WARM_UP: usize = 10;
const LIMIT: i64 = 51;
const DAY_MS: i64 = 86_400_000;

struct Args {
    backend: String,
    events: u64,
    seed: u64,
    /// Keep the database (to look into it afterwards).
    keep: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        backend: "sqlite".into(),
        events: 1_000_000,
        seed: audit_load::DEFAULT_SEED,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "sqlite" | "postgres" => args.backend = a,
            "--events" => {
                args.events = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--events N"))?
                    .replace(['_', ','], "")
                    .parse()?
            }
            "--seed" => {
                args.seed = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--seed S"))?
                    .parse()?
            }
            "--keep" => args.keep = true,
            other => {
                anyhow::bail!(
                    "unknown argument {other}: sqlite|postgres [--events N] [--seed S] [--keep]"
                )
            }
        }
    }
    Ok(args)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    ms(sorted[i])
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A value bound to a query of `review_sql`.
enum Value {
    Text(String),
    Int(i64),
}

/// The arguments of `review_sql`. Its `Arg` type is not exported from the store, so they are
/// read back from their `Debug` form (`Text("...")`, `Int(5)`); the values here (BSNs,
/// usernames, organisation ids, numbers) need no unescaping beyond JSON's.
fn values(args: &[impl std::fmt::Debug]) -> Vec<Value> {
    args.iter()
        .map(|a| {
            let text = format!("{a:?}");
            if let Some(inner) = text.strip_prefix("Text(").and_then(|t| t.strip_suffix(')')) {
                Value::Text(serde_json::from_str(inner).expect("a quoted string"))
            } else if let Some(inner) = text.strip_prefix("Int(").and_then(|t| t.strip_suffix(')'))
            {
                Value::Int(inner.parse().expect("an integer"))
            } else {
                panic!("unexpected review_sql argument {text}")
            }
        })
        .collect()
}

/// The plan of the review query, as lines.
async fn plan(store: &Store, query: &ReviewQuery) -> anyhow::Result<Vec<String>> {
    let (sql, args) = review_sql(query);
    let values = values(&args);
    Ok(match store.db() {
        Db::Sqlite(pool) => {
            let text = format!("EXPLAIN QUERY PLAN {sql}");
            let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&text);
            for v in &values {
                q = match v {
                    Value::Text(t) => q.bind(t.clone()),
                    Value::Int(i) => q.bind(*i),
                };
            }
            let rows = q.fetch_all(pool).await?;
            // Indent each node under its parent.
            let mut depth = std::collections::HashMap::new();
            rows.iter()
                .map(|(id, parent, _, detail)| {
                    let d = depth.get(parent).map_or(0, |d| d + 1);
                    depth.insert(*id, d);
                    format!("{}{detail}", "  ".repeat(d))
                })
                .collect()
        }
        Db::Postgres(pool) => {
            let text = format!("EXPLAIN (ANALYZE, BUFFERS) {sql}");
            let mut q = sqlx::query_scalar::<_, String>(&text);
            for v in &values {
                q = match v {
                    Value::Text(t) => q.bind(t.clone()),
                    Value::Int(i) => q.bind(*i),
                };
            }
            q.fetch_all(pool).await?
        }
    })
}

/// The lines of a plan that read a whole large table of the log (the small tables, users,
/// organisations and reviews, may be scanned: they fit in a page or two).
fn full_scans(lines: &[String]) -> Vec<String> {
    const LARGE: [&str; 3] = ["audit_events", "audit_scope", "audit_flags"];
    // The review query's aliases of the large tables (SQLite names a table by its alias).
    const ALIASES: [&str; 4] = ["e", "k", "f", "s"];
    lines
        .iter()
        .filter(|l| {
            let l = l.trim().trim_start_matches("->").trim();
            let sqlite = l
                .strip_prefix("SCAN ")
                .filter(|rest| !rest.contains(" USING "))
                .is_some_and(|rest| {
                    let name = rest.split_whitespace().next().unwrap_or("");
                    LARGE.contains(&name) || ALIASES.contains(&name)
                });
            let postgres = l
                .strip_prefix("Seq Scan on ")
                .and_then(|rest| rest.split_whitespace().next())
                .is_some_and(|table| LARGE.contains(&table));
            sqlite || postgres
        })
        .cloned()
        .collect()
}

async fn scalar_i64(store: &Store, sql: &str) -> anyhow::Result<i64> {
    Ok(match store.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
        Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
    })
}

async fn strings(store: &Store, sql: &str) -> anyhow::Result<Vec<String>> {
    Ok(match store.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await?,
        Db::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await?,
    })
}

async fn execute(store: &Store, sql: &str) -> anyhow::Result<()> {
    match store.db() {
        Db::Sqlite(p) => {
            sqlx::query(sql).execute(p).await?;
        }
        Db::Postgres(p) => {
            sqlx::query(sql).execute(p).await?;
        }
    }
    Ok(())
}

/// What the officer filters on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unfiltered,
    Client,
    User,
    Period,
    Flagged,
    /// Worst cases beside the four asked for: an action that is rare in the scope, and a
    /// busy user of another organisation (few of her events are in the officer's scope).
    RareAction,
    OtherUser,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::Unfiltered,
        Kind::Client,
        Kind::User,
        Kind::Period,
        Kind::Flagged,
        Kind::RareAction,
        Kind::OtherUser,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Unfiltered => "no filter",
            Kind::Client => "client (bsn)",
            Kind::User => "user (busy)",
            Kind::Period => "period (7 days)",
            Kind::Flagged => "flagged only",
            Kind::RareAction => "action (rare)*",
            Kind::OtherUser => "user (other org)*",
        }
    }

    /// Queries measured (the worst cases can each run up to the 5 s bound).
    fn queries(self) -> usize {
        match self {
            Kind::RareAction | Kind::OtherUser => 40,
            _ => QUERIES,
        }
    }
}

/// The material the queries draw from.
struct Samples {
    bsns: Vec<String>,
    busy_users: Vec<String>,
    other_users: Vec<String>,
    first: i64,
    last: i64,
}

fn query(kind: Kind, s: &Samples, rng: &mut StdRng, page_two: bool) -> ReviewQuery {
    let mut q = ReviewQuery::new(OFFICER_ORG);
    q.limit = LIMIT;
    let (mut lo, mut hi) = (s.first, s.last + 1);
    match kind {
        Kind::Unfiltered => {}
        Kind::Client => q.bsn = Some(s.bsns[rng.gen_range(0..s.bsns.len())].clone()),
        Kind::User => {
            q.user_name = Some(s.busy_users[rng.gen_range(0..s.busy_users.len())].clone())
        }
        Kind::Period => {
            let from = rng.gen_range(s.first..(s.last - 7 * DAY_MS).max(s.first + 1));
            q.from_ms = Some(from);
            q.until_ms = Some(from + 7 * DAY_MS);
            (lo, hi) = (from, from + 7 * DAY_MS);
        }
        Kind::Flagged => q.flagged_only = true,
        Kind::RareAction => q.action = Some(domain::AuditAction::ConsentWithdrawn),
        Kind::OtherUser => {
            q.user_name = Some(s.other_users[rng.gen_range(0..s.other_users.len())].clone())
        }
    }
    if page_two {
        // A position somewhere in the filtered range, as a "next page" link carries one.
        q.before = Some(Keyset {
            occurred_at: rng.gen_range(lo..hi),
            id: i64::MAX,
        });
    }
    q
}

#[derive(Default)]
struct Timing {
    samples: Vec<Duration>,
    rows: usize,
    /// Queries interrupted at the time bound (`StoreError::TooBroad`).
    too_broad: usize,
}

impl Timing {
    fn line(&mut self, what: &str) -> String {
        self.samples.sort();
        format!(
            "{what:<24} {:>5} {:>8.1} {:>9.2} {:>9.2} {:>9.2} {:>6}",
            self.samples.len(),
            self.rows as f64 / self.samples.len() as f64,
            percentile(&self.samples, 0.50),
            percentile(&self.samples, 0.95),
            ms(*self.samples.last().unwrap()),
            self.too_broad,
        )
    }
}

async fn run(store: &Store, args: &Args) -> anyhow::Result<()> {
    let backend = store.backend_name();
    println!("== {backend}: demo seed");
    demo::seed(store)
        .await
        .map_err(|e| anyhow::anyhow!("demo seed: {e}"))?;

    println!(
        "== {backend}: generating {} events (seed {})",
        thousands(args.events),
        args.seed
    );
    let started = Instant::now();
    let mut next_print = Instant::now();
    let options = LoadOptions {
        seed: args.seed,
        ..LoadOptions::new(args.events)
    };
    let report = audit_load::generate_with(store, &options, |done, total| {
        if next_print.elapsed() >= Duration::from_secs(15) || done == total {
            next_print = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "   {:>11} / {} ({:>3.0}%)  {:>6.0} s  {:>7.0} events/s",
                thousands(done),
                thousands(total),
                100.0 * done as f64 / total.max(1) as f64,
                secs,
                done as f64 / secs.max(1e-9)
            );
        }
    })
    .await?;
    println!(
        "   generated {} events in {:.1} s: {:.0} events/s; {} professionals, {} clients, {} bursts",
        thousands(report.events),
        report.elapsed.as_secs_f64(),
        report.events_per_second(),
        report.professionals,
        report.clients,
        report.bursts
    );
    println!("   mix:");
    let mut mix: Vec<_> = report.per_action.iter().collect();
    mix.sort_by(|a, b| b.1.cmp(a.1));
    for (action, n) in mix {
        println!(
            "     {action:<18} {:>10} {:>6.2}%",
            thousands(*n),
            100.0 * *n as f64 / report.events as f64
        );
    }

    let events = scalar_i64(store, "SELECT COUNT(*) FROM audit_events").await?;
    let scope = scalar_i64(
        store,
        &format!("SELECT COUNT(*) FROM audit_scope WHERE organisation_id = '{OFFICER_ORG}'"),
    )
    .await?;
    let flagged = scalar_i64(store, "SELECT COUNT(*) FROM audit_flags").await?;
    let flagged_in_scope = scalar_i64(
        store,
        &format!(
            "SELECT COUNT(*) FROM audit_flags f JOIN audit_scope s ON s.event_id = f.event_id \
             AND s.organisation_id = '{OFFICER_ORG}'"
        ),
    )
    .await?;
    println!(
        "   audit_events {}, in {OFFICER_ORG}'s scope {} ({:.0}%), flagged {} ({} in scope)",
        thousands(events as u64),
        thousands(scope as u64),
        100.0 * scope as f64 / events as f64,
        thousands(flagged as u64),
        thousands(flagged_in_scope as u64)
    );
    for flag in [
        "out_of_hours",
        "bulk",
        "spoed",
        "access_denied",
        "new_grant_other_organisation",
    ] {
        let n = scalar_i64(
            store,
            &format!("SELECT COUNT(*) FROM audit_flags WHERE flags LIKE '%\"{flag}\"%'"),
        )
        .await?;
        println!("     flag {flag:<30} {:>9}", thousands(n as u64));
    }
    match store.db() {
        Db::Sqlite(_) => {
            let pages = scalar_i64(store, "SELECT page_count FROM pragma_page_count()").await?;
            let size = scalar_i64(store, "SELECT page_size FROM pragma_page_size()").await?;
            println!(
                "   database size {:.0} MB",
                (pages * size) as f64 / 1_048_576.0
            );
        }
        Db::Postgres(_) => {
            let size = scalar_i64(store, "SELECT pg_database_size(current_database())").await?;
            println!("   database size {:.0} MB", size as f64 / 1_048_576.0);
            // Autovacuum would analyse the new rows within minutes; do it now, so the plans
            // below are the ones production gets, not those of empty-table statistics.
            let t = Instant::now();
            execute(store, "ANALYZE").await?;
            println!("   ANALYZE {:.1} s", t.elapsed().as_secs_f64());
        }
    }

    println!("== {backend}: chain verification");
    let t = Instant::now();
    let full = integrity::verify_full(store).await?;
    let full_time = t.elapsed();
    println!(
        "   verify_full: {full:?} in {:.2} s ({:.0} events/s)",
        full_time.as_secs_f64(),
        events as f64 / full_time.as_secs_f64()
    );
    let t = Instant::now();
    let state = integrity::chain_state(store)
        .await
        .map_err(|e| anyhow::anyhow!("chain_state: {e:?}"))?;
    println!(
        "   chain_state (incremental) right after: {:.1} ms, {} events, broken at {:?}",
        ms(t.elapsed()),
        state.events,
        state.broken_at
    );

    println!("== {backend}: review_page as the privacy officer of {OFFICER_ORG}, limit {LIMIT}");
    let (first, last) = (
        report.first_ms.unwrap_or(0),
        report
            .last_ms
            .unwrap_or(0)
            .max(report.first_ms.unwrap_or(0) + 1),
    );
    let samples = Samples {
        bsns: strings(
            store,
            // Clients, not the mistyped BSNs of failed searches (one event each).
            "SELECT bsn FROM audit_events WHERE bsn IS NOT NULL GROUP BY bsn \
             HAVING COUNT(*) >= 5 ORDER BY bsn",
        )
        .await?,
        busy_users: strings(
            store,
            &format!(
                "SELECT user_name FROM audit_events WHERE organisation_id = '{OFFICER_ORG}' \
                 AND user_name IS NOT NULL GROUP BY user_name ORDER BY COUNT(*) DESC, user_name LIMIT 10"
            ),
        )
        .await?,
        other_users: strings(
            store,
            "SELECT user_name FROM audit_events WHERE organisation_id = 'kz-kraamhoek' \
             AND user_name IS NOT NULL GROUP BY user_name ORDER BY COUNT(*) DESC, user_name LIMIT 10",
        )
        .await?,
        first,
        last,
    };
    let busiest = scalar_i64(
        store,
        &format!(
            "SELECT COUNT(*) FROM audit_events WHERE user_name = '{}'",
            samples.busy_users.first().cloned().unwrap_or_default()
        ),
    )
    .await?;
    println!(
        "   {} BSNs with 5 or more events; busy users {} (busiest {}: {} events)",
        samples.bsns.len(),
        samples.busy_users.join(", "),
        samples.busy_users.first().cloned().unwrap_or_default(),
        thousands(busiest as u64)
    );
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x5eed);
    println!(
        "\n   {:<24} {:>5} {:>8} {:>9} {:>9} {:>9} {:>6}",
        "filter", "n", "avg rows", "p50 ms", "p95 ms", "max ms", "> 5 s"
    );
    let mut slow = Vec::new();
    for kind in Kind::ALL {
        for _ in 0..WARM_UP.min(kind.queries() / 10) {
            let page_two = rng.gen_bool(0.5);
            let q = query(kind, &samples, &mut rng, page_two);
            match store.review_page(&q).await {
                Ok(_) | Err(StoreError::TooBroad) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut first_page = Timing::default();
        let mut later_page = Timing::default();
        for n in 0..kind.queries() {
            let page_two = n % 2 == 1;
            let q = query(kind, &samples, &mut rng, page_two);
            let t = Instant::now();
            let result = store.review_page(&q).await;
            let elapsed = t.elapsed();
            let timing = if page_two {
                &mut later_page
            } else {
                &mut first_page
            };
            timing.samples.push(elapsed);
            match result {
                Ok(rows) => timing.rows += rows.len(),
                Err(StoreError::TooBroad) => timing.too_broad += 1,
                Err(e) => return Err(e.into()),
            }
        }
        let mut all = Timing {
            samples: first_page
                .samples
                .iter()
                .chain(&later_page.samples)
                .copied()
                .collect(),
            rows: first_page.rows + later_page.rows,
            too_broad: first_page.too_broad + later_page.too_broad,
        };
        println!("   {}", all.line(kind.name()));
        println!("   {}", first_page.line("  page 1"));
        println!("   {}", later_page.line("  page 2+ (before)"));
        if percentile(&all.samples, 0.95) > 100.0 {
            slow.push(kind.name());
        }
    }

    println!("   * beyond the four asked-for kinds: worst cases of the scope walk");

    println!("\n== {backend}: query plans (one query per kind, page 1 and page 2+)");
    let mut scans = Vec::new();
    for kind in Kind::ALL {
        for page_two in [false, true] {
            let q = query(kind, &samples, &mut rng, page_two);
            let lines = plan(store, &q).await?;
            println!(
                "\n   -- {}{}",
                kind.name(),
                if page_two { ", page 2+" } else { ", page 1" }
            );
            for l in &lines {
                println!("   {l}");
            }
            for s in full_scans(&lines) {
                scans.push(format!("{} : {}", kind.name(), s.trim()));
            }
        }
    }
    println!();
    if scans.is_empty() {
        println!("   no plan reads a whole audit_events, audit_scope or audit_flags table");
    } else {
        println!("   WHOLE-TABLE SCANS:");
        for s in scans {
            println!("     {s}");
        }
    }
    if !slow.is_empty() {
        println!("   p95 above 100 ms: {}", slow.join(", "));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let backend = if args.backend == "postgres" {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let db = fresh_database(backend).await;
    println!(
        "database: {}",
        match backend {
            Backend::Postgres => db.url.rsplit('/').next().unwrap_or_default(),
            Backend::Sqlite => db.url.as_str(),
        }
    );
    let store = Store::connect(&db.url).await?;
    let result = run(&store, &args).await;
    store.close().await;
    if args.keep {
        let kept = db.guard.map(|d| d.keep());
        println!("kept {} ({kept:?})", db.url);
    } else if let Some(name) = drop_database(&db).await? {
        println!("dropped database {name}");
    }
    result
}

//! Load benchmark of the audited client-page view: N concurrent logged-in professionals, each
//! with her own grant, repeatedly loading `/clients/{id}` (server-rendered HTML; every load
//! re-checks grant and consent and writes a durable `read` event), while one probe loads
//! `/healthz` over and over in the same run. Prints p50/p99 of both, their ratio, and how many
//! events each commit of the access log carried (the group commit, `store::group_commit`)
//! and how many views used the lists kept from an earlier view (`store::kept_views`).
//! A benchmark, not a test: run it with the release profile.
//!
//! ```text
//! cargo run --release -p server --example view_load -- sqlite [--users 10,50,200]
//! cargo run --release -p server --example view_load -- postgres postgres://postgres@127.0.0.1:5432
//! cargo run --release -p server --example view_load -- sqlite --views 10000 --runs 5
//! ```
//!
//! `--views` sets the views of one run (default 2,000, about a second and a half on a 2-core
//! machine); `--runs` repeats the run and then prints the median of the runs' p50, p99 and
//! views/s. On a shared machine one short run's p99 moves by half between runs (48 to 98 ms
//! at 50 users seen on one machine in one sitting), so compare medians of several runs.

use backend::Settings;
use server::demo;
use std::time::{Duration, Instant};

/// Views in one measured run, spread over the users, unless `--views` says otherwise.
const VIEWS: usize = 2_000;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

struct Summary {
    n: usize,
    p50: f64,
    p99: f64,
    max: f64,
    per_second: f64,
}

fn summary(mut samples: Vec<Duration>, wall: Duration) -> Summary {
    samples.sort();
    Summary {
        n: samples.len(),
        p50: percentile(&samples, 0.50),
        p99: percentile(&samples, 0.99),
        max: samples.last().unwrap().as_secs_f64() * 1000.0,
        per_second: samples.len() as f64 / wall.as_secs_f64(),
    }
}

async fn load(client: &reqwest::Client, url: &str) -> Duration {
    let t = Instant::now();
    let response = client
        .get(url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    assert!(!body.is_empty());
    t.elapsed()
}

/// Every user loads her page `per_user` times; one probe loads `/healthz` meanwhile.
async fn run(
    clients: &[(reqwest::Client, String)],
    per_user: usize,
    health: &str,
) -> (Summary, Summary) {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (client, url) in clients {
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            let mut samples = Vec::with_capacity(per_user);
            for _ in 0..per_user {
                samples.push(load(&client, &url).await);
            }
            samples
        });
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = {
        let (client, url, done) = (reqwest::Client::new(), health.to_owned(), done.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let started = Instant::now();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                samples.push(load(&client, &url).await);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (samples, started.elapsed())
        })
    };
    let mut views = Vec::new();
    while let Some(samples) = tasks.join_next().await {
        views.extend(samples.unwrap());
    }
    let wall = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let (probes, probe_wall) = probe.await.unwrap();
    (summary(views, wall), summary(probes, probe_wall))
}

/// The value after `flag`, parsed; `default` without the flag.
fn option<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> anyhow::Result<T> {
    match args.iter().position(|a| a == flag) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("{flag} takes a positive number")),
    }
}

/// The middle value (the upper one of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

mod common;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let user_counts: Vec<usize> = match args.iter().position(|a| a == "--users") {
        Some(i) => args
            .get(i + 1)
            .map(|list| list.split(',').filter_map(|n| n.parse().ok()).collect())
            .unwrap_or_default(),
        None => vec![50],
    };
    anyhow::ensure!(
        !user_counts.is_empty(),
        "--users takes a list such as 10,50,200"
    );
    let views_per_run: usize = option(&args, "--views", VIEWS)?;
    let runs: usize = option(&args, "--runs", 1)?;
    anyhow::ensure!(
        views_per_run > 0 && runs > 0,
        "--views and --runs take a positive number"
    );
    let bench = common::start(Settings::default()).await?;
    let (store, base, backend) = (
        bench.store.clone(),
        bench.base.clone(),
        bench.backend.clone(),
    );

    // Midwives, each logged in with her own session and her own grant for a demo client.
    let (bsn, _, birth) = demo::demo_clients().remove(0);
    let password = "benchmark-wachtwoord";
    let mut clients = Vec::new();
    for n in 0..*user_counts.iter().max().unwrap() {
        let username = format!("vk-{n:03}");
        let client = common::logged_in_midwife(&store, &base, &username, password).await?;
        let found: serde_json::Value = client
            .post(format!("{base}/api/search"))
            .form(&[("bsn", bsn.as_ref()), ("birth_date", &birth.to_string())])
            .send()
            .await?
            .json()
            .await?;
        let id = found["found"]["client_id"]
            .as_str()
            .expect("demo client")
            .to_owned();
        let granted = client
            .post(format!("{base}/api/request_access"))
            .form(&[
                ("client_id", id.as_str()),
                ("ground", "behandelrelatie"),
                ("reason", ""),
                ("attest", "ja"),
            ])
            .send()
            .await?;
        anyhow::ensure!(granted.status() == 200, "grant {}", granted.status());
        clients.push((client, format!("{base}/clients/{id}")));
    }
    let health = format!("{base}/healthz");

    for users in user_counts {
        let clients = &clients[..users];
        run(clients, 2, &health).await; // warm-up
        let mut measured = Vec::with_capacity(runs);
        for _ in 0..runs {
            let before = store.group_commit_stats();
            let kept_before = store.kept_view_stats();
            let (views, probes) = run(clients, (views_per_run / users).max(5), &health).await;
            let after = store.group_commit_stats();
            let kept = store.kept_view_stats();
            let commits = after.commits - before.commits;
            println!(
                "{backend} {users:>3} users: audited client page n={} p50={:.1} ms p99={:.1} ms \
                 max={:.1} ms {:.0} views/s | /healthz beside it n={} p50={:.1} ms p99={:.1} ms | \
                 p99 ratio view/healthz {:.1} | {} commits, {:.1} events per commit, {} re-reads | \
                 {} views used kept lists, {} read them",
                views.n,
                views.p50,
                views.p99,
                views.max,
                views.per_second,
                probes.n,
                probes.p50,
                probes.p99,
                views.p99 / probes.p99,
                commits,
                (after.appended - before.appended) as f64 / commits.max(1) as f64,
                after.stale - before.stale,
                kept.used - kept_before.used,
                kept.read - kept_before.read,
            );
            measured.push((views, probes));
        }
        if runs > 1 {
            let of = |f: fn(&(Summary, Summary)) -> f64| median(measured.iter().map(f).collect());
            println!(
                "{backend} {users:>3} users: median of {runs} runs: p50={:.1} ms p99={:.1} ms \
                 {:.0} views/s | /healthz p99={:.1} ms",
                of(|(v, _)| v.p50),
                of(|(v, _)| v.p99),
                of(|(v, _)| v.per_second),
                of(|(_, h)| h.p99),
            );
        }
    }
    Ok(())
}

//! Load benchmark of the audited client-page view: 50 concurrent logged-in professionals, each
//! with her own grant, repeatedly loading `/clients/{id}` (server-rendered HTML; every load
//! re-checks grant and consent and writes a `read` event), next to `/healthz` under the same
//! load. Prints p50/p99 latencies. A benchmark, not a test.
//!
//! ```text
//! cargo run --release -p server --example view_load -- sqlite
//! cargo run --release -p server --example view_load -- postgres postgres://postgres@127.0.0.1:5432
//! ```

use backend::Settings;
use server::demo;
use std::time::{Duration, Instant};

const USERS: usize = 50;
const VIEWS_PER_USER: usize = 20;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(what: &str, mut samples: Vec<Duration>, wall: Duration) {
    samples.sort();
    println!(
        "{what}: n={} p50={:.1} ms p99={:.1} ms max={:.1} ms throughput={:.0}/s",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        samples.last().unwrap().as_secs_f64() * 1000.0,
        samples.len() as f64 / wall.as_secs_f64()
    );
}

async fn run_concurrently(
    clients: &[(reqwest::Client, String)],
    per_user: usize,
) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (client, url) in clients {
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            let mut samples = Vec::with_capacity(per_user);
            for _ in 0..per_user {
                let t = Instant::now();
                let response = client
                    .get(&url)
                    .header("accept", "text/html")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                let body = response.bytes().await.unwrap();
                assert!(!body.is_empty());
                samples.push(t.elapsed());
            }
            samples
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.unwrap());
    }
    (all, started.elapsed())
}

mod common;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bench = common::start(Settings::default()).await?;
    let (store, base, backend) = (
        bench.store.clone(),
        bench.base.clone(),
        bench.backend.clone(),
    );

    // 50 midwives, each logged in with her own session and her own grant for a demo client.
    let (bsn, _, birth) = demo::demo_clients().remove(0);
    let password = "benchmark-wachtwoord";
    let mut clients = Vec::new();
    for n in 0..USERS {
        let username = format!("vk-{n:02}");
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
    let health: Vec<_> = clients
        .iter()
        .map(|(c, _)| (c.clone(), format!("{base}/healthz")))
        .collect();

    run_concurrently(&clients, 2).await; // warm-up
    let (views, wall) = run_concurrently(&clients, VIEWS_PER_USER).await;
    report(
        &format!("{backend} audited client page, {USERS} concurrent users"),
        views,
        wall,
    );
    let (probes, wall) = run_concurrently(&health, VIEWS_PER_USER).await;
    report(
        &format!("{backend} /healthz, {USERS} concurrent users"),
        probes,
        wall,
    );
    Ok(())
}

//! Flood benchmark (issue 9 finding 2, DESIGN rule 9): 20 logged-in clinicians load the audited
//! client page (`/clients/{id}`: grant and consent re-checked, a `read` event appended) while
//! unauthenticated traffic floods the server: 200 concurrent bad logins (`POST /api/login` as
//! the hydrated login page sends it, wrong password or unknown user) and 200 concurrent forged
//! source tokens (`PUT /api/v1/shares/{bsn}`). Prints the clinicians' view p50/p95/p99 without
//! the flood and under it, what the flood achieved, the events it wrote, and the process's peak
//! memory (VmHWM). A benchmark, not a test.
//!
//! Two floods are measured: from 400 addresses (one per attacking connection: no address
//! reaches its limit, the harder case for the log writer and the hasher), and from one
//! address (past its limits at once: refused without log writes, logins slowed).
//!
//! ```text
//! cargo run --release -p server --example flood_load -- sqlite
//! cargo run --release -p server --example flood_load -- postgres postgres://postgres@127.0.0.1:5432
//! ```
//!
//! The attackers run in a child process (this example started again with `attack`), so the
//! memory figures are the server's (with the 20 clinicians' clients); they share the cores,
//! though: on a small machine the attackers' own work is part of what the clinicians wait for.

use backend::Settings;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use server::demo;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

const CLINICIANS: usize = 20;
const VIEWS_PER_CLINICIAN: usize = 40;
const BAD_LOGINS: usize = 200;
const BAD_TOKENS: usize = 200;
/// A private key no source registered (the test suite's fixture).
const FORGING_KEY: &str = include_str!("../tests/fixtures/keys/es256-c.pem");
/// The public key registered for the source the forged tokens name (another fixture).
const REGISTERED_KEY: &str = include_str!("../tests/fixtures/keys/es256-a.pub.pem");

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// (p50, p95, p99) in ms, and the report line.
fn summarise(what: &str, mut samples: Vec<Duration>, wall: Duration) -> (f64, f64, f64) {
    samples.sort();
    let (p50, p95, p99) = (
        percentile(&samples, 0.50),
        percentile(&samples, 0.95),
        percentile(&samples, 0.99),
    );
    println!(
        "{what}: n={} p50={p50:.1} ms p95={p95:.1} ms p99={p99:.1} ms max={:.1} ms ({:.0} views/s)",
        samples.len(),
        samples.last().unwrap().as_secs_f64() * 1000.0,
        samples.len() as f64 / wall.as_secs_f64()
    );
    (p50, p95, p99)
}

/// The process's peak and current resident memory in MiB, from /proc/self/status.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kib("VmHWM:") / 1024.0, kib("VmRSS:") / 1024.0)
}

/// Every clinician loads her client page `per_clinician` times, all at once.
async fn views(
    clinicians: &[(reqwest::Client, String)],
    per_clinician: usize,
) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (client, url) in clinicians {
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            let mut samples = Vec::with_capacity(per_clinician);
            for _ in 0..per_clinician {
                let t = Instant::now();
                let response = client
                    .get(&url)
                    .header("accept", "text/html")
                    .send()
                    .await
                    .expect("view");
                assert_eq!(response.status(), 200, "a clinician's view");
                let body = response.bytes().await.expect("page");
                assert!(!body.is_empty());
                samples.push(t.elapsed());
            }
            samples
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.expect("view task"));
    }
    (all, started.elapsed())
}

/// The address of attacker `i` of a kind (`login` or `token`).
type AttackerAddress = fn(&'static str, usize) -> IpAddr;

/// Answers the flood got, per kind and status.
type Tally = Arc<Mutex<BTreeMap<(&'static str, u16), u64>>>;

/// An attacker's client: from its own address, without the built-in root certificates (plain
/// http here), so 400 of them cost the load generator little memory.
fn attacker_client(ip: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip)
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// The attackers' clients: `BAD_LOGINS` for logins, then `BAD_TOKENS` for tokens.
fn attacker_clients(address: AttackerAddress) -> Vec<reqwest::Client> {
    (0..BAD_LOGINS)
        .map(|i| attacker_client(address("login", i)))
        .chain((0..BAD_TOKENS).map(|i| attacker_client(address("token", i))))
        .collect()
}

/// Starts the attackers; they run until `stop`.
fn start_flood(
    base: &str,
    stop: Arc<AtomicBool>,
    tally: Tally,
    clients: &[reqwest::Client],
) -> tokio::task::JoinSet<()> {
    let mut attackers = tokio::task::JoinSet::new();
    let mut claims = serde_json::json!({
        "iss": "de-wieg-epd", "sub": "de-wieg-epd", "aud": "ooievaar", "jti": "forged",
    });
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    claims["iat"] = now.into();
    claims["exp"] = (now + 3600).into();
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &claims,
        &EncodingKey::from_ec_pem(FORGING_KEY.as_bytes()).expect("fixture key"),
    )
    .expect("sign");
    let share = serde_json::json!({
        "consent": "active", "client": {"name": "X", "birth_date": "1990-01-01"},
        "pregnancies": [], "entries": [],
    })
    .to_string();
    for (i, c) in clients[..BAD_LOGINS].iter().enumerate() {
        let (c, stop, tally) = (c.clone(), stop.clone(), tally.clone());
        let (url, origin) = (format!("{base}/api/login"), base.to_owned());
        attackers.spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Half guess a real account's password, half try names that do not exist.
                let username = if n.is_multiple_of(2) {
                    "verloskundige".to_owned()
                } else {
                    format!("gok-{i}-{n}")
                };
                let status = match c
                    .post(&url)
                    .header("accept", "application/json")
                    .header("origin", &origin)
                    .form(&[("username", username.as_str()), ("password", "geraden-123")])
                    .send()
                    .await
                {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                *tally
                    .lock()
                    .unwrap()
                    .entry(("bad login", status))
                    .or_default() += 1;
                n += 1;
            }
        });
    }
    for c in &clients[BAD_LOGINS..] {
        let (c, stop, tally) = (c.clone(), stop.clone(), tally.clone());
        let url = format!("{base}/api/v1/shares/111222333");
        let (token, share) = (token.clone(), share.clone());
        attackers.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let status = match c
                    .put(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(share.clone())
                    .send()
                    .await
                {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                *tally
                    .lock()
                    .unwrap()
                    .entry(("bad token", status))
                    .or_default() += 1;
            }
        });
    }
    attackers
}

/// The flood's address plans: from 400 addresses, or from one.
const FLOODS: [(&str, &str, AttackerAddress); 2] = [
    ("flood from 400 addresses", "spread", |kind, i| {
        let third = if kind == "login" { 1 } else { 2 };
        IpAddr::from([127, 0, third, (i % 250) as u8 + 1])
    }),
    ("flood from one address", "one", |_, _| {
        IpAddr::from([127, 0, 3, 1])
    }),
];

/// `flood_load attack <base> <plan>`: floods until stdin closes, then prints the tally as
/// `kind<TAB>status<TAB>count` lines.
async fn attack(base: &str, plan: &str) -> anyhow::Result<()> {
    let (_, _, address) = FLOODS
        .iter()
        .find(|(_, name, _)| *name == plan)
        .ok_or_else(|| anyhow::anyhow!("unknown plan {plan}"))?;
    let clients = attacker_clients(*address);
    let (stop, tally): (Arc<AtomicBool>, Tally) = (Arc::default(), Arc::default());
    let mut flood = start_flood(base, stop.clone(), tally.clone(), &clients);
    tokio::task::spawn_blocking(|| {
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new())
    })
    .await??;
    stop.store(true, Ordering::Relaxed);
    while flood.join_next().await.is_some() {}
    for ((kind, status), count) in tally.lock().unwrap().iter() {
        println!("{kind}\t{status}\t{count}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("attack") {
        return attack(&args[2], &args[3]).await;
    }
    let bench = common::start(Settings::default()).await?;
    let (store, base, backend) = (
        bench.store.clone(),
        bench.base.clone(),
        bench.backend.clone(),
    );

    // 20 midwives, each logged in with her own session and her own grant for a demo client.
    let demo_clients = demo::demo_clients();
    let password = "benchmark-wachtwoord";
    let mut clinicians = Vec::new();
    for n in 0..CLINICIANS {
        let username = format!("vk-{n:02}");
        let client = common::logged_in_midwife(&store, &base, &username, password).await?;
        // Demo client n (or the next one that search finds: some have withdrawn consent).
        let mut id = None;
        for k in 0..demo_clients.len() {
            let (bsn, _, birth) = &demo_clients[(n + k) % demo_clients.len()];
            let found: serde_json::Value = client
                .post(format!("{base}/api/search"))
                .form(&[("bsn", bsn.as_ref()), ("birth_date", &birth.to_string())])
                .send()
                .await?
                .json()
                .await?;
            id = found["found"]["client_id"].as_str().map(str::to_owned);
            if id.is_some() {
                break;
            }
        }
        let id = id.ok_or_else(|| anyhow::anyhow!("no demo client found"))?;
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
        clinicians.push((client, format!("{base}/clients/{id}")));
    }

    // The forged tokens name a source with a registered key, so each one costs the server a
    // signature verification (a source without keys would refuse them cheaper).
    let key_dir = tempfile::tempdir()?;
    let key_path = key_dir.path().join("es256-a.pub.pem");
    std::fs::write(&key_path, REGISTERED_KEY)?;
    backend::sources::add_key(&store, "de-wieg-epd", &key_path.display().to_string())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    println!(
        "{backend}: {CLINICIANS} clinicians x {VIEWS_PER_CLINICIAN} views per phase; flood: \
         {BAD_LOGINS} concurrent bad logins + {BAD_TOKENS} concurrent forged tokens; {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    views(&clinicians, 3).await; // warm-up
    let (samples, wall) = views(&clinicians, VIEWS_PER_CLINICIAN).await;
    let (_, quiet_p95, _) = summarise("without flood", samples, wall);
    let (hwm, rss) = memory();
    println!("memory without flood: VmHWM {hwm:.0} MiB, VmRSS {rss:.0} MiB");

    for (what, plan, _) in FLOODS {
        let events_before = store.audit_events_after(0, 10_000_000).await?.len();
        let started = Instant::now();
        let mut attackers = std::process::Command::new(std::env::current_exe()?)
            .args(["attack", base.as_str(), plan])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        tokio::time::sleep(Duration::from_secs(3)).await; // the flood ramps up
        let (samples, wall) = views(&clinicians, VIEWS_PER_CLINICIAN).await;
        drop(attackers.stdin.take()); // stop
        let output = tokio::task::spawn_blocking(move || attackers.wait_with_output()).await??;
        anyhow::ensure!(output.status.success(), "the attackers failed");
        let flood_secs = started.elapsed().as_secs_f64();
        let (_, p95, _) = summarise(&format!("under {what}"), samples, wall);
        println!(
            "  p95 under flood / without: {:.2}x (target at most 3x)",
            p95 / quiet_p95
        );
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let [kind, status, count] = line.split('\t').collect::<Vec<_>>()[..] else {
                continue;
            };
            let count: f64 = count.parse().unwrap_or(0.0);
            println!(
                "  {kind} answered {status}: {count} ({:.0}/s)",
                count / flood_secs
            );
        }
        let written = store.audit_events_after(0, 10_000_000).await?;
        let mut by_action: BTreeMap<String, usize> = BTreeMap::new();
        for e in &written[events_before..] {
            *by_action.entry(e.action.clone()).or_default() += 1;
        }
        println!("  events written meanwhile: {by_action:?}");
        let (hwm, rss) = memory();
        println!("  memory: VmHWM {hwm:.0} MiB, VmRSS {rss:.0} MiB");
    }
    Ok(())
}

//! Throughput of the share API: PUT /api/v1/shares/{bsn} with a 200-entry share, through the
//! real router, token verification and database, on SQLite or PostgreSQL.
//!
//! ```text
//! cargo run --release -p server --example share_bench -- sqlite
//! cargo run --release -p server --example share_bench -- postgres postgres://postgres@127.0.0.1:5432
//! ```
//! Prints shares per second for sequential calls and for 4 concurrent callers, as JSON shares
//! and as the same content in FHIR bundles (`POST /api/v1/fhir`, DESIGN 8.2). A benchmark,
//! not a test: figures depend on the machine.

use backend::Settings;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use std::time::Instant;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys");

fn token(key: &EncodingKey) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({"iss": "de-wieg-epd", "sub": "de-wieg-epd", "aud": "ooievaar", "iat": now,
        "exp": now + 60, "jti": uuid::Uuid::new_v4().to_string()});
    jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, key).unwrap()
}

fn share(round: usize) -> String {
    json!({
        "consent": "active",
        "client": {"name": "Bench Cliënt", "birth_date": "1991-02-03"},
        "pregnancies": [{"id": "p1", "edd": "2027-04-01", "gravidity": 1, "parity": 0, "status": "active", "ended_on": null}],
        "entries": (0..200).map(|n| json!({"id": format!("e{n}"), "pregnancy_id": "p1",
            "category": "pregnancy", "code": "rr", "label": "Bloeddruk", "value": format!("12{}/8{}", round % 10, n % 10),
            "unit": "mmHg", "observed_at": "2026-11-01T10:00:00Z", "sensitivity": "normal"})).collect::<Vec<_>>(),
    })
    .to_string()
}

/// The same content as a FHIR bundle: a Patient, a pregnancy Condition with its three facts,
/// and 200 blood-pressure Observations.
fn bundle(bsn: &str, round: usize) -> String {
    let subject = json!({"reference": "Patient/pt"});
    let focus = json!([{"reference": "Condition/p1"}]);
    let loinc = |code: &str| json!({"coding": [{"system": "http://loinc.org", "code": code}]});
    let mut resources = vec![
        json!({"resourceType": "Patient", "id": "pt", "name": [{"text": "Bench Cliënt"}], "birthDate": "1991-02-03",
            "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": bsn}]}),
        json!({"resourceType": "Condition", "id": "p1", "subject": subject,
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "77386006"}]}}),
        json!({"resourceType": "Observation", "id": "p1-a", "code": loinc("11778-8"), "subject": subject, "focus": focus, "valueDateTime": "2027-04-01"}),
        json!({"resourceType": "Observation", "id": "p1-g", "code": loinc("11996-6"), "subject": subject, "focus": focus, "valueInteger": 1}),
        json!({"resourceType": "Observation", "id": "p1-p", "code": loinc("11977-6"), "subject": subject, "focus": focus, "valueInteger": 0}),
    ];
    resources.extend((0..200).map(|n| json!({"resourceType": "Observation", "id": format!("e{n}"), "status": "final",
        "code": loinc("85354-9"), "subject": subject, "focus": focus, "effectiveDateTime": "2026-11-01T10:00:00Z",
        "component": [
            {"code": loinc("8480-6"), "valueQuantity": {"value": 120 + round % 10, "unit": "mmHg"}},
            {"code": loinc("8462-4"), "valueQuantity": {"value": 80 + n % 10, "unit": "mmHg"}}]})));
    json!({"resourceType": "Bundle", "type": "collection",
        "entry": resources.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()})
    .to_string()
}

fn bsns(n: usize) -> Vec<String> {
    (100_000_000u32..)
        .map(|x| x.to_string())
        .filter(|s| domain::Bsn::parse(s).is_ok())
        .take(n)
        .collect()
}

mod common;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bench = common::start(Settings {
        source_calls_per_minute: i64::MAX,
        ..Settings::default()
    })
    .await?;
    let (store, base, backend) = (
        bench.store.clone(),
        bench.base.clone(),
        bench.backend.clone(),
    );
    backend::sources::add_key(&store, "de-wieg-epd", &format!("{KEYS}/es256-a.pub.pem"))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let key = EncodingKey::from_ec_pem(
        std::fs::read_to_string(format!("{KEYS}/es256-a.pem"))?.as_bytes(),
    )?;
    let key = std::sync::Arc::new(key);
    let client = reqwest::Client::new();
    let clients = bsns(50);
    for format in [Format::Json, Format::Fhir] {
        let ctx = Ctx {
            client: client.clone(),
            base: base.clone(),
            key: key.clone(),
            format,
        };
        run(&ctx, &clients, &backend).await?;
    }
    Ok(())
}

async fn run(ctx: &Ctx, clients: &[String], backend: &str) -> anyhow::Result<()> {
    // Warm-up: every client gets its first share (creates the client records).
    for bsn in clients {
        ctx.put(bsn, 0).await;
    }
    let rounds = 200;
    let started = Instant::now();
    for round in 0..rounds {
        ctx.put(&clients[round % clients.len()], round + 1).await;
    }
    let sequential = rounds as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let ctx = ctx.clone();
        let mine: Vec<String> = clients.iter().skip(worker).step_by(4).cloned().collect();
        workers.spawn(async move {
            for r in 0..rounds / 4 {
                ctx.put(&mine[r % mine.len()], r + 7).await;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done?;
    }
    let concurrent = rounds as f64 / started.elapsed().as_secs_f64();
    let what = match ctx.format {
        Format::Json => "200-entry JSON shares/s",
        Format::Fhir => "200-observation FHIR bundles/s",
    };
    println!("{backend}: {what}: sequential {sequential:.1}, 4 concurrent callers {concurrent:.1}");
    Ok(())
}

#[derive(Clone, Copy)]
enum Format {
    Json,
    Fhir,
}

#[derive(Clone)]
struct Ctx {
    client: reqwest::Client,
    base: String,
    key: std::sync::Arc<EncodingKey>,
    format: Format,
}

impl Ctx {
    async fn put(&self, bsn: &str, round: usize) {
        let request = match self.format {
            Format::Json => self
                .client
                .put(format!("{}/api/v1/shares/{bsn}", self.base))
                .header("content-type", "application/json")
                .body(share(round)),
            Format::Fhir => self
                .client
                .post(format!("{}/api/v1/fhir", self.base))
                .header("content-type", "application/fhir+json")
                .body(bundle(bsn, round)),
        };
        let response = request.bearer_auth(token(&self.key)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
}

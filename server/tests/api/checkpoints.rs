//! Signed checkpoints (`ooievaar audit checkpoint | checkpoints | verify --checkpoints`): what
//! the hash chain alone cannot show (a deleted tail, a history rewritten and re-hashed end to
//! end) is caught by a checkpoint, also by an outside party holding only an export.

use backend::audit::chain_hash;
use backend::store::{AuditRow, Db};
use backend::Store;
use std::process::{Command, Output};

fn run(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ooievaar"))
        .args(args)
        .env("DATABASE_URL", db)
        .env_remove("OOIEVAAR_CHECKPOINT_KEY")
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

struct Seeded {
    dir: tempfile::TempDir,
    db: String,
    store: Store,
    pool: sqlx::SqlitePool,
}

/// A seeded database with a signed checkpoint of its head; the triggers are dropped so the
/// test can play the attacker.
async fn seeded_and_signed() -> (Seeded, i64) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/ooievaar.db", dir.path().display());
    assert!(run(&db, &["demo", "seed"]).status.success());
    let signed = run(&db, &["audit", "checkpoint"]);
    assert!(signed.status.success(), "{}", text(&signed));
    assert!(
        dir.path().join("checkpoint-key.pem").exists(),
        "the key is created beside the database"
    );
    let store = Store::connect(&db).await.unwrap();
    let Db::Sqlite(pool) = store.db().clone() else {
        unreachable!()
    };
    let head: i64 = sqlx::query_scalar("SELECT MAX(id) FROM audit_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(text(&signed).contains(&format!("gebeurtenis {head}")));
    for trigger in ["audit_events_no_update", "audit_events_no_delete"] {
        sqlx::query(&format!("DROP TRIGGER {trigger}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    (
        Seeded {
            dir,
            db,
            store,
            pool,
        },
        head,
    )
}

#[tokio::test]
async fn an_intact_log_matches_its_checkpoints_and_the_export_verifies() {
    let (s, head) = seeded_and_signed().await;
    let verify = run(&s.db, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(
        text(&verify).contains("1 signed checkpoints match"),
        "{}",
        text(&verify)
    );

    let export = run(&s.db, &["audit", "checkpoints"]);
    assert!(export.status.success());
    let json: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!(json["algorithm"], "ES256");
    assert!(json["public_key_pem"]
        .as_str()
        .unwrap()
        .contains("BEGIN PUBLIC KEY"));
    assert_eq!(json["checkpoints"][0]["event_id"], head);
    let file = s.dir.path().join("export.json");
    std::fs::write(&file, &export.stdout).unwrap();
    let outside = run(
        &s.db,
        &["audit", "verify", "--checkpoints", file.to_str().unwrap()],
    );
    assert!(outside.status.success(), "{}", text(&outside));
    // Signing again without new events adds nothing.
    assert!(run(&s.db, &["audit", "checkpoint"]).status.success());
    assert_eq!(s.store.checkpoints().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_deleted_tail_is_caught_by_the_checkpoint() {
    let (s, head) = seeded_and_signed().await;
    sqlx::query("DELETE FROM audit_events WHERE id = $1")
        .bind(head)
        .execute(&s.pool)
        .await
        .unwrap();
    // The chain alone is still consistent: only the checkpoint knows.
    let verify = run(&s.db, &["audit", "verify"]);
    assert!(!verify.status.success());
    assert!(
        text(&verify).contains(&format!("event {head}")),
        "{}",
        text(&verify)
    );
}

#[tokio::test]
async fn an_attacker_who_also_deletes_the_checkpoints_is_caught_by_the_outside_export() {
    let (s, head) = seeded_and_signed().await;
    let export = run(&s.db, &["audit", "checkpoints"]);
    let file = s.dir.path().join("kept-elsewhere.json");
    std::fs::write(&file, &export.stdout).unwrap();
    sqlx::query("DELETE FROM audit_events WHERE id = $1")
        .bind(head)
        .execute(&s.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_checkpoints")
        .execute(&s.pool)
        .await
        .unwrap();
    assert!(
        run(&s.db, &["audit", "verify"]).status.success(),
        "without checkpoints the shortened chain looks intact"
    );
    let outside = run(
        &s.db,
        &["audit", "verify", "--checkpoints", file.to_str().unwrap()],
    );
    assert!(!outside.status.success());
    assert!(
        text(&outside).contains(&format!("event {head}")),
        "{}",
        text(&outside)
    );
}

#[tokio::test]
async fn a_history_rewritten_and_rehashed_end_to_end_is_caught() {
    let (s, head) = seeded_and_signed().await;
    // Alter event 3 and recompute every hash after it, as an attacker with write access would.
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, occurred_at, action, outcome, user_id, user_name, user_role, organisation_id, \
         on_behalf_of, client_id, bsn, source_id, ground, grant_id, detail, ip, user_agent, \
         request_id, prev_hash, hash FROM audit_events ORDER BY id",
    )
    .fetch_all(&s.pool)
    .await
    .unwrap();
    let mut prev = rows[1].hash.clone();
    for mut row in rows.into_iter().skip(2) {
        if row.id == 3 {
            row.ip = Some("10.6.6.6".into());
        }
        row.prev_hash = prev.clone();
        row.hash = chain_hash(&row);
        sqlx::query("UPDATE audit_events SET ip = $1, prev_hash = $2, hash = $3 WHERE id = $4")
            .bind(&row.ip)
            .bind(&row.prev_hash)
            .bind(&row.hash)
            .bind(row.id)
            .execute(&s.pool)
            .await
            .unwrap();
        prev = row.hash;
    }
    let verify = run(&s.db, &["audit", "verify"]);
    assert!(!verify.status.success(), "{}", text(&verify));
    assert!(
        text(&verify).contains(&format!("event {head}")),
        "{}",
        text(&verify)
    );
}

#[tokio::test]
async fn a_forged_signature_is_refused() {
    let (s, head) = seeded_and_signed().await;
    let export = run(&s.db, &["audit", "checkpoints"]);
    let mut json: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    // Claim a later head with the old signature.
    json["checkpoints"][0]["event_id"] = (head - 1).into();
    let file = s.dir.path().join("forged.json");
    std::fs::write(&file, json.to_string()).unwrap();
    let outside = run(
        &s.db,
        &["audit", "verify", "--checkpoints", file.to_str().unwrap()],
    );
    assert!(!outside.status.success());
    assert!(
        text(&outside).contains("no valid signature"),
        "{}",
        text(&outside)
    );
}

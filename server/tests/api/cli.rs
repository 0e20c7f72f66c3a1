//! The command line, run as a real process against a fresh SQLite database.

use backend::integrity::VerifyReport;
use backend::Store;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(db: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ooievaar"))
        .args(args)
        .env("DATABASE_URL", db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ooievaar");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fresh_db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    // A folder that does not exist yet: the command creates it.
    let url = format!("sqlite://{}/nieuw/ooievaar.db", dir.path().display());
    (dir, url)
}

#[tokio::test]
async fn org_and_user_add_store_the_account_and_log_it() {
    let (_dir, db) = fresh_db();
    let out = run(
        &db,
        &[
            "org",
            "add",
            "--id",
            "vp-noord",
            "--name",
            "Praktijk Noord",
            "--kind",
            "verloskundigenpraktijk",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        &db,
        &[
            "user",
            "add",
            "--organisation",
            "vp-noord",
            "--role",
            "verloskundige",
            "--username",
            "ilse",
            "--name",
            "Ilse Bakker",
        ],
        Some("een-heel-goed-wachtwoord\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        &db,
        &[
            "user",
            "add",
            "--organisation",
            "vp-noord",
            "--role",
            "beheerder",
            "--username",
            "jan",
            "--name",
            "Jan",
            "--generate-password",
        ],
        None,
    );
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let generated = stdout
        .lines()
        .find_map(|l| l.strip_prefix("wachtwoord: "))
        .expect("printed password");
    assert_eq!(generated.len(), 20);

    let store = Store::connect(&db).await.unwrap();
    let ilse = store
        .user_by_username("ilse")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(ilse.role.as_str(), "verloskundige");
    assert!(ilse.password_hash.starts_with("$argon2id$"));
    let actions: Vec<_> = store
        .audit_events_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["organisation_added", "user_added", "user_added"]);
}

#[tokio::test]
async fn bad_arguments_give_a_clear_message_a_failure_exit_and_change_nothing() {
    let (_dir, db) = fresh_db();
    let out = run(
        &db,
        &[
            "org", "add", "--id", "x1", "--name", "X", "--kind", "apotheek",
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--kind"),
        "{}",
        text(&out.stderr)
    );

    let out = run(
        &db,
        &[
            "user",
            "add",
            "--organisation",
            "bestaat-niet",
            "--role",
            "arts",
            "--username",
            "a b",
            "--name",
            "A",
        ],
        Some("kort\n"),
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    for field in ["--organisation", "--role", "--username", "password"] {
        assert!(stderr.contains(field), "{field} in {stderr}");
    }
    // A missing required flag is refused by the parser before the database is touched.
    let out = run(&db, &["user", "disable"], None);
    assert_eq!(out.status.code(), Some(2));

    let store = Store::connect(&db).await.unwrap();
    assert!(
        store.audit_events_after(0, 10).await.unwrap().is_empty(),
        "nothing recorded"
    );
    assert!(store.organisation("x1").await.unwrap().is_none());
}

#[tokio::test]
async fn an_existing_username_is_an_error() {
    let (_dir, db) = fresh_db();
    run(
        &db,
        &[
            "org",
            "add",
            "--id",
            "zh-a",
            "--name",
            "Ziekenhuis A",
            "--kind",
            "ziekenhuis",
        ],
        None,
    );
    let add = |name: &str| {
        run(
            &db,
            &[
                "user",
                "add",
                "--organisation",
                "zh-a",
                "--role",
                "gynaecoloog",
                "--username",
                name,
                "--name",
                "K",
            ],
            Some("lang-genoeg-wachtwoord\n"),
        )
    };
    assert!(add("karin").status.success());
    let again = add("Karin");
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("bestaat al"));
}

#[tokio::test]
async fn demo_seed_then_audit_verify_reports_an_intact_chain_and_finds_tampering() {
    let (_dir, db) = fresh_db();
    let seeded = run(&db, &["demo", "seed"], None);
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    assert!(text(&seeded.stdout).contains("verloskundige"));
    let again = run(&db, &["demo", "seed"], None);
    assert!(text(&again.stdout).contains("bestaat al"));

    let verify = run(&db, &["audit", "verify"], None);
    assert!(verify.status.success());
    let store = Store::connect(&db).await.unwrap();
    let VerifyReport::Intact { events } = backend::integrity::verify_chain(&store).await.unwrap()
    else {
        panic!()
    };
    assert!(text(&verify.stdout).contains(&format!("{events} events")));

    // Alter event 5 behind the triggers' back.
    let backend::store::Db::Sqlite(pool) = store.db() else {
        unreachable!()
    };
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET user_agent = 'x' WHERE id = 5")
        .execute(pool)
        .await
        .unwrap();
    let verify = run(&db, &["audit", "verify"], None);
    assert!(!verify.status.success());
    assert!(
        text(&verify.stderr).contains("event 5"),
        "{}",
        text(&verify.stderr)
    );
}

#[tokio::test]
async fn user_disable_blocks_the_account() {
    let (_dir, db) = fresh_db();
    run(&db, &["demo", "seed"], None);
    let out = run(
        &db,
        &["user", "disable", "--username", "kraamverzorgende"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let store = Store::connect(&db).await.unwrap();
    assert!(store
        .user_by_username("kraamverzorgende")
        .await
        .unwrap()
        .unwrap()
        .is_disabled());
    let again = run(
        &db,
        &["user", "disable", "--username", "kraamverzorgende"],
        None,
    );
    assert!(!again.status.success());
    let unknown = run(&db, &["user", "disable", "--username", "niemand"], None);
    assert!(text(&unknown.stderr).contains("onbekende gebruiker"));
}

fn key_file(dir: &tempfile::TempDir, name: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, crate::source_api::fixture(name)).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn sources_and_keys_are_registered_rotated_and_revoked_with_audit_events() {
    let (dir, db) = fresh_db();
    run(
        &db,
        &[
            "org",
            "add",
            "--id",
            "zh-b",
            "--name",
            "Ziekenhuis B",
            "--kind",
            "ziekenhuis",
        ],
        None,
    );
    let es = key_file(&dir, "es256-a.pub.pem");
    let rs = key_file(&dir, "rs256-b.pub.pem");
    let add = run(
        &db,
        &[
            "source",
            "add",
            "--id",
            "zh-b-epd",
            "--organisation",
            "zh-b",
            "--public-key",
            &es,
        ],
        None,
    );
    assert!(add.status.success(), "{}", text(&add.stderr));
    let again = run(
        &db,
        &[
            "source",
            "add",
            "--id",
            "zh-b-epd",
            "--organisation",
            "zh-b",
            "--public-key",
            &es,
        ],
        None,
    );
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("bestaat al"));
    let rotate = run(
        &db,
        &[
            "source",
            "key",
            "add",
            "--id",
            "zh-b-epd",
            "--public-key",
            &rs,
        ],
        None,
    );
    assert!(rotate.status.success(), "{}", text(&rotate.stderr));
    let store = Store::connect(&db).await.unwrap();
    let keys = store.active_source_keys(&"zh-b-epd".into()).await.unwrap();
    assert_eq!(
        keys.iter()
            .map(|k| k.algorithm.as_str())
            .collect::<Vec<_>>(),
        ["ES256", "RS256"]
    );
    let revoke = run(
        &db,
        &[
            "source",
            "key",
            "revoke",
            "--id",
            "zh-b-epd",
            "--key",
            &keys[0].id,
        ],
        None,
    );
    assert!(revoke.status.success(), "{}", text(&revoke.stderr));
    assert_eq!(
        store
            .active_source_keys(&"zh-b-epd".into())
            .await
            .unwrap()
            .len(),
        1
    );
    let actions: Vec<_> = store
        .audit_events_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "organisation_added",
            "source_added",
            "key_added",
            "key_added",
            "key_revoked"
        ]
    );
}

#[tokio::test]
async fn a_bad_key_or_unknown_organisation_stores_nothing() {
    let (dir, db) = fresh_db();
    let p384 = key_file(&dir, "es384.pub.pem");
    let private = key_file(&dir, "es256-a.pem");
    let out = run(
        &db,
        &[
            "source",
            "add",
            "--id",
            "x-epd",
            "--organisation",
            "nope",
            "--public-key",
            &p384,
        ],
        None,
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--organisation") && stderr.contains("--public-key"),
        "{stderr}"
    );
    run(
        &db,
        &[
            "org",
            "add",
            "--id",
            "vp-x",
            "--name",
            "X",
            "--kind",
            "verloskundigenpraktijk",
        ],
        None,
    );
    let out = run(
        &db,
        &[
            "source",
            "add",
            "--id",
            "x-epd",
            "--organisation",
            "vp-x",
            "--public-key",
            &private,
        ],
        None,
    );
    assert!(!out.status.success());
    let store = Store::connect(&db).await.unwrap();
    assert!(store.source(&"x-epd".into()).await.unwrap().is_none());
    assert_eq!(
        store.audit_events_after(0, 100).await.unwrap().len(),
        1,
        "only the organisation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_push_signs_a_fresh_token_shares_and_withdraws() {
    let (app, _, dir) = crate::source_api::app_with_keys(crate::helpers::Backend::Sqlite).await;
    let key = key_file(&dir, "es256-a.pem");
    let share = dir.path().join("share.json");
    std::fs::write(&share, crate::source_api::valid_share(2).to_string()).unwrap();
    let push = |extra: &[&str]| {
        let mut args = vec![
            "source",
            "push",
            "--source",
            "de-wieg-epd",
            "--key",
            &key,
            "--url",
            &app.address,
            "--bsn",
            crate::source_api::BSN,
        ];
        args.extend_from_slice(extra);
        run("sqlite://unused-by-push", &args, None)
    };
    let shared = push(&["--file", share.to_str().unwrap()]);
    assert!(shared.status.success(), "{}", text(&shared.stderr));
    assert!(text(&shared.stdout).contains("HTTP 200"));
    let withdrawn = push(&["--withdraw"]);
    assert!(text(&withdrawn.stdout).contains(r#"{"status":"withdrawn"}"#));
    let refused = push(&["--file", share.to_str().unwrap()]);
    assert!(!refused.status.success(), "a 409 is a failure exit");
    assert!(text(&refused.stdout).contains("HTTP 409"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_push_fhir_posts_a_bundle_and_names_what_it_refused() {
    let (app, _, dir) = crate::source_api::app_with_keys(crate::helpers::Backend::Sqlite).await;
    let key = key_file(&dir, "es256-a.pem");
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fhir");
    let push = |file: &str| {
        let args = [
            "source",
            "push",
            "--source",
            "de-wieg-epd",
            "--key",
            &key,
            "--url",
            &app.address,
            "--fhir",
            file,
        ];
        run("sqlite://unused-by-push", &args, None)
    };
    let shared = push(&format!("{fixtures}/04-lab-first-trimester.json"));
    assert!(shared.status.success(), "{}", text(&shared.stderr));
    let out = text(&shared.stdout);
    assert!(
        out.contains("HTTP 200") && out.contains("transaction-response"),
        "{out}"
    );
    let mut bundle = crate::fhir::fixture("04-lab-first-trimester.json");
    bundle["entry"][0]["resource"]["identifier"][0]["value"] = serde_json::json!("123456789");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, bundle.to_string()).unwrap();
    let refused = push(bad.to_str().unwrap());
    assert!(!refused.status.success(), "a 422 is a failure exit");
    let out = text(&refused.stdout);
    assert!(
        out.contains("HTTP 422") && out.contains("identifier[0].value"),
        "{out}"
    );
    // --fhir and --bsn do not go together: the BSN is the bundle's.
    let both = run(
        "sqlite://unused-by-push",
        &[
            "source",
            "push",
            "--source",
            "x",
            "--key",
            &key,
            "--url",
            "http://127.0.0.1:9",
            "--bsn",
            "111222333",
            "--fhir",
            "b.json",
        ],
        None,
    );
    assert!(!both.status.success());
    assert!(
        text(&both.stderr).contains("--bsn"),
        "{}",
        text(&both.stderr)
    );
}

#[tokio::test]
async fn codes_list_prints_the_map_and_codes_add_extends_it_with_an_audit_event() {
    let (_dir, db) = fresh_db();
    let listed = run(&db, &["codes", "list"], None);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let out = text(&listed.stdout);
    assert!(out.lines().count() > 60, "{} lines", out.lines().count());
    assert!(
        out.contains("LOINC\t7917-8\tlab_screening\thigh\tHIV-1-antistoffen"),
        "{out}"
    );

    let add = |extra: &[&str]| {
        let mut args = vec!["codes", "add"];
        args.extend_from_slice(extra);
        run(&db, &args, None)
    };
    let ok = add(&[
        "--system",
        "http://loinc.org",
        "--code",
        "2093-3",
        "--category",
        "lab_screening",
        "--sensitivity",
        "normal",
        "--label",
        "Cholesterol",
    ]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("2093-3"));
    let again = add(&[
        "--system",
        "http://loinc.org",
        "--code",
        "2093-3",
        "--category",
        "psychosocial",
        "--sensitivity",
        "high",
        "--label",
        "Iets anders",
    ]);
    assert!(!again.status.success(), "an existing code is not changed");
    assert!(
        text(&again.stderr).contains("--code"),
        "{}",
        text(&again.stderr)
    );
    let bad = add(&[
        "--system",
        "loinc",
        "--code",
        "1",
        "--category",
        "huisarts",
        "--sensitivity",
        "none",
        "--label",
        "x",
    ]);
    assert!(!bad.status.success());
    let err = text(&bad.stderr);
    for option in ["--system", "--category", "--sensitivity"] {
        assert!(err.contains(option), "{option}: {err}");
    }
    let listed = text(&run(&db, &["codes", "list"], None).stdout);
    assert!(
        listed.contains("LOINC\t2093-3\tlab_screening\tnormal\tCholesterol"),
        "{listed}"
    );
    assert!(!listed.contains("Iets anders"));
    let store = Store::connect(&db).await.unwrap();
    let events = store.audit_events_after(0, 100).await.unwrap();
    let changes: Vec<_> = events
        .iter()
        .filter(|e| e.action == "code_map_changed")
        .collect();
    assert_eq!(changes.len(), 1, "one change, one event");
    assert!(
        changes[0].detail.contains("2093-3"),
        "{}",
        changes[0].detail
    );
}

#[tokio::test]
async fn registry_add_registers_once_and_retention_run_refuses_a_future_date() {
    let (_dir, db) = fresh_db();
    let key = format!(
        "{}/tests/fixtures/keys/es256-c.pub.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    let added = run(
        &db,
        &["registry", "add", "--id", "mitz", "--public-key", &key],
        None,
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert!(text(&added.stdout).contains("toestemmingsregister 'mitz'"));
    let again = run(
        &db,
        &["registry", "add", "--id", "mitz", "--public-key", &key],
        None,
    );
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("--id"),
        "{}",
        text(&again.stderr)
    );

    let tomorrow = (backend::clock::today() + time::Duration::days(1)).to_string();
    let future = run(&db, &["retention", "run", "--as-of", &tomorrow], None);
    assert!(!future.status.success(), "a date after today is refused");
    assert!(
        text(&future.stderr).contains("--as-of"),
        "{}",
        text(&future.stderr)
    );
    let bad = run(&db, &["retention", "run", "--as-of", "gisteren"], None);
    assert!(!bad.status.success());
    let short = run(&db, &["retention", "run"], None);
    assert!(short.status.success(), "{}", text(&short.stderr));
    assert!(
        text(&short.stdout).contains("bewaartermijn: 20 jaar"),
        "{}",
        text(&short.stdout)
    );
    assert!(text(&short.stdout).contains("klaar: 0 kopieën verwijderd"));
    let zero = Command::new(env!("CARGO_BIN_EXE_ooievaar"))
        .args(["retention", "run"])
        .env("DATABASE_URL", &db)
        .env("OOIEVAAR_RETENTION_YEARS", "0")
        .output()
        .unwrap();
    assert!(!zero.status.success());
    assert!(text(&zero.stderr).contains("OOIEVAAR_RETENTION_YEARS"));
    let store = Store::connect(&db).await.unwrap();
    let actions: Vec<String> = store
        .audit_events_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"registry_added".to_owned()),
        "{actions:?}"
    );
}

//! Retention of shared copies (DESIGN section 10, `retention run`), on SQLite and PostgreSQL:
//! purged at the term and not a day before, kept while a grant is open, refused on arrival
//! when already past it, purged once when instances run at once, and the log stays intact.

use crate::consent_registry::two_sources_and_a_registry;
use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::source_api::{app_with_keys, rivier_token, wieg_token};
use crate::viewing::{matrix_share, BSN};
use backend::on_both_backends;
use backend::retention::{self, RetentionReport, RunBy};
use domain::retention::RetentionTerm;
use domain::SourceId;
use serde_json::{json, Value};
use time::macros::date;

on_both_backends!(
    a_copy_is_purged_on_the_day_its_term_ends_and_not_a_day_before,
    an_open_grant_keeps_the_copy_until_it_ends,
    a_share_already_past_its_term_is_refused_on_arrival,
    two_runs_at_once_purge_each_copy_once,
    the_consent_profile_goes_with_the_last_share,
);

const FIVE_YEARS: u16 = 5;

/// The matrix with its pregnancy ended on 2020-03-10: with a five-year term the copy is past
/// it from 2025-03-10.
fn ended_share(ended_on: &str) -> Value {
    let mut share = matrix_share();
    share["pregnancies"][0] = json!({ "id": "p1", "edd": "2020-03-01", "gravidity": 2, "parity": 1, "status": "ended", "ended_on": ended_on });
    share
}

async fn run(app: &TestApp, as_of: time::Date) -> RetentionReport {
    let term = RetentionTerm::years(FIVE_YEARS).unwrap();
    retention::run(
        &app.store,
        term,
        as_of,
        backend::clock::today(),
        RunBy::CommandLine,
    )
    .await
    .unwrap()
}

async fn purges(app: &TestApp) -> Vec<Value> {
    app.audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "retention_purge")
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect()
}

async fn entries_of(app: &TestApp, source: &str) -> usize {
    app.texts(&format!(
        "SELECT source_entry_id FROM entries WHERE source_id = '{source}' \
         AND client_id = (SELECT id FROM clients WHERE bsn = '{BSN}')"
    ))
    .await
    .len()
}

async fn a_copy_is_purged_on_the_day_its_term_ends_and_not_a_day_before(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    assert_eq!(
        app.put_share(&wieg_token(), BSN, &ended_share("2020-03-10"))
            .await
            .status(),
        200
    );
    // Rivierenland's copy has a running pregnancy: its term starts at its last update (today).
    assert_eq!(
        app.put_share(&rivier_token(), BSN, &matrix_share())
            .await
            .status(),
        200
    );
    let before = run(&app, date!(2025 - 03 - 09)).await;
    assert_eq!(before.copies(), 0, "{before:?}");
    assert_eq!(entries_of(&app, "de-wieg-epd").await, 42);
    let on_the_day = run(&app, date!(2025 - 03 - 10)).await;
    assert_eq!(on_the_day.copies(), 1, "{on_the_day:?}");
    let wieg = on_the_day.per_source[&SourceId::from("de-wieg-epd")];
    assert_eq!((wieg.entries, wieg.pregnancies), (42, 1));
    assert_eq!(entries_of(&app, "de-wieg-epd").await, 0);
    assert_eq!(
        entries_of(&app, "rivierenland-epd").await,
        42,
        "the other copy is kept"
    );
    let logged = purges(&app).await;
    assert_eq!(
        logged,
        vec![
            json!({"entries": 42, "pregnancies": 1, "term_years": 5, "as_of": "2025-03-10", "consent_profile_purged": false})
        ]
    );
    // The client record stays for the log; a search still finds her through the other copy.
    assert_eq!(
        app.texts(&format!("SELECT id FROM clients WHERE bsn = '{BSN}'"))
            .await
            .len(),
        1
    );
    // Nothing more to purge on a second run, and the log is intact.
    assert_eq!(run(&app, date!(2025 - 03 - 10)).await.copies(), 0);
    app.assert_chain_intact().await;
}

async fn an_open_grant_keeps_the_copy_until_it_ends(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    app.put_share(&wieg_token(), BSN, &ended_share("2020-03-10"))
        .await;
    let c = app.logged_in("verloskundige").await;
    let client_id = app.client_id_of(&c).await;
    assert_eq!(
        app.request_access(&c, &client_id, "behandelrelatie", "")
            .await
            .status(),
        200
    );
    let kept = run(&app, date!(2026 - 01 - 01)).await;
    assert_eq!(kept.copies(), 0);
    assert_eq!(
        kept.per_source[&SourceId::from("de-wieg-epd")].kept_for_open_grant,
        1
    );
    assert_eq!(entries_of(&app, "de-wieg-epd").await, 42);
    // The grant ends (here: she ends it herself); the copy goes at the next run. The ended
    // grant is kept with the log.
    let grants = || app.texts("SELECT id FROM access_grants");
    let grant = grants().await.remove(0);
    assert_eq!(
        app.call(&c, "end_grant", &[("client_id", &client_id)])
            .await
            .status(),
        200
    );
    assert_eq!(run(&app, date!(2026 - 01 - 01)).await.copies(), 1);
    assert_eq!(grants().await, vec![grant]);
    app.assert_chain_intact().await;
}

async fn a_share_already_past_its_term_is_refused_on_arrival(backend: Backend) {
    let settings = backend::Settings {
        retention: RetentionTerm::years(FIVE_YEARS).unwrap(),
        ..Default::default()
    };
    let app = spawn_app_with(backend, settings).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    std::fs::write(&key, crate::source_api::fixture("es256-a.pub.pem")).unwrap();
    backend::sources::add_key(&app.store, "de-wieg-epd", &key.display().to_string())
        .await
        .unwrap();
    assert_eq!(
        app.put_share(&wieg_token(), BSN, &ended_share("2022-06-01"))
            .await
            .status(),
        200
    );
    let refused = app
        .put_share(&wieg_token(), BSN, &ended_share("2020-03-10"))
        .await;
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["problems"][0]["field"], "pregnancies[0].ended_on");
    assert!(
        body["problems"][0]["problem"]
            .as_str()
            .unwrap()
            .starts_with("past retention"),
        "{body}"
    );
    let ends = app
        .texts(&format!(
            "SELECT ended_on FROM pregnancies WHERE source_id = 'de-wieg-epd' \
             AND client_id = (SELECT id FROM clients WHERE bsn = '{BSN}')"
        ))
        .await;
    assert_eq!(ends, vec!["2022-06-01".to_owned()], "nothing changed");
    let refusal = app
        .audit_events()
        .await
        .into_iter()
        .rev()
        .find(|e| e.action == "share_refused")
        .unwrap();
    assert!(
        refusal.detail.contains("pregnancies[0].ended_on"),
        "{}",
        refusal.detail
    );
}

async fn two_runs_at_once_purge_each_copy_once(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    app.put_share(&wieg_token(), BSN, &ended_share("2020-03-10"))
        .await;
    app.put_share(&rivier_token(), BSN, &ended_share("2020-01-02"))
        .await;
    // A second instance: its own connection pool on the same database.
    let other = backend::Store::connect(&app.database_url).await.unwrap();
    let term = RetentionTerm::years(FIVE_YEARS).unwrap();
    let today = backend::clock::today();
    let (a, b) = tokio::join!(
        retention::run(&app.store, term, today, today, RunBy::CommandLine),
        retention::run(&other, term, today, today, RunBy::Server),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.copies() + b.copies(), 2, "{a:?} {b:?}");
    assert_eq!(purges(&app).await.len(), 2, "one event per copy");
    app.assert_chain_intact().await;
}

async fn the_consent_profile_goes_with_the_last_share(backend: Backend) {
    let (app, _dir) = two_sources_and_a_registry(backend).await;
    app.put_profile(
        BSN,
        json!({"choice": "selected", "organisation_kinds": ["ziekenhuis"]}),
    )
    .await;
    app.put_share(&wieg_token(), BSN, &ended_share("2020-03-10"))
        .await;
    let today = backend::clock::today();
    run(&app, today).await;
    assert!(
        app.store.consent_profile(BSN).await.unwrap().is_some(),
        "Rivierenland still shares her"
    );
    app.put_share(&rivier_token(), BSN, &ended_share("2020-05-01"))
        .await;
    run(&app, today).await;
    assert!(app.store.consent_profile(BSN).await.unwrap().is_none());
    let logged = purges(&app).await;
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[1]["consent_profile_purged"], json!(true));
    // The purge of the last copy is in the scope of the organisation whose copy it was.
    let event = app
        .audit_events()
        .await
        .into_iter()
        .rev()
        .find(|e| e.action == "retention_purge")
        .unwrap();
    let scope = app
        .texts(&format!(
            "SELECT organisation_id FROM audit_scope WHERE event_id = {}",
            event.id
        ))
        .await;
    assert_eq!(scope, vec!["zh-rivierenland".to_owned()]);
    app.assert_chain_intact().await;
}

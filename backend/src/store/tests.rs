//! The store test suite, run on SQLite and on PostgreSQL (`OOIEVAAR_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432`; `make test` starts a throw-away cluster when none
//! answers). Each test gets a fresh database; test names end in `::sqlite` / `::postgres`.

use super::audit_log::NewAuditEvent;
use super::queries::queries;
use super::*;
use crate::integrity::{ChainBreak, VerifyReport};
use crate::test_support::{fresh_store, Backend};
use domain::FlagRules;
use domain::{AuditAction, GrantId, Outcome, Policy, SourceId};

crate::on_both_backends!(
    the_migrated_policy_equals_the_design_table,
    audit_events_cannot_be_updated_or_deleted,
    audit_events_cannot_be_replaced,
    appended_events_form_an_intact_chain,
    tampering_with_any_column_is_found_at_the_right_event,
    a_deleted_or_reordered_event_breaks_the_chain,
    concurrent_writers_do_not_fork_the_chain,
    a_share_replaces_only_its_own_content_and_is_idempotent,
    a_share_is_refused_while_consent_is_withdrawn,
    usernames_are_unique,
    an_authenticator_step_and_a_recovery_code_are_accepted_once,
    an_event_stored_before_the_detail_was_typed_still_verifies_and_reads,
    the_migrated_code_map_holds_the_design_codes_and_only_grows,
    every_change_raises_the_visibility_epoch_and_no_read_does,
    a_snapshot_read_is_logged_only_while_nothing_it_read_has_changed,
    concurrent_reads_share_commits,
    a_policy_changed_by_hand_reaches_the_next_view,
    a_kept_view_serves_only_the_epoch_it_was_read_at,
    the_bulk_count_sees_each_other_client_of_the_last_hour_once,
    a_view_reads_the_permitted_entries_whole_and_newest_first,
    a_view_reads_the_spoed_notice_as_its_own_query_does,
    the_pool_has_the_configured_size_or_the_backends_default,
    a_run_of_reads_is_logged_as_one_by_one,
    the_demo_flag_is_kept_once_seen_and_its_absence_read_again,
);

fn event(n: usize) -> NewAuditEvent {
    NewAuditEvent::new(AuditAction::Search, Outcome::Success).with_detail(
        domain::AuditDetail::Search(domain::audit_detail::Search {
            outcome: Some(n.to_string()),
            ..Default::default()
        }),
    )
}

async fn the_migrated_policy_equals_the_design_table(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    assert_eq!(store.policy().await.unwrap(), Policy::default_design());
}

/// Runs raw SQL for the tests that must go behind the store's back.
async fn raw(store: &Store, sql: &str) -> Result<(), sqlx::Error> {
    match store.db() {
        Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
    }
}

async fn drop_append_only_triggers(store: &Store) {
    match store.db() {
        Db::Sqlite(_) => {
            raw(store, "DROP TRIGGER audit_events_no_update")
                .await
                .unwrap();
            raw(store, "DROP TRIGGER audit_events_no_delete")
                .await
                .unwrap();
        }
        Db::Postgres(_) => raw(
            store,
            "DROP TRIGGER audit_events_no_update_or_delete ON audit_events",
        )
        .await
        .unwrap(),
    }
}

async fn audit_events_cannot_be_updated_or_deleted(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    store.record(event(1)).await.unwrap();
    let update = raw(
        &store,
        "UPDATE audit_events SET action = 'read' WHERE id = 1",
    )
    .await;
    let delete = raw(&store, "DELETE FROM audit_events WHERE id = 1").await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    if let Db::Postgres(_) = store.db() {
        assert!(raw(&store, "TRUNCATE audit_events").await.is_err());
    }
    assert_eq!(
        store.audit_events_after(0, 10).await.unwrap()[0].action,
        "search"
    );
}

/// Rule 5: a replacing insert cannot rewrite an event either. SQLite's `INSERT OR REPLACE` (and
/// `REPLACE`) deletes the conflicting row without firing the DELETE trigger; PostgreSQL's
/// upsert fires the UPDATE trigger. Colliding on the id or on the (unique) hash, each is refused
/// and the event stays as it was.
async fn audit_events_cannot_be_replaced(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    store.record(event(1)).await.unwrap();
    store.record(event(2)).await.unwrap();
    let before = store.audit_events_after(0, 10).await.unwrap();
    let columns = "id, occurred_at, action, outcome, user_id, user_name, user_role, \
        organisation_id, on_behalf_of, client_id, bsn, source_id, ground, grant_id, detail, ip, \
        user_agent, request_id, prev_hash, hash";
    // The first event with another action, under its own id, then under a new id with its hash.
    let same_id = format!(
        "SELECT {} FROM audit_events WHERE id = 1",
        columns.replace("action,", "'read',")
    );
    let same_hash = format!(
        "SELECT {} FROM audit_events WHERE id = 1",
        columns.replacen("id,", "99,", 1)
    );
    let attempts: Vec<String> = match store.db() {
        Db::Sqlite(_) => vec![
            format!("INSERT OR REPLACE INTO audit_events ({columns}) {same_id}"),
            format!("REPLACE INTO audit_events ({columns}) {same_id}"),
            format!("INSERT OR REPLACE INTO audit_events ({columns}) {same_hash}"),
            format!(
                "INSERT INTO audit_events ({columns}) {same_id} ON CONFLICT (id) DO UPDATE SET action = 'read'"
            ),
        ],
        Db::Postgres(_) => vec![
            format!(
                "INSERT INTO audit_events ({columns}) {same_id} ON CONFLICT (id) DO UPDATE SET action = 'read'"
            ),
            format!(
                "INSERT INTO audit_events ({columns}) {same_hash} ON CONFLICT (hash) DO UPDATE SET action = 'read'"
            ),
        ],
    };
    for sql in attempts {
        let refused = raw(&store, &sql).await;
        let message = refused.expect_err(&sql).to_string();
        assert!(message.contains("append-only"), "{sql}: {message}");
    }
    assert_eq!(store.audit_events_after(0, 10).await.unwrap(), before);
    assert!(matches!(
        crate::integrity::verify_chain(&store).await.unwrap(),
        VerifyReport::Intact { events: 2 }
    ));
    // An ordinary append still works.
    store.record(event(3)).await.unwrap();
}

async fn appended_events_form_an_intact_chain(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    assert_eq!(
        crate::integrity::verify_chain(&store).await.unwrap(),
        VerifyReport::Intact { events: 0 }
    );
    for n in 0..25 {
        store.record(event(n)).await.unwrap();
    }
    assert_eq!(
        crate::integrity::verify_chain(&store).await.unwrap(),
        VerifyReport::Intact { events: 25 }
    );
    let rows = store.audit_events_after(0, 100).await.unwrap();
    assert_eq!(rows[0].prev_hash, GENESIS_HASH);
    assert!(rows.windows(2).all(|w| w[1].prev_hash == w[0].hash));
}

async fn tampering_with_any_column_is_found_at_the_right_event(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    for n in 0..6 {
        store.record(event(n)).await.unwrap();
    }
    drop_append_only_triggers(&store).await;
    let columns = [
        ("occurred_at", "occurred_at + 1"),
        ("action", "'read'"),
        ("outcome", "'denied'"),
        ("user_id", "'u'"),
        ("user_name", "'u'"),
        ("user_role", "'gynaecoloog'"),
        ("organisation_id", "'o'"),
        ("on_behalf_of", "'o'"),
        ("client_id", "'c'"),
        ("bsn", "'999990019'"),
        ("source_id", "'s'"),
        ("ground", "'spoed'"),
        ("grant_id", "'g'"),
        ("detail", "'{}'"),
        ("ip", "'10.0.0.1'"),
        ("user_agent", "'ua'"),
        ("request_id", "'r'"),
        ("prev_hash", "'00'"),
        ("hash", "'00'"),
    ];
    for (i, (column, value)) in columns.iter().enumerate() {
        // Alternate between events 2..5 so each column is tested at a different place.
        let id = 2 + (i % 4) as i64;
        let snapshot = store.audit_events_after(id - 1, 1).await.unwrap().remove(0);
        raw(
            &store,
            &format!("UPDATE audit_events SET {column} = {value} WHERE id = {id}"),
        )
        .await
        .unwrap();
        match crate::integrity::verify_chain(&store).await.unwrap() {
            VerifyReport::Broken { event_id, .. } => assert_eq!(event_id, id, "column {column}"),
            other => panic!("altering {column} was not detected: {other:?}"),
        }
        // Put the original row back for the next column.
        raw(&store, &format!("DELETE FROM audit_events WHERE id = {id}"))
            .await
            .unwrap();
        restore(&store, &snapshot).await;
        assert!(matches!(
            crate::integrity::verify_chain(&store).await.unwrap(),
            VerifyReport::Intact { .. }
        ));
    }
}

async fn restore(store: &Store, row: &AuditRow) {
    async fn insert(store: &Store, row: &AuditRow) -> StoreResult<()> {
        read_conn!(store, |c| c
            .insert_audit_rows(std::slice::from_ref(row))
            .await)
    }
    insert(store, row).await.unwrap();
}

async fn a_deleted_or_reordered_event_breaks_the_chain(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    for n in 0..5 {
        store.record(event(n)).await.unwrap();
    }
    drop_append_only_triggers(&store).await;
    raw(&store, "DELETE FROM audit_events WHERE id = 3")
        .await
        .unwrap();
    assert_eq!(
        crate::integrity::verify_chain(&store).await.unwrap(),
        VerifyReport::Broken {
            event_id: 4,
            reason: ChainBreak::Gap { expected: 3 },
            checked: 2
        }
    );
    // Swap the contents of events 1 and 2 (ids kept): the links no longer match.
    let rows = store.audit_events_after(0, 2).await.unwrap();
    raw(&store, "DELETE FROM audit_events WHERE id IN (1, 2)")
        .await
        .unwrap();
    let mut first = rows[1].clone();
    first.id = 1;
    let mut second = rows[0].clone();
    second.id = 2;
    restore(&store, &first).await;
    restore(&store, &second).await;
    let VerifyReport::Broken { event_id, .. } =
        crate::integrity::verify_chain(&store).await.unwrap()
    else {
        panic!("reordering not detected")
    };
    assert_eq!(event_id, 1);
}

async fn concurrent_writers_do_not_fork_the_chain(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..15 {
                    store.record(event(t * 100 + n)).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        crate::integrity::verify_chain(&store).await.unwrap(),
        VerifyReport::Intact { events: 120 }
    );
}

fn share(entries: &[(&str, &str)]) -> ShareContent {
    ShareContent {
        name: "Test Cliënt".into(),
        birth_date: "1990-05-01".into(),
        pregnancies: vec![PregnancyRow {
            id: "p1".into(),
            edd: "2027-03-01".into(),
            gravidity: 1,
            parity: 0,
            status: "active".into(),
            ended_on: None,
        }],
        entries: entries
            .iter()
            .map(|(id, value)| EntryRow {
                id: (*id).into(),
                pregnancy_id: Some("p1".into()),
                category: domain::Category::LabScreening,
                code: "hb".into(),
                label: "Hemoglobine".into(),
                value: (*value).into(),
                unit: Some("mmol/l".into()),
                observed_at: 1_760_000_000_000,
                sensitivity: domain::Sensitivity::Normal,
            })
            .collect(),
    }
}

async fn with_two_sources(store: &Store) {
    for (org, source) in [("org-a", "src-a"), ("org-b", "src-b")] {
        store
            .add_organisation(org, org, domain::OrganisationKind::Ziekenhuis, event(0))
            .await
            .unwrap();
        store
            .add_source(&SourceId::from(source), org, event(0))
            .await
            .unwrap();
    }
}

fn received() -> NewAuditEvent {
    NewAuditEvent::new(AuditAction::ShareReceived, Outcome::Success)
}

/// `source` shares `entries` of the client `bsn` (with one pregnancy), logged as received.
async fn push(
    store: &Store,
    bsn: &str,
    source: &str,
    entries: &[(&str, &str)],
) -> StoreResult<ReplaceCounts> {
    store
        .replace_share(bsn, &SourceId::from(source), &share(entries), received())
        .await
}

async fn a_share_replaces_only_its_own_content_and_is_idempotent(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    with_two_sources(&store).await;
    let bsn = "999990019";
    push(&store, bsn, "src-a", &[("e1", "7.1"), ("e2", "7.2")])
        .await
        .unwrap();
    push(&store, bsn, "src-b", &[("e1", "6.9")]).await.unwrap();
    assert_eq!(store.shared_data_counts().await.unwrap(), [1, 2, 2, 3]);
    // Replace: src-a now shares one entry; src-b untouched. Twice: same state.
    for _ in 0..2 {
        let counts = push(&store, bsn, "src-a", &[("e3", "7.5")]).await.unwrap();
        assert_eq!(
            counts,
            ReplaceCounts {
                pregnancies: 1,
                entries: 1
            }
        );
        assert_eq!(store.shared_data_counts().await.unwrap(), [1, 2, 2, 2]);
    }
    let shares = store.audit_events_after(0, 100).await.unwrap();
    assert!(shares
        .iter()
        .filter(|e| e.action == "share_received")
        .all(|e| e.client_id.is_some()));
}

async fn a_share_is_refused_while_consent_is_withdrawn(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    with_two_sources(&store).await;
    let bsn = "999990019";
    push(&store, bsn, "src-a", &[("e1", "7.1")]).await.unwrap();
    raw(
        &store,
        "UPDATE shares SET consent = 'withdrawn', name = NULL, birth_date = NULL",
    )
    .await
    .unwrap();
    let before = store.shared_data_counts().await.unwrap();
    let events_before = store.audit_events_after(0, 1000).await.unwrap().len();
    let refused = push(&store, bsn, "src-a", &[("e9", "1")]).await;
    assert!(matches!(refused, Err(StoreError::ConsentWithdrawn)));
    assert_eq!(store.shared_data_counts().await.unwrap(), before);
    assert_eq!(
        store.audit_events_after(0, 1000).await.unwrap().len(),
        events_before,
        "rolled back whole"
    );
}

/// Organisation `org-a` with one user, `dewi` (id `u1`), who is returned.
/// [`organisation_with_user`], and her organisation's source `src-a`.
async fn user_with_source_a(store: &Store) -> NewUser {
    let user = organisation_with_user(store).await;
    store
        .add_source(&SourceId::from("src-a"), "org-a", event(0))
        .await
        .unwrap();
    user
}

async fn organisation_with_user(store: &Store) -> NewUser {
    store
        .add_organisation("org-a", "A", domain::OrganisationKind::Kraamzorg, event(0))
        .await
        .unwrap();
    let user = NewUser {
        id: "u1".into(),
        organisation_id: "org-a".into(),
        username: domain::Username::parse("dewi").unwrap(),
        display_name: "Dewi".into(),
        role: domain::Role::Kraamverzorgende,
    };
    store
        .add_user(&user, "$argon2id$x", event(0))
        .await
        .unwrap();
    user
}

async fn usernames_are_unique(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    let user = organisation_with_user(&store).await;
    let again = store
        .add_user(
            &NewUser {
                id: "u2".into(),
                ..user
            },
            "$argon2id$x",
            event(0),
        )
        .await;
    assert!(matches!(
        again,
        Err(StoreError::AlreadyExists(Entity::Username))
    ));
}

/// SQLite only: audit rows must survive power loss (WAL + synchronous=FULL), and writers wait
/// for each other instead of failing at once.
#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_full_sync_and_a_busy_timeout() {
    let (store, _guard) = fresh_store(Backend::Sqlite).await;
    let Db::Sqlite(pool) = store.db() else {
        unreachable!()
    };
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(pool)
        .await
        .unwrap();
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(pool)
        .await
        .unwrap();
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(sync, 2, "2 = FULL");
    assert!(busy >= 5_000, "{busy}");
    assert_eq!(fk, 1);
}

#[tokio::test]
async fn a_database_url_of_an_unknown_kind_is_refused() {
    let err = Store::connect("mysql://localhost/ooievaar")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::BadUrl(_)));
}

#[tokio::test]
async fn a_migration_that_does_not_match_the_database_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    raw(
        &store,
        "UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 20261124090000",
    )
    .await
    .unwrap();
    store.close().await;
    let err = Store::connect(&url).await.unwrap_err();
    assert!(matches!(err, StoreError::Migrate(_)), "{err:?}");
}

/// Issue 10 item 3: the detail became a typed value, but the stored text and the hash did not
/// change. An event written the previous way (free JSON through `serde_json::Value`, hashed
/// with the same encoding) still verifies, reads back through the typed path, and the typed
/// value writes exactly its bytes again. The migration's backfill gives it its search outcome.
async fn an_event_stored_before_the_detail_was_typed_still_verifies_and_reads(backend: Backend) {
    use domain::audit_detail::{self, AuditDetail};
    let (store, _guard) = fresh_store(backend).await;
    store.record(event(1)).await.unwrap();
    let (head_id, head_hash) = store.chain_head().await.unwrap().unwrap();
    let legacy_detail = serde_json::json!({
        "found": true, "outcome": "found", "sources": ["src-b", "src-a"],
    })
    .to_string();
    let mut legacy = AuditRow {
        id: head_id + 1,
        occurred_at: now_ms(),
        action: "search".into(),
        outcome: "success".into(),
        user_id: Some("user-1".into()),
        user_name: Some("jan".into()),
        user_role: Some("midwife".into()),
        organisation_id: Some("org-a".into()),
        on_behalf_of: None,
        client_id: Some("client-1".into()),
        bsn: Some("999999990".into()),
        source_id: None,
        ground: None,
        grant_id: None,
        detail: legacy_detail.clone(),
        ip: Some("127.0.0.1".into()),
        user_agent: None,
        request_id: None,
        prev_hash: head_hash,
        hash: String::new(),
    };
    legacy.hash = chain_hash(&legacy);
    restore(&store, &legacy).await;
    // A denied search of the previous code, without the outcome keys.
    let (head_id, head_hash) = store.chain_head().await.unwrap().unwrap();
    let mut refused = legacy.clone();
    refused.id = head_id + 1;
    refused.outcome = "denied".into();
    refused.detail = serde_json::json!({ "refused_fields": ["bsn"] }).to_string();
    refused.prev_hash = head_hash;
    refused.hash = chain_hash(&refused);
    restore(&store, &refused).await;
    // The chain goes on after them.
    store.record(event(2)).await.unwrap();
    assert_eq!(
        crate::integrity::verify_chain(&store).await.unwrap(),
        VerifyReport::Intact { events: 4 }
    );

    let stored = store.audit_event(legacy.id).await.unwrap().unwrap();
    assert_eq!(stored, legacy);
    let typed = stored.typed_detail().unwrap().unwrap();
    assert_eq!(
        typed,
        AuditDetail::Search(audit_detail::Search {
            refused_fields: None,
            found: Some(true),
            outcome: Some("found".into()),
            sources: Some(vec!["src-b".into(), "src-a".into()]),
            consent_profile: None,
        })
    );
    assert_eq!(AuditDetail::to_json(Some(&typed)), legacy_detail);
    assert_eq!(typed.search_found(), Some(true));
    let refused_typed = store
        .audit_event(refused.id)
        .await
        .unwrap()
        .unwrap()
        .typed_detail()
        .unwrap()
        .unwrap();
    assert_eq!(refused_typed.search_found(), None);
    assert_eq!(AuditDetail::to_json(Some(&refused_typed)), refused.detail);

    // The migration's backfill, run again over these events, records the legacy search as
    // found and leaves the refused one out.
    raw(&store, "DROP TABLE audit_search_outcome")
        .await
        .unwrap();
    let migration = match store.db() {
        Db::Sqlite(_) => {
            include_str!("../../../migrations/sqlite/20261130100000_audit_search_outcome.sql")
        }
        Db::Postgres(_) => {
            include_str!("../../../migrations/postgres/20261130100000_audit_search_outcome.sql")
        }
    };
    match store.db() {
        Db::Sqlite(p) => sqlx::raw_sql(migration).execute(p).await.map(|_| ()),
        Db::Postgres(p) => sqlx::raw_sql(migration).execute(p).await.map(|_| ()),
    }
    .unwrap();
    let outcomes: Vec<(i64, bool)> = match store.db() {
        Db::Sqlite(p) => {
            sqlx::query_as("SELECT event_id, found FROM audit_search_outcome ORDER BY event_id")
                .fetch_all(p)
                .await
        }
        Db::Postgres(p) => {
            sqlx::query_as("SELECT event_id, found FROM audit_search_outcome ORDER BY event_id")
                .fetch_all(p)
                .await
        }
    }
    .unwrap();
    assert_eq!(outcomes, vec![(legacy.id, true)]);
}

/// The replay guard of the second factor lives in conditional updates: one step after the
/// last accepted one, and one unused recovery code, each win once, also when raced.
async fn an_authenticator_step_and_a_recovery_code_are_accepted_once(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    let user = organisation_with_user(&store).await;
    let id = user.id.clone();
    store
        .enrol_totp(&id, "sealed", 100, &["h1".into(), "h2".into()], event(1))
        .await
        .unwrap();
    assert!(matches!(
        store.enrol_totp(&id, "sealed", 100, &[], event(2)).await,
        Err(StoreError::AlreadyExists(Entity::SecondFactor))
    ));
    assert!(
        !store.use_totp_step(&id, 100).await.unwrap(),
        "the enrolment's step is used"
    );
    assert!(
        !store.use_totp_step(&id, 99).await.unwrap(),
        "an earlier step"
    );
    // Two sessions race with the same code: one wins.
    let (a, b) = tokio::join!(store.use_totp_step(&id, 101), store.use_totp_step(&id, 101));
    assert_eq!(
        [a.unwrap(), b.unwrap()].iter().filter(|won| **won).count(),
        1
    );
    assert_eq!(
        store.totp_factor(&id).await.unwrap().unwrap().last_step,
        Some(101)
    );

    let used = || {
        move |left| {
            NewAuditEvent::new(AuditAction::RecoveryCodeUsed, Outcome::Success).with_detail(
                domain::AuditDetail::RecoveryCodeUsed(domain::audit_detail::RecoveryCodes {
                    remaining: left,
                }),
            )
        }
    };
    let (a, b) = tokio::join!(
        store.use_recovery_code(&id, "h1", used()),
        store.use_recovery_code(&id, "h1", used())
    );
    let wins: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(wins, vec![1], "one use of h1, leaving h2");
    assert_eq!(
        store.use_recovery_code(&id, "nope", used()).await.unwrap(),
        None
    );
    assert_eq!(store.unused_recovery_codes(&id).await.unwrap(), 1);
    let generation = store
        .user_by_id(&id)
        .await
        .unwrap()
        .unwrap()
        .session_generation;
    store.reset_second_factor(&id, event(6)).await.unwrap();
    assert!(store.totp_factor(&id).await.unwrap().is_none());
    assert_eq!(store.unused_recovery_codes(&id).await.unwrap(), 0);
    assert_eq!(
        store
            .user_by_id(&id)
            .await
            .unwrap()
            .unwrap()
            .session_generation,
        generation + 1,
        "a reset ends her sessions"
    );
}

/// DESIGN 8.2's table: (system, code, category, sensitivity).
const DESIGN_CODES: [(&str, &str, &str, &str); 11] = [
    ("http://loinc.org", "882-1", "lab_screening", "normal"),
    ("http://loinc.org", "718-7", "lab_screening", "normal"),
    ("http://loinc.org", "5196-1", "lab_screening", "elevated"),
    ("http://loinc.org", "7917-8", "lab_screening", "high"),
    ("http://loinc.org", "85354-9", "pregnancy", "normal"),
    ("http://loinc.org", "11884-4", "pregnancy", "normal"),
    ("http://loinc.org", "72166-2", "lifestyle", "elevated"),
    ("http://loinc.org", "8339-4", "newborn", "normal"),
    ("http://loinc.org", "9274-2", "newborn", "normal"),
    (
        "http://snomed.info/sct",
        "11687002",
        "pregnancy",
        "elevated",
    ),
    ("http://snomed.info/sct", "35489007", "psychosocial", "high"),
];

async fn the_migrated_code_map_holds_the_design_codes_and_only_grows(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    let map = store.code_map().await.unwrap();
    assert!(map.len() >= 60, "{} codes", map.len());
    for (system, code, category, sensitivity) in DESIGN_CODES {
        let row = map
            .iter()
            .find(|m| m.system == system && m.code == code)
            .unwrap_or_else(|| panic!("{system} {code} missing"));
        assert_eq!(
            (row.category.as_str(), row.sensitivity.as_str()),
            (category, sensitivity),
            "{code}"
        );
        assert!(!row.source.is_empty(), "{code} names its source");
    }
    // A new row is added with its event; an existing (system, code) is refused, unchanged.
    let new = domain::code_map::validate_mapping(
        "http://loinc.org",
        "2093-3",
        "lab_screening",
        "normal",
        "Cholesterol",
        "zib LaboratoriumUitslag",
    )
    .unwrap();
    let event = || NewAuditEvent::new(AuditAction::CodeMapChanged, Outcome::Success);
    store.add_code_mapping(&new, event()).await.unwrap();
    let mut changed = map[0].clone();
    changed.sensitivity = domain::Sensitivity::High;
    assert!(matches!(
        store.add_code_mapping(&changed, event()).await,
        Err(StoreError::AlreadyExists(Entity::CodeMapping))
    ));
    let after = store.code_map().await.unwrap();
    assert_eq!(after.len(), map.len() + 1);
    assert!(after.contains(&new));
    assert!(after.contains(&map[0]), "the existing row is unchanged");
    let actions: Vec<_> = store
        .audit_events_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["code_map_changed"]);
}

async fn visibility_epoch(store: &Store) -> StoreResult<i64> {
    read_conn!(store, |c| c.visibility_epoch().await)
}

async fn count_of(store: &Store, action: AuditAction) -> usize {
    store
        .audit_events_after(0, 100_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == action.as_str())
        .count()
}

fn read_event() -> group_commit::Logged {
    group_commit::Logged {
        event: NewAuditEvent::new(AuditAction::Read, Outcome::Success),
        valid_until: None,
    }
}

/// The group commit's premise (issue 15): every event that records a change raises the
/// epoch in its own transaction; reads, refusals and logins do not (or every view would
/// send the others back).
async fn every_change_raises_the_visibility_epoch_and_no_read_does(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    for &action in AuditAction::ALL {
        let before = visibility_epoch(&store).await.unwrap();
        store
            .record(NewAuditEvent::new(action, Outcome::Success))
            .await
            .unwrap();
        let raised = visibility_epoch(&store).await.unwrap() - before;
        let expected = i64::from(!audit_log::records_no_change(action));
        assert_eq!(raised, expected, "{action:?}");
    }
    for action in [
        AuditAction::ConsentWithdrawn,
        AuditAction::GrantRevoked,
        AuditAction::AccessRequest,
        AuditAction::ConsentProfileChanged,
        AuditAction::ShareReceived,
        AuditAction::RetentionPurge,
    ] {
        assert!(
            !audit_log::records_no_change(action),
            "{action:?} changes what a view shows"
        );
    }
}

/// Rules 1, 2 and 4 under the group commit: a read taken on a snapshot before a change (here
/// a withdrawal's event) is sent back, not logged after the change; so is one whose grant ran
/// out meanwhile. Only a read of the current epoch is appended.
async fn a_snapshot_read_is_logged_only_while_nothing_it_read_has_changed(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    let seen = visibility_epoch(&store).await.unwrap();
    store
        .record(NewAuditEvent::new(
            AuditAction::ConsentWithdrawn,
            Outcome::Success,
        ))
        .await
        .unwrap();
    assert_eq!(
        store.commit_read(read_event(), seen).await,
        group_commit::Landed::Stale
    );
    assert_eq!(count_of(&store, AuditAction::Read).await, 0);

    let current = visibility_epoch(&store).await.unwrap();
    let mut expired = read_event();
    expired.valid_until = Some(now_ms() - 1);
    assert_eq!(
        store.commit_read(expired, current).await,
        group_commit::Landed::Stale
    );
    assert_eq!(
        store.commit_read(read_event(), current).await,
        group_commit::Landed::Appended
    );
    assert_eq!(count_of(&store, AuditAction::Read).await, 1);
    let stats = store.group_commit_stats();
    assert_eq!((stats.appended, stats.stale), (1, 2));
    assert_eq!(
        crate::integrity::verify_chain(&store).await.unwrap(),
        VerifyReport::Intact { events: 2 }
    );
}

/// The point of the group commit: reads queued together share a commit, and every one is
/// appended, in one intact chain.
async fn concurrent_reads_share_commits(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    let epoch = visibility_epoch(&store).await.unwrap();
    let reads: Vec<_> = (0..group_commit::MAX_BATCH * 2)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.commit_read(read_event(), epoch).await })
        })
        .collect();
    for read in reads {
        assert_eq!(read.await.unwrap(), group_commit::Landed::Appended);
    }
    let stats = store.group_commit_stats();
    let n = (group_commit::MAX_BATCH * 2) as u64;
    assert_eq!(stats.appended, n);
    assert!(
        stats.commits < n / 2,
        "{} commits for {n} reads: they did not share",
        stats.commits
    );
    assert_eq!(
        crate::integrity::verify_chain(&store).await.unwrap(),
        VerifyReport::Intact { events: n as i64 }
    );
}

/// The policy and layout kept in memory (issue 15) are read again after any change to their
/// tables, also one made by hand in SQL (the triggers raise the epoch); without a change they
/// come from memory.
async fn a_policy_changed_by_hand_reaches_the_next_view(backend: Backend) {
    use domain::{Category, PolicyCell, Role};
    let (store, _guard) = fresh_store(backend).await;
    let (policy, _) = store.policy_and_layout().await.unwrap();
    assert_eq!(*policy, Policy::default_design());
    let (again, _) = store.policy_and_layout().await.unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&policy, &again),
        "unchanged: from memory"
    );
    assert_ne!(
        policy.cell(Role::Verloskundige, Category::Pregnancy),
        PolicyCell::None
    );
    close_by_hand(&store, "pregnancy").await;
    let (changed, _) = store.policy_and_layout().await.unwrap();
    assert_eq!(
        changed.cell(Role::Verloskundige, Category::Pregnancy),
        PolicyCell::None
    );
    let before = visibility_epoch(&store).await.unwrap();
    raw(&store, "DELETE FROM handover_codes").await.unwrap();
    assert!(
        visibility_epoch(&store).await.unwrap() > before,
        "the layout too"
    );
}

/// Closes `category` to the midwife behind the store's back, in SQL.
async fn close_by_hand(store: &Store, category: &str) {
    let sql = format!(
        "UPDATE access_policy SET max_sensitivity = 'none' \
         WHERE role = 'verloskundige' AND category = '{category}'"
    );
    raw(store, &sql).await.unwrap();
}

/// The "many clients within an hour" count (`recent_client_access`): each other client the
/// user reached in the hour before counts once however often, the client at hand and older
/// accesses not at all, and another user's accesses not at all.
async fn the_bulk_count_sees_each_other_client_of_the_last_hour_once(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    let now = now_ms();
    note_accesses(&store, now).await.unwrap();
    let others = other_clients(&store, "u1", "999888777", now - 3_600_000)
        .await
        .unwrap();
    assert_eq!(others, 2, "111222333 and 222333444");
}

async fn note_accesses(store: &Store, now: i64) -> StoreResult<()> {
    write_tx!(store, |c| {
        for (user, bsn, ago_minutes) in [
            ("u1", "111222333", 5),
            ("u1", "111222333", 3),
            ("u1", "222333444", 10),
            ("u1", "333444555", 61),
            ("u1", "999888777", 1),
            ("u2", "444555666", 2),
        ] {
            c.note_client_accesses(&[(user, bsn, now - ago_minutes * 60_000)])
                .await?;
        }
        // A late write of an earlier time keeps the newest.
        c.note_client_accesses(&[("u1", "333444555", now - 90 * 60_000)])
            .await?;
    });
    Ok(())
}

async fn other_clients(store: &Store, user: &str, bsn: &str, since: i64) -> StoreResult<i64> {
    read_conn!(store, |c| c.other_clients_accessed(user, bsn, since).await)
}

/// A grant of `user` for `client` on the ground of a treatment relationship, for an hour.
async fn behandelrelatie(store: &Store, user: &NewUser, client: &domain::ClientId) -> GrantRow {
    let grant = GrantRow {
        id: domain::GrantId::from("g1"),
        user_id: user.id.clone(),
        client_id: client.clone(),
        ground: domain::grant::Ground::Behandelrelatie,
        reason: String::new(),
        created_at: now_ms(),
        expires_at: now_ms() + 3_600_000,
    };
    store
        .create_grant(&grant, event(1), |_| event(2))
        .await
        .unwrap();
    grant
}

/// A view's entries arrive as one JSON row (`BackendSpecific::json_rows`): every field intact
/// (quotes, non-ASCII, a missing unit and pregnancy), only the allowed `category:sensitivity`
/// pairs, newest first with the id breaking ties; and an empty list where nothing is allowed
/// to be shown (PostgreSQL's aggregate gives NULL for no rows).
async fn a_view_reads_the_permitted_entries_whole_and_newest_first(backend: Backend) {
    use domain::{Category, Sensitivity};
    let (store, _guard) = fresh_store(backend).await;
    let user = user_with_source_a(&store).await;
    let entry =
        |id: &str, category, sensitivity, at: i64, value: &str, unit: Option<&str>| EntryRow {
            id: id.into(),
            pregnancy_id: unit.map(|_| "p1".to_owned()),
            category,
            code: "c".into(),
            label: "Opmerking \"ë\"".into(),
            value: value.into(),
            unit: unit.map(str::to_owned),
            observed_at: at,
            sensitivity,
        };
    let mut content = share(&[]);
    content.entries = vec![
        entry(
            "b",
            Category::LabScreening,
            Sensitivity::Normal,
            2_000,
            "7,1",
            Some("mmol/l"),
        ),
        entry(
            "a",
            Category::LabScreening,
            Sensitivity::Normal,
            2_000,
            "[\"x\"]",
            Some("mmol/l"),
        ),
        entry(
            "old",
            Category::LabScreening,
            Sensitivity::Normal,
            1_000,
            "6.9",
            None,
        ),
        entry(
            "hidden",
            Category::LabScreening,
            Sensitivity::High,
            3_000,
            "geheim",
            None,
        ),
    ];
    let bsn = "999990019";
    store
        .replace_share(bsn, &SourceId::from("src-a"), &content, received())
        .await
        .unwrap();
    let client = store.client_id_by_bsn(bsn).await.unwrap().unwrap();
    let grant = behandelrelatie(&store, &user, &client).await;
    let view = |allowed: Vec<String>| {
        let (store, user_id, client) = (&store, grant.user_id.clone(), client.clone());
        async move {
            store
                .audited_view(
                    &user_id,
                    &client,
                    |_| (allowed.clone(), false),
                    |_| NewAuditEvent::new(AuditAction::Read, Outcome::Success),
                )
                .await
                .unwrap()
                .1
                .unwrap()
        }
    };
    let rows = view(vec!["lab_screening:normal".into()]).await;
    let shown: Vec<_> = rows
        .entries
        .iter()
        .map(|e| {
            (
                e.id.as_str(),
                e.observed_at,
                e.value.as_str(),
                e.unit.as_deref(),
                e.pregnancy_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("a", 2_000, "[\"x\"]", Some("mmol/l"), Some("p1")),
            ("b", 2_000, "7,1", Some("mmol/l"), Some("p1")),
            ("old", 1_000, "6.9", None, None),
        ]
    );
    let first = &rows.entries[0];
    assert_eq!(first.label, "Opmerking \"ë\"");
    assert_eq!(first.organisation_name, "A");
    assert_eq!(first.source_id, SourceId::from("src-a"));
    assert_eq!(
        (first.category, first.sensitivity),
        (Category::LabScreening, Sensitivity::Normal)
    );
    assert!(view(vec!["birth:normal".into()]).await.entries.is_empty());

    // The policy in memory is checked against the view's own snapshot (the visibility
    // epoch): a change since, here made by hand in SQL, is applied by the very next view.
    let by_policy = || async {
        store
            .audited_view(
                &grant.user_id,
                &client,
                |p| {
                    (
                        crate::viewing::allowed_pairs(p, domain::Role::Verloskundige),
                        false,
                    )
                },
                |_| NewAuditEvent::new(AuditAction::Read, Outcome::Success),
            )
            .await
            .unwrap()
    };
    let (_, rows) = by_policy().await;
    assert!(!rows.unwrap().entries.is_empty());
    close_by_hand(&store, "lab_screening").await;
    let ((policy, _), rows) = by_policy().await;
    assert_eq!(
        policy.cell(domain::Role::Verloskundige, Category::LabScreening),
        domain::PolicyCell::None
    );
    assert!(
        rows.unwrap().entries.is_empty(),
        "the changed policy applies"
    );
}

/// What views of a client read is kept in memory (`kept_views`) and used only in a snapshot of
/// the same visibility epoch: a second view reads the grant again but not the entries; a
/// change made behind the store's back, in SQL (an entry's value, a source's withdrawal, a
/// profile that allows one organisation only), reaches the very next view all the same, and
/// so does every table the lists come from (triggers raise the epoch).
async fn a_kept_view_serves_only_the_epoch_it_was_read_at(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    let user = user_with_source_a(&store).await;
    store
        .add_organisation("org-b", "B", domain::OrganisationKind::Ziekenhuis, event(0))
        .await
        .unwrap();
    store
        .add_source(&SourceId::from("src-b"), "org-b", event(0))
        .await
        .unwrap();
    let bsn = "999990019";
    for (source, entries) in [("src-a", [("a1", "7,1")]), ("src-b", [("b1", "6,9")])] {
        store
            .replace_share(bsn, &SourceId::from(source), &share(&entries), received())
            .await
            .unwrap();
    }
    let client = store.client_id_by_bsn(bsn).await.unwrap().unwrap();
    let grant = behandelrelatie(&store, &user, &client).await;
    let view = |pair: &'static str| {
        let (store, user_id, client) = (&store, grant.user_id.clone(), client.clone());
        async move {
            let rows = store
                .audited_view(
                    &user_id,
                    &client,
                    |_| (vec![pair.to_owned()], true),
                    |_| NewAuditEvent::new(AuditAction::Read, Outcome::Success),
                )
                .await
                .unwrap()
                .1
                .unwrap();
            let entries: Vec<(String, String)> = rows
                .entries
                .iter()
                .map(|e| (e.id.clone(), e.value.clone()))
                .collect();
            let sources: Vec<String> = rows
                .sources
                .iter()
                .map(|s| s.source_id.to_string())
                .collect();
            (entries, sources, rows.pregnancies.len())
        }
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let lab = "lab_screening:normal";
    let both = (
        pairs(&[("a1", "7,1"), ("b1", "6,9")]),
        vec!["src-a".to_owned(), "src-b".to_owned()],
        2,
    );
    assert_eq!(view(lab).await, both);
    assert_eq!(store.kept_view_stats(), KeptViewStats { used: 0, read: 1 });
    assert_eq!(view(lab).await, both, "the kept lists are the read ones");
    assert_eq!(store.kept_view_stats(), KeptViewStats { used: 1, read: 1 });
    // Another role's pairs are other lists, kept apart.
    assert_eq!(view("birth:normal").await.0, pairs(&[]));
    assert_eq!(view(lab).await, both);
    assert_eq!(store.kept_view_stats(), KeptViewStats { used: 2, read: 2 });

    raw(
        &store,
        "UPDATE entries SET value = '8,0' WHERE source_entry_id = 'a1'",
    )
    .await
    .unwrap();
    assert_eq!(view(lab).await.0, pairs(&[("a1", "8,0"), ("b1", "6,9")]));
    raw(
        &store,
        "UPDATE shares SET consent = 'withdrawn', name = NULL, birth_date = NULL \
         WHERE source_id = 'src-b'",
    )
    .await
    .unwrap();
    assert_eq!(
        view(lab).await,
        (pairs(&[("a1", "8,0")]), vec!["src-a".to_owned()], 1),
        "withdrawn by hand: gone from the next view"
    );
    raw(
        &store,
        "UPDATE shares SET consent = 'active', name = 'Test Cliënt', birth_date = '1990-05-01' \
         WHERE source_id = 'src-b'",
    )
    .await
    .unwrap();
    assert_eq!(view(lab).await.1.len(), 2);
    raw(
        &store,
        "INSERT INTO registries (id, created_at) VALUES ('reg', 0)",
    )
    .await
    .unwrap();
    raw(
        &store,
        "INSERT INTO consent_profiles (bsn, registry_id, choice, version, received_at) \
         VALUES ('999990019', 'reg', 'selected', 1, 0)",
    )
    .await
    .unwrap();
    raw(
        &store,
        "INSERT INTO consent_profile_organisations (bsn, organisation_id) \
         VALUES ('999990019', 'org-b')",
    )
    .await
    .unwrap();
    assert_eq!(
        view(lab).await,
        (pairs(&[("b1", "6,9")]), vec!["src-b".to_owned()], 1),
        "a profile by hand: only what it allows"
    );
    // Every table the lists come from, changed by hand, raises the epoch.
    for (table, column) in [
        ("clients", "bsn"),
        ("shares", "name"),
        ("sources", "organisation_id"),
        ("organisations", "name"),
        ("consent_profiles", "choice"),
        ("consent_profile_organisations", "organisation_id"),
        ("pregnancies", "edd"),
        ("entries", "label"),
    ] {
        let before = visibility_epoch(&store).await.unwrap();
        raw(&store, &format!("UPDATE {table} SET {column} = {column}"))
            .await
            .unwrap();
        assert!(
            visibility_epoch(&store).await.unwrap() > before,
            "{table} changed by hand"
        );
    }
}

/// The client page's view reads the holder's spoed notice in its own statement, by the same
/// rule as the notice's own query (`spoed::notice_sql`): none under another ground; under a
/// spoed grant, from the first view on, that view counted (it is logged with the rows it
/// read) and later ones dated by the first in the log; gone once marked "client informed".
async fn a_view_reads_the_spoed_notice_as_its_own_query_does(backend: Backend) {
    let (store, _guard) = fresh_store(backend).await;
    let user = user_with_source_a(&store).await;
    let bsn = "999990019";
    store
        .replace_share(bsn, &SourceId::from("src-a"), &share(&[]), received())
        .await
        .unwrap();
    let client = store.client_id_by_bsn(bsn).await.unwrap().unwrap();
    let since = now_ms() - 3_600_000;
    let grant = |id: &str, ground, created_at: i64| GrantRow {
        id: domain::GrantId::from(id),
        user_id: user.id.clone(),
        client_id: client.clone(),
        ground,
        reason: "acuut".into(),
        created_at,
        expires_at: now_ms() + 3_600_000,
    };
    let view = || async {
        let (_, rows) = store
            .audited_view(
                &user.id,
                &client,
                |_| (Vec::new(), false),
                |rows| {
                    let mut e = NewAuditEvent::new(AuditAction::Read, Outcome::Success);
                    e.client_id = Some(rows.identity.client_id.clone());
                    e.grant_id = Some(rows.grant.id.clone());
                    e
                },
            )
            .await
            .unwrap();
        rows.unwrap().spoed_notice
    };
    let own_query = || async {
        store
            .spoed_notice(&user.id, &client, since)
            .await
            .unwrap()
            .map(|g| (g.grant.id, g.viewed_at))
    };

    let care = grant(
        "g-care",
        domain::grant::Ground::Behandelrelatie,
        now_ms() - 1_000,
    );
    assert!(store
        .create_grant(&care, event(1), |_| event(2))
        .await
        .unwrap());
    assert_eq!(view().await, None, "another ground");
    assert_eq!(own_query().await, None);

    raw(
        &store,
        "UPDATE access_grants SET ended_at = 1 WHERE id = 'g-care'",
    )
    .await
    .unwrap();
    let spoed = grant("g-spoed", domain::grant::Ground::Spoed, now_ms());
    assert!(store
        .create_grant(&spoed, event(3), |_| event(4))
        .await
        .unwrap());
    assert_eq!(own_query().await, None, "not viewed under it yet");
    let before = now_ms();
    let first = view()
        .await
        .expect("the first view under the spoed grant counts");
    assert_eq!(first.grant_id, spoed.id);
    assert!((before..=now_ms()).contains(&first.viewed_at));
    let logged = own_query().await.expect("the view was logged");
    assert_eq!(logged.0, spoed.id);
    let first_logged = logged.1.expect("viewed");
    assert_eq!(
        view().await,
        Some(SpoedNoticeRow {
            grant_id: spoed.id.clone(),
            viewed_at: first_logged,
        }),
        "dated by the first view in the log"
    );

    raw(
        &store,
        "INSERT INTO spoed_informed (grant_id, informed_by, informed_at) VALUES ('g-spoed', 'u1', 1)",
    )
    .await
    .unwrap();
    assert_eq!(own_query().await, None, "marked informed");
    assert_eq!(view().await, None, "marked informed");
}

/// `OOIEVAAR_DB_CONNECTIONS` (`Settings::db_connections`) sizes the pool; unset, it has twice
/// the machine's cores, at least 4, on either backend.
async fn the_pool_has_the_configured_size_or_the_backends_default(backend: Backend) {
    let max = |store: &Store| match store.db() {
        Db::Sqlite(pool) => pool.options().get_max_connections(),
        Db::Postgres(pool) => pool.options().get_max_connections(),
    };
    let database = crate::test_support::fresh_database(backend).await;
    let sized = Store::connect_with_pool(&database.url, std::num::NonZeroU32::new(3))
        .await
        .unwrap();
    assert_eq!(max(&sized), 3);
    let default = Store::connect(&database.url).await.unwrap();
    let cores = std::thread::available_parallelism().unwrap().get() as u32;
    assert_eq!(max(&default), (2 * cores).max(4));
}

/// What a run of events left in the log's tables after the event `after`.
#[derive(Debug, PartialEq)]
struct Written {
    events: Vec<AuditRow>,
    scope: Vec<(i64, String, i64)>,
    flags: Vec<(i64, i64, String)>,
    recent_access: Vec<(String, String, i64)>,
}

queries! {
    /// What [`Written`] reads.
    trait WrittenQueries;

    async fn written_rest(&mut self, after: i64) -> StoreResult<(Vec<(i64, String, i64)>, Vec<(i64, i64, String)>, Vec<(String, String, i64)>)> {
        let scope = sqlx::query_as(
            "SELECT event_id, organisation_id, occurred_at FROM audit_scope WHERE event_id > $1 \
             ORDER BY event_id, organisation_id",
        ).bind(after).fetch_all(&mut *self).await?;
        let flags = sqlx::query_as(
            "SELECT event_id, occurred_at, flags FROM audit_flags WHERE event_id > $1 ORDER BY event_id",
        ).bind(after).fetch_all(&mut *self).await?;
        let recent = sqlx::query_as(
            "SELECT user_id, bsn, last_at FROM recent_client_access ORDER BY user_id, bsn",
        ).fetch_all(&mut *self).await?;
        Ok((scope, flags, recent))
    }
}

async fn written<C: AuditLogQueries + WrittenQueries>(
    c: &mut C,
    after: i64,
) -> StoreResult<Written> {
    let events = c.audit_page(after, 10_000).await?;
    let (scope, flags, recent_access) = c.written_rest(after).await?;
    Ok(Written {
        events,
        scope,
        flags,
        recent_access,
    })
}

/// `events` appended at `at` one by one (`append_locked`, as every event outside the group
/// commit), or as one run (`read_batch`), in the caller's transaction.
async fn append_run<C>(
    c: &mut C,
    events: &[NewAuditEvent],
    at: i64,
    one_by_one: bool,
) -> StoreResult<Written>
where
    C: AuditLogQueries
        + ShareQueries
        + ReviewQueries
        + read_batch::ReadBatchQueries
        + BackendSpecific
        + WrittenQueries,
{
    c.lock_audit_chain().await?;
    let after = c.audit_head().await?.map_or(0, |(id, _)| id);
    let rules = FlagRules::default();
    let mut head = None;
    if one_by_one {
        for e in events {
            audit_log::append_locked(c, &rules, e.clone(), Some(at), &mut head).await?;
        }
    } else {
        read_batch::append_reads_locked(c, &rules, events.to_vec(), at, &mut head).await?;
    }
    written(c, after).await
}

async fn grants_and_accesses(store: &Store, grants: &[GrantRow], at: i64) -> StoreResult<()> {
    write_tx!(store, |c| {
        for grant in grants {
            c.insert_grant(grant).await?;
        }
        // u1 reached 19 other clients in the last hour: the run's second client is her 21st.
        for n in 0..19 {
            let bsn = format!("9000000{n:02}");
            c.note_client_accesses(&[("u1", &bsn, at - 20 * 60_000)])
                .await?;
        }
        c.note_client_accesses(&[("u1", "111222333", at - 90 * 60_000)])
            .await?;
    });
    Ok(())
}

/// The group commit's run of view events (`read_batch`) writes exactly what appending them one
/// by one writes: the same rows and hashes, scope, flags (a night view, a view soon after a
/// grant by an organisation that shares nothing of her, the bulk count carried from one event
/// of the run to the next) and recent accesses. The one-by-one run is rolled back, so both
/// start from the same head.
async fn a_run_of_reads_is_logged_as_one_by_one(backend: Backend) {
    use domain::audit_detail::Read;
    use domain::grant::Ground;
    let (store, _guard) = fresh_store(backend).await;
    with_two_sources(&store).await;
    let mut users = Vec::new();
    for (id, org) in [("u1", "org-a"), ("u2", "org-b")] {
        let user = NewUser {
            id: id.into(),
            organisation_id: org.into(),
            username: domain::Username::parse(&format!("user{id}")).unwrap(),
            display_name: id.into(),
            role: domain::Role::Verloskundige,
        };
        store
            .add_user(&user, "$argon2id$x", event(0))
            .await
            .unwrap();
        users.push(user);
    }
    let bsns = ["111222333", "222333444", "333444555"];
    for (bsn, source) in bsns.iter().zip(["src-b", "src-a", "src-b"]) {
        push(&store, bsn, source, &[("e1", "7.1")]).await.unwrap();
    }
    let mut clients = Vec::new();
    for bsn in bsns {
        clients.push(store.find_client(bsn, "1990-05-01").await.unwrap().unwrap());
    }
    // 23:30 in Amsterdam (a night view), 2025-12-01.
    let at = 1_764_628_200_000;
    let grants: Vec<GrantRow> = [(0, 0, 10), (0, 1, 300), (1, 2, 5)]
        .iter()
        .map(|&(user, client, minutes_ago)| GrantRow {
            id: GrantId::from(format!("g{user}{client}")),
            user_id: users[user].id.clone(),
            client_id: clients[client].clone(),
            ground: Ground::Behandelrelatie,
            reason: String::new(),
            created_at: at - minutes_ago * 60_000,
            expires_at: at + 3_600_000,
        })
        .collect();
    grants_and_accesses(&store, &grants, at).await.unwrap();
    let view = |user: usize, grant: Option<usize>, sources: &[&str]| {
        let u = &users[user];
        let mut e = NewAuditEvent::new(AuditAction::Read, Outcome::Success)
            .by(audit_log::Actor {
                user_id: u.id.clone(),
                user_name: u.display_name.clone(),
                role: u.role,
                organisation_id: u.organisation_id.clone(),
            })
            .with_detail(domain::AuditDetail::Read(Read {
                view: Some("client".into()),
                sources: sources.iter().map(|s| SourceId::from(*s)).collect(),
                ..Default::default()
            }));
        if let Some(g) = grant {
            let grant = &grants[g];
            let client = clients.iter().position(|c| *c == grant.client_id).unwrap();
            e.client_id = Some(grant.client_id.clone());
            e.bsn = Some(bsns[client].to_owned());
            e.grant_id = Some(grant.id.clone());
            e.ground = Some(grant.ground);
        }
        e
    };
    let events = vec![
        view(0, Some(0), &["src-b"]),
        view(0, Some(1), &["src-a"]),
        view(0, Some(0), &["src-b", "src-a"]),
        view(1, None, &[]),
        view(1, Some(2), &["src-b", "no-such-source"]),
        view(0, Some(1), &["src-a"]),
    ];
    assert!(events.iter().all(read_batch::is_batchable));

    macro_rules! both_ways {
        ($pool:expr) => {{
            let mut tx = $pool.begin().await.unwrap();
            let one_by_one = append_run(&mut *tx, &events, at, true).await.unwrap();
            tx.rollback().await.unwrap();
            let mut tx = $pool.begin().await.unwrap();
            let batched = append_run(&mut *tx, &events, at, false).await.unwrap();
            tx.commit().await.unwrap();
            (one_by_one, batched)
        }};
    }
    let (one_by_one, batched) = match store.db() {
        Db::Sqlite(pool) => both_ways!(pool),
        Db::Postgres(pool) => both_ways!(pool),
    };
    assert_eq!(batched.events.len(), events.len());
    assert!(
        one_by_one.flags.iter().any(|(_, _, f)| f.contains("bulk")),
        "the run reaches the bulk threshold: {:?}",
        one_by_one.flags
    );
    assert!(one_by_one
        .flags
        .iter()
        .any(|(_, _, f)| f.contains("new_grant")));
    assert_eq!(batched, one_by_one);
    assert_eq!(
        crate::integrity::verify_chain(&store).await.unwrap(),
        VerifyReport::Intact {
            events: batched.events.last().unwrap().id
        }
    );
}

/// The demo flag is read once per [`installation::DemoFlag`]'s recheck interval at most, not
/// on every page: set by another instance (here a second store on the same database), it
/// shows within that interval; set through this store, at once.
async fn the_demo_flag_is_kept_once_seen_and_its_absence_read_again(backend: Backend) {
    let database = crate::test_support::fresh_database(backend).await;
    let here = Store::connect(&database.url).await.unwrap();
    let other = Store::connect(&database.url).await.unwrap();
    assert!(!here.is_demo().await.unwrap());
    other.mark_demo().await.unwrap();
    assert!(other.is_demo().await.unwrap(), "its own mark at once");
    let marked = std::time::Instant::now();
    let deadline = marked + installation::DemoFlag::RECHECK + std::time::Duration::from_secs(5);
    while !here.is_demo().await.unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "another instance's mark never showed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

//! Migration parity: after all migrations, SQLite and PostgreSQL hold the same tables, columns,
//! indexes and triggers, by name. Each backend has its own migration folder with the same file
//! names, so a column or index added to one and forgotten in the other would otherwise show up
//! only as a slow query or a failing statement on the other backend in production.
//!
//! Only names are compared, not column types: SQLite keeps a declared type as an affinity,
//! PostgreSQL as a strict type, so the two never spell them alike. Indexes are the ones the
//! migrations create by name; those backing a primary key or a `UNIQUE` constraint are
//! implicit on both sides and carry backend-made names, so they are left out.

use backend::store::Db;
use backend::test_support::{fresh_store, Backend};
use std::collections::BTreeSet;

/// The real differences between the two schemas, each `(backend it exists on, item)`.
const ALLOWED: &[(Backend, &str)] = &[
    // The access log is append-only. SQLite needs one trigger per refused statement...
    (
        Backend::Sqlite,
        "trigger audit_events.audit_events_no_update",
    ),
    (
        Backend::Sqlite,
        "trigger audit_events.audit_events_no_delete",
    ),
    // ... and one for `INSERT OR REPLACE`, which deletes without firing a DELETE trigger;
    // PostgreSQL has no REPLACE (its upsert fires the UPDATE trigger).
    (
        Backend::Sqlite,
        "trigger audit_events.audit_events_no_replace",
    ),
    // PostgreSQL refuses UPDATE and DELETE in one trigger, and TRUNCATE, which SQLite lacks.
    (
        Backend::Postgres,
        "trigger audit_events.audit_events_no_update_or_delete",
    ),
    (
        Backend::Postgres,
        "trigger audit_events.audit_events_no_truncate",
    ),
    // A TRUNCATE of a table a view's kept lists come from raises the visibility epoch
    // (20261203090000); its other triggers are deferred constraint triggers, which cannot
    // fire on TRUNCATE, and SQLite has no TRUNCATE.
    (
        Backend::Postgres,
        "trigger clients.clients_truncate_raises_epoch",
    ),
    (
        Backend::Postgres,
        "trigger shares.shares_truncate_raises_epoch",
    ),
    (
        Backend::Postgres,
        "trigger sources.sources_truncate_raises_epoch",
    ),
    (
        Backend::Postgres,
        "trigger organisations.organisations_truncate_raises_epoch",
    ),
    (
        Backend::Postgres,
        "trigger consent_profiles.consent_profiles_truncate_raises_epoch",
    ),
    (
        Backend::Postgres,
        "trigger consent_profile_organisations.consent_profile_organisations_truncate_raises_epoch",
    ),
    (
        Backend::Postgres,
        "trigger consent_profile_kinds.consent_profile_kinds_truncate_raises_epoch",
    ),
    (
        Backend::Postgres,
        "trigger pregnancies.pregnancies_truncate_raises_epoch",
    ),
    (
        Backend::Postgres,
        "trigger entries.entries_truncate_raises_epoch",
    ),
];

/// Tables not made by our migrations: sqlx's bookkeeping, and the session store's table,
/// which tower-sessions creates at start-up (SQLite `tower_sessions`; on PostgreSQL it lives
/// in its own schema `tower_sessions`, outside `public`).
const NOT_OURS: &[&str] = &["_sqlx_migrations", "tower_sessions"];

/// Every table, column, index and trigger as one line: `table t`, `column t.c`,
/// `index t.i`, `trigger t.g`.
async fn schema(backend: Backend) -> BTreeSet<String> {
    let (store, _guard) = fresh_store(backend).await;
    let rows: Vec<(String, String, String)> = match store.db() {
        Db::Sqlite(pool) => sqlx::query_as(
            "SELECT 'table', m.name, '' FROM sqlite_master m
              WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
             UNION ALL
             SELECT 'view', m.name, '' FROM sqlite_master m WHERE m.type = 'view'
             UNION ALL
             SELECT 'column', m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c
              WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%'
             UNION ALL
             -- An automatic index (primary key, UNIQUE) has no SQL of its own.
             SELECT 'index', m.tbl_name, m.name FROM sqlite_master m
              WHERE m.type = 'index' AND m.sql IS NOT NULL
             UNION ALL
             SELECT 'trigger', m.tbl_name, m.name FROM sqlite_master m
              WHERE m.type = 'trigger'",
        )
        .fetch_all(pool)
        .await
        .expect("SQLite schema"),
        Db::Postgres(pool) => sqlx::query_as(
            "SELECT 'table'::text, table_name::text, ''::text FROM information_schema.tables
              WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
             UNION ALL
             SELECT 'view', table_name::text, '' FROM information_schema.views
              WHERE table_schema = 'public'
             UNION ALL
             SELECT 'column', table_name::text, column_name::text FROM information_schema.columns
              WHERE table_schema = 'public'
             UNION ALL
             SELECT 'index', tablename::text, indexname::text FROM pg_indexes
              WHERE schemaname = 'public'
                AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))
             UNION ALL
             SELECT 'trigger', c.relname::text, t.tgname::text FROM pg_trigger t
               JOIN pg_class c ON c.oid = t.tgrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND NOT t.tgisinternal",
        )
        .fetch_all(pool)
        .await
        .expect("PostgreSQL schema"),
    };
    store.close().await;
    rows.into_iter()
        .filter(|(_, table, _)| !NOT_OURS.contains(&table.as_str()))
        .map(|(kind, table, name)| {
            let table = table.to_lowercase();
            if name.is_empty() {
                format!("{kind} {table}")
            } else {
                format!("{kind} {table}.{}", name.to_lowercase())
            }
        })
        .collect()
}

/// `a` less `b` less what the allow-list grants to `backend`.
fn unexplained(a: &BTreeSet<String>, b: &BTreeSet<String>, backend: Backend) -> Vec<String> {
    a.difference(b)
        .filter(|item| !ALLOWED.contains(&(backend, item.as_str())))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_have_the_same_tables_columns_indexes_and_triggers() {
    let sqlite = schema(Backend::Sqlite).await;
    let postgres = schema(Backend::Postgres).await;
    assert!(
        sqlite.iter().any(|i| i == "column audit_events.detail"),
        "the SQLite schema was read: {sqlite:?}"
    );
    assert!(
        postgres.iter().any(|i| i == "column audit_events.detail"),
        "the PostgreSQL schema was read: {postgres:?}"
    );
    let only_sqlite = unexplained(&sqlite, &postgres, Backend::Sqlite);
    let only_postgres = unexplained(&postgres, &sqlite, Backend::Postgres);
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "schemas drift apart; add the missing item by a new migration on the other backend, \
         or to ALLOWED with its reason.\nonly on SQLite: {only_sqlite:#?}\nonly on PostgreSQL: \
         {only_postgres:#?}"
    );
    // The allow-list stays true: each entry still exists on its backend and not on the other.
    for (backend, item) in ALLOWED {
        let (on, off) = match backend {
            Backend::Sqlite => (&sqlite, &postgres),
            Backend::Postgres => (&postgres, &sqlite),
        };
        assert!(
            on.contains(*item) && !off.contains(*item),
            "stale allow-list entry {backend:?} {item}"
        );
    }
}

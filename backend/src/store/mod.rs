//! The store: the only code that touches the database, on SQLite (embedded, the default) or
//! PostgreSQL (production), chosen by the `DATABASE_URL` scheme.
//!
//! SQL lives here and nowhere else, one file per area, each holding its rows, its statements
//! and its `Store` methods together: `accounts` (organisations, users, login failures),
//! `installation` (flags, access policy), `sources` (source systems, keys, token replay), `registry` (consent registries and
//! profiles), `retention` (purging copies past their term), `spoed` (the follow-up of a spoed access),
//! `shares` (clients, shares, consent, pregnancies, entries), `viewing` (finding clients,
//! grants, the rows a view reads), `review` (the officer's queries, checkpoints) and the access
//! log's own statements (`queries`, `audit`). Each area's statements are written once and
//! compiled for both backends by the `queries!` macro, so the two cannot drift apart; the
//! shared store test suite runs on both (`make test`). Times are UTC milliseconds (`i64`) and dates ISO text on both backends.
//!
//! Transactions that read and then write start with `BEGIN IMMEDIATE` on SQLite (a deferred
//! transaction would fail with SQLITE_BUSY when it upgrades to a writer under concurrency).

mod accounts;
pub mod audit_log;
mod code_map;
pub mod group_commit;
mod installation;
mod kept_views;
mod queries;
mod read_batch;
mod registry;
mod retention;
mod review;
mod second_factor;
mod shares;
mod sources;
mod spoed;
mod viewing;

pub use accounts::AccountQueries;
pub use accounts::{FailureCount, NewUser, OrganisationRow, UserRow};
pub use audit_log::{chain_hash, AuditLogQueries, AuditRow, NewAuditEvent, GENESIS_HASH};
pub use code_map::CodeMapQueries;
pub use installation::{Installation, InstallationQueries};
pub use kept_views::KeptViewStats;
pub use queries::BackendSpecific;
pub use registry::{CallerRow, Party, RegistryQueries, StoredProfile};
pub use retention::{PurgeCounts, PurgeOutcome, RetentionCandidate, RetentionQueries};
pub use review::{
    review_sql, CheckpointRow, GrantHolderRow, Keyset, OrganisationGrantRow, ReviewQueries,
    ReviewQuery, ReviewRow, VerificationRow, MAX_PAGE, OVERVIEW_LIMIT,
};
pub use second_factor::SecondFactorQueries;
pub use second_factor::{NewPasskey, PasskeyRow, TotpRow};
pub use shares::ShareQueries;
pub use shares::{new_opaque_id, EntryRow, PregnancyRow, ReplaceCounts, ShareContent};
pub use sources::SourceQueries;
pub use sources::{SourceKeyRow, SourceRow};
pub use spoed::{SpoedGrantRow, SpoedListRow, SpoedMark, SpoedQueries};
pub use viewing::ViewingQueries;
pub use viewing::{
    FoundClient, GrantRow, IdentityRow, MyClientRow, SearchRows, SharingSourceRow, SpoedNoticeRow,
    ViewDenied, ViewRows, VisibleEntryRow, VisiblePregnancyRow,
};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// Errors of the storage layer. `Database` carries the driver error for the server log only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} already exists")]
    AlreadyExists(Entity),
    #[error("{0} not found")]
    NotFound(Entity),
    #[error("consent withdrawn")]
    ConsentWithdrawn,
    /// A bounded query ran out of time: the filters select too much.
    #[error("query interrupted: the filters are too broad")]
    TooBroad,
    #[error("invalid database url: {0}")]
    BadUrl(String),
}

impl StoreError {
    /// Maps a unique-constraint violation to `AlreadyExists(what)`.
    pub fn on_unique(err: sqlx::Error, what: Entity) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::AlreadyExists(what)
            }
            _ => StoreError::Database(err),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What a `NotFound` or `AlreadyExists` is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Organisation,
    Username,
    Source,
    Key,
    Client,
    Share,
    Grant,
    Review,
    /// A shared-data table a test dump asked for.
    Table,
    /// A second factor of a user (she has one already).
    SecondFactor,
    Passkey,
    /// The demo network the audit load generator builds on.
    DemoNetwork,
    /// A row of the FHIR intake's code map.
    CodeMapping,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Organisation => "organisation",
            Entity::Username => "username",
            Entity::Source => "source",
            Entity::CodeMapping => "code mapping",
            Entity::Key => "key",
            Entity::Client => "client",
            Entity::Share => "share",
            Entity::Grant => "grant",
            Entity::Review => "review",
            Entity::Table => "table",
            Entity::SecondFactor => "second factor",
            Entity::Passkey => "passkey",
            Entity::DemoNetwork => "demo network (run `ooievaar demo seed` first)",
        }
    }
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The connection pool of the active backend.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Handle to the database; cheap to clone (the pools are reference-counted).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: Db,
    /// When an event counts as unusual; applied as each event is written.
    pub(crate) flag_rules: std::sync::Arc<domain::FlagRules>,
    /// The queue to this process's access-log writer (`group_commit`).
    pub(crate) group_commit: std::sync::Arc<group_commit::GroupCommit>,
    /// The policy and the page layout of the current visibility epoch (`installation`).
    pub(crate) installation: std::sync::Arc<installation::InstallationCache>,
    /// Whether the installation holds the demo network, as last read (`installation`).
    pub(crate) demo: std::sync::Arc<installation::DemoFlag>,
    /// What views of lately viewed clients read, with its visibility epoch (`kept_views`).
    pub(crate) kept_views: std::sync::Arc<kept_views::KeptViews>,
}

/// Runs `$body` with `$c` bound to a connection inside one write transaction of the active
/// backend and commits it. An early return (`?`) drops the transaction, which rolls it back.
macro_rules! write_tx {
    ($store:expr, |$c:ident| $body:expr) => {{
        match &$store.db {
            $crate::store::Db::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = {
                    let $c: &mut sqlx::SqliteConnection = &mut tx;
                    $body
                };
                tx.commit().await?;
                out
            }
            $crate::store::Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let out = {
                    let $c: &mut sqlx::PgConnection = &mut tx;
                    $body
                };
                tx.commit().await?;
                out
            }
        }
    }};
}

/// Runs `$body` with `$c` bound to a connection inside one read-only transaction: every
/// statement sees the same snapshot (SQLite WAL from the first read; PostgreSQL
/// `REPEATABLE READ`, which never fails a read-only transaction). It takes no lock.
macro_rules! read_tx {
    ($store:expr, |$c:ident| $body:expr) => {{
        match &$store.db {
            $crate::store::Db::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let out = {
                    let $c: &mut sqlx::SqliteConnection = &mut tx;
                    $body
                };
                tx.rollback().await?;
                out
            }
            $crate::store::Db::Postgres(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?;
                let out = {
                    let $c: &mut sqlx::PgConnection = &mut tx;
                    $body
                };
                tx.rollback().await?;
                out
            }
        }
    }};
}

/// Runs `$body` with `$c` bound to a pooled connection (reads that need no transaction).
macro_rules! read_conn {
    ($store:expr, |$c:ident| $body:expr) => {{
        match &$store.db {
            $crate::store::Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                let $c: &mut sqlx::SqliteConnection = &mut conn;
                $body
            }
            $crate::store::Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let $c: &mut sqlx::PgConnection = &mut conn;
                $body
            }
        }
    }};
}
pub(crate) use {read_conn, read_tx, write_tx};

/// Connections per pool unless `OOIEVAAR_DB_CONNECTIONS` says otherwise: twice the cores, at
/// least 4, on both backends. More only add switching on the same cores: each PostgreSQL
/// connection is a server process, each SQLite connection a thread of its own. Measured under
/// `wrk` on one client page on a 2-core machine, in one sitting (issue 15, README "Performance"):
/// PostgreSQL with 4 connections 911 views/s (p99 84.5 ms), with 8 844 (98.6 ms), with 16
/// 761-817 (167-187 ms), with 32 687 (223 ms); SQLite with 4 1,105-1,107 (p99 68-72 ms), with 8
/// 1,008-1,071 (77-81 ms). A store method runs on one connection, and the session store takes
/// its own before or after, never inside one, so a small pool cannot deadlock; requests beyond
/// it wait their turn (`acquire_timeout`). A connection waiting for the chain lock holds its
/// place meanwhile; the lock's holder already has its own and finishes.
fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (2 * cores).max(4) as u32
}

impl Store {
    /// Connects to `url`, creating the SQLite file and its folder when missing, and runs the
    /// migrations of that backend. A failed migration is an error: the caller must not start.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with_pool(url, None).await
    }

    /// [`Store::connect`] with a pool of `connections` (`OOIEVAAR_DB_CONNECTIONS`; `None`: the
    /// backend's default).
    pub async fn connect_with_pool(
        url: &str,
        connections: Option<std::num::NonZeroU32>,
    ) -> StoreResult<Self> {
        let store = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::BadUrl(e.to_string()))?
                // Bounds every statement, so no request can hold the database indefinitely.
                .options([("statement_timeout", "30s")]);
            let pool = PgPoolOptions::new()
                .max_connections(connections.map_or(default_pool_size(), |n| n.get()))
                // No round trip to test a connection before each use: a broken one fails its
                // statement, which fails the request closed, and the pool drops it.
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            sqlx::migrate!("../migrations/postgres").run(&pool).await?;
            Store::from_db(Db::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::BadUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a committed audit row survives power loss, not only a crash.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            if let Some(dir) = options.get_filename().parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::BadUrl(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(connections.map_or(default_pool_size(), |n| n.get()))
                // An embedded connection does not break in transit: no ping before each use
                // (each one a hand-off to the connection's thread and back).
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            Store::from_db(Db::Sqlite(pool))
        } else {
            return Err(StoreError::BadUrl(
                "DATABASE_URL must start with sqlite: or postgres://".into(),
            ));
        };
        Ok(store)
    }

    fn from_db(db: Db) -> Self {
        Store {
            db,
            flag_rules: Default::default(),
            group_commit: Default::default(),
            installation: Default::default(),
            kept_views: Default::default(),
            demo: Default::default(),
        }
    }

    /// The same store with other flag thresholds.
    pub fn with_flag_rules(mut self, rules: domain::FlagRules) -> Self {
        self.flag_rules = std::sync::Arc::new(rules);
        // A writer started with the old rules would keep them.
        self.group_commit = Default::default();
        self
    }

    /// Which backend is active ("sqlite" or "postgres"), for start-up messages.
    pub fn backend_name(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// The pool, for tests' and benchmarks' raw SQL; public only with `test-support`.
    #[cfg(feature = "test-support")]
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The pool, for the session store (`crate::session`), which shares it.
    #[cfg(not(feature = "test-support"))]
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

/// Milliseconds since the epoch, the time unit of every stored timestamp.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests;

//! Fresh throw-away databases for the store suite, the integration tests and the benchmarks
//! (feature `test-support`; never in the product's paths).
//!
//! PostgreSQL is reached at `OOIEVAAR_TEST_PG` (default `postgres://postgres@127.0.0.1:5432`;
//! `make test` starts a throw-away cluster when none answers); every call creates a new
//! database there. A SQLite database lives in a temporary folder that the guard removes.

use crate::Store;

/// The two databases Ooievaar runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database's URL; keep the guard alive as long as the database is used.
pub struct FreshDatabase {
    pub url: String,
    pub guard: Option<tempfile::TempDir>,
}

/// The PostgreSQL server the tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("OOIEVAAR_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// Creates an empty database of `backend` (not yet migrated).
pub async fn fresh_database(backend: Backend) -> FreshDatabase {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            FreshDatabase {
                url: format!("sqlite://{}/ooievaar.db", dir.path().display()),
                guard: Some(dir),
            }
        }
        Backend::Postgres => {
            let admin = postgres_admin_url();
            let name = format!("ooievaar_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn =
                <sqlx::PgConnection as sqlx::Connection>::connect(&format!("{admin}/postgres"))
                    .await
                    .expect("PostgreSQL for the tests (OOIEVAAR_TEST_PG)");
            sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create the test database");
            FreshDatabase {
                url: format!("{admin}/{name}"),
                guard: None,
            }
        }
    }
}

/// Drops the PostgreSQL database of `db` and returns its name; a SQLite folder goes with its
/// guard instead (`None`). The benchmarks fill millions of rows, so they do not leave them
/// behind as the tests do on their throw-away cluster.
pub async fn drop_database(db: &FreshDatabase) -> Result<Option<String>, sqlx::Error> {
    if db.guard.is_some() {
        return Ok(None);
    }
    let Some((admin, name)) = db.url.rsplit_once('/') else {
        return Ok(None);
    };
    let mut conn =
        <sqlx::PgConnection as sqlx::Connection>::connect(&format!("{admin}/postgres")).await?;
    sqlx::Executor::execute(
        &mut conn,
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
    )
    .await?;
    Ok(Some(name.to_owned()))
}

/// A fresh, migrated store of `backend`, and the guard that keeps a SQLite folder alive.
pub async fn fresh_store(backend: Backend) -> (Store, Option<tempfile::TempDir>) {
    let db = fresh_database(backend).await;
    let store = Store::connect(&db.url).await.expect("connect and migrate");
    (store, db.guard)
}

/// Runs each named `async fn(Backend)` once per backend, as the tests `<name>::sqlite` and
/// `<name>::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::test_support::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::test_support::Backend::Postgres).await
                }
            }
        )*
    };
}

//! How SQL is written once for both backends. Each store area (`store/<area>.rs`) declares its
//! statements with the `queries!` macro, which declares a trait of them and implements it for
//! `SqliteConnection` and `PgConnection` from the same text: placeholders are `$1, $2, ...`
//! (accepted by both drivers) and column types are portable (`TEXT`, `BIGINT`, `INTEGER`,
//! booleans bound as `bool`). What differs beyond the text is [`BackendSpecific`].
//!
//! Callers get a connection inside a transaction from `write_tx!`/`read_conn!` in `mod.rs`.

use super::StoreResult;

macro_rules! queries {
    ($(#[$tmeta:meta])* trait $trait:ident;
    $(
        $(#[$meta:meta])*
        async fn $name:ident(&mut $self:ident $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty $body:block
    )*) => {
        $(#[$tmeta])*
        pub trait $trait: Send {
            $(
                $(#[$meta])*
                fn $name(&mut self $(, $arg: $ty)*) -> impl std::future::Future<Output = $ret> + Send;
            )*
        }

        impl $trait for sqlx::SqliteConnection {
            $( $(#[$meta])* async fn $name(&mut $self $(, $arg: $ty)*) -> $ret $body )*
        }

        impl $trait for sqlx::PgConnection {
            $( $(#[$meta])* async fn $name(&mut $self $(, $arg: $ty)*) -> $ret $body )*
        }
    };
}

pub(crate) use queries;

/// The `VALUES` list of a multi-row insert: `rows` groups of `columns` placeholders, numbered
/// from `$1` row by row (`($1, $2), ($3, $4)` for two rows of two).
pub(crate) fn values(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What differs between the backends beyond SQL text.
pub trait BackendSpecific: Send {
    /// Serialises writers of the audit chain across processes and instances.
    fn lock_audit_chain(&mut self) -> impl std::future::Future<Output = StoreResult<()>> + Send;

    /// Interrupts statements on this connection that run longer than `limit` from now, until
    /// [`BackendSpecific::unbound_time`] (a filter combination must not hold the database).
    fn bound_time(
        &mut self,
        limit: std::time::Duration,
    ) -> impl std::future::Future<Output = StoreResult<()>> + Send;

    fn unbound_time(&mut self) -> impl std::future::Future<Output = StoreResult<()>> + Send;

    /// An aggregate that folds the selected rows, each as the JSON array of `columns`, into
    /// one JSON text (`NULL` when there are no rows). A view's ~100 entries then cross from
    /// the database to the server as one row: sqlx hands SQLite's rows over one at a time
    /// between threads, and that hand-off was a quarter of a view's CPU time (issue 15).
    fn json_rows(columns: &str) -> String;
}

impl BackendSpecific for sqlx::SqliteConnection {
    fn json_rows(columns: &str) -> String {
        // json_group_array gives '[]' for no rows; PostgreSQL's json_agg gives NULL.
        format!("json_group_array(json_array({columns}))")
    }

    /// Nothing to do: every write transaction is `BEGIN IMMEDIATE`, which holds SQLite's single
    /// write lock until commit.
    async fn lock_audit_chain(&mut self) -> StoreResult<()> {
        Ok(())
    }

    /// SQLite has no statement timeout; a progress handler interrupts the statement instead.
    async fn bound_time(&mut self, limit: std::time::Duration) -> StoreResult<()> {
        let deadline = std::time::Instant::now() + limit;
        self.lock_handle()
            .await?
            .set_progress_handler(10_000, move || std::time::Instant::now() < deadline);
        Ok(())
    }

    async fn unbound_time(&mut self) -> StoreResult<()> {
        self.lock_handle().await?.remove_progress_handler();
        Ok(())
    }
}

impl BackendSpecific for sqlx::PgConnection {
    fn json_rows(columns: &str) -> String {
        format!("json_agg(json_build_array({columns}))::text")
    }

    /// A transaction-scoped advisory lock (released at commit or rollback).
    async fn lock_audit_chain(&mut self) -> StoreResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock(7513)")
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn bound_time(&mut self, limit: std::time::Duration) -> StoreResult<()> {
        sqlx::query(&format!("SET statement_timeout = {}", limit.as_millis()))
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    /// Back to the connection's default (the 30 s set when connecting).
    async fn unbound_time(&mut self) -> StoreResult<()> {
        sqlx::query("RESET statement_timeout")
            .execute(&mut *self)
            .await?;
        Ok(())
    }
}

//! How SQL is written once for both backends. Each store area (`store/<area>.rs`) declares its
//! statements with the `queries!` macro, which declares a trait of them and implements it for
//! `SqliteConnection` and `PgConnection` from the same text: placeholders are `$1, $2, ...`
//! (accepted by both drivers) and column types are portable (`TEXT`, `BIGINT`, `INTEGER`,
//! booleans bound as `bool`). What differs beyond the text is [`BackendSpecific`].
//!
//! Callers get a connection inside a transaction from `write_tx!`/`read_conn!` in `mod.rs`.

use super::{AuditRow, StoreResult};
use sqlx::Row;

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
            $( async fn $name(&mut $self $(, $arg: $ty)*) -> $ret $body )*
        }

        impl $trait for sqlx::PgConnection {
            $( async fn $name(&mut $self $(, $arg: $ty)*) -> $ret $body )*
        }
    };
}

pub(crate) use queries;

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
}

impl BackendSpecific for sqlx::SqliteConnection {
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

queries! {
    /// The access log's statements (appending and reading the chain in id order).
    trait Queries;

    /// The id and hash of the newest event, if any.
    async fn audit_head(&mut self) -> StoreResult<Option<(i64, String)>> {
        let row = sqlx::query("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *self)
            .await?;
        Ok(row.map(|r| (r.get::<i64, _>(0), r.get::<String, _>(1))))
    }

    async fn insert_audit(&mut self, e: &AuditRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_events (id, occurred_at, action, outcome, user_id, user_name, user_role, \
             organisation_id, on_behalf_of, client_id, bsn, source_id, ground, grant_id, detail, ip, \
             user_agent, request_id, prev_hash, hash) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)",
        )
        .bind(e.id).bind(e.occurred_at).bind(&e.action).bind(&e.outcome).bind(&e.user_id)
        .bind(&e.user_name).bind(&e.user_role).bind(&e.organisation_id).bind(&e.on_behalf_of)
        .bind(&e.client_id).bind(&e.bsn).bind(&e.source_id).bind(&e.ground).bind(&e.grant_id)
        .bind(&e.detail).bind(&e.ip).bind(&e.user_agent).bind(&e.request_id).bind(&e.prev_hash)
        .bind(&e.hash)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// A page of events after `after_id`, oldest first (for verification and export).
    async fn audit_page(&mut self, after_id: i64, limit: i64) -> StoreResult<Vec<AuditRow>> {
        Ok(sqlx::query_as::<_, AuditRow>(
            "SELECT id, occurred_at, action, outcome, user_id, user_name, user_role, organisation_id, \
             on_behalf_of, client_id, bsn, source_id, ground, grant_id, detail, ip, user_agent, \
             request_id, prev_hash, hash FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *self)
        .await?)
    }
}

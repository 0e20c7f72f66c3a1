//! Every SQL statement of the product, written once. The `queries!` macro declares the
//! [`Queries`] trait and implements it for `SqliteConnection` and `PgConnection` from the same
//! text: placeholders are `$1, $2, ...` (accepted by both drivers) and column types are
//! portable (`TEXT`, `BIGINT`, `INTEGER`, booleans bound as `bool`).
//!
//! Callers get a connection inside a transaction from `write_tx!`/`read_conn!` in `mod.rs`.

use super::{
    AuditRow, EntryRow, GrantRow, IdentityRow, NewUser, OrganisationRow, PregnancyRow,
    SharingSourceRow, SourceKeyRow, SourceRow, StoreError, StoreResult, UserRow, VisibleEntryRow,
};
use domain::{Category, Policy, PolicyCell, Role};
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
            $( $(#[$meta])* async fn $name(&mut $self $(, $arg: $ty)*) -> $ret $body )*
        }

        impl $trait for sqlx::PgConnection {
            $( $(#[$meta])* async fn $name(&mut $self $(, $arg: $ty)*) -> $ret $body )*
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

const USER_COLUMNS: &str = "u.id, u.organisation_id, o.name AS organisation_name, u.username, \
     u.display_name, u.role, u.password_hash, u.disabled_at, u.locked_until, u.session_generation";

queries! {
    /// The product's SQL, one method per statement (or tight group of statements).
    trait Queries;

    // ----- audit chain -----

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

    // ----- organisations and users -----

    async fn insert_organisation(&mut self, id: &str, name: &str, kind: &str, now: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO organisations (id, name, kind, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id).bind(name).bind(kind).bind(now)
            .execute(&mut *self)
            .await
            .map_err(|e| StoreError::on_unique(e, "organisation"))?;
        Ok(())
    }

    async fn organisation(&mut self, id: &str) -> StoreResult<Option<OrganisationRow>> {
        Ok(sqlx::query_as::<_, OrganisationRow>("SELECT id, name, kind FROM organisations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self)
            .await?)
    }

    async fn insert_user(&mut self, user: &NewUser, password_hash: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, organisation_id, username, display_name, role, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&user.id).bind(&user.organisation_id).bind(user.username.as_ref())
        .bind(&user.display_name).bind(user.role.as_str()).bind(password_hash).bind(now)
        .execute(&mut *self)
        .await
        .map_err(|e| StoreError::on_unique(e, "username"))?;
        Ok(())
    }

    async fn user_by_username(&mut self, username: &str) -> StoreResult<Option<UserRow>> {
        Ok(sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN organisations o ON o.id = u.organisation_id WHERE u.username = $1"
        ))
        .bind(username)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn user_by_id(&mut self, id: &str) -> StoreResult<Option<UserRow>> {
        Ok(sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN organisations o ON o.id = u.organisation_id WHERE u.id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn users_of_organisation(&mut self, organisation_id: &str) -> StoreResult<Vec<UserRow>> {
        Ok(sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN organisations o ON o.id = u.organisation_id \
             WHERE u.organisation_id = $1 ORDER BY u.display_name"
        ))
        .bind(organisation_id)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn disable_user(&mut self, id: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET disabled_at = $2, updated_at = $2 WHERE id = $1 AND disabled_at IS NULL")
            .bind(id).bind(now)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn set_password_hash(&mut self, id: &str, password_hash: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id).bind(password_hash).bind(now)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    /// Counts one failed password of an account that is not locked (rule 10): a run older than
    /// `window_start` starts again at 1. Returns the run's count, or `None` when the account is
    /// locked (or gone) and nothing was counted. Concurrent failures serialise on the row.
    async fn count_login_failure(&mut self, id: &str, window_start: i64, now: i64) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "UPDATE users SET \
             failed_logins = CASE WHEN failed_since IS NULL OR failed_since <= $2 THEN 1 ELSE failed_logins + 1 END, \
             failed_since = CASE WHEN failed_since IS NULL OR failed_since <= $2 THEN $3 ELSE failed_since END \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $3) RETURNING failed_logins",
        )
        .bind(id).bind(window_start).bind(now)
        .fetch_optional(&mut *self)
        .await?)
    }

    /// Locks an account until `until` and starts a new run of failures.
    async fn lock_login(&mut self, id: &str, until: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET locked_until = $2, failed_logins = 0, failed_since = NULL WHERE id = $1")
            .bind(id).bind(until)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    /// Ends a lock and the current run of failures (a successful login, `user unlock`).
    async fn reset_login_failures(&mut self, id: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET locked_until = NULL, failed_logins = 0, failed_since = NULL \
             WHERE id = $1 AND (locked_until IS NOT NULL OR failed_logins <> 0 OR failed_since IS NOT NULL)",
        )
        .bind(id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Raises the user's session generation (every other session ends) and returns the new one.
    async fn next_session_generation(&mut self, id: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "UPDATE users SET session_generation = session_generation + 1 WHERE id = $1 RETURNING session_generation",
        )
        .bind(id)
        .fetch_one(&mut *self)
        .await?)
    }

    // ----- instance flags and policy -----

    async fn flag(&mut self, key: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM instance_flags WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *self)
            .await?)
    }

    async fn set_flag(&mut self, key: &str, value: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO instance_flags (key, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key).bind(value).bind(now)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn policy(&mut self) -> StoreResult<Policy> {
        let rows = sqlx::query("SELECT role, category, max_sensitivity FROM access_policy")
            .fetch_all(&mut *self)
            .await?;
        // Unknown keys cannot occur (CHECK constraints); skipping them keeps the policy closed.
        Ok(Policy::from_cells(rows.iter().filter_map(|r| {
            Some((
                Role::parse(r.get::<&str, _>(0))?,
                Category::parse(r.get::<&str, _>(1))?,
                PolicyCell::parse(r.get::<&str, _>(2))?,
            ))
        })))
    }

    // ----- sources, clients and shares -----

    async fn insert_source(&mut self, id: &str, organisation_id: &str, now: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO sources (id, organisation_id, created_at) VALUES ($1, $2, $3)")
            .bind(id).bind(organisation_id).bind(now)
            .execute(&mut *self)
            .await
            .map_err(|e| StoreError::on_unique(e, "source"))?;
        Ok(())
    }

    async fn client_id_by_bsn(&mut self, bsn: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT id FROM clients WHERE bsn = $1")
            .bind(bsn)
            .fetch_optional(&mut *self)
            .await?)
    }

    /// Creates the client record unless one with this BSN exists (also one that a concurrent
    /// transaction committed meanwhile: no unique violation when two sources share a new BSN
    /// at once). Read the id afterwards with `client_id_by_bsn`.
    async fn insert_client(&mut self, id: &str, bsn: &str, now: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO clients (id, bsn, created_at) VALUES ($1, $2, $3) ON CONFLICT (bsn) DO NOTHING")
            .bind(id).bind(bsn).bind(now)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    /// Consent state of one share: `None` when the source never shared this client.
    async fn share_consent(&mut self, client_id: &str, source_id: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT consent FROM shares WHERE client_id = $1 AND source_id = $2")
            .bind(client_id).bind(source_id)
            .fetch_optional(&mut *self)
            .await?)
    }

    /// Creates or refreshes an active share with the source's view of the client.
    async fn upsert_active_share(&mut self, client_id: &str, source_id: &str, name: &str, birth_date: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO shares (client_id, source_id, consent, name, birth_date, received_at, consent_changed_at, created_at, updated_at) \
             VALUES ($1, $2, 'active', $3, $4, $5, $5, $5, $5) \
             ON CONFLICT (client_id, source_id) DO UPDATE SET name = excluded.name, \
             birth_date = excluded.birth_date, received_at = excluded.received_at, updated_at = excluded.updated_at",
        )
        .bind(client_id).bind(source_id).bind(name).bind(birth_date).bind(now)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Removes a share's pregnancies and entries (before a replace, or on withdrawal).
    async fn purge_share_content(&mut self, client_id: &str, source_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM entries WHERE client_id = $1 AND source_id = $2")
            .bind(client_id).bind(source_id)
            .execute(&mut *self)
            .await?;
        sqlx::query("DELETE FROM pregnancies WHERE client_id = $1 AND source_id = $2")
            .bind(client_id).bind(source_id)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn insert_pregnancy(&mut self, client_id: &str, source_id: &str, p: &PregnancyRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO pregnancies (client_id, source_id, source_pregnancy_id, edd, gravidity, parity, status, ended_on) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(client_id).bind(source_id).bind(&p.id).bind(&p.edd).bind(p.gravidity)
        .bind(p.parity).bind(&p.status).bind(&p.ended_on)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn insert_entry(&mut self, client_id: &str, source_id: &str, e: &EntryRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO entries (client_id, source_id, source_entry_id, source_pregnancy_id, category, code, label, value, unit, observed_at, sensitivity) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(client_id).bind(source_id).bind(&e.id).bind(&e.pregnancy_id).bind(&e.category)
        .bind(&e.code).bind(&e.label).bind(&e.value).bind(&e.unit).bind(e.observed_at)
        .bind(&e.sensitivity)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    // ----- source systems, keys and token replay -----

    async fn source(&mut self, id: &str) -> StoreResult<Option<SourceRow>> {
        Ok(sqlx::query_as::<_, SourceRow>("SELECT id, organisation_id FROM sources WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self)
            .await?)
    }

    async fn source_keys(&mut self, source_id: &str, include_revoked: bool) -> StoreResult<Vec<SourceKeyRow>> {
        Ok(sqlx::query_as::<_, SourceKeyRow>(
            "SELECT id, source_id, algorithm, public_key_pem, revoked_at FROM source_keys \
             WHERE source_id = $1 AND ($2 OR revoked_at IS NULL) ORDER BY created_at",
        )
        .bind(source_id)
        .bind(include_revoked)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn insert_source_key(&mut self, key: &SourceKeyRow, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO source_keys (id, source_id, algorithm, public_key_pem, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.id).bind(&key.source_id).bind(&key.algorithm).bind(&key.public_key_pem).bind(now)
        .execute(&mut *self)
        .await
        .map_err(|e| StoreError::on_unique(e, "key"))?;
        Ok(())
    }

    async fn revoke_source_key(&mut self, source_id: &str, key_id: &str, now: i64) -> StoreResult<u64> {
        Ok(sqlx::query("UPDATE source_keys SET revoked_at = $3 WHERE source_id = $1 AND id = $2 AND revoked_at IS NULL")
            .bind(source_id).bind(key_id).bind(now)
            .execute(&mut *self)
            .await?
            .rows_affected())
    }

    /// Records a token id; `false` when it was already seen (a replay). Expired ids are pruned.
    async fn remember_token_id(&mut self, source_id: &str, jti: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
        sqlx::query("DELETE FROM token_replays WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *self)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO token_replays (source_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(source_id).bind(jti).bind(expires_at)
        .execute(&mut *self)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Verified API calls of a source since `since_ms`, counted from the access log (the rate
    /// limit keeps no state outside the database): the actions a verified call writes, without
    /// the rate limit's own refusals (whose detail is exactly `{"reason":"rate_limited"}`).
    async fn source_calls_since(&mut self, source_id: &str, since_ms: i64) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE source_id = $1 AND occurred_at >= $2 \
             AND action IN ('share_received', 'share_refused', 'consent_withdrawn', 'consent_restored') \
             AND detail <> '{\"reason\":\"rate_limited\"}'",
        )
        .bind(source_id).bind(since_ms)
        .fetch_one(&mut *self)
        .await?)
    }

    /// The entries a share holds now, for the added/changed/removed counts of a replace.
    async fn share_entries(&mut self, client_id: &str, source_id: &str) -> StoreResult<Vec<EntryRow>> {
        Ok(sqlx::query_as::<_, EntryRow>(
            "SELECT source_entry_id AS id, source_pregnancy_id AS pregnancy_id, category, code, label, value, unit, observed_at, sensitivity \
             FROM entries WHERE client_id = $1 AND source_id = $2",
        )
        .bind(client_id).bind(source_id)
        .fetch_all(&mut *self)
        .await?)
    }

    /// Sets a share's consent; a withdrawal also drops the source's copy of name and birth date.
    async fn set_share_consent(&mut self, client_id: &str, source_id: &str, consent: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE shares SET consent = $3, consent_changed_at = $4, updated_at = $4, \
             name = CASE WHEN $3 = 'withdrawn' THEN NULL ELSE name END, \
             birth_date = CASE WHEN $3 = 'withdrawn' THEN NULL ELSE birth_date END \
             WHERE client_id = $1 AND source_id = $2",
        )
        .bind(client_id).bind(source_id).bind(consent).bind(now)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Every row of a shared-data table as text lines (`<table>|col|col...`, NULL as `-`),
    /// ordered, for byte-for-byte before/after comparisons in tests and checks.
    #[cfg(feature = "test-support")]
    async fn dump_lines(&mut self, table: &'static str) -> StoreResult<Vec<String>> {
        let columns: &[&str] = match table {
            "clients" => &["id", "bsn", "CAST(created_at AS TEXT)"],
            "shares" => &[
                "client_id", "source_id", "consent", "COALESCE(name, '-')", "COALESCE(birth_date, '-')",
                "COALESCE(CAST(received_at AS TEXT), '-')", "CAST(consent_changed_at AS TEXT)",
            ],
            "pregnancies" => &[
                "client_id", "source_id", "source_pregnancy_id", "edd", "CAST(gravidity AS TEXT)",
                "CAST(parity AS TEXT)", "status", "COALESCE(ended_on, '-')",
            ],
            "entries" => &[
                "client_id", "source_id", "source_entry_id", "COALESCE(source_pregnancy_id, '-')",
                "category", "code", "label", "value", "COALESCE(unit, '-')",
                "CAST(observed_at AS TEXT)", "sensitivity",
            ],
            _ => return Err(StoreError::NotFound("table")),
        };
        let joined = columns.join(" || '|' || ");
        Ok(sqlx::query_scalar(&format!("SELECT '{table}|' || {joined} FROM {table} ORDER BY 1"))
            .fetch_all(&mut *self)
            .await?)
    }

    // ----- finding clients, grants and viewing -----

    /// The client with this BSN if an active share knows this birth date (DESIGN flow 3/4).
    async fn find_client(&mut self, bsn: &str, birth_date: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT c.id FROM clients c JOIN shares s ON s.client_id = c.id \
             WHERE c.bsn = $1 AND s.consent = 'active' AND s.birth_date = $2 LIMIT 1",
        )
        .bind(bsn).bind(birth_date)
        .fetch_optional(&mut *self)
        .await?)
    }

    /// BSN, name and birth date from the most recently received active share (and which
    /// source that is); `None` when the client has no active share (then she is unknown
    /// everywhere).
    async fn client_identity(&mut self, client_id: &str) -> StoreResult<Option<IdentityRow>> {
        Ok(sqlx::query_as::<_, IdentityRow>(
            "SELECT c.id AS client_id, c.bsn, s.source_id, s.name, s.birth_date FROM clients c \
             JOIN shares s ON s.client_id = c.id AND s.consent = 'active' \
             WHERE c.id = $1 ORDER BY s.received_at DESC LIMIT 1",
        )
        .bind(client_id)
        .fetch_optional(&mut *self)
        .await?)
    }

    /// The sources with an active share of the client, their organisation and last receipt.
    async fn sharing_sources(&mut self, client_id: &str) -> StoreResult<Vec<SharingSourceRow>> {
        Ok(sqlx::query_as::<_, SharingSourceRow>(
            "SELECT s.source_id, o.id AS organisation_id, o.name AS organisation_name, s.received_at \
             FROM shares s JOIN sources src ON src.id = s.source_id JOIN organisations o ON o.id = src.organisation_id \
             WHERE s.client_id = $1 AND s.consent = 'active' ORDER BY o.name",
        )
        .bind(client_id)
        .fetch_all(&mut *self)
        .await?)
    }

    /// The user's valid grant for the client (not ended, not expired), newest first.
    async fn valid_grant(&mut self, user_id: &str, client_id: &str, now: i64) -> StoreResult<Option<GrantRow>> {
        Ok(sqlx::query_as::<_, GrantRow>(
            "SELECT id, user_id, client_id, ground, reason, created_at, expires_at FROM access_grants \
             WHERE user_id = $1 AND client_id = $2 AND ended_at IS NULL AND expires_at > $3 \
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(user_id).bind(client_id).bind(now)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn insert_grant(&mut self, grant: &GrantRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO access_grants (id, user_id, client_id, ground, reason, attested, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&grant.id).bind(&grant.user_id).bind(&grant.client_id).bind(&grant.ground)
        .bind(&grant.reason).bind(true).bind(grant.created_at).bind(grant.expires_at)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Ends a grant that is still open; returns whether one was ended.
    async fn end_grant(&mut self, grant_id: &str, ended_by: &str, reason: &str, now: i64) -> StoreResult<bool> {
        Ok(sqlx::query(
            "UPDATE access_grants SET ended_at = $4, ended_by = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL",
        )
        .bind(grant_id).bind(ended_by).bind(reason).bind(now)
        .execute(&mut *self)
        .await?
        .rows_affected() == 1)
    }

    /// The clients the user holds a valid grant for, newest grant first.
    async fn granted_clients(&mut self, user_id: &str, now: i64) -> StoreResult<Vec<GrantRow>> {
        Ok(sqlx::query_as::<_, GrantRow>(
            "SELECT id, user_id, client_id, ground, reason, created_at, expires_at FROM access_grants \
             WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2 ORDER BY created_at DESC LIMIT 200",
        )
        .bind(user_id).bind(now)
        .fetch_all(&mut *self)
        .await?)
    }

    /// Pregnancies of the client from active shares only.
    async fn client_pregnancies(&mut self, client_id: &str) -> StoreResult<Vec<PregnancyRow>> {
        Ok(sqlx::query_as::<_, PregnancyRow>(
            "SELECT p.source_pregnancy_id AS id, p.edd, p.gravidity, p.parity, p.status, p.ended_on \
             FROM pregnancies p JOIN shares s ON s.client_id = p.client_id AND s.source_id = p.source_id \
             WHERE p.client_id = $1 AND s.consent = 'active' ORDER BY p.edd DESC",
        )
        .bind(client_id)
        .fetch_all(&mut *self)
        .await?)
    }

    /// The entries of the client's active shares whose `category:sensitivity` is in `allowed`
    /// (computed by the access policy), newest first. Consent is re-checked by the join.
    async fn permitted_entries(&mut self, client_id: &str, allowed: &[String]) -> StoreResult<Vec<VisibleEntryRow>> {
        if allowed.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (0..allowed.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT e.source_entry_id AS id, e.source_id, o.name AS organisation_name, e.category, e.code, e.label, \
             e.value, e.unit, e.observed_at, e.sensitivity, e.source_pregnancy_id AS pregnancy_id \
             FROM entries e JOIN shares s ON s.client_id = e.client_id AND s.source_id = e.source_id AND s.consent = 'active' \
             JOIN sources src ON src.id = e.source_id JOIN organisations o ON o.id = src.organisation_id \
             WHERE e.client_id = $1 AND (e.category || ':' || e.sensitivity) IN ({}) \
             ORDER BY e.observed_at DESC, e.source_entry_id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as::<_, VisibleEntryRow>(&sql).bind(client_id);
        for pair in allowed {
            query = query.bind(pair);
        }
        Ok(query.fetch_all(&mut *self).await?)
    }

    #[cfg(feature = "test-support")]
    async fn count_rows(&mut self, table: &'static str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut *self)
            .await?)
    }
}

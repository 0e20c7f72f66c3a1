//! The privacy officer's side of the access log: the scope and flags written beside each
//! event, the bounded review query, reviews, the client overview, checkpoints and the
//! verification record.

use super::audit_log::{self, AuditLogQueries as _, NewAuditEvent};
use super::queries::{queries, values};
use super::Entity;
use super::{now_ms, Store};
use super::{read_conn, write_tx, AuditRow, BackendSpecific, StoreError, StoreResult};
use domain::grant::Ground;
use domain::{AuditAction, ClientId, GrantId, UserId};
use std::time::Duration;

/// The longest a review query may run before it is interrupted.
pub const REVIEW_TIME_LIMIT: Duration = Duration::from_secs(5);
/// The most events one review page (or one export batch) reads.
pub const MAX_PAGE: i64 = 1_000;

/// One event as the officer's table shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReviewRow {
    #[sqlx(flatten)]
    pub event: AuditRow,
    pub user_display_name: Option<String>,
    pub organisation_name: Option<String>,
    /// JSON list of `FlagHit`.
    pub flags: Option<String>,
    pub reviewed_note: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<i64>,
}

/// A position in the newest-first order: the (occurred_at, id) of the last row seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyset {
    pub occurred_at: i64,
    pub id: i64,
}

/// What the officer asked for, already validated. Every query is scoped to the officer's
/// organisation (DESIGN flow 7): there is no way to build one without it.
#[derive(Debug, Clone)]
pub struct ReviewQuery {
    pub scope_organisation: String,
    pub from_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub bsn: Option<String>,
    pub user_name: Option<String>,
    pub organisation_id: Option<String>,
    pub action: Option<AuditAction>,
    pub ground: Option<Ground>,
    /// Only events with a flag this organisation has not reviewed yet.
    pub flagged_only: bool,
    pub before: Option<Keyset>,
    /// Just this event (to check one event is in scope).
    pub event_id: Option<i64>,
    pub limit: i64,
}

impl ReviewQuery {
    pub fn new(scope_organisation: impl Into<String>) -> Self {
        Self {
            scope_organisation: scope_organisation.into(),
            from_ms: None,
            until_ms: None,
            bsn: None,
            user_name: None,
            organisation_id: None,
            action: None,
            ground: None,
            flagged_only: false,
            before: None,
            event_id: None,
            limit: 50,
        }
    }
}

/// A bound value of a built query.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
}

const EVENT_COLUMNS: &str = "e.id, e.occurred_at, e.action, e.outcome, e.user_id, e.user_name, \
     e.user_role, e.organisation_id, e.on_behalf_of, e.client_id, e.bsn, e.source_id, e.ground, \
     e.grant_id, e.detail, e.ip, e.user_agent, e.request_id, e.prev_hash, e.hash";

/// Builds the review query. The table that drives it is chosen so that the walk, newest first,
/// follows one index: the unreviewed flags, the client's, the user's or the action's events, or
/// else the organisation's scope. The scope check is always there.
pub fn review_sql(q: &ReviewQuery) -> (String, Vec<Arg>) {
    let mut args = vec![Arg::Text(q.scope_organisation.clone())];
    let mut arg = |a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    let mut conditions: Vec<String> = Vec::new();
    let (from, at, id) = if q.flagged_only {
        conditions.push(
            "EXISTS (SELECT 1 FROM audit_scope s WHERE s.event_id = e.id AND s.organisation_id = $1)"
                .into(),
        );
        conditions.push(
            "NOT EXISTS (SELECT 1 FROM audit_reviews rv WHERE rv.event_id = k.event_id AND rv.organisation_id = $1)"
                .into(),
        );
        (
            "audit_flags k JOIN audit_events e ON e.id = k.event_id",
            "k.occurred_at",
            "k.event_id",
        )
    } else if q.bsn.is_some() || q.user_name.is_some() || q.action.is_some() {
        // An action alone may be rare (a consent withdrawal): its own index finds it, where a
        // walk of the organisation's whole scope would not (2-3 s at a million events).
        conditions.push(
            "EXISTS (SELECT 1 FROM audit_scope s WHERE s.event_id = e.id AND s.organisation_id = $1)"
                .into(),
        );
        ("audit_events e", "e.occurred_at", "e.id")
    } else {
        conditions.push("k.organisation_id = $1".into());
        (
            "audit_scope k JOIN audit_events e ON e.id = k.event_id",
            "k.occurred_at",
            "k.event_id",
        )
    };
    for (column, value) in [
        ("e.bsn", &q.bsn),
        ("e.user_name", &q.user_name),
        ("e.organisation_id", &q.organisation_id),
        ("e.action", &q.action.map(|a| a.as_str().to_owned())),
        ("e.ground", &q.ground.map(|g| g.as_str().to_owned())),
    ] {
        if let Some(v) = value {
            conditions.push(format!("{column} = {}", arg(Arg::Text(v.clone()))));
        }
    }
    if let Some(event_id) = q.event_id {
        conditions.push(format!("e.id = {}", arg(Arg::Int(event_id))));
    }
    if let Some(from_ms) = q.from_ms {
        conditions.push(format!("{at} >= {}", arg(Arg::Int(from_ms))));
    }
    if let Some(until_ms) = q.until_ms {
        conditions.push(format!("{at} < {}", arg(Arg::Int(until_ms))));
    }
    if let Some(k) = q.before {
        let t = arg(Arg::Int(k.occurred_at));
        let i = arg(Arg::Int(k.id));
        conditions.push(format!("{at} <= {t} AND ({at} < {t} OR {id} < {i})"));
    }
    let limit = arg(Arg::Int(q.limit.clamp(1, MAX_PAGE)));
    let sql = format!(
        "SELECT {EVENT_COLUMNS}, u.display_name AS user_display_name, o.name AS organisation_name, \
         f.flags, r.note AS reviewed_note, ru.display_name AS reviewed_by, r.reviewed_at \
         FROM {from} \
         LEFT JOIN users u ON u.id = e.user_id \
         LEFT JOIN organisations o ON o.id = e.organisation_id \
         LEFT JOIN audit_flags f ON f.event_id = e.id \
         LEFT JOIN audit_reviews r ON r.event_id = e.id AND r.organisation_id = $1 \
         LEFT JOIN users ru ON ru.id = r.reviewed_by \
         WHERE {} ORDER BY {at} DESC, {id} DESC LIMIT {limit}",
        conditions.join(" AND ")
    );
    (sql, args)
}

/// An active grant held by a user of the officer's organisation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrganisationGrantRow {
    pub id: GrantId,
    pub user_id: UserId,
    pub user_name: String,
    pub user_display_name: String,
    pub client_id: ClientId,
    pub bsn: String,
    pub ground: Ground,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A grant with its holder's organisation (for a revocation's checks).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GrantHolderRow {
    pub id: GrantId,
    pub user_id: UserId,
    pub organisation_id: String,
    pub client_id: ClientId,
    pub ground: Ground,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

/// A signed chain head.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct CheckpointRow {
    pub event_id: i64,
    pub hash: String,
    pub signed_at: i64,
    pub key_id: String,
    pub jws: String,
}

/// The latest verification of one kind.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VerificationRow {
    pub kind: String,
    pub up_to_id: i64,
    pub up_to_hash: String,
    pub intact: bool,
    pub broken_at: Option<i64>,
    pub verified_at: i64,
    pub duration_ms: i64,
}

/// The actions a client overview lists.
/// (Who searched, requested, viewed, and consent changes; refused page visits show no data and
/// the officers' own reviews of the log are not about her care, so they are left out.)
pub const OVERVIEW_ACTIONS: &[&str] = &[
    "search",
    "read",
    "access_request",
    "grant_ended",
    "grant_revoked",
    "consent_withdrawn",
    "consent_restored",
];
/// The most events one client overview lists (a client's log over years stays far below).
pub const OVERVIEW_LIMIT: i64 = 5_000;

queries! {
    /// The SQL of the review side of the log.
    trait ReviewQueries;

    async fn organisation_ids(&mut self) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT id FROM organisations ORDER BY id").fetch_all(&mut *self).await?)
    }

    async fn organisation_of_source(&mut self, source_id: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT organisation_id FROM sources WHERE id = $1")
            .bind(source_id).fetch_optional(&mut *self).await?)
    }

    /// The organisations of these sources, each once (one statement for all of a view's sources).
    async fn organisations_of_sources(&mut self, source_ids: &[String]) -> StoreResult<Vec<String>> {
        if source_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=source_ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT DISTINCT organisation_id FROM sources WHERE id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for source in source_ids {
            query = query.bind(source);
        }
        Ok(query.fetch_all(&mut *self).await?)
    }

    /// Organisations whose sources have (or had) a share of the client, whatever its consent.
    async fn organisations_sharing(&mut self, client_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT so.organisation_id FROM shares sh JOIN sources so ON so.id = sh.source_id \
             WHERE sh.client_id = $1",
        ).bind(client_id).fetch_all(&mut *self).await?)
    }

    /// Whether a source of the organisation has an active share of the client.
    async fn organisation_shares_actively(&mut self, organisation_id: &str, client_id: &str) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM shares sh JOIN sources so ON so.id = sh.source_id \
             WHERE sh.client_id = $1 AND so.organisation_id = $2 AND sh.consent = 'active'",
        ).bind(client_id).bind(organisation_id).fetch_one(&mut *self).await?;
        Ok(n > 0)
    }

    async fn bsn_of_client(&mut self, client_id: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT bsn FROM clients WHERE id = $1")
            .bind(client_id).fetch_optional(&mut *self).await?)
    }

    async fn grant_created_at(&mut self, grant_id: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT created_at FROM access_grants WHERE id = $1")
            .bind(grant_id).fetch_optional(&mut *self).await?)
    }

    /// Distinct clients (by BSN) other than `bsn` that the user searched, viewed or requested
    /// after `since` (`recent_client_access`: one row per client, not one per event).
    async fn other_clients_accessed(&mut self, user_id: &str, bsn: &str, since: i64) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recent_client_access WHERE user_id = $1 AND last_at > $2 AND bsn <> $3",
        ).bind(user_id).bind(since).bind(bsn).fetch_one(&mut *self).await?)
    }

    /// Records that the user reached the client (by BSN) at `at`, for each `(user_id, bsn, at)`
    /// (for [`Self::other_clients_accessed`]); the newest time is kept. Each `(user_id, bsn)`
    /// at most once: PostgreSQL refuses an upsert that meets the same key twice.
    async fn note_client_accesses(&mut self, rows: &[(&str, &str, i64)]) -> StoreResult<()> {
        for chunk in rows.chunks(500) {
            let sql = format!(
                "INSERT INTO recent_client_access (user_id, bsn, last_at) VALUES {} \
                 ON CONFLICT (user_id, bsn) DO UPDATE SET last_at = CASE \
                 WHEN excluded.last_at > recent_client_access.last_at THEN excluded.last_at \
                 ELSE recent_client_access.last_at END",
                values(chunk.len(), 3)
            );
            let mut query = sqlx::query(&sql);
            for (user_id, bsn, at) in chunk {
                query = query.bind(*user_id).bind(*bsn).bind(*at);
            }
            query.execute(&mut *self).await?;
        }
        Ok(())
    }

    /// The user's searches of the BSN in `(since, until]` (the event being written is already
    /// inserted when its flags are computed, so it is counted too).
    async fn searches_of_bsn(&mut self, user_id: &str, bsn: &str, since: i64, until: i64) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE bsn = $1 AND occurred_at > $2 \
             AND occurred_at <= $3 AND action = 'search' AND user_id = $4",
        ).bind(bsn).bind(since).bind(until).bind(user_id).fetch_one(&mut *self).await?)
    }

    /// Whether the user found the client by a search in `(since, until]`.
    async fn found_by_search(&mut self, user_id: &str, client_id: &str, since: i64, until: i64) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE user_id = $1 AND occurred_at > $2 \
             AND occurred_at <= $3 AND action = 'search' AND client_id = $4 \
             AND EXISTS (SELECT 1 FROM audit_search_outcome o WHERE o.event_id = audit_events.id AND o.found)",
        ).bind(user_id).bind(since).bind(until).bind(client_id).fetch_one(&mut *self).await?;
        Ok(n > 0)
    }

    /// Scope rows `(event_id, organisation_id, occurred_at)`, in one statement per 500 (a
    /// view's event has about three; an event without an organisation is in every
    /// organisation's scope).
    async fn insert_scope_rows(&mut self, rows: &[(i64, String, i64)]) -> StoreResult<()> {
        for chunk in rows.chunks(500) {
            let sql = format!(
                "INSERT INTO audit_scope (event_id, organisation_id, occurred_at) VALUES {} ON CONFLICT DO NOTHING",
                values(chunk.len(), 3)
            );
            let mut query = sqlx::query(&sql);
            for (event_id, organisation_id, occurred_at) in chunk {
                query = query.bind(*event_id).bind(organisation_id).bind(*occurred_at);
            }
            query.execute(&mut *self).await?;
        }
        Ok(())
    }

    /// A new organisation's officer sees the events without an organisation written before.
    async fn scope_unowned_events(&mut self, organisation_id: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_scope (event_id, organisation_id, occurred_at) \
             SELECT id, $1, occurred_at FROM audit_events WHERE organisation_id IS NULL ON CONFLICT DO NOTHING",
        ).bind(organisation_id).execute(&mut *self).await?;
        Ok(())
    }

    /// Flag rows `(event_id, occurred_at, flags)`, in one statement per 500.
    async fn insert_flag_rows(&mut self, rows: &[(i64, i64, String)]) -> StoreResult<()> {
        for chunk in rows.chunks(500) {
            let sql = format!(
                "INSERT INTO audit_flags (event_id, occurred_at, flags) VALUES {}",
                values(chunk.len(), 3)
            );
            let mut query = sqlx::query(&sql);
            for (event_id, occurred_at, flags) in chunk {
                query = query.bind(*event_id).bind(*occurred_at).bind(flags);
            }
            query.execute(&mut *self).await?;
        }
        Ok(())
    }

    async fn review_page(&mut self, sql: &str, args: &[Arg]) -> StoreResult<Vec<ReviewRow>> {
        let mut query = sqlx::query_as::<_, ReviewRow>(sql);
        for a in args {
            query = match a {
                Arg::Text(t) => query.bind(t.as_str()),
                Arg::Int(i) => query.bind(*i),
            };
        }
        Ok(query.fetch_all(&mut *self).await?)
    }

    /// The event if it is in the organisation's scope, with its flags and that organisation's review.
    async fn scoped_event(&mut self, organisation_id: &str, event_id: i64) -> StoreResult<Option<ReviewRow>> {
        let mut q = ReviewQuery::new(organisation_id);
        q.event_id = Some(event_id);
        q.limit = 1;
        let (sql, args) = review_sql(&q);
        Ok(self.review_page(&sql, &args).await?.into_iter().next())
    }

    async fn insert_review(&mut self, event_id: i64, organisation_id: &str, reviewed_by: &UserId, note: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_reviews (event_id, organisation_id, reviewed_by, reviewed_at, note) VALUES ($1, $2, $3, $4, $5)",
        ).bind(event_id).bind(organisation_id).bind(reviewed_by).bind(now).bind(note)
            .execute(&mut *self).await.map_err(|e| StoreError::on_unique(e, Entity::Review))?;
        Ok(())
    }

    async fn organisation_grants(&mut self, organisation_id: &str, now: i64) -> StoreResult<Vec<OrganisationGrantRow>> {
        Ok(sqlx::query_as::<_, OrganisationGrantRow>(
            "SELECT g.id, g.user_id, u.username AS user_name, u.display_name AS user_display_name, \
             g.client_id, c.bsn, g.ground, g.created_at, g.expires_at \
             FROM access_grants g JOIN users u ON u.id = g.user_id JOIN clients c ON c.id = g.client_id \
             WHERE u.organisation_id = $1 AND g.ended_at IS NULL AND g.expires_at > $2 \
             ORDER BY g.created_at DESC LIMIT 200",
        ).bind(organisation_id).bind(now).fetch_all(&mut *self).await?)
    }

    async fn grant_holder(&mut self, grant_id: &GrantId) -> StoreResult<Option<GrantHolderRow>> {
        Ok(sqlx::query_as::<_, GrantHolderRow>(
            "SELECT g.id, g.user_id, u.organisation_id, g.client_id, g.ground, g.expires_at, g.ended_at \
             FROM access_grants g JOIN users u ON u.id = g.user_id WHERE g.id = $1",
        ).bind(grant_id).fetch_optional(&mut *self).await?)
    }

    /// Whether the organisation shares (any source, any consent) or treats (a user of it
    /// holds or held a grant) the client.
    async fn organisation_knows_client(&mut self, organisation_id: &str, client_id: &ClientId) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM shares sh JOIN sources so ON so.id = sh.source_id \
                     WHERE sh.client_id = $1 AND so.organisation_id = $2) \
                  + (SELECT COUNT(*) FROM access_grants g JOIN users u ON u.id = g.user_id \
                     WHERE g.client_id = $1 AND u.organisation_id = $2)",
        ).bind(client_id).bind(organisation_id).fetch_one(&mut *self).await?;
        Ok(n > 0)
    }

    /// Every event about the BSN in the period, network-wide, oldest first.
    async fn client_events(&mut self, bsn: &str, from_ms: i64, until_ms: i64) -> StoreResult<Vec<ReviewRow>> {
        let actions = OVERVIEW_ACTIONS.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(",");
        Ok(sqlx::query_as::<_, ReviewRow>(&format!(
            "SELECT {EVENT_COLUMNS}, u.display_name AS user_display_name, o.name AS organisation_name, \
             NULL AS flags, NULL AS reviewed_note, NULL AS reviewed_by, CAST(NULL AS BIGINT) AS reviewed_at \
             FROM audit_events e LEFT JOIN users u ON u.id = e.user_id \
             LEFT JOIN organisations o ON o.id = e.organisation_id \
             WHERE e.bsn = $1 AND e.occurred_at >= $2 AND e.occurred_at < $3 AND e.action IN ({actions}) \
             ORDER BY e.occurred_at, e.id LIMIT {OVERVIEW_LIMIT}"
        )).bind(bsn).bind(from_ms).bind(until_ms).fetch_all(&mut *self).await?)
    }

    async fn audit_event(&mut self, id: i64) -> StoreResult<Option<AuditRow>> {
        Ok(sqlx::query_as::<_, AuditRow>(&format!("SELECT {EVENT_COLUMNS} FROM audit_events e WHERE e.id = $1"))
            .bind(id).fetch_optional(&mut *self).await?)
    }

    async fn insert_checkpoint(&mut self, c: &CheckpointRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_checkpoints (event_id, hash, signed_at, key_id, jws) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (event_id) DO NOTHING",
        ).bind(c.event_id).bind(&c.hash).bind(c.signed_at).bind(&c.key_id).bind(&c.jws)
            .execute(&mut *self).await?;
        Ok(())
    }

    async fn checkpoints(&mut self) -> StoreResult<Vec<CheckpointRow>> {
        Ok(sqlx::query_as::<_, CheckpointRow>(
            "SELECT event_id, hash, signed_at, key_id, jws FROM audit_checkpoints ORDER BY event_id",
        ).fetch_all(&mut *self).await?)
    }

    async fn latest_checkpoint(&mut self) -> StoreResult<Option<CheckpointRow>> {
        Ok(sqlx::query_as::<_, CheckpointRow>(
            "SELECT event_id, hash, signed_at, key_id, jws FROM audit_checkpoints ORDER BY event_id DESC LIMIT 1",
        ).fetch_optional(&mut *self).await?)
    }

    async fn record_verification(&mut self, v: &VerificationRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_verifications (kind, up_to_id, up_to_hash, intact, broken_at, verified_at, duration_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (kind) DO UPDATE SET up_to_id = excluded.up_to_id, \
             up_to_hash = excluded.up_to_hash, intact = excluded.intact, broken_at = excluded.broken_at, \
             verified_at = excluded.verified_at, duration_ms = excluded.duration_ms",
        ).bind(&v.kind).bind(v.up_to_id).bind(&v.up_to_hash).bind(v.intact).bind(v.broken_at)
            .bind(v.verified_at).bind(v.duration_ms).execute(&mut *self).await?;
        Ok(())
    }

    async fn verification(&mut self, kind: &str) -> StoreResult<Option<VerificationRow>> {
        Ok(sqlx::query_as::<_, VerificationRow>(
            "SELECT kind, up_to_id, up_to_hash, intact, broken_at, verified_at, duration_ms FROM audit_verifications WHERE kind = $1",
        ).bind(kind).fetch_optional(&mut *self).await?)
    }
}

/// A pooled connection with a time bound on its statements (SQLite's progress handler,
/// PostgreSQL's `statement_timeout`). Unless [`BoundedConn::lift`] removed the bound, dropping
/// it (a cancelled future, an error on the way) closes the connection instead of returning it
/// to the pool, so no later statement on it (an append, a view) inherits the bound.
struct BoundedConn<DB: sqlx::Database> {
    conn: sqlx::pool::PoolConnection<DB>,
    lifted: bool,
}

impl<DB: sqlx::Database> BoundedConn<DB>
where
    DB::Connection: BackendSpecific,
{
    async fn bound(conn: sqlx::pool::PoolConnection<DB>, limit: Duration) -> StoreResult<Self> {
        // Armed before the bound is set: a cancellation while setting it closes it too.
        let mut guard = BoundedConn {
            conn,
            lifted: false,
        };
        guard.conn.bound_time(limit).await?;
        Ok(guard)
    }

    async fn lift(mut self) -> StoreResult<()> {
        self.conn.unbound_time().await?;
        self.lifted = true;
        Ok(())
    }
}

impl<DB: sqlx::Database> Drop for BoundedConn<DB> {
    fn drop(&mut self) {
        if !self.lifted {
            self.conn.close_on_drop();
        }
    }
}

async fn bounded_page<DB: sqlx::Database>(
    conn: sqlx::pool::PoolConnection<DB>,
    sql: &str,
    args: &[Arg],
) -> StoreResult<Vec<ReviewRow>>
where
    DB::Connection: BackendSpecific + ReviewQueries,
{
    let mut bounded_conn = BoundedConn::bound(conn, REVIEW_TIME_LIMIT).await?;
    let rows = bounded_conn.conn.review_page(sql, args).await;
    bounded_conn.lift().await?;
    rows.map_err(bounded)
}

/// Maps an interrupted statement to [`StoreError::TooBroad`].
fn bounded(err: StoreError) -> StoreError {
    if let StoreError::Database(sqlx::Error::Database(db)) = &err {
        // 57014: PostgreSQL's query_canceled; SQLite reports an interrupt.
        if db.code().as_deref() == Some("57014") || db.message().contains("interrupted") {
            return StoreError::TooBroad;
        }
    }
    err
}

impl Store {
    /// One page of the officer's review, newest first, interrupted after
    /// [`REVIEW_TIME_LIMIT`]. The time bound never outlives the call on a pooled connection:
    /// when the call is cancelled mid-way (an aborted download, the request timeout), the
    /// connection is closed instead of going back to the pool (see [`BoundedConn`]).
    pub async fn review_page(&self, query: &ReviewQuery) -> StoreResult<Vec<ReviewRow>> {
        let (sql, args) = review_sql(query);
        match &self.db {
            super::Db::Sqlite(pool) => bounded_page(pool.acquire().await?, &sql, &args).await,
            super::Db::Postgres(pool) => bounded_page(pool.acquire().await?, &sql, &args).await,
        }
    }

    /// Appends events with the given times in one transaction, as `append` does for a live
    /// event (scope and flags included); for the load generator, which back-fills history.
    /// Not behind `test-support`: the product's command line runs that generator
    /// (`ooievaar demo audit-load`, DESIGN section 10).
    pub async fn append_history(&self, events: Vec<(NewAuditEvent, i64)>) -> StoreResult<()> {
        write_tx!(self, |c| {
            for (event, at) in events {
                audit_log::append_at(c, &self.flag_rules, event, Some(at)).await?;
            }
        });
        Ok(())
    }

    pub async fn scoped_event(
        &self,
        organisation_id: &str,
        event_id: i64,
    ) -> StoreResult<Option<ReviewRow>> {
        read_conn!(self, |c| c.scoped_event(organisation_id, event_id).await)
    }

    /// Marks a flagged event reviewed for the organisation, with its audit event.
    pub async fn review_event(
        &self,
        event_id: i64,
        organisation_id: &str,
        reviewed_by: &UserId,
        note: &str,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            c.insert_review(event_id, organisation_id, reviewed_by, note, now_ms())
                .await?;
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    pub async fn organisation_grants(
        &self,
        organisation_id: &str,
    ) -> StoreResult<Vec<OrganisationGrantRow>> {
        read_conn!(self, |c| c
            .organisation_grants(organisation_id, now_ms())
            .await)
    }

    pub async fn grant_holder(&self, grant_id: &GrantId) -> StoreResult<Option<GrantHolderRow>> {
        read_conn!(self, |c| c.grant_holder(grant_id).await)
    }

    pub async fn organisation_knows_client(
        &self,
        organisation_id: &str,
        client_id: &ClientId,
    ) -> StoreResult<bool> {
        read_conn!(self, |c| c
            .organisation_knows_client(organisation_id, client_id)
            .await)
    }

    pub async fn client_events(
        &self,
        bsn: &str,
        from_ms: i64,
        until_ms: i64,
    ) -> StoreResult<Vec<ReviewRow>> {
        read_conn!(self, |c| c.client_events(bsn, from_ms, until_ms).await)
    }

    pub async fn audit_event(&self, id: i64) -> StoreResult<Option<AuditRow>> {
        read_conn!(self, |c| c.audit_event(id).await)
    }

    pub async fn add_checkpoint(&self, checkpoint: &CheckpointRow) -> StoreResult<()> {
        read_conn!(self, |c| c.insert_checkpoint(checkpoint).await)
    }

    pub async fn checkpoints(&self) -> StoreResult<Vec<CheckpointRow>> {
        read_conn!(self, |c| c.checkpoints().await)
    }

    /// The id and hash of the newest event, if any.
    pub async fn chain_head(&self) -> StoreResult<Option<(i64, String)>> {
        read_conn!(self, |c| c.audit_head().await)
    }

    pub async fn latest_checkpoint(&self) -> StoreResult<Option<CheckpointRow>> {
        read_conn!(self, |c| c.latest_checkpoint().await)
    }

    pub async fn record_verification(&self, v: &VerificationRow) -> StoreResult<()> {
        read_conn!(self, |c| c.record_verification(v).await)
    }

    pub async fn verification(&self, kind: &str) -> StoreResult<Option<VerificationRow>> {
        read_conn!(self, |c| c.verification(kind).await)
    }
}

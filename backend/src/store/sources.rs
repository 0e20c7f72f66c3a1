//! Source systems, their keys, token replay, and consent changes.

use super::audit_log::{self, NewAuditEvent};
use super::queries::queries;
use super::Entity;
use super::{now_ms, read_conn, write_tx, Store, StoreError, StoreResult};
use domain::SourceId;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SourceRow {
    pub id: SourceId,
    pub organisation_id: String,
}

/// A registered public key of a source.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SourceKeyRow {
    pub id: String,
    pub source_id: SourceId,
    /// `ES256` or `RS256`; tokens must use exactly this algorithm with this key.
    pub algorithm: String,
    pub public_key_pem: String,
    pub revoked_at: Option<i64>,
}

impl Store {
    /// Registers a source system of an organisation (keys are added separately).
    pub async fn add_source(
        &self,
        id: &SourceId,
        organisation_id: &str,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            c.insert_source(id, organisation_id, now_ms()).await?;
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    pub async fn source(&self, id: &SourceId) -> StoreResult<Option<SourceRow>> {
        read_conn!(self, |c| c.source(id).await)
    }

    /// The keys that may verify tokens of a source.
    pub async fn active_source_keys(&self, source_id: &SourceId) -> StoreResult<Vec<SourceKeyRow>> {
        read_conn!(self, |c| c.source_keys(source_id, false).await)
    }

    pub async fn all_source_keys(&self, source_id: &SourceId) -> StoreResult<Vec<SourceKeyRow>> {
        read_conn!(self, |c| c.source_keys(source_id, true).await)
    }

    /// Registers a source with its first key (one transaction, one audit event each).
    pub async fn add_source_with_key(
        &self,
        key: &SourceKeyRow,
        organisation_id: &str,
        source_event: NewAuditEvent,
        key_event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            let now = now_ms();
            c.insert_source(&key.source_id, organisation_id, now)
                .await?;
            audit_log::append(c, &self.flag_rules, source_event).await?;
            c.insert_source_key(key, now).await?;
            audit_log::append(c, &self.flag_rules, key_event).await?;
        });
        Ok(())
    }

    pub async fn add_source_key(
        &self,
        key: &SourceKeyRow,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            c.insert_source_key(key, now_ms()).await?;
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    /// Revokes an active key; `NotFound(Entity::Key)` when the source has no such active key.
    pub async fn revoke_source_key(
        &self,
        source_id: &SourceId,
        key_id: &str,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            if c.revoke_source_key(source_id, key_id, now_ms()).await? == 0 {
                return Err(StoreError::NotFound(Entity::Key));
            }
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    /// Records a token id until `expires_at_ms`; `false` when it was seen before (a replay).
    /// `now_ms` is the time the token was verified at: ids that expired before it are dropped,
    /// so the token's checks and the replay cache use one clock.
    pub async fn remember_token_id(
        &self,
        source_id: &SourceId,
        jti: &str,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let fresh = write_tx!(self, |c| c
            .remember_token_id(source_id, jti, expires_at_ms, now_ms)
            .await?);
        Ok(fresh)
    }

    /// The source's *verified* API calls since `since_ms` (for its rate limit): shares, consent
    /// changes and refused contents, counted from the access log. Refused tokens never count
    /// (they name no source), nor do the rate limit's own refusals (DESIGN 8.1, rule 9).
    pub async fn source_calls_since(
        &self,
        source_id: &SourceId,
        since_ms: i64,
    ) -> StoreResult<i64> {
        read_conn!(self, |c| c.source_calls_since(source_id, since_ms).await)
    }
}

queries! {
    /// The statements of source systems, their keys and the token replay guard.
    trait SourceQueries;

    async fn insert_source(&mut self, id: &SourceId, organisation_id: &str, now: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO sources (id, organisation_id, created_at) VALUES ($1, $2, $3)")
            .bind(id).bind(organisation_id).bind(now)
            .execute(&mut *self)
            .await
            .map_err(|e| StoreError::on_unique(e, Entity::Source))?;
        Ok(())
    }

    async fn source(&mut self, id: &SourceId) -> StoreResult<Option<SourceRow>> {
        Ok(sqlx::query_as::<_, SourceRow>("SELECT id, organisation_id FROM sources WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self)
            .await?)
    }

    async fn source_keys(&mut self, source_id: &SourceId, include_revoked: bool) -> StoreResult<Vec<SourceKeyRow>> {
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
        .map_err(|e| StoreError::on_unique(e, Entity::Key))?;
        Ok(())
    }

    async fn revoke_source_key(&mut self, source_id: &SourceId, key_id: &str, now: i64) -> StoreResult<u64> {
        Ok(sqlx::query("UPDATE source_keys SET revoked_at = $3 WHERE source_id = $1 AND id = $2 AND revoked_at IS NULL")
            .bind(source_id).bind(key_id).bind(now)
            .execute(&mut *self)
            .await?
            .rows_affected())
    }

    /// Records a token id; `false` when it was already seen (a replay). Expired ids are pruned.
    async fn remember_token_id(&mut self, source_id: &SourceId, jti: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
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
    async fn source_calls_since(&mut self, source_id: &SourceId, since_ms: i64) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE source_id = $1 AND occurred_at >= $2 \
             AND action IN ('share_received', 'share_refused', 'consent_withdrawn', 'consent_restored', 'consent_profile_changed') \
             AND detail <> '{\"reason\":\"rate_limited\"}'",
        )
        .bind(source_id).bind(since_ms)
        .fetch_one(&mut *self)
        .await?)
    }
}

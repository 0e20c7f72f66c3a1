//! Source systems, their keys, token replay, and consent changes.

use super::audit_log::{self, NewAuditEvent};
use super::{now_ms, read_conn, write_tx, Queries as _, Store, StoreError, StoreResult};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SourceRow {
    pub id: String,
    pub organisation_id: String,
}

/// A registered public key of a source.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SourceKeyRow {
    pub id: String,
    pub source_id: String,
    /// `ES256` or `RS256`; tokens must use exactly this algorithm with this key.
    pub algorithm: String,
    pub public_key_pem: String,
    pub revoked_at: Option<i64>,
}

impl Store {
    pub async fn source(&self, id: &str) -> StoreResult<Option<SourceRow>> {
        read_conn!(self, |c| c.source(id).await)
    }

    /// The keys that may verify tokens of a source.
    pub async fn active_source_keys(&self, source_id: &str) -> StoreResult<Vec<SourceKeyRow>> {
        read_conn!(self, |c| c.source_keys(source_id, false).await)
    }

    pub async fn all_source_keys(&self, source_id: &str) -> StoreResult<Vec<SourceKeyRow>> {
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

    /// Revokes an active key; `NotFound("key")` when the source has no such active key.
    pub async fn revoke_source_key(
        &self,
        source_id: &str,
        key_id: &str,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            if c.revoke_source_key(source_id, key_id, now_ms()).await? == 0 {
                return Err(StoreError::NotFound("key"));
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
        source_id: &str,
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
    pub async fn source_calls_since(&self, source_id: &str, since_ms: i64) -> StoreResult<i64> {
        read_conn!(self, |c| c.source_calls_since(source_id, since_ms).await)
    }

    /// Withdraws (`"withdrawn"`: the share's content is purged in the same transaction) or
    /// restores (`"active"`) a client's consent for a source, with its audit event.
    /// `NotFound("share")` when this source never shared this client; nothing changes then.
    pub async fn change_consent(
        &self,
        bsn: &str,
        source_id: &str,
        consent: &str,
        mut event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            let Some(client_id) = c.client_id_by_bsn(bsn).await? else {
                return Err(StoreError::NotFound("share"));
            };
            if c.share_consent(&client_id, source_id).await?.is_none() {
                return Err(StoreError::NotFound("share"));
            }
            c.set_share_consent(&client_id, source_id, consent, now_ms())
                .await?;
            if consent == "withdrawn" {
                c.purge_share_content(&client_id, source_id).await?;
            }
            event.client_id = Some(client_id);
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }
}

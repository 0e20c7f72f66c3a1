//! Purging shared copies past their retention term (DESIGN section 10, `retention run`). The
//! term itself is the domain's rule (`domain::retention`); here are the candidates and the
//! purge of one copy, which re-checks under the chain lock that nothing changed since the
//! candidate was read, so instances running at once purge each copy once.

use super::audit_log::{self, NewAuditEvent};
use super::queries::queries;
use super::registry::RegistryQueries as _;
use super::{now_ms, read_conn, write_tx, Store, StoreResult};
use domain::{ClientId, SourceId};

/// A share as the retention run weighs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RetentionCandidate {
    pub client_id: ClientId,
    pub source_id: SourceId,
    pub bsn: String,
    /// Last change of the share (ms), the term's start when no pregnancy ended.
    pub updated_at: i64,
    /// ISO dates; `None` for a running pregnancy.
    #[sqlx(skip)]
    pub pregnancies_ended_on: Vec<Option<String>>,
}

/// How one purge ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeOutcome {
    Purged(PurgeCounts),
    /// A grant for the client is open: the copy is kept.
    OpenGrant,
    /// The share changed or is gone (re-sent, or purged by another instance).
    Changed,
}

/// What one purge removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeCounts {
    pub entries: i64,
    pub pregnancies: i64,
    /// Whether it was the client's last share, so her consent profile went too.
    pub profile_purged: bool,
}

#[derive(sqlx::FromRow)]
/// The end of one pregnancy of a share (`None` while it runs).
pub struct PregnancyEnd {
    pub client_id: ClientId,
    pub source_id: SourceId,
    pub ended_on: Option<String>,
}

impl Store {
    /// Every share with the end dates of its pregnancies.
    pub async fn retention_candidates(&self) -> StoreResult<Vec<RetentionCandidate>> {
        let (mut shares, ends) = read_conn!(self, |c| (
            c.shares_for_retention().await?,
            c.pregnancy_ends().await?
        ));
        let mut index: std::collections::HashMap<(ClientId, SourceId), usize> =
            std::collections::HashMap::new();
        for (i, share) in shares.iter().enumerate() {
            index.insert((share.client_id.clone(), share.source_id.clone()), i);
        }
        for end in ends {
            if let Some(&i) = index.get(&(end.client_id, end.source_id)) {
                shares[i].pregnancies_ended_on.push(end.ended_on);
            }
        }
        Ok(shares)
    }

    /// Purges one source's copy of a client (entries, pregnancies and the share itself) with
    /// the event `event` builds from the counts, unless, under the chain lock, the share
    /// changed since `seen_updated_at`, is gone (another instance purged it), or the client
    /// has an open grant. The client's consent profile goes with her last share.
    pub async fn purge_share(
        &self,
        candidate: &RetentionCandidate,
        event: impl FnOnce(PurgeCounts) -> NewAuditEvent + Send,
    ) -> StoreResult<PurgeOutcome> {
        let purged = write_tx!(self, |c| {
            super::BackendSpecific::lock_audit_chain(c).await?;
            let current = c
                .share_updated_at(&candidate.client_id, &candidate.source_id)
                .await?;
            if current != Some(candidate.updated_at) {
                return Ok(PurgeOutcome::Changed);
            }
            if c.open_grants(&candidate.client_id, now_ms()).await? > 0 {
                return Ok(PurgeOutcome::OpenGrant);
            }
            let entries = c
                .delete_share_entries(&candidate.client_id, &candidate.source_id)
                .await?;
            let pregnancies = c
                .delete_share_pregnancies(&candidate.client_id, &candidate.source_id)
                .await?;
            c.delete_share(&candidate.client_id, &candidate.source_id)
                .await?;
            let profile_purged = c.shares_of_client(&candidate.client_id).await? == 0
                && c.delete_profile(&candidate.bsn).await?;
            let counts = PurgeCounts {
                entries,
                pregnancies,
                profile_purged,
            };
            audit_log::append(c, &self.flag_rules, event(counts)).await?;
            PurgeOutcome::Purged(counts)
        });
        Ok(purged)
    }
}

queries! {
    /// The statements of the retention run.
    trait RetentionQueries;

    async fn shares_for_retention(&mut self) -> StoreResult<Vec<RetentionCandidate>> {
        Ok(sqlx::query_as::<_, RetentionCandidate>(
            "SELECT s.client_id, s.source_id, c.bsn, s.updated_at FROM shares s JOIN clients c ON c.id = s.client_id",
        )
        .fetch_all(&mut *self).await?)
    }

    async fn pregnancy_ends(&mut self) -> StoreResult<Vec<PregnancyEnd>> {
        Ok(sqlx::query_as::<_, PregnancyEnd>("SELECT client_id, source_id, ended_on FROM pregnancies")
            .fetch_all(&mut *self).await?)
    }

    async fn share_updated_at(&mut self, client_id: &ClientId, source_id: &SourceId) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT updated_at FROM shares WHERE client_id = $1 AND source_id = $2")
            .bind(client_id).bind(source_id).fetch_optional(&mut *self).await?)
    }

    /// Grants for the client that are neither ended nor expired.
    async fn open_grants(&mut self, client_id: &ClientId, now: i64) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM access_grants WHERE client_id = $1 AND ended_at IS NULL AND expires_at > $2",
        )
        .bind(client_id).bind(now).fetch_one(&mut *self).await?)
    }

    async fn delete_share_entries(&mut self, client_id: &ClientId, source_id: &SourceId) -> StoreResult<i64> {
        Ok(sqlx::query("DELETE FROM entries WHERE client_id = $1 AND source_id = $2")
            .bind(client_id).bind(source_id).execute(&mut *self).await?.rows_affected() as i64)
    }

    async fn delete_share_pregnancies(&mut self, client_id: &ClientId, source_id: &SourceId) -> StoreResult<i64> {
        Ok(sqlx::query("DELETE FROM pregnancies WHERE client_id = $1 AND source_id = $2")
            .bind(client_id).bind(source_id).execute(&mut *self).await?.rows_affected() as i64)
    }

    async fn delete_share(&mut self, client_id: &ClientId, source_id: &SourceId) -> StoreResult<()> {
        sqlx::query("DELETE FROM shares WHERE client_id = $1 AND source_id = $2")
            .bind(client_id).bind(source_id).execute(&mut *self).await?;
        Ok(())
    }

    async fn shares_of_client(&mut self, client_id: &ClientId) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM shares WHERE client_id = $1")
            .bind(client_id).fetch_one(&mut *self).await?)
    }
}

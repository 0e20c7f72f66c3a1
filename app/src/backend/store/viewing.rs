//! Finding clients, access grants, and the rows a view reads.

use super::{
    now_ms, read_conn, write_tx, PregnancyRow, Queries as _, Store, StoreError, StoreResult,
};
use crate::backend::audit::{self, NewAuditEvent};

/// Who the client is, from her most recently received active share.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdentityRow {
    pub client_id: String,
    pub bsn: String,
    pub name: Option<String>,
    pub birth_date: Option<String>,
}

/// A source with an active share of the client.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SharingSourceRow {
    pub source_id: String,
    pub organisation_id: String,
    pub organisation_name: String,
    pub received_at: Option<i64>,
}

/// An access grant (DESIGN 5.3, 5.4).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GrantRow {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    pub ground: String,
    pub reason: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// An entry as a permitted view shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisibleEntryRow {
    pub id: String,
    pub source_id: String,
    pub organisation_name: String,
    pub category: String,
    pub code: String,
    pub label: String,
    pub value: String,
    pub unit: Option<String>,
    pub observed_at: i64,
    pub sensitivity: String,
    pub pregnancy_id: Option<String>,
}

/// Everything one view reads, in one transaction with its audit event.
#[derive(Debug, Clone)]
pub struct ViewRows {
    pub identity: IdentityRow,
    pub grant: GrantRow,
    pub sources: Vec<SharingSourceRow>,
    pub pregnancies: Vec<PregnancyRow>,
    pub entries: Vec<VisibleEntryRow>,
}

/// Why a view read nothing.
#[derive(Debug)]
pub enum ViewDenied {
    /// No active share: the client is unknown.
    Unknown,
    /// No valid grant of this user.
    NoGrant,
}

impl Store {
    /// The client's id if `bsn` and `birth_date` match an active share.
    pub async fn find_client(&self, bsn: &str, birth_date: &str) -> StoreResult<Option<String>> {
        read_conn!(self, |c| c.find_client(bsn, birth_date).await)
    }

    /// The client record of a BSN, whatever its consent (for the log's real outcome only).
    pub async fn client_id_by_bsn(&self, bsn: &str) -> StoreResult<Option<String>> {
        read_conn!(self, |c| c.client_id_by_bsn(bsn).await)
    }

    pub async fn client_identity(&self, client_id: &str) -> StoreResult<Option<IdentityRow>> {
        read_conn!(self, |c| c.client_identity(client_id).await)
    }

    pub async fn sharing_sources(&self, client_id: &str) -> StoreResult<Vec<SharingSourceRow>> {
        read_conn!(self, |c| c.sharing_sources(client_id).await)
    }

    pub async fn client_pregnancies(&self, client_id: &str) -> StoreResult<Vec<PregnancyRow>> {
        read_conn!(self, |c| c.client_pregnancies(client_id).await)
    }

    pub async fn valid_grant(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<GrantRow>> {
        read_conn!(self, |c| c.valid_grant(user_id, client_id, now_ms()).await)
    }

    pub async fn granted_clients(&self, user_id: &str) -> StoreResult<Vec<GrantRow>> {
        read_conn!(self, |c| c.granted_clients(user_id, now_ms()).await)
    }

    /// Stores a grant and its `access_request` event together, unless the user already holds
    /// a valid grant for the client (checked in the same transaction, so two requests at once
    /// create one grant). Whether it was created.
    pub async fn create_grant(&self, grant: &GrantRow, event: NewAuditEvent) -> StoreResult<bool> {
        let created = write_tx!(self, |c| {
            // The chain lock serialises this check with a concurrent request's insert (on
            // PostgreSQL the check alone would not see an uncommitted grant).
            super::BackendSpecific::lock_audit_chain(c).await?;
            if c.valid_grant(&grant.user_id, &grant.client_id, now_ms())
                .await?
                .is_some()
            {
                false
            } else {
                c.insert_grant(grant).await?;
                audit::append(c, &self.flag_rules, event).await?;
                true
            }
        });
        Ok(created)
    }

    /// Ends an open grant (by its holder or an officer) with its audit event.
    pub async fn end_grant(
        &self,
        grant_id: &str,
        ended_by: &str,
        reason: &str,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            if !c.end_grant(grant_id, ended_by, reason, now_ms()).await? {
                return Err(StoreError::NotFound("grant"));
            }
            audit::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    /// One audited view (DESIGN rules 1, 2 and 4): inside one write transaction it re-checks
    /// the grant and (by the joins) the consent of every source, reads the permitted rows, and
    /// appends the view's event built by `event` from what was read. If the event cannot be
    /// written, the transaction fails and nothing is returned (fail closed).
    pub async fn audited_view(
        &self,
        user_id: &str,
        client_id: &str,
        allowed: &[String],
        event: impl FnOnce(&ViewRows) -> NewAuditEvent + Send,
    ) -> StoreResult<Result<ViewRows, ViewDenied>> {
        let outcome = write_tx!(self, |c| {
            let Some(identity) = c.client_identity(client_id).await? else {
                return Ok(Err(ViewDenied::Unknown));
            };
            let Some(grant) = c.valid_grant(user_id, client_id, now_ms()).await? else {
                return Ok(Err(ViewDenied::NoGrant));
            };
            let rows = ViewRows {
                identity,
                grant,
                sources: c.sharing_sources(client_id).await?,
                pregnancies: c.client_pregnancies(client_id).await?,
                entries: c.permitted_entries(client_id, allowed).await?,
            };
            audit::append(c, &self.flag_rules, event(&rows)).await?;
            rows
        });
        Ok(Ok(outcome))
    }
}

//! Finding clients, access grants, and the rows a view reads.

use super::audit_log::{self, NewAuditEvent};
use super::{
    now_ms, read_conn, write_tx, PregnancyRow, Queries as _, Store, StoreError, StoreResult,
};

/// Who the client is, from her most recently received active share.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdentityRow {
    pub client_id: String,
    pub bsn: String,
    /// The source whose share the name and birth date come from.
    pub source_id: String,
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
    /// Every source with an active share (the page lists each with its organisation).
    pub sources: Vec<SharingSourceRow>,
    /// Empty when the role's policy hides the `pregnancy` category (then they are not read).
    /// They come from active shares only, so their sources are among `sources`.
    pub pregnancies: Vec<PregnancyRow>,
    pub entries: Vec<VisibleEntryRow>,
}

impl ViewRows {
    /// Every source any shown datum came from: the identity, the sharing organisations (the
    /// page lists them all), the pregnancies (from those same shares) and the entries.
    pub fn shown_sources(&self) -> Vec<String> {
        let mut sources: Vec<String> = std::iter::once(self.identity.source_id.clone())
            .chain(self.sources.iter().map(|s| s.source_id.clone()))
            .chain(self.entries.iter().map(|e| e.source_id.clone()))
            .collect();
        sources.sort();
        sources.dedup();
        sources
    }
}

/// A search hit as read under the chain lock: what the answer shows of the client.
#[derive(Debug, Clone)]
pub struct FoundClient {
    pub identity: IdentityRow,
    pub sources: Vec<SharingSourceRow>,
    /// Whether the searching user holds a valid grant.
    pub has_grant: bool,
}

impl FoundClient {
    /// Every source a shown datum of the hit came from (identity and sharing organisations).
    pub fn shown_sources(&self) -> Vec<String> {
        let mut sources: Vec<String> = std::iter::once(self.identity.source_id.clone())
            .chain(self.sources.iter().map(|s| s.source_id.clone()))
            .collect();
        sources.sort();
        sources.dedup();
        sources
    }
}

/// What one search read, in one transaction with its audit event.
#[derive(Debug, Clone)]
pub struct SearchRows {
    /// The client, if an active share knows this BSN with this birth date.
    pub found: Option<FoundClient>,
    /// The client record of the BSN whatever its consent (the log's real outcome only).
    pub client_id: Option<String>,
}

/// A client on the user's "my clients" list, as read under the chain lock.
#[derive(Debug, Clone)]
pub struct MyClientRow {
    pub grant: GrantRow,
    pub identity: IdentityRow,
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
    /// create one grant): then the request is logged all the same, with the event `repeated`
    /// builds from the grant she holds. Whether a grant was created.
    pub async fn create_grant(
        &self,
        grant: &GrantRow,
        event: NewAuditEvent,
        repeated: impl FnOnce(&GrantRow) -> NewAuditEvent + Send,
    ) -> StoreResult<bool> {
        let created = write_tx!(self, |c| {
            // The chain lock serialises this check with a concurrent request's insert (on
            // PostgreSQL the check alone would not see an uncommitted grant).
            super::BackendSpecific::lock_audit_chain(c).await?;
            if let Some(held) = c
                .valid_grant(&grant.user_id, &grant.client_id, now_ms())
                .await?
            {
                audit_log::append(c, &self.flag_rules, repeated(&held)).await?;
                false
            } else {
                c.insert_grant(grant).await?;
                audit_log::append(c, &self.flag_rules, event).await?;
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
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    /// One audited view (DESIGN rules 1, 2 and 4): inside one write transaction it takes the
    /// chain lock *first*, then re-checks the grant and (by the joins) the consent of every
    /// source, reads the permitted rows, and appends the view's event built by `event` from
    /// what was read. Taking the lock before reading orders the view after any withdrawal or
    /// revocation that holds it (they append under it), so nothing read here was withdrawn or
    /// revoked before the event's place in the chain. If the event cannot be written, the
    /// transaction fails and nothing is returned (fail closed). `pregnancies`: whether the
    /// role's policy shows the pregnancy block (otherwise it is not read).
    pub async fn audited_view(
        &self,
        user_id: &str,
        client_id: &str,
        allowed: &[String],
        pregnancies: bool,
        event: impl FnOnce(&ViewRows) -> NewAuditEvent + Send,
    ) -> StoreResult<Result<ViewRows, ViewDenied>> {
        let outcome = write_tx!(self, |c| {
            super::BackendSpecific::lock_audit_chain(c).await?;
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
                pregnancies: if pregnancies {
                    c.client_pregnancies(client_id).await?
                } else {
                    Vec::new()
                },
                entries: c.permitted_entries(client_id, allowed).await?,
            };
            audit_log::append(c, &self.flag_rules, event(&rows)).await?;
            rows
        });
        Ok(Ok(outcome))
    }

    /// One audited search (DESIGN flows 3-4, rules 1 and 4): the chain lock first, then the
    /// lookup, what the hit shows, and the search's event built by `event`, in one
    /// transaction. A withdrawal that holds the lock is either wholly before the search (she
    /// is not found) or wholly after it (its event follows the search's).
    pub async fn audited_search(
        &self,
        user_id: &str,
        bsn: &str,
        birth_date: &str,
        event: impl FnOnce(&SearchRows) -> NewAuditEvent + Send,
    ) -> StoreResult<SearchRows> {
        let rows = write_tx!(self, |c| {
            super::BackendSpecific::lock_audit_chain(c).await?;
            let mut found = None;
            if let Some(client_id) = c.find_client(bsn, birth_date).await? {
                if let Some(identity) = c.client_identity(&client_id).await? {
                    found = Some(FoundClient {
                        identity,
                        sources: c.sharing_sources(&client_id).await?,
                        has_grant: c
                            .valid_grant(user_id, &client_id, now_ms())
                            .await?
                            .is_some(),
                    });
                }
            }
            let client_id = match &found {
                Some(f) => Some(f.identity.client_id.clone()),
                None => c.client_id_by_bsn(bsn).await?,
            };
            let rows = SearchRows { found, client_id };
            audit_log::append(c, &self.flag_rules, event(&rows)).await?;
            rows
        });
        Ok(rows)
    }

    /// The user's clients with a valid grant and an active share ("my clients": names and
    /// birth dates), read under the chain lock in one transaction with the event `event`
    /// builds from them (none when it returns `None`, e.g. for an empty list).
    pub async fn audited_my_clients(
        &self,
        user_id: &str,
        event: impl FnOnce(&[MyClientRow]) -> Option<NewAuditEvent> + Send,
    ) -> StoreResult<Vec<MyClientRow>> {
        let rows = write_tx!(self, |c| {
            super::BackendSpecific::lock_audit_chain(c).await?;
            let mut rows = Vec::new();
            for grant in c.granted_clients(user_id, now_ms()).await? {
                if let Some(identity) = c.client_identity(&grant.client_id).await? {
                    rows.push(MyClientRow { grant, identity });
                }
            }
            if let Some(logged) = event(&rows) {
                audit_log::append(c, &self.flag_rules, logged).await?;
            }
            rows
        });
        Ok(rows)
    }
}

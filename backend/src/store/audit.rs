//! Audit rows as stored, and chain verification over the whole table.

use super::{read_conn, Queries as _, ReviewQueries as _, Store, StoreResult};
use crate::audit::{check_link, ChainBreak};

/// One row of `audit_events`, all columns.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub occurred_at: i64,
    pub action: String,
    pub outcome: String,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub user_role: Option<String>,
    pub organisation_id: Option<String>,
    pub on_behalf_of: Option<String>,
    pub client_id: Option<String>,
    pub bsn: Option<String>,
    pub source_id: Option<String>,
    pub ground: Option<String>,
    pub grant_id: Option<String>,
    pub detail: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// The result of `ooievaar audit verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyReport {
    Intact {
        events: i64,
    },
    Broken {
        event_id: i64,
        reason: ChainBreak,
        checked: i64,
    },
}

const VERIFY_PAGE: i64 = 5_000;

impl Store {
    /// Walks the whole chain in pages of ids and reports the first broken event; then checks
    /// that every signed checkpoint still matches the chain (a deleted tail, or a history
    /// rewritten and re-hashed, no longer does).
    pub async fn verify_audit_chain(&self) -> StoreResult<VerifyReport> {
        let (report, head) = self.verify_audit_chain_from(None).await?;
        if !matches!(report, VerifyReport::Intact { .. }) {
            return Ok(report);
        }
        let last = head.as_ref().map(|h| h.0).unwrap_or(0);
        for checkpoint in self.checkpoints().await? {
            let stored = self.audit_event(checkpoint.event_id).await?;
            if stored.map(|e| e.hash) != Some(checkpoint.hash.clone()) {
                return Ok(VerifyReport::Broken {
                    event_id: checkpoint.event_id,
                    reason: if checkpoint.event_id > last {
                        ChainBreak::MissingSinceCheckpoint
                    } else {
                        ChainBreak::Checkpoint
                    },
                    checked: last,
                });
            }
        }
        Ok(report)
    }

    /// Verifies the chain from a proven event on (`None`: from the first). The proven event
    /// must still carry the hash it had; the events before it are taken as proven (a full
    /// verification re-proves them). Also returns the last event's id and hash.
    pub async fn verify_audit_chain_from(
        &self,
        proven: Option<(i64, String)>,
    ) -> StoreResult<(VerifyReport, Option<(i64, String)>)> {
        read_conn!(self, |c| {
            let mut checked = 0;
            if let Some((id, hash)) = &proven {
                let stored = c.audit_event(*id).await?;
                if stored.as_ref().map(|e| &e.hash) != Some(hash) {
                    let report = VerifyReport::Broken {
                        event_id: *id,
                        reason: ChainBreak::Hash,
                        checked: 0,
                    };
                    return Ok((report, None));
                }
                checked = *id;
            }
            let mut prev = proven;
            loop {
                let after = prev.as_ref().map(|p| p.0).unwrap_or(0);
                let page = c.audit_page(after, VERIFY_PAGE).await?;
                if page.is_empty() {
                    return Ok((VerifyReport::Intact { events: checked }, prev));
                }
                for row in page {
                    if let Err(reason) =
                        check_link(prev.as_ref().map(|(i, h)| (*i, h.as_str())), &row)
                    {
                        let report = VerifyReport::Broken {
                            event_id: row.id,
                            reason,
                            checked,
                        };
                        return Ok((report, prev));
                    }
                    checked += 1;
                    prev = Some((row.id, row.hash));
                }
            }
        })
    }

    /// Events after `after_id`, oldest first, at most `limit`.
    pub async fn audit_events_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditRow>> {
        read_conn!(self, |c| c.audit_page(after_id, limit).await)
    }
}

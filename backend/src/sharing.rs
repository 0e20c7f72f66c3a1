//! Receiving what sources share (DESIGN flows 1 and 2): replacing a source's share of a client
//! and changing consent. Used by the source API and by the demo seed, so both take one path.

use super::audit::{NewAuditEvent, RequestMeta};
use super::store::{EntryRow, PregnancyRow, ShareContent, Store, StoreError};
use crate::store::Entity;
use domain::retention::{past_term_on_arrival, RetentionTerm};
use domain::share::{ConsentStatus, ValidShare};
use domain::FieldError;
use domain::{AuditAction, Outcome, SourceId};

/// The source (or consent registry) a call comes from, verified by its token. A registry
/// belongs to no organisation.
#[derive(Debug, Clone)]
pub struct Caller {
    pub source_id: SourceId,
    pub organisation_id: Option<String>,
    pub request: RequestMeta,
}

impl Caller {
    /// An audit event about this caller's call.
    pub fn event(&self, action: AuditAction, outcome: Outcome) -> NewAuditEvent {
        let mut event = NewAuditEvent::new(action, outcome).with_request(self.request.clone());
        event.source_id = Some(self.source_id.clone());
        event.organisation_id = self.organisation_id.clone();
        event
    }
}

/// What a replace changed, reported back to the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct EntryCounts {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ShareReceipt {
    pub pregnancies: usize,
    pub entries: usize,
    pub entry_changes: EntryCounts,
}

fn to_content(share: &ValidShare) -> ShareContent {
    ShareContent {
        name: share.name.clone(),
        birth_date: share.birth_date.to_string(),
        pregnancies: share
            .pregnancies
            .iter()
            .map(|p| PregnancyRow {
                id: p.id.clone(),
                edd: p.edd.to_string(),
                gravidity: p.gravidity,
                parity: p.parity,
                status: if p.ended_on.is_some() {
                    "ended"
                } else {
                    "active"
                }
                .into(),
                ended_on: p.ended_on.map(|d| d.to_string()),
            })
            .collect(),
        entries: share
            .entries
            .iter()
            .map(|e| EntryRow {
                id: e.id.clone(),
                pregnancy_id: e.pregnancy_id.clone(),
                category: e.category,
                code: e.code.clone(),
                label: e.label.clone(),
                value: e.value.clone(),
                unit: e.unit.clone(),
                observed_at: (e.observed_at.unix_timestamp_nanos() / 1_000_000) as i64,
                sensitivity: e.sensitivity,
            })
            .collect(),
    }
}

/// Counts added, changed and removed entries between the stored and the new share.
pub fn entry_changes(old: &[EntryRow], new: &[EntryRow]) -> EntryCounts {
    use std::collections::HashMap;
    let old: HashMap<&str, &EntryRow> = old.iter().map(|e| (e.id.as_str(), e)).collect();
    let new_ids: std::collections::HashSet<&str> = new.iter().map(|e| e.id.as_str()).collect();
    let mut counts = EntryCounts::default();
    for entry in new {
        match old.get(entry.id.as_str()) {
            None => counts.added += 1,
            Some(previous) if *previous != entry => counts.changed += 1,
            Some(_) => {}
        }
    }
    counts.removed = old.keys().filter(|id| !new_ids.contains(*id)).count();
    counts
}

/// Why a share or consent change was not applied (besides database failures).
#[derive(Debug, thiserror::Error)]
pub enum SharingError {
    #[error("consent for this client is withdrawn at this source")]
    ConsentWithdrawn,
    #[error("this source never shared this client")]
    NeverShared,
    /// The share's retention term has already run (DESIGN section 10): storing it would bring
    /// back what the retention run purged.
    #[error("past retention")]
    PastRetention(FieldError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for SharingError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::ConsentWithdrawn => SharingError::ConsentWithdrawn,
            StoreError::NotFound(Entity::Share) => SharingError::NeverShared,
            other => SharingError::Store(other),
        }
    }
}

/// Replaces the caller's share of the client, logged as `share_received` with counts only
/// (never clinical values). While consent is withdrawn the share is refused, and so is a share
/// whose retention `term` has already run.
pub async fn receive_share(
    store: &Store,
    caller: &Caller,
    share: &ValidShare,
    term: RetentionTerm,
) -> Result<ShareReceipt, SharingError> {
    if let Some(problem) = past_term_on_arrival(share, term, crate::clock::today()) {
        return Err(SharingError::PastRetention(problem));
    }
    let content = to_content(share);
    let mut event = caller.event(AuditAction::ShareReceived, Outcome::Success);
    event.bsn = Some(share.bsn.as_ref().to_owned());
    let (counts, changes) = store
        .replace_share_counted(
            share.bsn.as_ref(),
            &caller.source_id,
            &content,
            event,
            entry_changes,
        )
        .await?;
    Ok(ShareReceipt {
        pregnancies: counts.pregnancies,
        entries: counts.entries,
        entry_changes: changes,
    })
}

/// Withdraws or restores the client's consent for the caller's source. A withdrawal purges
/// the source's share in the same transaction.
pub async fn change_consent(
    store: &Store,
    caller: &Caller,
    bsn: &str,
    status: ConsentStatus,
) -> Result<(), SharingError> {
    let action = match status {
        ConsentStatus::Withdrawn => AuditAction::ConsentWithdrawn,
        ConsentStatus::Active => AuditAction::ConsentRestored,
    };
    let mut event = caller.event(action, Outcome::Success);
    event.bsn = Some(bsn.to_owned());
    store
        .change_consent(bsn, &caller.source_id, status, event)
        .await?;
    Ok(())
}

/// What a FHIR bundle changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeReceipt {
    /// A bundle of the Patient and a Consent: the consent's new status.
    Consent(ConsentStatus),
    /// The share was replaced; `restored` when the bundle's active Consent ended a withdrawal.
    Share {
        receipt: ShareReceipt,
        restored: bool,
    },
}

/// Applies a FHIR bundle (DESIGN 8.2) with the semantics of the JSON API: a Consent alone
/// withdraws (with the purge) or restores; otherwise the share is replaced, refused while
/// consent is withdrawn unless the bundle's own Consent is active, which restores it first.
pub async fn receive_bundle(
    store: &Store,
    caller: &Caller,
    intake: &crate::fhir::Intake,
    term: RetentionTerm,
) -> Result<IntakeReceipt, SharingError> {
    let Some(share) = &intake.share else {
        let status = intake.consent.unwrap_or(ConsentStatus::Active);
        change_consent(store, caller, intake.bsn.as_ref(), status).await?;
        return Ok(IntakeReceipt::Consent(status));
    };
    match receive_share(store, caller, share, term).await {
        Err(SharingError::ConsentWithdrawn) if intake.consent == Some(ConsentStatus::Active) => {
            change_consent(store, caller, intake.bsn.as_ref(), ConsentStatus::Active).await?;
            let receipt = receive_share(store, caller, share, term).await?;
            Ok(IntakeReceipt::Share {
                receipt,
                restored: true,
            })
        }
        result => result.map(|receipt| IntakeReceipt::Share {
            receipt,
            restored: false,
        }),
    }
}

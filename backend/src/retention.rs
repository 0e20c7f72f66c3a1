//! The retention run (`ooievaar retention run`, and daily inside `serve`): every source's
//! copy of a client whose term (`domain::retention`) has run, and for whom no access grant is
//! open, is purged with a `retention_purge` event of counts. The access log itself is kept
//! (rule 5; README "Bewaartermijnen").

use crate::store::{PurgeCounts, PurgeOutcome, Store};
use domain::audit_detail::{self as detail, AuditDetail};
use domain::error::AppError;
use domain::retention::{term_start, RetentionTerm};
use domain::{AuditAction, SourceId};
use std::collections::BTreeMap;
use time::Date;

/// What a run purged of one source's copies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourcePurges {
    pub copies: i64,
    pub entries: i64,
    pub pregnancies: i64,
    pub profiles: i64,
    /// Copies past their term kept because a grant for the client is still open.
    pub kept_for_open_grant: i64,
}

/// What one run did, per source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub per_source: BTreeMap<SourceId, SourcePurges>,
}

impl RetentionReport {
    pub fn copies(&self) -> i64 {
        self.per_source.values().map(|s| s.copies).sum()
    }
}

/// Who runs the purge, for its events: the command line or the server's daily run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunBy {
    CommandLine,
    Server,
}

/// Purges every copy past `term` on `as_of`, which may not lie after `today`.
pub async fn run(
    store: &Store,
    term: RetentionTerm,
    as_of: Date,
    today: Date,
    by: RunBy,
) -> Result<RetentionReport, AppError> {
    if as_of > today {
        return Err(AppError::field("--as-of", "mag niet na vandaag liggen"));
    }
    let mut report = RetentionReport::default();
    for candidate in store.retention_candidates().await? {
        let ended: Vec<Option<Date>> = candidate
            .pregnancies_ended_on
            .iter()
            .map(|d| d.as_deref().and_then(crate::clock::parse_date))
            .collect();
        let last_update = crate::clock::amsterdam(candidate.updated_at).date();
        if !term.has_passed(term_start(&ended, last_update), as_of) {
            continue;
        }
        let purged = store
            .purge_share(&candidate, |counts: PurgeCounts| {
                let mut event = match by {
                    RunBy::CommandLine => crate::accounts::cli_event(AuditAction::RetentionPurge),
                    RunBy::Server => {
                        let mut e = crate::audit::NewAuditEvent::new(
                            AuditAction::RetentionPurge,
                            domain::Outcome::Success,
                        );
                        e.request.user_agent = Some("ooievaar-serve".into());
                        e
                    }
                };
                event.client_id = Some(candidate.client_id.clone());
                event.bsn = Some(candidate.bsn.clone());
                event.source_id = Some(candidate.source_id.clone());
                event.detail = Some(AuditDetail::RetentionPurge(detail::RetentionPurge {
                    entries: counts.entries,
                    pregnancies: counts.pregnancies,
                    term_years: i64::from(term.as_years()),
                    as_of: as_of.to_string(),
                    consent_profile_purged: counts.profile_purged,
                }));
                event
            })
            .await?;
        let line = report
            .per_source
            .entry(candidate.source_id.clone())
            .or_default();
        match purged {
            PurgeOutcome::Purged(counts) => {
                line.copies += 1;
                line.entries += counts.entries;
                line.pregnancies += counts.pregnancies;
                line.profiles += i64::from(counts.profile_purged);
            }
            PurgeOutcome::OpenGrant => line.kept_for_open_grant += 1,
            // Another instance purged it, or the source re-sent it meanwhile.
            PurgeOutcome::Changed => {}
        }
    }
    report
        .per_source
        .retain(|_, s| *s != SourcePurges::default());
    Ok(report)
}

//! The access log's integrity (DESIGN rule 5), in one place: checking links, walking the chain
//! in full or from the last proven event, the state the officer's page shows, checking signed
//! checkpoints against the log, and the rule that a checkpoint is signed only over an intact
//! chain. The store only writes and reads rows (`store::audit_log`); the server only holds the
//! key and makes the signature ([`CheckpointSigner`]).

use crate::clock::dutch_date_time;
use crate::store::chain_hash;
use crate::store::{AuditRow, CheckpointRow, Store, StoreResult, VerificationRow, GENESIS_HASH};
use domain::audit_view::ChainState;

/// Why the chain is broken at an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The id is not the previous id + 1 (an event was deleted or inserted).
    Gap { expected: i64 },
    /// `prev_hash` does not equal the previous event's hash (reordered or rewritten history).
    PrevHash,
    /// The stored hash does not match the event's content (a column was altered).
    Hash,
    /// A signed checkpoint names this event with another hash (history was rewritten).
    Checkpoint,
    /// A signed checkpoint names this event, but the log ends before it (events were deleted).
    MissingSinceCheckpoint,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::Gap { expected } => write!(
                f,
                "expected event {expected} here (deleted or inserted events)"
            ),
            ChainBreak::PrevHash => f.write_str(
                "prev_hash does not match the previous event (reordered or rewritten history)",
            ),
            ChainBreak::Hash => f.write_str("hash does not match the event's content (altered)"),
            ChainBreak::Checkpoint => {
                f.write_str("differs from the signed checkpoint of this event (rewritten history)")
            }
            ChainBreak::MissingSinceCheckpoint => f.write_str(
                "a signed checkpoint names this event, but the log ends before it (deleted events)",
            ),
        }
    }
}

/// Checks one event against its predecessor.
pub fn check_link(prev: Option<(i64, &str)>, row: &AuditRow) -> Result<(), ChainBreak> {
    let (expected_id, expected_prev) = match prev {
        Some((id, hash)) => (id + 1, hash),
        None => (1, GENESIS_HASH),
    };
    if row.id != expected_id {
        return Err(ChainBreak::Gap {
            expected: expected_id,
        });
    }
    if row.prev_hash != expected_prev {
        return Err(ChainBreak::PrevHash);
    }
    if chain_hash(row) != row.hash {
        return Err(ChainBreak::Hash);
    }
    Ok(())
}

/// The result of a verification (`ooievaar audit verify`, the daily task).
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

/// Walks the whole chain in pages of ids and reports the first broken event; then checks that
/// every stored checkpoint still matches the chain (a deleted tail, or a history rewritten and
/// re-hashed, no longer does). Records nothing; see [`verify_full`].
pub async fn verify_chain(store: &Store) -> StoreResult<VerifyReport> {
    let (report, head) = verify_chain_from(store, None).await?;
    if !matches!(report, VerifyReport::Intact { .. }) {
        return Ok(report);
    }
    let last = head.as_ref().map(|h| h.0).unwrap_or(0);
    for checkpoint in store.checkpoints().await? {
        let stored = store.audit_event(checkpoint.event_id).await?;
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

/// Verifies the chain from a proven event on (`None`: from the first). The proven event must
/// still carry the hash it had; the events before it are taken as proven (a full verification
/// re-proves them). Also returns the last event's id and hash.
pub async fn verify_chain_from(
    store: &Store,
    proven: Option<(i64, String)>,
) -> StoreResult<(VerifyReport, Option<(i64, String)>)> {
    let mut checked = 0;
    if let Some((id, hash)) = &proven {
        let stored = store.audit_event(*id).await?;
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
        let page = store.audit_events_after(after, VERIFY_PAGE).await?;
        if page.is_empty() {
            return Ok((VerifyReport::Intact { events: checked }, prev));
        }
        for row in page {
            if let Err(reason) = check_link(prev.as_ref().map(|(i, h)| (*i, h.as_str())), &row) {
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
}

/// Verifies the chain from the last proven event on (incremental), records the result, and
/// reports it with the last full verification and the latest signed checkpoint.
pub async fn chain_state(store: &Store) -> StoreResult<ChainState> {
    let full = store.verification("full").await?;
    let incremental = store.verification("incremental").await?;
    let proven = [full.as_ref(), incremental.as_ref()]
        .into_iter()
        .flatten()
        .filter(|v| v.intact)
        .max_by_key(|v| v.up_to_id)
        .map(|v| (v.up_to_id, v.up_to_hash.clone()));
    let started = std::time::Instant::now();
    let (report, head) = verify_chain_from(store, proven).await?;
    let (events, broken_at) = match report {
        VerifyReport::Intact { events } => (events, None),
        VerifyReport::Broken {
            event_id, checked, ..
        } => (checked, Some(event_id)),
    };
    let (up_to_id, up_to_hash) = head.unwrap_or((0, String::new()));
    store
        .record_verification(&VerificationRow {
            kind: "incremental".into(),
            up_to_id,
            up_to_hash,
            intact: broken_at.is_none(),
            broken_at,
            verified_at: crate::store::now_ms(),
            duration_ms: started.elapsed().as_millis() as i64,
        })
        .await?;
    let checkpoint = store
        .latest_checkpoint()
        .await?
        .map(|c| (c.event_id, dutch_date_time(c.signed_at)));
    Ok(ChainState {
        events,
        broken_at,
        last_full: full.as_ref().map(|f| dutch_date_time(f.verified_at)),
        last_full_events: full.map(|f| f.up_to_id),
        checkpoint,
    })
}

/// A full verification from the first event (the command line and the daily task), recorded
/// as the last full verification.
pub async fn verify_full(store: &Store) -> StoreResult<VerifyReport> {
    let started = std::time::Instant::now();
    let report = verify_chain(store).await?;
    let (intact, broken_at, up_to_id) = match &report {
        VerifyReport::Intact { events } => (true, None, *events),
        VerifyReport::Broken {
            event_id, checked, ..
        } => (false, Some(*event_id), *checked),
    };
    let up_to_hash = match store.audit_event(up_to_id).await? {
        Some(e) => e.hash,
        None => String::new(),
    };
    store
        .record_verification(&VerificationRow {
            kind: "full".into(),
            up_to_id,
            up_to_hash,
            intact,
            broken_at,
            verified_at: crate::store::now_ms(),
            duration_ms: started.elapsed().as_millis() as i64,
        })
        .await?;
    Ok(report)
}

/// Checks a set of checkpoints (the stored ones, or an export kept elsewhere) against the log:
/// a valid signature (`signature_valid`, the key holder's check), and the named event still
/// carries the signed hash. The first problem found, if any.
pub async fn check_checkpoints(
    store: &Store,
    checkpoints: &[CheckpointRow],
    signature_valid: impl Fn(&CheckpointRow) -> bool,
) -> StoreResult<Option<String>> {
    for checkpoint in checkpoints {
        if !signature_valid(checkpoint) {
            return Ok(Some(format!(
                "checkpoint of event {} has no valid signature",
                checkpoint.event_id
            )));
        }
        match store.audit_event(checkpoint.event_id).await? {
            None => {
                return Ok(Some(format!(
                    "event {} of a signed checkpoint is missing (deleted events)",
                    checkpoint.event_id
                )))
            }
            Some(e) if e.hash != checkpoint.hash => {
                return Ok(Some(format!(
                    "event {} differs from its signed checkpoint (rewritten history)",
                    checkpoint.event_id
                )))
            }
            Some(_) => {}
        }
    }
    Ok(None)
}

/// Who signs a checkpoint: the server, which holds the key outside the database (whoever can
/// rewrite the log must not also be able to re-sign it).
pub trait CheckpointSigner {
    type Error: From<crate::StoreError>;

    /// The id of the signing key, stored beside each checkpoint.
    fn key_id(&self) -> &str;

    /// The signature (a compact JWS) over exactly these fields.
    fn sign(&self, event_id: i64, hash: &str, signed_at: i64) -> Result<String, Self::Error>;
}

/// Signs the current chain head unless it is already signed. `None` for an empty log. Checks
/// nothing: use [`sign_if_intact`] unless the chain was verified just before.
pub async fn sign_head<S: CheckpointSigner>(
    store: &Store,
    signer: &S,
) -> Result<Option<CheckpointRow>, S::Error> {
    let Some((event_id, hash)) = store.chain_head().await? else {
        return Ok(None);
    };
    if let Some(latest) = store.latest_checkpoint().await? {
        if latest.event_id == event_id {
            return Ok(Some(latest));
        }
    }
    let signed_at = crate::store::now_ms();
    let jws = signer.sign(event_id, &hash, signed_at)?;
    let row = CheckpointRow {
        event_id,
        hash,
        signed_at,
        key_id: signer.key_id().to_owned(),
        jws,
    };
    store.add_checkpoint(&row).await?;
    Ok(Some(row))
}

/// How far the chain is verified before a checkpoint is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// From the last proven event on ([`chain_state`]).
    Incremental,
    /// From the first event ([`verify_full`]).
    Full,
}

/// What [`sign_if_intact`] did.
#[derive(Debug)]
pub enum Signing {
    /// The head is signed (now, or already before).
    Signed(CheckpointRow),
    /// The log is empty: nothing to sign.
    EmptyLog,
    /// The chain is broken at this event: nothing signed.
    Broken { event_id: i64 },
    /// The verification could not run: nothing signed.
    Unverified(crate::StoreError),
}

/// Verifies the chain, then signs its head only when it is intact: a signature over a broken
/// chain would certify the tampering.
pub async fn sign_if_intact<S: CheckpointSigner>(
    store: &Store,
    signer: &S,
    verification: Verification,
) -> Result<Signing, S::Error> {
    let broken_at = match verification {
        Verification::Full => match verify_full(store).await {
            Ok(VerifyReport::Intact { .. }) => None,
            Ok(VerifyReport::Broken { event_id, .. }) => Some(event_id),
            Err(e) => return Ok(Signing::Unverified(e)),
        },
        Verification::Incremental => match chain_state(store).await {
            Ok(state) => state.broken_at,
            Err(e) => return Ok(Signing::Unverified(e)),
        },
    };
    if let Some(event_id) = broken_at {
        return Ok(Signing::Broken { event_id });
    }
    Ok(match sign_head(store, signer).await? {
        Some(row) => Signing::Signed(row),
        None => Signing::EmptyLog,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::audit_log::first_event as event;

    #[test]
    fn a_fresh_event_links_to_genesis() {
        assert_eq!(check_link(None, &event()), Ok(()));
    }

    #[test]
    fn changing_any_column_changes_the_hash() {
        let original = event();
        let mutations: Vec<fn(&mut AuditRow)> = vec![
            |r| r.occurred_at += 1,
            |r| r.action = "read".into(),
            |r| r.outcome = "denied".into(),
            |r| r.user_id = Some("x".into()),
            |r| r.user_name = Some("x".into()),
            |r| r.user_role = Some("x".into()),
            |r| r.organisation_id = Some("x".into()),
            |r| r.on_behalf_of = Some("x".into()),
            |r| r.client_id = Some("x".into()),
            |r| r.bsn = Some("x".into()),
            |r| r.source_id = Some("x".into()),
            |r| r.ground = Some("x".into()),
            |r| r.grant_id = Some("x".into()),
            |r| r.detail = "{\"a\":1}".into(),
            |r| r.ip = Some("x".into()),
            |r| r.user_agent = Some("x".into()),
            |r| r.request_id = Some("x".into()),
        ];
        for mutate in mutations {
            let mut row = original.clone();
            mutate(&mut row);
            assert_eq!(check_link(None, &row), Err(ChainBreak::Hash));
        }
    }
}

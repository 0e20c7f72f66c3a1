//! The access log (NEN 7513, DESIGN section 7) as the services see it. Events are built with
//! the types below and written by the store in the transaction of the change they record
//! (`store::audit_log`, which also documents the hash chain); the chain is checked by
//! `crate::integrity`.

pub use super::store::audit_log::{chain_hash, Actor, NewAuditEvent, RequestMeta, GENESIS_HASH};
use domain::audit_flag::FlagHit;

/// Parses stored flags (an unreadable value shows as no flags rather than failing a page).
pub fn parse_flags(json: Option<&str>) -> Vec<FlagHit> {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

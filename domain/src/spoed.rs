//! The follow-up of a spoed access (issue 14, item 7; seed document 002: "informeer achteraf"):
//! what the holder's notice and the sharing organisations' start-page list show. Plain view
//! models, filled in by `backend::spoed`; dates are already in Dutch format.

use crate::{ClientId, GrantId};
use serde::{Deserialize, Serialize};

/// How long after its creation a spoed grant is followed up (the notice to its holder and the
/// list at the sharing organisations), in days.
pub const FOLLOW_UP_DAYS: i64 = 30;

/// [`FOLLOW_UP_DAYS`] in milliseconds, as grants' creation times are kept.
pub const FOLLOW_UP_MS: i64 = FOLLOW_UP_DAYS * 24 * 60 * 60 * 1000;

/// The standing notice on the client page for the holder of a spoed grant who viewed her and
/// has not yet marked "client informed".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoedNotice {
    pub grant_id: GrantId,
    /// When she first viewed the client under the grant (`dd-mm-jjjj uu:mm`, Amsterdam).
    pub viewed_at: String,
}

/// One spoed access on the start page of a sharing organisation's users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoedItem {
    pub grant_id: GrantId,
    pub client_id: ClientId,
    pub client_name: String,
    /// `dd-mm-jjjj`.
    pub client_birth_date: String,
    /// Who: display name, role (label) and organisation of the grant's holder.
    pub holder_name: String,
    pub holder_role: String,
    pub holder_organisation: String,
    /// When she first viewed the client under the grant (`dd-mm-jjjj uu:mm`, Amsterdam).
    pub viewed_at: String,
    /// The reason she gave with her request.
    pub reason: String,
}

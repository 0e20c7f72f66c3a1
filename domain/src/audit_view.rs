//! What the privacy officer's pages show (view models shared by server and browser).

use super::FlagHit;
use serde::{Deserialize, Serialize};

/// The officer's filters as typed (the form's fields); the backend validates them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewFilter {
    /// First day, `YYYY-MM-DD` (local), inclusive.
    pub from: String,
    /// Last day, `YYYY-MM-DD` (local), inclusive.
    pub until: String,
    pub bsn: String,
    /// Login name.
    pub user: String,
    /// Organisation id.
    pub organisation: String,
    /// Action key.
    pub action: String,
    pub ground: String,
    /// Only unreviewed flagged events.
    pub flagged: bool,
}

impl ReviewFilter {
    pub fn is_empty(&self) -> bool {
        *self == ReviewFilter::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewNote {
    pub by: String,
    pub at: String,
    pub note: String,
}

/// One row of the review table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    pub id: i64,
    /// Amsterdam time as a Dutch reader writes it, `DD-MM-YYYY HH:MM:SS`.
    pub at: String,
    pub action: String,
    pub action_label: String,
    pub outcome: String,
    /// Display name (or the login name when the user is unknown).
    pub user: Option<String>,
    pub user_name: Option<String>,
    pub role: Option<String>,
    pub organisation: Option<String>,
    pub bsn: Option<String>,
    pub source: Option<String>,
    /// The ground's key, and its label for display.
    pub ground: Option<String>,
    pub ground_label: Option<String>,
    /// A short reading of the detail JSON (categories, reasons, filters).
    pub detail: String,
    pub flags: Vec<FlagHit>,
    pub review: Option<ReviewNote>,
}

/// The state of the log's hash chain as `/audit` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainState {
    pub events: i64,
    /// The first broken event, if any.
    pub broken_at: Option<i64>,
    /// When the whole chain was last verified from the first event (local time).
    pub last_full: Option<String>,
    pub last_full_events: Option<i64>,
    /// The latest signed checkpoint: event id and local time of signing.
    pub checkpoint: Option<(i64, String)>,
}

/// One page of the review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewPage {
    pub filter: ReviewFilter,
    pub events: Vec<EventView>,
    /// The keyset of the next (older) page, when there may be one.
    pub next: Option<String>,
    pub chain: ChainState,
    pub grants: Vec<OrganisationGrant>,
}

/// An active grant of a user of the officer's organisation (revocable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationGrant {
    pub id: crate::GrantId,
    pub user: String,
    pub bsn: String,
    pub ground: String,
    pub created: String,
    pub expires: String,
}

/// One line of a client's overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverviewLine {
    pub at: String,
    pub what: String,
    pub organisation: String,
    pub role: String,
    pub name: String,
    pub categories: String,
    pub ground: String,
    pub emergency: bool,
}

/// The printable overview for a client (right of access).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientOverview {
    pub bsn: String,
    pub from: String,
    pub until: String,
    pub generated_at: String,
    pub generated_by: String,
    pub organisation: String,
    pub lines: Vec<OverviewLine>,
    /// The list reached its maximum length (ask for a shorter period).
    pub truncated: bool,
}

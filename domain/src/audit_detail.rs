//! The typed detail of an access-log event, one variant per [`AuditAction`].
//!
//! The detail is stored as JSON text in `audit_events.detail` and is part of the chain hash, so
//! its bytes must stay exactly what the log has always written: a JSON object whose keys are
//! sorted (serde_json's map without `preserve_order`), with absent keys left out and `null`
//! where a value is unknown. [`AuditDetail::to_json`] therefore writes the variant's struct
//! *through* a `serde_json::Value`, which sorts the keys the same way; the action is its own
//! column and is not written into the detail. Reading goes the other way, by action
//! ([`AuditDetail::read`]), so an event written before the detail was typed reads back too.
//!
//! Security decisions read the typed value, never the text: the sources an event showed
//! (the officer's scope) and whether a search found the client (a flag).

use crate::{AuditAction, ClientId, SourceId, UserId};
use serde::{Deserialize, Serialize};

/// The detail of one event. Actions that never carry one have a unit variant (`{}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditDetail {
    Login(Login),
    LoginFailed(LoginFailed),
    Logout,
    PasswordChanged,
    Search(Search),
    Read(Read),
    /// A print of the client page records what a read records.
    Print(Read),
    AccessRequest(AccessRequest),
    AccessDenied(Refusal),
    GrantEnded,
    GrantRevoked(GrantRevoked),
    ShareReceived(ShareCounts),
    ShareRefused(ShareRefused),
    TokenRefused(TokenRefused),
    ConsentWithdrawn,
    ConsentRestored,
    LogRead(LogFilters),
    Export(LogFilters),
    ClientOverview(ClientOverview),
    FlagReviewed(FlagReviewed),
    OrganisationAdded(OrganisationAdded),
    UserAdded(UserAdded),
    UserDisabled(UserNamed),
    SourceAdded(KeyNamed),
    KeyAdded(KeyNamed),
    KeyRevoked(KeyNamed),
    DemoSeeded,
    LoginLocked(LoginLocked),
    LoginUnlocked(UserNamed),
    RefusalsSummary(RefusalsSummary),
    SecondFactorEnrolled(SecondFactorEnrolled),
    SecondFactorFailed(SecondFactorFailed),
    SecondFactorReset(UserNamed),
    RecoveryCodeUsed(RecoveryCodes),
    RecoveryCodesRenewed(RecoveryCodes),
    PasskeyAdded(PasskeyNamed),
    PasskeyRemoved(PasskeyNamed),
    CodeMapChanged(CodeMapChanged),
    RegistryAdded(KeyNamed),
    ConsentProfileChanged(ConsentProfileChanged),
    RetentionPurge(RetentionPurge),
    SpoedInformed(SpoedFollowUp),
    SpoedSeen(SpoedFollowUp),
}

/// A login: which second factor completed it (`totp`, `recovery_code`, `passkey`, or
/// `password_only` where no second factor is required and she has none). Logins logged before
/// the second factor have `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub factor: String,
}

/// A second factor set up: the kind (`totp`) and how many recovery codes came with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorEnrolled {
    pub factor: String,
    pub recovery_codes: i64,
}

/// A wrong code: where (`login`, `enrolment`, `account`), the wrong codes in this step, the
/// account's run of failures toward the lock-out, and whether she was sent back to her password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorFailed {
    pub at: String,
    pub failures: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_to_password: Option<bool>,
}

/// Recovery codes: how many unused ones she has after the event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    pub remaining: i64,
}

/// The passkey an event is about (its id; the name she gave it stays out of the log).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyNamed {
    pub passkey_id: String,
}

/// A failed login (at the login form, or the current password at a password change).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFailed {
    /// `password_change` when the current password was wrong at a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    /// Written by the load generator's synthetic history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures_for_name: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures_from_address: Option<i64>,
}

/// A search by BSN and birth date: refused input, or its outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Search {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_fields: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The sources whose data the result showed (only when found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<SourceId>>,
    /// The version of the client's consent profile the search applied (absent: none held).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_profile: Option<i64>,
}

/// A view of data: a client's record, or the list of one's clients (`view: my_clients`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Read {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ids: Option<Vec<ClientId>>,
    #[serde(default)]
    pub categories: Vec<String>,
    /// The sources whose data the view showed.
    #[serde(default)]
    pub sources: Vec<SourceId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<i64>,
    /// The version of the client's consent profile the view applied (absent: none held).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_profile: Option<i64>,
}

impl Read {
    /// The read of a list of clients' names and birth dates (`view`: "my_clients",
    /// "spoed_list"): the clients once each, in list order, and the sources the names came
    /// from, so those organisations' officers see it (DESIGN flow 7).
    pub fn of_name_list<'a>(
        view: &str,
        client_ids: impl IntoIterator<Item = &'a ClientId>,
        sources: impl IntoIterator<Item = &'a SourceId>,
    ) -> Self {
        let mut clients: Vec<ClientId> = Vec::new();
        for id in client_ids {
            if !clients.contains(id) {
                clients.push(id.clone());
            }
        }
        let mut sources: Vec<SourceId> = sources.into_iter().cloned().collect();
        sources.sort();
        sources.dedup();
        Read {
            view: Some(view.to_owned()),
            clients: Some(clients.len() as i64),
            client_ids: Some(clients),
            categories: vec![crate::Category::Identity.as_str().to_owned()],
            sources,
            ..Default::default()
        }
    }
}

/// An access request: refused input, a new grant, or a grant already held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_fields: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_known: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attested: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub already_granted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_ground: Option<crate::grant::Ground>,
}

/// A refusal with only a reason code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRevoked {
    pub reason: String,
    /// The user id of the grant's holder.
    pub holder: UserId,
}

/// What a received share held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareCounts {
    pub pregnancies: i64,
    pub entries: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRefused {
    pub reason: String,
    /// The refused fields (`reason: invalid_input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRefused {
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_issuer: Option<String>,
}

/// The officer's filters of a log read or export (the BSN is in its own column).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFilters {
    pub filters: ReviewFilters,
}

/// Every filter, `null` when not set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewFilters {
    pub from: Option<i64>,
    pub until: Option<i64>,
    pub user: Option<String>,
    pub organisation: Option<String>,
    pub action: Option<String>,
    pub ground: Option<String>,
    pub flagged_only: bool,
    /// Whether a client (BSN) was filtered on.
    pub client: bool,
}

/// A client overview: its period, or why it was refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientOverview {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagReviewed {
    pub event_id: i64,
    pub note: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationAdded {
    pub organisation: String,
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAdded {
    pub user_id: UserId,
    pub username: String,
    pub role: String,
}

/// The user a command-line event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserNamed {
    pub user_id: UserId,
    pub username: String,
}

/// A row added to the code map of the FHIR intake (`ooievaar codes add`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeMapChanged {
    pub system: String,
    pub code: String,
    pub category: String,
    pub sensitivity: String,
}

/// A consent registry's new profile for a client (DESIGN 8.3): the kind of choice and how many
/// organisations and kinds it lists, never the list itself (it would tell every officer where
/// else the client is treated).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentProfileChanged {
    pub registry_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<String>,
    /// The profile's version for this client (1 for her first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisations: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_kinds: Option<i64>,
    /// A refused profile (outcome `denied`): the fields named, or the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_fields: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One source's copy of one client purged after its retention term: counts only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPurge {
    pub entries: i64,
    pub pregnancies: i64,
    pub term_years: i64,
    /// The date the purge was run for (`retention run --as-of`, or today).
    pub as_of: String,
    /// Whether the client's consent profile went with her last share.
    pub consent_profile_purged: bool,
}

/// The follow-up of a spoed access (issue 14, item 7): the holder informed the client
/// afterwards (`spoed_informed`), or a user of a sharing organisation saw it (`spoed_seen`).
/// The grant, client and ground are columns of the event; a refused attempt names its reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoedFollowUp {
    /// `spoed_seen`: the organisation the item is now gone for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// When the spoed grant was created (UTC ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_at: Option<i64>,
    /// Refused (outcome `denied`): why, e.g. `not_own_spoed_grant`, `not_sharing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The source key a command-line event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyNamed {
    pub key_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginLocked {
    pub failures: i64,
    pub locked_until: i64,
    pub minutes: i64,
}

/// The refusals of one (address, kind, reason) in one minute not logged on their own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalsSummary {
    pub refused: String,
    pub reason: String,
    pub minute_start_ms: i64,
    pub count: i64,
}

/// Writes the inner struct (or `{}`) as the JSON object; the variant itself is the action.
impl Serialize for AuditDetail {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use AuditDetail as D;
        match self {
            D::Logout
            | D::PasswordChanged
            | D::GrantEnded
            | D::ConsentWithdrawn
            | D::ConsentRestored
            | D::DemoSeeded => serde_json::Map::new().serialize(s),
            D::Login(d) => d.serialize(s),
            D::LoginFailed(d) => d.serialize(s),
            D::Search(d) => d.serialize(s),
            D::Read(d) | D::Print(d) => d.serialize(s),
            D::AccessRequest(d) => d.serialize(s),
            D::AccessDenied(d) => d.serialize(s),
            D::GrantRevoked(d) => d.serialize(s),
            D::ShareReceived(d) => d.serialize(s),
            D::ShareRefused(d) => d.serialize(s),
            D::TokenRefused(d) => d.serialize(s),
            D::LogRead(d) | D::Export(d) => d.serialize(s),
            D::ClientOverview(d) => d.serialize(s),
            D::FlagReviewed(d) => d.serialize(s),
            D::OrganisationAdded(d) => d.serialize(s),
            D::UserAdded(d) => d.serialize(s),
            D::UserDisabled(d) | D::LoginUnlocked(d) => d.serialize(s),
            D::SourceAdded(d) | D::KeyAdded(d) | D::KeyRevoked(d) => d.serialize(s),
            D::LoginLocked(d) => d.serialize(s),
            D::RefusalsSummary(d) => d.serialize(s),
            D::SecondFactorEnrolled(d) => d.serialize(s),
            D::SecondFactorFailed(d) => d.serialize(s),
            D::SecondFactorReset(d) => d.serialize(s),
            D::RecoveryCodeUsed(d) | D::RecoveryCodesRenewed(d) => d.serialize(s),
            D::PasskeyAdded(d) | D::PasskeyRemoved(d) => d.serialize(s),
            D::CodeMapChanged(d) => d.serialize(s),
            D::RegistryAdded(d) => d.serialize(s),
            D::ConsentProfileChanged(d) => d.serialize(s),
            D::RetentionPurge(d) => d.serialize(s),
            D::SpoedInformed(d) | D::SpoedSeen(d) => d.serialize(s),
        }
    }
}

impl AuditDetail {
    /// The action this detail belongs to.
    pub fn action(&self) -> AuditAction {
        use AuditAction as A;
        use AuditDetail as D;
        match self {
            D::Login(_) => A::Login,
            D::LoginFailed(_) => A::LoginFailed,
            D::Logout => A::Logout,
            D::PasswordChanged => A::PasswordChanged,
            D::Search(_) => A::Search,
            D::Read(_) => A::Read,
            D::Print(_) => A::Print,
            D::AccessRequest(_) => A::AccessRequest,
            D::AccessDenied(_) => A::AccessDenied,
            D::GrantEnded => A::GrantEnded,
            D::GrantRevoked(_) => A::GrantRevoked,
            D::ShareReceived(_) => A::ShareReceived,
            D::ShareRefused(_) => A::ShareRefused,
            D::TokenRefused(_) => A::TokenRefused,
            D::ConsentWithdrawn => A::ConsentWithdrawn,
            D::ConsentRestored => A::ConsentRestored,
            D::LogRead(_) => A::LogRead,
            D::Export(_) => A::Export,
            D::ClientOverview(_) => A::ClientOverview,
            D::FlagReviewed(_) => A::FlagReviewed,
            D::OrganisationAdded(_) => A::OrganisationAdded,
            D::UserAdded(_) => A::UserAdded,
            D::UserDisabled(_) => A::UserDisabled,
            D::SourceAdded(_) => A::SourceAdded,
            D::KeyAdded(_) => A::KeyAdded,
            D::KeyRevoked(_) => A::KeyRevoked,
            D::DemoSeeded => A::DemoSeeded,
            D::LoginLocked(_) => A::LoginLocked,
            D::LoginUnlocked(_) => A::LoginUnlocked,
            D::RefusalsSummary(_) => A::RefusalsSummary,
            D::SecondFactorEnrolled(_) => A::SecondFactorEnrolled,
            D::SecondFactorFailed(_) => A::SecondFactorFailed,
            D::SecondFactorReset(_) => A::SecondFactorReset,
            D::RecoveryCodeUsed(_) => A::RecoveryCodeUsed,
            D::RecoveryCodesRenewed(_) => A::RecoveryCodesRenewed,
            D::PasskeyAdded(_) => A::PasskeyAdded,
            D::PasskeyRemoved(_) => A::PasskeyRemoved,
            D::CodeMapChanged(_) => A::CodeMapChanged,
            D::RegistryAdded(_) => A::RegistryAdded,
            D::ConsentProfileChanged(_) => A::ConsentProfileChanged,
            D::RetentionPurge(_) => A::RetentionPurge,
            D::SpoedInformed(_) => A::SpoedInformed,
            D::SpoedSeen(_) => A::SpoedSeen,
        }
    }

    /// The stored text of an event's detail (`None`: no detail, `{}`), byte for byte what the
    /// log wrote when the detail was free JSON: through a `Value`, whose map sorts the keys.
    pub fn to_json(detail: Option<&AuditDetail>) -> String {
        match detail {
            // Plain structs of strings, numbers, booleans and lists: nothing here can fail to
            // become a JSON value (no maps with non-string keys, no custom errors).
            Some(d) => serde_json::to_value(d)
                .expect("an audit detail is plain data")
                .to_string(),
            None => "{}".to_owned(),
        }
    }

    /// Reads a stored detail as the variant of `action`. `Ok(None)` for `{}` of an action
    /// that has fields (an event written without a detail).
    pub fn read(action: AuditAction, json: &str) -> Result<Option<Self>, serde_json::Error> {
        use AuditAction as A;
        use AuditDetail as D;
        let value: serde_json::Value = serde_json::from_str(json)?;
        let unit = |d: D| -> Result<Option<D>, serde_json::Error> {
            match &value {
                serde_json::Value::Object(map) if map.is_empty() => Ok(Some(d)),
                _ => Err(serde::de::Error::custom(format!(
                    "{} carries no detail",
                    action.as_str()
                ))),
            }
        };
        if let (serde_json::Value::Object(map), false) = (&value, is_unit(action)) {
            if map.is_empty() {
                return Ok(None);
            }
        }
        fn de<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> serde_json::Result<T> {
            serde_json::from_value(v)
        }
        let v = value.clone();
        Ok(Some(match action {
            A::Logout => return unit(D::Logout),
            A::PasswordChanged => return unit(D::PasswordChanged),
            A::GrantEnded => return unit(D::GrantEnded),
            A::ConsentWithdrawn => return unit(D::ConsentWithdrawn),
            A::ConsentRestored => return unit(D::ConsentRestored),
            A::DemoSeeded => return unit(D::DemoSeeded),
            A::Login => D::Login(de(v)?),
            A::LoginFailed => D::LoginFailed(de(v)?),
            A::Search => D::Search(de(v)?),
            A::Read => D::Read(de(v)?),
            A::AccessRequest => D::AccessRequest(de(v)?),
            A::AccessDenied => D::AccessDenied(de(v)?),
            A::GrantRevoked => D::GrantRevoked(de(v)?),
            A::ShareReceived => D::ShareReceived(de(v)?),
            A::ShareRefused => D::ShareRefused(de(v)?),
            A::TokenRefused => D::TokenRefused(de(v)?),
            A::LogRead => D::LogRead(de(v)?),
            A::Export => D::Export(de(v)?),
            A::ClientOverview => D::ClientOverview(de(v)?),
            A::FlagReviewed => D::FlagReviewed(de(v)?),
            A::OrganisationAdded => D::OrganisationAdded(de(v)?),
            A::UserAdded => D::UserAdded(de(v)?),
            A::UserDisabled => D::UserDisabled(de(v)?),
            A::SourceAdded => D::SourceAdded(de(v)?),
            A::KeyAdded => D::KeyAdded(de(v)?),
            A::KeyRevoked => D::KeyRevoked(de(v)?),
            A::LoginLocked => D::LoginLocked(de(v)?),
            A::LoginUnlocked => D::LoginUnlocked(de(v)?),
            A::RefusalsSummary => D::RefusalsSummary(de(v)?),
            A::SecondFactorEnrolled => D::SecondFactorEnrolled(de(v)?),
            A::SecondFactorFailed => D::SecondFactorFailed(de(v)?),
            A::SecondFactorReset => D::SecondFactorReset(de(v)?),
            A::RecoveryCodeUsed => D::RecoveryCodeUsed(de(v)?),
            A::RecoveryCodesRenewed => D::RecoveryCodesRenewed(de(v)?),
            A::PasskeyAdded => D::PasskeyAdded(de(v)?),
            A::PasskeyRemoved => D::PasskeyRemoved(de(v)?),
            A::CodeMapChanged => D::CodeMapChanged(de(v)?),
            A::RegistryAdded => D::RegistryAdded(de(v)?),
            A::ConsentProfileChanged => D::ConsentProfileChanged(de(v)?),
            A::RetentionPurge => D::RetentionPurge(de(v)?),
            A::Print => D::Print(de(v)?),
            A::SpoedInformed => D::SpoedInformed(de(v)?),
            A::SpoedSeen => D::SpoedSeen(de(v)?),
        }))
    }

    /// The sources whose data the event showed (a view, a successful search): their
    /// organisations' officers may review it (DESIGN flow 7).
    pub fn shown_sources(&self) -> &[SourceId] {
        match self {
            AuditDetail::Read(r) => &r.sources,
            AuditDetail::Print(r) => &r.sources,
            AuditDetail::Search(s) => s.sources.as_deref().unwrap_or_default(),
            _ => &[],
        }
    }

    /// Whether a search found the client (`None`: not a search, or refused input).
    pub fn search_found(&self) -> Option<bool> {
        match self {
            AuditDetail::Search(s) => s.found,
            _ => None,
        }
    }
}

/// Actions whose detail is always `{}`.
fn is_unit(action: AuditAction) -> bool {
    use AuditAction as A;
    matches!(
        action,
        A::Logout
            | A::PasswordChanged
            | A::GrantEnded
            | A::ConsentWithdrawn
            | A::ConsentRestored
            | A::DemoSeeded
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each shape the log has written, as the free JSON wrote it, reads back as its variant
    /// and writes the same bytes again.
    #[test]
    fn every_shape_the_log_wrote_round_trips_byte_for_byte() {
        let cases: &[(AuditAction, serde_json::Value)] = &[
            (AuditAction::Logout, serde_json::json!({})),
            (AuditAction::Login, serde_json::json!({ "factor": "totp" })),
            (
                AuditAction::SecondFactorFailed,
                serde_json::json!({ "at": "login", "failures": 5, "consecutive_failures": 7, "back_to_password": true }),
            ),
            (
                AuditAction::SecondFactorEnrolled,
                serde_json::json!({ "factor": "totp", "recovery_codes": 10 }),
            ),
            (
                AuditAction::RecoveryCodeUsed,
                serde_json::json!({ "remaining": 9 }),
            ),
            (
                AuditAction::PasskeyRemoved,
                serde_json::json!({ "passkey_id": "p" }),
            ),
            (
                AuditAction::CodeMapChanged,
                serde_json::json!({ "system": "http://loinc.org", "code": "2093-3", "category": "lab_screening", "sensitivity": "normal" }),
            ),
            (
                AuditAction::LoginFailed,
                serde_json::json!({ "reason": "wrong_password", "consecutive_failures": 3 }),
            ),
            (
                AuditAction::LoginFailed,
                serde_json::json!({ "reason": "wrong_password", "consecutive_failures": 10, "locked": true }),
            ),
            (
                AuditAction::LoginFailed,
                serde_json::json!({ "at": "password_change", "reason": "locked" }),
            ),
            (
                AuditAction::LoginFailed,
                serde_json::json!({ "failures_for_name": 1, "failures_from_address": 1 }),
            ),
            (
                AuditAction::Search,
                serde_json::json!({ "refused_fields": ["bsn"] }),
            ),
            (
                AuditAction::Search,
                serde_json::json!({ "found": true, "outcome": "found", "sources": ["a", "b"] }),
            ),
            (
                AuditAction::Search,
                serde_json::json!({ "found": false, "outcome": "unknown_bsn" }),
            ),
            (
                AuditAction::Read,
                serde_json::json!({ "categories": ["identity"], "sources": ["a"], "entries": 4 }),
            ),
            (
                AuditAction::Read,
                serde_json::json!({
                    "view": "my_clients", "clients": 2, "client_ids": ["x", "y"],
                    "categories": ["identity"], "sources": [],
                }),
            ),
            (
                AuditAction::AccessRequest,
                serde_json::json!({ "refused_fields": [], "client_known": false }),
            ),
            (
                AuditAction::AccessRequest,
                serde_json::json!({
                    "reason": "r", "attested": true, "expires_at": 5, "emergency": false,
                }),
            ),
            (
                AuditAction::AccessRequest,
                serde_json::json!({
                    "reason": "r", "attested": true, "emergency": true, "already_granted": true,
                    "granted_ground": "spoed", "expires_at": 5,
                }),
            ),
            (
                AuditAction::AccessDenied,
                serde_json::json!({ "reason": "no_valid_grant" }),
            ),
            (
                AuditAction::GrantRevoked,
                serde_json::json!({ "reason": "r", "holder": "u" }),
            ),
            (
                AuditAction::ShareReceived,
                serde_json::json!({ "pregnancies": 1, "entries": 7 }),
            ),
            (
                AuditAction::ShareRefused,
                serde_json::json!({ "reason": "rate_limited" }),
            ),
            (
                AuditAction::ShareRefused,
                serde_json::json!({ "reason": "invalid_input", "fields": ["bsn"] }),
            ),
            (
                AuditAction::TokenRefused,
                serde_json::json!({ "reason": "bad_signature", "claimed_issuer": "x" }),
            ),
            (
                AuditAction::LogRead,
                serde_json::json!({ "filters": {
                    "from": 1, "until": null, "user": null, "organisation": "o", "action": null,
                    "ground": null, "flagged_only": true, "client": false,
                }}),
            ),
            (
                AuditAction::ClientOverview,
                serde_json::json!({ "reason": "organisation_neither_shares_nor_treats" }),
            ),
            (
                AuditAction::ClientOverview,
                serde_json::json!({ "from": "2026-01-01", "until": "2026-02-01" }),
            ),
            (
                AuditAction::FlagReviewed,
                serde_json::json!({ "event_id": 4, "note": "n" }),
            ),
            (
                AuditAction::OrganisationAdded,
                serde_json::json!({ "organisation": "o", "kind": "ziekenhuis" }),
            ),
            (
                AuditAction::UserAdded,
                serde_json::json!({ "user_id": "u", "username": "n", "role": "midwife" }),
            ),
            (
                AuditAction::UserDisabled,
                serde_json::json!({ "user_id": "u", "username": "n" }),
            ),
            (AuditAction::KeyAdded, serde_json::json!({ "key_id": "k" })),
            (
                AuditAction::Print,
                serde_json::json!({ "categories": ["identity"], "sources": ["a"], "entries": 2 }),
            ),
            (
                AuditAction::SpoedInformed,
                serde_json::json!({ "granted_at": 5 }),
            ),
            (
                AuditAction::SpoedSeen,
                serde_json::json!({ "organisation": "o", "granted_at": 5 }),
            ),
            (
                AuditAction::SpoedSeen,
                serde_json::json!({ "reason": "not_sharing" }),
            ),
            (
                AuditAction::LoginLocked,
                serde_json::json!({ "failures": 10, "locked_until": 9, "minutes": 15 }),
            ),
            (
                AuditAction::RefusalsSummary,
                serde_json::json!({
                    "refused": "login", "reason": "r", "minute_start_ms": 60000, "count": 3,
                }),
            ),
        ];
        for (action, json) in cases {
            let stored = json.to_string();
            let typed = AuditDetail::read(*action, &stored).expect(&stored);
            assert_eq!(AuditDetail::to_json(typed.as_ref()), stored, "{action:?}");
            if let Some(t) = typed {
                assert_eq!(t.action(), *action);
            }
        }
    }

    #[test]
    fn an_empty_detail_of_an_action_with_fields_reads_as_none() {
        assert_eq!(AuditDetail::read(AuditAction::Search, "{}").unwrap(), None);
        // A login logged before the second factor.
        assert_eq!(AuditDetail::read(AuditAction::Login, "{}").unwrap(), None);
        assert_eq!(AuditDetail::to_json(None), "{}");
    }

    #[test]
    fn scope_and_search_outcome_come_from_the_typed_value() {
        let found = AuditDetail::read(
            AuditAction::Search,
            r#"{"found":true,"outcome":"found","sources":["s1"]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(found.shown_sources(), [SourceId::from("s1")]);
        assert_eq!(found.search_found(), Some(true));
        let refused = AuditDetail::read(AuditAction::Search, r#"{"refused_fields":[]}"#)
            .unwrap()
            .unwrap();
        assert_eq!(refused.search_found(), None);
        assert!(refused.shown_sources().is_empty());
    }
}

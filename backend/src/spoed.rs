//! The follow-up of a spoed access (issue 14, item 7; seed document 002: "informeer
//! achteraf"). Its rules are enforced here, once:
//! - the holder of a spoed grant created in the last [`FOLLOW_UP_DAYS`] days (valid or
//!   expired) who viewed the client under it sees a standing notice on the client page until
//!   she marks "client informed"; the mark is logged `spoed_informed` and works only for her
//!   own such grant (anything else: `NotFound`, logged `denied`, nothing changed);
//! - the clinical users and the privacy officer of every organisation that shares the client
//!   visibly (consent active and allowed by her profile) see those spoed accesses on their
//!   start page until one of them marks it seen (`spoed_seen`): then it is gone for her
//!   organisation and stays for the other sharing ones. The list shows client names and birth
//!   dates, so each non-empty list shown is an audited `read` (`view: spoed_list`) listing the
//!   sources the names came from. Only a user of a sharing organisation can mark it seen.
//! - both marks are written with their event in one transaction under the chain lock
//!   (`store::spoed`); the events carry the client, so the officers of the organisations
//!   sharing her see them (`store::audit_log::scope`).

use super::audit::{NewAuditEvent, RequestMeta};
use super::clock::dutch_date_time;
use super::session::SessionUser;
use super::store::{now_ms, SpoedGrantRow, SpoedMark, SpoedNoticeRow, Store};
use domain::audit_detail::{self as detail, AuditDetail};
use domain::error::AppError;
use domain::format::iso_date;
use domain::grant::Ground;
pub use domain::spoed::FOLLOW_UP_DAYS;
use domain::spoed::{SpoedItem, SpoedNotice};
use domain::{AuditAction, ClientId, GrantId, Outcome, Role};

/// The oldest creation time of a grant still followed up.
fn since() -> i64 {
    now_ms() - domain::spoed::FOLLOW_UP_MS
}

/// Whether the role has a start-page list of spoed access: clinical roles and the privacy
/// officer (not the administrator).
pub fn sees_spoed_list(role: Role) -> bool {
    role.is_clinical() || role == Role::PrivacyOfficer
}

use super::viewing::event;

/// A grant id as typed (bounded, like a guessed client id in `access_denied`).
fn bounded(grant_id: &str) -> GrantId {
    GrantId::from(grant_id.chars().take(64).collect::<String>())
}

/// The event of a mark: its outcome, the grant and client when known, and why it was refused.
fn mark_event(
    user: &SessionUser,
    action: AuditAction,
    meta: &RequestMeta,
    typed: &GrantId,
    mark: &SpoedMark,
    organisation: Option<&str>,
) -> NewAuditEvent {
    let (outcome, grant, reason) = match mark {
        SpoedMark::Marked(g) => (Outcome::Success, Some(g), None),
        SpoedMark::Refused(g, why) => (Outcome::Denied, g.as_ref(), Some((*why).to_owned())),
    };
    let mut logged = event(user, action, outcome, meta);
    logged.grant_id = Some(typed.clone());
    logged.ground = Some(Ground::Spoed).filter(|_| grant.is_some());
    if let Some(g) = grant {
        logged.client_id = Some(g.grant.client_id.clone());
        logged.bsn = Some(g.bsn.clone());
    }
    let follow_up = detail::SpoedFollowUp {
        organisation: organisation.map(str::to_owned),
        granted_at: grant.map(|g| g.grant.created_at),
        reason,
    };
    logged.detail = Some(match action {
        AuditAction::SpoedSeen => AuditDetail::SpoedSeen(follow_up),
        _ => AuditDetail::SpoedInformed(follow_up),
    });
    logged
}

/// The notice for the client page: `Some` while the user holds a spoed grant for the client
/// (see the module header) that she has not marked "client informed". Shows no client data,
/// so reading it is not an audited read.
pub async fn notice(
    store: &Store,
    user: &SessionUser,
    client_id: &ClientId,
) -> Result<Option<SpoedNotice>, AppError> {
    if !user.role.is_clinical() {
        return Ok(None);
    }
    Ok(store
        .spoed_notice(&user.id, client_id, since())
        .await?
        .and_then(|g: SpoedGrantRow| {
            Some(notice_of(&SpoedNoticeRow {
                grant_id: g.grant.id,
                viewed_at: g.viewed_at?,
            }))
        }))
}

/// The notice as the client page shows it (the view reads it with the page's rows).
pub fn notice_of(row: &SpoedNoticeRow) -> SpoedNotice {
    SpoedNotice {
        grant_id: row.grant_id.clone(),
        viewed_at: dutch_date_time(row.viewed_at),
    }
}

/// "Gedaan: cliënt geïnformeerd": the holder marks her own spoed grant. Returns the client
/// (the page to go back to). Anything but her own recent spoed grant under which she viewed
/// the client, not yet marked: `NotFound`, logged `denied`, nothing changed.
pub async fn mark_informed(
    store: &Store,
    user: &SessionUser,
    grant_id: &str,
    meta: RequestMeta,
) -> Result<ClientId, AppError> {
    let typed = bounded(grant_id);
    if !user.role.is_clinical() {
        let mark = SpoedMark::Refused(None, "role");
        store
            .record(mark_event(
                user,
                AuditAction::SpoedInformed,
                &meta,
                &typed,
                &mark,
                None,
            ))
            .await?;
        return Err(AppError::Forbidden);
    }
    let mark = store
        .audited_spoed_informed(&typed, &user.id, since(), |mark| {
            mark_event(user, AuditAction::SpoedInformed, &meta, &typed, mark, None)
        })
        .await?;
    match mark {
        SpoedMark::Marked(g) => Ok(g.grant.client_id),
        SpoedMark::Refused(..) => Err(AppError::NotFound),
    }
}

/// "Gezien": a user of an organisation sharing the client marks a spoed access seen for her
/// organisation. Anyone else (another organisation, a withdrawn consent, an unknown or old
/// grant, the administrator): refused, logged `denied`, nothing changed.
pub async fn mark_seen(
    store: &Store,
    user: &SessionUser,
    grant_id: &str,
    meta: RequestMeta,
) -> Result<(), AppError> {
    let typed = bounded(grant_id);
    let organisation = user.organisation_id.as_str();
    if !sees_spoed_list(user.role) {
        let mark = SpoedMark::Refused(None, "role");
        store
            .record(mark_event(
                user,
                AuditAction::SpoedSeen,
                &meta,
                &typed,
                &mark,
                Some(organisation),
            ))
            .await?;
        return Err(AppError::Forbidden);
    }
    let mark = store
        .audited_spoed_seen(&typed, organisation, &user.id, since(), |mark| {
            mark_event(
                user,
                AuditAction::SpoedSeen,
                &meta,
                &typed,
                mark,
                Some(organisation),
            )
        })
        .await?;
    match mark {
        SpoedMark::Marked(_) => Ok(()),
        SpoedMark::Refused(..) => Err(AppError::NotFound),
    }
}

/// The start page's list of recent spoed access to the clients of the user's organisation
/// (see the module header): an audited read, one `read` event per non-empty list shown, with
/// `detail` = `{"view": "spoed_list", "clients": n, "client_ids": [...], "categories":
/// ["identity"], "sources": [...]}`.
pub async fn list(
    store: &Store,
    user: &SessionUser,
    meta: RequestMeta,
) -> Result<Vec<SpoedItem>, AppError> {
    if !sees_spoed_list(user.role) {
        return Err(AppError::Forbidden);
    }
    let rows = store
        .audited_spoed_list(&user.organisation_id, &user.id, since(), |rows| {
            if rows.is_empty() {
                return None;
            }
            Some(
                event(user, AuditAction::Read, Outcome::Success, &meta).with_detail(
                    AuditDetail::Read(detail::Read::of_name_list(
                        "spoed_list",
                        rows.iter().map(|r| &r.client_id),
                        rows.iter().map(|r| &r.identity_source),
                    )),
                ),
            )
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| SpoedItem {
            grant_id: r.grant_id,
            client_id: r.client_id,
            client_name: r.client_name.unwrap_or_default(),
            client_birth_date: r
                .client_birth_date
                .as_deref()
                .map(iso_date)
                .unwrap_or_default(),
            holder_name: r.holder_name,
            holder_role: Role::parse(&r.holder_role)
                .map(|role| role.label().to_owned())
                .unwrap_or(r.holder_role),
            holder_organisation: r.holder_organisation,
            viewed_at: dutch_date_time(r.viewed_at),
            reason: r.reason,
        })
        .collect())
}

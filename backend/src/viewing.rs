//! Finding a client, requesting access, and viewing (DESIGN flows 3-6). Every rule of DESIGN
//! section 3 that concerns viewing is enforced here, once:
//! - only clinical roles search, request and view;
//! - an unknown client and one without any active share get the same answer (rule 6);
//! - a view needs the user's own valid grant and re-checks it, and every source's consent,
//!   in the transaction that writes the view's audit event, after taking the chain lock
//!   (rules 1, 2, 4); a search and the "my clients" list are audited the same way;
//! - a `read` event lists every source any shown datum came from (rule 4);
//! - the access policy decides which entries, and whether the pregnancy block, are read at
//!   all (rule 3).

use super::audit::{NewAuditEvent, RequestMeta};
use super::session::SessionUser;
use super::store::{FoundClient, GrantRow, MyClientRow, PregnancyRow, Store, ViewDenied};
use super::Settings;
use domain::audit_detail::{self as detail, AuditDetail};
use domain::client_view::{ClientAccess, ClientSummary, MyClient};
use domain::error::AppError;
use domain::grant::{grant_expiry, Ground, PregnancyDates};
use domain::policy::ViewRequest;
use domain::pregnancy::age_in_years;
use domain::{AuditAction, Bsn, Category, ClientId, FieldError, GrantId, Outcome, Sensitivity};
use time::OffsetDateTime;

use super::clock::{dutch_date_time, parse_date, today, DATE};

fn require_clinical(user: &SessionUser) -> Result<(), AppError> {
    if user.role.is_clinical() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// An event by this user in this request.
pub(crate) fn event(
    user: &SessionUser,
    action: AuditAction,
    outcome: Outcome,
    meta: &RequestMeta,
) -> NewAuditEvent {
    NewAuditEvent::new(action, outcome)
        .by(user.actor())
        .with_request(meta.clone())
}

/// Finds a client by BSN and birth date (both required, exact). `None` for an unknown client
/// and for one without any active share alike; the audit event records the real outcome.
pub async fn search(
    store: &Store,
    user: &SessionUser,
    bsn_input: &str,
    birth_date_input: &str,
    meta: RequestMeta,
) -> Result<Option<ClientSummary>, AppError> {
    require_clinical(user)?;
    let mut problems = Vec::new();
    let bsn = if bsn_input.trim().is_empty() {
        problems.push(FieldError::new("bsn", "vul het BSN in"));
        None
    } else {
        Bsn::parse(bsn_input)
            .map_err(|e| problems.push(FieldError::new("bsn", e.to_string())))
            .ok()
    };
    let birth_date = if birth_date_input.trim().is_empty() {
        problems.push(FieldError::new("birth_date", "vul de geboortedatum in"));
        None
    } else {
        match parse_date(birth_date_input.trim()) {
            Some(d) if d <= today() => Some(d),
            _ => {
                problems.push(FieldError::new(
                    "birth_date",
                    "geen geldige geboortedatum (jjjj-mm-dd)",
                ));
                None
            }
        }
    };
    let (Some(bsn), Some(birth_date)) = (bsn, birth_date) else {
        let mut refused = event(user, AuditAction::Search, Outcome::Denied, &meta);
        refused.detail = Some(AuditDetail::Search(detail::Search {
            refused_fields: Some(problems.iter().map(|p| p.field.clone()).collect()),
            ..Default::default()
        }));
        store.record(refused).await?;
        return Err(AppError::Validation {
            field_errors: problems,
        });
    };
    let birth_date = birth_date.format(DATE).unwrap_or_default();
    // One transaction: the chain lock, the lookup and the event (rules 1 and 4).
    let rows = store
        .audited_search(&user.id, bsn.as_ref(), &birth_date, |rows| {
            // The answer is the same for unknown and withdrawn clients; the log records which
            // it was, and which sources the shown hit came from.
            let outcome = match (&rows.found, &rows.client_id) {
                (Some(_), _) => "found",
                (None, Some(_)) => "no_active_share_with_this_birth_date",
                (None, None) => "unknown_bsn",
            };
            let mut logged = event(user, AuditAction::Search, Outcome::Success, &meta);
            logged.bsn = Some(bsn.as_ref().to_owned());
            logged.client_id = rows.client_id.clone();
            logged.detail = Some(AuditDetail::Search(detail::Search {
                found: Some(rows.found.is_some()),
                outcome: Some(outcome.to_owned()),
                sources: rows.found.as_ref().map(|found| found.shown_sources()),
                consent_profile: rows.consent_profile,
                ..Default::default()
            }));
            logged
        })
        .await?;
    Ok(rows.found.map(summary))
}

fn summary(found: FoundClient) -> ClientSummary {
    let organisations = found
        .sources
        .into_iter()
        .map(|s| s.organisation_name)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let birth = found.identity.birth_date.unwrap_or_default();
    let bsn_masked = Bsn::parse(&found.identity.bsn)
        .map(|b| b.masked())
        .unwrap_or_default();
    // Before her own grant the searcher learns only that the client exists (issue 14).
    let granted = found.has_grant;
    ClientSummary {
        client_id: found.identity.client_id,
        bsn_masked,
        birth_date: domain::format::iso_date(&birth),
        name: granted.then(|| found.identity.name.unwrap_or_default()),
        age: granted
            .then(|| parse_date(&birth).map(|b| age_in_years(b, today())))
            .flatten(),
        organisations: if granted { organisations } else { Vec::new() },
        has_grant: granted,
    }
}

fn pregnancy_dates(pregnancies: &[PregnancyRow]) -> PregnancyDates {
    PregnancyDates {
        active_due_date: pregnancies
            .iter()
            .filter(|p| p.status == "active")
            .filter_map(|p| parse_date(&p.edd))
            .max(),
        latest_end: pregnancies
            .iter()
            .filter_map(|p| p.ended_on.as_deref().and_then(parse_date))
            .max(),
    }
}

/// An access request as the form sends it.
#[derive(Debug, Clone)]
pub struct AccessRequest<'a> {
    pub client_id: &'a ClientId,
    pub ground: &'a str,
    pub reason: &'a str,
    /// The "I have a treatment relationship with this client" box was ticked.
    pub attested: bool,
}

/// Requests access once: ground, reason (mandatory for `spoed`) and the attestation. Creates
/// a grant for this user alone, valid as DESIGN 5.4 says, logged as `access_request`.
pub async fn request_access(
    store: &Store,
    settings: &Settings,
    user: &SessionUser,
    form: AccessRequest<'_>,
    meta: RequestMeta,
) -> Result<(), AppError> {
    require_clinical(user)?;
    let AccessRequest {
        client_id,
        ground,
        reason,
        attested,
    } = form;
    let mut problems = Vec::new();
    let ground = Ground::parse(ground);
    if ground.is_none() {
        problems.push(FieldError::new("ground", "kies een grond voor de toegang"));
    }
    let reason = reason.trim();
    if ground == Some(Ground::Spoed) && reason.is_empty() {
        problems.push(FieldError::new(
            "reason",
            "bij spoed is een toelichting verplicht",
        ));
    }
    if reason.chars().count() > 1000 {
        problems.push(FieldError::new(
            "reason",
            "de toelichting mag hoogstens 1000 tekens hebben",
        ));
    }
    if !attested {
        problems.push(FieldError::new(
            "attest",
            "bevestig dat u een behandelrelatie met deze cliënt heeft",
        ));
    }
    let identity = store.client_identity(client_id).await?;
    let mut logged = event(user, AuditAction::AccessRequest, Outcome::Denied, &meta);
    logged.ground = ground;
    if !problems.is_empty() || identity.is_none() {
        logged.client_id = identity.as_ref().map(|i| i.client_id.clone());
        logged.detail = Some(AuditDetail::AccessRequest(detail::AccessRequest {
            refused_fields: Some(problems.iter().map(|p| p.field.clone()).collect()),
            client_known: Some(identity.is_some()),
            ..Default::default()
        }));
        store.record(logged).await?;
        return Err(if problems.is_empty() {
            AppError::NotFound
        } else {
            AppError::Validation {
                field_errors: problems,
            }
        });
    }
    let (ground, identity) = (ground.expect("checked"), identity.expect("checked"));
    let now = OffsetDateTime::now_utc();
    let pregnancies = store.client_pregnancies(client_id).await?;
    let expires = grant_expiry(
        ground,
        now,
        pregnancy_dates(&pregnancies),
        settings.grant_periods,
    );
    let grant = GrantRow {
        id: GrantId::from(uuid::Uuid::new_v4().to_string()),
        user_id: user.id.clone(),
        client_id: client_id.clone(),
        ground,
        reason: reason.to_owned(),
        created_at: (now.unix_timestamp_nanos() / 1_000_000) as i64,
        expires_at: (expires.unix_timestamp_nanos() / 1_000_000) as i64,
    };
    logged.outcome = Outcome::Success;
    logged.client_id = Some(client_id.clone());
    logged.bsn = Some(identity.bsn);
    logged.grant_id = Some(grant.id.clone());
    logged.detail = Some(AuditDetail::AccessRequest(detail::AccessRequest {
        reason: Some(reason.to_owned()),
        attested: Some(true),
        expires_at: Some(grant.expires_at),
        emergency: Some(ground == Ground::Spoed),
        ..Default::default()
    }));
    // A repeated request, or one racing another of the same user, finds the grant she holds
    // (checked under the chain lock) and is logged with it instead of creating another.
    let repeated = |held: &GrantRow| {
        let mut repeat = logged.clone();
        repeat.grant_id = Some(held.id.clone());
        repeat.detail = Some(AuditDetail::AccessRequest(detail::AccessRequest {
            reason: Some(reason.to_owned()),
            attested: Some(true),
            emergency: Some(ground == Ground::Spoed),
            already_granted: Some(true),
            granted_ground: Some(held.ground),
            expires_at: Some(held.expires_at),
            ..Default::default()
        }));
        repeat
    };
    store.create_grant(&grant, logged.clone(), repeated).await?;
    Ok(())
}

/// The holder ends her own grant ("I no longer treat this client").
pub async fn end_own_grant(
    store: &Store,
    user: &SessionUser,
    client_id: &ClientId,
    meta: RequestMeta,
) -> Result<(), AppError> {
    require_clinical(user)?;
    let grant = store
        .valid_grant(&user.id, client_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut logged = event(user, AuditAction::GrantEnded, Outcome::Success, &meta);
    logged.client_id = Some(client_id.clone());
    logged.grant_id = Some(grant.id.clone());
    logged.ground = Some(grant.ground);
    store
        .end_grant(&grant.id, &user.id, "beëindigd door de houder", logged)
        .await?;
    Ok(())
}

/// The user's clients with a valid grant (clients without an active share are left out).
/// The list shows names and birth dates, so it is an audited read like a view: one `read`
/// event per list shown (none for an empty list), in the transaction that reads it, with
/// `detail` = `{"view": "my_clients", "clients": n, "client_ids": [...], "categories":
/// ["identity"], "sources": [...]}` (the sources the names came from, so their organisations'
/// officers see it, DESIGN flow 7).
pub async fn my_clients(
    store: &Store,
    user: &SessionUser,
    meta: RequestMeta,
) -> Result<Vec<MyClient>, AppError> {
    require_clinical(user)?;
    let rows = store
        .audited_my_clients(&user.id, |rows| {
            if rows.is_empty() {
                return None;
            }
            Some(
                event(user, AuditAction::Read, Outcome::Success, &meta).with_detail(
                    AuditDetail::Read(detail::Read::of_name_list(
                        "my_clients",
                        rows.iter().map(|r| &r.grant.client_id),
                        rows.iter().map(|r| &r.identity.source_id),
                    )),
                ),
            )
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|MyClientRow { grant, identity }| MyClient {
            client_id: grant.client_id,
            name: identity.name.unwrap_or_default(),
            birth_date: domain::format::iso_date(&identity.birth_date.unwrap_or_default()),
            grant_expires: dutch_date_time(grant.expires_at),
            ground: grant.ground,
        })
        .collect())
}

/// Whether the role's policy shows the pregnancy block (the `pregnancy` category; a pregnancy
/// has no sensitivity of its own, so it counts as `normal`).
pub fn pregnancies_allowed(policy: &domain::Policy, role: domain::Role) -> bool {
    policy.allows(ViewRequest {
        role,
        has_valid_grant: true,
        consent_active: true,
        category: Category::Pregnancy,
        sensitivity: Sensitivity::Normal,
    })
}

/// The `category:sensitivity` pairs the role may see, by the one policy function.
pub fn allowed_pairs(policy: &domain::Policy, role: domain::Role) -> Vec<String> {
    let mut pairs = Vec::new();
    for category in Category::ALL {
        for sensitivity in Sensitivity::ALL {
            let request = ViewRequest {
                role,
                has_valid_grant: true,
                consent_active: true,
                category: *category,
                sensitivity: *sensitivity,
            };
            if policy.allows(request) {
                pairs.push(format!("{}:{}", category.as_str(), sensitivity.as_str()));
            }
        }
    }
    pairs
}

/// Why the client page is read: on screen (`read`) or for printing (`print`: NEN 7513 counts
/// a print as access of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Screen,
    Print,
}

/// One view of the client page, audited and filtered (see the module header). Without a
/// valid grant (or for an unknown client) it shows nothing and logs `access_denied`.
pub async fn view_client(
    store: &Store,
    user: &SessionUser,
    client_id: &ClientId,
    purpose: Purpose,
    meta: RequestMeta,
) -> Result<ClientAccess, AppError> {
    require_clinical(user)?;
    let reads = |policy: &domain::Policy| {
        (
            allowed_pairs(policy, user.role),
            pregnancies_allowed(policy, user.role),
        )
    };
    let ((policy, layout), viewed) = store
        .audited_view(&user.id, client_id, reads, |rows| {
            let action = match purpose {
                Purpose::Screen => AuditAction::Read,
                Purpose::Print => AuditAction::Print,
            };
            let mut logged = event(user, action, Outcome::Success, &meta);
            logged.client_id = Some(client_id.clone());
            logged.bsn = Some(rows.identity.bsn.clone());
            logged.grant_id = Some(rows.grant.id.clone());
            logged.ground = Some(rows.grant.ground);
            // Everything the page shows: identity, the pregnancy block, the entries.
            let mut categories: Vec<&str> = std::iter::once(Category::Identity.as_str())
                .chain((!rows.pregnancies.is_empty()).then_some(Category::Pregnancy.as_str()))
                .chain(rows.entries.iter().map(|e| e.category.as_str()))
                .collect();
            categories.sort();
            categories.dedup();
            let shown = detail::Read {
                categories: categories.iter().map(|&c| c.to_owned()).collect(),
                sources: rows.shown_sources(),
                entries: Some(rows.entries.len() as i64),
                consent_profile: rows.consent_profile,
                ..Default::default()
            };
            logged.detail = Some(match purpose {
                Purpose::Screen => AuditDetail::Read(shown),
                Purpose::Print => AuditDetail::Print(shown),
            });
            logged
        })
        .await?;
    match viewed {
        Ok(rows) => Ok(ClientAccess::Granted(Box::new(super::client_page::build(
            &rows, &policy, &layout, user,
        )?))),
        Err(denied) => {
            let mut logged = event(user, AuditAction::AccessDenied, Outcome::Denied, &meta);
            logged.client_id = Some(ClientId::from(
                client_id.as_str().chars().take(64).collect::<String>(),
            ));
            logged.detail = Some(AuditDetail::AccessDenied(detail::Refusal {
                reason: match denied {
                    ViewDenied::Unknown => "unknown_client",
                    ViewDenied::NoGrant => "no_valid_grant",
                }
                .to_owned(),
            }));
            store.record(logged).await?;
            Ok(ClientAccess::NoAccess)
        }
    }
}

/// The access policy as `/policy` shows it (any logged-in user may read it: every
/// professional can see what each role sees).
pub async fn policy_table(store: &Store) -> Result<Vec<domain::policy::PolicyRow>, AppError> {
    Ok(store.policy().await?.rows())
}

//! The privacy officer (DESIGN flow 7): reviewing the access log in her scope, marking flagged
//! events reviewed, revoking a grant of her organisation's users, exporting, the client
//! overview, and the chain's verification state. Every function checks the role itself, and
//! every reading of the log is itself logged.

use super::audit::{NewAuditEvent, RequestMeta};
use super::clock::{amsterdam, dutch_date, dutch_date_time, local_date, parse_date};
use super::clock::{start_of_local_day, today};
use super::session::SessionUser;
use super::store::{Keyset, ReviewQuery, ReviewRow, Store};
use domain::audit_detail::{self as detail, AuditDetail};
use domain::audit_view::{
    ClientOverview, EventView, OrganisationGrant, OverviewLine, ReviewFilter, ReviewNote,
    ReviewPage,
};
use domain::error::AppError;
use domain::grant::Ground;
use domain::{AuditAction, Bsn, Category, ClientId, FieldError, GrantId, Outcome, Role};

/// Rows on one page of `/audit`.
pub const PAGE_SIZE: i64 = 50;
/// Longest note or reason an officer may write.
const MAX_TEXT: usize = 1000;

/// The officer's free text of `field` (a review note, a revocation reason), trimmed: required,
/// and at most [`MAX_TEXT`] characters.
fn required_text<'a>(
    field: &str,
    text: &'a str,
    when_empty: &str,
    what: &str,
) -> Result<&'a str, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::field(field, when_empty));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(AppError::field(
            field,
            format!("{what} mag hoogstens {MAX_TEXT} tekens hebben"),
        ));
    }
    Ok(text)
}

fn require_officer(user: &SessionUser) -> Result<(), AppError> {
    if user.role == Role::PrivacyOfficer {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn event(user: &SessionUser, action: AuditAction, meta: &RequestMeta) -> NewAuditEvent {
    NewAuditEvent::new(action, Outcome::Success)
        .by(user.actor())
        .with_request(meta.clone())
}

fn optional(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The session key of the officer's current filters: they may hold a BSN, so they live in the
/// session, never in a URL. Read by `/audit` and by its CSV export.
const FILTER_KEY: &str = "audit_filter";

/// Keeps the officer's filters for `/audit` and its export.
pub async fn keep_filter(
    session: &tower_sessions::Session,
    filter: &ReviewFilter,
) -> Result<(), AppError> {
    super::session::keep(session, FILTER_KEY, filter).await
}

/// The officer's kept filters (none kept: no filter).
pub async fn kept_filter(session: &tower_sessions::Session) -> Result<ReviewFilter, AppError> {
    Ok(super::session::kept(session, FILTER_KEY)
        .await?
        .unwrap_or_default())
}

/// Validates the filters into a query scoped to the officer's organisation. Every problem is
/// reported with its field.
pub fn review_query(user: &SessionUser, filter: &ReviewFilter) -> Result<ReviewQuery, AppError> {
    let mut problems = Vec::new();
    let mut query = ReviewQuery::new(&user.organisation_id);
    let mut day = |field: &str, text: &str| -> Option<time::Date> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let parsed = parse_date(text);
        if parsed.is_none() {
            problems.push(FieldError::new(field, "geen geldige datum (jjjj-mm-dd)"));
        }
        parsed
    };
    let from = day("from", &filter.from);
    let until = day("until", &filter.until);
    query.from_ms = from.map(start_of_local_day);
    query.until_ms = until.and_then(|d| d.next_day()).map(start_of_local_day);
    if let (Some(f), Some(u)) = (from, until) {
        if u < f {
            problems.push(FieldError::new(
                "until",
                "de einddatum ligt vóór de begindatum",
            ));
        }
    }
    if let Some(bsn) = optional(&filter.bsn) {
        match Bsn::parse(&bsn) {
            Ok(b) => query.bsn = Some(b.as_ref().to_owned()),
            Err(e) => problems.push(FieldError::new("bsn", e.to_string())),
        }
    }
    query.user_name = optional(&filter.user).map(|u| u.to_lowercase());
    if query.user_name.as_ref().is_some_and(|u| u.len() > 100) {
        problems.push(FieldError::new(
            "user",
            "een gebruikersnaam is hoogstens 100 tekens",
        ));
    }
    query.organisation_id = optional(&filter.organisation);
    if query
        .organisation_id
        .as_ref()
        .is_some_and(|o| o.len() > 100)
    {
        problems.push(FieldError::new(
            "organisation",
            "een organisatiecode is hoogstens 100 tekens",
        ));
    }
    if let Some(action) = optional(&filter.action) {
        match AuditAction::parse(&action) {
            Some(a) => query.action = Some(a),
            None => problems.push(FieldError::new("action", "onbekende handeling")),
        }
    }
    if let Some(ground) = optional(&filter.ground) {
        match Ground::parse(&ground) {
            Some(g) => query.ground = Some(g),
            None => problems.push(FieldError::new("ground", "onbekende grond")),
        }
    }
    query.flagged_only = filter.flagged;
    if problems.is_empty() {
        Ok(query)
    } else {
        Err(AppError::Validation {
            field_errors: problems,
        })
    }
}

/// The keyset of a page link: `<occurred_at>.<id>`.
pub fn parse_keyset(text: &str) -> Result<Keyset, AppError> {
    let bad = || AppError::field("before", "ongeldige positie in het logboek");
    let (at, id) = text.split_once('.').ok_or_else(bad)?;
    Ok(Keyset {
        occurred_at: at.parse().map_err(|_| bad())?,
        id: id.parse().map_err(|_| bad())?,
    })
}

/// The filters as written into a `log_read` or `export` event. The BSN goes in its own
/// column (so the client's overview finds the event), not in the detail.
fn logged_filters(query: &ReviewQuery, event: &mut NewAuditEvent) {
    event.bsn = query.bsn.clone();
    let filters = detail::LogFilters {
        filters: detail::ReviewFilters {
            from: query.from_ms,
            until: query.until_ms,
            user: query.user_name.clone(),
            organisation: query.organisation_id.clone(),
            action: query.action.map(|a| a.as_str().to_owned()),
            ground: query.ground.map(|g| g.as_str().to_owned()),
            flagged_only: query.flagged_only,
            client: query.bsn.is_some(),
        },
    };
    event.detail = Some(match event.action {
        AuditAction::Export => AuditDetail::Export(filters),
        _ => AuditDetail::LogRead(filters),
    });
}

/// One page of the review, newest first, logged as `log_read`.
pub async fn page(
    store: &Store,
    user: &SessionUser,
    filter: &ReviewFilter,
    before: Option<&str>,
    meta: RequestMeta,
) -> Result<ReviewPage, AppError> {
    require_officer(user)?;
    let mut query = review_query(user, filter)?;
    query.before = before.map(parse_keyset).transpose()?;
    query.limit = PAGE_SIZE + 1;
    let mut logged = event(user, AuditAction::LogRead, &meta);
    logged_filters(&query, &mut logged);
    // Logged before the rows are read: no reading of the log goes unrecorded.
    store.record(logged).await?;
    let mut rows = store.review_page(&query).await?;
    let next = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last()
            .map(|r| format!("{}.{}", r.event.occurred_at, r.event.id))
    } else {
        None
    };
    let grants = store
        .organisation_grants(&user.organisation_id)
        .await?
        .into_iter()
        .map(|g| OrganisationGrant {
            id: g.id,
            user: format!("{} ({})", g.user_display_name, g.user_name),
            bsn: g.bsn,
            ground: g.ground.label().to_owned(),
            created: dutch_date_time(g.created_at),
            expires: dutch_date_time(g.expires_at),
        })
        .collect();
    Ok(ReviewPage {
        filter: filter.clone(),
        events: rows.into_iter().map(event_view).collect(),
        next,
        chain: super::integrity::chain_state(store).await?,
        grants,
    })
}

/// Known reason and outcome codes in the officer's words (others are shown as they are).
fn reading(code: &str) -> &str {
    match code {
        "found" => "gevonden",
        "unknown_bsn" => "niet gevonden (onbekend BSN)",
        "no_active_share_with_this_birth_date" => {
            "niet gevonden (geen gedeelde gegevens met deze geboortedatum)"
        }
        "no_valid_grant" => "geen geldige toegang",
        "unknown_client" => "onbekende cliënt",
        "organisation_neither_shares_nor_treats" => "organisatie deelt of behandelt niet",
        other => other,
    }
}

/// A short, readable form of an event's detail.
fn detail_summary(action: &str, detail: &str) -> String {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(detail) else {
        return String::new();
    };
    let strings = |key: &str| -> Vec<String> {
        json.get(key)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let text = |key: &str| json.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    match action {
        "read" => {
            let categories: Vec<&str> = strings("categories")
                .iter()
                .filter_map(|c| Category::parse(c))
                .map(|c| c.label())
                .collect();
            format!(
                "{}; bronnen: {}",
                categories.join(", "),
                strings("sources").join(", ")
            )
        }
        "search" => text("outcome")
            .map(|o| reading(&o).to_owned())
            .unwrap_or_default(),
        "access_request" => text("reason")
            .map(|r| format!("toelichting: {r}"))
            .unwrap_or_default(),
        "grant_revoked" | "grant_ended" | "flag_reviewed" => {
            text("reason").or_else(|| text("note")).unwrap_or_default()
        }
        "access_denied" | "login_failed" | "token_refused" | "share_refused"
        | "client_overview" => text("reason")
            .map(|r| reading(&r).to_owned())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// `06-04-1991 14:05:09`, Amsterdam time: an event's moment in the log, to the second.
fn dutch_date_time_seconds(ms: i64) -> String {
    format!("{}:{:02}", dutch_date_time(ms), amsterdam(ms).second())
}

pub fn event_view(row: ReviewRow) -> EventView {
    let e = row.event;
    let action_label = AuditAction::parse(&e.action)
        .map(|a| a.label().to_owned())
        .unwrap_or_else(|| e.action.clone());
    EventView {
        id: e.id,
        at: dutch_date_time_seconds(e.occurred_at),
        detail: detail_summary(&e.action, &e.detail),
        action: e.action,
        action_label,
        outcome: e.outcome,
        user: row.user_display_name.or_else(|| e.user_name.clone()),
        user_name: e.user_name,
        role: e
            .user_role
            .as_deref()
            .and_then(Role::parse)
            .map(|r| r.label().to_owned()),
        organisation: row.organisation_name.or(e.organisation_id),
        bsn: e.bsn,
        source: e.source_id,
        ground_label: e
            .ground
            .as_deref()
            .and_then(Ground::parse)
            .map(|g| g.label().to_owned()),
        ground: e.ground,
        flags: super::audit::parse_flags(row.flags.as_deref()),
        review: row.reviewed_note.map(|note| ReviewNote {
            by: row.reviewed_by.unwrap_or_default(),
            at: row.reviewed_at.map(dutch_date_time).unwrap_or_default(),
            note,
        }),
    }
}

/// Marks a flagged event in the officer's scope reviewed, with a note (logged as
/// `flag_reviewed`).
pub async fn mark_reviewed(
    store: &Store,
    user: &SessionUser,
    event_id: i64,
    note: &str,
    meta: RequestMeta,
) -> Result<(), AppError> {
    require_officer(user)?;
    let note = required_text(
        "note",
        note,
        "schrijf kort op wat u heeft vastgesteld",
        "de notitie",
    )?;
    let Some(row) = store.scoped_event(&user.organisation_id, event_id).await? else {
        return Err(AppError::NotFound);
    };
    if row.flags.is_none() {
        return Err(AppError::field(
            "event",
            "deze gebeurtenis heeft geen melding",
        ));
    }
    if row.reviewed_note.is_some() {
        return Err(AppError::Conflict("Deze melding is al beoordeeld.".into()));
    }
    let mut logged = event(user, AuditAction::FlagReviewed, &meta);
    logged.client_id = row.event.client_id.clone().map(ClientId::from);
    logged.detail = Some(AuditDetail::FlagReviewed(detail::FlagReviewed {
        event_id,
        note: note.to_owned(),
    }));
    store
        .review_event(event_id, &user.organisation_id, &user.id, note, logged)
        .await
        .map_err(|e| match e {
            super::StoreError::AlreadyExists(_) => {
                AppError::Conflict("Deze melding is al beoordeeld.".into())
            }
            other => other.into(),
        })
}

/// Revokes a grant held by a user of the officer's own organisation (DESIGN flow 5); the
/// holder's next view is refused. Logged as `grant_revoked`.
pub async fn revoke(
    store: &Store,
    user: &SessionUser,
    grant_id: &GrantId,
    reason: &str,
    meta: RequestMeta,
) -> Result<(), AppError> {
    require_officer(user)?;
    let reason = required_text(
        "reason",
        reason,
        "geef een reden voor het intrekken",
        "de reden",
    )?;
    let grant = store
        .grant_holder(grant_id)
        .await?
        // A grant of another organisation is not hers to see: the same answer as none.
        .filter(|g| g.organisation_id == user.organisation_id)
        .ok_or(AppError::NotFound)?;
    if grant.ended_at.is_some() || grant.expires_at <= super::store::now_ms() {
        return Err(AppError::Conflict(
            "Deze toegang is al beëindigd of verlopen.".into(),
        ));
    }
    let mut logged = event(user, AuditAction::GrantRevoked, &meta);
    logged.client_id = Some(grant.client_id.clone());
    logged.grant_id = Some(grant.id.clone());
    logged.ground = Some(grant.ground);
    logged.on_behalf_of = None;
    logged.detail = Some(AuditDetail::GrantRevoked(detail::GrantRevoked {
        reason: reason.to_owned(),
        holder: grant.user_id.clone(),
    }));
    store
        .end_grant(&grant.id, &user.id, reason, logged)
        .await
        .map_err(|e| match e {
            super::StoreError::NotFound(_) => {
                AppError::Conflict("Deze toegang is al beëindigd of verlopen.".into())
            }
            other => other.into(),
        })
}

/// Validates the filters for an export and logs it (`export`) before any row is read; the
/// caller streams the rows with the returned query.
pub async fn start_export(
    store: &Store,
    user: &SessionUser,
    filter: &ReviewFilter,
    meta: RequestMeta,
) -> Result<ReviewQuery, AppError> {
    require_officer(user)?;
    let mut query = review_query(user, filter)?;
    let mut logged = event(user, AuditAction::Export, &meta);
    logged_filters(&query, &mut logged);
    store.record(logged).await?;
    query.limit = super::store::MAX_PAGE;
    Ok(query)
}

/// A checked request for a client overview.
pub struct OverviewRequest {
    bsn: Bsn,
    from_day: time::Date,
    until_day: time::Date,
}

/// Checks a request for a client overview: the input, and that the officer's organisation
/// shares or treats the client (DESIGN flow 7). A refusal is logged (`client_overview`,
/// denied) and names the field.
pub async fn authorize_overview(
    store: &Store,
    user: &SessionUser,
    bsn: &str,
    from: &str,
    until: &str,
    meta: &RequestMeta,
) -> Result<OverviewRequest, AppError> {
    require_officer(user)?;
    let mut problems = Vec::new();
    let bsn = Bsn::parse(bsn.trim())
        .map_err(|e| problems.push(FieldError::new("bsn", e.to_string())))
        .ok();
    let mut day = |field: &str, text: &str, default: time::Date| {
        if text.trim().is_empty() {
            return Some(default);
        }
        let d = parse_date(text.trim());
        if d.is_none() {
            problems.push(FieldError::new(field, "geen geldige datum (jjjj-mm-dd)"));
        }
        d
    };
    let now = today();
    let from_day = day(
        "from",
        from,
        now.replace_year(now.year() - 1).unwrap_or(now),
    );
    let until_day = day("until", until, now);
    if let (Some(f), Some(u)) = (from_day, until_day) {
        if u < f {
            problems.push(FieldError::new(
                "until",
                "de einddatum ligt vóór de begindatum",
            ));
        }
    }
    let (Some(bsn), Some(from_day), Some(until_day), true) =
        (bsn, from_day, until_day, problems.is_empty())
    else {
        return Err(AppError::Validation {
            field_errors: problems,
        });
    };
    let client_id = store.client_id_by_bsn(bsn.as_ref()).await?;
    let allowed = match &client_id {
        Some(id) => {
            store
                .organisation_knows_client(&user.organisation_id, id)
                .await?
        }
        None => false,
    };
    if !allowed {
        let mut logged = event(user, AuditAction::ClientOverview, meta);
        logged.outcome = Outcome::Denied;
        logged.bsn = Some(bsn.as_ref().to_owned());
        logged.detail = Some(AuditDetail::ClientOverview(detail::ClientOverview {
            reason: Some("organisation_neither_shares_nor_treats".to_owned()),
            ..Default::default()
        }));
        store.record(logged).await?;
        return Err(AppError::field(
            "bsn",
            "uw organisatie deelt of behandelt deze cliënt niet; vraag de organisatie die dat wel doet",
        ));
    }
    Ok(OverviewRequest {
        bsn,
        from_day,
        until_day,
    })
}

/// The printable overview of who consulted a client's data, network-wide (DESIGN flow 7), for
/// a client the officer's organisation shares or treats. Logged as `client_overview`.
pub async fn overview(
    store: &Store,
    user: &SessionUser,
    bsn: &str,
    from: &str,
    until: &str,
    meta: RequestMeta,
) -> Result<ClientOverview, AppError> {
    let OverviewRequest {
        bsn,
        from_day,
        until_day,
    } = authorize_overview(store, user, bsn, from, until, &meta).await?;
    let from_ms = start_of_local_day(from_day);
    let until_ms = until_day
        .next_day()
        .map(start_of_local_day)
        .unwrap_or(i64::MAX);
    let mut logged = event(user, AuditAction::ClientOverview, &meta);
    logged.bsn = Some(bsn.as_ref().to_owned());
    logged.detail = Some(AuditDetail::ClientOverview(detail::ClientOverview {
        from: Some(local_date(from_ms)),
        until: Some(local_date(until_ms - 1)),
        ..Default::default()
    }));
    store.record(logged).await?;
    let rows = store.client_events(bsn.as_ref(), from_ms, until_ms).await?;
    let truncated = rows.len() as i64 >= super::store::OVERVIEW_LIMIT;
    Ok(ClientOverview {
        bsn: bsn.as_ref().to_owned(),
        from: dutch_date(from_ms),
        until: dutch_date(until_ms - 1),
        generated_at: dutch_date_time(super::store::now_ms()),
        generated_by: user.display_name.clone(),
        organisation: user.organisation_name.clone(),
        lines: rows.into_iter().map(overview_line).collect(),
        truncated,
    })
}

fn overview_line(row: ReviewRow) -> OverviewLine {
    let e = &row.event;
    let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
    let categories = detail
        .get("categories")
        .and_then(|c| c.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().and_then(Category::parse))
                .map(|c| c.label())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let what = match (e.action.as_str(), e.outcome.as_str()) {
        ("read", _) => "Gegevens ingezien".to_owned(),
        ("search", _) => "Gezocht op BSN en geboortedatum".to_owned(),
        ("access_request", "success") => "Toegang aangevraagd en gekregen".to_owned(),
        ("access_request", _) => "Toegang aangevraagd, niet verleend".to_owned(),
        ("access_denied", _) => "Inzage geprobeerd zonder toegang (geweigerd)".to_owned(),
        ("consent_withdrawn", _) => "Toestemming voor delen ingetrokken".to_owned(),
        ("consent_restored", _) => "Toestemming voor delen hersteld".to_owned(),
        ("log_read", _) => "Toegangslogboek over u ingezien (privacyfunctionaris)".to_owned(),
        ("export", _) => "Toegangslogboek over u geëxporteerd (privacyfunctionaris)".to_owned(),
        (action, _) => AuditAction::parse(action)
            .map(|a| a.label().to_owned())
            .unwrap_or_else(|| action.to_owned()),
    };
    OverviewLine {
        at: dutch_date_time(e.occurred_at),
        what,
        organisation: row
            .organisation_name
            .clone()
            .or_else(|| e.organisation_id.clone())
            .unwrap_or_default(),
        role: e
            .user_role
            .as_deref()
            .and_then(Role::parse)
            .map(|r| r.label().to_owned())
            .unwrap_or_else(|| {
                if e.source_id.is_some() {
                    "bronsysteem".into()
                } else {
                    String::new()
                }
            }),
        name: row
            .user_display_name
            .clone()
            .or_else(|| e.user_name.clone())
            .unwrap_or_default(),
        categories,
        ground: e
            .ground
            .as_deref()
            .and_then(Ground::parse)
            .map(|g| g.label().to_owned())
            .unwrap_or_default(),
        emergency: e.ground.as_deref() == Some("spoed"),
    }
}

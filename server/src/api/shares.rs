//! `PUT /api/v1/shares/{bsn}` and `PUT /api/v1/shares/{bsn}/consent`.
//!
//! Order of checks: token (401), body size (413), content type (415), JSON syntax (400), rate
//! limit (429; never for a consent withdrawal), contents (422); only then the change, in one
//! transaction with its audit event. Every refusal of a verified caller is a `share_refused`
//! event and changes nothing else.
//!
//! Refused tokens (DESIGN rule 9): they name no source (neither in the event nor in the rate
//! limit, which counts verified calls only) and are limited per client address before they
//! reach the log writer (`backend::flood`): the first refusal of an (address, reason) in a
//! minute is written at once, the rest of that minute become one `refusals_summary` event, and
//! an address past its limit gets its failing requests refused without a write of their own. A
//! request whose token verifies never meets that limit.

use super::responses::{input_refused, internal, refusal, token_refused};
use super::token;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use backend::audit::{NewAuditEvent, RequestMeta};
use backend::flood::{FailureDisposition, FailureKind};
use backend::request::meta_from;
use backend::sharing::{self, Caller, SharingError};
use backend::store::{now_ms, Party};
use backend::AppState;
use domain::audit_detail::{self as detail, AuditDetail};
use domain::share::{validate_consent, validate_share, ConsentStatus};
use domain::{AuditAction, FieldError, Outcome};
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use utoipa::ToSchema;

/// 200 answer of a share.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareAccepted {
    /// Always `received`.
    pub status: String,
    pub pregnancies: usize,
    pub entries: usize,
    pub entry_changes: EntryChanges,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryChanges {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
}

/// 200 answer of a consent change: the new status.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentChanged {
    /// `active` or `withdrawn`.
    pub status: String,
}

/// How an endpoint answers a refusal: the JSON API's bodies or FHIR's OperationOutcome.
pub(super) struct Answers {
    /// 401 with the token's refusal reason.
    pub token_refused: fn(&str) -> Response,
    /// 400, 413, 415 and 422 for one problem: (status, field, problem).
    pub input_refused: fn(StatusCode, &str, &str) -> Response,
    /// 404, 409, 429: (status, error code, message).
    pub refusal: fn(StatusCode, &str, &str) -> Response,
}

/// The JSON API's answers.
pub(super) const JSON: Answers = Answers {
    token_refused,
    input_refused: |status, field, problem| {
        input_refused(status, vec![FieldError::new(field, problem)])
    },
    refusal,
};

/// Identifies the calling source by token; the refusal is the response.
pub(super) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    answers: &Answers,
) -> Result<Caller, Response> {
    authenticate_as(state, headers, peer, answers, Party::Source).await
}

/// Identifies a caller of `party`'s kind by token; the refusal is the response.
pub(super) async fn authenticate_as(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    answers: &Answers,
    party: Party,
) -> Result<Caller, Response> {
    let meta = meta_from(headers, Some(peer));
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let now = now_ms();
    let verified = token::verify(
        &state.store,
        &state.settings.token_audience,
        authorization,
        now,
        party,
    )
    .await
    .map_err(internal)?;
    match verified {
        Ok(identity) => Ok(Caller {
            source_id: identity.source_id,
            organisation_id: identity.organisation_id,
            request: meta,
        }),
        Err(refused) => {
            record_token_refusal(state, meta, peer, &refused, now).await?;
            Err((answers.token_refused)(refused.reason.public_code()))
        }
    }
}

/// Logs a refused token, bounded per client address (rule 9): the first of its (address,
/// reason) in the minute gets its own `token_refused` event (without a source: the token's
/// `iss` is unverified and goes into `detail` as `claimed_issuer`); the others are counted for
/// the minute's `refusals_summary`. An address past its limit of failures gets no write at all.
async fn record_token_refusal(
    state: &AppState,
    meta: RequestMeta,
    peer: SocketAddr,
    refused: &token::Refused,
    now: i64,
) -> Result<(), Response> {
    let ip = meta
        .ip
        .as_deref()
        .and_then(|ip| ip.parse::<IpAddr>().ok())
        .unwrap_or_else(|| peer.ip());
    let reason = refused.reason.code();
    // Asked only now that the token failed: a verified request never meets this limit.
    let over_limit = state.flood.over_limit(FailureKind::Token, ip, now);
    let disposition = state
        .flood
        .note_failure(FailureKind::Token, ip, reason, now);
    if over_limit {
        if disposition == FailureDisposition::LogNow {
            // The first of its (address, reason, minute), yet not written: count it once more
            // so the minute's summary includes it.
            state
                .flood
                .note_failure(FailureKind::Token, ip, reason, now);
        }
        return Ok(());
    }
    if disposition == FailureDisposition::Summarised {
        return Ok(());
    }
    let event = NewAuditEvent::new(AuditAction::TokenRefused, Outcome::Denied)
        .with_request(meta)
        .with_detail(AuditDetail::TokenRefused(detail::TokenRefused {
            reason: reason.to_owned(),
            claimed_issuer: refused.claimed_issuer.clone(),
        }));
    state.store.record(event).await.map_err(internal)?;
    Ok(())
}

/// The source's rate limit over its verified calls of the last minute (429). Not asked for a
/// consent withdrawal: that is never refused for rate (DESIGN 8.1, rule 9).
pub(super) async fn within_rate_limit(
    state: &AppState,
    caller: &Caller,
    answers: &Answers,
) -> Result<(), Response> {
    let since = now_ms() - 60_000;
    let calls = state
        .store
        .source_calls_since(&caller.source_id, since)
        .await
        .map_err(internal)?;
    if calls >= state.settings.source_calls_per_minute {
        refuse(state, caller, None, "rate_limited").await?;
        return Err((answers.refusal)(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many calls from this source in the last minute; try again later",
        ));
    }
    Ok(())
}

/// Records a refused share or consent call (fields only, never values).
pub(super) async fn refuse(
    state: &AppState,
    caller: &Caller,
    bsn: Option<&str>,
    reason: &str,
) -> Result<(), Response> {
    let refused = detail::ShareRefused {
        reason: reason.to_owned(),
        fields: None,
    };
    refuse_with(state, caller, bsn, refused).await
}

pub(super) async fn refuse_with(
    state: &AppState,
    caller: &Caller,
    bsn: Option<&str>,
    refused: detail::ShareRefused,
) -> Result<(), Response> {
    let mut event = caller
        .event(AuditAction::ShareRefused, Outcome::Denied)
        .with_detail(AuditDetail::ShareRefused(refused));
    event.bsn = bsn.map(|b| b.chars().take(16).collect());
    state.store.record(event).await.map_err(internal)?;
    Ok(())
}

/// Reads a JSON body: 413 when too large, 415 when not one of the `media_types`, 400 when it
/// does not parse.
pub(super) async fn json_body(
    state: &AppState,
    caller: &Caller,
    bsn: Option<&str>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    media_types: &[&str],
    answers: &Answers,
) -> Result<serde_json::Value, Response> {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
            refuse(state, caller, bsn, "body_unreadable").await?;
            let text = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("larger than {} bytes", state.settings.source_body_limit)
            } else {
                "could not be read".to_owned()
            };
            return Err((answers.input_refused)(status, "body", &text));
        }
    };
    let accepted = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| media_types.iter().any(|m| v.trim().eq_ignore_ascii_case(m)));
    if !accepted {
        refuse(state, caller, bsn, "content_type").await?;
        return Err((answers.input_refused)(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content-type",
            &format!("must be {}", media_types.join(" or ")),
        ));
    }
    match serde_json::from_slice(&body) {
        Ok(value) => Ok(value),
        Err(_) => {
            refuse(state, caller, bsn, "json_syntax").await?;
            Err((answers.input_refused)(
                StatusCode::BAD_REQUEST,
                "body",
                "is not valid JSON",
            ))
        }
    }
}

/// The common start of both endpoints: who calls (token), and the JSON body.
async fn authenticated_json(
    state: &AppState,
    peer: SocketAddr,
    bsn: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Caller, serde_json::Value), Response> {
    let caller = authenticate(state, headers, peer, &JSON).await?;
    let value = json_body(
        state,
        &caller,
        Some(bsn),
        headers,
        body,
        &["application/json"],
        &JSON,
    )
    .await?;
    Ok((caller, value))
}

pub(super) fn field_names(problems: &[FieldError]) -> detail::ShareRefused {
    detail::ShareRefused {
        reason: "invalid_input".to_owned(),
        fields: Some(problems.iter().map(|p| p.field.clone()).collect()),
    }
}

/// Replace this source's share of the client with the body.
#[utoipa::path(
    put,
    path = "/api/v1/shares/{bsn}",
    tag = "shares",
    params(("bsn" = String, Path, description = "The client's BSN (9 digits, 11-check)")),
    request_body(content = super::openapi::ShareBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Share replaced", body = ShareAccepted),
        (status = 400, description = "Body is not JSON", body = super::responses::InputRefused),
        (status = 401, description = "Token refused", body = super::responses::TokenRefused),
        (status = 409, description = "Consent withdrawn for this client at this source", body = super::responses::Refusal),
        (status = 413, description = "Body too large", body = super::responses::InputRefused),
        (status = 415, description = "Not application/json", body = super::responses::InputRefused),
        (status = 422, description = "Invalid share: every problem listed", body = super::responses::InputRefused),
        (status = 429, description = "Rate limit of this source's verified calls (never for a consent withdrawal)", body = super::responses::Refusal),
    ),
    security(("source_token" = []))
)]
pub async fn put_share(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(bsn): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (caller, value) = match authenticated_json(&state, peer, &bsn, &headers, body).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    if let Err(response) = within_rate_limit(&state, &caller, &JSON).await {
        return response;
    }
    let today = backend::clock::today();
    let share = match validate_share(&bsn, &value, today) {
        Ok(s) => s,
        Err(problems) => {
            if let Err(r) = refuse_with(&state, &caller, Some(&bsn), field_names(&problems)).await {
                return r;
            }
            return input_refused(StatusCode::UNPROCESSABLE_ENTITY, problems);
        }
    };
    match sharing::receive_share(&state.store, &caller, &share, state.settings.retention).await {
        Ok(receipt) => Json(ShareAccepted {
            status: "received".into(),
            pregnancies: receipt.pregnancies,
            entries: receipt.entries,
            entry_changes: EntryChanges {
                added: receipt.entry_changes.added,
                changed: receipt.entry_changes.changed,
                removed: receipt.entry_changes.removed,
            },
        })
        .into_response(),
        Err(SharingError::ConsentWithdrawn) => {
            if let Err(r) = refuse(&state, &caller, Some(&bsn), "consent_withdrawn").await {
                return r;
            }
            refusal(
                StatusCode::CONFLICT,
                "consent_withdrawn",
                "the client's consent for this source is withdrawn; restore it with PUT /api/v1/shares/{bsn}/consent first",
            )
        }
        Err(SharingError::PastRetention(problem)) => {
            let problems = vec![problem];
            if let Err(r) = refuse_with(&state, &caller, Some(&bsn), field_names(&problems)).await {
                return r;
            }
            input_refused(StatusCode::UNPROCESSABLE_ENTITY, problems)
        }
        Err(other) => internal(other),
    }
}

/// Withdraw (purges this source's share at once) or restore the client's consent.
#[utoipa::path(
    put,
    path = "/api/v1/shares/{bsn}/consent",
    tag = "shares",
    params(("bsn" = String, Path, description = "The client's BSN (9 digits, 11-check)")),
    request_body(content = super::openapi::ConsentBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The new consent status", body = ConsentChanged),
        (status = 400, description = "Body is not JSON", body = super::responses::InputRefused),
        (status = 401, description = "Token refused", body = super::responses::TokenRefused),
        (status = 404, description = "This source never shared this client", body = super::responses::Refusal),
        (status = 413, description = "Body too large", body = super::responses::InputRefused),
        (status = 415, description = "Not application/json", body = super::responses::InputRefused),
        (status = 422, description = "Invalid status or BSN", body = super::responses::InputRefused),
        (status = 429, description = "Rate limit of this source's verified calls (never for a consent withdrawal)", body = super::responses::Refusal),
    ),
    security(("source_token" = []))
)]
pub async fn put_consent(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(bsn): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (caller, value) = match authenticated_json(&state, peer, &bsn, &headers, body).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    // A verified withdrawal is never refused for rate (rule 9); anything else is limited,
    // refused calls too, so a call that only claims a withdrawal cannot pass the limit.
    let withdrawal = matches!(validate_consent(&value), Ok(ConsentStatus::Withdrawn))
        && domain::Bsn::parse(&bsn).is_ok();
    if !withdrawal {
        if let Err(response) = within_rate_limit(&state, &caller, &JSON).await {
            return response;
        }
    }
    let mut problems = Vec::new();
    let bsn_valid =
        domain::Bsn::parse(&bsn).map_err(|e| problems.push(FieldError::new("bsn", e.to_string())));
    let status = validate_consent(&value).map_err(|p| problems.extend(p));
    let (Ok(bsn_valid), Ok(status)) = (bsn_valid, status) else {
        if let Err(r) = refuse_with(&state, &caller, Some(&bsn), field_names(&problems)).await {
            return r;
        }
        return input_refused(StatusCode::UNPROCESSABLE_ENTITY, problems);
    };
    match sharing::change_consent(&state.store, &caller, bsn_valid.as_ref(), status).await {
        Ok(()) => Json(ConsentChanged {
            status: status.as_str().into(),
        })
        .into_response(),
        Err(SharingError::NeverShared) => {
            if let Err(r) = refuse(&state, &caller, Some(&bsn), "never_shared").await {
                return r;
            }
            refusal(
                StatusCode::NOT_FOUND,
                "not_found",
                "this source never shared this client",
            )
        }
        Err(other) => internal(other),
    }
}

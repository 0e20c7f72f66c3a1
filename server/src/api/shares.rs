//! `PUT /api/v1/shares/{bsn}` and `PUT /api/v1/shares/{bsn}/consent`.
//!
//! Order of checks: token (401), rate limit (429), body size (413), content type (415), JSON
//! syntax (400), contents (422); only then the change, in one transaction with its audit event.
//! Every refusal is an audit event (`token_refused` or `share_refused`) and changes nothing else.

use super::responses::{input_refused, internal, refusal, token_refused};
use super::token;
use app::backend::audit::NewAuditEvent;
use app::backend::request::meta_from;
use app::backend::sharing::{self, Caller, SharingError};
use app::backend::store::now_ms;
use app::backend::AppState;
use app::domain::share::{validate_consent, validate_share};
use app::domain::{AuditAction, FieldError, Outcome};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::net::SocketAddr;
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

/// Identifies the caller by token and applies the rate limit; the refusal is the response.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Caller, Response> {
    let meta = meta_from(headers, Some(peer));
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let now_secs = now_ms() / 1000;
    let verified = token::verify(
        &state.store,
        &state.settings.token_audience,
        authorization,
        now_secs,
    )
    .await
    .map_err(internal)?;
    let identity = match verified {
        Ok(identity) => identity,
        Err(refused) => {
            let mut event = NewAuditEvent::new(AuditAction::TokenRefused, Outcome::Denied)
                .with_request(meta)
                .with_detail(serde_json::json!({ "reason": refused.reason.code() }));
            event.source_id = refused.source_id;
            event.organisation_id = refused.organisation_id;
            state.store.record(event).await.map_err(internal)?;
            return Err(token_refused(refused.reason.code()));
        }
    };
    let caller = Caller {
        source_id: identity.source_id,
        organisation_id: identity.organisation_id,
        request: meta,
    };
    let since = now_ms() - 60_000;
    let calls = state
        .store
        .source_calls_since(&caller.source_id, since)
        .await
        .map_err(internal)?;
    if calls >= state.settings.source_calls_per_minute {
        refuse(state, &caller, None, "rate_limited").await?;
        return Err(refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many calls from this source in the last minute; try again later",
        ));
    }
    Ok(caller)
}

/// Records a refused share or consent call (fields only, never values).
async fn refuse(
    state: &AppState,
    caller: &Caller,
    bsn: Option<&str>,
    reason: &str,
) -> Result<(), Response> {
    refuse_with(state, caller, bsn, serde_json::json!({ "reason": reason })).await
}

async fn refuse_with(
    state: &AppState,
    caller: &Caller,
    bsn: Option<&str>,
    detail: serde_json::Value,
) -> Result<(), Response> {
    let mut event = caller
        .event(AuditAction::ShareRefused, Outcome::Denied)
        .with_detail(detail);
    event.bsn = bsn.map(|b| b.chars().take(16).collect());
    state.store.record(event).await.map_err(internal)?;
    Ok(())
}

/// Reads a JSON body: 413 when too large, 415 when not JSON, 400 when it does not parse.
async fn json_body(
    state: &AppState,
    caller: &Caller,
    bsn: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<serde_json::Value, Response> {
    let problem = |field: &str, problem: &str| vec![FieldError::new(field, problem)];
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
            refuse(state, caller, Some(bsn), "body_unreadable").await?;
            let text = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("larger than {} bytes", state.settings.source_body_limit)
            } else {
                "could not be read".to_owned()
            };
            return Err(input_refused(status, problem("body", &text)));
        }
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        refuse(state, caller, Some(bsn), "content_type").await?;
        return Err(input_refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            problem("content-type", "must be application/json"),
        ));
    }
    match serde_json::from_slice(&body) {
        Ok(value) => Ok(value),
        Err(_) => {
            refuse(state, caller, Some(bsn), "json_syntax").await?;
            Err(input_refused(
                StatusCode::BAD_REQUEST,
                problem("body", "is not valid JSON"),
            ))
        }
    }
}

/// The common start of both endpoints: who calls (token, rate limit), and the JSON body.
async fn authenticated_json(
    state: &AppState,
    peer: SocketAddr,
    bsn: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Caller, serde_json::Value), Response> {
    let caller = authenticate(state, headers, peer).await?;
    let value = json_body(state, &caller, bsn, headers, body).await?;
    Ok((caller, value))
}

fn field_names(problems: &[FieldError]) -> serde_json::Value {
    serde_json::json!({
        "reason": "invalid_input",
        "fields": problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(),
    })
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
        (status = 429, description = "Rate limit", body = super::responses::Refusal),
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
    let today = time::OffsetDateTime::now_utc().date();
    let share = match validate_share(&bsn, &value, today) {
        Ok(s) => s,
        Err(problems) => {
            if let Err(r) = refuse_with(&state, &caller, Some(&bsn), field_names(&problems)).await {
                return r;
            }
            return input_refused(StatusCode::UNPROCESSABLE_ENTITY, problems);
        }
    };
    match sharing::receive_share(&state.store, &caller, &share).await {
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
        (status = 429, description = "Rate limit", body = super::responses::Refusal),
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
    let mut problems = Vec::new();
    let bsn_valid = app::domain::Bsn::parse(&bsn)
        .map_err(|e| problems.push(FieldError::new("bsn", e.to_string())));
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

//! `PUT /api/v1/consent-profiles/{bsn}` (DESIGN 8.3): a consent registry sends the client's
//! national choice. The token, size, media type, JSON and rate-limit checks are the source
//! API's own (`shares`), with a registry's key instead of a source's; a source's token is
//! refused here, as a registry's is on the share and FHIR endpoints.

use super::responses::{input_refused, internal};
use super::shares::{authenticate_as, json_body, within_rate_limit, JSON};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use backend::consent_registry::{self, ProfileError, RegistryCaller};
use backend::store::Party;
use backend::AppState;
use serde::Serialize;
use std::net::SocketAddr;
use utoipa::ToSchema;

/// 200 answer: the stored profile and its version for this client.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileStored {
    /// `all`, `selected` or `none`.
    pub choice: String,
    /// With `selected`: the organisations listed (network ids).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisations: Option<Vec<String>>,
    /// With `selected`: the kinds of organisation listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation_kinds: Option<Vec<String>>,
    /// Rises by one with every profile of this client; `read` and `search` events record it.
    pub version: i64,
}

/// Replace the client's consent profile (a registry's token only).
#[utoipa::path(
    put,
    path = "/api/v1/consent-profiles/{bsn}",
    tag = "consent registry",
    params(("bsn" = String, Path, description = "The client's BSN (9 digits, 11-check)")),
    request_body(content = super::openapi::ProfileBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Profile stored; it applies to every read from now on", body = ProfileStored),
        (status = 400, description = "Body is not JSON", body = super::responses::InputRefused),
        (status = 401, description = "Token refused (also a source's token)", body = super::responses::TokenRefused),
        (status = 413, description = "Body too large", body = super::responses::InputRefused),
        (status = 415, description = "Not application/json", body = super::responses::InputRefused),
        (status = 422, description = "Invalid profile or BSN: every problem listed", body = super::responses::InputRefused),
        (status = 429, description = "Rate limit of this registry's verified calls", body = super::responses::Refusal),
    ),
    security(("source_token" = []))
)]
pub async fn put_profile(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(bsn): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let caller = match authenticate_as(&state, &headers, peer, &JSON, Party::Registry).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let value = match json_body(
        &state,
        &caller,
        Some(&bsn),
        &headers,
        body,
        &["application/json"],
        &JSON,
    )
    .await
    {
        Ok(value) => value,
        Err(response) => return response,
    };
    if let Err(response) = within_rate_limit(&state, &caller, &JSON).await {
        return response;
    }
    let registry = RegistryCaller {
        registry_id: caller.source_id,
        request: caller.request,
    };
    match consent_registry::receive_profile(&state.store, &registry, &bsn, &value).await {
        Ok(receipt) => {
            let selected = matches!(
                receipt.profile,
                domain::consent_profile::ConsentProfile::Selected { .. }
            );
            Json(ProfileStored {
                choice: receipt.profile.choice().as_str().to_owned(),
                organisations: selected.then(|| receipt.profile.organisations()),
                organisation_kinds: selected.then(|| {
                    receipt
                        .profile
                        .kinds()
                        .iter()
                        .map(|k| k.as_str().to_owned())
                        .collect()
                }),
                version: receipt.version,
            })
            .into_response()
        }
        Err(ProfileError::Invalid(problems)) => {
            input_refused(StatusCode::UNPROCESSABLE_ENTITY, problems)
        }
        Err(ProfileError::Store(e)) => internal(e),
    }
}

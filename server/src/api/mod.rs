//! The source API (DESIGN section 8): how source systems share data and consent changes.
//! Stable contract; the OpenAPI document at `/api/v1/openapi.json` is generated from this code.
//! Browser session cookies are never credentials here: this router has no session layer and
//! only a verified Bearer token identifies the caller.

mod consent_profiles;
mod fhir;
pub mod openapi;
mod responses;
mod shares;
pub mod token;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;

/// The routes under `/api/v1`.
pub fn router(body_limit: usize) -> Router<crate::startup::ServerState> {
    Router::new()
        .route("/shares/{bsn}", put(shares::put_share))
        .route("/shares/{bsn}/consent", put(shares::put_consent))
        .route(
            "/consent-profiles/{bsn}",
            put(consent_profiles::put_profile),
        )
        .route("/fhir", post(fhir::post_bundle))
        .route("/fhir/metadata", get(fhir::metadata))
        .route("/openapi.json", get(openapi::document))
        .layer(DefaultBodyLimit::max(body_limit))
}

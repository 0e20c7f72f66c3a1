//! The API's JSON answers (documented in the OpenAPI document with the same types).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

/// One problem with the input.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Where: `bsn`, `client.name`, `entries[3].category`, `content-type`, `body`, ...
    pub field: String,
    pub problem: String,
}

/// 400, 413, 415, 422: the input was refused; nothing changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct InputRefused {
    /// Always `invalid_input`.
    pub error: String,
    pub problems: Vec<Problem>,
}

/// 401: the token was refused. `reason` is a short code, never the token: `not_verified` for an
/// unknown issuer, an unknown key and a bad signature alike (so it does not tell which sources
/// exist), otherwise what was wrong with a token the source did sign (`expired`,
/// `not_yet_valid`, `replayed_jti`, ...).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenRefused {
    /// Always `invalid_token`.
    pub error: String,
    pub reason: String,
}

/// 404, 409, 429, 500: a refusal with a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct Refusal {
    /// `not_found`, `consent_withdrawn`, `rate_limited` or `internal`.
    pub error: String,
    pub message: String,
}

pub fn input_refused(status: StatusCode, problems: Vec<FieldError>) -> Response {
    let body = InputRefused {
        error: "invalid_input".into(),
        problems: problems
            .into_iter()
            .map(|p| Problem {
                field: p.field,
                problem: p.problem,
            })
            .collect(),
    };
    (status, Json(body)).into_response()
}

pub fn token_refused(reason: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        Json(TokenRefused {
            error: "invalid_token".into(),
            reason: reason.into(),
        }),
    )
        .into_response()
}

pub fn refusal(status: StatusCode, error: &str, message: &str) -> Response {
    (
        status,
        Json(Refusal {
            error: error.into(),
            message: message.into(),
        }),
    )
        .into_response()
}

/// Our failure: logged with its cause on the server, opaque to the caller.
pub fn internal(err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "source API failure");
    refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error; nothing was changed",
    )
}

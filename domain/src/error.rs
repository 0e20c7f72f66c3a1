//! The one application error that crosses the wire between server functions and the browser.
//! `Internal` carries no detail: the cause is logged on the server where it happened.

use crate::FieldError;
use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("U bent niet (meer) ingelogd.")]
    Unauthenticated,
    #[error("Inloggen is niet gelukt. Controleer uw gebruikersnaam en wachtwoord.")]
    LoginFailed,
    #[error("U heeft geen toegang tot deze functie.")]
    Forbidden,
    #[error("Niet gevonden.")]
    NotFound,
    #[error("De invoer is niet in orde.")]
    Validation { field_errors: Vec<FieldError> },
    #[error("{0}")]
    Conflict(String),
    #[error("Er ging iets mis aan de kant van de server. Probeer het later opnieuw.")]
    Internal,
    /// The password hasher is fully taken (rule 9): nothing was checked, try again shortly.
    #[error("Het is nu erg druk. Probeer het over enkele seconden opnieuw.")]
    Busy,
}

impl AppError {
    /// A validation error about one field.
    pub fn field(field: &str, problem: impl Into<String>) -> Self {
        AppError::Validation {
            field_errors: vec![FieldError::new(field, problem)],
        }
    }

    /// The problem reported for `field`, if any (for showing it beside the input).
    pub fn problem_for(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation { field_errors } => field_errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.problem.clone()),
            _ => None,
        }
    }

    pub fn status_code(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            AppError::Unauthenticated | AppError::LoginFailed => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Arguments the caller sent that do not decode: the caller's mistake, not ours.
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_) => AppError::field(
                "formulier",
                "het formulier is onvolledig of onleesbaar verstuurd",
            ),
            _ => AppError::Internal,
        }
    }
}

//! The code map of the FHIR intake as an administrator extends it (`ooievaar codes add`) and
//! every professional reads it (`/policy`).

use crate::accounts::cli_event;
use crate::store::{Store, StoreError};
use domain::audit_detail::{self as detail, AuditDetail};
use domain::code_map::{validate_mapping, CodeMapping};
use domain::error::AppError;
use domain::AuditAction;

/// The whole map, by category and label.
pub async fn code_map(store: &Store) -> Result<Vec<CodeMapping>, AppError> {
    Ok(store.code_map().await?)
}

/// Adds a row, logged as `code_map_changed`. Problems are field errors named by their option;
/// an existing (system, code) is refused and left as it is.
pub async fn add_code(
    store: &Store,
    system: &str,
    code: &str,
    category: &str,
    sensitivity: &str,
    label: &str,
    source: &str,
) -> Result<CodeMapping, AppError> {
    let mapping = validate_mapping(system, code, category, sensitivity, label, source)
        .map_err(|field_errors| AppError::Validation { field_errors })?;
    let mut event = cli_event(AuditAction::CodeMapChanged);
    event.detail = Some(AuditDetail::CodeMapChanged(detail::CodeMapChanged {
        system: mapping.system.clone(),
        code: mapping.code.clone(),
        category: mapping.category.as_str().to_owned(),
        sensitivity: mapping.sensitivity.as_str().to_owned(),
    }));
    match store.add_code_mapping(&mapping, event).await {
        Err(StoreError::AlreadyExists(_)) => Err(AppError::field(
            "--code",
            "deze code staat al in de codetabel; een bestaande regel wordt niet gewijzigd (opgeslagen gegevens houden hun categorie)",
        )),
        other => other.map(|()| mapping).map_err(AppError::from),
    }
}

//! Server function of `/policy`.

#[cfg(feature = "ssr")]
use crate::context::{as_user, Allowed};
use domain::error::AppError;
use domain::policy::PolicyRow;
use leptos::prelude::*;

/// The policy table as stored (any logged-in user may read it).
#[server(endpoint = "policy")]
pub async fn policy_table() -> Result<Vec<PolicyRow>, AppError> {
    as_user(Allowed::AnyUser, |call, _| async move {
        backend::viewing::policy_table(&call.state.store).await
    })
    .await
}

/// The code map of the FHIR intake (any logged-in user may read it: where a coded value lands).
#[server(endpoint = "code_map")]
pub async fn code_map_table() -> Result<Vec<domain::code_map::CodeMapping>, AppError> {
    as_user(Allowed::AnyUser, |call, _| async move {
        backend::codes::code_map(&call.state.store).await
    })
    .await
}

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

//! Server function of `/gebruikers`.

#[cfg(feature = "ssr")]
use crate::context::{as_user, Allowed};
use domain::error::AppError;
use domain::user_view::UserListItem;
use leptos::prelude::*;

/// The users of the administrator's organisation (role `beheerder` only).
#[server(endpoint = "users")]
pub async fn list_users() -> Result<Vec<UserListItem>, AppError> {
    as_user(
        Allowed::Roles(&[domain::Role::Beheerder]),
        |call, admin| async move {
            backend::accounts::organisation_users(&call.state.store, &admin).await
        },
    )
    .await
}

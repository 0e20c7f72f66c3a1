//! Server function of `/account`.

#[cfg(feature = "ssr")]
use crate::context::{as_user, Allowed};
use domain::error::AppError;
use leptos::prelude::*;

/// Changes the logged-in user's password; the current one is required.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    use secrecy::SecretString;
    as_user(Allowed::AnyUser, |call, user| async move {
        let generation = backend::accounts::change_password(
            &call.state,
            &user,
            SecretString::from(current_password),
            SecretString::from(new_password),
            SecretString::from(confirm_password),
            call.meta,
        )
        .await?;
        // Every other session of hers has ended; this one continues under a new id and the
        // new generation, keeping its login time (the absolute lifetime counts from the login).
        backend::session::continue_after_password_change(&call.session, generation).await?;
        leptos_axum::redirect("/account?gewijzigd=1");
        Ok(())
    })
    .await
}

pub fn create_change_password_action() -> ServerAction<ChangePassword> {
    ServerAction::<ChangePassword>::new()
}

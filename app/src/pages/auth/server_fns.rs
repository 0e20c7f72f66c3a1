//! Server functions of login and the shell. Each one checks the session itself.

#[cfg(feature = "ssr")]
use crate::context::anonymous;
use domain::error::AppError;
use domain::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the frame shows about the logged-in user (nothing secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub display_name: String,
    pub username: String,
    pub role: Role,
    pub organisation_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShellView {
    pub user: Option<UserView>,
    /// The database holds demo data: every page says DEMO.
    pub demo: bool,
}

/// The user of this session (if any) and the demo flag.
#[server(endpoint = "shell")]
pub async fn shell_info() -> Result<ShellView, AppError> {
    anonymous(|call| async move {
        let user = call.user().await?.map(|u| UserView {
            display_name: u.display_name,
            username: u.username,
            role: u.role,
            organisation_name: u.organisation_name,
        });
        Ok(ShellView {
            user,
            demo: backend::accounts::is_demo(&call.state.store).await?,
        })
    })
    .await
}

/// Logs in with username and password; on success a clean session (nothing of the previous
/// one is kept) and a redirect to `/`.
#[server(endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    anonymous(|call| async move {
        let user = backend::accounts::login(
            &call.state,
            &username,
            secrecy::SecretString::from(password),
            call.meta,
        )
        .await?;
        backend::session::start(&call.session, &user).await?;
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}

/// Ends the session (logged as `logout`) and goes to the login page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    anonymous(|call| async move {
        if let Some(user) = call.user().await? {
            backend::accounts::logout(&call.state.store, &user, call.meta).await?;
        }
        backend::session::end(&call.session).await?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

pub fn create_login_action() -> ServerAction<Login> {
    ServerAction::<Login>::new()
}

pub fn create_logout_action() -> ServerAction<Logout> {
    ServerAction::<Logout>::new()
}

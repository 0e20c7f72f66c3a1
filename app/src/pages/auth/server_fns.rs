//! Server functions of login and the shell. Each one checks the session itself.

use crate::domain::Role;
use crate::error::AppError;
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
    use crate::backend::session;
    let state = crate::backend::state::app_state()?;
    let user = session::current_user().await?.map(|u| UserView {
        display_name: u.display_name,
        username: u.username,
        role: u.role,
        organisation_name: u.organisation_name,
    });
    Ok(ShellView {
        user,
        demo: state.store.is_demo().await?,
    })
}

/// Logs in with username and password; on success a clean session (nothing of the previous
/// one is kept) and a redirect to `/`.
#[server(endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    use crate::backend::{accounts, request, session};
    let result = async {
        let state = crate::backend::state::app_state()?;
        let meta = request::current_meta().await;
        let user = accounts::login(
            &state,
            &username,
            secrecy::SecretString::from(password),
            meta,
        )
        .await?;
        let s = session::current_session().await?;
        session::start(&s, &user).await?;
        leptos_axum::redirect("/");
        Ok(())
    }
    .await;
    crate::pages::form::finish(result).await
}

/// Ends the session (logged as `logout`) and goes to the login page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::backend::audit::NewAuditEvent;
    use crate::backend::{request, session};
    use crate::domain::{AuditAction, Outcome};
    let state = crate::backend::state::app_state()?;
    if let Some(user) = session::current_user().await? {
        state
            .store
            .record(
                NewAuditEvent::new(AuditAction::Logout, Outcome::Success)
                    .by(user.actor())
                    .with_request(request::current_meta().await),
            )
            .await?;
    }
    session::end(&session::current_session().await?).await?;
    leptos_axum::redirect("/login");
    Ok(())
}

pub fn create_login_action() -> ServerAction<Login> {
    ServerAction::<Login>::new()
}

pub fn create_logout_action() -> ServerAction<Logout> {
    ServerAction::<Logout>::new()
}

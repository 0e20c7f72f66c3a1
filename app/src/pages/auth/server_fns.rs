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

/// The second step a half-logged-in session waits for (it shows no name: nobody is logged in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PendingStep {
    Code,
    Enrol,
}

impl PendingStep {
    /// The page of the step; every page leads there while it is pending.
    pub fn path(self) -> &'static str {
        match self {
            PendingStep::Code => "/login/code",
            PendingStep::Enrol => "/login/instellen",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShellView {
    pub user: Option<UserView>,
    /// After a right password, before the second step (then `user` is `None`).
    pub pending: Option<PendingStep>,
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
        let pending = match &user {
            Some(_) => None,
            None => backend::session::pending(&call.state, &call.session)
                .await?
                .map(|p| match p.step {
                    backend::session::PendingStep::Code => PendingStep::Code,
                    backend::session::PendingStep::Enrol => PendingStep::Enrol,
                }),
        };
        Ok(ShellView {
            user,
            pending,
            demo: backend::accounts::is_demo(&call.state.store).await?,
        })
    })
    .await
}

/// The first step of a login: username and password. A right password starts a clean,
/// half-logged-in session (nothing of the previous one is kept) and leads to the second step
/// (the code, or setting up the app); it logs her in only where no second factor is required
/// and she has none.
#[server(endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    anonymous(|call| async move {
        let user = backend::accounts::check_password(
            &call.state,
            &username,
            secrecy::SecretString::from(password),
            call.meta.clone(),
        )
        .await?;
        let next =
            backend::second_factor::after_password(&call.state, &call.session, user, call.meta)
                .await?;
        leptos_axum::redirect(next.path());
        Ok(())
    })
    .await
}

/// The second step: a code from her app or a recovery code. Right: logged in, to `/`. Wrong:
/// an error on `code`; the 5th wrong code sends her back to the password.
#[server(endpoint = "login_code")]
pub async fn login_code(code: String) -> Result<(), AppError> {
    anonymous(|call| async move {
        let next =
            backend::second_factor::login_with_code(&call.state, &call.session, &code, call.meta)
                .await?;
        leptos_axum::redirect(next.path());
        Ok(())
    })
    .await
}

/// What the enrolment page shows: the secret as text and as a QR code (SVG made on the server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentView {
    pub secret: String,
    pub qr_svg: String,
}

/// The enrolment of the half-logged-in user at her first login.
#[server(endpoint = "login_enrolment")]
pub async fn login_enrolment() -> Result<EnrolmentView, AppError> {
    anonymous(|call| async move {
        let e = backend::second_factor::enrolment(&call.state, &call.session, None).await?;
        Ok(EnrolmentView {
            secret: e.secret_base32,
            qr_svg: e.qr_svg,
        })
    })
    .await
}

/// Confirms the enrolment with a first code: logged in, and her recovery codes are shown once
/// on `/account/herstelcodes`.
#[server(endpoint = "login_enrol")]
pub async fn login_enrol(code: String) -> Result<(), AppError> {
    anonymous(|call| async move {
        let (next, codes) = backend::second_factor::confirm_enrolment(
            &call.state,
            &call.session,
            None,
            &code,
            call.meta,
        )
        .await?;
        if codes.is_empty() {
            leptos_axum::redirect(next.path());
        } else {
            crate::pages::account::show_recovery_codes(&call.session, codes).await?;
        }
        Ok(())
    })
    .await
}

/// The second step with a passkey, part one: the options for `navigator.credentials.get`
/// (JSON text; `public/passkeys.js` uses them).
#[server(endpoint = "passkey_login_start")]
pub async fn passkey_login_start() -> Result<String, AppError> {
    anonymous(|call| async move {
        backend::second_factor::passkeys::start_login(&call.state, &call.session).await
    })
    .await
}

/// The second step with a passkey, part two: the browser's answer (JSON text).
#[server(endpoint = "passkey_login_finish")]
pub async fn passkey_login_finish(credential: String) -> Result<String, AppError> {
    anonymous(|call| async move {
        let next = backend::second_factor::passkeys::finish_login(
            &call.state,
            &call.session,
            &credential,
            call.meta,
        )
        .await?;
        Ok(next.path().to_owned())
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

pub fn create_login_code_action() -> ServerAction<LoginCode> {
    ServerAction::<LoginCode>::new()
}

pub fn create_login_enrol_action() -> ServerAction<LoginEnrol> {
    ServerAction::<LoginEnrol>::new()
}

pub fn create_logout_action() -> ServerAction<Logout> {
    ServerAction::<Logout>::new()
}

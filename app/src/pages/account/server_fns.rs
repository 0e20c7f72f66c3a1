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

/// Her second factors as `/account` lists them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FactorsView {
    /// Since when she has the authenticator app (a Dutch date), if she has it.
    pub totp_since: Option<String>,
    pub recovery_codes_left: i64,
    pub passkeys: Vec<PasskeyView>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub added: String,
}

/// Her second factors.
#[server(endpoint = "account_factors")]
pub async fn account_factors() -> Result<FactorsView, AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        let o = backend::second_factor::overview(&call.state, &user.id).await?;
        Ok(FactorsView {
            totp_since: o.totp_since.map(backend::clock::dutch_date),
            recovery_codes_left: o.recovery_codes_left,
            passkeys: o
                .passkeys
                .into_iter()
                .map(|(id, name, added)| PasskeyView {
                    id,
                    name,
                    added: backend::clock::dutch_date(added),
                })
                .collect(),
        })
    })
    .await
}

/// Keeps new recovery codes to be shown once (never in a URL) and goes to the page that
/// shows them.
#[cfg(feature = "ssr")]
pub async fn show_recovery_codes(
    session: &tower_sessions::Session,
    codes: Vec<String>,
) -> Result<(), AppError> {
    backend::session::set_flash(session, "recovery_codes", &codes).await?;
    leptos_axum::redirect("/account/herstelcodes");
    Ok(())
}

/// Her new recovery codes, once: a second call (a reload) gets none.
#[server(endpoint = "recovery_codes")]
pub async fn recovery_codes() -> Result<Vec<String>, AppError> {
    as_user(Allowed::AnyUser, |call, _user| async move {
        Ok(
            backend::session::take_flash::<Vec<String>>(&call.session, "recovery_codes")
                .await?
                .unwrap_or_default(),
        )
    })
    .await
}

/// New recovery codes (the old ones stop working), after a fresh code.
#[server(endpoint = "renew_recovery_codes")]
pub async fn renew_recovery_codes(code: String) -> Result<(), AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        let codes =
            backend::second_factor::renew_recovery_codes(&call.state, &user, &code, call.meta)
                .await?;
        show_recovery_codes(&call.session, codes).await
    })
    .await
}

/// Removes one of her passkeys, after a fresh code.
#[server(endpoint = "remove_passkey")]
pub async fn remove_passkey(passkey_id: String, code: String) -> Result<(), AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        backend::second_factor::passkeys::remove(&call.state, &user, &passkey_id, &code, call.meta)
            .await?;
        leptos_axum::redirect("/account?passkey=verwijderd");
        Ok(())
    })
    .await
}

/// Setting up the app on `/account` (where no second factor is required and she has none).
#[server(endpoint = "account_enrolment")]
pub async fn account_enrolment() -> Result<crate::pages::auth::EnrolmentView, AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        let e = backend::second_factor::enrolment(&call.state, &call.session, Some(&user)).await?;
        Ok(crate::pages::auth::EnrolmentView {
            secret: e.secret_base32,
            qr_svg: e.qr_svg,
        })
    })
    .await
}

/// Confirms setting up the app on `/account` with a first code; her recovery codes follow.
#[server(endpoint = "account_enrol")]
pub async fn account_enrol(code: String) -> Result<(), AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        let (_, codes) = backend::second_factor::confirm_enrolment(
            &call.state,
            &call.session,
            Some(&user),
            &code,
            call.meta,
        )
        .await?;
        show_recovery_codes(&call.session, codes).await
    })
    .await
}

/// Adding a passkey, part one (after a fresh code): the options for
/// `navigator.credentials.create` (JSON text; `public/passkeys.js` uses them).
#[server(endpoint = "passkey_register_start")]
pub async fn passkey_register_start(code: String) -> Result<String, AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        backend::second_factor::passkeys::start_registration(
            &call.state,
            &call.session,
            &user,
            &code,
            &call.meta,
        )
        .await
    })
    .await
}

/// Adding a passkey, part two: the browser's answer (JSON text) and the name she gave it.
#[server(endpoint = "passkey_register_finish")]
pub async fn passkey_register_finish(name: String, credential: String) -> Result<(), AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        backend::second_factor::passkeys::finish_registration(
            &call.state,
            &call.session,
            &user,
            &name,
            &credential,
            call.meta,
        )
        .await
    })
    .await
}

pub fn create_renew_recovery_codes_action() -> ServerAction<RenewRecoveryCodes> {
    ServerAction::<RenewRecoveryCodes>::new()
}

pub fn create_remove_passkey_action() -> ServerAction<RemovePasskey> {
    ServerAction::<RemovePasskey>::new()
}

pub fn create_account_enrol_action() -> ServerAction<AccountEnrol> {
    ServerAction::<AccountEnrol>::new()
}

//! Accounts: password hashing (argon2id, off the async runtime), login with slowed-down
//! guessing, password change, and the administrative account changes of the command line.

use super::audit::{Actor, NewAuditEvent, RequestMeta};
use super::session::SessionUser;
use super::store::{now_ms, NewUser, Store, StoreError};
use super::Settings;
use crate::domain::{AuditAction, FieldError, OrganisationKind, Outcome, Role, Username};
use crate::error::AppError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use secrecy::{ExposeSecret, SecretString};
use std::sync::OnceLock;
use std::time::Duration;

/// Minimum length of a new password.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Hashes a password with argon2id (default parameters) on the blocking pool.
pub async fn hash_password(password: SecretString) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|_| AppError::Internal)?
    .map_err(|_| AppError::Internal)
}

/// A hash of nothing in particular, verified against when the username is unknown so both
/// cases take the same time (no user enumeration by timing).
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(b"not a password of anyone", &salt)
            .expect("argon2 hashes a constant")
            .to_string()
    })
}

/// Verifies on the blocking pool; a malformed stored hash counts as a mismatch.
async fn verify_password(password: SecretString, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let hash = hash.unwrap_or_else(|| dummy_hash().to_owned());
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// How long to hold back the answer to a failed login after `failures` recent failures:
/// nothing for the first few, then doubling from half a second up to the maximum.
pub fn failure_delay(failures: i64, settings: &Settings) -> Duration {
    let over = failures - settings.login_free_failures;
    if over < 0 {
        return Duration::ZERO;
    }
    let delay = Duration::from_millis(500).saturating_mul(1u32 << over.min(16) as u32);
    delay.min(settings.login_max_delay)
}

/// Checks a username and password. Every failure gives the same `LoginFailed` (unknown user,
/// wrong password, disabled account) and is logged as `login_failed`; failures are answered
/// more slowly the more recent failures there were for that name or address. A successful
/// login is never delayed and is logged as `login`.
pub async fn login(
    store: &Store,
    settings: &Settings,
    username: &str,
    password: SecretString,
    meta: RequestMeta,
) -> Result<SessionUser, AppError> {
    let name: String = username.trim().to_lowercase().chars().take(64).collect();
    let row = match Username::parse(&name) {
        Ok(valid) => store.user_by_username(valid.as_ref()).await?,
        Err(_) => None,
    };
    let matches = verify_password(password, row.as_ref().map(|r| r.password_hash.clone())).await;
    let user = row
        .clone()
        .filter(|_| matches)
        .and_then(SessionUser::from_row);
    if let Some(user) = user {
        store
            .record(
                NewAuditEvent::new(AuditAction::Login, Outcome::Success)
                    .by(user.actor())
                    .with_request(meta),
            )
            .await?;
        return Ok(user);
    }

    let since = now_ms() - settings.login_window.as_millis() as i64;
    let (for_name, from_address) = store
        .recent_login_failures(&name, meta.ip.as_deref(), since)
        .await?;
    // Counting this failure too.
    let failures = for_name.max(from_address) + 1;
    let mut event = NewAuditEvent::new(AuditAction::LoginFailed, Outcome::Denied)
        .with_request(meta)
        .with_detail(serde_json::json!({
            "failures_for_name": for_name + 1,
            "failures_from_address": from_address + 1,
        }));
    // A known user's failed login belongs to her organisation's log; an unknown name to none.
    match row.as_ref().and_then(|r| Some((r, r.role()?))) {
        Some((r, role)) => {
            event = event.by(Actor {
                user_id: r.id.clone(),
                user_name: r.username.clone(),
                role,
                organisation_id: r.organisation_id.clone(),
            })
        }
        None => event.attempted_user_name = Some(name),
    }
    store.record(event).await?;
    tokio::time::sleep(failure_delay(failures, settings)).await;
    Err(AppError::LoginFailed)
}

/// Checks a new password; problems are reported on `field`.
pub fn check_new_password(
    field: &str,
    username: &str,
    new: &str,
    confirm: &str,
) -> Result<(), AppError> {
    let problem = if new.chars().count() < MIN_PASSWORD_LEN {
        Some(format!(
            "het nieuwe wachtwoord moet minstens {MIN_PASSWORD_LEN} tekens hebben"
        ))
    } else if new.chars().count() > 128 {
        Some("het nieuwe wachtwoord mag hoogstens 128 tekens hebben".to_owned())
    } else if new.to_lowercase().contains(&username.to_lowercase()) {
        Some("het nieuwe wachtwoord mag uw gebruikersnaam niet bevatten".to_owned())
    } else if new != confirm {
        Some("de twee nieuwe wachtwoorden zijn niet gelijk".to_owned())
    } else {
        None
    };
    match problem {
        Some(p) => Err(AppError::field(field, p)),
        None => Ok(()),
    }
}

/// Changes the user's own password; the current password is required.
pub async fn change_password(
    store: &Store,
    user: &SessionUser,
    current: SecretString,
    new: SecretString,
    confirm: SecretString,
    meta: RequestMeta,
) -> Result<(), AppError> {
    let row = store
        .user_by_id(&user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if !verify_password(current, Some(row.password_hash)).await {
        return Err(AppError::field(
            "current_password",
            "het huidige wachtwoord klopt niet",
        ));
    }
    check_new_password(
        "new_password",
        &user.username,
        new.expose_secret(),
        confirm.expose_secret(),
    )?;
    let hash = hash_password(new).await?;
    store
        .set_password_hash(
            &user.id,
            &hash,
            NewAuditEvent::new(AuditAction::PasswordChanged, Outcome::Success)
                .by(user.actor())
                .with_request(meta),
        )
        .await?;
    Ok(())
}

/// The actor of command-line changes: the operating-system account, no user of the network.
fn cli_event(action: AuditAction) -> NewAuditEvent {
    let mut event = NewAuditEvent::new(action, Outcome::Success);
    event.request.user_agent = Some("ooievaar-cli".into());
    event.on_behalf_of = std::env::var("USER").ok().map(|u| format!("os:{u}"));
    event
}

/// Adds an organisation (command line). Problems are field errors; nothing is stored then.
pub async fn add_organisation(
    store: &Store,
    id: &str,
    name: &str,
    kind: &str,
) -> Result<(), AppError> {
    let mut problems = Vec::new();
    if !valid_key(id) {
        problems.push(FieldError::new(
            "--id",
            "2-64 tekens: kleine letters, cijfers en '-'",
        ));
    }
    if name.trim().is_empty() || name.chars().count() > 200 {
        problems.push(FieldError::new(
            "--name",
            "een naam van 1-200 tekens is verplicht",
        ));
    }
    let kind = OrganisationKind::parse(kind);
    if kind.is_none() {
        problems.push(FieldError::new(
            "--kind",
            "kies verloskundigenpraktijk, ziekenhuis, kraamzorg of echocentrum",
        ));
    }
    if !problems.is_empty() {
        return Err(AppError::Validation {
            field_errors: problems,
        });
    }
    let mut event = cli_event(AuditAction::OrganisationAdded);
    event.organisation_id = Some(id.to_owned());
    event.detail = serde_json::json!({ "organisation": id, "kind": kind.map(|k| k.as_str()) });
    match store
        .add_organisation(id, name.trim(), kind.expect("checked above"), event)
        .await
    {
        Err(StoreError::AlreadyExists(_)) => {
            Err(AppError::field("--id", "deze organisatie bestaat al"))
        }
        other => Ok(other?),
    }
}

/// A stable key for organisations and sources.
pub fn valid_key(id: &str) -> bool {
    (2..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Adds a user (command line, demo seed). Problems are field errors; nothing is stored then.
pub async fn add_user(
    store: &Store,
    organisation_id: &str,
    role: &str,
    username: &str,
    display_name: &str,
    password: SecretString,
) -> Result<(), AppError> {
    let mut problems = Vec::new();
    let organisation = store.organisation(organisation_id).await?;
    if organisation.is_none() {
        problems.push(FieldError::new("--organisation", "onbekende organisatie"));
    }
    let role = Role::parse(role);
    if role.is_none() {
        problems.push(FieldError::new(
            "--role",
            "kies verloskundige, gynaecoloog, og_verpleegkundige, kraamverzorgende, echoscopist, privacy_officer of beheerder",
        ));
    }
    let username = Username::parse(username).map_err(|p| FieldError::new("--username", p));
    if let Err(p) = &username {
        problems.push(p.clone());
    }
    if display_name.trim().is_empty() || display_name.chars().count() > 200 {
        problems.push(FieldError::new(
            "--name",
            "een naam van 1-200 tekens is verplicht",
        ));
    }
    let name_for_check = username
        .as_ref()
        .map(|u| u.as_ref().to_owned())
        .unwrap_or_default();
    if let Err(AppError::Validation { field_errors }) = check_new_password(
        "password",
        &name_for_check,
        password.expose_secret(),
        password.expose_secret(),
    ) {
        problems.extend(field_errors);
    }
    if !problems.is_empty() {
        return Err(AppError::Validation {
            field_errors: problems,
        });
    }
    let (role, username) = (role.expect("checked"), username.expect("checked"));
    let user = NewUser {
        id: uuid::Uuid::new_v4().to_string(),
        organisation_id: organisation_id.to_owned(),
        username,
        display_name: display_name.trim().to_owned(),
        role,
    };
    let hash = hash_password(password).await?;
    let mut event = cli_event(AuditAction::UserAdded);
    event.organisation_id = Some(organisation_id.to_owned());
    event.detail = serde_json::json!({
        "user_id": user.id, "username": user.username.as_ref(), "role": role.as_str()
    });
    match store.add_user(&user, &hash, event).await {
        Err(StoreError::AlreadyExists(_)) => Err(AppError::field(
            "--username",
            "deze gebruikersnaam bestaat al",
        )),
        other => Ok(other?),
    }
}

/// Disables a user (command line).
pub async fn disable_user(store: &Store, username: &str) -> Result<(), AppError> {
    let row = store
        .user_by_username(&username.trim().to_lowercase())
        .await?
        .ok_or_else(|| AppError::field("--username", "onbekende gebruiker"))?;
    if row.is_disabled() {
        return Err(AppError::field(
            "--username",
            "deze gebruiker is al geblokkeerd",
        ));
    }
    let mut event = cli_event(AuditAction::UserDisabled);
    event.organisation_id = Some(row.organisation_id.clone());
    event.detail = serde_json::json!({ "user_id": row.id, "username": row.username });
    store.disable_user(&row.id, event).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failures_are_not_delayed_and_later_ones_are_capped() {
        let settings = Settings::default();
        assert_eq!(failure_delay(1, &settings), Duration::ZERO);
        assert_eq!(failure_delay(2, &settings), Duration::ZERO);
        assert_eq!(failure_delay(3, &settings), Duration::from_millis(500));
        assert_eq!(failure_delay(4, &settings), Duration::from_secs(1));
        assert_eq!(failure_delay(100, &settings), settings.login_max_delay);
    }

    #[test]
    fn new_passwords_must_be_long_different_from_the_name_and_confirmed() {
        assert!(check_new_password("p", "anna", "kort", "kort").is_err());
        assert!(check_new_password("p", "anna", "xxannaxxxxxxxx", "xxannaxxxxxxxx").is_err());
        assert!(
            check_new_password("p", "anna", "lang-genoeg-wachtwoord", "anders-wachtwoord!")
                .is_err()
        );
        assert!(check_new_password(
            "p",
            "anna",
            "lang-genoeg-wachtwoord",
            "lang-genoeg-wachtwoord"
        )
        .is_ok());
    }
}

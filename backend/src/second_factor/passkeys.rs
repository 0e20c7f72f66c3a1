//! Passkeys (WebAuthn) with `webauthn-rs`: added on `/account` after a fresh code, used in the
//! code step of a login instead of a code. The relying party is `OOIEVAAR_PUBLIC_URL` (default
//! `http://localhost:3000`): its host is the relying-party id (WebAuthn accepts no IP address
//! there) and the browser's origin must equal it.
//!
//! The browser side (`public/passkeys.js`) passes the library's challenge to
//! `navigator.credentials` and the answer back as JSON text; the ceremony's state waits in the
//! server-side session and is taken (used once) by the finishing call.

use super::{wrong_pending_code, Factor, Next};
use crate::audit::{NewAuditEvent, RequestMeta};
use crate::session::{self, PendingStep, SessionUser};
use crate::store::{NewPasskey, StoreError};
use crate::AppState;
use domain::audit_detail::{self as detail, AuditDetail};
use domain::error::AppError;
use domain::{AuditAction, Outcome};
use sha2::{Digest, Sha256};
use tower_sessions::Session;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

const REGISTRATION: &str = "passkey_registration";
const AUTHENTICATION: &str = "passkey_authentication";
/// Longest name she may give a passkey.
pub const MAX_NAME: usize = 60;

/// The relying party of `public_url`.
pub fn relying_party(public_url: &str) -> Result<Webauthn, String> {
    let origin = Url::parse(public_url).map_err(|e| format!("OOIEVAAR_PUBLIC_URL: {e}"))?;
    let host = origin
        .domain()
        .ok_or("OOIEVAAR_PUBLIC_URL must name a host, not an IP address (WebAuthn needs one)")?
        .to_owned();
    WebauthnBuilder::new(&host, &origin)
        .and_then(|b| b.rp_name("Ooievaar").build())
        .map_err(|e| format!("OOIEVAAR_PUBLIC_URL: not usable for passkeys: {e}"))
}

fn refused(err: impl std::fmt::Display) -> AppError {
    // The library's reason names no secret; it helps whoever reads the server log.
    tracing::info!(reason = %err, "passkey ceremony refused");
    AppError::field(
        "passkey",
        "de passkey is niet geaccepteerd; probeer het opnieuw",
    )
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|_| AppError::Internal)
}

fn credential_id(passkey: &Passkey) -> String {
    let bytes: &[u8] = passkey.cred_id().as_ref();
    hex::encode(bytes)
}

/// WebAuthn wants a stable user handle of 16 bytes; ours are opaque text.
fn user_handle(user: &SessionUser) -> Uuid {
    let digest = Sha256::digest(user.id.as_str().as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// Her stored passkeys with their row ids (a record that no longer reads is skipped).
async fn stored(state: &AppState, user: &SessionUser) -> Result<Vec<(String, Passkey)>, AppError> {
    Ok(state
        .store
        .passkeys(&user.id)
        .await?
        .into_iter()
        .filter_map(|row| {
            serde_json::from_str::<Passkey>(&row.credential)
                .ok()
                .map(|p| (row.id, p))
        })
        .collect())
}

/// Starts adding a passkey (after a fresh code): the options for `navigator.credentials.create`
/// as JSON.
pub async fn start_registration(
    state: &AppState,
    session: &Session,
    user: &SessionUser,
    code: &str,
    meta: &RequestMeta,
) -> Result<String, AppError> {
    super::require_fresh_code(state, user, code, meta).await?;
    let exclude = stored(state, user)
        .await?
        .iter()
        .map(|(_, p)| p.cred_id().clone())
        .collect();
    let (options, registration) = state
        .factors
        .webauthn
        .start_passkey_registration(
            user_handle(user),
            &user.username,
            &user.display_name,
            Some(exclude),
        )
        .map_err(refused)?;
    session::set_flash(session, REGISTRATION, &registration).await?;
    json(&options)
}

/// Finishes adding a passkey with the browser's answer (JSON) and the name she gave it.
pub async fn finish_registration(
    state: &AppState,
    session: &Session,
    user: &SessionUser,
    name: &str,
    credential: &str,
    meta: RequestMeta,
) -> Result<(), AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(AppError::field(
            "name",
            format!("geef de passkey een naam van 1-{MAX_NAME} tekens"),
        ));
    }
    let registration: PasskeyRegistration = session::take_flash(session, REGISTRATION)
        .await?
        .ok_or_else(|| refused("no registration was started in this session"))?;
    let answer: RegisterPublicKeyCredential = serde_json::from_str(credential).map_err(refused)?;
    let passkey = state
        .factors
        .webauthn
        .finish_passkey_registration(&answer, &registration)
        .map_err(refused)?;
    let id = uuid::Uuid::new_v4().to_string();
    let added = state
        .store
        .add_passkey(
            &user.id,
            &NewPasskey {
                id: id.clone(),
                credential_id: credential_id(&passkey),
                name: name.to_owned(),
                credential: json(&passkey)?,
            },
            NewAuditEvent::new(AuditAction::PasskeyAdded, Outcome::Success)
                .by(user.actor())
                .with_request(meta)
                .with_detail(AuditDetail::PasskeyAdded(detail::PasskeyNamed {
                    passkey_id: id,
                })),
        )
        .await;
    match added {
        Err(StoreError::AlreadyExists(_)) => {
            Err(AppError::field("passkey", "deze passkey is al toegevoegd"))
        }
        other => Ok(other?),
    }
}

/// Removes one of her passkeys after a fresh code.
pub async fn remove(
    state: &AppState,
    user: &SessionUser,
    passkey_id: &str,
    code: &str,
    meta: RequestMeta,
) -> Result<(), AppError> {
    super::require_fresh_code(state, user, code, &meta).await?;
    let removed = state
        .store
        .remove_passkey(
            &user.id,
            passkey_id,
            NewAuditEvent::new(AuditAction::PasskeyRemoved, Outcome::Success)
                .by(user.actor())
                .with_request(meta)
                .with_detail(AuditDetail::PasskeyRemoved(detail::PasskeyNamed {
                    passkey_id: passkey_id.to_owned(),
                })),
        )
        .await;
    match removed {
        Err(StoreError::NotFound(_)) => Err(AppError::NotFound),
        other => Ok(other?),
    }
}

/// Starts the code step with a passkey: the options for `navigator.credentials.get` as JSON.
pub async fn start_login(state: &AppState, session: &Session) -> Result<String, AppError> {
    let pending = super::pending_user(state, session, PendingStep::Code).await?;
    let passkeys: Vec<Passkey> = stored(state, &pending.user)
        .await?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    if passkeys.is_empty() {
        return Err(AppError::field(
            "passkey",
            "u heeft nog geen passkey; gebruik de code uit uw app",
        ));
    }
    let (options, authentication) = state
        .factors
        .webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(refused)?;
    session::set_flash(session, AUTHENTICATION, &authentication).await?;
    json(&options)
}

/// Finishes the code step with the browser's answer (JSON): a passkey of hers that verifies
/// logs her in (`factor: passkey`); anything else counts as a wrong code.
pub async fn finish_login(
    state: &AppState,
    session: &Session,
    credential: &str,
    meta: RequestMeta,
) -> Result<Next, AppError> {
    let pending = super::pending_user(state, session, PendingStep::Code).await?;
    let authentication: Option<PasskeyAuthentication> =
        session::take_flash(session, AUTHENTICATION).await?;
    let verified = match (
        authentication,
        serde_json::from_str::<PublicKeyCredential>(credential),
    ) {
        (Some(authentication), Ok(answer)) => state
            .factors
            .webauthn
            .finish_passkey_authentication(&answer, &authentication)
            .map_err(|e| tracing::info!(reason = %e, "passkey login refused"))
            .ok(),
        _ => None,
    };
    // The credential must be one of hers that is still stored (a removed passkey ends here).
    let mut matched = None;
    if let Some(result) = &verified {
        for (id, mut passkey) in stored(state, &pending.user).await? {
            if passkey.cred_id() == result.cred_id() {
                passkey.update_credential(result);
                matched = Some((id, passkey));
                break;
            }
        }
    }
    match matched {
        Some((id, passkey)) => {
            state
                .store
                .passkey_used(&pending.user.id, &id, &json(&passkey)?)
                .await?;
            super::finish_login(state, session, &pending.user, Factor::Passkey, meta).await?;
            Ok(Next::LoggedIn)
        }
        None => wrong_pending_code(state, session, &pending, "passkey", meta).await,
    }
}

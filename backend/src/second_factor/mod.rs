//! The second step of every login (rule 10, DESIGN 9): the authenticator app (TOTP), single-use
//! recovery codes and passkeys, their enrolment and administration.
//!
//! ## The flow
//! 1. A right password ([`crate::accounts::check_password`]) does not log her in. [`after_password`]
//!    starts a half-logged-in session ([`session::start_pending`]): it acts for nobody, so every
//!    page and server function treats it as logged out, and it lasts 5 minutes.
//!    - She has a second factor: the code step ([`login_with_code`], or a passkey,
//!      [`passkeys`]).
//!    - She has none and one is required (`OOIEVAAR_REQUIRE_2FA`, default on): enrolment
//!      ([`enrolment`], [`confirm_enrolment`]), which shows her recovery codes once.
//!    - She has none and none is required: logged in at once (`factor: password_only`).
//! 2. A right code completes the login ([`crate::accounts::complete_login`]: `login` with the
//!    factor, the account's run of failures ends) in a clean session ([`session::start`]).
//! 3. A wrong code is `second_factor_failed` and counts toward the account's lock-out like a
//!    wrong password; the 5th wrong code of a step ends the half login (back to the password).
//!
//! A TOTP code is accepted once: the store keeps the last accepted 30-second step and accepts a
//! step only after it, in one conditional update (any session, any instance). Secrets are
//! sealed and recovery codes hashed with the key of `OOIEVAAR_SECRET_KEY` ([`SecretKey`]).

pub mod passkeys;
mod sealing;
pub mod totp;

pub use sealing::{SecretKey, Unsealable};

use crate::accounts;
use crate::audit::{NewAuditEvent, RequestMeta};
use crate::session::{self, PendingStep, SessionUser};
use crate::store::{FailureCount, StoreError};
use crate::AppState;
use domain::audit_detail::{self as detail, AuditDetail};
use domain::error::AppError;
use domain::{AuditAction, Outcome, UserId};
use rand::Rng;
use std::sync::Arc;
use tower_sessions::Session;

/// Wrong codes in one second step before she is sent back to her password.
pub const MAX_WRONG_CODES: i64 = 5;
/// Recovery codes made at enrolment and at renewal.
pub const RECOVERY_CODES: usize = 10;
/// Digits of a recovery code (a TOTP code has 6, so the length tells them apart).
pub const RECOVERY_CODE_DIGITS: usize = 12;

/// The instance's second-factor keys: the secret key and the WebAuthn relying party. Cheap to
/// clone.
#[derive(Clone)]
pub struct Factors {
    pub key: SecretKey,
    pub webauthn: Arc<webauthn_rs::Webauthn>,
}

impl std::fmt::Debug for Factors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Factors([redacted])")
    }
}

impl Factors {
    /// The keys for `public_url` (`OOIEVAAR_PUBLIC_URL`; the relying party of passkeys).
    pub fn new(key: SecretKey, public_url: &str) -> Result<Self, String> {
        Ok(Self {
            key,
            webauthn: Arc::new(passkeys::relying_party(public_url)?),
        })
    }
}

/// Where a step leads next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Logged in: her start page.
    LoggedIn,
    /// The code step.
    Code,
    /// Setting up the authenticator app.
    Enrol,
    /// Too many wrong codes: the half login ended, back to the password.
    BackToPassword,
}

impl Next {
    /// The page this leads to.
    pub fn path(self) -> &'static str {
        match self {
            Next::LoggedIn => "/",
            Next::Code => "/login/code",
            Next::Enrol => "/login/instellen",
            Next::BackToPassword => "/login?opnieuw=1",
        }
    }
}

/// What a user typed into the `code` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// 6 digits from the authenticator app.
    Totp(String),
    /// One of her recovery codes.
    Recovery(String),
}

impl Code {
    /// Reads the `code` field: spaces and dashes are ignored; 6 digits are an app code, 12
    /// digits a recovery code; anything else is a field error (nothing is checked or counted).
    pub fn parse(input: &str) -> Result<Self, AppError> {
        let digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.is_empty() {
            return Err(AppError::field("code", "vul de code in"));
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(AppError::field(
                "code",
                "een code bestaat alleen uit cijfers",
            ));
        }
        match digits.len() {
            6 => Ok(Code::Totp(digits)),
            RECOVERY_CODE_DIGITS => Ok(Code::Recovery(digits)),
            _ => Err(AppError::field(
                "code",
                "vul de 6 cijfers uit uw app in, of een herstelcode van 12 cijfers",
            )),
        }
    }
}

/// The factor that completed a step, as `login` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Totp,
    RecoveryCode,
    Passkey,
    PasswordOnly,
}

impl Factor {
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Totp => "totp",
            Factor::RecoveryCode => "recovery_code",
            Factor::Passkey => "passkey",
            Factor::PasswordOnly => "password_only",
        }
    }
}

fn unix_seconds() -> u64 {
    (crate::store::now_ms() / 1000).max(0) as u64
}

fn sealed_failed(err: Unsealable) -> AppError {
    tracing::error!(error = %err, "second-factor secret does not open");
    AppError::Internal
}

/// After a right password: the next step for `user`, with the session set up for it.
pub async fn after_password(
    state: &AppState,
    session: &Session,
    user: SessionUser,
    meta: RequestMeta,
) -> Result<Next, AppError> {
    if state.store.totp_factor(&user.id).await?.is_some() {
        session::start_pending(session, &user, PendingStep::Code).await?;
        Ok(Next::Code)
    } else if state.settings.require_second_factor {
        session::start_pending(session, &user, PendingStep::Enrol).await?;
        Ok(Next::Enrol)
    } else {
        finish_login(state, session, &user, Factor::PasswordOnly, meta).await?;
        Ok(Next::LoggedIn)
    }
}

/// Logs her in: the `login` event and a clean session.
async fn finish_login(
    state: &AppState,
    session: &Session,
    user: &SessionUser,
    factor: Factor,
    meta: RequestMeta,
) -> Result<(), AppError> {
    accounts::complete_login(&state.store, user, factor.as_str(), meta).await?;
    session::start(session, user).await
}

/// The half-logged-in user waiting for `step`; `Unauthenticated` otherwise (the pages then
/// lead back to the password).
pub async fn pending_user(
    state: &AppState,
    session: &Session,
    step: PendingStep,
) -> Result<session::Pending, AppError> {
    session::pending(state, session)
        .await?
        .filter(|p| p.step == step)
        .ok_or(AppError::Unauthenticated)
}

/// Checks a code of a user who has an authenticator app: `Some(factor)` when right (and then
/// used up: the step, or the recovery code). A locked account's codes are all wrong.
async fn check_code(
    state: &AppState,
    user: &SessionUser,
    code: &Code,
    meta: &RequestMeta,
) -> Result<Option<Factor>, AppError> {
    let store = &state.store;
    let locked = store
        .user_by_id(&user.id)
        .await?
        .is_none_or(|row| row.is_locked_at(crate::store::now_ms()));
    if locked {
        return Ok(None);
    }
    match code {
        Code::Totp(digits) => {
            let Some(factor) = store.totp_factor(&user.id).await? else {
                return Ok(None);
            };
            let secret = state
                .factors
                .key
                .open(user.id.as_str(), &factor.secret_sealed)
                .map_err(sealed_failed)?;
            let last = factor.last_step.map(|s| s.max(0) as u64);
            match totp::matching_step(&secret, digits, unix_seconds(), last) {
                Some(step) => Ok(store
                    .use_totp_step(&user.id, step as i64)
                    .await?
                    .then_some(Factor::Totp)),
                None => Ok(None),
            }
        }
        Code::Recovery(digits) => {
            let hash = state.factors.key.code_hash(user.id.as_str(), digits);
            let (actor, meta) = (user.actor(), meta.clone());
            let used = store
                .use_recovery_code(&user.id, &hash, move |remaining| {
                    NewAuditEvent::new(AuditAction::RecoveryCodeUsed, Outcome::Success)
                        .by(actor)
                        .with_request(meta)
                        .with_detail(AuditDetail::RecoveryCodeUsed(detail::RecoveryCodes {
                            remaining,
                        }))
                })
                .await?;
            Ok(used.map(|_| Factor::RecoveryCode))
        }
    }
}

/// A wrong code (or a failed passkey): counted toward the account's lock-out and logged as
/// `second_factor_failed`. Returns the run's failures.
async fn wrong_code(
    state: &AppState,
    user: &SessionUser,
    at: &str,
    failures: i64,
    back_to_password: bool,
    meta: RequestMeta,
) -> Result<(), AppError> {
    let mut record = detail::SecondFactorFailed {
        at: at.to_owned(),
        failures,
        back_to_password: back_to_password.then_some(true),
        ..Default::default()
    };
    if let Some(row) = state.store.user_by_id(&user.id).await? {
        match accounts::count_failure(&state.store, &state.settings, &row, &meta).await? {
            FailureCount::Counted(n) => record.consecutive_failures = Some(n),
            FailureCount::Locked { .. } => record.locked = Some(true),
            FailureCount::AlreadyLocked => record.locked = Some(true),
        }
    }
    state
        .store
        .record(
            NewAuditEvent::new(AuditAction::SecondFactorFailed, Outcome::Denied)
                .by(user.actor())
                .with_request(meta)
                .with_detail(AuditDetail::SecondFactorFailed(record)),
        )
        .await?;
    Ok(())
}

/// A wrong code in the pending step: counted; the 5th ends the half login.
async fn wrong_pending_code(
    state: &AppState,
    session: &Session,
    pending: &session::Pending,
    at: &str,
    meta: RequestMeta,
) -> Result<Next, AppError> {
    let failures = pending.failures + 1;
    let back = failures >= MAX_WRONG_CODES;
    wrong_code(state, &pending.user, at, failures, back, meta).await?;
    if back {
        session::end(session).await?;
        return Ok(Next::BackToPassword);
    }
    session::set_pending_failures(session, failures).await?;
    let left = MAX_WRONG_CODES - failures;
    Err(AppError::field(
        "code",
        format!(
            "deze code klopt niet (of is al gebruikt). Nog {left} {}.",
            if left == 1 { "poging" } else { "pogingen" }
        ),
    ))
}

/// The code step of a login: a right code logs her in; a wrong one is an error on `code`
/// until the 5th, which sends her back to the password.
pub async fn login_with_code(
    state: &AppState,
    session: &Session,
    input: &str,
    meta: RequestMeta,
) -> Result<Next, AppError> {
    let pending = pending_user(state, session, PendingStep::Code).await?;
    let code = Code::parse(input)?;
    match check_code(state, &pending.user, &code, &meta).await? {
        Some(factor) => {
            finish_login(state, session, &pending.user, factor, meta).await?;
            Ok(Next::LoggedIn)
        }
        None => wrong_pending_code(state, session, &pending, "login", meta).await,
    }
}

/// What the enrolment page shows: the secret as text and QR code.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret_base32: String,
    pub qr_svg: String,
}

const ENROL_SECRET: &str = "enrol_secret";

/// Who is setting up her authenticator app: the half-logged-in user at her first login, or a
/// logged-in user on `/account` (where no second factor is required).
async fn enrolling_user(
    state: &AppState,
    session: &Session,
    from_account: Option<&SessionUser>,
) -> Result<(SessionUser, Option<session::Pending>), AppError> {
    let (user, pending) = match from_account {
        Some(user) => (user.clone(), None),
        None => {
            let pending = pending_user(state, session, PendingStep::Enrol).await?;
            (pending.user.clone(), Some(pending))
        }
    };
    if state.store.totp_factor(&user.id).await?.is_some() {
        return Err(AppError::Conflict(
            "U heeft de app voor de tweede stap al ingesteld.".into(),
        ));
    }
    Ok((user, pending))
}

/// The enrolment page's secret (made once per session and kept sealed in it, so a reload
/// shows the same one).
pub async fn enrolment(
    state: &AppState,
    session: &Session,
    from_account: Option<&SessionUser>,
) -> Result<Enrolment, AppError> {
    let (user, _) = enrolling_user(state, session, from_account).await?;
    let key = &state.factors.key;
    let secret = match session::kept::<String>(session, ENROL_SECRET).await? {
        Some(sealed) => key.open(user.id.as_str(), &sealed).ok(),
        None => None,
    };
    let secret = match secret {
        Some(secret) => secret,
        None => {
            let secret = totp::new_secret();
            session::keep(session, ENROL_SECRET, &key.seal(user.id.as_str(), &secret)).await?;
            secret
        }
    };
    Ok(Enrolment {
        secret_base32: totp::base32(&secret),
        qr_svg: totp::qr_svg(&totp::otpauth_uri(&secret, &user.username)),
    })
}

/// New recovery codes (shown once) and their stored hashes.
fn new_recovery_codes(key: &SecretKey, user: &UserId) -> (Vec<String>, Vec<String>) {
    let mut rng = rand::rngs::OsRng;
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            (0..RECOVERY_CODE_DIGITS)
                .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
                .collect()
        })
        .collect();
    let hashes = codes
        .iter()
        .map(|c| key.code_hash(user.as_str(), c))
        .collect();
    (codes, hashes)
}

/// Stores the enrolment's secret after a right first code, with new recovery codes (returned,
/// to show once). At the first login this completes the login (`factor: totp`); on `/account`
/// she stays logged in as she was. A wrong code: at the first login as in the code step, on
/// `/account` an error on `code`.
pub async fn confirm_enrolment(
    state: &AppState,
    session: &Session,
    from_account: Option<&SessionUser>,
    input: &str,
    meta: RequestMeta,
) -> Result<(Next, Vec<String>), AppError> {
    let (user, pending) = enrolling_user(state, session, from_account).await?;
    let code = Code::parse(input)?;
    let key = &state.factors.key;
    let secret = match session::kept::<String>(session, ENROL_SECRET).await? {
        Some(sealed) => key.open(user.id.as_str(), &sealed).map_err(sealed_failed)?,
        // The page was never shown in this session: nothing to confirm.
        None => {
            return Err(AppError::field(
                "code",
                "open de pagina opnieuw en scan de code",
            ))
        }
    };
    let step = match &code {
        Code::Totp(digits) => totp::matching_step(&secret, digits, unix_seconds(), None),
        Code::Recovery(_) => None,
    };
    let Some(step) = step else {
        return match &pending {
            Some(pending) => wrong_pending_code(state, session, pending, "enrolment", meta)
                .await
                .map(|next| (next, Vec::new())),
            None => {
                wrong_code(state, &user, "enrolment", 1, false, meta).await?;
                Err(AppError::field(
                    "code",
                    "deze code klopt niet; probeer de volgende code uit uw app",
                ))
            }
        };
    };
    let (codes, hashes) = new_recovery_codes(key, &user.id);
    let stored = state
        .store
        .enrol_totp(
            &user.id,
            &key.seal(user.id.as_str(), &secret),
            step as i64,
            &hashes,
            NewAuditEvent::new(AuditAction::SecondFactorEnrolled, Outcome::Success)
                .by(user.actor())
                .with_request(meta.clone())
                .with_detail(AuditDetail::SecondFactorEnrolled(
                    detail::SecondFactorEnrolled {
                        factor: Factor::Totp.as_str().to_owned(),
                        recovery_codes: RECOVERY_CODES as i64,
                    },
                )),
        )
        .await;
    match stored {
        Err(StoreError::AlreadyExists(_)) => {
            return Err(AppError::Conflict(
                "U heeft de app voor de tweede stap al ingesteld.".into(),
            ))
        }
        other => other?,
    }
    session::forget(session, ENROL_SECRET).await?;
    if pending.is_some() {
        finish_login(state, session, &user, Factor::Totp, meta).await?;
    }
    Ok((Next::LoggedIn, codes))
}

/// A fresh code for a change on `/account` (new recovery codes, a passkey added or removed):
/// a wrong one counts toward the lock-out, is logged, and is an error on `code`.
pub async fn require_fresh_code(
    state: &AppState,
    user: &SessionUser,
    input: &str,
    meta: &RequestMeta,
) -> Result<Factor, AppError> {
    let code = Code::parse(input)?;
    match check_code(state, user, &code, meta).await? {
        Some(factor) => Ok(factor),
        None => {
            wrong_code(state, user, "account", 1, false, meta.clone()).await?;
            Err(AppError::field(
                "code",
                "deze code klopt niet (of is al gebruikt)",
            ))
        }
    }
}

/// New recovery codes for her (the old ones stop working), after a fresh code.
pub async fn renew_recovery_codes(
    state: &AppState,
    user: &SessionUser,
    code: &str,
    meta: RequestMeta,
) -> Result<Vec<String>, AppError> {
    require_fresh_code(state, user, code, &meta).await?;
    let (codes, hashes) = new_recovery_codes(&state.factors.key, &user.id);
    state
        .store
        .replace_recovery_codes(
            &user.id,
            &hashes,
            NewAuditEvent::new(AuditAction::RecoveryCodesRenewed, Outcome::Success)
                .by(user.actor())
                .with_request(meta)
                .with_detail(AuditDetail::RecoveryCodesRenewed(detail::RecoveryCodes {
                    remaining: RECOVERY_CODES as i64,
                })),
        )
        .await?;
    Ok(codes)
}

/// Her factors as `/account` lists them.
#[derive(Debug, Clone)]
pub struct Overview {
    /// When she set up the authenticator app (ms, UTC); `None`: not set up.
    pub totp_since: Option<i64>,
    pub recovery_codes_left: i64,
    /// Her passkeys: (id, name, added at ms).
    pub passkeys: Vec<(String, String, i64)>,
}

pub async fn overview(state: &AppState, user: &UserId) -> Result<Overview, AppError> {
    let store = &state.store;
    Ok(Overview {
        totp_since: store.totp_factor(user).await?.map(|t| t.enrolled_at),
        recovery_codes_left: store.unused_recovery_codes(user).await?,
        passkeys: store
            .passkeys(user)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name, p.created_at))
            .collect(),
    })
}

/// `ooievaar user reset-2fa`: clears her factors, recovery codes and last used step, and ends
/// her sessions; she enrols again at her next login.
pub async fn reset(store: &crate::Store, username: &str) -> Result<(), AppError> {
    let row = store
        .user_by_username(&username.trim().to_lowercase())
        .await?
        .ok_or_else(|| AppError::field("--username", "deze gebruiker bestaat niet"))?;
    let mut event = accounts::cli_event(AuditAction::SecondFactorReset);
    event.organisation_id = Some(row.organisation_id.clone());
    event.detail = Some(AuditDetail::SecondFactorReset(detail::UserNamed {
        user_id: row.id.clone(),
        username: row.username.clone(),
    }));
    store.reset_second_factor(&row.id, event).await?;
    Ok(())
}

/// Sets up the authenticator app with a given secret (the demo seed's fixed secrets), without
/// recovery codes. Does nothing when she has one already.
pub async fn enrol_fixed(
    store: &crate::Store,
    key: &SecretKey,
    username: &str,
    secret: &[u8],
) -> Result<(), AppError> {
    let row = store
        .user_by_username(username)
        .await?
        .ok_or(AppError::NotFound)?;
    if store.totp_factor(&row.id).await?.is_some() {
        return Ok(());
    }
    let mut event = accounts::cli_event(AuditAction::SecondFactorEnrolled);
    event.organisation_id = Some(row.organisation_id.clone());
    event.detail = Some(AuditDetail::SecondFactorEnrolled(
        detail::SecondFactorEnrolled {
            factor: Factor::Totp.as_str().to_owned(),
            recovery_codes: 0,
        },
    ));
    store
        .enrol_totp(&row.id, &key.seal(row.id.as_str(), secret), 0, &[], event)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_field_tells_app_codes_from_recovery_codes() {
        assert_eq!(
            Code::parse(" 123 456 ").unwrap(),
            Code::Totp("123456".into())
        );
        assert_eq!(
            Code::parse("1234-5678-9012").unwrap(),
            Code::Recovery("123456789012".into())
        );
        for bad in ["", "12345", "12345a", "1234567", "１２３４５６"] {
            let err = Code::parse(bad).unwrap_err();
            assert!(err.problem_for("code").is_some(), "{bad:?}: {err:?}");
        }
    }

    #[test]
    fn recovery_codes_are_ten_distinct_twelve_digit_numbers() {
        let key = SecretKey::from_hex(&SecretKey::generate_hex()).unwrap();
        let user = UserId::from("u".to_owned());
        let (codes, hashes) = new_recovery_codes(&key, &user);
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert!(codes
            .iter()
            .all(|c| c.len() == RECOVERY_CODE_DIGITS && c.chars().all(|d| d.is_ascii_digit())));
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        assert!(hashes
            .iter()
            .zip(&codes)
            .all(|(h, c)| !h.contains(c.as_str())));
    }
}

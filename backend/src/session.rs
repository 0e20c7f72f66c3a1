//! Browser sessions: the session store of the active backend, the logged-in user of a session
//! (`user_of`) and the values a session keeps. The app's `context` module finds the session of
//! the request a server function handles and calls in here.
//!
//! Sessions live in the database (tower-sessions with the sqlx store of the backend). The idle
//! timeout is the session expiry (`Expiry::OnInactivity`, enforced by the store on load); the
//! absolute lifetime is checked here against the login time kept in the session. The user is
//! re-read on every request, so disabling an account ends her sessions at once.
//!
//! A login starts a clean session: a new id and none of the previous session's data (a pending
//! search result, the officer's filters, flashes), so the next user of a shared tablet inherits
//! nothing (rule 10). A session also keeps the user's session generation it authenticated
//! under; a password change raises the generation in the database, which ends every other
//! session of the user on every instance at its next request, while the changing session takes
//! the new generation and keeps its login time (the absolute lifetime still counts from the
//! original login).

use super::audit::Actor;
use super::store::{now_ms, UserRow};
use async_trait::async_trait;
use domain::error::AppError;
use domain::{Role, UserId};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions::Session;
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

const USER_ID: &str = "uid";
const LOGIN_AT: &str = "login_at";
const GENERATION: &str = "generation";
const PENDING_USER: &str = "pending_uid";
const PENDING_AT: &str = "pending_at";
const PENDING_STEP: &str = "pending_step";
const PENDING_FAILURES: &str = "pending_failures";

/// The step a half-logged-in session waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PendingStep {
    /// A code (or passkey) of a user who has a second factor.
    Code,
    /// Setting up the authenticator app, for a user who must have a second factor and has none.
    Enrol,
}

/// A session after a right password, before the second step: it acts for nobody ([`user_of`]
/// is `None`); only the second-step functions read it.
#[derive(Debug, Clone)]
pub struct Pending {
    pub user: SessionUser,
    pub step: PendingStep,
    /// Wrong codes in this step so far.
    pub failures: i64,
}

/// The session store of the active backend.
#[derive(Debug, Clone)]
pub enum SessionBackend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl SessionBackend {
    /// Creates the session table when missing.
    pub async fn for_store(store: &super::Store) -> Result<Self, sqlx::Error> {
        Ok(match store.db() {
            super::store::Db::Sqlite(pool) => {
                let s = SqliteStore::new(pool.clone());
                s.migrate().await?;
                SessionBackend::Sqlite(s)
            }
            super::store::Db::Postgres(pool) => {
                let s = PostgresStore::new(pool.clone());
                s.migrate().await?;
                SessionBackend::Postgres(s)
            }
        })
    }
}

macro_rules! delegate {
    ($self:ident, |$s:ident| $call:expr) => {
        match $self {
            SessionBackend::Sqlite($s) => $call,
            SessionBackend::Postgres($s) => $call,
        }
    };
}

#[async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        delegate!(self, |s| s.create(record).await)
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        delegate!(self, |s| s.save(record).await)
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        delegate!(self, |s| s.load(id).await)
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        delegate!(self, |s| s.delete(id).await)
    }
}

#[async_trait]
impl ExpiredDeletion for SessionBackend {
    async fn delete_expired(&self) -> session_store::Result<()> {
        delegate!(self, |s| s.delete_expired().await)
    }
}

/// The logged-in user, as the server knows her for this request.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub organisation_id: String,
    pub organisation_name: String,
    /// The user's session generation when read (raised by a password change).
    pub session_generation: i64,
}

impl SessionUser {
    /// `None` for a disabled user or an unknown role (fail closed).
    pub fn from_row(row: UserRow) -> Option<Self> {
        if row.is_disabled() {
            return None;
        }
        Some(Self {
            role: row.role,
            id: row.id,
            username: row.username,
            display_name: row.display_name,
            organisation_id: row.organisation_id,
            organisation_name: row.organisation_name,
            session_generation: row.session_generation,
        })
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.id.clone(),
            // The login name: unique and stable, so the log can be searched by it.
            user_name: self.username.clone(),
            role: self.role,
            organisation_id: self.organisation_id.clone(),
        }
    }
}

fn session_failed(err: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %err, "session store error");
    AppError::Internal
}

/// Starts a clean session for `user` (rule 10): none of the previous session's data, a new
/// session id (no fixation), the user, her session generation and the login time.
pub async fn start(session: &Session, user: &SessionUser) -> Result<(), AppError> {
    session.clear().await;
    session.cycle_id().await.map_err(session_failed)?;
    session
        .insert(USER_ID, &user.id)
        .await
        .map_err(session_failed)?;
    session
        .insert(GENERATION, user.session_generation)
        .await
        .map_err(session_failed)?;
    session
        .insert(LOGIN_AT, now_ms())
        .await
        .map_err(session_failed)?;
    Ok(())
}

/// Starts a clean, half-logged-in session after a right password (rule 10): like [`start`], a
/// new id and nothing of the previous session, but it holds only who is waiting for which
/// step, so no page and no server function acts for her until [`start`] follows the second
/// step.
pub async fn start_pending(
    session: &Session,
    user: &SessionUser,
    step: PendingStep,
) -> Result<(), AppError> {
    session.clear().await;
    session.cycle_id().await.map_err(session_failed)?;
    for (key, value) in [
        (PENDING_USER, serde_json::json!(user.id)),
        (PENDING_STEP, serde_json::json!(step)),
        (PENDING_AT, serde_json::json!(now_ms())),
        (PENDING_FAILURES, serde_json::json!(0)),
        (GENERATION, serde_json::json!(user.session_generation)),
    ] {
        session.insert(key, value).await.map_err(session_failed)?;
    }
    Ok(())
}

/// The half-logged-in state of `session`, if any and still valid: within the second step's
/// lifetime (`Settings::second_step_lifetime`, 5 minutes) of the password, the user not disabled and of the same session
/// generation. Otherwise the pending state is ended (back to the password).
pub async fn pending(
    state: &crate::AppState,
    session: &Session,
) -> Result<Option<Pending>, AppError> {
    let Some(user_id) = get::<UserId>(session, PENDING_USER).await? else {
        return Ok(None);
    };
    let at: i64 = get(session, PENDING_AT).await?.unwrap_or(0);
    let step: Option<PendingStep> = get(session, PENDING_STEP).await?;
    let failures: i64 = get(session, PENDING_FAILURES).await?.unwrap_or(0);
    let lifetime_ms = state.settings.second_step_lifetime.as_millis() as i64;
    let user = if now_ms() - at > lifetime_ms {
        None
    } else {
        current_user(state, session, &user_id).await?
    };
    match (user, step) {
        (Some(user), Some(step)) => Ok(Some(Pending {
            user,
            step,
            failures,
        })),
        _ => {
            end(session).await?;
            Ok(None)
        }
    }
}

/// A value the session keeps, if any.
async fn get<T: serde::de::DeserializeOwned>(
    session: &Session,
    key: &str,
) -> Result<Option<T>, AppError> {
    session.get(key).await.map_err(session_failed)
}

/// `user_id` as she is now, if she may still act in this session: not disabled, and of the
/// session generation the session authenticated under (a session from before generations
/// were kept has none: it belongs to generation 0).
async fn current_user(
    state: &crate::AppState,
    session: &Session,
    user_id: &UserId,
) -> Result<Option<SessionUser>, AppError> {
    let generation: i64 = get(session, GENERATION).await?.unwrap_or(0);
    Ok(state
        .store
        .user_by_id(user_id)
        .await?
        .and_then(SessionUser::from_row)
        .filter(|u| u.session_generation == generation))
}

/// Records the wrong codes of the pending step so far.
pub async fn set_pending_failures(session: &Session, failures: i64) -> Result<(), AppError> {
    session
        .insert(PENDING_FAILURES, failures)
        .await
        .map_err(session_failed)
}

/// After the user changed her password in this session: a new session id, and the session
/// takes her new `generation` (every other session has ended). Its data and login time stay,
/// so the absolute lifetime still counts from the original login.
pub async fn continue_after_password_change(
    session: &Session,
    generation: i64,
) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_failed)?;
    session
        .insert(GENERATION, generation)
        .await
        .map_err(session_failed)
}

/// Ends the session (removes it from the store and clears the cookie).
pub async fn end(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(session_failed)
}

/// The logged-in user of `session`, or `None` when not logged in, past the absolute lifetime,
/// disabled, or of an older session generation (her password changed elsewhere); then the
/// session is ended too.
pub async fn user_of(
    state: &crate::AppState,
    session: &Session,
) -> Result<Option<SessionUser>, AppError> {
    let Some(user_id) = get::<UserId>(session, USER_ID).await? else {
        return Ok(None);
    };
    let login_at: i64 = get(session, LOGIN_AT).await?.unwrap_or(0);
    let lifetime_ms = state.settings.session_absolute.as_millis() as i64;
    if now_ms() - login_at > lifetime_ms {
        end(session).await?;
        return Ok(None);
    }
    let user = current_user(state, session, &user_id).await?;
    if user.is_none() {
        end(session).await?;
    }
    Ok(user)
}

/// The logged-in user, read once per page render: a page's server functions (the frame, the
/// page, its notices) each ask who is logged in, and without this each asked the database.
/// Provided afresh for every request Leptos handles (`server::startup`: a page, or one server
/// function call), so nothing outlives its request. A page render only reads; a server
/// function that logs in, out or changes the password asks once, before it does.
#[derive(Debug, Clone, Default)]
pub struct RenderUser(std::sync::Arc<tokio::sync::OnceCell<Option<SessionUser>>>);

impl RenderUser {
    /// [`user_of`], read at most once for this render.
    pub async fn user_of(
        &self,
        state: &crate::AppState,
        session: &Session,
    ) -> Result<Option<SessionUser>, AppError> {
        self.0
            .get_or_try_init(|| user_of(state, session))
            .await
            .cloned()
    }
}

/// Removes a kept value.
pub async fn forget(session: &Session, key: &str) -> Result<(), AppError> {
    session
        .remove_value(&format!("kept:{key}"))
        .await
        .map_err(session_failed)?;
    Ok(())
}

/// Keeps a value in the session until replaced (the officer's filters: they hold a BSN, so
/// they never travel in a URL).
pub async fn keep<T: serde::Serialize>(
    session: &Session,
    key: &str,
    value: &T,
) -> Result<(), AppError> {
    session
        .insert(&format!("kept:{key}"), value)
        .await
        .map_err(session_failed)
}

/// A kept value, if any.
pub async fn kept<T: serde::de::DeserializeOwned>(
    session: &Session,
    key: &str,
) -> Result<Option<T>, AppError> {
    session
        .get(&format!("kept:{key}"))
        .await
        .map_err(session_failed)
}

/// Keeps the outcome of a form posted without JavaScript in the session, so the page the
/// browser is sent back to can show it once (never in the URL).
pub async fn set_flash<T: serde::Serialize>(
    session: &Session,
    form: &str,
    value: &T,
) -> Result<(), AppError> {
    session
        .insert(&format!("flash:{form}"), value)
        .await
        .map_err(session_failed)
}

/// Takes (reads and removes) a kept form outcome.
pub async fn take_flash<T: serde::de::DeserializeOwned>(
    session: &Session,
    form: &str,
) -> Result<Option<T>, AppError> {
    session
        .remove(&format!("flash:{form}"))
        .await
        .map_err(session_failed)
}

/// `Forbidden` unless the user's role is one of `roles`.
pub fn require_role(user: SessionUser, roles: &[Role]) -> Result<SessionUser, AppError> {
    if roles.contains(&user.role) {
        Ok(user)
    } else {
        Err(AppError::Forbidden)
    }
}

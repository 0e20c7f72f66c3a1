//! Accounts: password hashing (argon2id, bounded and off the async runtime), login with the
//! soft lock-out per account and the per-address failure limit, password change, and the
//! administrative account changes of the command line.
//!
//! ## How guessing and floods are bounded (rules 9 and 10, DESIGN 9)
//! - **The hasher.** Every argon2 run (19 MiB) holds a permit of the instance's semaphore
//!   ([`Hasher`] in `AppState`), sized to the cores but one (a flood keeps a core free for views). A login waits at most [`PERMIT_WAIT`] for one and otherwise gets
//!   [`AppError::Busy`] ("try again"), having checked nothing; waiting logins hold no argon2
//!   memory, and their wait is bounded.
//! - **Per account (the lock-out).** `login_lock_failures` consecutive wrong passwords of one
//!   account within `login_lock` lock it for `login_lock`: every password, the right one too,
//!   then gets the same `LoginFailed` as a wrong one (the password is still verified, so a
//!   locked account answers like any other). The counts live in the `users` row, so every
//!   instance agrees; a successful login resets them; `ooievaar user unlock` ends a lock. Wrong
//!   current passwords on `/account` count too. Locking and unlocking are audit events.
//! - **Per address (flood control).** Failed logins are counted per client address
//!   (`FloodGuard`, `FailureKind::Login`). The first failure of an (address, reason) in a minute
//!   is logged as `login_failed` at once; the rest of that minute go into one
//!   `refusals_summary`. An address past its limit (generous: a hospital's staff may share one)
//!   is slowed, never refused: its logins do not queue for the hasher (they get a permit only
//!   when one is free at once, so other addresses keep theirs), and its wrong passwords are
//!   answered after [`OVER_LIMIT_DELAY`]. A right password is checked and let in like any
//!   other, and never delayed.
//!
//! Wrong answers are otherwise not delayed: a delay only tells a parallel guesser to stop
//! waiting, and the lock-out is what limits guessing.

use super::audit::{Actor, NewAuditEvent, RequestMeta};
use super::flood::{FailureDisposition, FailureKind};
use super::session::SessionUser;
use super::store::{now_ms, FailureCount, NewUser, Store, StoreError, UserRow};
use super::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use domain::audit_detail::{self as detail, AuditDetail};
use domain::error::AppError;
use domain::{AuditAction, FieldError, OrganisationKind, Outcome, Role, UserId, Username};
use secrecy::{ExposeSecret, SecretString};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Minimum length of a new password.
pub const MIN_PASSWORD_LEN: usize = 12;

/// The longest a login or password change waits for the hasher before "try again". Waiting
/// holds no argon2 memory (the permit comes first), so this only bounds how long a user waits
/// in a burst: long enough for a shift's logins at once on two cores, short enough to answer
/// well within the request timeout.
pub const PERMIT_WAIT: Duration = Duration::from_secs(5);

/// How long a wrong password from an address past its failure limit is held back.
pub const OVER_LIMIT_DELAY: Duration = Duration::from_secs(1);

/// The bound on argon2 work of one instance (DESIGN 10: the password-hashing queue is a
/// per-instance, short-lived state): a semaphore of permits, one per core, and counters of the
/// runs (for tests and the benchmark: the peak never exceeds the permits). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hasher {
    inner: Arc<HasherInner>,
}

#[derive(Debug)]
struct HasherInner {
    permits: Arc<Semaphore>,
    size: usize,
    running: AtomicUsize,
    peak: AtomicUsize,
}

/// How long to wait for a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// At most this long, then `Busy`.
    UpTo(Duration),
    /// Only a permit that is free at once (an address past its limit: it does not queue).
    NoQueue,
    /// As long as it takes (the command line and the demo seed; no unauthenticated caller).
    Forever,
}

impl Hasher {
    pub fn new(permits: usize) -> Self {
        let size = permits.max(1);
        Self {
            inner: Arc::new(HasherInner {
                permits: Arc::new(Semaphore::new(size)),
                size,
                running: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
            }),
        }
    }

    /// One permit per core of this machine but one (at least one): a login flood then keeps
    /// a core free for the clinicians' views (rule 9; measured with `examples/flood_load`).
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores.saturating_sub(1).max(1))
    }

    /// The hasher of work outside a served request (the command line, the demo seed).
    fn offline() -> &'static Hasher {
        static HASHER: OnceLock<Hasher> = OnceLock::new();
        HASHER.get_or_init(Hasher::per_core)
    }

    /// How many argon2 runs may run at once.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// The most argon2 runs that ever ran at once.
    pub fn peak(&self) -> usize {
        self.inner.peak.load(Ordering::SeqCst)
    }

    async fn permit(&self, wait: Wait) -> Result<OwnedSemaphorePermit, AppError> {
        let permits = self.inner.permits.clone();
        let permit = match wait {
            Wait::Forever => permits.acquire_owned().await.ok(),
            Wait::NoQueue => permits.try_acquire_owned().ok(),
            Wait::UpTo(limit) => tokio::time::timeout(limit, permits.acquire_owned())
                .await
                .ok()
                .and_then(Result::ok),
        };
        permit.ok_or(AppError::Busy)
    }

    /// Runs `job` (one argon2 run) on the blocking pool while holding a permit.
    async fn run<T: Send + 'static>(
        &self,
        wait: Wait,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let permit = self.permit(wait).await?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let now = inner.running.fetch_add(1, Ordering::SeqCst) + 1;
            inner.peak.fetch_max(now, Ordering::SeqCst);
            let out = job();
            inner.running.fetch_sub(1, Ordering::SeqCst);
            out
        })
        .await
        .map_err(|_| AppError::Internal)
    }

    async fn hash(&self, wait: Wait, password: SecretString) -> Result<String, AppError> {
        self.run(wait, move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            Argon2::default()
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|_| AppError::Internal)
    }

    /// Verifies `password` against `hash` (a dummy hash when `None`, so an unknown user takes
    /// as long as a known one); a malformed stored hash counts as a mismatch.
    async fn verify(
        &self,
        wait: Wait,
        password: SecretString,
        hash: Option<String>,
    ) -> Result<bool, AppError> {
        self.run(wait, move || {
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
    }
}

/// Hashes a password with argon2id (default parameters) under the hasher's bound, waiting as
/// long as needed (the command line, the demo seed).
pub async fn hash_password(password: SecretString) -> Result<String, AppError> {
    Hasher::offline().hash(Wait::Forever, password).await
}

/// A hash of nothing in particular, verified against when the username is unknown so both
/// cases take the same time (no user enumeration by timing). Made inside a permit.
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

/// The client address for the per-address counters; an unknown one shares one bucket.
fn client_ip(meta: &RequestMeta) -> IpAddr {
    meta.ip
        .as_deref()
        .and_then(|ip| ip.parse().ok())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn actor_of(row: &UserRow) -> Option<Actor> {
    Some(Actor {
        user_id: row.id.clone(),
        user_name: row.username.clone(),
        role: row.role,
        organisation_id: row.organisation_id.clone(),
    })
}

/// A login after both steps (rule 10): ends the account's run of failures and logs `login`
/// with the factor that completed it.
pub async fn complete_login(
    store: &Store,
    user: &SessionUser,
    factor: &str,
    meta: RequestMeta,
) -> Result<(), AppError> {
    store
        .record_login(
            &user.id,
            NewAuditEvent::new(AuditAction::Login, Outcome::Success)
                .by(user.actor())
                .with_request(meta)
                .with_detail(AuditDetail::Login(detail::Login {
                    factor: factor.to_owned(),
                })),
        )
        .await?;
    Ok(())
}

/// Counts a wrong password of a known account toward its lock-out (rule 10); the failure that
/// reaches the limit locks it and writes `login_locked` in the same transaction.
pub(crate) async fn count_failure(
    store: &Store,
    settings: &super::Settings,
    row: &UserRow,
    meta: &RequestMeta,
) -> Result<FailureCount, AppError> {
    let lock_ms = settings.login_lock.as_millis() as i64;
    let max = i64::from(settings.login_lock_failures.max(1));
    let actor = actor_of(row);
    let (organisation, meta) = (row.organisation_id.clone(), meta.clone());
    let locked_event = move |until: i64| {
        let mut event = NewAuditEvent::new(AuditAction::LoginLocked, Outcome::Success)
            .with_request(meta)
            .with_detail(AuditDetail::LoginLocked(detail::LoginLocked {
                failures: max,
                locked_until: until,
                minutes: lock_ms / 60_000,
            }));
        match actor {
            Some(actor) => event = event.by(actor),
            None => event.organisation_id = Some(organisation),
        }
        event
    };
    Ok(store
        .count_login_failure(&row.id, max, lock_ms, lock_ms, locked_event)
        .await?)
}

/// Checks a username and password (the first step of a login). Every failure gives the same
/// `LoginFailed` (unknown user, wrong password, disabled or locked account); a right password
/// is never delayed. The login itself is recorded by [`complete_login`] after the second step
/// (`crate::second_factor`). See the module documentation for the bounds. `Busy` when the hasher had
/// no permit in time (nothing was checked or counted).
pub async fn check_password(
    state: &AppState,
    username: &str,
    password: SecretString,
    meta: RequestMeta,
) -> Result<SessionUser, AppError> {
    let (store, settings) = (&state.store, &state.settings);
    let name: String = username.trim().to_lowercase().chars().take(64).collect();
    let row = match Username::parse(&name) {
        Ok(valid) => store.user_by_username(valid.as_ref()).await?,
        Err(_) => None,
    };
    let ip = client_ip(&meta);
    let over_limit = state.flood.over_limit(FailureKind::Login, ip, now_ms());
    let wait = if over_limit {
        Wait::NoQueue
    } else {
        Wait::UpTo(PERMIT_WAIT)
    };
    let matches = match state
        .hasher
        .verify(
            wait,
            password,
            row.as_ref().map(|r| r.password_hash.clone()),
        )
        .await
    {
        Ok(matches) => matches,
        Err(AppError::Busy) if over_limit => {
            // An address past its limit that finds no free slot is not answered at once
            // either: otherwise it could spin on "busy" answers as fast as it can send.
            tokio::time::sleep(OVER_LIMIT_DELAY).await;
            return Err(AppError::Busy);
        }
        Err(other) => return Err(other),
    };

    let now = now_ms();
    let reason = match &row {
        None => "unknown_user",
        Some(r) if r.is_disabled() => "disabled",
        Some(r) if r.is_locked_at(now) => "locked",
        Some(_) if !matches => "wrong_password",
        // The right password: nothing is recorded or reset yet. The login happens, and the run
        // of failures ends, only when the second step succeeds (`complete_login`), so wrong
        // codes after a right password still lead to the lock-out.
        Some(r) => return SessionUser::from_row(r.clone()).ok_or(AppError::Internal),
    };

    let mut detail = detail::LoginFailed {
        reason: Some(reason.to_owned()),
        ..Default::default()
    };
    if let (Some(r), "wrong_password") = (&row, reason) {
        match count_failure(store, settings, r, &meta).await? {
            FailureCount::Counted(n) => detail.consecutive_failures = Some(n),
            FailureCount::Locked { .. } => {
                detail.consecutive_failures = Some(settings.login_lock_failures.into());
                detail.locked = Some(true);
            }
            FailureCount::AlreadyLocked => detail.reason = Some("locked".to_owned()),
        }
    }
    if state
        .flood
        .note_failure(FailureKind::Login, ip, reason, now)
        == FailureDisposition::LogNow
    {
        let mut event =
            NewAuditEvent::new(AuditAction::LoginFailed, Outcome::Denied).with_request(meta);
        event.detail = Some(AuditDetail::LoginFailed(detail));
        // A known user's failed login belongs to her organisation's log; an unknown name to none.
        match row.as_ref().and_then(actor_of) {
            Some(actor) => event = event.by(actor),
            None => event.attempted_user_name = Some(name),
        }
        store.record(event).await?;
    }
    if over_limit {
        tokio::time::sleep(OVER_LIMIT_DELAY).await;
    }
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

/// Changes the user's own password; the current password is required. A wrong current password
/// counts toward the lock-out and is logged (`login_failed`, `"at": "password_change"`); while
/// the account is locked every current password is "wrong". On success returns the user's new
/// session generation: every other session of hers has ended, and the caller's session takes
/// the new generation to stay.
pub async fn change_password(
    state: &AppState,
    user: &SessionUser,
    current: SecretString,
    new: SecretString,
    confirm: SecretString,
    meta: RequestMeta,
) -> Result<i64, AppError> {
    let store = &state.store;
    let row = store
        .user_by_id(&user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let locked = row.is_locked_at(now_ms());
    let right = !locked
        && state
            .hasher
            .verify(
                Wait::UpTo(PERMIT_WAIT),
                current,
                Some(row.password_hash.clone()),
            )
            .await?;
    if !right {
        let mut detail = detail::LoginFailed {
            at: Some("password_change".to_owned()),
            reason: Some("locked".to_owned()),
            ..Default::default()
        };
        if !locked {
            detail.reason = Some("wrong_password".to_owned());
            match count_failure(store, &state.settings, &row, &meta).await? {
                FailureCount::Counted(n) => detail.consecutive_failures = Some(n),
                FailureCount::Locked { .. } => detail.locked = Some(true),
                FailureCount::AlreadyLocked => detail.reason = Some("locked".to_owned()),
            }
        }
        store
            .record(
                NewAuditEvent::new(AuditAction::LoginFailed, Outcome::Denied)
                    .by(user.actor())
                    .with_request(meta)
                    .with_detail(AuditDetail::LoginFailed(detail)),
            )
            .await?;
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
    let hash = state.hasher.hash(Wait::UpTo(PERMIT_WAIT), new).await?;
    Ok(store
        .set_password_hash(
            &user.id,
            &hash,
            NewAuditEvent::new(AuditAction::PasswordChanged, Outcome::Success)
                .by(user.actor())
                .with_request(meta),
        )
        .await?)
}

/// The actor of command-line changes: the operating-system account, no user of the network.
/// (Also the source administration's, `crate::sources`.)
pub(crate) fn cli_event(action: AuditAction) -> NewAuditEvent {
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
    event.detail = Some(AuditDetail::OrganisationAdded(detail::OrganisationAdded {
        organisation: id.to_owned(),
        kind: kind.map(|k| k.as_str().to_owned()),
    }));
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
        id: UserId::from(uuid::Uuid::new_v4().to_string()),
        organisation_id: organisation_id.to_owned(),
        username,
        display_name: display_name.trim().to_owned(),
        role,
    };
    let hash = hash_password(password).await?;
    let mut event = cli_event(AuditAction::UserAdded);
    event.organisation_id = Some(organisation_id.to_owned());
    event.detail = Some(AuditDetail::UserAdded(detail::UserAdded {
        user_id: user.id.clone(),
        username: user.username.as_ref().to_owned(),
        role: role.as_str().to_owned(),
    }));
    match store.add_user(&user, &hash, event).await {
        Err(StoreError::AlreadyExists(_)) => Err(AppError::field(
            "--username",
            "deze gebruikersnaam bestaat al",
        )),
        other => Ok(other?),
    }
}

/// The user a command names with `--username`; "onbekende gebruiker" when there is none.
async fn cli_user(store: &Store, username: &str) -> Result<UserRow, AppError> {
    store
        .user_by_username(&username.trim().to_lowercase())
        .await?
        .ok_or_else(|| AppError::field("--username", "onbekende gebruiker"))
}

/// A command-line event of `action` about the user `row`.
fn cli_user_event(action: AuditAction, row: &UserRow) -> NewAuditEvent {
    let mut event = cli_event(action);
    event.organisation_id = Some(row.organisation_id.clone());
    let named = detail::UserNamed {
        user_id: row.id.clone(),
        username: row.username.clone(),
    };
    event.detail = Some(match action {
        AuditAction::LoginUnlocked => AuditDetail::LoginUnlocked(named),
        _ => AuditDetail::UserDisabled(named),
    });
    event
}

/// Disables a user (command line).
pub async fn disable_user(store: &Store, username: &str) -> Result<(), AppError> {
    let row = cli_user(store, username).await?;
    if row.is_disabled() {
        return Err(AppError::field(
            "--username",
            "deze gebruiker is al geblokkeerd",
        ));
    }
    let event = cli_user_event(AuditAction::UserDisabled, &row);
    store.disable_user(&row.id, event).await?;
    Ok(())
}

/// Ends a user's lock-out (command line): her next right password lets her in again. Logged
/// as `login_unlocked`. A user who is not locked is an error (nothing changes).
pub async fn unlock_user(store: &Store, username: &str) -> Result<(), AppError> {
    let row = cli_user(store, username).await?;
    if !row.is_locked_at(now_ms()) {
        return Err(AppError::field(
            "--username",
            "deze gebruiker is niet vergrendeld",
        ));
    }
    let event = cli_user_event(AuditAction::LoginUnlocked, &row);
    store.unlock_login(&row.id, event).await?;
    Ok(())
}

/// The accounts of the administrator's own organisation (`/gebruikers`; role `beheerder` only).
pub async fn organisation_users(
    store: &Store,
    admin: &SessionUser,
) -> Result<Vec<domain::user_view::UserListItem>, AppError> {
    if admin.role != Role::Beheerder {
        return Err(AppError::Forbidden);
    }
    let rows = store.users_of_organisation(&admin.organisation_id).await?;
    rows.into_iter()
        .map(|r| {
            Ok(domain::user_view::UserListItem {
                disabled: r.is_disabled(),
                role: r.role,
                username: r.username,
                display_name: r.display_name,
            })
        })
        .collect()
}

/// Logs the end of `user`'s session (`logout`); the caller then ends the session itself.
pub async fn logout(store: &Store, user: &SessionUser, meta: RequestMeta) -> Result<(), AppError> {
    store
        .record(
            NewAuditEvent::new(AuditAction::Logout, Outcome::Success)
                .by(user.actor())
                .with_request(meta),
        )
        .await?;
    Ok(())
}

/// Whether the database holds the demo network (every page then says DEMO).
pub async fn is_demo(store: &Store) -> Result<bool, AppError> {
    Ok(store.is_demo().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule 9: argon2 work is bounded. With every permit taken, a login that may wait gets
    /// `Busy` after its wait and one that may not queue gets it at once; nothing runs beyond
    /// the permits.
    #[tokio::test]
    async fn the_hasher_never_runs_more_than_its_permits_and_a_waiting_login_gets_busy() {
        let hasher = Hasher::new(1);
        let held = hasher.permit(Wait::Forever).await.unwrap();
        let started = std::time::Instant::now();
        let waited = hasher
            .verify(
                Wait::UpTo(Duration::from_millis(200)),
                SecretString::from("x"),
                None,
            )
            .await;
        assert_eq!(waited, Err(AppError::Busy));
        assert!(started.elapsed() >= Duration::from_millis(200));
        let no_queue = hasher
            .verify(Wait::NoQueue, SecretString::from("x"), None)
            .await;
        assert_eq!(no_queue, Err(AppError::Busy));
        assert_eq!(hasher.peak(), 0, "nothing ran while the permit was held");
        drop(held);

        let hash = hasher
            .hash(Wait::Forever, SecretString::from("lang-genoeg-wachtwoord"))
            .await
            .unwrap();
        let mut runs = tokio::task::JoinSet::new();
        for i in 0..6 {
            let hash = hash.clone();
            let password = if i == 0 {
                "lang-genoeg-wachtwoord"
            } else {
                "fout"
            };
            let hasher = hasher.clone();
            runs.spawn(async move {
                hasher
                    .verify(Wait::Forever, SecretString::from(password), Some(hash))
                    .await
            });
        }
        let results = runs.join_all().await;
        assert_eq!(results.iter().filter(|r| **r == Ok(true)).count(), 1);
        assert_eq!(results.iter().filter(|r| **r == Ok(false)).count(), 5);
        assert_eq!(hasher.peak(), 1, "one permit: never two runs at once");
        assert_eq!(hasher.size(), 1);
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

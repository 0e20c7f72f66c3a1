//! Organisations and user accounts.

use super::audit_log::{self, NewAuditEvent};
use super::queries::queries;
use super::Entity;
use super::{now_ms, read_conn, write_tx, ReviewQueries as _, Store, StoreError, StoreResult};
use domain::UserId;
use domain::{OrganisationKind, Role, Username};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrganisationRow {
    pub id: String,
    pub name: String,
    pub kind: OrganisationKind,
}

/// A user as stored. Holds the password hash, so it is server-only and its `Debug` redacts it.
#[derive(Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: UserId,
    pub organisation_id: String,
    pub organisation_name: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub disabled_at: Option<i64>,
    /// Until when every password is refused (soft lock-out, DESIGN 9); past or `None`: open.
    pub locked_until: Option<i64>,
    /// Raised by every password change; a session of another generation acts for nobody.
    pub session_generation: i64,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("organisation_id", &self.organisation_id)
            .field("role", &self.role)
            .field("password_hash", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl UserRow {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    /// Whether the account is locked out at `now_ms`.
    pub fn is_locked_at(&self, now_ms: i64) -> bool {
        self.locked_until.is_some_and(|until| until > now_ms)
    }
}

/// What counting one failed password did to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCount {
    /// Counted: this many consecutive failures in the current run.
    Counted(i64),
    /// This failure reached the limit: the account is locked until then (ms, UTC), and the
    /// `login_locked` event is written.
    Locked { until: i64 },
    /// The account was already locked (or is gone): nothing counted.
    AlreadyLocked,
}

/// A user to create; the password hash is passed separately.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub organisation_id: String,
    pub username: Username,
    pub display_name: String,
    pub role: Role,
}

impl Store {
    /// Adds an organisation and its audit event in one transaction.
    pub async fn add_organisation(
        &self,
        id: &str,
        name: &str,
        kind: OrganisationKind,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            // The chain lock first: an event without an organisation written meanwhile must
            // either see this organisation or be seen by `scope_unowned_events`.
            super::BackendSpecific::lock_audit_chain(c).await?;
            c.insert_organisation(id, name, kind.as_str(), now_ms())
                .await?;
            c.scope_unowned_events(id).await?;
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    pub async fn organisation(&self, id: &str) -> StoreResult<Option<OrganisationRow>> {
        read_conn!(self, |c| c.organisation(id).await)
    }

    /// Adds a user and its audit event in one transaction. A taken username is
    /// `AlreadyExists(Entity::Username)`.
    pub async fn add_user(
        &self,
        user: &NewUser,
        password_hash: &str,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            c.insert_user(user, password_hash, now_ms()).await?;
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    pub async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserRow>> {
        read_conn!(self, |c| c.user_by_username(username).await)
    }

    pub async fn user_by_id(&self, id: &UserId) -> StoreResult<Option<UserRow>> {
        read_conn!(self, |c| c.user_by_id(id).await)
    }

    pub async fn users_of_organisation(&self, organisation_id: &str) -> StoreResult<Vec<UserRow>> {
        read_conn!(self, |c| c.users_of_organisation(organisation_id).await)
    }

    /// Disables a user (login refused, running sessions end at their next request).
    pub async fn disable_user(&self, user_id: &UserId, event: NewAuditEvent) -> StoreResult<()> {
        write_tx!(self, |c| {
            c.disable_user(user_id, now_ms()).await?;
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    /// Sets a new password hash and its audit event in one transaction, and raises the user's
    /// session generation, which it returns: every session of another generation ends
    /// (DESIGN 9); the caller's own session takes the new one.
    pub async fn set_password_hash(
        &self,
        user_id: &UserId,
        password_hash: &str,
        event: NewAuditEvent,
    ) -> StoreResult<i64> {
        let generation = write_tx!(self, |c| {
            c.set_password_hash(user_id, password_hash, now_ms())
                .await?;
            let generation = c.next_session_generation(user_id).await?;
            audit_log::append(c, &self.flag_rules, event).await?;
            generation
        });
        Ok(generation)
    }

    /// Counts one failed password of `user_id` (rule 10). The run of failures restarts when its
    /// first failure is older than `window_ms`; the `max_failures`th failure of a run locks the
    /// account for `lock_ms` and appends `locked_event` in the same transaction. A locked
    /// account counts nothing (an attacker cannot extend the lock by guessing on).
    pub async fn count_login_failure(
        &self,
        user_id: &UserId,
        max_failures: i64,
        window_ms: i64,
        lock_ms: i64,
        locked_event: impl FnOnce(i64) -> NewAuditEvent + Send,
    ) -> StoreResult<FailureCount> {
        let now = now_ms();
        let outcome = write_tx!(self, |c| {
            match c.count_login_failure(user_id, now - window_ms, now).await? {
                None => FailureCount::AlreadyLocked,
                Some(n) if n >= max_failures => {
                    let until = now + lock_ms;
                    c.lock_login(user_id, until).await?;
                    audit_log::append(c, &self.flag_rules, locked_event(until)).await?;
                    FailureCount::Locked { until }
                }
                Some(n) => FailureCount::Counted(n),
            }
        });
        Ok(outcome)
    }

    /// A successful login: ends the run of failures and appends the `login` event, in one
    /// transaction.
    pub async fn record_login(&self, user_id: &UserId, event: NewAuditEvent) -> StoreResult<i64> {
        let id = write_tx!(self, |c| {
            c.reset_login_failures(user_id).await?;
            audit_log::append(c, &self.flag_rules, event).await?
        });
        Ok(id)
    }

    /// Ends a lock-out and the run of failures (`ooievaar user unlock`), with its audit event.
    pub async fn unlock_login(&self, user_id: &UserId, event: NewAuditEvent) -> StoreResult<()> {
        write_tx!(self, |c| {
            c.reset_login_failures(user_id).await?;
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    /// Appends one audit event on its own (login attempts, log reads, refusals).
    pub async fn record(&self, event: NewAuditEvent) -> StoreResult<i64> {
        let id = write_tx!(self, |c| audit_log::append(c, &self.flag_rules, event)
            .await?);
        Ok(id)
    }
}

const USER_COLUMNS: &str = "u.id, u.organisation_id, o.name AS organisation_name, u.username, \
     u.display_name, u.role, u.password_hash, u.disabled_at, u.locked_until, u.session_generation";

queries! {
    /// The statements of organisations, users, their login failures and sessions.
    trait AccountQueries;

    async fn insert_organisation(&mut self, id: &str, name: &str, kind: &str, now: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO organisations (id, name, kind, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id).bind(name).bind(kind).bind(now)
            .execute(&mut *self)
            .await
            .map_err(|e| StoreError::on_unique(e, Entity::Organisation))?;
        Ok(())
    }

    async fn organisation(&mut self, id: &str) -> StoreResult<Option<OrganisationRow>> {
        Ok(sqlx::query_as::<_, OrganisationRow>("SELECT id, name, kind FROM organisations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self)
            .await?)
    }

    async fn insert_user(&mut self, user: &NewUser, password_hash: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, organisation_id, username, display_name, role, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&user.id).bind(&user.organisation_id).bind(user.username.as_ref())
        .bind(&user.display_name).bind(user.role.as_str()).bind(password_hash).bind(now)
        .execute(&mut *self)
        .await
        .map_err(|e| StoreError::on_unique(e, Entity::Username))?;
        Ok(())
    }

    async fn user_by_username(&mut self, username: &str) -> StoreResult<Option<UserRow>> {
        Ok(sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN organisations o ON o.id = u.organisation_id WHERE u.username = $1"
        ))
        .bind(username)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn user_by_id(&mut self, id: &UserId) -> StoreResult<Option<UserRow>> {
        Ok(sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN organisations o ON o.id = u.organisation_id WHERE u.id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn users_of_organisation(&mut self, organisation_id: &str) -> StoreResult<Vec<UserRow>> {
        Ok(sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN organisations o ON o.id = u.organisation_id \
             WHERE u.organisation_id = $1 ORDER BY u.display_name"
        ))
        .bind(organisation_id)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn disable_user(&mut self, id: &UserId, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET disabled_at = $2, updated_at = $2 WHERE id = $1 AND disabled_at IS NULL")
            .bind(id).bind(now)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn set_password_hash(&mut self, id: &UserId, password_hash: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id).bind(password_hash).bind(now)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    /// Counts one failed password of an account that is not locked (rule 10): a run older than
    /// `window_start` starts again at 1. Returns the run's count, or `None` when the account is
    /// locked (or gone) and nothing was counted. Concurrent failures serialise on the row.
    async fn count_login_failure(&mut self, id: &UserId, window_start: i64, now: i64) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "UPDATE users SET \
             failed_logins = CASE WHEN failed_since IS NULL OR failed_since <= $2 THEN 1 ELSE failed_logins + 1 END, \
             failed_since = CASE WHEN failed_since IS NULL OR failed_since <= $2 THEN $3 ELSE failed_since END \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $3) RETURNING failed_logins",
        )
        .bind(id).bind(window_start).bind(now)
        .fetch_optional(&mut *self)
        .await?)
    }

    /// Locks an account until `until` and starts a new run of failures.
    async fn lock_login(&mut self, id: &UserId, until: i64) -> StoreResult<()> {
        sqlx::query("UPDATE users SET locked_until = $2, failed_logins = 0, failed_since = NULL WHERE id = $1")
            .bind(id).bind(until)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    /// Ends a lock and the current run of failures (a successful login, `user unlock`).
    async fn reset_login_failures(&mut self, id: &UserId) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET locked_until = NULL, failed_logins = 0, failed_since = NULL \
             WHERE id = $1 AND (locked_until IS NOT NULL OR failed_logins <> 0 OR failed_since IS NOT NULL)",
        )
        .bind(id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Raises the user's session generation (every other session ends) and returns the new one.
    async fn next_session_generation(&mut self, id: &UserId) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "UPDATE users SET session_generation = session_generation + 1 WHERE id = $1 RETURNING session_generation",
        )
        .bind(id)
        .fetch_one(&mut *self)
        .await?)
    }
}

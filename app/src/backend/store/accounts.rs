//! Organisations and user accounts.

use super::{now_ms, read_conn, write_tx, Queries as _, ReviewQueries as _, Store, StoreResult};
use crate::backend::audit::NewAuditEvent;
use crate::domain::{OrganisationKind, Role, Username};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrganisationRow {
    pub id: String,
    pub name: String,
    pub kind: String,
}

/// A user as stored. Holds the password hash, so it is server-only and its `Debug` redacts it.
#[derive(Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub organisation_id: String,
    pub organisation_name: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub disabled_at: Option<i64>,
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
    /// The role; the CHECK constraint guarantees a known key, anything else fails closed.
    pub fn role(&self) -> Option<Role> {
        Role::parse(&self.role)
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// A user to create; the password hash is passed separately.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
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
            crate::backend::audit::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    pub async fn organisation(&self, id: &str) -> StoreResult<Option<OrganisationRow>> {
        read_conn!(self, |c| c.organisation(id).await)
    }

    /// Adds a user and its audit event in one transaction. A taken username is
    /// `AlreadyExists("username")`.
    pub async fn add_user(
        &self,
        user: &NewUser,
        password_hash: &str,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            c.insert_user(user, password_hash, now_ms()).await?;
            crate::backend::audit::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    pub async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserRow>> {
        read_conn!(self, |c| c.user_by_username(username).await)
    }

    pub async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRow>> {
        read_conn!(self, |c| c.user_by_id(id).await)
    }

    pub async fn users_of_organisation(&self, organisation_id: &str) -> StoreResult<Vec<UserRow>> {
        read_conn!(self, |c| c.users_of_organisation(organisation_id).await)
    }

    /// Disables a user (login refused, running sessions end at their next request).
    pub async fn disable_user(&self, user_id: &str, event: NewAuditEvent) -> StoreResult<()> {
        write_tx!(self, |c| {
            c.disable_user(user_id, now_ms()).await?;
            crate::backend::audit::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    pub async fn set_password_hash(
        &self,
        user_id: &str,
        password_hash: &str,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            c.set_password_hash(user_id, password_hash, now_ms())
                .await?;
            crate::backend::audit::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    /// Failed logins in the window for a username and from an address (for slowing down
    /// guessing), as `(for_name, from_address)`.
    pub async fn recent_login_failures(
        &self,
        username: &str,
        ip: Option<&str>,
        since_ms: i64,
    ) -> StoreResult<(i64, i64)> {
        read_conn!(self, |c| c
            .recent_login_failures(username, ip, since_ms)
            .await)
    }

    /// Appends one audit event on its own (login attempts, log reads, refusals).
    pub async fn record(&self, event: NewAuditEvent) -> StoreResult<i64> {
        let id = write_tx!(self, |c| crate::backend::audit::append(
            c,
            &self.flag_rules,
            event
        )
        .await?);
        Ok(id)
    }
}

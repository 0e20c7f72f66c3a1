//! Second factors: the authenticator app (TOTP) with its last accepted step, recovery codes
//! and passkeys. Every change writes its audit event in the same transaction.

use super::audit_log::{self, NewAuditEvent};
use super::queries::queries;
use super::{
    now_ms, read_conn, write_tx, AccountQueries as _, Entity, Store, StoreError, StoreResult,
};
use domain::UserId;

/// A user's authenticator app as stored: the secret sealed with the secret key.
#[derive(Clone, sqlx::FromRow)]
pub struct TotpRow {
    pub secret_sealed: String,
    pub last_step: Option<i64>,
    pub enrolled_at: i64,
}

impl std::fmt::Debug for TotpRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRow")
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

/// A passkey as stored: `credential` is the WebAuthn library's JSON record.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: String,
    pub credential_id: String,
    pub name: String,
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A passkey to store.
#[derive(Debug, Clone)]
pub struct NewPasskey {
    pub id: String,
    pub credential_id: String,
    pub name: String,
    pub credential: String,
}

impl Store {
    pub async fn totp_factor(&self, user: &UserId) -> StoreResult<Option<TotpRow>> {
        read_conn!(self, |c| c.totp_factor(user).await)
    }

    /// Stores her authenticator app (its first code's step counts as used) and her recovery
    /// codes, with the audit event. `AlreadyExists` when she has one already (a second
    /// enrolment raced this one).
    pub async fn enrol_totp(
        &self,
        user: &UserId,
        secret_sealed: &str,
        first_step: i64,
        recovery_hashes: &[String],
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        let now = now_ms();
        write_tx!(self, |c| {
            c.insert_totp(user, secret_sealed, first_step, now).await?;
            c.delete_recovery_codes(user).await?;
            for hash in recovery_hashes {
                c.insert_recovery_code(user, hash, now).await?;
            }
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    /// Marks `step` used when it is after the last accepted step; `false` when it is not (a
    /// replay, here or on another instance: the update is conditional, so two sessions racing
    /// with one code cannot both win).
    pub async fn use_totp_step(&self, user: &UserId, step: i64) -> StoreResult<bool> {
        Ok(write_tx!(self, |c| c.use_totp_step(user, step).await?))
    }

    /// Uses one unused recovery code; `None` when no unused code has this hash. The event
    /// (given the codes left) is written in the same transaction.
    pub async fn use_recovery_code(
        &self,
        user: &UserId,
        code_hash: &str,
        event: impl FnOnce(i64) -> NewAuditEvent + Send,
    ) -> StoreResult<Option<i64>> {
        let now = now_ms();
        Ok(write_tx!(self, |c| {
            if c.use_recovery_code(user, code_hash, now).await? {
                let left = c.unused_recovery_codes(user).await?;
                audit_log::append(c, &self.flag_rules, event(left)).await?;
                Some(left)
            } else {
                None
            }
        }))
    }

    pub async fn unused_recovery_codes(&self, user: &UserId) -> StoreResult<i64> {
        read_conn!(self, |c| c.unused_recovery_codes(user).await)
    }

    /// Replaces every recovery code of hers with new ones, with the audit event.
    pub async fn replace_recovery_codes(
        &self,
        user: &UserId,
        recovery_hashes: &[String],
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        let now = now_ms();
        write_tx!(self, |c| {
            c.delete_recovery_codes(user).await?;
            for hash in recovery_hashes {
                c.insert_recovery_code(user, hash, now).await?;
            }
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    pub async fn passkeys(&self, user: &UserId) -> StoreResult<Vec<PasskeyRow>> {
        read_conn!(self, |c| c.passkeys(user).await)
    }

    pub async fn add_passkey(
        &self,
        user: &UserId,
        passkey: &NewPasskey,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        let now = now_ms();
        write_tx!(self, |c| {
            c.insert_passkey(user, passkey, now).await?;
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    /// Stores a passkey's record after a login with it (its signature counter moved on).
    pub async fn passkey_used(&self, user: &UserId, id: &str, credential: &str) -> StoreResult<()> {
        let now = now_ms();
        write_tx!(self, |c| c
            .update_passkey(user, id, credential, now)
            .await?);
        Ok(())
    }

    /// Removes one of her passkeys; `NotFound` when she has none with this id.
    pub async fn remove_passkey(
        &self,
        user: &UserId,
        id: &str,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            if !c.delete_passkey(user, id).await? {
                return Err(StoreError::NotFound(Entity::Passkey));
            }
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    /// `ooievaar user reset-2fa`: removes her authenticator app, recovery codes and passkeys,
    /// and ends her sessions (a new session generation), with the audit event.
    pub async fn reset_second_factor(
        &self,
        user: &UserId,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            c.delete_recovery_codes(user).await?;
            c.delete_passkeys(user).await?;
            c.delete_totp(user).await?;
            c.next_session_generation(user).await?;
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }
}

queries! {
    /// The statements of second factors.
    trait SecondFactorQueries;

    async fn totp_factor(&mut self, user: &UserId) -> StoreResult<Option<TotpRow>> {
        Ok(sqlx::query_as::<_, TotpRow>("SELECT secret_sealed, last_step, enrolled_at FROM totp_factors WHERE user_id = $1")
            .bind(user)
            .fetch_optional(&mut *self)
            .await?)
    }

    async fn insert_totp(&mut self, user: &UserId, secret_sealed: &str, step: i64, now: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO totp_factors (user_id, secret_sealed, last_step, enrolled_at) VALUES ($1, $2, $3, $4)")
            .bind(user).bind(secret_sealed).bind(step).bind(now)
            .execute(&mut *self)
            .await
            .map_err(|e| StoreError::on_unique(e, Entity::SecondFactor))?;
        Ok(())
    }

    async fn use_totp_step(&mut self, user: &UserId, step: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE totp_factors SET last_step = $2 WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)",
        )
        .bind(user).bind(step)
        .execute(&mut *self)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_totp(&mut self, user: &UserId) -> StoreResult<()> {
        sqlx::query("DELETE FROM totp_factors WHERE user_id = $1").bind(user).execute(&mut *self).await?;
        Ok(())
    }

    async fn insert_recovery_code(&mut self, user: &UserId, code_hash: &str, now: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
            .bind(user).bind(code_hash).bind(now)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn use_recovery_code(&mut self, user: &UserId, code_hash: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(user).bind(code_hash).bind(now)
        .execute(&mut *self)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn unused_recovery_codes(&mut self, user: &UserId) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user)
            .fetch_one(&mut *self)
            .await?)
    }

    async fn delete_recovery_codes(&mut self, user: &UserId) -> StoreResult<()> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user).execute(&mut *self).await?;
        Ok(())
    }

    async fn passkeys(&mut self, user: &UserId) -> StoreResult<Vec<PasskeyRow>> {
        Ok(sqlx::query_as::<_, PasskeyRow>(
            "SELECT id, credential_id, name, credential, created_at, last_used_at FROM passkeys \
             WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn insert_passkey(&mut self, user: &UserId, passkey: &NewPasskey, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO passkeys (id, user_id, credential_id, name, credential, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&passkey.id).bind(user).bind(&passkey.credential_id).bind(&passkey.name)
        .bind(&passkey.credential).bind(now)
        .execute(&mut *self)
        .await
        .map_err(|e| StoreError::on_unique(e, Entity::Passkey))?;
        Ok(())
    }

    async fn update_passkey(&mut self, user: &UserId, id: &str, credential: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE passkeys SET credential = $3, last_used_at = $4 WHERE user_id = $1 AND id = $2")
            .bind(user).bind(id).bind(credential).bind(now)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn delete_passkey(&mut self, user: &UserId, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND id = $2")
            .bind(user).bind(id)
            .execute(&mut *self)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_passkeys(&mut self, user: &UserId) -> StoreResult<()> {
        sqlx::query("DELETE FROM passkeys WHERE user_id = $1").bind(user).execute(&mut *self).await?;
        Ok(())
    }
}

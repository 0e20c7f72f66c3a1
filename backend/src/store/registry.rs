//! Consent registries (DESIGN 8.3): the registries, their keys, and the clients' consent
//! profiles. What a profile hides is applied by the `visible_shares` view that every read
//! joins (migration `20261201090000_consent_registry.sql`), not here.

use super::audit_log::{self, NewAuditEvent};
use super::queries::queries;
use super::sources::SourceKeyRow;
use super::{now_ms, read_conn, write_tx, Entity, Store, StoreError, StoreResult};
use domain::consent_profile::{ConsentChoice, ConsentProfile};
use domain::{OrganisationKind, SourceId};

/// Who signs an API token: a source system or a consent registry. Each is accepted only on its
/// own endpoints; their ids never coincide (the command line refuses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Source,
    Registry,
}

/// A registered caller of the API: its organisation for a source, none for a registry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallerRow {
    pub id: SourceId,
    pub organisation_id: Option<String>,
}

/// A client's stored profile and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProfile {
    pub profile: ConsentProfile,
    pub version: i64,
    pub registry_id: String,
}

impl Store {
    /// A registered caller of `party`'s kind, if `id` names one.
    pub async fn caller(&self, party: Party, id: &SourceId) -> StoreResult<Option<CallerRow>> {
        read_conn!(self, |c| match party {
            Party::Source => c.source_caller(id).await,
            Party::Registry => c.registry_caller(id).await,
        })
    }

    /// The keys that may verify a caller's tokens.
    pub async fn active_caller_keys(
        &self,
        party: Party,
        id: &SourceId,
    ) -> StoreResult<Vec<SourceKeyRow>> {
        read_conn!(self, |c| match party {
            Party::Source => super::SourceQueries::source_keys(c, id, false).await,
            Party::Registry => c.registry_keys(id).await,
        })
    }

    /// Registers a registry with its first key (one transaction, one event each). An id that a
    /// source or another registry already has is `AlreadyExists(Source)`.
    pub async fn add_registry_with_key(
        &self,
        key: &SourceKeyRow,
        registry_event: NewAuditEvent,
        key_event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            let now = now_ms();
            if super::SourceQueries::source(c, &key.source_id)
                .await?
                .is_some()
            {
                return Err(StoreError::AlreadyExists(Entity::Source));
            }
            c.insert_registry(&key.source_id, now).await?;
            audit_log::append(c, &self.flag_rules, registry_event).await?;
            c.insert_registry_key(key, now).await?;
            audit_log::append(c, &self.flag_rules, key_event).await?;
        });
        Ok(())
    }

    /// Whether `id` names a registry (a source with that id is refused).
    pub async fn is_registry(&self, id: &SourceId) -> StoreResult<bool> {
        Ok(self.caller(Party::Registry, id).await?.is_some())
    }

    /// Which of `organisations` are not organisations of the network.
    pub async fn unknown_organisations(
        &self,
        organisations: &[String],
    ) -> StoreResult<Vec<String>> {
        let known: Vec<String> = read_conn!(self, |c| c.all_organisation_ids().await)?;
        Ok(organisations
            .iter()
            .filter(|o| !known.contains(o))
            .cloned()
            .collect())
    }

    /// Replaces the client's profile (by BSN, known to Ooievaar or not) and appends the event
    /// `event` builds from the new version, under the chain lock: every view either precedes
    /// the change entirely or applies it (they take the lock first). Returns the version.
    pub async fn put_consent_profile(
        &self,
        bsn: &str,
        registry_id: &SourceId,
        profile: &ConsentProfile,
        event: impl FnOnce(i64) -> NewAuditEvent + Send,
    ) -> StoreResult<i64> {
        let version = write_tx!(self, |c| {
            super::BackendSpecific::lock_audit_chain(c).await?;
            let version = c.consent_profile_version(bsn).await?.unwrap_or(0) + 1;
            c.delete_profile_lists(bsn).await?;
            c.upsert_profile(bsn, registry_id, profile.choice(), version, now_ms())
                .await?;
            for organisation in profile.organisations() {
                c.insert_profile_organisation(bsn, &organisation).await?;
            }
            for kind in profile.kinds() {
                c.insert_profile_kind(bsn, kind).await?;
            }
            audit_log::append(c, &self.flag_rules, event(version)).await?;
            version
        });
        Ok(version)
    }

    /// The client's profile as stored, if any.
    pub async fn consent_profile(&self, bsn: &str) -> StoreResult<Option<StoredProfile>> {
        read_conn!(self, |c| c.consent_profile(bsn).await)
    }
}

/// A profile's row without its lists.
#[derive(sqlx::FromRow)]
pub struct ProfileHead {
    pub registry_id: String,
    pub choice: ConsentChoice,
    pub version: i64,
}

queries! {
    /// The statements of registries and consent profiles.
    trait RegistryQueries;

    async fn source_caller(&mut self, id: &SourceId) -> StoreResult<Option<CallerRow>> {
        Ok(sqlx::query_as::<_, CallerRow>("SELECT id, organisation_id FROM sources WHERE id = $1")
            .bind(id).fetch_optional(&mut *self).await?)
    }

    async fn registry_caller(&mut self, id: &SourceId) -> StoreResult<Option<CallerRow>> {
        Ok(sqlx::query_as::<_, CallerRow>(
            "SELECT id, CAST(NULL AS TEXT) AS organisation_id FROM registries WHERE id = $1",
        )
        .bind(id).fetch_optional(&mut *self).await?)
    }

    async fn registry_keys(&mut self, id: &SourceId) -> StoreResult<Vec<SourceKeyRow>> {
        Ok(sqlx::query_as::<_, SourceKeyRow>(
            "SELECT id, registry_id AS source_id, algorithm, public_key_pem, revoked_at FROM registry_keys \
             WHERE registry_id = $1 AND revoked_at IS NULL ORDER BY created_at",
        )
        .bind(id).fetch_all(&mut *self).await?)
    }

    async fn insert_registry(&mut self, id: &SourceId, now: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO registries (id, created_at) VALUES ($1, $2)")
            .bind(id).bind(now)
            .execute(&mut *self).await
            .map_err(|e| StoreError::on_unique(e, Entity::Source))?;
        Ok(())
    }

    async fn insert_registry_key(&mut self, key: &SourceKeyRow, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO registry_keys (id, registry_id, algorithm, public_key_pem, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.id).bind(&key.source_id).bind(&key.algorithm).bind(&key.public_key_pem).bind(now)
        .execute(&mut *self).await
        .map_err(|e| StoreError::on_unique(e, Entity::Key))?;
        Ok(())
    }

    async fn all_organisation_ids(&mut self) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT id FROM organisations").fetch_all(&mut *self).await?)
    }

    /// The version of the BSN's profile, if she has one.
    async fn consent_profile_version(&mut self, bsn: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT version FROM consent_profiles WHERE bsn = $1")
            .bind(bsn).fetch_optional(&mut *self).await?)
    }

    async fn delete_profile_lists(&mut self, bsn: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM consent_profile_organisations WHERE bsn = $1").bind(bsn).execute(&mut *self).await?;
        sqlx::query("DELETE FROM consent_profile_kinds WHERE bsn = $1").bind(bsn).execute(&mut *self).await?;
        Ok(())
    }

    async fn upsert_profile(&mut self, bsn: &str, registry_id: &SourceId, choice: ConsentChoice, version: i64, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO consent_profiles (bsn, registry_id, choice, version, received_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (bsn) DO UPDATE SET registry_id = excluded.registry_id, choice = excluded.choice, \
             version = excluded.version, received_at = excluded.received_at",
        )
        .bind(bsn).bind(registry_id).bind(choice.as_str()).bind(version).bind(now)
        .execute(&mut *self).await?;
        Ok(())
    }

    async fn insert_profile_organisation(&mut self, bsn: &str, organisation: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO consent_profile_organisations (bsn, organisation_id) VALUES ($1, $2)")
            .bind(bsn).bind(organisation).execute(&mut *self).await?;
        Ok(())
    }

    async fn insert_profile_kind(&mut self, bsn: &str, kind: OrganisationKind) -> StoreResult<()> {
        sqlx::query("INSERT INTO consent_profile_kinds (bsn, kind) VALUES ($1, $2)")
            .bind(bsn).bind(kind.as_str()).execute(&mut *self).await?;
        Ok(())
    }

    /// Deletes the BSN's profile and its lists; whether there was one.
    async fn delete_profile(&mut self, bsn: &str) -> StoreResult<bool> {
        self.delete_profile_lists(bsn).await?;
        Ok(sqlx::query("DELETE FROM consent_profiles WHERE bsn = $1")
            .bind(bsn).execute(&mut *self).await?.rows_affected() == 1)
    }

    async fn consent_profile(&mut self, bsn: &str) -> StoreResult<Option<StoredProfile>> {
        let Some(head) = sqlx::query_as::<_, ProfileHead>(
            "SELECT registry_id, choice, version FROM consent_profiles WHERE bsn = $1",
        )
        .bind(bsn).fetch_optional(&mut *self).await? else {
            return Ok(None);
        };
        let profile = match head.choice {
            ConsentChoice::All => ConsentProfile::All,
            ConsentChoice::None => ConsentProfile::None,
            ConsentChoice::Selected => {
                let organisations: Vec<String> = sqlx::query_scalar(
                    "SELECT organisation_id FROM consent_profile_organisations WHERE bsn = $1",
                ).bind(bsn).fetch_all(&mut *self).await?;
                let kinds: Vec<String> = sqlx::query_scalar(
                    "SELECT kind FROM consent_profile_kinds WHERE bsn = $1",
                ).bind(bsn).fetch_all(&mut *self).await?;
                ConsentProfile::Selected {
                    organisations: organisations.into_iter().collect(),
                    kinds: kinds.iter().filter_map(|k| OrganisationKind::parse(k)).collect(),
                }
            }
        };
        Ok(Some(StoredProfile { profile, version: head.version, registry_id: head.registry_id }))
    }
}

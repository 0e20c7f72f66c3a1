//! What sources share: clients, shares, pregnancies and entries.

use super::audit_log::{self, NewAuditEvent};
use super::queries::queries;
#[cfg(feature = "test-support")]
use super::read_conn;
use super::Entity;
use super::{now_ms, write_tx, Store, StoreError, StoreResult};
use domain::share::ConsentStatus;
use domain::{Category, Sensitivity};
use domain::{ClientId, SourceId};

/// A pregnancy as a source sends it (already validated).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PregnancyRow {
    pub id: String,
    pub edd: String,
    pub gravidity: i32,
    pub parity: i32,
    pub status: String,
    pub ended_on: Option<String>,
}

/// An entry as a source sends it (already validated).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EntryRow {
    pub id: String,
    pub pregnancy_id: Option<String>,
    pub category: Category,
    pub code: String,
    pub label: String,
    pub value: String,
    pub unit: Option<String>,
    pub observed_at: i64,
    pub sensitivity: Sensitivity,
}

/// A source's whole share of one client (validated input to [`Store::replace_share`]).
#[derive(Debug, Clone)]
pub struct ShareContent {
    pub name: String,
    pub birth_date: String,
    pub pregnancies: Vec<PregnancyRow>,
    pub entries: Vec<EntryRow>,
}

/// Counts reported back to the source after a replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ReplaceCounts {
    pub pregnancies: usize,
    pub entries: usize,
}

impl Store {
    /// Withdraws (the share's content is purged in the same transaction) or restores a
    /// client's consent for a source, with its audit event.
    /// `NotFound(Entity::Share)` when this source never shared this client; nothing changes then.
    pub async fn change_consent(
        &self,
        bsn: &str,
        source_id: &SourceId,
        consent: ConsentStatus,
        mut event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            let Some(client_id) = c.client_id_by_bsn(bsn).await? else {
                return Err(StoreError::NotFound(Entity::Share));
            };
            if c.share_consent(&client_id, source_id).await?.is_none() {
                return Err(StoreError::NotFound(Entity::Share));
            }
            c.set_share_consent(&client_id, source_id, consent, now_ms())
                .await?;
            if consent == ConsentStatus::Withdrawn {
                c.purge_share_content(&client_id, source_id).await?;
            }
            event.client_id = Some(client_id);
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    /// Replaces the share of `source_id` for the client with `bsn` in one transaction, creating
    /// the client record on first share, and appends `event` (with the client id filled in).
    /// Refused with `StoreError::ConsentWithdrawn` while that source's consent is withdrawn.
    pub async fn replace_share(
        &self,
        bsn: &str,
        source_id: &SourceId,
        content: &ShareContent,
        event: NewAuditEvent,
    ) -> StoreResult<ReplaceCounts> {
        let (counts, ()) = self
            .replace_share_counted(bsn, source_id, content, event, |_, _| ())
            .await?;
        Ok(counts)
    }

    /// [`Store::replace_share`], also returning `diff(old entries, new entries)` computed inside
    /// the transaction (the added/changed/removed counts reported to the source).
    pub async fn replace_share_counted<T: Send>(
        &self,
        bsn: &str,
        source_id: &SourceId,
        content: &ShareContent,
        mut event: NewAuditEvent,
        diff: impl FnOnce(&[EntryRow], &[EntryRow]) -> T + Send,
    ) -> StoreResult<(ReplaceCounts, T)> {
        let result = write_tx!(self, |c| {
            let now = now_ms();
            let client_id = match c.client_id_by_bsn(bsn).await? {
                Some(id) => id,
                None => {
                    // Another source may be creating this client at this moment: the insert
                    // then waits for it and does nothing, and the id is read again (on
                    // PostgreSQL each statement sees what committed before it).
                    c.insert_client(&ClientId::from(new_opaque_id()), bsn, now)
                        .await?;
                    c.client_id_by_bsn(bsn)
                        .await?
                        .ok_or(StoreError::NotFound(Entity::Client))?
                }
            };
            if c.share_consent(&client_id, source_id).await? == Some(ConsentStatus::Withdrawn) {
                return Err(StoreError::ConsentWithdrawn);
            }
            let old_entries = c.share_entries(&client_id, source_id).await?;
            let changes = diff(&old_entries, &content.entries);
            c.upsert_active_share(
                &client_id,
                source_id,
                &content.name,
                &content.birth_date,
                now,
            )
            .await?;
            c.purge_share_content(&client_id, source_id).await?;
            for p in &content.pregnancies {
                c.insert_pregnancy(&client_id, source_id, p).await?;
            }
            for e in &content.entries {
                c.insert_entry(&client_id, source_id, e).await?;
            }
            event.client_id = Some(client_id);
            event.detail = Some(domain::AuditDetail::ShareReceived(
                domain::audit_detail::ShareCounts {
                    pregnancies: content.pregnancies.len() as i64,
                    entries: content.entries.len() as i64,
                },
            ));
            audit_log::append(c, &self.flag_rules, event).await?;
            (
                ReplaceCounts {
                    pregnancies: content.pregnancies.len(),
                    entries: content.entries.len(),
                },
                changes,
            )
        });
        Ok(result)
    }

    /// Row counts of the shared-data tables (for tests and the demo summary).
    #[cfg(feature = "test-support")]
    pub async fn shared_data_counts(&self) -> StoreResult<[i64; 4]> {
        read_conn!(self, |c| Ok([
            c.count_rows("clients").await?,
            c.count_rows("shares").await?,
            c.count_rows("pregnancies").await?,
            c.count_rows("entries").await?,
        ]))
    }

    /// Every row of clients, shares, pregnancies and entries as ordered text lines.
    #[cfg(feature = "test-support")]
    pub async fn shared_data_dump(&self) -> StoreResult<String> {
        read_conn!(self, |c| {
            let mut lines = Vec::new();
            for table in ["clients", "shares", "pregnancies", "entries"] {
                lines.extend(c.dump_lines(table).await?);
            }
            Ok(lines.join("\n"))
        })
    }
}

/// A random opaque client id for URLs: 128 bits, URL-safe, unrelated to the BSN.
pub fn new_opaque_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

queries! {
    /// The statements of what sources share: clients, shares, pregnancies, entries.
    trait ShareQueries;

    async fn client_id_by_bsn(&mut self, bsn: &str) -> StoreResult<Option<ClientId>> {
        Ok(sqlx::query_scalar("SELECT id FROM clients WHERE bsn = $1")
            .bind(bsn)
            .fetch_optional(&mut *self)
            .await?)
    }

    /// Creates the client record unless one with this BSN exists (also one that a concurrent
    /// transaction committed meanwhile: no unique violation when two sources share a new BSN
    /// at once). Read the id afterwards with `client_id_by_bsn`.
    async fn insert_client(&mut self, id: &ClientId, bsn: &str, now: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO clients (id, bsn, created_at) VALUES ($1, $2, $3) ON CONFLICT (bsn) DO NOTHING")
            .bind(id).bind(bsn).bind(now)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    /// Consent state of one share: `None` when the source never shared this client.
    async fn share_consent(&mut self, client_id: &ClientId, source_id: &SourceId) -> StoreResult<Option<ConsentStatus>> {
        Ok(sqlx::query_scalar("SELECT consent FROM shares WHERE client_id = $1 AND source_id = $2")
            .bind(client_id).bind(source_id)
            .fetch_optional(&mut *self)
            .await?)
    }

    /// Creates or refreshes an active share with the source's view of the client.
    async fn upsert_active_share(&mut self, client_id: &ClientId, source_id: &SourceId, name: &str, birth_date: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO shares (client_id, source_id, consent, name, birth_date, received_at, consent_changed_at, created_at, updated_at) \
             VALUES ($1, $2, 'active', $3, $4, $5, $5, $5, $5) \
             ON CONFLICT (client_id, source_id) DO UPDATE SET name = excluded.name, \
             birth_date = excluded.birth_date, received_at = excluded.received_at, updated_at = excluded.updated_at",
        )
        .bind(client_id).bind(source_id).bind(name).bind(birth_date).bind(now)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Removes a share's pregnancies and entries (before a replace, or on withdrawal).
    async fn purge_share_content(&mut self, client_id: &ClientId, source_id: &SourceId) -> StoreResult<()> {
        sqlx::query("DELETE FROM entries WHERE client_id = $1 AND source_id = $2")
            .bind(client_id).bind(source_id)
            .execute(&mut *self)
            .await?;
        sqlx::query("DELETE FROM pregnancies WHERE client_id = $1 AND source_id = $2")
            .bind(client_id).bind(source_id)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn insert_pregnancy(&mut self, client_id: &ClientId, source_id: &SourceId, p: &PregnancyRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO pregnancies (client_id, source_id, source_pregnancy_id, edd, gravidity, parity, status, ended_on) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(client_id).bind(source_id).bind(&p.id).bind(&p.edd).bind(p.gravidity)
        .bind(p.parity).bind(&p.status).bind(&p.ended_on)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn insert_entry(&mut self, client_id: &ClientId, source_id: &SourceId, e: &EntryRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO entries (client_id, source_id, source_entry_id, source_pregnancy_id, category, code, label, value, unit, observed_at, sensitivity) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(client_id).bind(source_id).bind(&e.id).bind(&e.pregnancy_id).bind(e.category)
        .bind(&e.code).bind(&e.label).bind(&e.value).bind(&e.unit).bind(e.observed_at)
        .bind(e.sensitivity)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// The entries a share holds now, for the added/changed/removed counts of a replace.
    async fn share_entries(&mut self, client_id: &ClientId, source_id: &SourceId) -> StoreResult<Vec<EntryRow>> {
        Ok(sqlx::query_as::<_, EntryRow>(
            "SELECT source_entry_id AS id, source_pregnancy_id AS pregnancy_id, category, code, label, value, unit, observed_at, sensitivity \
             FROM entries WHERE client_id = $1 AND source_id = $2",
        )
        .bind(client_id).bind(source_id)
        .fetch_all(&mut *self)
        .await?)
    }

    /// Sets a share's consent; a withdrawal also drops the source's copy of name and birth date.
    async fn set_share_consent(&mut self, client_id: &ClientId, source_id: &SourceId, consent: ConsentStatus, now: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE shares SET consent = $3, consent_changed_at = $4, updated_at = $4, \
             name = CASE WHEN $3 = 'withdrawn' THEN NULL ELSE name END, \
             birth_date = CASE WHEN $3 = 'withdrawn' THEN NULL ELSE birth_date END \
             WHERE client_id = $1 AND source_id = $2",
        )
        .bind(client_id).bind(source_id).bind(consent).bind(now)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Every row of a shared-data table as text lines (`<table>|col|col...`, NULL as `-`),
    /// ordered, for byte-for-byte before/after comparisons in tests and checks.
    #[cfg(feature = "test-support")]
    async fn dump_lines(&mut self, table: &'static str) -> StoreResult<Vec<String>> {
        let columns: &[&str] = match table {
            "clients" => &["id", "bsn", "CAST(created_at AS TEXT)"],
            "shares" => &[
                "client_id", "source_id", "consent", "COALESCE(name, '-')", "COALESCE(birth_date, '-')",
                "COALESCE(CAST(received_at AS TEXT), '-')", "CAST(consent_changed_at AS TEXT)",
            ],
            "pregnancies" => &[
                "client_id", "source_id", "source_pregnancy_id", "edd", "CAST(gravidity AS TEXT)",
                "CAST(parity AS TEXT)", "status", "COALESCE(ended_on, '-')",
            ],
            "entries" => &[
                "client_id", "source_id", "source_entry_id", "COALESCE(source_pregnancy_id, '-')",
                "category", "code", "label", "value", "COALESCE(unit, '-')",
                "CAST(observed_at AS TEXT)", "sensitivity",
            ],
            _ => return Err(StoreError::NotFound(Entity::Table)),
        };
        let joined = columns.join(" || '|' || ");
        Ok(sqlx::query_scalar(&format!("SELECT '{table}|' || {joined} FROM {table} ORDER BY 1"))
            .fetch_all(&mut *self)
            .await?)
    }

    #[cfg(feature = "test-support")]
    async fn count_rows(&mut self, table: &'static str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut *self)
            .await?)
    }
}

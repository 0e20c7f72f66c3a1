//! What sources share: clients, shares, pregnancies and entries.

#[cfg(feature = "test-support")]
use super::read_conn;
use super::{now_ms, write_tx, Queries as _, Store, StoreError, StoreResult};
use crate::audit::{self, NewAuditEvent};

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
    pub category: String,
    pub code: String,
    pub label: String,
    pub value: String,
    pub unit: Option<String>,
    pub observed_at: i64,
    pub sensitivity: String,
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
    /// Replaces the share of `source_id` for the client with `bsn` in one transaction, creating
    /// the client record on first share, and appends `event` (with the client id filled in).
    /// Refused with `StoreError::ConsentWithdrawn` while that source's consent is withdrawn.
    pub async fn replace_share(
        &self,
        bsn: &str,
        source_id: &str,
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
        source_id: &str,
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
                    c.insert_client(&new_opaque_id(), bsn, now).await?;
                    c.client_id_by_bsn(bsn)
                        .await?
                        .ok_or(StoreError::NotFound("client"))?
                }
            };
            if c.share_consent(&client_id, source_id).await?.as_deref() == Some("withdrawn") {
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
            event.detail = serde_json::json!({
                "pregnancies": content.pregnancies.len(),
                "entries": content.entries.len(),
            });
            audit::append(c, &self.flag_rules, event).await?;
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

    /// Registers a source system of an organisation (keys are added separately).
    pub async fn add_source(
        &self,
        id: &str,
        organisation_id: &str,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            c.insert_source(id, organisation_id, now_ms()).await?;
            audit::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
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

    /// Marks this installation as holding demo data. Not behind `test-support`: the product's
    /// command line calls it (`ooievaar demo seed`, DESIGN section 10).
    pub async fn mark_demo(&self) -> StoreResult<()> {
        write_tx!(self, |c| c.set_flag("demo", "true", now_ms()).await?);
        Ok(())
    }
}

/// A random opaque client id for URLs: 128 bits, URL-safe, unrelated to the BSN.
pub fn new_opaque_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

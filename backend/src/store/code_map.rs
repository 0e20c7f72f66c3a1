//! The code map of the FHIR intake (DESIGN 8.2): its rows and statements.

use super::audit_log::{self, NewAuditEvent};
use super::queries::queries;
use super::Entity;
use super::{now_ms, read_conn, write_tx, Store, StoreError, StoreResult};
use domain::code_map::CodeMapping;
use domain::{Category, Sensitivity};
use sqlx::Row;

impl Store {
    /// The whole code map, ordered by category (in the policy's order), then label.
    pub async fn code_map(&self) -> StoreResult<Vec<CodeMapping>> {
        let mut rows = read_conn!(self, |c| c.code_map_rows().await)?;
        rows.sort_by(|a, b| {
            (a.category, a.label.to_lowercase(), &a.code).cmp(&(
                b.category,
                b.label.to_lowercase(),
                &b.code,
            ))
        });
        Ok(rows)
    }

    /// Adds a row with its audit event in one transaction. An existing (system, code) is
    /// `AlreadyExists(Entity::CodeMapping)`: a row is never changed, since entries already
    /// stored under it keep the category they were stored with.
    pub async fn add_code_mapping(
        &self,
        mapping: &CodeMapping,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            c.insert_code_mapping(mapping, now_ms()).await?;
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }
}

queries! {
    /// The statements of the code map.
    trait CodeMapQueries;

    async fn code_map_rows(&mut self) -> StoreResult<Vec<CodeMapping>> {
        let rows = sqlx::query(
            "SELECT system, code, category, sensitivity, label, source FROM code_map",
        )
        .fetch_all(&mut *self)
        .await?;
        // Unknown keys cannot occur (CHECK constraints); skipping them keeps a code unmapped,
        // which refuses it rather than guessing.
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(CodeMapping {
                    system: r.get(0),
                    code: r.get(1),
                    category: Category::parse(r.get::<&str, _>(2))?,
                    sensitivity: Sensitivity::parse(r.get::<&str, _>(3))?,
                    label: r.get(4),
                    source: r.get(5),
                })
            })
            .collect())
    }

    async fn insert_code_mapping(&mut self, m: &CodeMapping, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO code_map (system, code, category, sensitivity, label, source, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&m.system).bind(&m.code).bind(m.category.as_str()).bind(m.sensitivity.as_str())
        .bind(&m.label).bind(&m.source).bind(now)
        .execute(&mut *self)
        .await
        .map_err(|e| StoreError::on_unique(e, Entity::CodeMapping))?;
        Ok(())
    }
}

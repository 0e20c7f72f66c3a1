//! The installation's own settings: its flags (whether it holds the demo network), the
//! access policy table and, beside it, the client page's layout per role.

use super::queries::queries;
use super::{now_ms, read_conn, read_tx, write_tx, AuditLogQueries, Store, StoreResult};
use domain::page_layout::{HandoverLineDef, PageLayout, Shows};
use domain::{Category, Policy, PolicyCell, Role};
use sqlx::Row;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The access policy and the page layout as one snapshot read them.
pub type Installation = (Arc<Policy>, Arc<PageLayout>);

/// The policy and the layout kept in memory with the visibility epoch they were read at. Every
/// view needs both and they change about never; any change to their tables raises the epoch
/// (by trigger, migration 20261202110000, so a change by hand in SQL counts too), and a view
/// then reads them again. One number read instead of four tables per view.
#[derive(Default)]
pub(crate) struct InstallationCache(Mutex<Option<(i64, Installation)>>);

impl std::fmt::Debug for InstallationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InstallationCache")
    }
}

impl InstallationCache {
    fn get(&self, epoch: i64) -> Option<Installation> {
        match &*self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((at, read)) if *at == epoch => Some(read.clone()),
            _ => None,
        }
    }

    /// The last read kept, whatever the epoch now (a view checks it against its own snapshot).
    pub(crate) fn latest(&self) -> Option<(i64, Installation)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn put(&self, epoch: i64, read: &Installation) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((epoch, read.clone()));
    }
}

/// The demo flag as last read. Every page shows the DEMO marker, so every page asked the
/// database (issue 15: one statement per view). The flag is set once (`ooievaar demo seed`)
/// and never removed, so once seen it is kept; its absence is read again after
/// [`DemoFlag::RECHECK`], so a database seeded while a server runs shows the marker soon after.
#[derive(Debug, Default)]
pub(crate) struct DemoFlag(Mutex<Option<(bool, Instant)>>);

impl DemoFlag {
    pub(crate) const RECHECK: Duration = Duration::from_secs(2);

    fn known(&self) -> Option<bool> {
        match *self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((true, _)) => Some(true),
            Some((false, at)) if at.elapsed() < Self::RECHECK => Some(false),
            _ => None,
        }
    }

    fn note(&self, demo: bool) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((demo, Instant::now()));
    }
}

impl Store {
    /// Whether this installation holds demo data (every page then shows a DEMO marker).
    pub async fn is_demo(&self) -> StoreResult<bool> {
        if let Some(known) = self.demo.known() {
            return Ok(known);
        }
        let demo = read_conn!(self, |c| c.flag("demo").await?.is_some());
        self.demo.note(demo);
        Ok(demo)
    }

    /// Marks this installation as holding demo data. Not behind `test-support`: the product's
    /// command line calls it (`ooievaar demo seed`, DESIGN section 10).
    pub async fn mark_demo(&self) -> StoreResult<()> {
        write_tx!(self, |c| c.set_flag("demo", "true", now_ms()).await?);
        self.demo.note(true);
        Ok(())
    }

    /// The access policy table.
    pub async fn policy(&self) -> StoreResult<Policy> {
        read_conn!(self, |c| c.policy().await)
    }

    /// The access policy and the page layout as they are now, both from one snapshot; from
    /// memory while the visibility epoch has not moved ([`InstallationCache`]).
    pub async fn policy_and_layout(&self) -> StoreResult<Installation> {
        let epoch = read_conn!(self, |c| c.visibility_epoch().await)?;
        if let Some(read) = self.installation.get(epoch) {
            return Ok(read);
        }
        Ok(self.read_installation().await?.1)
    }

    /// The access policy and the page layout from one snapshot, with its epoch, kept in memory.
    pub(crate) async fn read_installation(&self) -> StoreResult<(i64, Installation)> {
        let (epoch, read) = read_tx!(self, |c| {
            let epoch = c.visibility_epoch().await?;
            let read: Installation = (
                Arc::new(c.policy().await?),
                Arc::new(c.page_layout().await?),
            );
            (epoch, read)
        });
        self.installation.put(epoch, &read);
        Ok((epoch, read))
    }
}

queries! {
    /// The statements of the installation's flags and its access policy.
    trait InstallationQueries;

    async fn flag(&mut self, key: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM instance_flags WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *self)
            .await?)
    }

    async fn set_flag(&mut self, key: &str, value: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO instance_flags (key, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key).bind(value).bind(now)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn policy(&mut self) -> StoreResult<Policy> {
        let rows = sqlx::query("SELECT role, category, max_sensitivity FROM access_policy")
            .fetch_all(&mut *self)
            .await?;
        // Unknown keys cannot occur (CHECK constraints); skipping them keeps the policy closed.
        Ok(Policy::from_cells(rows.iter().filter_map(|r| {
            Some((
                Role::parse(r.get::<&str, _>(0))?,
                Category::parse(r.get::<&str, _>(1))?,
                PolicyCell::parse(r.get::<&str, _>(2))?,
            ))
        })))
    }

    async fn page_layout(&mut self) -> StoreResult<PageLayout> {
        let mut layout = PageLayout::default();
        let order = sqlx::query("SELECT role, category, position FROM section_order")
            .fetch_all(&mut *self)
            .await?;
        for r in &order {
            if let (Some(role), Some(category)) = (
                Role::parse(r.get::<&str, _>(0)),
                Category::parse(r.get::<&str, _>(1)),
            ) {
                layout.place_section(role, category, r.get::<i64, _>(2));
            }
        }
        let codes = sqlx::query("SELECT line, code FROM handover_codes ORDER BY line, code")
            .fetch_all(&mut *self)
            .await?;
        let lines = sqlx::query(
            "SELECT role, line, position, label, shows, category FROM handover_lines",
        )
        .fetch_all(&mut *self)
        .await?;
        for r in &lines {
            let line: String = r.get(1);
            let (Some(role), Some(shows)) = (
                Role::parse(r.get::<&str, _>(0)),
                Shows::parse(r.get::<&str, _>(4)),
            ) else {
                continue;
            };
            let definition = HandoverLineDef {
                codes: codes
                    .iter()
                    .filter(|c| c.get::<&str, _>(0) == line)
                    .map(|c| c.get::<String, _>(1))
                    .collect(),
                label: r.get(3),
                shows,
                category: r.get::<Option<&str>, _>(5).and_then(Category::parse),
                line,
            };
            layout.add_line(role, r.get::<i64, _>(2), definition);
        }
        Ok(layout)
    }
}

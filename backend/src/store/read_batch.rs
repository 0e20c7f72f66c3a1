//! The group-commit writer's run of view events (issue 15): consecutive `read` events of one
//! batch appended in a fixed number of statements, however many there are, instead of seven
//! per event. The writer holds the chain lock and appends one event at a time, so its
//! statements per event bound how many views a second the log can take; on PostgreSQL each is a
//! round trip.
//!
//! The rows, their scope and their flags are exactly what `audit_log::append_locked` would
//! write for each event in turn (the store suite's `a_run_of_reads_is_logged_as_one_by_one`
//! compares the two): the facts that one event's flags read and an earlier event of the run
//! changes (the clients a user reached in the last hour) are carried forward here in memory;
//! the others (source organisations, grants, shares) no `read` event changes.

use super::audit_log::{AuditLogQueries, AuditRow, ChainHead, NewAuditEvent, GENESIS_HASH};
use super::queries::queries;
use super::{ReviewQueries, StoreResult};
use domain::audit_flag::FlagFacts;
use domain::{AuditAction, AuditDetail, FlagRules};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Whether [`append_reads_locked`] may append `event`: a `read` by a known user that names its
/// client by both id and BSN or by neither (a list), as every view's event does.
pub(crate) fn is_batchable(event: &NewAuditEvent) -> bool {
    event.action == AuditAction::Read
        && event.actor.is_some()
        && event.client_id.is_some() == event.bsn.is_some()
}

/// Appends `events` (each [`is_batchable`]) in order after `head`, inside the caller's
/// transaction that holds the chain lock, all at the time `at`. `read` events raise no
/// visibility epoch (`audit_log::records_no_change`).
pub(crate) async fn append_reads_locked<C>(
    c: &mut C,
    rules: &FlagRules,
    events: Vec<NewAuditEvent>,
    at: i64,
    head: &mut ChainHead,
) -> StoreResult<()>
where
    C: AuditLogQueries + ReviewQueries + ReadBatchQueries,
{
    if events.is_empty() {
        return Ok(());
    }
    let known = match head.take() {
        Some(known) => Some(known),
        None => c.audit_head().await?,
    };
    let (mut next_id, mut prev_hash) = match known {
        Some((last_id, hash)) => (last_id + 1, hash),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let mut rows = Vec::with_capacity(events.len());
    let mut shown = Vec::with_capacity(events.len());
    for event in events {
        debug_assert!(is_batchable(&event));
        shown.push(
            event
                .detail
                .as_ref()
                .map(AuditDetail::shown_sources)
                .unwrap_or_default()
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect::<Vec<_>>(),
        );
        let row = event.into_row(next_id, at, prev_hash);
        next_id += 1;
        prev_hash = row.hash.clone();
        rows.push(row);
    }

    // What the scope and the flags read, once for the run.
    let sources: BTreeSet<&str> = rows
        .iter()
        .zip(&shown)
        .flat_map(|(row, shown)| row.source_id.iter().chain(shown).map(String::as_str))
        .collect();
    let organisation_of: HashMap<String, String> = c
        .source_organisations(&sources.into_iter().collect::<Vec<_>>())
        .await?
        .into_iter()
        .collect();
    let hour_ago = at - 3_600_000;
    let users: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.bsn.is_some())
        .filter_map(|r| r.user_id.as_deref())
        .collect();
    let mut reached: HashMap<(String, String), i64> = c
        .clients_reached_since(&users.into_iter().collect::<Vec<_>>(), hour_ago)
        .await?
        .into_iter()
        .map(|(user, bsn, last_at)| ((user, bsn), last_at))
        .collect();
    let with_grant = |r: &&AuditRow| r.grant_id.is_some() && r.client_id.is_some();
    let (created_of, sharing) = if rules.new_grant_minutes > 0 {
        let grants: BTreeSet<&str> = rows
            .iter()
            .filter(with_grant)
            .filter_map(|r| r.grant_id.as_deref())
            .collect();
        let clients: BTreeSet<&str> = rows
            .iter()
            .filter(with_grant)
            .filter_map(|r| r.client_id.as_deref())
            .collect();
        let created: HashMap<String, i64> = c
            .grants_created_at(&grants.into_iter().collect::<Vec<_>>())
            .await?
            .into_iter()
            .collect();
        let sharing: BTreeSet<(String, String)> = c
            .organisations_sharing_actively(&clients.into_iter().collect::<Vec<_>>())
            .await?
            .into_iter()
            .collect();
        (created, sharing)
    } else {
        (HashMap::new(), BTreeSet::new())
    };

    let mut scopes = Vec::new();
    let mut flagged = Vec::new();
    for (row, shown) in rows.iter().zip(&shown) {
        let own = row.organisation_id.clone().unwrap_or_default();
        let mut organisations: Vec<String> = row
            .source_id
            .iter()
            .chain(shown)
            .filter_map(|s| organisation_of.get(s).cloned())
            .chain(std::iter::once(own.clone()))
            .collect();
        organisations.sort();
        organisations.dedup();
        scopes.extend(
            organisations
                .into_iter()
                .map(|o| (row.id, o, row.occurred_at)),
        );

        let local = crate::clock::amsterdam(row.occurred_at);
        let mut facts = FlagFacts {
            local_time: (local.hour(), local.minute()),
            ground_is_spoed: row.ground.as_deref() == Some("spoed"),
            ..FlagFacts::default()
        };
        if let (Some(user), Some(bsn)) = (&row.user_id, &row.bsn) {
            let others = reached
                .iter()
                .filter(|((u, b), last_at)| u == user && b != bsn && **last_at > hour_ago)
                .count();
            facts.distinct_clients_last_hour = Some(others as u32 + 1);
        }
        if rules.new_grant_minutes > 0 {
            if let (Some(grant), Some(client)) = (&row.grant_id, &row.client_id) {
                if let Some(created) = created_of.get(grant) {
                    facts.grant_age_minutes = Some((row.occurred_at - created) / 60_000);
                    facts.own_organisation_shares =
                        Some(sharing.contains(&(own.clone(), client.clone())));
                }
            }
        }
        let flags = rules.evaluate(AuditAction::Read, &facts);
        if !flags.is_empty() {
            let json = serde_json::to_string(&flags).unwrap_or_else(|_| "[]".into());
            flagged.push((row.id, row.occurred_at, json));
        }
        // After the flags: the count above is of the other clients before this event.
        if let (Some(user), Some(bsn)) = (&row.user_id, &row.bsn) {
            let last = reached.entry((user.clone(), bsn.clone())).or_insert(0);
            *last = (*last).max(row.occurred_at);
        }
    }
    // One row per (user, BSN) this run reached: PostgreSQL refuses an upsert that meets the
    // same key twice.
    let accesses: BTreeMap<(&str, &str), i64> = rows
        .iter()
        .filter_map(|r| Some(((r.user_id.as_deref()?, r.bsn.as_deref()?), r.occurred_at)))
        .collect();

    c.insert_audit_rows(&rows).await?;
    c.insert_scope_rows(&scopes).await?;
    if !flagged.is_empty() {
        c.insert_flag_rows(&flagged).await?;
    }
    let accesses: Vec<(&str, &str, i64)> = accesses
        .into_iter()
        .map(|((u, b), at)| (u, b, at))
        .collect();
    if !accesses.is_empty() {
        c.note_client_accesses(&accesses).await?;
    }
    if let Some(last) = rows.last() {
        *head = Some((last.id, last.hash.clone()));
    }
    Ok(())
}

/// `$1, $2, ...` for a list bound after `first - 1` other values.
fn list(n: usize, first: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

queries! {
    /// The statements of a run of view events (see the module header).
    trait ReadBatchQueries;

    /// Each of the sources with its organisation.
    async fn source_organisations(&mut self, source_ids: &[&str]) -> StoreResult<Vec<(String, String)>> {
        if source_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT id, organisation_id FROM sources WHERE id IN ({})", list(source_ids.len(), 1));
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        for id in source_ids {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(&mut *self).await?)
    }

    /// The clients (by BSN) the users reached after `since`, with when
    /// (`recent_client_access`, as `ReviewQueries::other_clients_accessed` counts them).
    async fn clients_reached_since(&mut self, user_ids: &[&str], since: i64) -> StoreResult<Vec<(String, String, i64)>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT user_id, bsn, last_at FROM recent_client_access WHERE last_at > $1 AND user_id IN ({})",
            list(user_ids.len(), 2)
        );
        let mut query = sqlx::query_as::<_, (String, String, i64)>(&sql).bind(since);
        for id in user_ids {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(&mut *self).await?)
    }

    /// When each of the grants was created.
    async fn grants_created_at(&mut self, grant_ids: &[&str]) -> StoreResult<Vec<(String, i64)>> {
        if grant_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT id, created_at FROM access_grants WHERE id IN ({})", list(grant_ids.len(), 1));
        let mut query = sqlx::query_as::<_, (String, i64)>(&sql);
        for id in grant_ids {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(&mut *self).await?)
    }

    /// (organisation, client) for every organisation with a source whose share of one of the
    /// clients has active consent (as `ReviewQueries::organisation_shares_actively`).
    async fn organisations_sharing_actively(&mut self, client_ids: &[&str]) -> StoreResult<Vec<(String, String)>> {
        if client_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT DISTINCT so.organisation_id, sh.client_id FROM shares sh \
             JOIN sources so ON so.id = sh.source_id \
             WHERE sh.consent = 'active' AND sh.client_id IN ({})",
            list(client_ids.len(), 1)
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        for id in client_ids {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(&mut *self).await?)
    }
}

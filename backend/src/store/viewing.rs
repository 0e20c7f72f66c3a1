//! Finding clients, access grants, and the rows a view reads.

use super::audit_log::{self, NewAuditEvent};
use super::group_commit::{audited_read, Logged};
use super::installation::Installation;
use super::kept_views::{ContentKey, KeptViews, ViewContent};
use super::queries::queries;
use super::registry::RegistryQueries;
use super::Entity;
use super::{
    now_ms, read_conn, write_tx, PregnancyRow, ShareQueries, Store, StoreError, StoreResult,
};
use domain::grant::Ground;
use domain::{Category, Sensitivity};
use domain::{ClientId, GrantId, SourceId, UserId};
use std::sync::Arc;

/// Who the client is, from her most recently received visible share.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdentityRow {
    pub client_id: ClientId,
    pub bsn: String,
    /// The source whose share the name and birth date come from.
    pub source_id: SourceId,
    pub name: Option<String>,
    pub birth_date: Option<String>,
}

/// A source with an visible share of the client.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SharingSourceRow {
    pub source_id: SourceId,
    pub organisation_id: String,
    pub organisation_name: String,
    pub received_at: Option<i64>,
}

/// An access grant (DESIGN 5.3, 5.4).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GrantRow {
    pub id: GrantId,
    pub user_id: UserId,
    pub client_id: ClientId,
    pub ground: Ground,
    pub reason: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// An entry as a permitted view shows it (read as a JSON array of its fields, in this order).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct VisibleEntryRow {
    pub id: String,
    pub source_id: SourceId,
    pub organisation_name: String,
    pub category: Category,
    pub code: String,
    pub label: String,
    pub value: String,
    pub unit: Option<String>,
    pub observed_at: i64,
    pub sensitivity: Sensitivity,
    pub pregnancy_id: Option<String>,
}

/// A pregnancy as one source reported it (entries point at it by the source's id).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisiblePregnancyRow {
    pub source_id: SourceId,
    #[sqlx(flatten)]
    pub pregnancy: PregnancyRow,
}

/// Everything one view reads, in one transaction with its audit event.
#[derive(Debug, Clone)]
pub struct ViewRows {
    pub identity: IdentityRow,
    pub grant: GrantRow,
    /// Every source with an visible share (the page lists each with its organisation).
    pub sources: Arc<[SharingSourceRow]>,
    /// Empty when the role's policy hides the `pregnancy` category (then they are not read).
    /// They come from visible shares only, so their sources are among `sources`.
    pub pregnancies: Arc<[VisiblePregnancyRow]>,
    /// Newest first. Shared with the lists kept for later views (`kept_views`).
    pub entries: Arc<[VisibleEntryRow]>,
    /// The version of the client's consent profile this view applied (`None`: she has none).
    pub consent_profile: Option<i64>,
    /// The viewer's standing spoed notice for the client (`backend::spoed`), read in the same
    /// statement so the page needs no other.
    pub spoed_notice: Option<SpoedNoticeRow>,
}

/// A spoed grant of the viewer that asks her to inform the client afterwards, and when she
/// first viewed the client under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoedNoticeRow {
    pub grant_id: GrantId,
    pub viewed_at: i64,
}

impl ViewRows {
    /// Every source any shown datum came from: the identity, the sharing organisations (the
    /// page lists them all), the pregnancies (from those same shares) and the entries.
    pub fn shown_sources(&self) -> Vec<SourceId> {
        let mut sources: Vec<SourceId> = std::iter::once(self.identity.source_id.clone())
            .chain(self.sources.iter().map(|s| s.source_id.clone()))
            .chain(self.entries.iter().map(|e| e.source_id.clone()))
            .collect();
        sources.sort();
        sources.dedup();
        sources
    }
}

/// A search hit as read under the chain lock: what the answer shows of the client.
#[derive(Debug, Clone)]
pub struct FoundClient {
    pub identity: IdentityRow,
    pub sources: Vec<SharingSourceRow>,
    /// Whether the searching user holds a valid grant.
    pub has_grant: bool,
}

impl FoundClient {
    /// Every source a shown datum of the hit came from (identity and sharing organisations).
    pub fn shown_sources(&self) -> Vec<SourceId> {
        let mut sources: Vec<SourceId> = std::iter::once(self.identity.source_id.clone())
            .chain(self.sources.iter().map(|s| s.source_id.clone()))
            .collect();
        sources.sort();
        sources.dedup();
        sources
    }
}

/// What one search read, in one transaction with its audit event.
#[derive(Debug, Clone)]
pub struct SearchRows {
    /// The client, if an visible share knows this BSN with this birth date.
    pub found: Option<FoundClient>,
    /// The client record of the BSN whatever its consent (the log's real outcome only).
    pub client_id: Option<ClientId>,
    /// The version of the BSN's consent profile this search applied (`None`: she has none).
    pub consent_profile: Option<i64>,
}

/// A client on the user's "my clients" list, as read under the chain lock (one query: the
/// grant and the identity share the `client_id` column).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MyClientRow {
    #[sqlx(flatten)]
    pub grant: GrantRow,
    #[sqlx(flatten)]
    pub identity: IdentityRow,
}

/// Why a view read nothing.
#[derive(Debug)]
pub enum ViewDenied {
    /// No visible share: the client is unknown.
    Unknown,
    /// No valid grant of this user.
    NoGrant,
}

/// Why a view's snapshot read nothing.
#[derive(Debug)]
enum Unread {
    Denied(ViewDenied),
    /// Something changed since the policy in memory was read (the visibility epoch moved).
    PolicyMayHaveChanged,
}

impl Store {
    /// The client's id if `bsn` and `birth_date` match an visible share.
    pub async fn find_client(&self, bsn: &str, birth_date: &str) -> StoreResult<Option<ClientId>> {
        read_conn!(self, |c| c.find_client(bsn, birth_date).await)
    }

    /// The client record of a BSN, whatever its consent (for the log's real outcome only).
    pub async fn client_id_by_bsn(&self, bsn: &str) -> StoreResult<Option<ClientId>> {
        read_conn!(self, |c| c.client_id_by_bsn(bsn).await)
    }

    pub async fn client_identity(&self, client_id: &ClientId) -> StoreResult<Option<IdentityRow>> {
        read_conn!(self, |c| c.client_identity(client_id).await)
    }

    pub async fn sharing_sources(
        &self,
        client_id: &ClientId,
    ) -> StoreResult<Vec<SharingSourceRow>> {
        read_conn!(self, |c| c.sharing_sources(client_id).await)
    }

    pub async fn client_pregnancies(&self, client_id: &ClientId) -> StoreResult<Vec<PregnancyRow>> {
        read_conn!(self, |c| c.client_pregnancies(client_id).await)
    }

    pub async fn valid_grant(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
    ) -> StoreResult<Option<GrantRow>> {
        read_conn!(self, |c| c.valid_grant(user_id, client_id, now_ms()).await)
    }

    pub async fn granted_clients(&self, user_id: &UserId) -> StoreResult<Vec<GrantRow>> {
        read_conn!(self, |c| c.granted_clients(user_id, now_ms()).await)
    }

    /// Stores a grant and its `access_request` event together, unless the user already holds
    /// a valid grant for the client (checked in the same transaction, so two requests at once
    /// create one grant): then the request is logged all the same, with the event `repeated`
    /// builds from the grant she holds. Whether a grant was created.
    pub async fn create_grant(
        &self,
        grant: &GrantRow,
        event: NewAuditEvent,
        repeated: impl FnOnce(&GrantRow) -> NewAuditEvent + Send,
    ) -> StoreResult<bool> {
        let created = write_tx!(self, |c| {
            // The chain lock serialises this check with a concurrent request's insert (on
            // PostgreSQL the check alone would not see an uncommitted grant).
            super::BackendSpecific::lock_audit_chain(c).await?;
            if let Some(held) = c
                .valid_grant(&grant.user_id, &grant.client_id, now_ms())
                .await?
            {
                audit_log::append(c, &self.flag_rules, repeated(&held)).await?;
                false
            } else {
                c.insert_grant(grant).await?;
                audit_log::append(c, &self.flag_rules, event).await?;
                true
            }
        });
        Ok(created)
    }

    /// Ends an open grant (by its holder or an officer) with its audit event.
    pub async fn end_grant(
        &self,
        grant_id: &GrantId,
        ended_by: &UserId,
        reason: &str,
        event: NewAuditEvent,
    ) -> StoreResult<()> {
        write_tx!(self, |c| {
            if !c.end_grant(grant_id, ended_by, reason, now_ms()).await? {
                return Err(StoreError::NotFound(Entity::Grant));
            }
            audit_log::append(c, &self.flag_rules, event).await?;
        });
        Ok(())
    }

    /// One audited view (DESIGN rules 1, 2 and 4): it re-checks the grant and (by the joins)
    /// the consent of every source, reads the permitted rows, and appends the view's event
    /// built by `event` from what was read, ordered after every withdrawal and revocation
    /// before it and before every one after it (`group_commit::audited_read!`: on a snapshot
    /// with a group commit, or under the chain lock). Nothing is returned before the event is
    /// durable; if it cannot be written, nothing is returned at all (fail closed).
    ///
    /// `reads(policy)` says which `category:sensitivity` pairs the role may see and whether
    /// the pregnancy block (otherwise they are not read). The policy and the layout come from
    /// memory; the view's own snapshot checks that nothing changed since they were read (the
    /// visibility epoch), and otherwise reads them again and the view with them. Returns the
    /// policy and layout the view applied.
    pub async fn audited_view(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
        reads: impl Fn(&domain::Policy) -> (Vec<String>, bool),
        event: impl Fn(&ViewRows) -> NewAuditEvent + Send + Sync,
    ) -> StoreResult<(Installation, Result<ViewRows, ViewDenied>)> {
        let mut kept = self.installation.latest();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (at, installation) = match kept.take() {
                Some(kept) => kept,
                None => self.read_installation().await?,
            };
            let (allowed, pregnancies) = reads(&installation.0);
            let key = ContentKey {
                client_id: client_id.clone(),
                allowed,
                pregnancies,
            };
            // After a few changes in a row, the policy as read just before (as before issue 15).
            let expected = (attempt < 3).then_some(at);
            let read = audited_read!(
                self,
                one_statement | c | read_view(c, user_id, &key, &self.kept_views, expected).await?,
                |read: &Result<ViewRows, Unread>| {
                    read.as_ref().ok().map(|rows| Logged {
                        event: event(rows),
                        valid_until: Some(rows.grant.expires_at),
                    })
                }
            );
            let read = match read {
                Ok(rows) => Ok(rows),
                Err(Unread::Denied(denied)) => Err(denied),
                // Read nothing and logged nothing: the policy again, and the view.
                Err(Unread::PolicyMayHaveChanged) => continue,
            };
            return Ok((installation, read));
        }
    }

    /// One audited search (DESIGN flows 3-4, rules 1 and 4): the lookup, what the hit shows,
    /// and the search's event built by `event`, ordered like a view (`audited_read!`): a
    /// withdrawal is either wholly before the search (she is not found) or wholly after it
    /// (its event follows the search's).
    pub async fn audited_search(
        &self,
        user_id: &UserId,
        bsn: &str,
        birth_date: &str,
        event: impl Fn(&SearchRows) -> NewAuditEvent + Send + Sync,
    ) -> StoreResult<SearchRows> {
        Ok(audited_read!(
            self,
            |c| read_search(c, user_id, bsn, birth_date).await?,
            |rows: &SearchRows| Some(Logged {
                event: event(rows),
                valid_until: None,
            })
        ))
    }

    /// The user's clients with a valid grant and an visible share ("my clients": names and
    /// birth dates), read and logged like a view (`audited_read!`) with the event `event`
    /// builds from them (none when it returns `None`, e.g. for an empty list).
    pub async fn audited_my_clients(
        &self,
        user_id: &UserId,
        event: impl Fn(&[MyClientRow]) -> Option<NewAuditEvent> + Send + Sync,
    ) -> StoreResult<Vec<MyClientRow>> {
        Ok(audited_read!(
            self,
            |c| c.my_clients(user_id, now_ms()).await?,
            |rows: &Vec<MyClientRow>| event(rows).map(|event| Logged {
                event,
                valid_until: None,
            })
        ))
    }
}

/// What one view reads, with the visibility epoch of its snapshot, in one statement
/// ([`ViewingQueries::view`]): on PostgreSQL one round trip, on SQLite one hand-over to the
/// connection's thread and back. Being one statement, it sees one snapshot without a
/// transaction around it (`audited_read!`'s `one_statement`); it must stay one. The sources,
/// pregnancies and entries kept from a view at the same epoch are used instead of read
/// (`kept_views`).
async fn read_view<C: ViewingQueries>(
    c: &mut C,
    user_id: &UserId,
    key: &ContentKey,
    kept_views: &KeptViews,
    expected: Option<i64>,
) -> StoreResult<(i64, Result<ViewRows, Unread>)> {
    let kept = kept_views.get(key);
    let Some(head) = c
        .view(
            &key.client_id,
            user_id,
            now_ms(),
            &key.allowed,
            key.pregnancies,
            kept.as_ref().map(|(at, _)| *at),
        )
        .await?
    else {
        // Nothing will be logged: the epoch is not needed.
        return Ok((0, Err(Unread::Denied(ViewDenied::Unknown))));
    };
    let epoch = head.epoch;
    if expected.is_some_and(|expected| expected != epoch) {
        return Ok((epoch, Err(Unread::PolicyMayHaveChanged)));
    }
    let kept = kept
        .filter(|(at, _)| *at == epoch)
        .map(|(_, content)| content);
    let used = kept.is_some();
    let rows = head.rows(kept)?;
    if let Ok((_, content)) = &rows {
        if !used {
            kept_views.put(key.clone(), epoch, content.clone());
        }
        kept_views.count(used);
    }
    Ok((epoch, rows.map(|(rows, _)| rows).map_err(Unread::Denied)))
}

/// Rows that arrive as one JSON text (`BackendSpecific::json_rows`), each a JSON array of
/// `T`'s fields in order; `None` (PostgreSQL's aggregate of no rows) is none.
fn from_json_rows<T: serde::de::DeserializeOwned>(json: Option<&str>) -> StoreResult<Vec<T>> {
    match json {
        None => Ok(Vec::new()),
        Some(json) => Ok(serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(e.into()))?),
    }
}

/// Everything one view reads, as one row: the visibility epoch, the client's identity (as
/// [`ViewingQueries::client_identity`]), the version of her consent profile, the user's
/// valid grant (as [`ViewingQueries::valid_grant`]; its columns `NULL` when she holds none)
/// and, only under a grant, the sharing sources, the pregnancies and the permitted entries,
/// each as one JSON text.
#[derive(Debug, sqlx::FromRow)]
pub struct ViewRead {
    epoch: i64,
    #[sqlx(flatten)]
    identity: IdentityRow,
    consent_profile: Option<i64>,
    grant_id: Option<GrantId>,
    grant_user_id: Option<UserId>,
    grant_ground: Option<Ground>,
    grant_reason: Option<String>,
    grant_created_at: Option<i64>,
    grant_expires_at: Option<i64>,
    sources_json: Option<String>,
    pregnancies_json: Option<String>,
    entries_json: Option<String>,
    spoed_json: Option<String>,
}

/// A sharing source as `ViewRead::sources_json` holds it.
#[derive(serde::Deserialize)]
struct SourceJson(SourceId, String, String, Option<i64>);

/// A pregnancy as `ViewRead::pregnancies_json` holds it.
#[derive(serde::Deserialize)]
struct PregnancyJson(SourceId, String, String, i32, i32, String, Option<String>);

impl ViewRead {
    /// The view's rows, with the lists `kept` at this snapshot's epoch or else those the
    /// statement read (and these lists, to keep).
    fn rows(
        self,
        kept: Option<ViewContent>,
    ) -> StoreResult<Result<(ViewRows, ViewContent), ViewDenied>> {
        let grant = match (
            self.grant_id,
            self.grant_user_id,
            self.grant_ground,
            self.grant_reason,
            self.grant_created_at,
            self.grant_expires_at,
        ) {
            (
                Some(id),
                Some(user_id),
                Some(ground),
                Some(reason),
                Some(created_at),
                Some(expires_at),
            ) => GrantRow {
                id,
                user_id,
                client_id: self.identity.client_id.clone(),
                ground,
                reason,
                created_at,
                expires_at,
            },
            _ => return Ok(Err(ViewDenied::NoGrant)),
        };
        let content = match kept {
            Some(kept) => kept,
            None => read_content(
                self.sources_json.as_deref(),
                self.pregnancies_json.as_deref(),
                self.entries_json.as_deref(),
            )?,
        };
        let spoed_notice = from_json_rows::<(GrantId, i64)>(self.spoed_json.as_deref())?
            .into_iter()
            .next()
            .map(|(grant_id, viewed_at)| SpoedNoticeRow {
                grant_id,
                viewed_at,
            });
        let rows = ViewRows {
            identity: self.identity,
            grant,
            sources: content.sources.clone(),
            pregnancies: content.pregnancies.clone(),
            entries: content.entries.clone(),
            consent_profile: self.consent_profile,
            spoed_notice,
        };
        Ok(Ok((rows, content)))
    }
}

/// The lists of a view from the JSON texts of its statement, in the page's order. Decoding
/// what the database itself aggregated fails only on a schema error: then the view shows
/// nothing and logs nothing (fail closed).
fn read_content(
    sources: Option<&str>,
    pregnancies: Option<&str>,
    entries: Option<&str>,
) -> StoreResult<ViewContent> {
    let mut sources: Vec<SharingSourceRow> = from_json_rows::<SourceJson>(sources)?
        .into_iter()
        .map(
            |SourceJson(source_id, organisation_id, organisation_name, received_at)| {
                SharingSourceRow {
                    source_id,
                    organisation_id,
                    organisation_name,
                    received_at,
                }
            },
        )
        .collect();
    sources.sort_by(|a, b| {
        (&a.organisation_name, &a.source_id).cmp(&(&b.organisation_name, &b.source_id))
    });
    let mut pregnancies: Vec<VisiblePregnancyRow> = from_json_rows::<PregnancyJson>(pregnancies)?
        .into_iter()
        .map(
            |PregnancyJson(source_id, id, edd, gravidity, parity, status, ended_on)| {
                VisiblePregnancyRow {
                    source_id,
                    pregnancy: PregnancyRow {
                        id,
                        edd,
                        gravidity,
                        parity,
                        status,
                        ended_on,
                    },
                }
            },
        )
        .collect();
    pregnancies.sort_by(|a, b| {
        b.pregnancy
            .edd
            .cmp(&a.pregnancy.edd)
            .then_with(|| a.source_id.cmp(&b.source_id))
    });
    let mut entries: Vec<VisibleEntryRow> = from_json_rows(entries)?;
    entries.sort_by(|a, b| {
        b.observed_at
            .cmp(&a.observed_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(ViewContent {
        sources: sources.into(),
        pregnancies: pregnancies.into(),
        entries: entries.into(),
    })
}

/// What one search reads: the hit, what it shows, and the BSN's real outcome for the log.
async fn read_search<C: ViewingQueries + RegistryQueries + ShareQueries>(
    c: &mut C,
    user_id: &UserId,
    bsn: &str,
    birth_date: &str,
) -> StoreResult<SearchRows> {
    let mut found = None;
    if let Some(client_id) = c.find_client(bsn, birth_date).await? {
        if let Some(identity) = c.client_identity(&client_id).await? {
            found = Some(FoundClient {
                identity,
                sources: c.sharing_sources(&client_id).await?,
                has_grant: c
                    .valid_grant(user_id, &client_id, now_ms())
                    .await?
                    .is_some(),
            });
        }
    }
    let client_id = match &found {
        Some(f) => Some(f.identity.client_id.clone()),
        None => c.client_id_by_bsn(bsn).await?,
    };
    let consent_profile = c.consent_profile_version(bsn).await?;
    Ok(SearchRows {
        found,
        client_id,
        consent_profile,
    })
}

/// The visibility epoch of a statement's snapshot.
const EPOCH: &str = "(SELECT epoch FROM visibility_epoch WHERE id = 1)";

queries! {
    /// The statements of finding clients, grants and the rows a view reads.
    trait ViewingQueries;

    /// The client with this BSN if an visible share knows this birth date (DESIGN flow 3/4).
    async fn find_client(&mut self, bsn: &str, birth_date: &str) -> StoreResult<Option<ClientId>> {
        Ok(sqlx::query_scalar(
            "SELECT c.id FROM clients c JOIN visible_shares s ON s.client_id = c.id \
             WHERE c.bsn = $1 AND s.birth_date = $2 LIMIT 1",
        )
        .bind(bsn).bind(birth_date)
        .fetch_optional(&mut *self)
        .await?)
    }

    /// BSN, name and birth date from the most recently received visible share (and which
    /// source that is); `None` when the client has no visible share (then she is unknown
    /// everywhere).
    async fn client_identity(&mut self, client_id: &ClientId) -> StoreResult<Option<IdentityRow>> {
        Ok(sqlx::query_as::<_, IdentityRow>(
            "SELECT c.id AS client_id, c.bsn, s.source_id, s.name, s.birth_date FROM clients c \
             JOIN visible_shares s ON s.client_id = c.id \
             WHERE c.id = $1 ORDER BY s.received_at DESC LIMIT 1",
        )
        .bind(client_id)
        .fetch_optional(&mut *self)
        .await?)
    }

    /// See [`ViewRead`]; `None` when the client has no visible share. `allowed`: the
    /// `category:sensitivity` pairs of the entries the policy lets the role see; `pregnancies`:
    /// whether it lets her see the pregnancy block (otherwise it is not read).
    ///
    /// `kept`: the epoch of lists kept in memory (`kept_views`); when the snapshot's epoch is
    /// that one, the sources, pregnancies and entries are not read (`NULL`).
    async fn view(&mut self, client_id: &ClientId, user_id: &UserId, now: i64, allowed: &[String], pregnancies: bool, kept: Option<i64>) -> StoreResult<Option<ViewRead>> {
        let json_rows = <Self as super::BackendSpecific>::json_rows;
        // The source's consent and the registry's profile are re-checked by every join with
        // `visible_shares` (rule 1); nothing but the identity is read without a grant (rule 2).
        let sources = format!(
            "(SELECT {} FROM visible_shares s2 WHERE s2.client_id = c.id)",
            json_rows("s2.source_id, s2.organisation_id, s2.organisation_name, s2.received_at")
        );
        let pregnancies = if pregnancies {
            format!(
                "(SELECT {} FROM pregnancies p JOIN visible_shares s3 \
                 ON s3.client_id = p.client_id AND s3.source_id = p.source_id WHERE p.client_id = c.id)",
                json_rows("p.source_id, p.source_pregnancy_id, p.edd, p.gravidity, p.parity, p.status, p.ended_on")
            )
        } else {
            "NULL".to_owned()
        };
        let entries = if allowed.is_empty() {
            "NULL".to_owned()
        } else {
            let placeholders: Vec<String> = (0..allowed.len()).map(|i| format!("${}", i + 5)).collect();
            // The columns in the order of `VisibleEntryRow`'s fields (serde reads each entry
            // as a sequence).
            format!(
                "(SELECT {} FROM entries e JOIN visible_shares s4 \
                 ON s4.client_id = e.client_id AND s4.source_id = e.source_id \
                 WHERE e.client_id = c.id AND (e.category || ':' || e.sensitivity) IN ({}))",
                json_rows(
                    "e.source_entry_id, e.source_id, s4.organisation_name, e.category, e.code, e.label, \
                     e.value, e.unit, e.observed_at, e.sensitivity, e.source_pregnancy_id"
                ),
                placeholders.join(", ")
            )
        };
        // The holder's spoed notice, with this view counted as one under its grant.
        let spoed_notice = format!(
            "(SELECT {} FROM ({}) nn)",
            json_rows("nn.id, nn.viewed_at"),
            super::spoed::notice_sql("$2", "$1", &format!("$3 - {}", domain::spoed::FOLLOW_UP_MS), Some(("g.id", "$3")))
        );
        let granted = |rows: &str| format!("CASE WHEN g.id IS NULL THEN NULL ELSE {rows} END");
        let unless_kept = |rows: &str| {
            format!("CASE WHEN g.id IS NULL OR {EPOCH} = $4 THEN NULL ELSE {rows} END")
        };
        let sql = format!(
            "SELECT {EPOCH} AS epoch, \
             c.id AS client_id, c.bsn, s.source_id, s.name, s.birth_date, \
             (SELECT p.version FROM consent_profiles p WHERE p.bsn = c.bsn) AS consent_profile, \
             g.id AS grant_id, g.user_id AS grant_user_id, g.ground AS grant_ground, \
             g.reason AS grant_reason, g.created_at AS grant_created_at, g.expires_at AS grant_expires_at, \
             {} AS sources_json, {} AS pregnancies_json, {} AS entries_json, {} AS spoed_json \
             FROM clients c JOIN visible_shares s ON s.client_id = c.id \
             LEFT JOIN access_grants g ON g.id = (SELECT g2.id FROM access_grants g2 \
                 WHERE g2.user_id = $2 AND g2.client_id = c.id AND g2.ended_at IS NULL AND g2.expires_at > $3 \
                 ORDER BY g2.created_at DESC LIMIT 1) \
             WHERE c.id = $1 ORDER BY s.received_at DESC LIMIT 1",
            unless_kept(&sources),
            unless_kept(&pregnancies),
            unless_kept(&entries),
            granted(&spoed_notice),
        );
        // No epoch is negative: -1 when nothing is kept.
        let mut query = sqlx::query_as::<_, ViewRead>(&sql)
            .bind(client_id).bind(user_id).bind(now).bind(kept.unwrap_or(-1));
        for pair in allowed {
            query = query.bind(pair);
        }
        Ok(query.fetch_optional(&mut *self).await?)
    }

    /// The sources with an visible share of the client, their organisation and last receipt.
    async fn sharing_sources(&mut self, client_id: &ClientId) -> StoreResult<Vec<SharingSourceRow>> {
        Ok(sqlx::query_as::<_, SharingSourceRow>(
            "SELECT s.source_id, s.organisation_id, s.organisation_name, s.received_at \
             FROM visible_shares s WHERE s.client_id = $1 ORDER BY s.organisation_name",
        )
        .bind(client_id)
        .fetch_all(&mut *self)
        .await?)
    }

    /// The user's valid grant for the client (not ended, not expired), newest first.
    async fn valid_grant(&mut self, user_id: &UserId, client_id: &ClientId, now: i64) -> StoreResult<Option<GrantRow>> {
        Ok(sqlx::query_as::<_, GrantRow>(
            "SELECT id, user_id, client_id, ground, reason, created_at, expires_at FROM access_grants \
             WHERE user_id = $1 AND client_id = $2 AND ended_at IS NULL AND expires_at > $3 \
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(user_id).bind(client_id).bind(now)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn insert_grant(&mut self, grant: &GrantRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO access_grants (id, user_id, client_id, ground, reason, attested, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&grant.id).bind(&grant.user_id).bind(&grant.client_id).bind(grant.ground)
        .bind(&grant.reason).bind(true).bind(grant.created_at).bind(grant.expires_at)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Ends a grant that is still open; returns whether one was ended.
    async fn end_grant(&mut self, grant_id: &GrantId, ended_by: &UserId, reason: &str, now: i64) -> StoreResult<bool> {
        Ok(sqlx::query(
            "UPDATE access_grants SET ended_at = $4, ended_by = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL",
        )
        .bind(grant_id).bind(ended_by).bind(reason).bind(now)
        .execute(&mut *self)
        .await?
        .rows_affected() == 1)
    }

    /// The clients the user holds a valid grant for, newest grant first.
    async fn granted_clients(&mut self, user_id: &UserId, now: i64) -> StoreResult<Vec<GrantRow>> {
        Ok(sqlx::query_as::<_, GrantRow>(
            "SELECT id, user_id, client_id, ground, reason, created_at, expires_at FROM access_grants \
             WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2 ORDER BY created_at DESC LIMIT 200",
        )
        .bind(user_id).bind(now)
        .fetch_all(&mut *self)
        .await?)
    }

    /// The user's valid grants whose client has an visible share, each with the client's
    /// identity from her most recently received visible share (as [`Self::client_identity`]),
    /// newest grant first; at most 200.
    async fn my_clients(&mut self, user_id: &UserId, now: i64) -> StoreResult<Vec<MyClientRow>> {
        Ok(sqlx::query_as::<_, MyClientRow>(
            "SELECT g.id, g.user_id, g.client_id, g.ground, g.reason, g.created_at, g.expires_at, \
             c.bsn, s.source_id, s.name, s.birth_date \
             FROM access_grants g \
             JOIN clients c ON c.id = g.client_id \
             JOIN visible_shares s ON s.client_id = g.client_id \
             AND s.source_id = (SELECT s2.source_id FROM visible_shares s2 \
                 WHERE s2.client_id = g.client_id \
                 ORDER BY s2.received_at DESC LIMIT 1) \
             WHERE g.user_id = $1 AND g.ended_at IS NULL AND g.expires_at > $2 \
             ORDER BY g.created_at DESC LIMIT 200",
        )
        .bind(user_id).bind(now)
        .fetch_all(&mut *self)
        .await?)
    }

    /// Pregnancies of the client from visible shares only.
    async fn client_pregnancies(&mut self, client_id: &ClientId) -> StoreResult<Vec<PregnancyRow>> {
        Ok(sqlx::query_as::<_, PregnancyRow>(
            "SELECT p.source_pregnancy_id AS id, p.edd, p.gravidity, p.parity, p.status, p.ended_on \
             FROM pregnancies p JOIN visible_shares s ON s.client_id = p.client_id AND s.source_id = p.source_id \
             WHERE p.client_id = $1 ORDER BY p.edd DESC",
        )
        .bind(client_id)
        .fetch_all(&mut *self)
        .await?)
    }
}

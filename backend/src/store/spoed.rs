//! The follow-up of a spoed access (issue 14, item 7): whether the holder marked "client
//! informed", and per sharing organisation whether one of its users marked it seen. Every
//! mark is written with its audit event in one transaction under the chain lock; the list a
//! sharing organisation's user sees is an audited read (`group_commit::audited_read!`).

use super::audit_log::{self, NewAuditEvent};
use super::group_commit::{audited_read, Logged};
use super::queries::queries;
use super::{now_ms, read_conn, write_tx, GrantRow, Store, StoreResult};
use domain::{ClientId, GrantId, SourceId, UserId};

/// A spoed grant as a follow-up mark weighs it: the grant, the client's BSN, when she was
/// first viewed under it (`None`: never), and the marks already made.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SpoedGrantRow {
    #[sqlx(flatten)]
    pub grant: GrantRow,
    pub bsn: String,
    pub viewed_at: Option<i64>,
}

/// One spoed access on a sharing organisation's start page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SpoedListRow {
    pub grant_id: GrantId,
    pub client_id: ClientId,
    pub reason: String,
    pub holder_name: String,
    pub holder_role: String,
    pub holder_organisation: String,
    pub client_name: Option<String>,
    pub client_birth_date: Option<String>,
    /// The visible share the name and birth date come from.
    pub identity_source: SourceId,
    pub viewed_at: i64,
}

/// Whether a mark was made, or why not (the event built for it says the same).
#[derive(Debug, Clone)]
pub enum SpoedMark {
    Marked(SpoedGrantRow),
    Refused(Option<SpoedGrantRow>, &'static str),
}

impl Store {
    /// The user's newest spoed grant for the client created since `since`, under which she
    /// viewed her, not yet marked "client informed", while the client has a visible share.
    pub async fn spoed_notice(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
        since: i64,
    ) -> StoreResult<Option<SpoedGrantRow>> {
        read_conn!(self, |c| c.spoed_notice(user_id, client_id, since).await)
    }

    /// Marks "client informed" for `grant_id` if it is `user_id`'s own spoed grant created
    /// since `since` under which she viewed the client and not yet marked; in one transaction
    /// under the chain lock with the event `event` builds from the outcome.
    pub async fn audited_spoed_informed(
        &self,
        grant_id: &GrantId,
        user_id: &UserId,
        since: i64,
        event: impl FnOnce(&SpoedMark) -> NewAuditEvent + Send,
    ) -> StoreResult<SpoedMark> {
        let mark = write_tx!(self, |c| {
            super::BackendSpecific::lock_audit_chain(c).await?;
            let found = c.spoed_grant(grant_id, since).await?;
            let mark = match found {
                None => SpoedMark::Refused(None, "no_recent_spoed_grant"),
                Some(g) if g.grant.user_id != *user_id => {
                    SpoedMark::Refused(Some(g), "not_own_spoed_grant")
                }
                Some(g) if g.viewed_at.is_none() => SpoedMark::Refused(Some(g), "not_viewed"),
                Some(g) => {
                    if c.insert_spoed_informed(grant_id, user_id, now_ms()).await? {
                        SpoedMark::Marked(g)
                    } else {
                        SpoedMark::Refused(Some(g), "already_informed")
                    }
                }
            };
            audit_log::append(c, &self.flag_rules, event(&mark)).await?;
            mark
        });
        Ok(mark)
    }

    /// Marks `grant_id` seen for `organisation_id` if it is a spoed grant created since
    /// `since`, viewed under, of a client the organisation shares visibly, and not yet seen
    /// there; in one transaction under the chain lock with the event `event` builds.
    pub async fn audited_spoed_seen(
        &self,
        grant_id: &GrantId,
        organisation_id: &str,
        user_id: &UserId,
        since: i64,
        event: impl FnOnce(&SpoedMark) -> NewAuditEvent + Send,
    ) -> StoreResult<SpoedMark> {
        let mark = write_tx!(self, |c| {
            super::BackendSpecific::lock_audit_chain(c).await?;
            let found = c.spoed_grant(grant_id, since).await?;
            let mark = match found {
                None => SpoedMark::Refused(None, "no_recent_spoed_grant"),
                Some(g) if g.viewed_at.is_none() => SpoedMark::Refused(Some(g), "not_viewed"),
                Some(g)
                    if !c
                        .organisation_shares_visibly(organisation_id, &g.grant.client_id)
                        .await? =>
                {
                    SpoedMark::Refused(Some(g), "not_sharing")
                }
                Some(g) => {
                    if c.insert_spoed_seen(grant_id, organisation_id, user_id, now_ms())
                        .await?
                    {
                        SpoedMark::Marked(g)
                    } else {
                        SpoedMark::Refused(Some(g), "already_seen")
                    }
                }
            };
            audit_log::append(c, &self.flag_rules, event(&mark)).await?;
            mark
        });
        Ok(mark)
    }

    /// The spoed accesses since `since` to clients `organisation_id` shares visibly, not yet
    /// seen there and not `user_id`'s own, newest first, read and logged like a view
    /// (`group_commit::audited_read!`) with the event `event` builds from them (none when it
    /// returns `None`).
    pub async fn audited_spoed_list(
        &self,
        organisation_id: &str,
        user_id: &UserId,
        since: i64,
        event: impl Fn(&[SpoedListRow]) -> Option<NewAuditEvent> + Send + Sync,
    ) -> StoreResult<Vec<SpoedListRow>> {
        Ok(audited_read!(
            self,
            |c| c.spoed_list(organisation_id, user_id, since).await?,
            |rows: &Vec<SpoedListRow>| event(rows).map(|event| Logged {
                event,
                valid_until: None,
            })
        ))
    }
}

/// The first successful view under the grant aliased `grant` (the log is the record of it;
/// by the client's index of `audit_events`).
fn first_view(grant: &str) -> String {
    format!(
        "(SELECT MIN(e.occurred_at) FROM audit_events e \
         WHERE e.client_id = {grant}.client_id AND e.grant_id = {grant}.id \
         AND e.action = 'read' AND e.outcome = 'success')"
    )
}

/// The holder's standing notice, the rule of `backend::spoed` in the one place both
/// statements that read it take it from ([`SpoedQueries::spoed_notice`] and the client page's
/// view): the user's newest spoed grant for the client created at or after `since`, under
/// which she viewed her, not yet marked "client informed", while the client has a visible
/// share. The arguments are SQL expressions. `viewing`: inside the view statement, the grant
/// it views under and its time; that view counts, as it is logged with the rows it reads.
pub(super) fn notice_sql(
    user: &str,
    client: &str,
    since: &str,
    viewing: Option<(&str, &str)>,
) -> String {
    let first = first_view("ng");
    let viewed_at = match viewing {
        Some((grant, at)) => format!("COALESCE({first}, CASE WHEN ng.id = {grant} THEN {at} END)"),
        None => first,
    };
    format!(
        "SELECT * FROM (SELECT ng.id, ng.user_id, ng.client_id, ng.ground, ng.reason, ng.created_at, \
         ng.expires_at, nc.bsn, {viewed_at} AS viewed_at \
         FROM access_grants ng JOIN clients nc ON nc.id = ng.client_id \
         WHERE ng.user_id = {user} AND ng.client_id = {client} AND ng.ground = 'spoed' \
         AND ng.created_at >= {since} \
         AND NOT EXISTS (SELECT 1 FROM spoed_informed i WHERE i.grant_id = ng.id) \
         AND EXISTS (SELECT 1 FROM visible_shares v WHERE v.client_id = ng.client_id)) nt \
         WHERE nt.viewed_at IS NOT NULL ORDER BY nt.created_at DESC LIMIT 1"
    )
}

queries! {
    /// The statements of the spoed follow-up.
    trait SpoedQueries;

    /// See [`Store::spoed_notice`].
    async fn spoed_notice(&mut self, user_id: &UserId, client_id: &ClientId, since: i64) -> StoreResult<Option<SpoedGrantRow>> {
        Ok(sqlx::query_as::<_, SpoedGrantRow>(&notice_sql("$1", "$2", "$3", None))
            .bind(user_id).bind(client_id).bind(since)
            .fetch_optional(&mut *self)
            .await?)
    }

    /// A spoed grant created since `since`, with the client's BSN and its first view.
    async fn spoed_grant(&mut self, grant_id: &GrantId, since: i64) -> StoreResult<Option<SpoedGrantRow>> {
        let first = first_view("g");
        let sql = format!(
            "SELECT g.id, g.user_id, g.client_id, g.ground, g.reason, g.created_at, g.expires_at, \
             c.bsn, {first} AS viewed_at \
             FROM access_grants g JOIN clients c ON c.id = g.client_id \
             WHERE g.id = $1 AND g.ground = 'spoed' AND g.created_at >= $2"
        );
        Ok(sqlx::query_as::<_, SpoedGrantRow>(&sql)
            .bind(grant_id).bind(since)
            .fetch_optional(&mut *self)
            .await?)
    }

    /// Whether a source of the organisation has a visible share of the client (consent
    /// active, and allowed by her consent profile).
    async fn organisation_shares_visibly(&mut self, organisation_id: &str, client_id: &ClientId) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM visible_shares WHERE client_id = $1 AND organisation_id = $2",
        )
        .bind(client_id).bind(organisation_id)
        .fetch_one(&mut *self)
        .await?;
        Ok(n > 0)
    }

    /// Whether the mark was new.
    async fn insert_spoed_informed(&mut self, grant_id: &GrantId, user_id: &UserId, now: i64) -> StoreResult<bool> {
        Ok(sqlx::query(
            "INSERT INTO spoed_informed (grant_id, informed_by, informed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (grant_id) DO NOTHING",
        )
        .bind(grant_id).bind(user_id).bind(now)
        .execute(&mut *self)
        .await?
        .rows_affected() == 1)
    }

    /// Whether the mark was new.
    async fn insert_spoed_seen(&mut self, grant_id: &GrantId, organisation_id: &str, user_id: &UserId, now: i64) -> StoreResult<bool> {
        Ok(sqlx::query(
            "INSERT INTO spoed_seen (grant_id, organisation_id, seen_by, seen_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (grant_id, organisation_id) DO NOTHING",
        )
        .bind(grant_id).bind(organisation_id).bind(user_id).bind(now)
        .execute(&mut *self)
        .await?
        .rows_affected() == 1)
    }

    /// See [`Store::audited_spoed_list`]; at most 100. The name and birth date come from the
    /// client's most recently received visible share, as everywhere.
    async fn spoed_list(&mut self, organisation_id: &str, user_id: &UserId, since: i64) -> StoreResult<Vec<SpoedListRow>> {
        let first = first_view("g");
        let sql = format!(
            "SELECT * FROM (SELECT g.id AS grant_id, g.client_id, g.reason, \
             u.display_name AS holder_name, u.role AS holder_role, o.name AS holder_organisation, \
             s.name AS client_name, s.birth_date AS client_birth_date, s.source_id AS identity_source, \
             {first} AS viewed_at \
             FROM access_grants g \
             JOIN users u ON u.id = g.user_id \
             JOIN organisations o ON o.id = u.organisation_id \
             JOIN visible_shares s ON s.client_id = g.client_id \
             AND s.source_id = (SELECT s2.source_id FROM visible_shares s2 \
                 WHERE s2.client_id = g.client_id ORDER BY s2.received_at DESC LIMIT 1) \
             WHERE g.ground = 'spoed' AND g.created_at >= $2 AND g.user_id <> $3 \
             AND EXISTS (SELECT 1 FROM visible_shares v \
                 WHERE v.client_id = g.client_id AND v.organisation_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM spoed_seen x \
                 WHERE x.grant_id = g.id AND x.organisation_id = $1)) t \
             WHERE t.viewed_at IS NOT NULL ORDER BY t.viewed_at DESC, t.grant_id LIMIT 100"
        );
        Ok(sqlx::query_as::<_, SpoedListRow>(&sql)
            .bind(organisation_id).bind(since).bind(user_id)
            .fetch_all(&mut *self)
            .await?)
    }
}

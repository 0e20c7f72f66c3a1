//! The access log's writing side (NEN 7513, DESIGN section 7): the event types, the chain hash,
//! the audit SQL, and [`append`], which every store area calls inside its own transaction so
//! that an event and the change it records commit together. Verifying the chain is
//! `crate::integrity`'s work; this module only writes and reads rows.
//!
//! ## Hash chain
//! `hash = hex(SHA-256(prev_hash || enc(id) || enc(occurred_at) || enc(action) || enc(outcome) ||
//! enc(user_id) || enc(user_name) || enc(user_role) || enc(organisation_id) || enc(on_behalf_of) ||
//! enc(client_id) || enc(bsn) || enc(source_id) || enc(ground) || enc(grant_id) || enc(detail) ||
//! enc(ip) || enc(user_agent) || enc(request_id)))`
//! where `prev_hash` is the previous event's hash as 64 ASCII hex characters (64 zeros for the
//! first event), `enc(NULL)` is the single byte `0x00` and `enc(v)` is `0x01`, the length of
//! `v`'s UTF-8 bytes as a 4-byte big-endian integer, and those bytes; integers are written in
//! decimal. Length prefixes make the encoding unambiguous: no two different rows hash the same
//! byte string. Ids are consecutive from 1, so a deleted or reordered event breaks the chain too.

use super::queries::{queries, values};
use super::{read_conn, BackendSpecific, ReviewQueries, ShareQueries, Store, StoreResult};
use domain::audit_flag::FlagFacts;
use domain::grant::Ground;
use domain::{
    AuditAction, AuditDetail, ClientId, FlagRules, GrantId, Outcome, Role, SourceId, UserId,
};
use sha2::{Digest, Sha256};
use sqlx::Row;

/// The hash before the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One row of `audit_events`, all columns.
/// Raw text on purpose: verification must read a tampered row (say an unknown action) and report
/// the hash mismatch at that event, not fail to decode it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub occurred_at: i64,
    pub action: String,
    pub outcome: String,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub user_role: Option<String>,
    pub organisation_id: Option<String>,
    pub on_behalf_of: Option<String>,
    pub client_id: Option<String>,
    pub bsn: Option<String>,
    pub source_id: Option<String>,
    pub ground: Option<String>,
    pub grant_id: Option<String>,
    pub detail: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    /// The detail read as its action's variant (an event written before the detail was typed
    /// reads the same way). `Ok(None)`: no detail.
    pub fn typed_detail(&self) -> Result<Option<AuditDetail>, serde_json::Error> {
        let Some(action) = AuditAction::parse(&self.action) else {
            return Err(serde::de::Error::custom(format!(
                "unknown action {}",
                self.action
            )));
        };
        AuditDetail::read(action, &self.detail)
    }
}

/// Who did it, as far as known.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: UserId,
    pub user_name: String,
    pub role: Role,
    pub organisation_id: String,
}

/// Where the request came from.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// An event to append; `id`, time and hashes are assigned under the chain lock.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub action: AuditAction,
    pub outcome: Outcome,
    pub actor: Option<Actor>,
    /// A name without a known user (the username typed at a failed login).
    pub attempted_user_name: Option<String>,
    /// An organisation without a known user (a source system's organisation).
    pub organisation_id: Option<String>,
    pub on_behalf_of: Option<String>,
    pub client_id: Option<ClientId>,
    pub bsn: Option<String>,
    pub source_id: Option<SourceId>,
    pub ground: Option<Ground>,
    pub grant_id: Option<GrantId>,
    /// `None`: no detail (stored as `{}`).
    pub detail: Option<AuditDetail>,
    pub request: RequestMeta,
}

impl NewAuditEvent {
    pub fn new(action: AuditAction, outcome: Outcome) -> Self {
        Self {
            action,
            outcome,
            actor: None,
            attempted_user_name: None,
            organisation_id: None,
            on_behalf_of: None,
            client_id: None,
            bsn: None,
            source_id: None,
            ground: None,
            grant_id: None,
            detail: None,
            request: RequestMeta::default(),
        }
    }

    pub fn by(mut self, actor: Actor) -> Self {
        self.actor = Some(actor);
        self
    }

    pub fn with_request(mut self, request: RequestMeta) -> Self {
        self.request = request;
        self
    }

    pub fn with_detail(mut self, detail: AuditDetail) -> Self {
        self.detail = Some(detail);
        self
    }

    /// The row this event becomes as event `id` after `prev_hash`, hash included.
    pub fn into_row(self, id: i64, occurred_at: i64, prev_hash: String) -> AuditRow {
        debug_assert!(
            self.detail
                .as_ref()
                .is_none_or(|d| d.action() == self.action),
            "the detail of {:?} is {:?}'s",
            self.action,
            self.detail.as_ref().map(AuditDetail::action)
        );
        let (user_id, user_name, user_role, organisation_id) = match self.actor {
            Some(a) => (
                Some(a.user_id.into_string()),
                Some(a.user_name),
                Some(a.role.as_str().to_owned()),
                Some(a.organisation_id),
            ),
            None => (None, self.attempted_user_name, None, self.organisation_id),
        };
        let mut row = AuditRow {
            id,
            occurred_at,
            action: self.action.as_str().to_owned(),
            outcome: self.outcome.as_str().to_owned(),
            user_id,
            user_name,
            user_role,
            organisation_id,
            on_behalf_of: self.on_behalf_of,
            client_id: self.client_id.map(ClientId::into_string),
            bsn: self.bsn,
            source_id: self.source_id.map(SourceId::into_string),
            ground: self.ground.map(|g| g.as_str().to_owned()),
            grant_id: self.grant_id.map(GrantId::into_string),
            detail: AuditDetail::to_json(self.detail.as_ref()),
            ip: self.request.ip,
            user_agent: self.request.user_agent,
            request_id: self.request.request_id,
            prev_hash,
            hash: String::new(),
        };
        row.hash = chain_hash(&row);
        row
    }
}

fn encode_field(buf: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => buf.push(0),
        Some(v) => {
            buf.push(1);
            buf.extend_from_slice(&(v.len() as u32).to_be_bytes());
            buf.extend_from_slice(v.as_bytes());
        }
    }
}

/// The hash of an event as documented in the module header (ignores `row.hash`).
pub fn chain_hash(row: &AuditRow) -> String {
    let mut buf = Vec::with_capacity(512);
    buf.extend_from_slice(row.prev_hash.as_bytes());
    let id = row.id.to_string();
    let at = row.occurred_at.to_string();
    for field in [
        Some(id.as_str()),
        Some(at.as_str()),
        Some(row.action.as_str()),
        Some(row.outcome.as_str()),
        row.user_id.as_deref(),
        row.user_name.as_deref(),
        row.user_role.as_deref(),
        row.organisation_id.as_deref(),
        row.on_behalf_of.as_deref(),
        row.client_id.as_deref(),
        row.bsn.as_deref(),
        row.source_id.as_deref(),
        row.ground.as_deref(),
        row.grant_id.as_deref(),
        Some(row.detail.as_str()),
        row.ip.as_deref(),
        row.user_agent.as_deref(),
        row.request_id.as_deref(),
    ] {
        encode_field(&mut buf, field);
    }
    hex::encode(Sha256::digest(&buf))
}

queries! {
    /// The SQL of the chain itself: its head, a new link, and pages of links.
    trait AuditLogQueries;

    /// The id and hash of the newest event, if any.
    async fn audit_head(&mut self) -> StoreResult<Option<(i64, String)>> {
        let row = sqlx::query("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *self)
            .await?;
        Ok(row.map(|r| (r.get::<i64, _>(0), r.get::<String, _>(1))))
    }

    /// Events in one statement per 64 (20 columns each: well under both backends' limit on
    /// bound values).
    async fn insert_audit_rows(&mut self, rows: &[AuditRow]) -> StoreResult<()> {
        for chunk in rows.chunks(64) {
            let sql = format!(
                "INSERT INTO audit_events (id, occurred_at, action, outcome, user_id, user_name, user_role, \
                 organisation_id, on_behalf_of, client_id, bsn, source_id, ground, grant_id, detail, ip, \
                 user_agent, request_id, prev_hash, hash) VALUES {}",
                values(chunk.len(), 20)
            );
            let mut query = sqlx::query(&sql);
            for e in chunk {
                query = query
                    .bind(e.id).bind(e.occurred_at).bind(&e.action).bind(&e.outcome).bind(&e.user_id)
                    .bind(&e.user_name).bind(&e.user_role).bind(&e.organisation_id).bind(&e.on_behalf_of)
                    .bind(&e.client_id).bind(&e.bsn).bind(&e.source_id).bind(&e.ground).bind(&e.grant_id)
                    .bind(&e.detail).bind(&e.ip).bind(&e.user_agent).bind(&e.request_id).bind(&e.prev_hash)
                    .bind(&e.hash);
            }
            query.execute(&mut *self).await?;
        }
        Ok(())
    }

    /// The visibility epoch (see [`append_at`] and `store::group_commit`).
    async fn visibility_epoch(&mut self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT epoch FROM visibility_epoch WHERE id = 1")
            .fetch_one(&mut *self)
            .await?)
    }

    async fn bump_visibility_epoch(&mut self) -> StoreResult<()> {
        sqlx::query("UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1")
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    /// Whether a search found the client, beside the event (its detail is hashed text; the
    /// flag "denied after a search that found her" reads this instead).
    async fn insert_search_outcome(&mut self, event_id: i64, found: bool) -> StoreResult<()> {
        sqlx::query("INSERT INTO audit_search_outcome (event_id, found) VALUES ($1, $2)")
            .bind(event_id).bind(found)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    /// A page of events after `after_id`, oldest first (for verification and export).
    async fn audit_page(&mut self, after_id: i64, limit: i64) -> StoreResult<Vec<AuditRow>> {
        Ok(sqlx::query_as::<_, AuditRow>(
            "SELECT id, occurred_at, action, outcome, user_id, user_name, user_role, organisation_id, \
             on_behalf_of, client_id, bsn, source_id, ground, grant_id, detail, ip, user_agent, \
             request_id, prev_hash, hash FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *self)
        .await?)
    }
}

/// Appends `event` to the chain inside the caller's transaction and returns its id. The
/// caller's commit makes the event and the change it records durable together. Beside the
/// event it writes who may review it (DESIGN flow 7) and its flags (`FlagRules`).
pub async fn append<C: AuditLogQueries + ShareQueries + ReviewQueries + BackendSpecific>(
    c: &mut C,
    rules: &FlagRules,
    event: NewAuditEvent,
) -> StoreResult<i64> {
    append_at(c, rules, event, None).await
}

/// [`append`] with a given time instead of now (the load generator back-fills history).
pub async fn append_at<C: AuditLogQueries + ShareQueries + ReviewQueries + BackendSpecific>(
    c: &mut C,
    rules: &FlagRules,
    event: NewAuditEvent,
    at: Option<i64>,
) -> StoreResult<i64> {
    c.lock_audit_chain().await?;
    append_locked(c, rules, event, at, &mut None).await
}

/// The last event's id and hash, as the chain lock's holder knows it within its transaction.
pub(crate) type ChainHead = Option<(i64, String)>;

/// [`append_at`] for a caller that holds the chain lock already in this transaction (the group
/// commit's writer, once per batch rather than once per event). `head`: the chain's head if
/// this transaction appended before (the writer's batch), else `None` and it is read; it is
/// left at the appended event. Nobody else can append while the lock is held, so it stays true.
pub(crate) async fn append_locked<
    C: AuditLogQueries + ShareQueries + ReviewQueries + BackendSpecific,
>(
    c: &mut C,
    rules: &FlagRules,
    mut event: NewAuditEvent,
    at: Option<i64>,
    head: &mut ChainHead,
) -> StoreResult<i64> {
    // Every event about a known client carries both its id and BSN, so the officer's filter
    // and the client overview find it by either.
    match (&event.client_id, &event.bsn) {
        (Some(id), None) => event.bsn = c.bsn_of_client(id.as_str()).await?,
        (None, Some(bsn)) => event.client_id = c.client_id_by_bsn(bsn).await?,
        _ => {}
    }
    let known = match head.take() {
        Some(known) => Some(known),
        None => c.audit_head().await?,
    };
    let (id, prev_hash) = match known {
        Some((last_id, hash)) => (last_id + 1, hash),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let action = event.action;
    if !records_no_change(action) {
        // A read that was taken on a snapshot before this change must not be logged after it
        // (`store::group_commit`): raising the epoch here, in the change's own transaction,
        // sends such a read back to read again.
        c.bump_visibility_epoch().await?;
    }
    let detail = event.detail.clone();
    // Time is taken under the lock, so ids and times rise together.
    let row = event.into_row(id, at.unwrap_or_else(super::now_ms), prev_hash);
    c.insert_audit_rows(std::slice::from_ref(&row)).await?;
    *head = Some((row.id, row.hash.clone()));
    if let Some(found) = detail.as_ref().and_then(AuditDetail::search_found) {
        c.insert_search_outcome(row.id, found).await?;
    }
    let organisations = scope(c, action, &row, detail.as_ref()).await?;
    let scope: Vec<_> = organisations
        .into_iter()
        .map(|o| (row.id, o, row.occurred_at))
        .collect();
    c.insert_scope_rows(&scope).await?;
    let flags = rules.evaluate(action, &flag_facts(c, rules, action, &row).await?);
    if !flags.is_empty() {
        let json = serde_json::to_string(&flags).unwrap_or_else(|_| "[]".into());
        c.insert_flag_rows(&[(row.id, row.occurred_at, json)])
            .await?;
    }
    if let (true, Some(user), Some(bsn)) = (
        domain::audit_flag::is_client_access(action),
        &row.user_id,
        &row.bsn,
    ) {
        // After the flags: the count above is of the other clients before this event.
        c.note_client_accesses(&[(user, bsn, row.occurred_at)])
            .await?;
    }
    Ok(id)
}

/// Whether an event of `action` only records a reading, a refusal or a login, and never a
/// change to what a view, a search or a list of names may show. Every other action raises the
/// visibility epoch: an action missing here costs a needless re-read, never a wrong one.
pub fn records_no_change(action: AuditAction) -> bool {
    use AuditAction::*;
    matches!(
        action,
        Read | Print
            | Search
            | AccessDenied
            | LogRead
            | Export
            | ClientOverview
            | Login
            | LoginFailed
            | Logout
            | SecondFactorFailed
            | TokenRefused
            | ShareRefused
            | RefusalsSummary
    )
}

/// The organisations whose privacy officers may see the event (DESIGN flow 7): the user's,
/// those whose sources' data it is about (the source of a source call, every source a view
/// showed), for a search and a spoed follow-up those whose sources shared the client, and for an event without an
/// organisation every organisation.
async fn scope<C: ReviewQueries>(
    c: &mut C,
    action: AuditAction,
    row: &AuditRow,
    detail: Option<&AuditDetail>,
) -> StoreResult<Vec<String>> {
    let Some(own) = &row.organisation_id else {
        if matches!(
            action,
            AuditAction::ConsentProfileChanged | AuditAction::RetentionPurge
        ) {
            // About one client, from no organisation: the officers of the organisations that
            // share her (and of the purged copy's source), not every officer. A profile's
            // mere existence would tell other organisations where she is treated.
            let mut organisations = Vec::new();
            if let Some(source) = &row.source_id {
                organisations.extend(c.organisation_of_source(source).await?);
            }
            if let Some(client) = &row.client_id {
                organisations.extend(c.organisations_sharing(client).await?);
            }
            organisations.sort();
            organisations.dedup();
            return Ok(organisations);
        }
        return c.organisation_ids().await;
    };
    let mut organisations = vec![own.clone()];
    let mut sources: Vec<String> = row.source_id.iter().cloned().collect();
    sources.extend(
        detail
            .map(AuditDetail::shown_sources)
            .unwrap_or_default()
            .iter()
            .map(|s| s.as_str().to_owned()),
    );
    organisations.extend(c.organisations_of_sources(&sources).await?);
    // A search for a BSN, and the follow-up of a spoed access (the holder informed the
    // client, a sharing organisation saw it): the officers of the organisations sharing her.
    if let (
        AuditAction::Search | AuditAction::SpoedInformed | AuditAction::SpoedSeen,
        Some(client),
    ) = (action, &row.client_id)
    {
        organisations.extend(c.organisations_sharing(client).await?);
    }
    organisations.sort();
    organisations.dedup();
    Ok(organisations)
}

async fn flag_facts<C: ReviewQueries>(
    c: &mut C,
    rules: &FlagRules,
    action: AuditAction,
    row: &AuditRow,
) -> StoreResult<FlagFacts> {
    // The clock is a leaf of the crate (time zone arithmetic, no I/O), not a layer above.
    let local = crate::clock::amsterdam(row.occurred_at);
    let mut facts = FlagFacts {
        local_time: (local.hour(), local.minute()),
        ground_is_spoed: row.ground.as_deref() == Some("spoed"),
        ..FlagFacts::default()
    };
    let access = domain::audit_flag::is_client_access(action);
    if let (true, Some(user), Some(bsn)) = (access, &row.user_id, &row.bsn) {
        let hour_ago = row.occurred_at - 3_600_000;
        let others = c.other_clients_accessed(user, bsn, hour_ago).await?;
        facts.distinct_clients_last_hour = Some(others as u32 + 1);
    }
    if let (AuditAction::Search, Some(user), Some(bsn)) = (action, &row.user_id, &row.bsn) {
        if rules.repeated_searches_per_hour > 0 {
            let hour_ago = row.occurred_at - 3_600_000;
            // The event itself is inserted already, so the count includes it.
            let searches = c
                .searches_of_bsn(user, bsn, hour_ago, row.occurred_at)
                .await?;
            facts.same_bsn_searches_last_hour = Some(searches as u32);
        }
    }
    if let (AuditAction::AccessDenied, Some(user), Some(client)) =
        (action, &row.user_id, &row.client_id)
    {
        let hour_ago = row.occurred_at - 3_600_000;
        facts.found_by_search = c
            .found_by_search(user, client, hour_ago, row.occurred_at)
            .await?;
    }
    if action == AuditAction::Read && rules.new_grant_minutes > 0 {
        if let (Some(grant), Some(client), Some(org)) =
            (&row.grant_id, &row.client_id, &row.organisation_id)
        {
            if let Some(created) = c.grant_created_at(grant).await? {
                facts.grant_age_minutes = Some((row.occurred_at - created) / 60_000);
                facts.own_organisation_shares =
                    Some(c.organisation_shares_actively(org, client).await?);
            }
        }
    }
    Ok(facts)
}

impl Store {
    /// Events after `after_id`, oldest first, at most `limit`.
    pub async fn audit_events_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditRow>> {
        read_conn!(self, |c| c.audit_page(after_id, limit).await)
    }
}

/// A first event (a login) as appended, for the unit tests of the chain.
#[cfg(test)]
pub(crate) fn first_event() -> AuditRow {
    NewAuditEvent::new(AuditAction::Login, Outcome::Success).into_row(
        1,
        1_700_000_000_000,
        GENESIS_HASH.into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> AuditRow {
        first_event()
    }

    #[test]
    fn null_and_empty_text_hash_differently() {
        let mut a = event();
        let mut b = event();
        a.ip = None;
        b.ip = Some(String::new());
        assert_ne!(chain_hash(&a), chain_hash(&b));
    }
}

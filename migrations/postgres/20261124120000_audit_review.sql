-- The privacy officer's review of the access log (DESIGN flow 7, section 7).
--
-- These tables are derived from audit events when they are written; they are not part of the
-- hash chain and carry no foreign key to audit_events, so the chain verifier alone decides
-- whether the log is intact.

-- Which organisations' privacy officers may see an event. Fixed when the event is written, from
-- the facts of that moment: the user's organisation, the organisations whose sources' data the
-- event is about, the organisations whose sources shared a searched BSN, or every organisation
-- for an event without one (an organisation added later gets those rows too).
CREATE TABLE audit_scope (
    event_id        BIGINT NOT NULL,
    organisation_id TEXT NOT NULL,
    occurred_at     BIGINT NOT NULL,
    PRIMARY KEY (event_id, organisation_id)
);
CREATE INDEX audit_scope_by_org_time ON audit_scope (organisation_id, occurred_at, event_id);

-- Unusual access, one row per flagged event: a JSON list of {"flag", "why"}.
CREATE TABLE audit_flags (
    event_id    BIGINT PRIMARY KEY,
    occurred_at BIGINT NOT NULL,
    flags       TEXT NOT NULL
);
CREATE INDEX audit_flags_by_time ON audit_flags (occurred_at, event_id);

-- A flagged event reviewed by an officer of one organisation (the review is also an audit event).
CREATE TABLE audit_reviews (
    event_id        BIGINT NOT NULL,
    organisation_id TEXT NOT NULL,
    reviewed_by     TEXT NOT NULL,
    reviewed_at     BIGINT NOT NULL,
    note            TEXT NOT NULL,
    PRIMARY KEY (event_id, organisation_id)
);

-- Signed chain heads: ES256 compact JWS over {"event_id","hash","signed_at"}.
CREATE TABLE audit_checkpoints (
    event_id  BIGINT PRIMARY KEY,
    hash      TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    key_id    TEXT NOT NULL,
    jws       TEXT NOT NULL
);

-- The latest verification of each kind ('full', 'incremental'): how far the chain was proven.
CREATE TABLE audit_verifications (
    kind        TEXT PRIMARY KEY CHECK (kind IN ('full','incremental')),
    up_to_id    BIGINT NOT NULL,
    up_to_hash  TEXT NOT NULL,
    intact      BOOLEAN NOT NULL,
    broken_at   BIGINT,
    verified_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL
);

-- Review filters walk these newest first, (occurred_at, id) being the keyset.
DROP INDEX audit_events_by_bsn;
DROP INDEX audit_events_by_time;
DROP INDEX audit_events_by_org;
DROP INDEX audit_events_by_user;
CREATE INDEX audit_events_by_bsn_time ON audit_events (bsn, occurred_at, id);
CREATE INDEX audit_events_by_time_id ON audit_events (occurred_at, id);
CREATE INDEX audit_events_by_org_time ON audit_events (organisation_id, occurred_at, id);
CREATE INDEX audit_events_by_user_time ON audit_events (user_id, occurred_at);
CREATE INDEX audit_events_by_username_id ON audit_events (user_name, occurred_at, id);
CREATE INDEX audit_events_by_action_time ON audit_events (action, occurred_at, id);

-- Events written before this migration: scope by the user's or source's organisation, and
-- events without an organisation for everyone.
INSERT INTO audit_scope (event_id, organisation_id, occurred_at)
SELECT id, organisation_id, occurred_at FROM audit_events WHERE organisation_id IS NOT NULL;
INSERT INTO audit_scope (event_id, organisation_id, occurred_at)
SELECT e.id, s.organisation_id, e.occurred_at FROM audit_events e JOIN sources s ON s.id = e.source_id
ON CONFLICT DO NOTHING;
INSERT INTO audit_scope (event_id, organisation_id, occurred_at)
SELECT e.id, o.id, e.occurred_at FROM audit_events e CROSS JOIN organisations o
WHERE e.organisation_id IS NULL
ON CONFLICT DO NOTHING;

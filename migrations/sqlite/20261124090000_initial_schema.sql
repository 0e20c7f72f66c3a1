-- Ooievaar initial schema (SQLite). The PostgreSQL migration has the same tables and columns;
-- times are UTC milliseconds since the epoch (BIGINT) and dates ISO 'YYYY-MM-DD' text on both,
-- so the store's queries are the same text for both backends.

-- Care providers in the network.
CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,                 -- short stable key chosen by the network (CLI --id)
    name        TEXT NOT NULL,                    -- shown beside every entry it shares
    kind        TEXT NOT NULL CHECK (kind IN ('verloskundigenpraktijk','ziekenhuis','kraamzorg','echocentrum')),
    agb_code    TEXT,                             -- optional AGB/URA code for cross-referencing registers
    created_at  BIGINT NOT NULL
);

-- Professionals and staff; exactly one role each (DESIGN 4).
CREATE TABLE users (
    id              TEXT PRIMARY KEY,             -- random UUID; audit events refer to it
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    username        TEXT NOT NULL UNIQUE,         -- login name, lowercase
    display_name    TEXT NOT NULL,                -- shown in the shell and in the access log
    role            TEXT NOT NULL CHECK (role IN ('verloskundige','gynaecoloog','og_verpleegkundige','kraamverzorgende','echoscopist','privacy_officer','beheerder')),
    password_hash   TEXT NOT NULL,                -- argon2id PHC string; never leaves the server
    disabled_at     BIGINT,                       -- set when disabled: login refused, sessions end
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- Source systems that share data into the viewer; an organisation may have several.
CREATE TABLE sources (
    id              TEXT PRIMARY KEY,             -- equals the JWT iss/sub of the source
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    created_at      BIGINT NOT NULL
);

-- Public keys a source signs its API tokens with; several at once allow rotation.
CREATE TABLE source_keys (
    id             TEXT PRIMARY KEY,              -- key id (JWT kid)
    source_id      TEXT NOT NULL REFERENCES sources(id),
    algorithm      TEXT NOT NULL CHECK (algorithm IN ('ES256','RS256')),  -- pinned per key
    public_key_pem TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT                         -- a revoked key verifies nothing
);

-- Seen token ids, kept until the token expires, so a replay is refused across restarts and instances.
CREATE TABLE token_replays (
    source_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,                   -- rows past this may be pruned
    PRIMARY KEY (source_id, jti)
);

-- One record per client across sources. After a withdrawal everywhere only id and BSN remain
-- (the access log needs them).
CREATE TABLE clients (
    id         TEXT PRIMARY KEY,                  -- opaque random id used in URLs (never the BSN)
    bsn        TEXT NOT NULL UNIQUE,              -- 9 digits, 11-check passed
    created_at BIGINT NOT NULL
);

-- What one source shares of one client, with the client's consent for that source.
CREATE TABLE shares (
    client_id          TEXT NOT NULL REFERENCES clients(id),
    source_id          TEXT NOT NULL REFERENCES sources(id),
    consent            TEXT NOT NULL CHECK (consent IN ('active','withdrawn')),
    name               TEXT,                      -- the source's view of the name; purged on withdrawal
    birth_date         TEXT,                      -- the source's view of the birth date; purged on withdrawal
    received_at        BIGINT,                    -- when the source last sent data ("laatst bijgewerkt")
    consent_changed_at BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (client_id, source_id),
    -- Rule 1: withdrawn shares hold no personal data.
    CHECK (consent = 'active' OR (name IS NULL AND birth_date IS NULL))
);

-- Pregnancies (episodes) as a source records them.
CREATE TABLE pregnancies (
    client_id           TEXT NOT NULL,
    source_id           TEXT NOT NULL,
    source_pregnancy_id TEXT NOT NULL,            -- the source's own id
    edd                 TEXT NOT NULL,            -- expected due date (a terme datum)
    gravidity           INTEGER NOT NULL,
    parity              INTEGER NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('active','ended')),
    ended_on            TEXT,                     -- set when ended; drives grant validity
    PRIMARY KEY (client_id, source_id, source_pregnancy_id),
    FOREIGN KEY (client_id, source_id) REFERENCES shares(client_id, source_id)
);

-- Single data elements. Category and sensitivity drive the access policy.
CREATE TABLE entries (
    client_id           TEXT NOT NULL,
    source_id           TEXT NOT NULL,
    source_entry_id     TEXT NOT NULL,            -- the source's own id, unique within its share
    source_pregnancy_id TEXT,                     -- optional link to a pregnancy of the same share
    category            TEXT NOT NULL CHECK (category IN ('identity','care_team','obstetric_history','pregnancy','lab_screening','ultrasound','medical_history','psychosocial','lifestyle','family_situation','labour_birth','newborn','postpartum','medication')),
    code                TEXT NOT NULL,
    label               TEXT NOT NULL,            -- Dutch, as the source shows it
    value               TEXT NOT NULL,
    unit                TEXT,
    observed_at         BIGINT NOT NULL,
    sensitivity         TEXT NOT NULL CHECK (sensitivity IN ('normal','elevated','high')),
    PRIMARY KEY (client_id, source_id, source_entry_id),
    FOREIGN KEY (client_id, source_id) REFERENCES shares(client_id, source_id)
);
CREATE INDEX entries_by_client_category ON entries (client_id, category, observed_at);

-- The access policy as data (DESIGN 5.2): highest sensitivity a role sees per category.
CREATE TABLE access_policy (
    role            TEXT NOT NULL,
    category        TEXT NOT NULL,
    max_sensitivity TEXT NOT NULL CHECK (max_sensitivity IN ('none','normal','elevated','high')),
    PRIMARY KEY (role, category)
);

-- One user's permission to view one client, created by her own access request.
CREATE TABLE access_grants (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    client_id   TEXT NOT NULL REFERENCES clients(id),
    ground      TEXT NOT NULL CHECK (ground IN ('behandelrelatie','verwijzing','waarneming','spoed')),
    reason      TEXT NOT NULL,                    -- the requester's words; mandatory for spoed
    attested    INTEGER NOT NULL CHECK (attested = 1),  -- treatment relationship attested
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,                  -- fixed at creation (DESIGN 5.4)
    ended_at    BIGINT,                           -- ended by the holder or revoked by a privacy officer
    ended_by    TEXT REFERENCES users(id),
    end_reason  TEXT
);
CREATE INDEX access_grants_by_user ON access_grants (user_id, client_id);

-- Facts about this installation, e.g. that it holds demo data (every page then says DEMO).
CREATE TABLE instance_flags (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The access log (NEN 7513, DESIGN 7). Append-only (triggers below) and hash-chained:
-- hash = SHA-256(prev_hash || canonical encoding of every other column), see backend/audit.rs.
CREATE TABLE audit_events (
    id              BIGINT PRIMARY KEY,           -- 1, 2, 3 ... assigned under the chain lock
    occurred_at     BIGINT NOT NULL,              -- UTC milliseconds
    action          TEXT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('success','denied','error')),
    user_id         TEXT,                         -- null when no user is known
    user_name       TEXT,                         -- as known at the time (also a failed login's username)
    user_role       TEXT,
    organisation_id TEXT,
    on_behalf_of    TEXT,                         -- the responsible user when different
    client_id       TEXT,
    bsn             TEXT,                         -- full BSN: the client may ask who looked at her
    source_id       TEXT,
    ground          TEXT,
    grant_id        TEXT,
    detail          TEXT NOT NULL,                -- JSON: categories, sources, counts, filters, reasons
    ip              TEXT,
    user_agent      TEXT,
    request_id      TEXT,
    prev_hash       TEXT NOT NULL,                -- previous event's hash; 64 zeros for the first
    hash            TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_events_by_client ON audit_events (client_id, id);
CREATE INDEX audit_events_by_bsn ON audit_events (bsn, id);
CREATE INDEX audit_events_by_user ON audit_events (user_id, id);
CREATE INDEX audit_events_by_org ON audit_events (organisation_id, id);
CREATE INDEX audit_events_by_time ON audit_events (occurred_at);
CREATE INDEX audit_events_by_username_time ON audit_events (user_name, action, occurred_at);
CREATE INDEX audit_events_by_ip_time ON audit_events (ip, action, occurred_at);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

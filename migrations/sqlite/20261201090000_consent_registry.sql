-- The consent registry (DESIGN 8.3): the client's national choice of which care providers may
-- make her data available, as a Mitz-style registry sends it, and the one definition of what
-- a reader may see of a share (rule 1).

-- Registries sign their calls like sources but belong to no organisation; their ids never
-- equal a source's (the command line refuses it), so token ids share the replay cache.
CREATE TABLE registries (
    id         TEXT PRIMARY KEY,                  -- the JWT iss/sub of the registry
    created_at BIGINT NOT NULL
);

CREATE TABLE registry_keys (
    id             TEXT PRIMARY KEY,              -- key id (JWT kid)
    registry_id    TEXT NOT NULL REFERENCES registries(id),
    algorithm      TEXT NOT NULL CHECK (algorithm IN ('ES256','RS256')),
    public_key_pem TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT
);

-- The latest profile per BSN (a profile may arrive before any source shares the client; it
-- applies when data arrives). version rises by one with each profile of that BSN.
CREATE TABLE consent_profiles (
    bsn         TEXT PRIMARY KEY,
    registry_id TEXT NOT NULL REFERENCES registries(id),
    choice      TEXT NOT NULL CHECK (choice IN ('all','selected','none')),
    version     BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);

-- What a `selected` profile allows: organisations by id, or every organisation of a kind.
CREATE TABLE consent_profile_organisations (
    bsn             TEXT NOT NULL REFERENCES consent_profiles(bsn),
    organisation_id TEXT NOT NULL,
    PRIMARY KEY (bsn, organisation_id)
);

CREATE TABLE consent_profile_kinds (
    bsn  TEXT NOT NULL REFERENCES consent_profiles(bsn),
    kind TEXT NOT NULL CHECK (kind IN ('verloskundigenpraktijk','ziekenhuis','kraamzorg','echocentrum')),
    PRIMARY KEY (bsn, kind)
);

-- Rule 1, in one place: a share is visible when its consent is active and the client's
-- profile, if she has one, allows the source's organisation. Every read joins this view,
-- never `shares` alone.
CREATE VIEW visible_shares AS
SELECT s.client_id, s.source_id, s.name, s.birth_date, s.received_at,
       o.id AS organisation_id, o.name AS organisation_name
FROM shares s
JOIN clients c ON c.id = s.client_id
JOIN sources src ON src.id = s.source_id
JOIN organisations o ON o.id = src.organisation_id
LEFT JOIN consent_profiles p ON p.bsn = c.bsn
WHERE s.consent = 'active'
  AND (p.bsn IS NULL
       OR p.choice = 'all'
       OR (p.choice = 'selected'
           AND (EXISTS (SELECT 1 FROM consent_profile_organisations a
                        WHERE a.bsn = p.bsn AND a.organisation_id = o.id)
                OR EXISTS (SELECT 1 FROM consent_profile_kinds k
                           WHERE k.bsn = p.bsn AND k.kind = o.kind))));

-- Retention walks shares by their last update.
CREATE INDEX shares_by_update ON shares (updated_at);

-- The follow-up of a spoed access (issue 14, item 7; seed document 002: "informeer achteraf").
-- Each row is written in the transaction of its audit event (`spoed_informed`, `spoed_seen`),
-- under the chain lock, so the log and these marks never disagree.

-- The holder of a spoed grant marked that she informed the client afterwards ("gedaan").
CREATE TABLE spoed_informed (
    grant_id    TEXT PRIMARY KEY REFERENCES access_grants(id),
    informed_by TEXT NOT NULL REFERENCES users(id),
    informed_at BIGINT NOT NULL
);

-- A user of an organisation sharing the client marked the spoed access seen: gone from the
-- start page of everyone of that organisation, still listed for the other sharing ones.
CREATE TABLE spoed_seen (
    grant_id        TEXT NOT NULL REFERENCES access_grants(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    seen_by         TEXT NOT NULL REFERENCES users(id),
    seen_at         BIGINT NOT NULL,
    PRIMARY KEY (grant_id, organisation_id)
);

-- The start page lists recent spoed grants: by ground and time.
CREATE INDEX access_grants_by_ground_time ON access_grants (ground, created_at);

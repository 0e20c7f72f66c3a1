-- The "many clients within an hour" flag (Flag::Bulk) needs, on every search, view and access
-- request, how many other clients the user reached in the hour before. Counting that from
-- `audit_events` walked all of the user's events of the last hour on every append: quadratic
-- for a busy user, and under load the single most expensive step of the access log's writer
-- (issue 15). This table keeps, per user and client (by BSN), when she last reached her; it is
-- written beside the event in the event's own transaction, so it is exactly as durable as the
-- log, and the flag counts at most one row per client.
CREATE TABLE recent_client_access (
    user_id TEXT NOT NULL,
    bsn TEXT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, bsn)
);
CREATE INDEX recent_client_access_by_time ON recent_client_access (user_id, last_at);
INSERT INTO recent_client_access (user_id, bsn, last_at)
SELECT user_id, bsn, MAX(occurred_at) FROM audit_events
WHERE user_id IS NOT NULL AND bsn IS NOT NULL AND action IN ('search', 'read', 'access_request')
GROUP BY user_id, bsn;

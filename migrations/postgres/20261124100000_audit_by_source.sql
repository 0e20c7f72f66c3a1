-- The per-source rate limit counts a source's recent calls in the access log.
CREATE INDEX audit_events_by_source_time ON audit_events (source_id, occurred_at);

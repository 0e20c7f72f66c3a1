-- Whether a search found the client, beside the event (issue 10, item 3). The flag "access
-- denied after a search that found her" read it from the hashed JSON detail with LIKE; it now
-- joins this table, written by the append in the event's own transaction. Not a column of
-- audit_events: every column there is hashed. No foreign key, like audit_scope and
-- audit_flags: the chain tests remove events behind the store's back to prove it notices.
CREATE TABLE audit_search_outcome (
    event_id BIGINT PRIMARY KEY,
    found    BOOLEAN NOT NULL
);

-- Events written before: the outcome as the old flag query read it from the detail.
INSERT INTO audit_search_outcome (event_id, found)
SELECT id, detail LIKE '%"found":true%'
FROM audit_events
WHERE action = 'search' AND (detail LIKE '%"found":true%' OR detail LIKE '%"found":false%');

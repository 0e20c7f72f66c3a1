-- `INSERT OR REPLACE` (and `REPLACE`) into audit_events must fail like UPDATE and DELETE (rule 5).
-- SQLite's REPLACE resolves a uniqueness conflict by deleting the existing row, and that delete
-- fires no DELETE trigger unless `recursive_triggers` is on, so the append-only triggers alone
-- do not stop it. A new event never reuses an id or a hash (both are unique), so an insert that
-- would collide is refused before SQLite resolves the conflict.
CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events
WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id OR hash = NEW.hash)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

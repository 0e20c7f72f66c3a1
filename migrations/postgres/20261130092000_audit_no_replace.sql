-- Kept in step with the SQLite migration of the same version. PostgreSQL has no REPLACE: its
-- upsert (`INSERT ... ON CONFLICT DO UPDATE`) fires the UPDATE trigger, which refuses it, and
-- `ON CONFLICT DO NOTHING` changes nothing. Nothing to add.
SELECT 1;

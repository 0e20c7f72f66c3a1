-- The client page keeps what views of a client read (her sharing sources, pregnancies and
-- permitted entries) in memory for as long as the visibility epoch (20261202090000) stays the
-- same (`store::kept_views`). Every change the application makes to these tables raises the
-- epoch in its own transaction already; these triggers make a change made any other way (by
-- hand in SQL, a migration) count too, so a withdrawal reaches the next view however it is
-- written (rule 1).
--
-- Here the raise waits for the commit (deferred constraint triggers). Raised at once, it
-- would lock the epoch's row at a change's first statement, before the change takes the
-- chain lock to append its event, while a grant takes the chain lock first and the epoch's
-- row after it: two such transactions could each wait for the other. At the commit the
-- change holds both already (its event raised the epoch under the chain lock), and a change
-- by hand takes no chain lock. It raises once per transaction however many rows it wrote
-- (a transaction-local setting). The epoch and the rows still become visible together.
CREATE FUNCTION raise_visibility_epoch_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('ooievaar.epoch_raised', true) IS DISTINCT FROM 'yes' THEN
        UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1;
        PERFORM set_config('ooievaar.epoch_raised', 'yes', true);
    END IF;
    RETURN NULL;
END
$$;
-- Per table: a deferred trigger per operation, named as SQLite's, and one for TRUNCATE (which
-- constraint triggers cannot take; it raises at once).
DO $$
DECLARE
    t text;
    op text;
BEGIN
    FOREACH t IN ARRAY ARRAY['clients', 'shares', 'sources', 'organisations', 'consent_profiles',
                             'consent_profile_organisations', 'consent_profile_kinds',
                             'pregnancies', 'entries'] LOOP
        FOREACH op IN ARRAY ARRAY['insert', 'update', 'delete'] LOOP
            EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER %s ON %I '
                           'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
                           'EXECUTE FUNCTION raise_visibility_epoch_once()',
                           t || '_' || op || '_raises_epoch', upper(op), t);
        END LOOP;
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch()',
                       t || '_truncate_raises_epoch', t);
    END LOOP;
END
$$;

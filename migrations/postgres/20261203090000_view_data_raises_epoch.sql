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
CREATE CONSTRAINT TRIGGER clients_insert_raises_epoch AFTER INSERT ON clients
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER clients_update_raises_epoch AFTER UPDATE ON clients
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER clients_delete_raises_epoch AFTER DELETE ON clients
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE TRIGGER clients_truncate_raises_epoch AFTER TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE CONSTRAINT TRIGGER shares_insert_raises_epoch AFTER INSERT ON shares
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER shares_update_raises_epoch AFTER UPDATE ON shares
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER shares_delete_raises_epoch AFTER DELETE ON shares
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE TRIGGER shares_truncate_raises_epoch AFTER TRUNCATE ON shares
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE CONSTRAINT TRIGGER sources_insert_raises_epoch AFTER INSERT ON sources
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER sources_update_raises_epoch AFTER UPDATE ON sources
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER sources_delete_raises_epoch AFTER DELETE ON sources
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE TRIGGER sources_truncate_raises_epoch AFTER TRUNCATE ON sources
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE CONSTRAINT TRIGGER organisations_insert_raises_epoch AFTER INSERT ON organisations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER organisations_update_raises_epoch AFTER UPDATE ON organisations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER organisations_delete_raises_epoch AFTER DELETE ON organisations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE TRIGGER organisations_truncate_raises_epoch AFTER TRUNCATE ON organisations
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE CONSTRAINT TRIGGER consent_profiles_insert_raises_epoch AFTER INSERT ON consent_profiles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER consent_profiles_update_raises_epoch AFTER UPDATE ON consent_profiles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER consent_profiles_delete_raises_epoch AFTER DELETE ON consent_profiles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE TRIGGER consent_profiles_truncate_raises_epoch AFTER TRUNCATE ON consent_profiles
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE CONSTRAINT TRIGGER consent_profile_organisations_insert_raises_epoch AFTER INSERT ON consent_profile_organisations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER consent_profile_organisations_update_raises_epoch AFTER UPDATE ON consent_profile_organisations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER consent_profile_organisations_delete_raises_epoch AFTER DELETE ON consent_profile_organisations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE TRIGGER consent_profile_organisations_truncate_raises_epoch AFTER TRUNCATE ON consent_profile_organisations
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE CONSTRAINT TRIGGER consent_profile_kinds_insert_raises_epoch AFTER INSERT ON consent_profile_kinds
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER consent_profile_kinds_update_raises_epoch AFTER UPDATE ON consent_profile_kinds
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER consent_profile_kinds_delete_raises_epoch AFTER DELETE ON consent_profile_kinds
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE TRIGGER consent_profile_kinds_truncate_raises_epoch AFTER TRUNCATE ON consent_profile_kinds
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE CONSTRAINT TRIGGER pregnancies_insert_raises_epoch AFTER INSERT ON pregnancies
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER pregnancies_update_raises_epoch AFTER UPDATE ON pregnancies
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER pregnancies_delete_raises_epoch AFTER DELETE ON pregnancies
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE TRIGGER pregnancies_truncate_raises_epoch AFTER TRUNCATE ON pregnancies
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE CONSTRAINT TRIGGER entries_insert_raises_epoch AFTER INSERT ON entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER entries_update_raises_epoch AFTER UPDATE ON entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE CONSTRAINT TRIGGER entries_delete_raises_epoch AFTER DELETE ON entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION raise_visibility_epoch_once();
CREATE TRIGGER entries_truncate_raises_epoch AFTER TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();

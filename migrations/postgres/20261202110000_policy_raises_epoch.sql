-- The access policy and the client page's layout are data (DESIGN 5.1), read by every view.
-- The store keeps them in memory for as long as the visibility epoch (20261202090000) stays
-- the same, so a change to them must raise the epoch, however it is made: by a migration or
-- by hand in SQL. These triggers do that in the changing statement's own transaction.
CREATE FUNCTION raise_visibility_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
-- One trigger per table and operation, named as SQLite's (which has one per operation); a
-- TRUNCATE counts as a delete.
CREATE TRIGGER access_policy_insert_raises_epoch AFTER INSERT ON access_policy
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE TRIGGER access_policy_update_raises_epoch AFTER UPDATE ON access_policy
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE TRIGGER access_policy_delete_raises_epoch AFTER DELETE OR TRUNCATE ON access_policy
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE TRIGGER section_order_insert_raises_epoch AFTER INSERT ON section_order
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE TRIGGER section_order_update_raises_epoch AFTER UPDATE ON section_order
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE TRIGGER section_order_delete_raises_epoch AFTER DELETE OR TRUNCATE ON section_order
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE TRIGGER handover_lines_insert_raises_epoch AFTER INSERT ON handover_lines
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE TRIGGER handover_lines_update_raises_epoch AFTER UPDATE ON handover_lines
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE TRIGGER handover_lines_delete_raises_epoch AFTER DELETE OR TRUNCATE ON handover_lines
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE TRIGGER handover_codes_insert_raises_epoch AFTER INSERT ON handover_codes
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE TRIGGER handover_codes_update_raises_epoch AFTER UPDATE ON handover_codes
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();
CREATE TRIGGER handover_codes_delete_raises_epoch AFTER DELETE OR TRUNCATE ON handover_codes
    FOR EACH STATEMENT EXECUTE FUNCTION raise_visibility_epoch();

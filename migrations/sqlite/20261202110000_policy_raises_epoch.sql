-- The access policy and the client page's layout are data (DESIGN 5.1), read by every view.
-- The store keeps them in memory for as long as the visibility epoch (20261202090000) stays
-- the same, so a change to them must raise the epoch, however it is made: by a migration or
-- by hand in SQL. These triggers do that in the changing statement's own transaction.
CREATE TRIGGER access_policy_insert_raises_epoch AFTER INSERT ON access_policy
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER access_policy_update_raises_epoch AFTER UPDATE ON access_policy
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER access_policy_delete_raises_epoch AFTER DELETE ON access_policy
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER section_order_insert_raises_epoch AFTER INSERT ON section_order
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER section_order_update_raises_epoch AFTER UPDATE ON section_order
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER section_order_delete_raises_epoch AFTER DELETE ON section_order
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER handover_lines_insert_raises_epoch AFTER INSERT ON handover_lines
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER handover_lines_update_raises_epoch AFTER UPDATE ON handover_lines
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER handover_lines_delete_raises_epoch AFTER DELETE ON handover_lines
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER handover_codes_insert_raises_epoch AFTER INSERT ON handover_codes
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER handover_codes_update_raises_epoch AFTER UPDATE ON handover_codes
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER handover_codes_delete_raises_epoch AFTER DELETE ON handover_codes
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;

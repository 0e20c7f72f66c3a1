-- The client page keeps what views of a client read (her sharing sources, pregnancies and
-- permitted entries) in memory for as long as the visibility epoch (20261202090000) stays the
-- same (`store::kept_views`). Every change the application makes to these tables raises the
-- epoch in its own transaction already; these triggers make a change made any other way (by
-- hand in SQL, a migration) count too, so a withdrawal reaches the next view however it is
-- written (rule 1).
CREATE TRIGGER clients_insert_raises_epoch AFTER INSERT ON clients
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER clients_update_raises_epoch AFTER UPDATE ON clients
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER clients_delete_raises_epoch AFTER DELETE ON clients
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER shares_insert_raises_epoch AFTER INSERT ON shares
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER shares_update_raises_epoch AFTER UPDATE ON shares
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER shares_delete_raises_epoch AFTER DELETE ON shares
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER sources_insert_raises_epoch AFTER INSERT ON sources
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER sources_update_raises_epoch AFTER UPDATE ON sources
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER sources_delete_raises_epoch AFTER DELETE ON sources
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER organisations_insert_raises_epoch AFTER INSERT ON organisations
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER organisations_update_raises_epoch AFTER UPDATE ON organisations
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER organisations_delete_raises_epoch AFTER DELETE ON organisations
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER consent_profiles_insert_raises_epoch AFTER INSERT ON consent_profiles
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER consent_profiles_update_raises_epoch AFTER UPDATE ON consent_profiles
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER consent_profiles_delete_raises_epoch AFTER DELETE ON consent_profiles
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER consent_profile_organisations_insert_raises_epoch AFTER INSERT ON consent_profile_organisations
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER consent_profile_organisations_update_raises_epoch AFTER UPDATE ON consent_profile_organisations
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER consent_profile_organisations_delete_raises_epoch AFTER DELETE ON consent_profile_organisations
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER consent_profile_kinds_insert_raises_epoch AFTER INSERT ON consent_profile_kinds
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER consent_profile_kinds_update_raises_epoch AFTER UPDATE ON consent_profile_kinds
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER consent_profile_kinds_delete_raises_epoch AFTER DELETE ON consent_profile_kinds
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER pregnancies_insert_raises_epoch AFTER INSERT ON pregnancies
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER pregnancies_update_raises_epoch AFTER UPDATE ON pregnancies
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER pregnancies_delete_raises_epoch AFTER DELETE ON pregnancies
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER entries_insert_raises_epoch AFTER INSERT ON entries
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER entries_update_raises_epoch AFTER UPDATE ON entries
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER entries_delete_raises_epoch AFTER DELETE ON entries
BEGIN UPDATE visibility_epoch SET epoch = epoch + 1 WHERE id = 1; END;

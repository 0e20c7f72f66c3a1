-- Soft lock-out per account and the end of other sessions at a password change (DESIGN 9,
-- rule 10). Kept in the database so that several instances agree.

-- Consecutive failed passwords of the current run: the count, and when the run's first failure
-- happened (a run older than the lock-out window starts again at 1). A successful login resets
-- both; reaching the limit locks the account and resets them too.
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_since BIGINT;
-- Until when (ms, UTC) every password, the right one too, is answered like a wrong one.
ALTER TABLE users ADD COLUMN locked_until BIGINT;
-- Raised by every password change. A session remembers the value it authenticated under and
-- acts for nobody once it differs, so a password change ends every other session of the user
-- (the changing session takes the new value). A counter, not a time: instances' clocks may
-- differ.
ALTER TABLE users ADD COLUMN session_generation BIGINT NOT NULL DEFAULT 0;

-- Group commit of the access log (issue 15). An audited read (a view, a search, a list of
-- names) may read on a snapshot outside the chain lock and have its event appended later, in
-- a batch with other reads under one commit. That is only right when nothing the read depends
-- on changed in between: every event that records a change (a withdrawal, a revocation, a
-- share, a grant, a profile, a purge, ...) raises this one counter in its own transaction,
-- under the chain lock; the batch compares the counter the read saw with the current one
-- (O(1)) and sends a read whose counter moved back to read again.
CREATE TABLE visibility_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO visibility_epoch (id, epoch) VALUES (1, 0);

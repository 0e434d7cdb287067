-- Several service processes on one PostgreSQL database each send what they queued: a queued
-- message is claimed by its process (claimed_by) until claimed_until, renewed while it lives;
-- another process takes it over only once the claim has lapsed (its process died). One
-- SQLite file has one service, which never claims (both stay NULL there).
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;  -- UTC
-- Export jobs the same way: the process that took the request builds the file; another one
-- builds it only once that claim has lapsed.
ALTER TABLE exports ADD COLUMN claimed_by TEXT;
ALTER TABLE exports ADD COLUMN claimed_until TEXT;  -- UTC

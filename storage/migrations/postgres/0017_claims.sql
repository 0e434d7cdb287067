-- As ../0017_claims.sql: which process sends a queued message (or builds an export), until when.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT COLLATE "C";
ALTER TABLE outbox ADD COLUMN claimed_until TEXT COLLATE "C";  -- UTC
ALTER TABLE exports ADD COLUMN claimed_by TEXT COLLATE "C";
ALTER TABLE exports ADD COLUMN claimed_until TEXT COLLATE "C";  -- UTC

-- As ../0017_outbox_claims.sql: which process sends a queued message, and until when.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT COLLATE "C";
ALTER TABLE outbox ADD COLUMN claimed_until TEXT COLLATE "C";  -- UTC

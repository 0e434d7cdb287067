-- When a member was approved, kept after erasure (decided_at then becomes the erasure's
-- time), so the report's "joined this month" of a past month never changes.
ALTER TABLE members ADD COLUMN approved_at TEXT;
UPDATE members SET approved_at = decided_at WHERE status = 'active' AND decided_at IS NOT NULL;

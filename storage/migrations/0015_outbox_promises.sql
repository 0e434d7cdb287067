-- A queued message can carry a promise (reminders and digests do; replies and alerts never):
-- not sent before not_before, never after expires_at, not in the quiet hours when quiet = 1,
-- and only while its guard (JSON, e.g. {"kind": "repayment", "loan": 12, "due": "..."}) is
-- still true. A message that can no longer keep it becomes 'expired', the reason in
-- last_error. SQLite cannot change a CHECK in place: the table is rebuilt (the migration runs
-- with foreign keys off and checks them before it commits; reminders.outbox_id keeps
-- pointing at the same ids).
CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'dropped', 'expired')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    dedupe_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    not_before TEXT,                          -- UTC; NULL: no promise of time
    expires_at TEXT,                          -- UTC; NULL: never expires
    quiet INTEGER NOT NULL DEFAULT 0 CHECK (quiet IN (0, 1)),
    guard TEXT                                -- JSON; NULL: nothing to check
) STRICT;

INSERT INTO outbox_new (id, channel, chat_id, payload, status, attempts, next_attempt_at,
                        last_error, dedupe_key, created_at, sent_at)
SELECT id, channel, chat_id, payload, status, attempts, next_attempt_at, last_error,
       dedupe_key, created_at, sent_at
FROM outbox;

DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;

CREATE INDEX outbox_pending ON outbox(status, id) WHERE status = 'pending';
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_chat_pending ON outbox(channel, chat_id) WHERE status = 'pending';

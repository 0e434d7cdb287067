-- Updates that failed for a reason other than the database being unavailable (a bug,
-- content the bot cannot read), after a few attempts. The platform is acknowledged, so one
-- bad update never stalls a chat or a poller; the operator lists and retries them with
-- `ishc-bot deadletter list|retry`.
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    external_id TEXT,              -- NULL: the update could not even be read
    chat_id TEXT,
    inbound TEXT,                  -- the update in neutral form (JSON), to retry; NULL if unread
    raw TEXT NOT NULL,             -- what arrived, cut at 10,000 characters
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'dead' CHECK (status IN ('dead', 'retried')),
    created_at TEXT NOT NULL,
    retried_at TEXT
) STRICT;

CREATE INDEX dead_letters_dead ON dead_letters(id) WHERE status = 'dead';

-- What is due, and what waits for one chat: /readyz, /metrics and the per-chat reply cap.
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_chat_pending ON outbox(channel, chat_id) WHERE status = 'pending';

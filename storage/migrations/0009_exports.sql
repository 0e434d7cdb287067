-- Files the bot builds after a conversation ends (a report's spreadsheet, a data export).
-- The request is recorded in the update's transaction; the file is built afterwards from a
-- read-only snapshot and sent through the outbox. A job without finished_at is resumed at
-- start and by the sweep, so a restart never loses one.
CREATE TABLE exports (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,          -- JSON
    member_id INTEGER,             -- who asked (NULL: an association operator)
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    locale TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    finished_at TEXT,
    error TEXT
) STRICT;

CREATE INDEX exports_unfinished ON exports(id) WHERE finished_at IS NULL;

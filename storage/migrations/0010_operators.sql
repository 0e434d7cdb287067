-- Association operators: an officer of the Association of the Elderly (Hội Người cao tuổi)
-- who sees the monthly report of every club of an area. Given from the command line
-- (`ishc-bot admin grant`); a grant is never deleted, only revoked.
-- The area: a province, narrowed by a district and/or a commune ('' = the whole level),
-- compared with the clubs' province/district/commune without accents or case.
CREATE TABLE operators (
    id INTEGER PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('association')),
    name TEXT NOT NULL CHECK (name != ''),
    province TEXT NOT NULL CHECK (province != ''),
    district TEXT NOT NULL DEFAULT '',
    commune TEXT NOT NULL DEFAULT '',
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

-- One-time codes (only the hash is kept) that link a chat account to a grant.
CREATE TABLE operator_codes (
    code_hash TEXT PRIMARY KEY,
    operator_id INTEGER NOT NULL REFERENCES operators(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
) STRICT;

-- Chat accounts of operators (an account serves one grant; a grant may have several).
CREATE TABLE operator_accounts (
    channel TEXT NOT NULL,
    user_id TEXT NOT NULL,
    operator_id INTEGER NOT NULL REFERENCES operators(id),
    linked_at TEXT NOT NULL,
    PRIMARY KEY (channel, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX operator_accounts_operator ON operator_accounts(operator_id);

-- The monthly report over many clubs (and /baocao of one club) reads these by club and day;
-- without them visits and reminders were read in full for every club.
CREATE INDEX visits_club_day ON visits(club_id, day);
CREATE INDEX reminders_club_queued ON reminders(club_id, queued_at);
-- The month's ledger entries and those after it (the balance at the end of a past month is
-- the balance now less what came after), without reading every year of the ledger.
CREATE INDEX ledger_club_day ON ledger(club_id, day);

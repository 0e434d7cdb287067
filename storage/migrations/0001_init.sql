-- Clubs, members, roles, invites, consent evidence, and the reliability tables
-- (conversation sessions, inbox, outbox). Timestamps are UTC ISO-8601 text.

CREATE TABLE clubs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    commune TEXT NOT NULL DEFAULT '',
    district TEXT NOT NULL DEFAULT '',
    province TEXT NOT NULL DEFAULT '',
    meeting_day INTEGER NOT NULL CHECK (meeting_day BETWEEN 1 AND 31),
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    full_name TEXT NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('male', 'female')),
    birth_year INTEGER NOT NULL,
    birth_date TEXT,
    phone TEXT,
    village TEXT NOT NULL,
    household TEXT NOT NULL CHECK (household IN ('poor', 'near_poor', 'hardship', 'ordinary')),
    ethnicity TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'erased')),
    assisted_by INTEGER REFERENCES members(id),
    registered_at TEXT NOT NULL,
    decided_by INTEGER REFERENCES members(id),
    decided_at TEXT,
    registration_key TEXT NOT NULL UNIQUE
) STRICT;

-- The same phone cannot join the same club twice (rejected and erased rows do not count).
CREATE UNIQUE INDEX members_club_phone ON members(club_id, phone)
    WHERE phone IS NOT NULL AND status IN ('pending', 'active');

CREATE TABLE member_roles (
    member_id INTEGER NOT NULL REFERENCES members(id),
    role TEXT NOT NULL CHECK (role IN ('chair', 'vice_chair', 'treasurer', 'volunteer', 'member')),
    granted_by INTEGER REFERENCES members(id),
    granted_at TEXT NOT NULL,
    PRIMARY KEY (member_id, role)
) STRICT;

-- A chat account on a channel (Telegram user, Zalo user, local terminal persona).
CREATE TABLE identities (
    channel TEXT NOT NULL,
    user_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    member_id INTEGER REFERENCES members(id),
    display_name TEXT NOT NULL DEFAULT '',
    locale TEXT NOT NULL DEFAULT 'vi',
    unreachable INTEGER NOT NULL DEFAULT 0,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (channel, user_id)
) STRICT;
CREATE INDEX identities_member ON identities(member_id);

CREATE TABLE invites (
    id INTEGER PRIMARY KEY,
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    code_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('board', 'member')),
    expires_at TEXT NOT NULL,
    uses_left INTEGER,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE consents (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members(id),
    text_version TEXT NOT NULL,
    given_at TEXT NOT NULL,
    channel TEXT NOT NULL,
    message_id TEXT NOT NULL,
    assisted_by INTEGER REFERENCES members(id)
) STRICT;

CREATE TABLE erasure_requests (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members(id),
    requested_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done'))
) STRICT;

-- One conversation in progress per chat. `data` is plain JSON.
CREATE TABLE sessions (
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    data TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (channel, chat_id)
) STRICT;

-- Every inbound update, so a redelivered one is ignored.
CREATE TABLE inbox (
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (channel, external_id)
) STRICT;

-- Replies waiting to be sent, written in the same transaction as the change they report.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dropped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    dedupe_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    sent_at TEXT
) STRICT;
CREATE INDEX outbox_pending ON outbox(status, id) WHERE status = 'pending';

-- Small settings such as the Telegram polling offset.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

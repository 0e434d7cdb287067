-- Meetings (the club's rule, one-off moves, attendance) and reminders (settings, pauses and
-- the record of what was queued, so each reminder goes out once).

-- The latest row is the rule in force; earlier rows keep who changed it and when.
-- kind 'day': the `day` of each month; kind 'weekday': the `nth` (1..4, -1 = last) `weekday`
-- (0 = Monday .. 6 = Sunday) of each month.
CREATE TABLE meeting_rules (
    id INTEGER PRIMARY KEY,
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    kind TEXT NOT NULL CHECK (kind IN ('day', 'weekday')),
    day INTEGER CHECK (day BETWEEN 1 AND 31),
    weekday INTEGER CHECK (weekday BETWEEN 0 AND 6),
    nth INTEGER CHECK (nth IN (1, 2, 3, 4, -1)),
    time TEXT NOT NULL,                    -- 'HH:MM', club time
    place TEXT NOT NULL DEFAULT '',
    changed_by INTEGER REFERENCES members(id),
    changed_at TEXT NOT NULL,
    CHECK ((kind = 'day') = (day IS NOT NULL)),
    CHECK ((kind = 'weekday') = (weekday IS NOT NULL AND nth IS NOT NULL))
) STRICT;
CREATE INDEX meeting_rules_club ON meeting_rules(club_id, id);

-- One meeting moved (e.g. around Tết) without changing the rule: the meeting of `month`
-- happens on `day` instead.
CREATE TABLE meeting_moves (
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    month TEXT NOT NULL,                   -- 'YYYY-MM' of the meeting the rule would give
    day TEXT NOT NULL,                     -- 'YYYY-MM-DD'
    time TEXT NOT NULL,
    place TEXT NOT NULL DEFAULT '',
    moved_by INTEGER REFERENCES members(id),
    moved_at TEXT NOT NULL,
    PRIMARY KEY (club_id, month)
) STRICT;

CREATE TABLE attendance (
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    day TEXT NOT NULL,                     -- the meeting's day
    member_id INTEGER NOT NULL REFERENCES members(id),
    present INTEGER NOT NULL CHECK (present IN (0, 1)),
    recorded_by INTEGER REFERENCES members(id),
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (club_id, day, member_id)
) STRICT;

-- A member's choice to stop (or restart) reminders of one kind.
CREATE TABLE reminder_pauses (
    member_id INTEGER NOT NULL REFERENCES members(id),
    kind TEXT NOT NULL CHECK (kind IN ('meeting', 'repayment', 'health', 'digest')),
    paused INTEGER NOT NULL CHECK (paused IN (0, 1)),
    changed_at TEXT NOT NULL,
    PRIMARY KEY (member_id, kind)
) STRICT;

-- Every reminder queued, by its unique key (kind, target, occurrence): queued once, ever.
CREATE TABLE reminders (
    key TEXT PRIMARY KEY,
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    member_id INTEGER NOT NULL REFERENCES members(id),
    kind TEXT NOT NULL,
    due_at TEXT NOT NULL,                  -- when it was meant to go (UTC)
    queued_at TEXT NOT NULL,
    outbox_id INTEGER REFERENCES outbox(id)
) STRICT, WITHOUT ROWID;
CREATE INDEX reminders_member ON reminders(member_id, kind);

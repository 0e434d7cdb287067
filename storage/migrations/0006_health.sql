-- Health: blood-pressure and weight readings, volunteers' care clients and home visits.
-- Readings and visits are never changed (health records keep their history); they are
-- deleted only when the member is erased.

CREATE TABLE readings (
    id INTEGER PRIMARY KEY,
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    member_id INTEGER NOT NULL REFERENCES members(id),
    measured_at TEXT NOT NULL,             -- UTC
    day TEXT NOT NULL,                     -- the club's calendar day
    systolic INTEGER NOT NULL CHECK (systolic BETWEEN 70 AND 300),
    diastolic INTEGER NOT NULL CHECK (diastolic BETWEEN 40 AND 180),
    pulse INTEGER CHECK (pulse BETWEEN 30 AND 220),
    weight_tenths INTEGER CHECK (weight_tenths BETWEEN 250 AND 2000),  -- 525 = 52,5 kg
    grade TEXT NOT NULL CHECK (grade IN
        ('optimal', 'normal', 'high_normal', 'grade_1', 'grade_2', 'grade_3')),
    high INTEGER NOT NULL CHECK (high IN (0, 1)),
    urgent INTEGER NOT NULL CHECK (urgent IN (0, 1)),     -- the person was told to get help
    first_systolic INTEGER,                -- the first measure, when re-measured after rest
    first_diastolic INTEGER,
    symptoms TEXT NOT NULL DEFAULT '[]',   -- JSON list of symptom keys
    place TEXT NOT NULL CHECK (place IN ('self', 'meeting', 'home')),
    recorded_by INTEGER REFERENCES members(id),
    visit_id INTEGER REFERENCES visits(id),
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    CHECK (systolic > diastolic)
) STRICT;
CREATE INDEX readings_member ON readings(member_id, measured_at);
CREATE INDEX readings_club_day ON readings(club_id, day);

-- Which volunteer cares for which member (several each way). Ending keeps the row.
CREATE TABLE care_links (
    id INTEGER PRIMARY KEY,
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    volunteer_id INTEGER NOT NULL REFERENCES members(id),
    client_id INTEGER NOT NULL REFERENCES members(id),
    assigned_by INTEGER REFERENCES members(id),
    assigned_at TEXT NOT NULL,
    ended_at TEXT,
    CHECK (volunteer_id != client_id)
) STRICT;
CREATE UNIQUE INDEX care_links_open ON care_links(volunteer_id, client_id)
    WHERE ended_at IS NULL;
CREATE INDEX care_links_client ON care_links(client_id) WHERE ended_at IS NULL;

CREATE TABLE visits (
    id INTEGER PRIMARY KEY,
    club_id INTEGER NOT NULL REFERENCES clubs(id),
    client_id INTEGER NOT NULL REFERENCES members(id),
    volunteer_id INTEGER NOT NULL REFERENCES members(id),
    visited_at TEXT NOT NULL,              -- UTC
    day TEXT NOT NULL,
    services TEXT NOT NULL,                -- JSON list of service keys
    concern TEXT,                          -- NULL: none
    note TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX visits_client ON visits(client_id, visited_at);

CREATE TRIGGER readings_no_update BEFORE UPDATE ON readings
BEGIN
    SELECT RAISE(ABORT, 'health records are kept as measured');
END;
-- Only the erasure of the member (their right to be forgotten) removes their records.
CREATE TRIGGER readings_no_delete BEFORE DELETE ON readings
WHEN (SELECT status FROM members WHERE id = OLD.member_id) IS NOT 'erased'
BEGIN
    SELECT RAISE(ABORT, 'health records are kept as measured');
END;
CREATE TRIGGER visits_no_update BEFORE UPDATE ON visits
BEGIN
    SELECT RAISE(ABORT, 'visit records are kept as recorded');
END;
CREATE TRIGGER visits_no_delete BEFORE DELETE ON visits
WHEN (SELECT status FROM members WHERE id = OLD.client_id) IS NOT 'erased'
BEGIN
    SELECT RAISE(ABORT, 'visit records are kept as recorded');
END;

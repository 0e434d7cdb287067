-- One-time codes that link a chat account on another channel to an existing member.
CREATE TABLE link_codes (
    code_hash TEXT PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members(id),
    expires_at TEXT NOT NULL,
    used_at TEXT
) STRICT;

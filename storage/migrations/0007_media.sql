-- Pictures the bot sends (charts), kept for a while under a random token: Zalo's sendPhoto
-- takes a URL, so the web app serves them at /media/<token>.png until they expire.
CREATE TABLE media (
    token TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

CREATE INDEX media_expires ON media(expires_at);

-- Several bots (one per province or commune): each registered bot serves the clubs of the
-- areas it is assigned to. Its token is a secret and is never stored: `token_env` names the
-- environment variable that holds it, read when the service starts. Its chats are channel
-- '<platform>:<name>' (the bot set by TELEGRAM_BOT_TOKEN / ZALO_BOT_TOKEN stays 'telegram' /
-- 'zalo'). A bot is disabled, never deleted (its chats' identities keep its channel).
CREATE TABLE bots (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
        CHECK (name != '' AND length(name) <= 32 AND name NOT GLOB '*[^a-z0-9_]*'),
    platform TEXT NOT NULL CHECK (platform IN ('telegram', 'zalo')),
    token_env TEXT NOT NULL CHECK (token_env != ''),
    username TEXT NOT NULL DEFAULT '',  -- Telegram: for t.me links ('' = unknown)
    rate REAL NOT NULL CHECK (rate > 0),  -- messages per second, this bot's own budget
    webhook_url TEXT NOT NULL DEFAULT '',  -- '' = polling, or the environment bot's URL + /name
    created_at TEXT NOT NULL,
    disabled_at TEXT
) STRICT;

-- The areas a bot serves, by official code: a whole province (commune_code NULL) or one
-- commune. A club's bot for a platform: the one of its commune, else of its province, else
-- the environment bot.
CREATE TABLE bot_areas (
    id INTEGER PRIMARY KEY,
    bot_id INTEGER NOT NULL REFERENCES bots(id),
    province_code INTEGER NOT NULL,
    commune_code INTEGER,
    assigned_at TEXT NOT NULL
) STRICT;
CREATE INDEX bot_areas_bot ON bot_areas(bot_id);  -- one row per area and bot: bot assign checks
CREATE INDEX bot_areas_province ON bot_areas(province_code, commune_code);

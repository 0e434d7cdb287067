-- A member may choose which chat account gets their messages (otherwise: the one used last).
ALTER TABLE identities ADD COLUMN preferred INTEGER NOT NULL DEFAULT 0;

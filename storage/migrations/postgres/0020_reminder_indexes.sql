-- As ../0020_reminder_indexes.sql: "not measured since" answered from an index.
CREATE INDEX readings_member_day ON readings(member_id, day);

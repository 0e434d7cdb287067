-- The revision of the flow a conversation began in (a short hash of the flow's shape, see
-- bot.engine.revision): after a deploy that changed the flow, the conversation starts again
-- instead of reading an answer as one to a question that moved. '' = saved before revisions.
ALTER TABLE sessions ADD COLUMN revision TEXT NOT NULL DEFAULT '';

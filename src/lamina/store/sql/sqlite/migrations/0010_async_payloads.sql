-- Queued events' content moves to a table of its own. async_events keeps what the queue schedules
-- by (read whole at every start, so it must stay small: reading a column stored after a 1 MB blob
-- walks the blob's overflow pages) and the content's size, which the per-function quota counts.
-- A payload is read from async_payloads when its attempt starts; both rows are written and deleted
-- in the same transaction.
CREATE TABLE async_payloads (
    seq            INTEGER PRIMARY KEY,  -- the event's seq in async_events
    payload        BLOB NOT NULL,
    client_context TEXT
);
INSERT INTO async_payloads (seq, payload, client_context) SELECT seq, payload, client_context FROM async_events;
ALTER TABLE async_events ADD COLUMN size INTEGER NOT NULL DEFAULT 0;  -- bytes of payload and client context
UPDATE async_events SET size = length(payload) + coalesce(length(CAST(client_context AS BLOB)), 0);
-- Dropping columns (SQLite 3.35) keeps the table, so seq keeps counting from where it was.
ALTER TABLE async_events DROP COLUMN payload;
ALTER TABLE async_events DROP COLUMN client_context;

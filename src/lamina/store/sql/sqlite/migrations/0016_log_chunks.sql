-- Log lines stored in chunks, a row for consecutive lines of one function's one stream written
-- together, rather than a row a line (store/log_chunks.py: the chunk's data and its cursors).
-- size is the sum of its lines' log_event_size (log_usage keeps its meaning); first_ms and last_ms
-- its earliest and latest timestamps. AUTOINCREMENT: an id, and so a cursor, is never reused.
CREATE TABLE log_chunks (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    function TEXT NOT NULL,
    stream   TEXT NOT NULL,
    first_ms INTEGER NOT NULL,
    last_ms  INTEGER NOT NULL,
    lines    INTEGER NOT NULL,
    size     INTEGER NOT NULL,
    data     BLOB NOT NULL
);

-- The stored lines move in order: a stream's lines, 256 cursors at a time, become a chunk
-- (lamina_log_chunk, registered by migrate(), sorts them by cursor), and chunks take their ids in
-- the order of their first lines. Their ids start where their cursors pass every cursor handed out
-- before: a reader that held one reads the moved lines again rather than missing any.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'log_chunks', (seq >> 20) + 1 FROM sqlite_sequence WHERE name = 'log_events';
INSERT INTO log_chunks (function, stream, first_ms, last_ms, lines, size, data)
SELECT function, stream, MIN(timestamp_ms), MAX(timestamp_ms), COUNT(*), SUM(size),
       lamina_log_chunk(cursor, timestamp_ms, message)
FROM log_events GROUP BY function, stream, cursor >> 8 ORDER BY MIN(cursor);
DROP TABLE log_events;

-- A function's lines in order (reads, trims); a stream's by time (CloudWatch Logs' reads); a
-- function's oldest by their last line (expiry).
CREATE INDEX log_chunks_by_function ON log_chunks (function, id);
CREATE INDEX log_chunks_by_stream ON log_chunks (function, stream, first_ms);
CREATE INDEX log_chunks_by_last_time ON log_chunks (function, last_ms);

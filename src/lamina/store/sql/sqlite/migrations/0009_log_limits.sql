-- Log limits: each line's size (its UTF-8 bytes and CloudWatch's 26 bytes of overhead an event),
-- each function's total (kept by the writes that add and remove lines, so that checking a function
-- against its limit reads one row), and an index to find a function's oldest lines by time.
ALTER TABLE log_events ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE log_events SET size = length(CAST(message AS BLOB)) + 26;

CREATE TABLE log_usage (
    function TEXT PRIMARY KEY,
    bytes    INTEGER NOT NULL
);
INSERT INTO log_usage (function, bytes) SELECT function, SUM(size) FROM log_events GROUP BY function;

CREATE INDEX log_events_by_function_time ON log_events (function, timestamp_ms);

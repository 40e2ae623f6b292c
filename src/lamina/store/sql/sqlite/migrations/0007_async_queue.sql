-- The asynchronous-invocation queue: every accepted Event invocation, until it has been delivered
-- (or given up on and handed to its failure destination). A row is written before the caller is
-- told 202 and deleted in the same transaction that enqueues its destination record, so a crash at
-- any moment loses nothing (an attempt in flight at the crash runs again: at-least-once).
-- Not tied to the functions table: an event of a deleted function is dropped by the worker.
CREATE TABLE async_events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id     TEXT NOT NULL,
    function       TEXT NOT NULL,
    qualifier      TEXT,
    payload        BLOB NOT NULL,
    client_context TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    enqueued_ms    INTEGER NOT NULL,
    next_ms        INTEGER NOT NULL
);
CREATE INDEX async_events_function ON async_events (function, next_ms);

-- Functions: one row a function; the configuration is a JSON document (see store/codec.py).
CREATE TABLE functions (
    name        TEXT PRIMARY KEY,
    revision_id TEXT NOT NULL,
    config      TEXT NOT NULL
);

-- Log lines of every execution environment, in arrival order.
CREATE TABLE log_events (
    cursor       INTEGER PRIMARY KEY AUTOINCREMENT,
    function     TEXT NOT NULL,
    stream       TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    message      TEXT NOT NULL
);
CREATE INDEX log_events_by_function ON log_events (function, cursor);

-- One row an invocation: what metering and billing read.
CREATE TABLE invocations (
    request_id         TEXT NOT NULL,
    function           TEXT NOT NULL,
    version            TEXT NOT NULL,
    started_ms         INTEGER NOT NULL,
    duration_ms        REAL NOT NULL,
    billed_ms          INTEGER NOT NULL,
    memory_mb          INTEGER NOT NULL,
    max_memory_used_mb INTEGER NOT NULL,
    init_ms            REAL,
    outcome            TEXT NOT NULL
);
CREATE INDEX invocations_by_function ON invocations (function, started_ms);

-- The usage ledger made complete: what each invocation ran on (its architecture, its ephemeral
-- storage, whether a provisioned environment served it). Rows written before this migration ran on
-- x86_64 with 512 MB of storage, on demand: the only values Lamina recorded then.
ALTER TABLE invocations ADD COLUMN architecture TEXT NOT NULL DEFAULT 'x86_64';
ALTER TABLE invocations ADD COLUMN ephemeral_mb INTEGER NOT NULL DEFAULT 512;
ALTER TABLE invocations ADD COLUMN provisioned INTEGER NOT NULL DEFAULT 0;
-- Usage reads the ledger by time, for every function.
CREATE INDEX invocations_by_time ON invocations (started_ms);

-- Provisioned concurrency as it was allocated: a row each time a configuration's environments
-- changed (configured, changed, moved with its alias, removed: environments 0). A configuration is
-- billed from one row to its next. Kept when the function goes: it was billed.
CREATE TABLE provisioned_allocations (
    function     TEXT NOT NULL,
    qualifier    TEXT NOT NULL,
    version      TEXT NOT NULL,
    memory_mb    INTEGER NOT NULL,
    architecture TEXT NOT NULL,
    environments INTEGER NOT NULL CHECK (environments >= 0),
    at_ms        INTEGER NOT NULL
);
CREATE INDEX provisioned_allocations_by_time ON provisioned_allocations (at_ms);

-- Whether the server that writes the ledger is running (a row, id 1): set when metering begins,
-- cleared once the last batch is written at a graceful stop. Found set at start, the last run was
-- killed: its last batch may be lost, and its open allocations end at its last write.
CREATE TABLE meter_run (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    running       INTEGER NOT NULL,
    started_ms    INTEGER NOT NULL,
    last_write_ms INTEGER NOT NULL
);

-- Reserved concurrency: how many executions of a function may run at once, reserved for it out of
-- the account's concurrency. A function without a row has no reservation. Like everything a function
-- owns, it goes with the function (ON DELETE CASCADE) and cannot be written once the function is gone.
CREATE TABLE function_concurrency (
    function TEXT PRIMARY KEY REFERENCES functions (name) ON DELETE CASCADE,
    reserved INTEGER NOT NULL CHECK (reserved >= 0)
);

-- Provisioned concurrency of a published version or an alias: how many initialised environments
-- are kept ready for it. Their state (how many are ready) is not stored: it is rebuilt at start-up.
CREATE TABLE provisioned_concurrency_configs (
    function      TEXT NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    qualifier     TEXT NOT NULL,
    requested     INTEGER NOT NULL CHECK (requested >= 1),
    last_modified TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);

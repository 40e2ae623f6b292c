-- A function's tags, resource-based policies and asynchronous-invocation configurations.
-- Each row belongs to a function and goes with it: ON DELETE CASCADE removes them in the same
-- transaction as the function (functions rows are UPDATEd in place, never REPLACEd, so an update
-- keeps them), and the foreign key refuses rows for a function that no longer exists.
CREATE TABLE function_tags (
    function TEXT NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (function, key)
);

-- One policy per function and qualifier ("$LATEST", a version or an alias); statements as JSON, in order.
CREATE TABLE function_policies (
    function    TEXT NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    qualifier   TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    statements  TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);

CREATE TABLE event_invoke_configs (
    function  TEXT NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    config    TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);

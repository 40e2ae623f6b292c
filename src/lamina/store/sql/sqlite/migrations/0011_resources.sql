-- The control plane of the services beside Lambda (HTTP APIs, event buses, rules, schedules, ...):
-- JSON documents by kind and key, kept in memory by their service and written through.
CREATE TABLE resources (
    kind TEXT NOT NULL,
    key  TEXT NOT NULL,
    doc  TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;

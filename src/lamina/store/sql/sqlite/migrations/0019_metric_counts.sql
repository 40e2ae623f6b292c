-- What CloudWatch's AWS/Lambda metrics need beside the invocations ledger: events that never became
-- an invocation (throttles, asynchronous
-- events received, dead letters and destination records lost), counted a minute at a time (written with the recorder's batches).
-- qualifier: as invoked ('' when unqualified).
CREATE TABLE metric_counts (
    function  TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    metric    TEXT NOT NULL,
    minute_ms INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (function, qualifier, metric, minute_ms)
);
CREATE INDEX metric_counts_by_time ON metric_counts (minute_ms);
-- CloudWatch reads the ledger by time, for every function of the account.
CREATE INDEX IF NOT EXISTS invocations_by_time ON invocations (started_ms);

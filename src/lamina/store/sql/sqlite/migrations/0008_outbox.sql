-- Messages for targets that Lamina does not deliver to itself yet: SQS queues and SNS topics named
-- as dead-letter targets, and SQS, SNS, EventBridge or S3 destinations of asynchronous invocations.
-- A message is written in the same transaction that finishes its source event, and kept until it is
-- delivered or removed (`lamina queue outbox`), so nothing an event leaves behind is lost.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    target      TEXT NOT NULL,     -- the target's ARN
    kind        TEXT NOT NULL,     -- 'dead-letter' or 'destination'
    function    TEXT NOT NULL,     -- the function whose event left it
    request_id  TEXT NOT NULL,     -- that event's request id
    body        BLOB NOT NULL,
    attributes  TEXT NOT NULL,     -- JSON: {name: {"DataType": ..., "StringValue": ...}}, as SQS's
    created_ms  INTEGER NOT NULL
);
CREATE INDEX outbox_target ON outbox (target, id);

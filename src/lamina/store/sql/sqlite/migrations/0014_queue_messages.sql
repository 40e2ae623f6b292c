-- Messages in the embedded SQS queues (lamina/queues). A message is written before SendMessage
-- answers and removed by DeleteMessage, PurgeQueue, DeleteQueue, its retention period, or its move to
-- a dead-letter queue (the move written in one transaction). Receiving it rewrites its state:
-- visibility deadlines are wall-clock epoch milliseconds, so a restart honours them (a message in
-- flight when the server stopped becomes visible again when its visibility timeout ends).
CREATE TABLE queue_messages (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    queue             TEXT NOT NULL,     -- the queue's id (a queue deleted and created again is another)
    message_id        TEXT NOT NULL,
    body              TEXT NOT NULL,
    attributes        TEXT NOT NULL,     -- message attributes, JSON (as lamina.queues.messages encodes them)
    sent_ms           INTEGER NOT NULL,  -- SentTimestamp: when the queue (first) accepted it
    visible_ms        INTEGER NOT NULL,  -- not delivered before this (its delay, its visibility timeout)
    receive_count     INTEGER NOT NULL DEFAULT 0,
    first_receive_ms  INTEGER NOT NULL DEFAULT 0,
    group_id          TEXT,              -- FIFO queues: MessageGroupId
    dedup_id          TEXT               -- FIFO queues: MessageDeduplicationId
);
CREATE INDEX queue_messages_by_queue ON queue_messages (queue, seq);

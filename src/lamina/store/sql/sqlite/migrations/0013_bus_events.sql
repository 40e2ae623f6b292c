-- Events accepted on an event bus (PutEvents, forwarded from another bus, a scheduled rule's firing,
-- a Lambda destination record) and not yet delivered to every target they matched. An event is
-- written before PutEvents answers, with the deliveries it owes (one per matched rule target), and
-- removed once every one of them has been accepted (or given up on, its dead letter in the outbox,
-- written in the same transaction).
CREATE TABLE bus_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    bus         TEXT NOT NULL,     -- the event bus's name
    envelope    BLOB NOT NULL,     -- the event as targets receive it (JSON)
    deliveries  TEXT NOT NULL,     -- JSON: [{"rule", "target", "attempts", "nextMs"}], those still owed
    created_ms  INTEGER NOT NULL,  -- when the bus accepted it: a delivery's age counts from here
    hops        INTEGER NOT NULL DEFAULT 0  -- how many buses passed it on before this one
);

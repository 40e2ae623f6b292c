-- The asynchronous queue (migrations 0007, 0010): an event is two rows, async_events what scheduling
-- needs (small, listed whole at start), async_payloads its content, read one event at a time when
-- its attempt starts; both written and deleted in the same transaction. And the outbox (0008).

-- name: insert_event
INSERT INTO async_events (request_id, function, qualifier, size, attempts, enqueued_ms, next_ms)
VALUES (?, ?, ?, ?, ?, ?, ?)

-- name: insert_payload
INSERT INTO async_payloads (seq, payload, client_context) VALUES (?, ?, ?)

-- name: queued_events
SELECT request_id, function, qualifier, enqueued_ms, next_ms, attempts, seq, size
FROM async_events ORDER BY seq

-- name: event_content
SELECT payload, client_context FROM async_payloads WHERE seq = ?

-- name: reschedule_event
UPDATE async_events SET attempts = ?, next_ms = ? WHERE seq = ?

-- name: delete_event
DELETE FROM async_events WHERE seq = ?

-- name: delete_payload
DELETE FROM async_payloads WHERE seq = ?

-- name: insert_outbox
INSERT INTO outbox (target, kind, function, request_id, body, attributes, created_ms)
VALUES (?, ?, ?, ?, ?, ?, ?)

-- name: outbox_after
SELECT target, kind, function, request_id, body, attributes, created_ms, id FROM outbox WHERE id > ?
ORDER BY id LIMIT ?

-- name: target_outbox_after
SELECT target, kind, function, request_id, body, attributes, created_ms, id FROM outbox WHERE id > ?
AND target = ? ORDER BY id LIMIT ?

-- name: delete_outbox
DELETE FROM outbox WHERE id = ?

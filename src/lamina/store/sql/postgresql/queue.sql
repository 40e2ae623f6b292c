-- The asynchronous queue (migrations/0001_initial.sql): an event is two rows, async_events what scheduling
-- needs (small, listed whole at start), async_payloads its content, read one event at a time when
-- its attempt starts; both written and deleted in the same transaction. And the outbox. Replicas
-- claim due events and outbox messages (claim_events, claim_outbox) with FOR UPDATE SKIP LOCKED:
-- rows another claimer holds are skipped rather than waited for, so no two take the same one.

-- name: insert_event
-- Both rows in one statement (one trip to the database, atomic without a transaction around it);
-- held by the server that accepts it (claimed_by, claimed_until) from the start.
WITH event AS (
    INSERT INTO async_events (request_id, function, qualifier, size, attempts, enqueued_ms, next_ms, claimed_by,
    claimed_until) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING seq
)
INSERT INTO async_payloads (seq, payload, client_context) SELECT seq, %s, %s FROM event RETURNING seq

-- name: queued_events
SELECT request_id, function, qualifier, enqueued_ms, next_ms, attempts, seq, size
FROM async_events ORDER BY seq

-- name: event_content
SELECT payload, client_context FROM async_payloads WHERE seq = %s

-- name: reschedule_event
UPDATE async_events SET attempts = %s, next_ms = %s WHERE seq = %s

-- name: delete_event
DELETE FROM async_events WHERE seq = %s

-- name: delete_payload
DELETE FROM async_payloads WHERE seq = %s

-- name: insert_outbox
INSERT INTO outbox (target, kind, function, request_id, body, attributes, created_ms)
VALUES (%s, %s, %s, %s, %s, %s, %s)

-- name: outbox_after
SELECT target, kind, function, request_id, body, attributes, created_ms, id FROM outbox WHERE id > %s
ORDER BY id LIMIT %s

-- name: target_outbox_after
SELECT target, kind, function, request_id, body, attributes, created_ms, id FROM outbox WHERE id > %s
AND target = %s ORDER BY id LIMIT %s

-- name: delete_outbox
DELETE FROM outbox WHERE id = ANY(%s)

-- name: claim_events
-- Events no one holds at a time (never held, or their claim ended), other than the claimer's own.
UPDATE async_events SET claimed_by = %s, claimed_until = %s
WHERE seq IN (SELECT seq FROM async_events WHERE (claimed_until IS NULL OR claimed_until <= %s)
              AND claimed_by IS DISTINCT FROM %s ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED)
RETURNING request_id, function, qualifier, enqueued_ms, next_ms, attempts, seq, size

-- name: renew_claims
UPDATE async_events SET claimed_until = %s WHERE claimed_by = %s

-- name: release_claims
UPDATE async_events SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = %s

-- name: claim_outbox
-- Messages after an id no other claimer holds (the claimer's own are claimed again: the relays of
-- one server share its claims).
UPDATE outbox SET claimed_by = %(claimer)s, claimed_until = %(until)s
WHERE id IN (SELECT id FROM outbox
             WHERE id > %(after)s AND (claimed_until IS NULL OR claimed_until <= %(now)s OR claimed_by = %(claimer)s)
             ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING target, kind, function, request_id, body, attributes, created_ms, id

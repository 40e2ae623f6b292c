-- The event bus's queue (migrations/0001_initial.sql).

-- name: insert_bus_event
INSERT INTO bus_events (bus, envelope, deliveries, created_ms, hops) VALUES (%s, %s, %s, %s, %s) RETURNING seq

-- name: list_bus_events
SELECT bus, deliveries, created_ms, hops, seq FROM bus_events ORDER BY seq

-- name: bus_envelope
SELECT envelope FROM bus_events WHERE seq = %s

-- name: set_deliveries
UPDATE bus_events SET deliveries = %s WHERE seq = %s

-- name: delete_bus_event
DELETE FROM bus_events WHERE seq = %s

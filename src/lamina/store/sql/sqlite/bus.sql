-- The event bus's queue (migration 0013).

-- name: insert_bus_event
INSERT INTO bus_events (bus, envelope, deliveries, created_ms, hops) VALUES (?, ?, ?, ?, ?)

-- name: list_bus_events
SELECT bus, deliveries, created_ms, hops, seq FROM bus_events ORDER BY seq

-- name: bus_envelope
SELECT envelope FROM bus_events WHERE seq = ?

-- name: set_deliveries
UPDATE bus_events SET deliveries = ? WHERE seq = ?

-- name: delete_bus_event
DELETE FROM bus_events WHERE seq = ?

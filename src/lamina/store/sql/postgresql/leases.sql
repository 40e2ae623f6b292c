-- Units of concurrency leased by replicas (migrations/0002_concurrency_leases.sql). A pool's leases
-- are changed under a transaction-scoped advisory lock of the pool (lock_pool), so that two
-- replicas taking units of one pool at once are counted one after the other.

-- name: lock_pool
SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))

-- name: held_by_others
SELECT coalesce(sum(units), 0) FROM concurrency_leases WHERE pool = %s AND claimer <> %s AND expires_ms > %s

-- name: held_by_me
SELECT units, expires_ms FROM concurrency_leases WHERE pool = %s AND claimer = %s

-- name: put_units
INSERT INTO concurrency_leases (pool, claimer, units, expires_ms) VALUES (%s, %s, %s, %s)
ON CONFLICT (pool, claimer) DO UPDATE SET units = excluded.units, expires_ms = excluded.expires_ms

-- name: give_back
-- Only ever lowers what is held: units given back are never taken again by a late statement.
UPDATE concurrency_leases SET units = least(units, %s) WHERE pool = %s AND claimer = %s

-- name: renew
-- Leases that ended (the replica stalled past them) are not renewed: their units may be another's now.
UPDATE concurrency_leases SET expires_ms = %s WHERE claimer = %s AND expires_ms > %s AND units > 0
RETURNING pool, units

-- name: drop_empty
DELETE FROM concurrency_leases WHERE (claimer = %s AND units = 0) OR expires_ms <= %s

-- name: release
DELETE FROM concurrency_leases WHERE claimer = %s

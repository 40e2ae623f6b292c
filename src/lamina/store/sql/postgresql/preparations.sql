-- Claims on the preparation of functions' code (migrations/0004_preparations.sql).

-- name: claim
-- Taken when nobody holds it, its claim ended, or it is the claimer's own already.
INSERT INTO preparations (function, version, claimer, until_ms) VALUES (%(function)s, %(version)s, %(claimer)s, %(until)s)
ON CONFLICT (function, version) DO UPDATE SET claimer = excluded.claimer, until_ms = excluded.until_ms
WHERE preparations.until_ms <= %(now)s OR preparations.claimer = excluded.claimer
RETURNING claimer

-- name: renew
UPDATE preparations SET until_ms = %s WHERE claimer = %s

-- name: finish
DELETE FROM preparations WHERE function = %s AND version = %s AND claimer = %s

-- name: release
DELETE FROM preparations WHERE claimer = %s

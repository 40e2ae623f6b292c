-- The control plane of the services beside Lambda (migration 0011).

-- name: list_resources
SELECT key, doc FROM resources WHERE kind = ? ORDER BY key

-- name: delete_prefix
-- substr rather than LIKE: a key may hold % or _.
DELETE FROM resources WHERE kind = ? AND substr(key, 1, ?) = ?

-- name: delete_resource
DELETE FROM resources WHERE kind = ? AND key = ?

-- name: put_resource
INSERT OR REPLACE INTO resources (kind, key, doc) VALUES (?, ?, ?)

-- The control plane of the services beside Lambda (migrations/0001_initial.sql).

-- name: get_resource
SELECT doc FROM resources WHERE kind = %s AND key = %s

-- name: list_resources
SELECT key, doc FROM resources WHERE kind = %s ORDER BY key

-- name: delete_prefix
-- left() rather than LIKE: a key may hold LIKE's wildcards.
DELETE FROM resources WHERE kind = %s AND left(key, %s) = %s

-- name: delete_resource
DELETE FROM resources WHERE kind = %s AND key = %s

-- name: put_resource
INSERT INTO resources (kind, key, doc) VALUES (%s, %s, %s)
ON CONFLICT (kind, key) DO UPDATE SET doc = excluded.doc

-- name: notify_change
-- Other servers on the database read the resources of a kind again (store/postgresql/changes.py).
SELECT pg_notify('lamina_changes', %s)

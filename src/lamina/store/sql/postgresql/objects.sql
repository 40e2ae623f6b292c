-- The object store's records (migrations/0001_initial.sql).

-- name: delete_prefix
-- left() rather than LIKE: a key may hold LIKE's wildcards.
DELETE FROM object_records WHERE kind = %s AND bucket = %s AND left(key, %s) = %s

-- name: delete_record
DELETE FROM object_records WHERE kind = %s AND bucket = %s AND key = %s

-- name: put_record
INSERT INTO object_records (kind, bucket, key, doc) VALUES (%s, %s, %s, %s)
ON CONFLICT (kind, bucket, key) DO UPDATE SET doc = excluded.doc

-- name: list_records
SELECT bucket, key, doc FROM object_records WHERE kind = %s ORDER BY bucket, key

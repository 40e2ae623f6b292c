-- The object store's records (migration 0015).

-- name: delete_prefix
-- substr rather than LIKE: a key may hold % or _.
DELETE FROM object_records WHERE kind = ? AND bucket = ? AND substr(key, 1, ?) = ?

-- name: delete_record
DELETE FROM object_records WHERE kind = ? AND bucket = ? AND key = ?

-- name: put_record
INSERT OR REPLACE INTO object_records (kind, bucket, key, doc) VALUES (?, ?, ?, ?)

-- name: list_records
SELECT bucket, key, doc FROM object_records WHERE kind = ? ORDER BY bucket, key

-- Function URLs (migrations/0001_initial.sql).

-- name: insert_url
INSERT INTO function_urls (function, qualifier, url_id, config) VALUES (%s, %s, %s, %s)

-- name: update_url
UPDATE function_urls SET config = %s WHERE function = %s AND qualifier = %s

-- name: delete_url
DELETE FROM function_urls WHERE function = %s AND qualifier = %s

-- name: list_urls
SELECT function, qualifier, url_id, config FROM function_urls ORDER BY function, qualifier

-- name: notify_change
-- Other servers on the database read the function's configurations again (store/postgresql/changes.py).
SELECT pg_notify('lamina_changes', %s)

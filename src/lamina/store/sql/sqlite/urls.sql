-- Function URLs (migration 0004).

-- name: insert_url
INSERT INTO function_urls (function, qualifier, url_id, config) VALUES (?, ?, ?, ?)

-- name: update_url
UPDATE function_urls SET config = ? WHERE function = ? AND qualifier = ?

-- name: delete_url
DELETE FROM function_urls WHERE function = ? AND qualifier = ?

-- name: list_urls
SELECT function, qualifier, url_id, config FROM function_urls ORDER BY function, qualifier

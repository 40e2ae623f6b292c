-- A function's aliases (migrations/0001_initial.sql).

-- name: insert_alias
INSERT INTO function_aliases (function, name, revision_id, config) VALUES (%s, %s, %s, %s)

-- name: alias_revision
SELECT revision_id FROM function_aliases WHERE function = %s AND name = %s FOR UPDATE

-- name: update_alias
UPDATE function_aliases SET revision_id = %s, config = %s WHERE function = %s AND name = %s

-- name: list_aliases
SELECT function, name, revision_id, config FROM function_aliases WHERE function = %s ORDER BY name

-- name: delete_alias
DELETE FROM function_aliases WHERE function = %s AND name = %s

-- name: notify_change
-- Other servers on the database read the function again (store/postgresql/changes.py); sent at commit.
SELECT pg_notify('lamina_changes', %s)

-- Functions ($LATEST) and their published versions (migrations/0001_initial.sql).

-- name: insert_function
INSERT INTO functions (name, revision_id, config) VALUES (%s, %s, %s)

-- name: get_function
SELECT config FROM functions WHERE name = %s

-- name: list_functions
SELECT config FROM functions WHERE name > %s ORDER BY name LIMIT %s

-- name: function_revision
SELECT revision_id FROM functions WHERE name = %s FOR UPDATE

-- name: update_function
UPDATE functions SET revision_id = %s, config = %s WHERE name = %s

-- name: delete_function
DELETE FROM functions WHERE name = %s RETURNING config

-- name: all_functions
SELECT config FROM functions

-- name: all_layer_versions
SELECT config FROM layer_versions

-- name: all_versions
SELECT config FROM function_versions

-- name: upsert_version
INSERT INTO function_versions (function, version, config) VALUES (%s, %s, %s)
ON CONFLICT (function, version) DO UPDATE SET config = excluded.config

-- name: raise_last_version
INSERT INTO function_version_numbers (function, last_version) VALUES (%s, %s)
ON CONFLICT (function) DO UPDATE SET last_version = GREATEST(function_version_numbers.last_version, excluded.last_version)

-- name: list_versions
SELECT config FROM function_versions WHERE function = %s ORDER BY version

-- name: last_version
SELECT last_version FROM function_version_numbers WHERE function = %s

-- name: delete_version
DELETE FROM function_versions WHERE function = %s AND version = %s

-- name: notify_change
-- Other servers on the database read the function again (store/postgresql/changes.py); sent at commit.
SELECT pg_notify('lamina_changes', %s)

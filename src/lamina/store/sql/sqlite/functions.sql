-- Functions ($LATEST) and their published versions (migrations 0001, 0005).

-- name: insert_function
INSERT INTO functions (name, revision_id, config) VALUES (?, ?, ?)

-- name: get_function
SELECT config FROM functions WHERE name = ?

-- name: list_functions
SELECT config FROM functions WHERE name > ? ORDER BY name LIMIT ?

-- name: function_revision
SELECT revision_id FROM functions WHERE name = ?

-- name: update_function
UPDATE functions SET revision_id = ?, config = ? WHERE name = ?

-- name: delete_function
DELETE FROM functions WHERE name = ?

-- name: all_functions
SELECT config FROM functions

-- name: all_layer_versions
SELECT config FROM layer_versions

-- name: all_versions
SELECT config FROM function_versions

-- name: upsert_version
INSERT INTO function_versions (function, version, config) VALUES (?, ?, ?)
ON CONFLICT (function, version) DO UPDATE SET config = excluded.config

-- name: raise_last_version
INSERT INTO function_version_numbers (function, last_version) VALUES (?, ?)
ON CONFLICT (function) DO UPDATE SET last_version = max(last_version, excluded.last_version)

-- name: list_versions
SELECT config FROM function_versions WHERE function = ? ORDER BY version

-- name: last_version
SELECT last_version FROM function_version_numbers WHERE function = ?

-- name: delete_version
DELETE FROM function_versions WHERE function = ? AND version = ?

-- Layer versions (migrations/0001_initial.sql): a layer's last number, and its versions.

-- name: next_layer_version
-- One statement: replicas publishing a version of one layer at once take different numbers.
INSERT INTO layers (name, last_version) VALUES (%s, 1)
ON CONFLICT (name) DO UPDATE SET last_version = layers.last_version + 1 RETURNING last_version

-- name: insert_layer_version
INSERT INTO layer_versions (name, version, config) VALUES (%s, %s, %s)

-- name: get_layer_version
SELECT config FROM layer_versions WHERE name = %s AND version = %s

-- name: all_layer_versions
SELECT config FROM layer_versions ORDER BY name, version DESC

-- name: layer_versions
SELECT config FROM layer_versions WHERE name = %s ORDER BY version DESC

-- name: delete_layer_version
DELETE FROM layer_versions WHERE name = %s AND version = %s

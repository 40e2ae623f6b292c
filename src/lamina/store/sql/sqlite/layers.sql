-- Layer versions (migration 0002): a layer's last number, and its versions.

-- name: last_layer_version
SELECT last_version FROM layers WHERE name = ?

-- name: set_last_layer_version
INSERT INTO layers (name, last_version) VALUES (?, ?)
ON CONFLICT (name) DO UPDATE SET last_version = excluded.last_version

-- name: insert_layer_version
INSERT INTO layer_versions (name, version, config) VALUES (?, ?, ?)

-- name: get_layer_version
SELECT config FROM layer_versions WHERE name = ? AND version = ?

-- name: all_layer_versions
SELECT config FROM layer_versions ORDER BY name, version DESC

-- name: layer_versions
SELECT config FROM layer_versions WHERE name = ? ORDER BY version DESC

-- name: delete_layer_version
DELETE FROM layer_versions WHERE name = ? AND version = ?

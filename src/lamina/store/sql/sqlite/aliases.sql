-- A function's aliases (migration 0005).

-- name: insert_alias
INSERT INTO function_aliases (function, name, revision_id, config) VALUES (?, ?, ?, ?)

-- name: alias_revision
SELECT revision_id FROM function_aliases WHERE function = ? AND name = ?

-- name: update_alias
UPDATE function_aliases SET revision_id = ?, config = ? WHERE function = ? AND name = ?

-- name: list_aliases
SELECT function, name, revision_id, config FROM function_aliases WHERE function = ? ORDER BY name

-- name: delete_alias
DELETE FROM function_aliases WHERE function = ? AND name = ?

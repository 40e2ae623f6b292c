-- What a function has beside its configuration (migrations/0001_initial.sql): tags, resource policies,
-- asynchronous-invocation configurations, reserved and provisioned concurrency.

-- name: get_tags
SELECT key, value FROM function_tags WHERE function = %s ORDER BY key

-- name: delete_tags
DELETE FROM function_tags WHERE function = %s

-- name: insert_tag
INSERT INTO function_tags (function, key, value) VALUES (%s, %s, %s)

-- name: get_policy
SELECT revision_id, statements FROM function_policies WHERE function = %s AND qualifier = %s

-- name: policy_revision
-- The function's row locked first: two writers of a policy not yet stored wait for each other.
SELECT f.name, p.revision_id FROM functions f
LEFT JOIN function_policies p ON p.function = f.name AND p.qualifier = %s
WHERE f.name = %s FOR UPDATE OF f

-- name: delete_policy
DELETE FROM function_policies WHERE function = %s AND qualifier = %s

-- name: upsert_policy
INSERT INTO function_policies (function, qualifier, revision_id, statements) VALUES (%s, %s, %s, %s)
ON CONFLICT (function, qualifier) DO UPDATE SET revision_id = excluded.revision_id,
statements = excluded.statements

-- name: upsert_event_invoke_config
INSERT INTO event_invoke_configs (function, qualifier, config) VALUES (%s, %s, %s)
ON CONFLICT (function, qualifier) DO UPDATE SET config = excluded.config

-- name: delete_event_invoke_config
DELETE FROM event_invoke_configs WHERE function = %s AND qualifier = %s

-- name: all_event_invoke_configs
SELECT function, qualifier, config FROM event_invoke_configs ORDER BY function, qualifier

-- name: event_invoke_configs
SELECT function, qualifier, config FROM event_invoke_configs WHERE function = %s ORDER BY qualifier

-- name: delete_reserved_concurrency
DELETE FROM function_concurrency WHERE function = %s

-- name: upsert_reserved_concurrency
INSERT INTO function_concurrency (function, reserved) VALUES (%s, %s)
ON CONFLICT (function) DO UPDATE SET reserved = excluded.reserved

-- name: list_reserved_concurrency
SELECT function, reserved FROM function_concurrency ORDER BY function

-- name: upsert_provisioned_concurrency
INSERT INTO provisioned_concurrency_configs (function, qualifier, requested, last_modified)
VALUES (%s, %s, %s, %s) ON CONFLICT (function, qualifier) DO UPDATE SET
requested = excluded.requested, last_modified = excluded.last_modified

-- name: delete_provisioned_concurrency
DELETE FROM provisioned_concurrency_configs WHERE function = %s AND qualifier = %s

-- name: list_provisioned_concurrency
SELECT function, qualifier, requested, last_modified FROM provisioned_concurrency_configs
ORDER BY function, qualifier

-- name: notify_change
-- Other servers on the database read the function's configurations again (store/postgresql/changes.py).
SELECT pg_notify('lamina_changes', %s)

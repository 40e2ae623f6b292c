-- The usage ledger (migrations/0001_initial.sql): invocation records, provisioned-concurrency
-- allocations and the writer's running mark; and the metric counts.

-- name: insert_invocation
INSERT INTO invocations (request_id, function, version, started_ms, duration_ms, billed_ms, memory_mb,
max_memory_used_mb, init_ms, outcome, qualifier, architecture, ephemeral_mb, provisioned)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)

-- name: raise_last_write
UPDATE meter_runs SET last_write_ms = GREATEST(last_write_ms, %s) WHERE claimer = %s

-- name: invocations_of_function
SELECT request_id, function, version, started_ms, duration_ms, billed_ms, memory_mb, max_memory_used_mb,
init_ms, outcome, qualifier, architecture, ephemeral_mb, provisioned
FROM invocations WHERE function = %s AND started_ms >= %s ORDER BY started_ms

-- name: ledger
SELECT request_id, function, version, started_ms, duration_ms, billed_ms, memory_mb, max_memory_used_mb,
init_ms, outcome, qualifier, architecture, ephemeral_mb, provisioned
FROM invocations WHERE started_ms >= %s AND started_ms < %s ORDER BY started_ms, id

-- name: insert_allocation
INSERT INTO provisioned_allocations (function, qualifier, version, memory_mb, architecture, environments, at_ms)
VALUES (%s, %s, %s, %s, %s, %s, %s)

-- name: allocations_before
SELECT function, qualifier, version, memory_mb, architecture, environments, at_ms
FROM provisioned_allocations WHERE at_ms < %s ORDER BY at_ms, id

-- name: lock_meter_runs
-- One server starting or stopping at a time decides what the runs that ended leave open.
SELECT pg_advisory_xact_lock(hashtextextended('lamina meter_runs ' || current_schema(), 0))

-- name: meter_runs
-- The runs marked running, and whether each still has a connection (else it was killed).
SELECT claimer, last_write_ms,
       app IS NOT NULL AND EXISTS (SELECT 1 FROM pg_stat_activity AS a WHERE a.application_name = meter_runs.app)
FROM meter_runs WHERE running

-- name: forget_meter_runs
DELETE FROM meter_runs WHERE NOT running OR claimer = ANY(%s)

-- name: start_meter_run
INSERT INTO meter_runs (claimer, app, running, started_ms, last_write_ms) VALUES (%s, %s, true, %s, %s)
ON CONFLICT (claimer) DO UPDATE SET running = true, started_ms = excluded.started_ms,
last_write_ms = excluded.last_write_ms

-- name: end_meter_run
UPDATE meter_runs SET running = false, last_write_ms = GREATEST(last_write_ms, %s) WHERE claimer = %s

-- name: invocations_between
SELECT request_id, function, version, started_ms, duration_ms, billed_ms, memory_mb,
max_memory_used_mb, init_ms, outcome, qualifier FROM invocations
WHERE started_ms >= %s AND started_ms < %s ORDER BY started_ms

-- name: function_invocations_between
SELECT request_id, function, version, started_ms, duration_ms, billed_ms, memory_mb,
max_memory_used_mb, init_ms, outcome, qualifier FROM invocations
WHERE function = %s AND started_ms >= %s AND started_ms < %s ORDER BY started_ms

-- name: invocation_series
SELECT DISTINCT function, qualifier, version FROM invocations WHERE started_ms >= %s

-- name: add_metric_count
INSERT INTO metric_counts (function, qualifier, metric, minute_ms, count) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (function, qualifier, metric, minute_ms) DO UPDATE SET count = metric_counts.count + excluded.count

-- name: metric_counts_between
SELECT function, qualifier, metric, minute_ms, count FROM metric_counts
WHERE minute_ms >= %s AND minute_ms < %s ORDER BY minute_ms

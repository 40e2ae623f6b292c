-- The usage ledger (migrations 0001, 0017, 0018): invocation records, provisioned-concurrency
-- allocations and the writer's running mark; and the metric counts (migration 0019).

-- name: insert_invocation
INSERT INTO invocations (request_id, function, version, started_ms, duration_ms, billed_ms, memory_mb,
max_memory_used_mb, init_ms, outcome, qualifier, architecture, ephemeral_mb, provisioned)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: raise_last_write
UPDATE meter_run SET last_write_ms = max(last_write_ms, ?)

-- name: invocations_of_function
SELECT request_id, function, version, started_ms, duration_ms, billed_ms, memory_mb, max_memory_used_mb,
init_ms, outcome, qualifier, architecture, ephemeral_mb, provisioned
FROM invocations WHERE function = ? AND started_ms >= ? ORDER BY started_ms

-- name: ledger
SELECT request_id, function, version, started_ms, duration_ms, billed_ms, memory_mb, max_memory_used_mb,
init_ms, outcome, qualifier, architecture, ephemeral_mb, provisioned
FROM invocations WHERE started_ms >= ? AND started_ms < ? ORDER BY started_ms, rowid

-- name: insert_allocation
INSERT INTO provisioned_allocations (function, qualifier, version, memory_mb, architecture, environments, at_ms)
VALUES (?, ?, ?, ?, ?, ?, ?)

-- name: allocations_before
SELECT function, qualifier, version, memory_mb, architecture, environments, at_ms
FROM provisioned_allocations WHERE at_ms < ? ORDER BY at_ms, rowid

-- name: meter_run
SELECT running, last_write_ms FROM meter_run WHERE id = 1

-- name: start_meter_run
INSERT INTO meter_run (id, running, started_ms, last_write_ms) VALUES (1, 1, ?, ?)
ON CONFLICT (id) DO UPDATE SET running = 1, started_ms = excluded.started_ms,
last_write_ms = excluded.last_write_ms

-- name: end_meter_run
UPDATE meter_run SET running = 0, last_write_ms = max(last_write_ms, ?)

-- name: invocations_between
SELECT request_id, function, version, started_ms, duration_ms, billed_ms, memory_mb,
max_memory_used_mb, init_ms, outcome, qualifier FROM invocations
WHERE started_ms >= ? AND started_ms < ? ORDER BY started_ms

-- name: function_invocations_between
SELECT request_id, function, version, started_ms, duration_ms, billed_ms, memory_mb,
max_memory_used_mb, init_ms, outcome, qualifier FROM invocations
WHERE function = ? AND started_ms >= ? AND started_ms < ? ORDER BY started_ms

-- name: invocation_series
SELECT DISTINCT function, qualifier, version FROM invocations WHERE started_ms >= ?

-- name: add_metric_count
INSERT INTO metric_counts (function, qualifier, metric, minute_ms, count) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (function, qualifier, metric, minute_ms) DO UPDATE SET count = count + excluded.count

-- name: metric_counts_between
SELECT function, qualifier, metric, minute_ms, count FROM metric_counts
WHERE minute_ms >= ? AND minute_ms < ? ORDER BY minute_ms

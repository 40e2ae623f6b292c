-- Functions' log lines (migrations/0001_initial.sql): log_chunks holds the lines, a row a chunk, each with
-- its size; log_usage each function's total, changed by every statement here that adds or removes
-- chunks.

-- name: insert_chunk
INSERT INTO log_chunks (function, stream, first_ms, last_ms, lines, size, data)
VALUES (%s, %s, %s, %s, %s, %s, %s)

-- A read of a function's chunks from one on: read_chunks, then the window's filters it has
-- (chunks that may hold lines of it), then chunks_in_order.

-- name: read_chunks
SELECT id, stream, data FROM log_chunks WHERE function = %s AND id >= %s

-- name: chunks_of_streams
AND stream = ANY(%s)

-- name: chunks_from
AND last_ms >= %s

-- name: chunks_before
AND first_ms < %s

-- name: chunks_in_order
ORDER BY id

-- name: streams
SELECT stream, MIN(first_ms), MAX(last_ms), SUM(size) FROM log_chunks WHERE function = %s
GROUP BY stream ORDER BY stream

-- name: functions
SELECT function, bytes FROM log_usage ORDER BY function

-- name: function_names
SELECT function FROM log_usage ORDER BY function

-- name: stored
SELECT bytes FROM log_usage WHERE function = %s

-- name: oldest_chunks
SELECT id, lines, size FROM log_chunks WHERE function = %s ORDER BY id

-- name: delete_chunks_through
DELETE FROM log_chunks WHERE function = %s AND id <= %s RETURNING lines, size

-- name: functions_over
SELECT function FROM log_usage WHERE bytes > %s

-- name: chunks_ended_before
SELECT id, lines, size FROM log_chunks WHERE function = %s AND last_ms < %s ORDER BY last_ms

-- name: delete_chunk
DELETE FROM log_chunks WHERE id = ANY(%s) RETURNING lines, size

-- name: add_usage
INSERT INTO log_usage (function, bytes) VALUES (%s, %s)
ON CONFLICT (function) DO UPDATE SET bytes = log_usage.bytes + excluded.bytes

-- name: drop_empty_usage
DELETE FROM log_usage WHERE function = %s AND bytes <= 0

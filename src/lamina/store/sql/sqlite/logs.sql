-- Functions' log lines (migrations 0009, 0016): log_chunks holds the lines, a row a chunk, each with
-- its size; log_usage each function's total, changed by every statement here that adds or removes
-- chunks.

-- name: insert_chunk
INSERT INTO log_chunks (function, stream, first_ms, last_ms, lines, size, data)
VALUES (?, ?, ?, ?, ?, ?, ?)

-- A read of a function's chunks from one on: read_chunks, then the window's filters it has
-- (chunks that may hold lines of it), then chunks_in_order.

-- name: read_chunks
SELECT id, stream, data FROM log_chunks WHERE function = ? AND id >= ?

-- name: chunks_of_streams
AND stream IN (SELECT value FROM json_each(?))

-- name: chunks_from
AND last_ms >= ?

-- name: chunks_before
AND first_ms < ?

-- name: chunks_in_order
ORDER BY id

-- name: streams
SELECT stream, MIN(first_ms), MAX(last_ms), SUM(size) FROM log_chunks WHERE function = ?
GROUP BY stream ORDER BY stream

-- name: functions
SELECT function, bytes FROM log_usage ORDER BY function

-- name: function_names
SELECT function FROM log_usage ORDER BY function

-- name: stored
SELECT bytes FROM log_usage WHERE function = ?

-- name: oldest_chunks
SELECT id, lines, size FROM log_chunks WHERE function = ? ORDER BY id

-- name: delete_chunks_through
DELETE FROM log_chunks WHERE function = ? AND id <= ?

-- name: functions_over
SELECT function FROM log_usage WHERE bytes > ?

-- name: chunks_ended_before
SELECT id, lines, size FROM log_chunks WHERE function = ? AND last_ms < ? ORDER BY last_ms

-- name: delete_chunk
DELETE FROM log_chunks WHERE id = ?

-- name: add_usage
INSERT INTO log_usage (function, bytes) VALUES (?, ?)
ON CONFLICT (function) DO UPDATE SET bytes = bytes + excluded.bytes

-- name: drop_empty_usage
DELETE FROM log_usage WHERE function = ? AND bytes <= 0

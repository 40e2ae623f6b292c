-- The embedded SQS queues' messages (migration 0014).

-- name: delete_message
DELETE FROM queue_messages WHERE seq = ?

-- name: receive_message
UPDATE queue_messages SET visible_ms = ?, receive_count = ?, first_receive_ms = ? WHERE seq = ?

-- name: insert_message
INSERT INTO queue_messages (queue, message_id, body, attributes, sent_ms, visible_ms, receive_count,
first_receive_ms, group_id, dedup_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: list_messages
SELECT queue, message_id, body, attributes, sent_ms, visible_ms, receive_count, first_receive_ms,
group_id, dedup_id, seq FROM queue_messages ORDER BY seq

-- name: purge_queue
DELETE FROM queue_messages WHERE queue = ?

-- name: purge_queue_through
DELETE FROM queue_messages WHERE queue = ? AND seq <= ?

-- The embedded SQS queues' messages (migrations/0001_initial.sql).

-- name: delete_message
DELETE FROM queue_messages WHERE seq = ANY(%s)

-- name: receive_message
UPDATE queue_messages SET visible_ms = %s, receive_count = %s, first_receive_ms = %s WHERE seq = %s

-- name: insert_message
INSERT INTO queue_messages (queue, message_id, body, attributes, sent_ms, visible_ms, receive_count,
first_receive_ms, group_id, dedup_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING seq

-- name: list_messages
SELECT queue, message_id, body, attributes, sent_ms, visible_ms, receive_count, first_receive_ms,
group_id, dedup_id, seq FROM queue_messages ORDER BY seq

-- name: purge_queue
DELETE FROM queue_messages WHERE queue = %s

-- name: purge_queue_through
DELETE FROM queue_messages WHERE queue = %s AND seq <= %s

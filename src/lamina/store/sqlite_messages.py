"""The embedded SQS queues' messages for ``SqliteStore`` (migration 0014): functions of a
connection, run on its thread."""

from __future__ import annotations

import sqlite3
from typing import Sequence

from lamina.store.base import MessageState, QueueMessage

_COLUMNS = ("queue, message_id, body, attributes, sent_ms, visible_ms, receive_count, first_receive_ms, "
            "group_id, dedup_id")  # fmt: skip


def change(
    conn: sqlite3.Connection, adds: Sequence[QueueMessage], updates: Sequence[MessageState], deletes: Sequence[int],
    consumed_outbox: Sequence[int],
) -> list[int]:  # fmt: skip
    conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in consumed_outbox])
    conn.executemany("DELETE FROM queue_messages WHERE seq = ?", [(i,) for i in deletes])
    conn.executemany(
        "UPDATE queue_messages SET visible_ms = ?, receive_count = ?, first_receive_ms = ? WHERE seq = ?",
        [(u.visible_ms, u.receive_count, u.first_receive_ms, u.seq) for u in updates],
    )
    seqs = []
    for m in adds:
        cur = conn.execute(
            f"INSERT INTO queue_messages ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (m.queue, m.message_id, m.body, m.attributes, m.sent_ms, m.visible_ms, m.receive_count,
             m.first_receive_ms, m.group_id, m.dedup_id),
        )  # fmt: skip
        assert cur.lastrowid is not None
        seqs.append(cur.lastrowid)
    return seqs


def listed(conn: sqlite3.Connection) -> list[QueueMessage]:
    rows = conn.execute(f"SELECT {_COLUMNS}, seq FROM queue_messages ORDER BY seq").fetchall()
    return [QueueMessage(*row) for row in rows]


def purge(conn: sqlite3.Connection, queue: str, through_seq: int | None) -> int:
    if through_seq is None:
        return conn.execute("DELETE FROM queue_messages WHERE queue = ?", (queue,)).rowcount
    return conn.execute("DELETE FROM queue_messages WHERE queue = ? AND seq <= ?", (queue, through_seq)).rowcount

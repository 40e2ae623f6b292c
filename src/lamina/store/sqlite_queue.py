"""The asynchronous queue's SQL for ``SqliteStore``: functions of a connection, run on its thread.

An event is two rows: ``async_events`` holds what scheduling needs (small, listed whole at start),
``async_payloads`` its content, read one event at a time when its attempt starts (migration 0010).
Both are written and deleted in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Sequence

from lamina.store.base import EventContent, NewEvent, OutboxMessage, QueuedEvent


def insert_event(conn: sqlite3.Connection, event: QueuedEvent, content: EventContent) -> int:
    cur = conn.execute(
        "INSERT INTO async_events (request_id, function, qualifier, size, attempts, enqueued_ms, next_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (event.request_id, event.function, event.qualifier, content.size, event.attempts, event.enqueued_ms,
         event.next_ms),
    )  # fmt: skip
    seq = cur.lastrowid
    assert seq is not None
    conn.execute(
        "INSERT INTO async_payloads (seq, payload, client_context) VALUES (?, ?, ?)",
        (seq, content.payload, content.client_context),
    )
    return seq


def queued_events(conn: sqlite3.Connection) -> list[QueuedEvent]:
    rows = conn.execute(
        "SELECT request_id, function, qualifier, enqueued_ms, next_ms, attempts, seq, size "
        "FROM async_events ORDER BY seq"
    ).fetchall()
    return [QueuedEvent(*row) for row in rows]


def event_content(conn: sqlite3.Connection, seq: int) -> EventContent | None:
    row = conn.execute("SELECT payload, client_context FROM async_payloads WHERE seq = ?", (seq,)).fetchone()
    return EventContent(bytes(row[0]), row[1]) if row else None


def reschedule_event(conn: sqlite3.Connection, seq: int, attempts: int, next_ms: int) -> None:
    conn.execute("UPDATE async_events SET attempts = ?, next_ms = ? WHERE seq = ?", (attempts, next_ms, seq))


def finish_event(
    conn: sqlite3.Connection, seq: int, follow_ups: Sequence[NewEvent], messages: Sequence[OutboxMessage]
) -> list[int]:
    if not conn.execute("DELETE FROM async_events WHERE seq = ?", (seq,)).rowcount:
        return []  # finished before: what it leaves behind is stored already
    conn.execute("DELETE FROM async_payloads WHERE seq = ?", (seq,))
    add_outbox(conn, messages)
    return [insert_event(conn, event, content) for event, content in follow_ups]


def add_outbox(conn: sqlite3.Connection, messages: Sequence[OutboxMessage]) -> None:
    conn.executemany(
        "INSERT INTO outbox (target, kind, function, request_id, body, attributes, created_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(m.target, m.kind, m.function, m.request_id, m.body, json.dumps(m.attributes), m.created_ms)
         for m in messages],
    )  # fmt: skip

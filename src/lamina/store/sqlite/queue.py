"""The asynchronous queue and the outbox in SQLite (``EventQueueStore``, ``OutboxStore``):
functions of a connection, run on the engine's thread, and the methods that run them.

An event is two rows: ``async_events`` holds what scheduling needs (small, listed whole at start),
``async_payloads`` its content, read one event at a time when its attempt starts (migration 0010).
Both are written and deleted in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Sequence

from lamina.store import queries
from lamina.store.base import EventContent, NewEvent, OutboxMessage, QueuedEvent
from lamina.store.sqlite.engine import SqliteEngine
from lamina.store.statements import QueueStatements


@dataclass(frozen=True)
class _Sql(QueueStatements):
    insert_payload: str


SQL = queries.load(_Sql, "sqlite", "queue")


class SqliteEventQueue(SqliteEngine):
    async def enqueue_event(self, event: QueuedEvent, content: EventContent) -> int:
        return await self._write(lambda conn: _insert_event(conn, event, content))

    async def list_queued_events(self) -> list[QueuedEvent]:
        return await self._run(lambda conn: [QueuedEvent(*row) for row in conn.execute(SQL.queued_events).fetchall()])

    async def read_event_content(self, seq: int) -> EventContent | None:
        def select(conn: sqlite3.Connection) -> EventContent | None:
            row = conn.execute(SQL.event_content, (seq,)).fetchone()
            return EventContent(bytes(row[0]), row[1]) if row else None

        return await self._read_together(select)

    async def reschedule_event(self, seq: int, attempts: int, next_ms: int) -> None:
        def update(conn: sqlite3.Connection) -> None:
            conn.execute(SQL.reschedule_event, (attempts, next_ms, seq))

        await self._write(update)

    async def finish_event(
        self, seq: int, follow_ups: Sequence[NewEvent] = (), messages: Sequence[OutboxMessage] = ()
    ) -> list[int]:
        def finish(conn: sqlite3.Connection) -> list[int]:
            if not conn.execute(SQL.delete_event, (seq,)).rowcount:
                return []  # finished before: what it leaves behind is stored already
            conn.execute(SQL.delete_payload, (seq,))
            add_outbox(conn, messages)
            return [_insert_event(conn, event, content) for event, content in follow_ups]

        return await self._write(finish)


class SqliteOutbox(SqliteEngine):
    async def add_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        await self._write(lambda conn: add_outbox(conn, messages))

    async def list_outbox(self, target: str | None, after: int, limit: int) -> list[OutboxMessage]:
        def select(conn: sqlite3.Connection) -> list[OutboxMessage]:
            if target is None:
                rows = conn.execute(SQL.outbox_after, (after, limit)).fetchall()
            else:
                rows = conn.execute(SQL.target_outbox_after, (after, target, limit)).fetchall()
            return [OutboxMessage(r[0], r[1], r[2], r[3], bytes(r[4]), json.loads(r[5]), r[6], r[7]) for r in rows]

        return await self._run(select)

    async def delete_outbox(self, ids: Sequence[int]) -> int:
        def delete(conn: sqlite3.Connection) -> int:
            return sum(conn.execute(SQL.delete_outbox, (i,)).rowcount for i in ids)

        return await self._write(delete)


def add_outbox(conn: sqlite3.Connection, messages: Sequence[OutboxMessage]) -> None:
    """Put ``messages`` in the outbox, in the transaction of whatever leaves them behind."""
    conn.executemany(
        SQL.insert_outbox,
        [(m.target, m.kind, m.function, m.request_id, m.body, json.dumps(m.attributes), m.created_ms)
         for m in messages],
    )  # fmt: skip


def consume_outbox(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Remove the outbox messages ``ids``, in the transaction of what they were made into."""
    conn.executemany(SQL.delete_outbox, [(i,) for i in ids])


def _insert_event(conn: sqlite3.Connection, event: QueuedEvent, content: EventContent) -> int:
    cur = conn.execute(
        SQL.insert_event,
        (event.request_id, event.function, event.qualifier, content.size, event.attempts, event.enqueued_ms,
         event.next_ms),
    )  # fmt: skip
    seq = cur.lastrowid
    assert seq is not None
    conn.execute(SQL.insert_payload, (seq, content.payload, content.client_context))
    return seq

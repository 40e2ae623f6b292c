"""The asynchronous queue and the outbox in PostgreSQL (``EventQueueStore``, ``EventClaims``,
``OutboxStore``).

An event is two rows, as in SQLite: ``async_events`` what scheduling needs, ``async_payloads`` its
content, written and deleted in one transaction. Replicas sharing the database hold events
(``EventClaims``): an event is held by the replica that accepted it, and one whose claim ended is
claimed with ``FOR UPDATE SKIP LOCKED``, so that no two claimers take it at once and none waits on
another; ``claim_outbox`` does the same for outbox messages.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Sequence

from psycopg import AsyncConnection

from lamina.store import queries
from lamina.store.base import EventContent, NewEvent, OutboxMessage, QueuedEvent
from lamina.store.postgresql.engine import PostgresEngine
from lamina.store.statements import QueueStatements


@dataclass(frozen=True)
class _Sql(QueueStatements):
    claim_events: str
    renew_claims: str
    release_claims: str
    claim_outbox: str


SQL = queries.load(_Sql, "postgresql", "queue")


class PostgresEventQueue(PostgresEngine):
    async def enqueue_event(self, event: QueuedEvent, content: EventContent) -> int:
        async with self._connection() as conn:  # one statement: atomic as it is
            return await insert_event(conn, event, content, self.claimer, self.claim_ms)

    async def list_queued_events(self) -> list[QueuedEvent]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.queued_events)).fetchall()
        return [QueuedEvent(*row) for row in rows]

    async def read_event_content(self, seq: int) -> EventContent | None:
        async with self._connection() as conn:
            row = await (await conn.execute(SQL.event_content, (seq,))).fetchone()
        return EventContent(bytes(row[0]), row[1]) if row else None

    async def reschedule_event(self, seq: int, attempts: int, next_ms: int) -> None:
        async with self._transaction() as conn:
            await conn.execute(SQL.reschedule_event, (attempts, next_ms, seq))

    async def finish_event(
        self, seq: int, follow_ups: Sequence[NewEvent] = (), messages: Sequence[OutboxMessage] = ()
    ) -> list[int]:
        async with self._transaction() as conn:
            if not (await conn.execute(SQL.delete_event, (seq,))).rowcount:
                return []  # finished before: what it leaves behind is stored already
            await conn.execute(SQL.delete_payload, (seq,))
            await add_outbox(conn, messages)
            return [await insert_event(conn, event, content, self.claimer, self.claim_ms) for event, content in follow_ups]

    async def claim_events(self, claimer: str, now_ms: int, until_ms: int, limit: int) -> list[QueuedEvent]:
        async with self._transaction() as conn:
            cur = await conn.execute(SQL.claim_events, (claimer, until_ms, now_ms, claimer, limit))
            rows = await cur.fetchall()
        return sorted((QueuedEvent(*row) for row in rows), key=lambda event: event.seq)

    async def renew_claims(self, claimer: str, until_ms: int) -> int:
        async with self._transaction() as conn:
            return (await conn.execute(SQL.renew_claims, (until_ms, claimer))).rowcount

    async def release_claims(self, claimer: str) -> int:
        async with self._transaction() as conn:
            return (await conn.execute(SQL.release_claims, (claimer,))).rowcount


class PostgresOutbox(PostgresEngine):
    async def add_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        async with self._transaction() as conn:
            await add_outbox(conn, messages)

    async def list_outbox(self, target: str | None, after: int, limit: int) -> list[OutboxMessage]:
        async with self._connection() as conn:
            if target is None:
                cur = await conn.execute(SQL.outbox_after, (after, limit))
            else:
                cur = await conn.execute(SQL.target_outbox_after, (after, target, limit))
            return [_outbox_message(row) for row in await cur.fetchall()]

    async def delete_outbox(self, ids: Sequence[int]) -> int:
        async with self._transaction() as conn:
            return (await conn.execute(SQL.delete_outbox, (list(ids),))).rowcount

    async def claim_outbox(self, claimer: str, now_ms: int, until_ms: int, limit: int,
                           after: int = 0) -> list[OutboxMessage]:  # fmt: skip
        async with self._transaction() as conn:
            values = {"claimer": claimer, "until": until_ms, "after": after, "now": now_ms, "limit": limit}
            rows = await (await conn.execute(SQL.claim_outbox, values)).fetchall()
        return sorted((_outbox_message(row) for row in rows), key=lambda message: message.id)


def _outbox_message(r: Any) -> OutboxMessage:
    return OutboxMessage(r[0], r[1], r[2], r[3], bytes(r[4]), json.loads(r[5]), r[6], r[7])


async def add_outbox(conn: AsyncConnection, messages: Sequence[OutboxMessage]) -> None:
    """Put ``messages`` in the outbox, in the transaction of whatever leaves them behind."""
    if not messages:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            SQL.insert_outbox,
            [(m.target, m.kind, m.function, m.request_id, m.body, json.dumps(m.attributes), m.created_ms)
             for m in messages],
        )  # fmt: skip


async def consume_outbox(conn: AsyncConnection, ids: Sequence[int]) -> None:
    """Remove the outbox messages ``ids``, in the transaction of what they were made into."""
    if ids:
        await conn.execute(SQL.delete_outbox, (list(ids),))


async def insert_event(conn: AsyncConnection, event: QueuedEvent, content: EventContent, claimer: str,
                       claim_ms: int) -> int:  # fmt: skip
    """Store ``event`` and its content, held by ``claimer`` for ``claim_ms`` from now."""
    row = await (await conn.execute(
        SQL.insert_event,
        (event.request_id, event.function, event.qualifier, content.size, event.attempts, event.enqueued_ms,
         event.next_ms, claimer, int(time.time() * 1000) + claim_ms, content.payload, content.client_context),
    )).fetchone()  # fmt: skip
    assert row is not None
    return int(row[0])

"""The event bus's queue in PostgreSQL (``BusStore``)."""

from __future__ import annotations

from typing import Sequence

from psycopg import AsyncConnection

from lamina.store import queries
from lamina.store.base import BusEvent, Delivery, OutboxMessage
from lamina.store.codec import decode_deliveries, encode_deliveries
from lamina.store.postgresql.engine import PostgresEngine
from lamina.store.postgresql.queue import add_outbox, consume_outbox
from lamina.store.statements import BusStatements


SQL = queries.load(BusStatements, "postgresql", "bus")


class PostgresBus(PostgresEngine):
    async def add_bus_events(self, events: Sequence[BusEvent], consumed_outbox: Sequence[int] = ()) -> list[int]:
        async with self._transaction() as conn:
            await consume_outbox(conn, consumed_outbox)
            return await _insert(conn, events)

    async def list_bus_events(self) -> list[BusEvent]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.list_bus_events)).fetchall()
        return [BusEvent(r[0], b"", decode_deliveries(r[1]), r[2], r[3], r[4]) for r in rows]

    async def read_bus_envelope(self, seq: int) -> bytes | None:
        async with self._connection() as conn:
            row = await (await conn.execute(SQL.bus_envelope, (seq,))).fetchone()
        return bytes(row[0]) if row else None

    async def settle_bus_event(
        self, seq: int, owed: Sequence[Delivery], forwards: Sequence[BusEvent] = (),
        messages: Sequence[OutboxMessage] = (),
    ) -> list[int]:  # fmt: skip
        async with self._transaction() as conn:
            if owed:
                changed = (await conn.execute(SQL.set_deliveries, (encode_deliveries(owed), seq))).rowcount
            else:
                changed = (await conn.execute(SQL.delete_bus_event, (seq,))).rowcount
            if not changed:
                return []  # settled before: what it left behind is stored already
            await add_outbox(conn, messages)
            return await _insert(conn, forwards)


async def _insert(conn: AsyncConnection, events: Sequence[BusEvent]) -> list[int]:
    seqs = []
    for e in events:
        cur = await conn.execute(SQL.insert_bus_event, (e.bus, e.envelope, encode_deliveries(e.deliveries), e.created_ms, e.hops))
        row = await cur.fetchone()
        assert row is not None
        seqs.append(int(row[0]))
    return seqs

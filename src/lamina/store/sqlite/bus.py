"""The event bus's queue in SQLite (``BusStore``)."""

from __future__ import annotations

import sqlite3
from typing import Sequence

from lamina.store import queries
from lamina.store.base import BusEvent, Delivery, OutboxMessage
from lamina.store.codec import decode_deliveries, encode_deliveries
from lamina.store.sqlite.engine import SqliteEngine
from lamina.store.sqlite.queue import add_outbox, consume_outbox
from lamina.store.statements import BusStatements


SQL = queries.load(BusStatements, "sqlite", "bus")


class SqliteBus(SqliteEngine):
    async def add_bus_events(self, events: Sequence[BusEvent], consumed_outbox: Sequence[int] = ()) -> list[int]:
        def add(conn: sqlite3.Connection) -> list[int]:
            consume_outbox(conn, consumed_outbox)
            return _insert(conn, events)

        return await self._write(add)

    async def list_bus_events(self) -> list[BusEvent]:
        def select(conn: sqlite3.Connection) -> list[BusEvent]:
            rows = conn.execute(SQL.list_bus_events).fetchall()
            return [BusEvent(r[0], b"", decode_deliveries(r[1]), r[2], r[3], r[4]) for r in rows]

        return await self._run(select)

    async def read_bus_envelope(self, seq: int) -> bytes | None:
        def select(conn: sqlite3.Connection) -> bytes | None:
            row = conn.execute(SQL.bus_envelope, (seq,)).fetchone()
            return bytes(row[0]) if row else None

        return await self._read_together(select)

    async def settle_bus_event(
        self, seq: int, owed: Sequence[Delivery], forwards: Sequence[BusEvent] = (),
        messages: Sequence[OutboxMessage] = (),
    ) -> list[int]:  # fmt: skip
        def settle(conn: sqlite3.Connection) -> list[int]:
            if owed:
                changed = conn.execute(SQL.set_deliveries, (encode_deliveries(owed), seq)).rowcount
            else:
                changed = conn.execute(SQL.delete_bus_event, (seq,)).rowcount
            if not changed:
                return []  # settled before: what it left behind is stored already
            add_outbox(conn, messages)
            return _insert(conn, forwards)

        return await self._write(settle)


def _insert(conn: sqlite3.Connection, events: Sequence[BusEvent]) -> list[int]:
    seqs = []
    for e in events:
        cur = conn.execute(SQL.insert_bus_event, (e.bus, e.envelope, encode_deliveries(e.deliveries), e.created_ms, e.hops))
        assert cur.lastrowid is not None
        seqs.append(cur.lastrowid)
    return seqs

"""The event bus's queue for ``SqliteStore`` (migration 0013): functions of a connection, run on its thread."""

from __future__ import annotations

import json
import sqlite3
from typing import Sequence

from lamina.store.base import BusEvent, Delivery, OutboxMessage
from lamina.store.sqlite_queue import add_outbox


def _encode(owed: Sequence[Delivery]) -> str:
    return json.dumps([{"rule": d.rule, "target": d.target, "attempts": d.attempts, "nextMs": d.next_ms}
                       for d in owed])  # fmt: skip


def _decode(text: str) -> tuple[Delivery, ...]:
    return tuple(Delivery(d["rule"], d["target"], d["attempts"], d["nextMs"]) for d in json.loads(text))


def insert(conn: sqlite3.Connection, events: Sequence[BusEvent]) -> list[int]:
    seqs = []
    for e in events:
        cur = conn.execute(
            "INSERT INTO bus_events (bus, envelope, deliveries, created_ms, hops) VALUES (?, ?, ?, ?, ?)",
            (e.bus, e.envelope, _encode(e.deliveries), e.created_ms, e.hops),
        )
        assert cur.lastrowid is not None
        seqs.append(cur.lastrowid)
    return seqs


def add(conn: sqlite3.Connection, events: Sequence[BusEvent], consumed_outbox: Sequence[int]) -> list[int]:
    conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in consumed_outbox])
    return insert(conn, events)


def listed(conn: sqlite3.Connection) -> list[BusEvent]:
    rows = conn.execute("SELECT bus, deliveries, created_ms, hops, seq FROM bus_events ORDER BY seq").fetchall()
    return [BusEvent(r[0], b"", _decode(r[1]), r[2], r[3], r[4]) for r in rows]


def envelope(conn: sqlite3.Connection, seq: int) -> bytes | None:
    row = conn.execute("SELECT envelope FROM bus_events WHERE seq = ?", (seq,)).fetchone()
    return bytes(row[0]) if row else None


def settle(
    conn: sqlite3.Connection, seq: int, owed: Sequence[Delivery], forwards: Sequence[BusEvent],
    messages: Sequence[OutboxMessage],
) -> list[int]:  # fmt: skip
    if owed:
        changed = conn.execute("UPDATE bus_events SET deliveries = ? WHERE seq = ?", (_encode(owed), seq)).rowcount
    else:
        changed = conn.execute("DELETE FROM bus_events WHERE seq = ?", (seq,)).rowcount
    if not changed:
        return []  # settled before: what it left behind is stored already
    add_outbox(conn, messages)
    return insert(conn, forwards)

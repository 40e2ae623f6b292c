"""The usage ledger for ``SqliteStore`` (migrations 0001, 0017, 0018): invocation records,
provisioned-concurrency allocations and the writer's running mark; functions of a connection, run
on its thread."""

from __future__ import annotations

import math
import sqlite3
from typing import Sequence

from lamina.store.base import InvocationRecord, MeterRun, ProvisionedAllocation, open_allocations

_INVOCATION = ("request_id, function, version, started_ms, duration_ms, billed_ms, memory_mb, max_memory_used_mb, "
               "init_ms, outcome, qualifier, architecture, ephemeral_mb, provisioned")  # fmt: skip
_ALLOCATION = "function, qualifier, version, memory_mb, architecture, environments, at_ms"


def record(conn: sqlite3.Connection, records: Sequence[InvocationRecord]) -> None:
    """Append a batch and move the running mark to its latest end, in one transaction: what a kill
    leaves behind says how far the ledger got."""
    conn.executemany(f"INSERT INTO invocations ({_INVOCATION}) VALUES ({', '.join('?' * 14)})", records)
    last = max(r.started_ms + math.ceil(r.duration_ms) for r in records)
    conn.execute("UPDATE meter_run SET last_write_ms = max(last_write_ms, ?)", (last,))


def _invocation(row: tuple[object, ...]) -> InvocationRecord:
    return InvocationRecord._make((*row[:13], bool(row[13])))


def by_function(conn: sqlite3.Connection, function: str, since_ms: int = 0) -> list[InvocationRecord]:
    rows = conn.execute(f"SELECT {_INVOCATION} FROM invocations WHERE function = ? AND started_ms >= ? "
                        "ORDER BY started_ms", (function, since_ms))  # fmt: skip
    return [_invocation(row) for row in rows]


def ledger(conn: sqlite3.Connection, from_ms: int, to_ms: int) -> list[InvocationRecord]:
    rows = conn.execute(
        f"SELECT {_INVOCATION} FROM invocations WHERE started_ms >= ? AND started_ms < ? ORDER BY started_ms, rowid",
        (from_ms, to_ms),
    )
    return [_invocation(row) for row in rows]


def allocate(conn: sqlite3.Connection, allocations: Sequence[ProvisionedAllocation]) -> None:
    conn.executemany(
        f"INSERT INTO provisioned_allocations ({_ALLOCATION}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(a.function, a.qualifier, a.version, a.memory_mb, a.architecture, a.environments, a.at_ms)
         for a in allocations],
    )  # fmt: skip


def allocations(conn: sqlite3.Connection, before_ms: int) -> list[ProvisionedAllocation]:
    rows = conn.execute(
        f"SELECT {_ALLOCATION} FROM provisioned_allocations WHERE at_ms < ? ORDER BY at_ms, rowid", (before_ms,)
    )
    return [ProvisionedAllocation(*row) for row in rows]


def begin(conn: sqlite3.Connection, now_ms: int) -> MeterRun | None:
    row = conn.execute("SELECT running, last_write_ms FROM meter_run WHERE id = 1").fetchone()
    previous = None
    if row is not None:
        running, last_write_ms = int(row[0]), int(row[1])
        closed = 0
        if running:
            # Killed: its environments went with it. Their time is billed up to the last write
            # the ledger has (or the allocation itself, if later): no later moment is known.
            left = open_allocations(allocations(conn, now_ms + 1))
            allocate(conn, [_closed(a, max(a.at_ms, last_write_ms)) for a in left])
            closed = len(left)
        previous = MeterRun(bool(running), last_write_ms, closed)
    conn.execute(
        "INSERT INTO meter_run (id, running, started_ms, last_write_ms) VALUES (1, 1, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET running = 1, started_ms = excluded.started_ms, "
        "last_write_ms = excluded.last_write_ms",
        (now_ms, now_ms),
    )
    return previous


def end(conn: sqlite3.Connection, now_ms: int) -> None:
    left = open_allocations(allocations(conn, now_ms + 1))
    allocate(conn, [_closed(a, max(a.at_ms, now_ms)) for a in left])
    conn.execute("UPDATE meter_run SET running = 0, last_write_ms = max(last_write_ms, ?)", (now_ms,))


def _closed(a: ProvisionedAllocation, at_ms: int) -> ProvisionedAllocation:
    return ProvisionedAllocation(a.function, a.qualifier, a.version, a.memory_mb, a.architecture, 0, at_ms)

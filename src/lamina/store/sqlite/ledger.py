"""The usage ledger and the metric counts in SQLite (``LedgerStore``): functions of a connection,
run on the engine's thread, and the methods that run them."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from typing import Sequence

from lamina.store import queries
from lamina.store.base import InvocationRecord, MeterRun, MetricCount, ProvisionedAllocation, open_allocations
from lamina.store.sqlite.engine import SqliteEngine
from lamina.store.statements import LedgerStatements


@dataclass(frozen=True)
class _Sql(LedgerStatements):
    meter_run: str


SQL = queries.load(_Sql, "sqlite", "ledger")


class SqliteLedger(SqliteEngine):
    async def record_invocations(self, records: Sequence[InvocationRecord]) -> None:
        if records:
            await self._write(lambda conn: _record(conn, records))

    async def list_invocations(self, function: str, since_ms: int = 0) -> list[InvocationRecord]:
        return await self._read_apart(lambda conn: _by_function(conn, function, since_ms))

    async def list_ledger(self, from_ms: int, to_ms: int) -> list[InvocationRecord]:
        return await self._read_apart(lambda conn: _ledger(conn, from_ms, to_ms))

    async def record_allocations(self, allocations: Sequence[ProvisionedAllocation]) -> None:
        if allocations:
            await self._write(lambda conn: _allocate(conn, allocations))

    async def list_allocations(self, before_ms: int) -> list[ProvisionedAllocation]:
        return await self._run(lambda conn: _allocations(conn, before_ms))

    async def begin_metering(self, now_ms: int) -> MeterRun | None:
        return await self._write(lambda conn: _begin(conn, now_ms))

    async def end_metering(self, now_ms: int) -> None:
        await self._write(lambda conn: _end(conn, now_ms))

    async def read_invocations(self, since_ms: int, until_ms: int,
                               function: str | None = None) -> list[InvocationRecord]:  # fmt: skip
        def select(conn: sqlite3.Connection) -> list[InvocationRecord]:
            if function is None:
                rows = conn.execute(SQL.invocations_between, (since_ms, until_ms)).fetchall()
            else:  # by invocations_by_function
                rows = conn.execute(SQL.function_invocations_between, (function, since_ms, until_ms)).fetchall()
            return [InvocationRecord(*row) for row in rows]

        return await self._read_apart(select)

    async def invocation_series(self, since_ms: int) -> list[tuple[str, str | None, str]]:
        def select(conn: sqlite3.Connection) -> list[tuple[str, str | None, str]]:
            rows = conn.execute(SQL.invocation_series, (since_ms,)).fetchall()
            return [(str(f), q, str(v)) for f, q, v in rows]

        return await self._read_apart(select)

    async def add_metric_counts(self, counts: Sequence[MetricCount]) -> None:
        def upsert(conn: sqlite3.Connection) -> None:
            conn.executemany(SQL.add_metric_count,
                             [(c.function, c.qualifier, c.metric, c.minute_ms, c.count) for c in counts])  # fmt: skip

        await self._write(upsert)

    async def read_metric_counts(self, since_ms: int, until_ms: int) -> list[MetricCount]:
        def select(conn: sqlite3.Connection) -> list[MetricCount]:
            return [MetricCount(*row) for row in conn.execute(SQL.metric_counts_between, (since_ms, until_ms))]

        return await self._read_apart(select)


def _record(conn: sqlite3.Connection, records: Sequence[InvocationRecord]) -> None:
    """Append a batch and move the running mark to its latest end, in one transaction: what a kill
    leaves behind says how far the ledger got."""
    conn.executemany(SQL.insert_invocation, records)
    last = max(r.started_ms + math.ceil(r.duration_ms) for r in records)
    conn.execute(SQL.raise_last_write, (last,))


def _invocation(row: tuple[object, ...]) -> InvocationRecord:
    return InvocationRecord._make((*row[:13], bool(row[13])))


def _by_function(conn: sqlite3.Connection, function: str, since_ms: int = 0) -> list[InvocationRecord]:
    return [_invocation(row) for row in conn.execute(SQL.invocations_of_function, (function, since_ms))]


def _ledger(conn: sqlite3.Connection, from_ms: int, to_ms: int) -> list[InvocationRecord]:
    return [_invocation(row) for row in conn.execute(SQL.ledger, (from_ms, to_ms))]


def _allocate(conn: sqlite3.Connection, allocations: Sequence[ProvisionedAllocation]) -> None:
    conn.executemany(
        SQL.insert_allocation,
        [(a.function, a.qualifier, a.version, a.memory_mb, a.architecture, a.environments, a.at_ms)
         for a in allocations],
    )  # fmt: skip


def _allocations(conn: sqlite3.Connection, before_ms: int) -> list[ProvisionedAllocation]:
    return [ProvisionedAllocation(*row) for row in conn.execute(SQL.allocations_before, (before_ms,))]


def _begin(conn: sqlite3.Connection, now_ms: int) -> MeterRun | None:
    row = conn.execute(SQL.meter_run).fetchone()
    previous = None
    if row is not None:
        running, last_write_ms = int(row[0]), int(row[1])
        closed = 0
        if running:
            # Killed: its environments went with it. Their time is billed up to the last write
            # the ledger has (or the allocation itself, if later): no later moment is known.
            left = open_allocations(_allocations(conn, now_ms + 1))
            _allocate(conn, [_closed(a, max(a.at_ms, last_write_ms)) for a in left])
            closed = len(left)
        previous = MeterRun(bool(running), last_write_ms, closed)
    conn.execute(SQL.start_meter_run, (now_ms, now_ms))
    return previous


def _end(conn: sqlite3.Connection, now_ms: int) -> None:
    left = open_allocations(_allocations(conn, now_ms + 1))
    _allocate(conn, [_closed(a, max(a.at_ms, now_ms)) for a in left])
    conn.execute(SQL.end_meter_run, (now_ms,))


def _closed(a: ProvisionedAllocation, at_ms: int) -> ProvisionedAllocation:
    return ProvisionedAllocation(a.function, a.qualifier, a.version, a.memory_mb, a.architecture, 0, at_ms)

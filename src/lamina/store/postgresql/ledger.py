"""The usage ledger and the metric counts in PostgreSQL (``LedgerStore``).

The running mark is one per server (``meter_runs``): each marks its own run at its start, moves its
last write with its batches and unmarks it when it stops. A run still marked none of whose pool's
connections is left (``pg_stat_activity``, by ``application_name``) was killed. The provisioned
concurrency's allocations are the database's, kept by every server running (billed as if one did):
they are ended when the last server running stops, or, when a server starts and finds only killed
runs, at the latest write of those.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from psycopg import AsyncConnection

from lamina.store import queries
from lamina.store.base import InvocationRecord, MeterRun, MetricCount, ProvisionedAllocation, open_allocations
from lamina.store.postgresql.engine import PostgresEngine
from lamina.store.statements import LedgerStatements


@dataclass(frozen=True)
class _Sql(LedgerStatements):
    lock_meter_runs: str
    meter_runs: str
    forget_meter_runs: str


SQL = queries.load(_Sql, "postgresql", "ledger")


class PostgresLedger(PostgresEngine):
    async def record_invocations(self, records: Sequence[InvocationRecord]) -> None:
        """Append a batch and move the running mark to its latest end, in one transaction."""
        if not records:
            return
        last = max(r.started_ms + math.ceil(r.duration_ms) for r in records)
        async with self._transaction() as conn:
            async with conn.cursor() as cur:
                await cur.executemany(SQL.insert_invocation, records)
            await conn.execute(SQL.raise_last_write, (last, self.claimer))

    async def list_invocations(self, function: str, since_ms: int = 0) -> list[InvocationRecord]:
        return await self._invocations(SQL.invocations_of_function, (function, since_ms))

    async def list_ledger(self, from_ms: int, to_ms: int) -> list[InvocationRecord]:
        return await self._invocations(SQL.ledger, (from_ms, to_ms))

    async def _invocations(self, sql: str, params: tuple[object, ...]) -> list[InvocationRecord]:
        async with self._connection() as conn:
            rows = await (await conn.execute(sql, params)).fetchall()
        return [InvocationRecord._make(row) for row in rows]

    async def record_allocations(self, allocations: Sequence[ProvisionedAllocation]) -> None:
        if allocations:
            async with self._transaction() as conn:
                await _allocate(conn, allocations)

    async def list_allocations(self, before_ms: int) -> list[ProvisionedAllocation]:
        async with self._connection() as conn:
            return await _allocations(conn, before_ms)

    async def begin_metering(self, now_ms: int) -> MeterRun | None:
        async with self._transaction() as conn:
            await conn.execute(SQL.lock_meter_runs)
            runs = await (await conn.execute(SQL.meter_runs)).fetchall()
            killed = [(str(claimer), int(last)) for claimer, last, alive in runs if not alive and claimer != self.claimer]
            others = any(alive and claimer != self.claimer for claimer, _, alive in runs)
            previous = None
            if killed:
                last_write_ms = max(last for _, last in killed)
                closed = 0
                if not others:  # nobody keeps its environments: billed up to its last write the ledger has
                    left = open_allocations(await _allocations(conn, now_ms + 1))
                    await _allocate(conn, [_closed(a, max(a.at_ms, last_write_ms)) for a in left])
                    closed = len(left)
                previous = MeterRun(True, last_write_ms, closed)
            await conn.execute(SQL.forget_meter_runs, ([claimer for claimer, _ in killed],))
            await conn.execute(SQL.start_meter_run, (self.claimer, self.application, now_ms, now_ms))
        return previous

    async def end_metering(self, now_ms: int) -> None:
        async with self._transaction() as conn:
            await conn.execute(SQL.lock_meter_runs)
            runs = await (await conn.execute(SQL.meter_runs)).fetchall()
            if not any(alive and claimer != self.claimer for claimer, _, alive in runs):  # the last one running
                left = open_allocations(await _allocations(conn, now_ms + 1))
                await _allocate(conn, [_closed(a, max(a.at_ms, now_ms)) for a in left])
            await conn.execute(SQL.end_meter_run, (now_ms, self.claimer))

    async def read_invocations(self, since_ms: int, until_ms: int,
                               function: str | None = None) -> list[InvocationRecord]:  # fmt: skip
        async with self._connection() as conn:
            if function is None:
                cur = await conn.execute(SQL.invocations_between, (since_ms, until_ms))
            else:
                cur = await conn.execute(SQL.function_invocations_between, (function, since_ms, until_ms))
            rows = await cur.fetchall()
        return [InvocationRecord(*row) for row in rows]

    async def invocation_series(self, since_ms: int) -> list[tuple[str, str | None, str]]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.invocation_series, (since_ms,))).fetchall()
        return [(str(f), q, str(v)) for f, q, v in rows]

    async def add_metric_counts(self, counts: Sequence[MetricCount]) -> None:
        async with self._transaction() as conn:
            async with conn.cursor() as cur:
                await cur.executemany(SQL.add_metric_count,
                                      [(c.function, c.qualifier, c.metric, c.minute_ms, c.count) for c in counts])  # fmt: skip

    async def read_metric_counts(self, since_ms: int, until_ms: int) -> list[MetricCount]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.metric_counts_between, (since_ms, until_ms))).fetchall()
        return [MetricCount(*row) for row in rows]


async def _allocate(conn: AsyncConnection, allocations: Sequence[ProvisionedAllocation]) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            SQL.insert_allocation,
            [(a.function, a.qualifier, a.version, a.memory_mb, a.architecture, a.environments, a.at_ms)
             for a in allocations],
        )  # fmt: skip


async def _allocations(conn: AsyncConnection, before_ms: int) -> list[ProvisionedAllocation]:
    rows = await (await conn.execute(SQL.allocations_before, (before_ms,))).fetchall()
    return [ProvisionedAllocation(*row) for row in rows]


def _closed(a: ProvisionedAllocation, at_ms: int) -> ProvisionedAllocation:
    return ProvisionedAllocation(a.function, a.qualifier, a.version, a.memory_mb, a.architecture, 0, at_ms)

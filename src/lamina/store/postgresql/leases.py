"""Units of concurrency leased by replicas sharing the database (``ConcurrencyLeases``).

A replica holds, per pool (a function with reserved concurrency, or the account's unreserved
concurrency), a number of units it may run invocations with, until its lease ends unless renewed.
``take_units`` grows what it holds in one transaction, under an advisory lock of the pool: the
units of the pool's live leases, its own included, never pass the limit it is given. What a replica
that died held comes back once its leases end.
"""

from __future__ import annotations

from dataclasses import dataclass

from lamina.store import queries
from lamina.store.postgresql.engine import PostgresEngine


@dataclass(frozen=True)
class _Sql:
    lock_pool: str
    held_by_others: str
    held_by_me: str
    put_units: str
    give_back: str
    renew: str
    drop_empty: str
    release: str


SQL = queries.load(_Sql, "postgresql", "leases")


def granted(want: int, limit: int, others: int, mine: int) -> int:
    """How many more units a replica holding ``mine`` of a pool gets when it asks for ``want`` more,
    with ``others`` held by the other replicas and ``limit`` for the pool (never below 0: a limit
    lowered under what is held gives nothing, and takes nothing back)."""
    return max(0, min(want, limit - others - mine))


class PostgresLeases(PostgresEngine):
    async def take_units(self, pool: str, want: int, limit: int, now_ms: int, until_ms: int) -> int:
        async with self._transaction() as conn:
            await conn.execute(SQL.lock_pool, (f"{self.schema}/{pool}",))
            others = await (await conn.execute(SQL.held_by_others, (pool, self.claimer, now_ms))).fetchone()
            row = await (await conn.execute(SQL.held_by_me, (pool, self.claimer))).fetchone()
            mine = int(row[0]) if row is not None and int(row[1]) > now_ms else 0  # an ended lease holds nothing
            held = mine + granted(want, limit, int(others[0]) if others else 0, mine)
            await conn.execute(SQL.put_units, (pool, self.claimer, held, until_ms))
        return held

    async def give_back_units(self, pool: str, keep: int) -> None:
        async with self._connection() as conn:
            await conn.execute(SQL.give_back, (keep, pool, self.claimer))

    async def renew_units(self, now_ms: int, until_ms: int) -> dict[str, int]:
        async with self._transaction() as conn:
            rows = await (await conn.execute(SQL.renew, (until_ms, self.claimer, now_ms))).fetchall()
            await conn.execute(SQL.drop_empty, (self.claimer, now_ms))
        return {str(pool): int(units) for pool, units in rows}

    async def release_units(self) -> None:
        async with self._connection() as conn:
            await conn.execute(SQL.release, (self.claimer,))

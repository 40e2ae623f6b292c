"""Claims on the preparation of functions' code among servers sharing the database
(``PreparationClaims``): the server preparing a function's code holds its claim and renews it; one
that dies leaves it to end, and another takes the function over (control/preparations.py)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from lamina.store import queries
from lamina.store.postgresql.engine import PostgresEngine


@dataclass(frozen=True)
class _Sql:
    claim: str
    renew: str
    finish: str
    release: str


SQL = queries.load(_Sql, "postgresql", "preparations")


class PostgresPreparations(PostgresEngine):
    async def claim_preparation(self, function: str, version: str, now_ms: int, until_ms: int) -> bool:
        values = {"function": function, "version": version, "claimer": self.claimer, "until": until_ms, "now": now_ms}
        try:
            async with self._connection() as conn:
                return await (await conn.execute(SQL.claim, values)).fetchone() is not None
        except psycopg.errors.ForeignKeyViolation:  # deleted meanwhile: nothing to prepare
            return False

    async def renew_preparations(self, until_ms: int) -> None:
        async with self._connection() as conn:
            await conn.execute(SQL.renew, (until_ms, self.claimer))

    async def finish_preparation(self, function: str, version: str) -> None:
        async with self._connection() as conn:
            await conn.execute(SQL.finish, (function, version, self.claimer))

    async def release_preparations(self) -> None:
        async with self._connection() as conn:
            await conn.execute(SQL.release, (self.claimer,))

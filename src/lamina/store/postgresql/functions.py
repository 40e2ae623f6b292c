"""Functions and their published versions in PostgreSQL (``FunctionStore``)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from lamina.model import FunctionConfig
from lamina.store import queries
from lamina.store.codec import decode, decode_layer, encode
from lamina.store.errors import FUNCTION, Conflict, NotFound, StaleRevision
from lamina.store.postgresql.engine import PostgresEngine, owned
from lamina.store.statements import FunctionsStatements


@dataclass(frozen=True)
class _Sql(FunctionsStatements):
    notify_change: str


SQL = queries.load(_Sql, "postgresql", "functions")


class PostgresFunctions(PostgresEngine):
    async def create_function(self, fn: FunctionConfig) -> None:
        try:
            async with self._transaction() as conn:
                await conn.execute(SQL.insert_function, (fn.name, fn.revision_id, encode(fn)))
                await conn.execute(SQL.notify_change, (self.notice(fn.name),))
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(FUNCTION, fn.name) from exc

    async def get_function(self, name: str) -> FunctionConfig | None:
        async with self._connection() as conn:
            row = await (await conn.execute(SQL.get_function, (name,))).fetchone()
        return decode(row[0]) if row else None

    async def list_functions(self, after: str | None, limit: int) -> list[FunctionConfig]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.list_functions, (after or "", limit))).fetchall()
        return [decode(row[0]) for row in rows]

    async def put_function(self, fn: FunctionConfig, *, expected_revision: str | None = None) -> None:
        async with self._transaction() as conn:
            row = await (await conn.execute(SQL.function_revision, (fn.name,))).fetchone()  # locked till commit
            if row is None:
                raise NotFound(FUNCTION, fn.name)
            if expected_revision is not None and row[0] != expected_revision:
                raise StaleRevision(FUNCTION, fn.name)
            await conn.execute(SQL.update_function, (fn.revision_id, encode(fn), fn.name))
            await conn.execute(SQL.notify_change, (self.notice(fn.name),))

    async def delete_function(self, name: str) -> FunctionConfig | None:
        async with self._transaction() as conn:
            row = await (await conn.execute(SQL.delete_function, (name,))).fetchone()
            await conn.execute(SQL.notify_change, (self.notice(name),))
        return decode(row[0]) if row else None

    async def code_in_use(self) -> set[str]:
        used = set()
        async with self._connection() as conn:
            for (config,) in await (await conn.execute(SQL.all_functions)).fetchall():
                fn = decode(config)
                used.add(fn.code.digest)
                used.update(layer.code.digest for layer in fn.layers)
            for (config,) in await (await conn.execute(SQL.all_layer_versions)).fetchall():
                used.add(decode_layer(config).code.digest)
            for (config,) in await (await conn.execute(SQL.all_versions)).fetchall():
                version = decode(config)
                used.add(version.code.digest)
                used.update(layer.code.digest for layer in version.layers)
        return used

    async def put_version(self, fn: FunctionConfig) -> None:
        number = int(fn.version)
        with owned(fn.name):
            async with self._transaction() as conn:
                await conn.execute(SQL.upsert_version, (fn.name, number, encode(fn)))
                await conn.execute(SQL.raise_last_version, (fn.name, number))
                await conn.execute(SQL.notify_change, (self.notice(fn.name),))

    async def list_versions(self, function: str) -> list[FunctionConfig]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.list_versions, (function,))).fetchall()
        return [decode(row[0]) for row in rows]

    async def last_version(self, function: str) -> int:
        async with self._connection() as conn:
            row = await (await conn.execute(SQL.last_version, (function,))).fetchone()
        return int(row[0]) if row else 0

    async def delete_version(self, function: str, version: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(SQL.delete_version, (function, int(version)))
            await conn.execute(SQL.notify_change, (self.notice(function),))

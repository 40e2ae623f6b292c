"""Functions and their published versions in SQLite (``FunctionStore``)."""

from __future__ import annotations

import sqlite3

from lamina.model import FunctionConfig
from lamina.store import queries
from lamina.store.codec import decode, decode_layer, encode
from lamina.store.errors import FUNCTION, Conflict, NotFound, StaleRevision
from lamina.store.sqlite.engine import SqliteEngine, owned
from lamina.store.statements import FunctionsStatements


SQL = queries.load(FunctionsStatements, "sqlite", "functions")


class SqliteFunctions(SqliteEngine):
    async def create_function(self, fn: FunctionConfig) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(SQL.insert_function, (fn.name, fn.revision_id, encode(fn)))
            except sqlite3.IntegrityError as exc:
                raise Conflict(FUNCTION, fn.name) from exc

        await self._write(insert)

    async def get_function(self, name: str) -> FunctionConfig | None:
        def select(conn: sqlite3.Connection) -> FunctionConfig | None:
            row = conn.execute(SQL.get_function, (name,)).fetchone()
            return decode(row[0]) if row else None

        return await self._run(select)

    async def list_functions(self, after: str | None, limit: int) -> list[FunctionConfig]:
        def select(conn: sqlite3.Connection) -> list[FunctionConfig]:
            return [decode(row[0]) for row in conn.execute(SQL.list_functions, (after or "", limit)).fetchall()]

        return await self._run(select)

    async def put_function(self, fn: FunctionConfig, *, expected_revision: str | None = None) -> None:
        def update(conn: sqlite3.Connection) -> None:
            row = conn.execute(SQL.function_revision, (fn.name,)).fetchone()
            if row is None:
                raise NotFound(FUNCTION, fn.name)
            if expected_revision is not None and row[0] != expected_revision:
                raise StaleRevision(FUNCTION, fn.name)
            conn.execute(SQL.update_function, (fn.revision_id, encode(fn), fn.name))

        await self._write(update)

    async def delete_function(self, name: str) -> FunctionConfig | None:
        def delete(conn: sqlite3.Connection) -> FunctionConfig | None:
            row = conn.execute(SQL.get_function, (name,)).fetchone()
            if row is None:
                return None
            conn.execute(SQL.delete_function, (name,))
            return decode(row[0])

        return await self._write(delete)

    async def code_in_use(self) -> set[str]:
        def select(conn: sqlite3.Connection) -> set[str]:
            used = set()
            for (config,) in conn.execute(SQL.all_functions):
                fn = decode(config)
                used.add(fn.code.digest)
                used.update(layer.code.digest for layer in fn.layers)
            for (config,) in conn.execute(SQL.all_layer_versions):
                used.add(decode_layer(config).code.digest)
            for (config,) in conn.execute(SQL.all_versions):
                version = decode(config)
                used.add(version.code.digest)
                used.update(layer.code.digest for layer in version.layers)
            return used

        return await self._run(select)

    async def put_version(self, fn: FunctionConfig) -> None:
        def upsert(conn: sqlite3.Connection) -> None:
            number = int(fn.version)
            with owned(fn.name):
                conn.execute(SQL.upsert_version, (fn.name, number, encode(fn)))
                conn.execute(SQL.raise_last_version, (fn.name, number))

        await self._write(upsert)

    async def list_versions(self, function: str) -> list[FunctionConfig]:
        def select(conn: sqlite3.Connection) -> list[FunctionConfig]:
            return [decode(row[0]) for row in conn.execute(SQL.list_versions, (function,)).fetchall()]

        return await self._run(select)

    async def last_version(self, function: str) -> int:
        def select(conn: sqlite3.Connection) -> int:
            row = conn.execute(SQL.last_version, (function,)).fetchone()
            return int(row[0]) if row else 0

        return await self._run(select)

    async def delete_version(self, function: str, version: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(SQL.delete_version, (function, int(version)))

        await self._write(delete)

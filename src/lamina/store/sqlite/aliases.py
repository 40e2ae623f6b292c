"""Aliases in SQLite (``AliasStore``)."""

from __future__ import annotations

import sqlite3

from lamina.model import Alias
from lamina.store import queries
from lamina.store.codec import decode_alias, encode_alias
from lamina.store.errors import ALIAS, Conflict, NotFound, StaleRevision
from lamina.store.sqlite.engine import SqliteEngine, owned
from lamina.store.statements import AliasesStatements


SQL = queries.load(AliasesStatements, "sqlite", "aliases")


class SqliteAliases(SqliteEngine):
    async def create_alias(self, alias: Alias) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                with owned(alias.function):
                    conn.execute(SQL.insert_alias, (alias.function, alias.name, alias.revision_id, encode_alias(alias)))
            except sqlite3.IntegrityError as exc:  # the primary key: the alias exists
                raise Conflict(ALIAS, alias.function, alias.name) from exc

        await self._write(insert)

    async def put_alias(self, alias: Alias, *, expected_revision: str) -> None:
        def update(conn: sqlite3.Connection) -> None:
            key = (alias.function, alias.name)
            row = conn.execute(SQL.alias_revision, key).fetchone()
            if row is None:
                raise NotFound(ALIAS, *key)
            if row[0] != expected_revision:
                raise StaleRevision(ALIAS, *key)
            conn.execute(SQL.update_alias, (alias.revision_id, encode_alias(alias), *key))

        await self._write(update)

    async def list_aliases(self, function: str) -> list[Alias]:
        def select(conn: sqlite3.Connection) -> list[Alias]:
            return [decode_alias(*row) for row in conn.execute(SQL.list_aliases, (function,)).fetchall()]

        return await self._run(select)

    async def delete_alias(self, function: str, name: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(SQL.delete_alias, (function, name))

        await self._write(delete)

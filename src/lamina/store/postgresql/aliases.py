"""Aliases in PostgreSQL (``AliasStore``)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from lamina.model import Alias
from lamina.store import queries
from lamina.store.codec import decode_alias, encode_alias
from lamina.store.errors import ALIAS, Conflict, NotFound, StaleRevision
from lamina.store.postgresql.engine import PostgresEngine, owned
from lamina.store.statements import AliasesStatements


@dataclass(frozen=True)
class _Sql(AliasesStatements):
    notify_change: str


SQL = queries.load(_Sql, "postgresql", "aliases")


class PostgresAliases(PostgresEngine):
    async def create_alias(self, alias: Alias) -> None:
        try:
            with owned(alias.function):
                async with self._transaction() as conn:
                    await conn.execute(SQL.insert_alias,
                                       (alias.function, alias.name, alias.revision_id, encode_alias(alias)))  # fmt: skip
                    await conn.execute(SQL.notify_change, (self.notice(alias.function),))
        except psycopg.errors.UniqueViolation as exc:  # the primary key: the alias exists
            raise Conflict(ALIAS, alias.function, alias.name) from exc

    async def put_alias(self, alias: Alias, *, expected_revision: str) -> None:
        key = (alias.function, alias.name)
        async with self._transaction() as conn:
            row = await (await conn.execute(SQL.alias_revision, key)).fetchone()  # locked till commit
            if row is None:
                raise NotFound(ALIAS, *key)
            if row[0] != expected_revision:
                raise StaleRevision(ALIAS, *key)
            await conn.execute(SQL.update_alias, (alias.revision_id, encode_alias(alias), *key))
            await conn.execute(SQL.notify_change, (self.notice(alias.function),))

    async def list_aliases(self, function: str) -> list[Alias]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.list_aliases, (function,))).fetchall()
        return [decode_alias(*row) for row in rows]

    async def delete_alias(self, function: str, name: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(SQL.delete_alias, (function, name))
            await conn.execute(SQL.notify_change, (self.notice(function),))

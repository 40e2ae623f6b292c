"""The services' control-plane documents in SQLite (``ResourceStore``)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Sequence

from lamina.store import queries
from lamina.store.base import Resource
from lamina.store.sqlite.engine import SqliteEngine


@dataclass(frozen=True)
class _Sql:
    list_resources: str
    delete_prefix: str
    delete_resource: str
    put_resource: str


SQL = queries.load(_Sql, "sqlite", "resources")


class SqliteResources(SqliteEngine):
    async def list_resources(self, kind: str) -> list[Resource]:
        def select(conn: sqlite3.Connection) -> list[Resource]:
            rows = conn.execute(SQL.list_resources, (kind,)).fetchall()
            return [Resource(kind, key, json.loads(doc)) for key, doc in rows]

        return await self._run(select)

    async def change_resources(
        self,
        puts: Sequence[Resource] = (),
        deletes: Sequence[tuple[str, str]] = (),
        delete_prefixes: Sequence[tuple[str, str]] = (),
    ) -> None:
        encoded = [(r.kind, r.key, json.dumps(r.doc)) for r in puts]

        def change(conn: sqlite3.Connection) -> None:
            for kind, prefix in delete_prefixes:
                conn.execute(SQL.delete_prefix, (kind, len(prefix), prefix))
            conn.executemany(SQL.delete_resource, deletes)
            conn.executemany(SQL.put_resource, encoded)

        await self._write(change)

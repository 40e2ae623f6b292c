"""Layer versions in SQLite (``LayerStore``)."""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass

from lamina.model import LayerVersion
from lamina.store import queries
from lamina.store.codec import decode_layer, encode_layer
from lamina.store.sqlite.engine import SqliteEngine
from lamina.store.statements import LayersStatements


@dataclass(frozen=True)
class _Sql(LayersStatements):
    last_layer_version: str
    set_last_layer_version: str


SQL = queries.load(_Sql, "sqlite", "layers")


class SqliteLayers(SqliteEngine):
    async def publish_layer(self, layer: LayerVersion) -> LayerVersion:
        def insert(conn: sqlite3.Connection) -> LayerVersion:
            row = conn.execute(SQL.last_layer_version, (layer.name,)).fetchone()
            version = (row[0] if row else 0) + 1
            conn.execute(SQL.set_last_layer_version, (layer.name, version))
            numbered = dataclasses.replace(layer, version=version)
            conn.execute(SQL.insert_layer_version, (layer.name, version, encode_layer(numbered)))
            return numbered

        return await self._write(insert)

    async def get_layer(self, name: str, version: int) -> LayerVersion | None:
        def select(conn: sqlite3.Connection) -> LayerVersion | None:
            row = conn.execute(SQL.get_layer_version, (name, version)).fetchone()
            return decode_layer(row[0]) if row else None

        return await self._run(select)

    async def list_layer_versions(self, name: str | None) -> list[LayerVersion]:
        def select(conn: sqlite3.Connection) -> list[LayerVersion]:
            if name is None:
                rows = conn.execute(SQL.all_layer_versions).fetchall()
            else:
                rows = conn.execute(SQL.layer_versions, (name,)).fetchall()
            return [decode_layer(row[0]) for row in rows]

        return await self._run(select)

    async def delete_layer(self, name: str, version: int) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(SQL.delete_layer_version, (name, version))

        await self._write(delete)

"""Layer versions in PostgreSQL (``LayerStore``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lamina.model import LayerVersion
from lamina.store import queries
from lamina.store.codec import decode_layer, encode_layer
from lamina.store.postgresql.engine import PostgresEngine
from lamina.store.statements import LayersStatements


@dataclass(frozen=True)
class _Sql(LayersStatements):
    next_layer_version: str


SQL = queries.load(_Sql, "postgresql", "layers")


class PostgresLayers(PostgresEngine):
    async def publish_layer(self, layer: LayerVersion) -> LayerVersion:
        async with self._transaction() as conn:
            row = await (await conn.execute(SQL.next_layer_version, (layer.name,))).fetchone()
            assert row is not None
            numbered = dataclasses.replace(layer, version=int(row[0]))
            await conn.execute(SQL.insert_layer_version, (layer.name, numbered.version, encode_layer(numbered)))
        return numbered

    async def get_layer(self, name: str, version: int) -> LayerVersion | None:
        async with self._connection() as conn:
            row = await (await conn.execute(SQL.get_layer_version, (name, version))).fetchone()
        return decode_layer(row[0]) if row else None

    async def list_layer_versions(self, name: str | None) -> list[LayerVersion]:
        async with self._connection() as conn:
            if name is None:
                rows = await (await conn.execute(SQL.all_layer_versions)).fetchall()
            else:
                rows = await (await conn.execute(SQL.layer_versions, (name,))).fetchall()
        return [decode_layer(row[0]) for row in rows]

    async def delete_layer(self, name: str, version: int) -> None:
        async with self._transaction() as conn:
            await conn.execute(SQL.delete_layer_version, (name, version))

"""The services' control-plane documents and the object store's records in PostgreSQL
(``ResourceStore``, ``ObjectRecordStore``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

from lamina.store import queries
from lamina.store.base import ObjectRecord, OutboxMessage, Resource
from lamina.store.postgresql.engine import PostgresEngine
from lamina.store.postgresql.queue import add_outbox


@dataclass(frozen=True)
class _ResourceSql:
    list_resources: str
    delete_prefix: str
    delete_resource: str
    put_resource: str
    notify_change: str
    get_resource: str


@dataclass(frozen=True)
class _ObjectSql:
    delete_prefix: str
    delete_record: str
    put_record: str
    list_records: str


RESOURCES = queries.load(_ResourceSql, "postgresql", "resources")
OBJECTS = queries.load(_ObjectSql, "postgresql", "objects")


class PostgresResources(PostgresEngine):
    async def read_resource(self, kind: str, key: str) -> Resource | None:
        """The resource of ``kind`` and ``key``, if stored."""
        async with self._connection() as conn:
            row = await (await conn.execute(RESOURCES.get_resource, (kind, key))).fetchone()
        return Resource(kind, key, json.loads(row[0])) if row else None

    async def list_resources(self, kind: str) -> list[Resource]:
        async with self._connection() as conn:
            rows = await (await conn.execute(RESOURCES.list_resources, (kind,))).fetchall()
        return [Resource(kind, key, json.loads(doc)) for key, doc in rows]

    async def change_resources(
        self,
        puts: Sequence[Resource] = (),
        deletes: Sequence[tuple[str, str]] = (),
        delete_prefixes: Sequence[tuple[str, str]] = (),
    ) -> None:
        encoded = [(r.kind, r.key, json.dumps(r.doc)) for r in puts]
        async with self._transaction() as conn:
            for kind, prefix in delete_prefixes:
                await conn.execute(RESOURCES.delete_prefix, (kind, len(prefix), prefix))
            async with conn.cursor() as cur:
                if deletes:
                    await cur.executemany(RESOURCES.delete_resource, deletes)
                if encoded:
                    await cur.executemany(RESOURCES.put_resource, encoded)
            for kind, key in sorted(_changed(puts, deletes, delete_prefixes).items()):
                await conn.execute(RESOURCES.notify_change, (self.resources_notice(kind, key),))


def _changed(puts: Sequence[Resource], deletes: Sequence[tuple[str, str]],
             delete_prefixes: Sequence[tuple[str, str]]) -> dict[str, str | None]:  # fmt: skip
    """The kinds a write changes, each with its one key changed (None: several, or a prefix)."""
    keys: dict[str, set[str]] = {}
    for kind, key in [*((r.kind, r.key) for r in puts), *deletes]:
        keys.setdefault(kind, set()).add(key)
    changed: dict[str, str | None] = {kind: next(iter(found)) if len(found) == 1 else None
                                      for kind, found in keys.items()}  # fmt: skip
    for kind, _ in delete_prefixes:
        changed[kind] = None
    return changed


class PostgresObjectRecords(PostgresEngine):
    async def list_object_records(self, kind: str) -> list[ObjectRecord]:
        async with self._connection() as conn:
            rows = await (await conn.execute(OBJECTS.list_records, (kind,))).fetchall()
        return [ObjectRecord(kind, bucket, key, json.loads(doc)) for bucket, key, doc in rows]

    async def change_object_records(
        self, puts: Sequence[ObjectRecord] = (), deletes: Sequence[tuple[str, str, str]] = (),
        delete_prefixes: Sequence[tuple[str, str, str]] = (), messages: Sequence[OutboxMessage] = (),
    ) -> None:  # fmt: skip
        encoded = [(r.kind, r.bucket, r.key, json.dumps(r.doc)) for r in puts]
        async with self._transaction() as conn:
            for kind, bucket, prefix in delete_prefixes:
                await conn.execute(OBJECTS.delete_prefix, (kind, bucket, len(prefix), prefix))
            async with conn.cursor() as cur:
                if deletes:
                    await cur.executemany(OBJECTS.delete_record, deletes)
                if encoded:
                    await cur.executemany(OBJECTS.put_record, encoded)
            await add_outbox(conn, messages)

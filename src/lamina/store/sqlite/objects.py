"""The object store's records in SQLite (``ObjectRecordStore``)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Sequence

from lamina.store import queries
from lamina.store.base import ObjectRecord, OutboxMessage
from lamina.store.sqlite.engine import SqliteEngine
from lamina.store.sqlite.queue import add_outbox


@dataclass(frozen=True)
class _Sql:
    delete_prefix: str
    delete_record: str
    put_record: str
    list_records: str


SQL = queries.load(_Sql, "sqlite", "objects")


class SqliteObjectRecords(SqliteEngine):
    async def list_object_records(self, kind: str) -> list[ObjectRecord]:
        def select(conn: sqlite3.Connection) -> list[ObjectRecord]:
            rows = conn.execute(SQL.list_records, (kind,)).fetchall()
            return [ObjectRecord(kind, bucket, key, json.loads(doc)) for bucket, key, doc in rows]

        return await self._run(select)

    async def change_object_records(
        self, puts: Sequence[ObjectRecord] = (), deletes: Sequence[tuple[str, str, str]] = (),
        delete_prefixes: Sequence[tuple[str, str, str]] = (), messages: Sequence[OutboxMessage] = (),
    ) -> None:  # fmt: skip
        encoded = [(r.kind, r.bucket, r.key, json.dumps(r.doc)) for r in puts]

        def change(conn: sqlite3.Connection) -> None:
            for kind, bucket, prefix in delete_prefixes:
                conn.execute(SQL.delete_prefix, (kind, bucket, len(prefix), prefix))
            conn.executemany(SQL.delete_record, deletes)
            conn.executemany(SQL.put_record, encoded)
            add_outbox(conn, messages)

        await self._write(change)

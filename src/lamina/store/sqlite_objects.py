"""The object store's records for ``SqliteStore`` (migration 0015): functions of a connection, run
on its thread."""

from __future__ import annotations

import json
import sqlite3
from typing import Sequence

from lamina.store.base import ObjectRecord, OutboxMessage
from lamina.store.sqlite_queue import add_outbox


def change(
    conn: sqlite3.Connection, puts: Sequence[tuple[str, str, str, str]], deletes: Sequence[tuple[str, str, str]],
    delete_prefixes: Sequence[tuple[str, str, str]], messages: Sequence[OutboxMessage],
) -> None:  # fmt: skip
    for kind, bucket, prefix in delete_prefixes:
        # substr rather than LIKE: a key may hold % or _.
        conn.execute(
            "DELETE FROM object_records WHERE kind = ? AND bucket = ? AND substr(key, 1, ?) = ?",
            (kind, bucket, len(prefix), prefix),
        )
    conn.executemany("DELETE FROM object_records WHERE kind = ? AND bucket = ? AND key = ?", deletes)
    conn.executemany("INSERT OR REPLACE INTO object_records (kind, bucket, key, doc) VALUES (?, ?, ?, ?)", puts)
    add_outbox(conn, messages)


def listed(conn: sqlite3.Connection, kind: str) -> list[ObjectRecord]:
    rows = conn.execute("SELECT bucket, key, doc FROM object_records WHERE kind = ? ORDER BY bucket, key", (kind,))
    return [ObjectRecord(kind, bucket, key, json.loads(doc)) for bucket, key, doc in rows.fetchall()]

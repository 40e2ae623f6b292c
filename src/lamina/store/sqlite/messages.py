"""The embedded SQS queues' messages in SQLite (``MessageStore``)."""

from __future__ import annotations

import sqlite3
from typing import Sequence

from lamina.store import queries
from lamina.store.base import MessageState, QueueMessage
from lamina.store.sqlite.engine import SqliteEngine
from lamina.store.sqlite.queue import consume_outbox
from lamina.store.statements import MessagesStatements


SQL = queries.load(MessagesStatements, "sqlite", "messages")


class SqliteMessages(SqliteEngine):
    async def change_queue_messages(
        self, adds: Sequence[QueueMessage] = (), updates: Sequence[MessageState] = (), deletes: Sequence[int] = (),
        consumed_outbox: Sequence[int] = (),
    ) -> list[int]:  # fmt: skip
        def change(conn: sqlite3.Connection) -> list[int]:
            consume_outbox(conn, consumed_outbox)
            conn.executemany(SQL.delete_message, [(i,) for i in deletes])
            conn.executemany(SQL.receive_message,
                             [(u.visible_ms, u.receive_count, u.first_receive_ms, u.seq) for u in updates])  # fmt: skip
            seqs = []
            for m in adds:
                cur = conn.execute(
                    SQL.insert_message,
                    (m.queue, m.message_id, m.body, m.attributes, m.sent_ms, m.visible_ms, m.receive_count,
                     m.first_receive_ms, m.group_id, m.dedup_id),
                )  # fmt: skip
                assert cur.lastrowid is not None
                seqs.append(cur.lastrowid)
            return seqs

        return await self._write(change)

    async def list_queue_messages(self) -> list[QueueMessage]:
        return await self._run(lambda conn: [QueueMessage(*row) for row in conn.execute(SQL.list_messages).fetchall()])

    async def purge_queue_messages(self, queue: str, through_seq: int | None = None) -> int:
        def purge(conn: sqlite3.Connection) -> int:
            if through_seq is None:
                return conn.execute(SQL.purge_queue, (queue,)).rowcount
            return conn.execute(SQL.purge_queue_through, (queue, through_seq)).rowcount

        return await self._write(purge)

"""The embedded SQS queues' messages in PostgreSQL (``MessageStore``)."""

from __future__ import annotations

from typing import Sequence

from lamina.store import queries
from lamina.store.base import MessageState, QueueMessage
from lamina.store.postgresql.engine import PostgresEngine
from lamina.store.postgresql.queue import consume_outbox
from lamina.store.statements import MessagesStatements


SQL = queries.load(MessagesStatements, "postgresql", "messages")


class PostgresMessages(PostgresEngine):
    async def change_queue_messages(
        self, adds: Sequence[QueueMessage] = (), updates: Sequence[MessageState] = (), deletes: Sequence[int] = (),
        consumed_outbox: Sequence[int] = (),
    ) -> list[int]:  # fmt: skip
        seqs = []
        async with self._transaction() as conn:
            await consume_outbox(conn, consumed_outbox)
            if deletes:
                await conn.execute(SQL.delete_message, (list(deletes),))
            if updates:
                async with conn.cursor() as cur:
                    await cur.executemany(SQL.receive_message,
                                          [(u.visible_ms, u.receive_count, u.first_receive_ms, u.seq) for u in updates])  # fmt: skip
            for m in adds:
                cur = await conn.execute(
                    SQL.insert_message,
                    (m.queue, m.message_id, m.body, m.attributes, m.sent_ms, m.visible_ms, m.receive_count,
                     m.first_receive_ms, m.group_id, m.dedup_id),
                )  # fmt: skip
                row = await cur.fetchone()
                assert row is not None
                seqs.append(int(row[0]))
        return seqs

    async def list_queue_messages(self) -> list[QueueMessage]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.list_messages)).fetchall()
        return [QueueMessage(*row) for row in rows]

    async def purge_queue_messages(self, queue: str, through_seq: int | None = None) -> int:
        async with self._transaction() as conn:
            if through_seq is None:
                return (await conn.execute(SQL.purge_queue, (queue,))).rowcount
            return (await conn.execute(SQL.purge_queue_through, (queue, through_seq))).rowcount

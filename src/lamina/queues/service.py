"""The embedded queues: their control state and their messages, in memory, written through the store.

Queues are resources (kind ``sqs/queue``, key: the name; a name deleted less than a minute ago,
kind ``sqs/deleted``); messages are rows of their own
(``Store.change_queue_messages``). A message is stored (committed) before SendMessage answers and
only then held in memory, where receives find it. Receiving, deleting and changing visibility
decide in memory (``receiving.choose``, without awaiting, so two receives never take one message)
and then write what they changed; visibility deadlines are epoch milliseconds, so after a restart
(even a kill -9) a message that was in flight becomes visible again when its timeout ends.

A receive that finds nothing parks on its queue's ``Waiters`` until a send wakes it, the next
delayed or in-flight message becomes visible, or its wait ends: no polling.

``Queues`` is also the seam other parts use (event source mappings, destinations, dead letters,
event-bus targets): ``get``, ``receive``, ``delete``, ``change_visibility``, ``send`` and
``backlog`` by ARN.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Mapping, Sequence

from lamina.queues import fifo, model, receiving
from lamina.queues.control import Control
from lamina.queues.delivery import Delivery, Received
from lamina.queues.errors import ReceiptHandleIsInvalid
from lamina.queues.messages import MessageAttribute
from lamina.queues.moves import Moves
from lamina.queues.queue import Queue, Sent
from lamina.queues.receipts import Receipts, sequence_number
from lamina.queues.receiving import Backlog, Held
from lamina.queues.registry import KIND
from lamina.queues.sending import Sending

__all__ = ["Backlog", "MessageAttribute", "QueueInfo", "Queues", "Received", "Sent", "queue_arn_parts"]


@dataclass(frozen=True, slots=True)
class QueueInfo:
    arn: str
    name: str
    url: str
    fifo: bool
    visibility_timeout: int  # seconds (the queue's VisibilityTimeout attribute)


def queue_arn_parts(arn: str) -> tuple[str, str, str] | None:
    """``(region, account, name)`` of an SQS queue ARN; None if it is not one."""
    return model.arn_parts(arn)


class Queues(Control, Sending, Delivery, Receipts, Moves):
    """The queues (registry.py) and what is done with them: their lifecycle and attributes
    (control.py), sending (sending.py), receiving (delivery.py), deleting and changing visibility
    by receipt handle (receipts.py), moving a dead-letter queue's messages back (moves.py); here,
    loading them back and the seam by ARN."""

    async def load(self) -> None:
        """Read every queue and message back; messages of a queue that no longer exists (deleted
        while they were written) are removed. A FIFO queue's deduplication window is rebuilt from
        the messages it still holds that were sent in the last five minutes; the names deleted less
        than a minute ago are read back too (control.py)."""
        by_id: dict[str, Queue] = {}
        for resource in await self._store.list_resources(KIND):
            queue = Queue.from_doc(resource.doc, self.arn_of(resource.key))
            self._queues[queue.name] = by_id[queue.id] = queue
        orphans: set[str] = set()
        now = self._now_ms()
        for stored in await self._store.list_queue_messages():
            holder = by_id.get(stored.queue)
            if holder is None:
                orphans.add(stored.queue)
                continue
            held = Held(stored, stored.visible_ms, stored.receive_count, stored.first_receive_ms)
            if stored.receive_count == 1:
                held.received_ms = stored.first_receive_ms  # its only receive: the latest
            holder.messages[stored.seq] = held
            if holder.fifo and stored.dedup_id and now - stored.sent_ms < fifo.WINDOW_MS:
                # A producer that retries a send after a restart gets the first answer (fifo.py).
                sent = asyncio.get_running_loop().create_future()
                sent.set_result(Sent(stored.message_id, sequence_number(stored.seq)))
                scope = holder.attribute("DeduplicationScope") or "queue"
                holder.deduplication.remember(fifo.key(stored.dedup_id, stored.group_id, scope), sent, stored.sent_ms)
        for name in orphans:
            await self._store.purge_queue_messages(name)
        await self.load_deletions()

    async def close(self) -> None:
        """Answer every long poll now (with what is there, or nothing) and park no more: the server
        is stopping, and its connections should not wait out their WaitTimeSeconds."""
        self._closing = True
        for queue in self._queues.values():
            queue.waiters.wake_all()

    # -- the seam, by ARN ---------------------------------------------------------------------

    def get(self, arn: str) -> QueueInfo | None:
        """The queue with this ARN, if it exists (in memory; no I/O)."""
        queue = self.by_arn(arn)
        if queue is None:
            return None
        return QueueInfo(queue.arn, queue.name, self.url_of(queue.name), queue.fifo, queue.number("VisibilityTimeout"))

    def backlog(self, arn: str) -> Backlog | None:
        """``(visible, in_flight, oldest_age_s)`` of the queue with this ARN now (None: no such queue);
        in memory, no I/O."""
        queue = self.by_arn(arn)
        return None if queue is None else receiving.backlog(queue.messages.values(), self._now_ms())

    async def receive(self, arn: str, max_messages: int, wait_seconds: float,
                      visibility_timeout: int | None = None) -> list[Received]:  # fmt: skip
        """ReceiveMessage's semantics (1..10 messages; long polls up to wait_seconds; FIFO groups
        with messages in flight are skipped; maxReceiveCount redrive to the dead-letter queue
        applied as ReceiveMessage applies it). Raises QueueDoesNotExist if the queue is gone."""
        return await self.receive_from(self._by_arn(arn), max_messages, wait_seconds, visibility_timeout)

    async def delete(self, arn: str, receipt_handles: Sequence[str]) -> None:
        """DeleteMessage for each handle; an unknown or stale handle is ignored."""
        queue = self.by_arn(arn)
        if queue is not None:
            await self.delete_messages(queue, receipt_handles)

    async def change_visibility(self, arn: str, receipt_handle: str, timeout_seconds: int) -> None:
        """ChangeMessageVisibility; a stale handle is ignored."""
        queue = self.by_arn(arn)
        if queue is None:
            return
        try:
            await self.change_message_visibility(queue, receipt_handle, timeout_seconds, strict=False)
        except ReceiptHandleIsInvalid:
            pass

    async def send(self, arn: str, body: str, *, group_id: str | None = None, deduplication_id: str | None = None,
                   attributes: Mapping[str, MessageAttribute] | None = None) -> str:  # fmt: skip
        """SendMessage's semantics; returns the MessageId. Used by destinations, dead letters and
        event-bus targets as well as by the API."""
        sent = await self.send_message(self._by_arn(arn), body, attributes or {}, group_id=group_id,
                                       deduplication_id=deduplication_id)  # fmt: skip
        return sent.message_id


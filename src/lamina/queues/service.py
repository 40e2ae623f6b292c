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

from lamina.queues import fifo, model, receiving, windows
from lamina.queues.control import Control
from lamina.queues.delivery import Delivery, Received
from lamina.queues.errors import ReceiptHandleIsInvalid
from lamina.queues.messages import MessageAttribute
from lamina.queues.moves import MoveTask
from lamina.queues.moving import Moves
from lamina.queues.queue import Queue, Sent
from lamina.queues.receipts import Receipts, sequence_number
from lamina.queues.receiving import Backlog, Held
from lamina.queues.registry import KIND, MOVE_TASK_KIND
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
    by receipt handle (receipts.py), moving a dead-letter queue's messages back (moving.py); here,
    loading them back and the seam by ARN."""

    async def load(self) -> None:
        """Read every queue and message back; messages of a queue that no longer exists (deleted
        while they were written) are removed. FIFO queues' windows are read back for what is left
        of their five minutes (windows.py; a send's also rebuilt from its message, should the
        server have stopped before its entry was written); message move tasks are read back, and
        one that was running resumes (moving.py); the names deleted less than a minute ago are
        read back too (control.py)."""
        by_id: dict[str, Queue] = {}
        for resource in await self._store.list_resources(KIND):
            queue = Queue.from_doc(resource.doc, self.arn_of(resource.key))
            self._queues[queue.name] = by_id[queue.id] = queue
        orphans: set[str] = set()
        now = self._now_ms()
        sends: list[tuple[Queue, windows.SentEntry]] = []
        for stored in await self._store.list_queue_messages():
            holder = by_id.get(stored.queue)
            if holder is None:
                orphans.add(stored.queue)
                continue
            held = Held(stored, stored.visible_ms, stored.receive_count, stored.first_receive_ms)
            if stored.receive_count == 1:
                held.received_ms = stored.first_receive_ms  # its only receive: the latest
            holder.messages[stored.seq] = held
            if holder.fifo and stored.dedup_id:
                scope = holder.attribute("DeduplicationScope") or "queue"
                sends.append((holder, windows.SentEntry(holder.id, fifo.key(stored.dedup_id, stored.group_id, scope),
                                                        stored.message_id, sequence_number(stored.seq),
                                                        stored.sent_ms + fifo.WINDOW_MS)))  # fmt: skip
        for name in orphans:
            await self._store.purge_queue_messages(name)
        await self._load_windows(by_id, sends, now)
        await self._load_move_tasks(by_id)
        await self.load_deletions()

    async def _load_windows(self, by_id: Mapping[str, Queue], sends: list[tuple[Queue, windows.SentEntry]],
                            now: int) -> None:  # fmt: skip
        stale: list[tuple[str, str]] = []
        attempts: list[tuple[Queue, windows.AttemptEntry]] = []
        for resource in await self._store.list_resources(windows.DEDUP_KIND):
            sent = windows.parse_sent(resource.doc)
            holder = by_id.get(sent.queue_id) if sent is not None else None
            if sent is None or holder is None or sent.until_ms <= now:
                stale.append((resource.kind, resource.key))
                continue
            sends.append((holder, sent))
            self._windows.add(resource.kind, resource.key, sent.until_ms)
        for resource in await self._store.list_resources(windows.ATTEMPT_KIND):
            tried = windows.parse_attempt(resource.doc)
            holder = by_id.get(tried.queue_id) if tried is not None else None
            if tried is None or holder is None or tried.until_ms <= now:
                stale.append((resource.kind, resource.key))
                continue
            attempts.append((holder, tried))
            self._windows.add(resource.kind, resource.key, tried.until_ms)
        loop = asyncio.get_running_loop()
        # Restored in the order their windows end (fifo.Window prunes from its oldest).
        for holder, sent in sorted((e for e in sends if e[1].until_ms > now), key=lambda e: e[1].until_ms):
            answer = loop.create_future()  # a producer retrying a send gets the first answer (fifo.py)
            answer.set_result(Sent(sent.message_id, sent.sequence_number))
            holder.deduplication.restore(sent.key, answer, sent.until_ms)
        for holder, tried in sorted(attempts, key=lambda e: e[1].until_ms):
            holder.attempts.restore(tried.attempt_id, tried.attempt, tried.until_ms)
        if stale:
            await self._store.change_resources(deletes=stale)

    async def _load_move_tasks(self, by_id: Mapping[str, Queue]) -> None:
        stale: list[tuple[str, str]] = []
        tasks: list[tuple[Queue, MoveTask]] = []
        for resource in await self._store.list_resources(MOVE_TASK_KIND):
            holder = by_id.get(resource.key.split("/", 1)[0])
            if holder is None:
                stale.append((resource.kind, resource.key))
                continue
            tasks.append((holder, MoveTask.from_doc(resource.doc)))
        for holder, task in sorted(tasks, key=lambda e: e[1].started_ms):
            self.load_move_task(holder, task)
        if stale:
            await self._store.change_resources(deletes=stale)

    async def close(self) -> None:
        """Answer every long poll now (with what is there, or nothing) and park no more: the server
        is stopping, and its connections should not wait out their WaitTimeSeconds."""
        self._closing = True
        for queue in self._queues.values():
            queue.waiters.wake_all()
        await self.stop_moves()  # they resume when the server starts again

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


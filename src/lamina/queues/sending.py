"""SendMessage: a message checked, stored (committed) and only then held in memory, where receives
find it; a FIFO queue's duplicate within the deduplication window answered as the original was
(the window's entry stored too, before the answer, so a restart remembers it: windows.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Mapping, Sequence

from lamina.queues import fifo, messages, windows
from lamina.queues.errors import InvalidParameterValue, MissingParameter
from lamina.queues.messages import MessageAttribute
from lamina.queues.queue import Queue, Sent
from lamina.queues.receipts import sequence_number
from lamina.queues.receiving import Held
from lamina.queues.registry import Registry
from lamina.store.base import QueueMessage


class Sending(Registry):
    async def send_message(
        self, queue: Queue, body: str, attributes: Mapping[str, MessageAttribute], *, delay_seconds: int | None = None,
        group_id: str | None = None, deduplication_id: str | None = None, consumed_outbox: Sequence[int] = (),
        system: Mapping[str, str] | None = None,
    ) -> Sent:  # fmt: skip
        """Store a message (and remove ``consumed_outbox`` in the same transaction), then hold it
        and wake a receive waiting on the queue. A FIFO queue's duplicate within the window is
        answered as the original was and not stored (its outbox messages are still removed).
        ``system``: its system attributes by name (AWSTraceHeader)."""
        messages.check_body(body)
        messages.check_size(body, attributes, queue.number("MaximumMessageSize"))
        now = self._now_ms()
        window_key: str | None = None
        answer: asyncio.Future[Sent] | None = None
        if queue.fifo:
            if delay_seconds:
                raise InvalidParameterValue(
                    f"Value {delay_seconds} for parameter DelaySeconds is invalid. Reason: The request include "
                    "parameter that is not valid for this queue type."
                )
            if not group_id:
                raise MissingParameter("The request must contain the parameter MessageGroupId.")
            if not deduplication_id:
                if queue.attribute("ContentBasedDeduplication") != "true":
                    raise InvalidParameterValue("The queue should either have ContentBasedDeduplication enabled or "
                                                "MessageDeduplicationId provided explicitly")  # fmt: skip
                deduplication_id = fifo.content_id(body)
            window_key = fifo.key(deduplication_id, group_id, queue.attribute("DeduplicationScope") or "queue")
            earlier = queue.deduplication.seen(window_key, now)
            if earlier is not None:
                sent = await asyncio.shield(earlier)
                if consumed_outbox:
                    await self._store.change_queue_messages(consumed_outbox=consumed_outbox)
                return sent
            answer = asyncio.get_running_loop().create_future()
            queue.deduplication.remember(window_key, answer, now)
        elif deduplication_id:
            raise InvalidParameterValue("Value for parameter MessageDeduplicationId is invalid. Reason: The request "
                                        "include parameter that is not valid for this queue type.")  # fmt: skip
        delay = queue.number("DelaySeconds") if delay_seconds is None else delay_seconds
        stored = QueueMessage(
            queue.id, str(uuid.uuid4()), body, messages.encode(attributes, system), now, now + delay * 1000,
            group_id=group_id, dedup_id=deduplication_id if queue.fifo else None,
        )  # fmt: skip
        try:
            (seq,) = await self._store.change_queue_messages([stored], consumed_outbox=consumed_outbox)
        except BaseException:
            if answer is not None and window_key is not None:
                queue.deduplication.forget(window_key)
                answer.cancel()
            raise
        sent = Sent(stored.message_id, sequence_number(seq) if queue.fifo else None)
        if answer is not None and window_key is not None:
            answer.set_result(sent)
            until = queue.deduplication.until(window_key) or now + fifo.WINDOW_MS
            entry = windows.SentEntry(queue.id, window_key, sent.message_id, sent.sequence_number, until)
            try:
                await self._store_window(windows.sent_resource(entry), until)
            finally:
                self._hold(queue, stored, seq, delay)  # stored: held even if its window entry is not
        else:
            self._hold(queue, stored, seq, delay)
        return sent

    def _hold(self, queue: Queue, stored: QueueMessage, seq: int, delay: int) -> None:
        if not queue.deleted:
            queue.add(Held(dataclasses.replace(stored, seq=seq), stored.visible_ms))
            if delay:  # every parked receive looks again at when the next message becomes visible
                queue.waiters.wake_all()
            else:
                queue.waiters.wake(1)

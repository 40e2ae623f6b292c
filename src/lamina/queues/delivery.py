"""ReceiveMessage: what ``receiving.choose`` picks, delivered (its visibility timeout started,
its receive counted, written through), moved to the dead-letter queue or expired; a receive that
finds nothing parks on its queue's ``Waiters`` until a send wakes it, the next delayed or in-flight
message becomes visible, or its wait ends.

A FIFO receive with a ReceiveRequestAttemptId that is retried within five minutes gets the same
messages and receipt handles again, their visibility timeout started anew, as long as none of them
was deleted, received again or had its visibility changed meanwhile (``fifo.retried``); the
attempts are written through the store for their five minutes (windows.py), so a retry after a
restart is recognised too."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import Mapping

from lamina.queues import fifo, messages, model, receiving, windows
from lamina.queues.errors import QueueDoesNotExist
from lamina.queues.messages import MessageAttribute
from lamina.queues.queue import Queue
from lamina.queues.receipts import receipt_handle, sequence_number
from lamina.queues.receiving import Held
from lamina.queues.registry import Registry
from lamina.store.base import MessageState


@dataclass(frozen=True, slots=True)
class Received:
    message_id: str
    receipt_handle: str
    body: str
    md5_of_body: str
    attributes: Mapping[str, str]  # ApproximateReceiveCount, SentTimestamp, SenderId,
    # ApproximateFirstReceiveTimestamp; FIFO: MessageGroupId, MessageDeduplicationId, SequenceNumber;
    # AWSTraceHeader and DeadLetterQueueSourceArn when the message has them
    message_attributes: Mapping[str, MessageAttribute]
    md5_of_message_attributes: str | None


class Delivery(Registry):
    async def receive_from(
        self, queue: Queue, max_messages: int, wait_seconds: float, visibility_timeout: int | None = None,
        attempt_id: str | None = None,
    ) -> list[Received]:  # fmt: skip
        """ReceiveMessage; ``attempt_id`` (ReceiveRequestAttemptId) counts on FIFO queues only."""
        if not queue.fifo:
            attempt_id = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait_seconds)
        if attempt_id is not None and not queue.deleted:
            again = await self._retry(queue, attempt_id, visibility_timeout)
            if again is not None:
                return again
        while True:
            if queue.deleted:
                raise QueueDoesNotExist("The specified queue does not exist.")
            taken = await self._take(queue, max(1, min(10, max_messages)), visibility_timeout, attempt_id)
            if taken is None:
                continue  # it only moved or expired messages: look again
            if taken:
                return taken
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                return []
            now = self._now_ms()
            upcoming = receiving.next_visible_ms(queue.messages.values(), now)
            timeout = remaining if upcoming is None else min(remaining, (upcoming - now) / 1000 + 0.001)
            await queue.waiters.wait(timeout)

    async def _retry(self, queue: Queue, attempt_id: str, visibility_timeout: int | None) -> list[Received] | None:
        """What an earlier receive with this attempt id delivered, given again with its visibility
        timeout started anew; None if there was none in the last five minutes, or it no longer holds."""
        now = self._now_ms()
        earlier = queue.attempts.seen(attempt_id, now)
        if earlier is None:
            return None
        again = fifo.retried(earlier, queue.messages)
        if again is None:
            queue.attempts.forget(attempt_id)
            return None
        timeout = queue.number("VisibilityTimeout") if visibility_timeout is None else visibility_timeout
        for held in again:
            held.visible_ms = now + timeout * 1000
            held.received_ms = now
        queue.attempts.update(attempt_id, fifo.attempt(again))
        await self._store.change_queue_messages(
            updates=[MessageState(h.seq, h.visible_ms, h.receive_count, h.first_receive_ms) for h in again]
        )
        await self._store_attempt(queue, attempt_id)
        queue.waiters.wake_all()  # visible sooner than a parked receive expects, perhaps (a timeout of 0)
        return [self._received(queue, held) for held in again]

    async def _take(self, queue: Queue, limit: int, visibility_timeout: int | None,
                    attempt_id: str | None = None) -> list[Received] | None:  # fmt: skip
        """Deliver what ``receiving.choose`` picks now (remembered under ``attempt_id``, if given);
        None when it delivered nothing but moved or expired messages (there may be more to deliver
        behind them)."""
        now = self._now_ms()
        policy = model.redrive_policy(queue.attributes)
        dlq = self.by_arn(policy.dead_letter_arn) if policy is not None else None
        choice = receiving.choose(
            queue.messages.values(), now, limit, fifo=queue.fifo,
            retention_ms=queue.number("MessageRetentionPeriod") * 1000,
            max_receive_count=policy.max_receive_count if policy is not None and dlq is not None else None,
        )  # fmt: skip
        timeout = queue.number("VisibilityTimeout") if visibility_timeout is None else visibility_timeout
        updates, received = [], []
        for held in choice.deliver:
            held.receive_count += 1
            held.visible_ms = now + timeout * 1000
            held.first_receive_ms = held.first_receive_ms or now
            held.received_ms = now
            updates.append(MessageState(held.seq, held.visible_ms, held.receive_count, held.first_receive_ms))
            received.append(self._received(queue, held))
        if attempt_id is not None and choice.deliver:
            queue.attempts.remember(attempt_id, fifo.attempt(choice.deliver), now)
        gone = choice.expire + choice.redrive
        for held in gone:
            queue.messages.pop(held.seq, None)
        # A message keeps its enqueue time in a standard dead-letter queue (its retention runs on);
        # a FIFO queue's starts again, as SQS does it.
        moved = [
            dataclasses.replace(h.stored, queue=dlq.id, visible_ms=now, receive_count=0, first_receive_ms=0, seq=0,
                                sent_ms=now if queue.fifo else h.stored.sent_ms,
                                attributes=messages.with_system(h.stored.attributes, "DeadLetterQueueSourceArn",
                                                                queue.arn))
            for h in choice.redrive
        ] if dlq is not None else []  # fmt: skip
        if updates:
            # Receives parked meanwhile sleep until the deadline they saw: these messages' own
            # (visible again when their timeout ends) may come sooner.
            queue.waiters.wake_all()
        if attempt_id is not None and choice.deliver:
            # Before the messages' states: should the server stop in between, the entry does not
            # match them after the restart, and a retry is a receive of its own that finds them.
            await self._store_attempt(queue, attempt_id)
        if updates or gone:
            seqs = await self._store.change_queue_messages(moved, updates, [h.seq for h in gone])
            if dlq is not None and not dlq.deleted:
                for stored, seq in zip(moved, seqs):
                    dlq.add(Held(dataclasses.replace(stored, seq=seq), now))
                dlq.waiters.wake(len(moved))
        if not received and gone:
            return None
        return received

    async def _store_attempt(self, queue: Queue, attempt_id: str) -> None:
        """Write what the attempt delivered, as the queue's window holds it now (windows.py)."""
        held = queue.attempts.seen(attempt_id, self._now_ms())
        until = queue.attempts.until(attempt_id)
        if held is not None and until is not None:
            entry = windows.AttemptEntry(queue.id, attempt_id, held, until)
            await self._store_window(windows.attempt_resource(entry), until)

    def _received(self, queue: Queue, held: Held) -> Received:
        stored = held.stored
        attributes = {
            "ApproximateReceiveCount": str(held.receive_count),
            "SentTimestamp": str(stored.sent_ms),
            "SenderId": self._settings.account_id,
            "ApproximateFirstReceiveTimestamp": str(held.first_receive_ms),
        }
        if queue.fifo:
            attributes["MessageGroupId"] = stored.group_id or ""
            attributes["MessageDeduplicationId"] = stored.dedup_id or ""
            attributes["SequenceNumber"] = sequence_number(stored.seq)
        elif stored.group_id:
            attributes["MessageGroupId"] = stored.group_id
        attributes.update(messages.system_of(stored.attributes))  # AWSTraceHeader, DeadLetterQueueSourceArn
        decoded = messages.decode(stored.attributes)
        return Received(
            message_id=stored.message_id, receipt_handle=receipt_handle(queue.name, held),
            body=stored.body, md5_of_body=messages.md5_of_body(stored.body), attributes=attributes,
            message_attributes=decoded, md5_of_message_attributes=messages.md5_of_attributes(decoded),
        )  # fmt: skip

"""The embedded queues: their control state and their messages, in memory, written through the store.

Queues are resources (kind ``sqs/queue``, key: the name); messages are rows of their own
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
import base64
import binascii
import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from lamina.queues import fifo, messages, model, receiving
from lamina.queues.errors import (
    InvalidParameterValue, MessageNotInflight, MissingParameter, PurgeQueueInProgress, QueueDoesNotExist,
    QueueNameExists, ReceiptHandleIsInvalid,
)  # fmt: skip
from lamina.queues.messages import MessageAttribute
from lamina.queues.queue import Queue, Sent
from lamina.queues.receiving import Backlog, Held
from lamina.settings import Settings
from lamina.store.base import MessageState, QueueMessage, Resource, Store

__all__ = ["Backlog", "MessageAttribute", "QueueInfo", "Queues", "Received", "Sent", "queue_arn_parts"]

log = logging.getLogger(__name__)
KIND = "sqs/queue"
PURGE_INTERVAL_S = 60.0
MAX_VISIBILITY_S = 43200


@dataclass(frozen=True, slots=True)
class Received:
    message_id: str
    receipt_handle: str
    body: str
    md5_of_body: str
    attributes: Mapping[str, str]  # ApproximateReceiveCount, SentTimestamp, SenderId,
    # ApproximateFirstReceiveTimestamp; FIFO: MessageGroupId, MessageDeduplicationId, SequenceNumber
    message_attributes: Mapping[str, MessageAttribute]
    md5_of_message_attributes: str | None


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


class Queues:
    def __init__(self, store: Store, settings: Settings, *, base_url: str,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self._store = store
        self._settings = settings
        self._base_url = base_url  # for QueueInfo.url; the API answers with the request's own host
        self._clock = clock
        self._queues: dict[str, Queue] = {}
        self.generation = 0  # how many queues were created: the outbox relay looks again when it changes
        self._closing = False

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def arn_of(self, name: str) -> str:
        return model.arn(self._settings.region, self._settings.account_id, name)

    def url_of(self, name: str, base: str | None = None) -> str:
        return model.url(base or self._base_url, self._settings.account_id, name)

    async def load(self) -> None:
        """Read every queue and message back; messages of a queue that no longer exists (deleted
        while they were written) are removed. A FIFO queue's deduplication window is rebuilt from
        the messages it still holds that were sent in the last five minutes."""
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
            holder.messages[stored.seq] = Held(stored, stored.visible_ms, stored.receive_count, stored.first_receive_ms)
            if holder.fifo and stored.dedup_id and now - stored.sent_ms < fifo.WINDOW_MS:
                # A producer that retries a send after a restart gets the first answer (fifo.py).
                sent = asyncio.get_running_loop().create_future()
                sent.set_result(Sent(stored.message_id, sequence_number(stored.seq)))
                scope = holder.attribute("DeduplicationScope") or "queue"
                holder.deduplication.remember(fifo.key(stored.dedup_id, stored.group_id, scope), sent, stored.sent_ms)
        for name in orphans:
            await self._store.purge_queue_messages(name)

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

    # -- finding queues -------------------------------------------------------------------------

    def by_arn(self, arn: str) -> Queue | None:
        parts = model.arn_parts(arn)
        if parts is None or parts[:2] != (self._settings.region, self._settings.account_id):
            return None
        return self._queues.get(parts[2])

    def _by_arn(self, arn: str) -> Queue:
        queue = self.by_arn(arn)
        if queue is None:
            raise QueueDoesNotExist("The specified queue does not exist.")
        return queue

    def named(self, name: str) -> Queue:
        queue = self._queues.get(name)
        if queue is None:
            raise QueueDoesNotExist("The specified queue does not exist.")
        return queue

    def by_url(self, queue_url: object) -> Queue:
        """The queue a request's QueueUrl names."""
        if not isinstance(queue_url, str) or not queue_url:
            raise MissingParameter("The request must contain the parameter QueueUrl.")
        found = model.name_from_url(queue_url)
        if found is None or found[0] not in (None, self._settings.account_id):
            raise QueueDoesNotExist("The specified queue does not exist.")
        return self.named(found[1])

    def names(self) -> list[str]:
        return sorted(self._queues)

    def all(self) -> list[Queue]:
        return [self._queues[name] for name in sorted(self._queues)]

    # -- the control plane ----------------------------------------------------------------------

    async def create_queue(self, name: str, attributes: Mapping[str, object], tags: Mapping[str, str]) -> Queue:
        fifo_asked = str(attributes.get("FifoQueue", "")).lower() == "true"
        model.check_name(name, fifo_asked)
        values = model.normalise(attributes, fifo=fifo_asked, creating=True)
        existing = self._queues.get(name)
        if existing is not None:
            for key, value in values.items():
                if (existing.attribute(key) or "") != value:
                    raise QueueNameExists(
                        f"A queue already exists with the same name and a different value for attribute {key}"
                    )
            return existing
        now = int(self._clock())
        queue = Queue(uuid.uuid4().hex, name, self.arn_of(name), {}, dict(tags), now, now)
        self._check_redrive(queue, values)
        queue.attributes = {k: v for k, v in values.items() if v != ""}
        self._queues[name] = queue  # before the write: a concurrent create of the name finds it
        try:
            await self._store.change_resources(puts=[Resource(KIND, name, queue.doc())])
        except BaseException:
            self._queues.pop(name, None)
            raise
        self.generation += 1
        return queue

    def _check_redrive(self, queue: Queue, values: Mapping[str, str]) -> None:
        text = values.get("RedrivePolicy")
        if not text:
            return
        policy = model.redrive_policy(values)
        assert policy is not None
        target = self.by_arn(policy.dead_letter_arn)
        reason = None
        if target is None:
            reason = "Dead letter target does not exist."
        elif target.fifo != queue.fifo:
            reason = "Dead-letter queue must be same type of queue as the source."
        elif not model.allows_source(target.attributes, queue.arn):
            reason = "Queue is not allowed by the dead-letter queue's redrive allow policy."
        if reason:
            raise InvalidParameterValue(f"Value {text} for parameter RedrivePolicy is invalid. Reason: {reason}")

    async def set_attributes(self, queue: Queue, attributes: Mapping[str, object]) -> None:
        values = model.normalise(attributes, fifo=queue.fifo, creating=False)
        self._check_redrive(queue, values)
        for key, value in values.items():
            if value == "":
                queue.attributes.pop(key, None)
            else:
                queue.attributes[key] = value
        queue.modified_s = int(self._clock())
        await self._save(queue)

    async def _save(self, queue: Queue) -> None:
        if not queue.deleted:
            await self._store.change_resources(puts=[Resource(KIND, queue.name, queue.doc())])

    def attributes(self, queue: Queue, names: Sequence[str]) -> dict[str, str]:
        """GetQueueAttributes: the attributes named (``All``: every one that has a value)."""
        wanted = model.READABLE if "All" in names else frozenset(names)
        counts = receiving.counts(queue.messages.values(), self._now_ms())
        computed = {
            "QueueArn": queue.arn,
            "ApproximateNumberOfMessages": str(counts.visible),
            "ApproximateNumberOfMessagesNotVisible": str(counts.not_visible),
            "ApproximateNumberOfMessagesDelayed": str(counts.delayed),
            "CreatedTimestamp": str(queue.created_s),
            "LastModifiedTimestamp": str(queue.modified_s),
        }
        out: dict[str, str] = {}
        for name in sorted(wanted):
            value = computed.get(name) if name in computed else queue.attribute(name)
            if value is not None:
                out[name] = value
        return out

    async def set_tags(self, queue: Queue, add: Mapping[str, str], remove: Sequence[str] = ()) -> None:
        tags = dict(queue.tags)
        tags.update(add)
        for key in remove:
            tags.pop(key, None)
        queue.tags = model.check_tags(tags)
        await self._save(queue)

    async def delete_queue(self, queue: Queue) -> None:
        queue.deleted = True
        self._queues.pop(queue.name, None)
        queue.waiters.wake_all()  # long polls on it answer (QueueDoesNotExist)
        await self._store.change_resources(deletes=[(KIND, queue.name)])
        await self._store.purge_queue_messages(queue.id)

    async def purge(self, queue: Queue) -> None:
        now = time.monotonic()
        if queue.purged_at is not None and now - queue.purged_at < PURGE_INTERVAL_S:
            raise PurgeQueueInProgress(f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds.")
        queue.purged_at = now
        if not queue.messages:
            return
        through = next(reversed(queue.messages))
        queue.messages = {}
        await self._store.purge_queue_messages(queue.id, through)

    def dead_letter_sources(self, queue: Queue) -> list[Queue]:
        sources = []
        for other in self.all():
            policy = model.redrive_policy(other.attributes)
            if policy is not None and policy.dead_letter_arn == queue.arn:
                sources.append(other)
        return sources

    # -- messages -------------------------------------------------------------------------------

    async def send_message(
        self, queue: Queue, body: str, attributes: Mapping[str, MessageAttribute], *, delay_seconds: int | None = None,
        group_id: str | None = None, deduplication_id: str | None = None, consumed_outbox: Sequence[int] = (),
    ) -> Sent:  # fmt: skip
        """Store a message (and remove ``consumed_outbox`` in the same transaction), then hold it
        and wake a receive waiting on the queue. A FIFO queue's duplicate within the window is
        answered as the original was and not stored (its outbox messages are still removed)."""
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
            queue.id, str(uuid.uuid4()), body, messages.encode(attributes), now, now + delay * 1000,
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
        if answer is not None:
            answer.set_result(sent)
        if not queue.deleted:
            queue.add(Held(dataclasses.replace(stored, seq=seq), stored.visible_ms))
            if delay:  # every parked receive looks again at when the next message becomes visible
                queue.waiters.wake_all()
            else:
                queue.waiters.wake(1)
        return sent

    async def receive_from(self, queue: Queue, max_messages: int, wait_seconds: float,
                           visibility_timeout: int | None = None) -> list[Received]:  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait_seconds)
        while True:
            if queue.deleted:
                raise QueueDoesNotExist("The specified queue does not exist.")
            taken = await self._take(queue, max(1, min(10, max_messages)), visibility_timeout)
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

    async def _take(self, queue: Queue, limit: int, visibility_timeout: int | None) -> list[Received] | None:
        """Deliver what ``receiving.choose`` picks now; None when it delivered nothing but moved or
        expired messages (there may be more to deliver behind them)."""
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
            updates.append(MessageState(held.seq, held.visible_ms, held.receive_count, held.first_receive_ms))
            received.append(self._received(queue, held))
        gone = choice.expire + choice.redrive
        for held in gone:
            queue.messages.pop(held.seq, None)
        moved = [dataclasses.replace(h.stored, queue=dlq.id, visible_ms=now, receive_count=0, first_receive_ms=0,
                                     seq=0) for h in choice.redrive] if dlq is not None else []  # fmt: skip
        if updates:
            # Receives parked meanwhile sleep until the deadline they saw: these messages' own
            # (visible again when their timeout ends) may come sooner.
            queue.waiters.wake_all()
        if updates or gone:
            seqs = await self._store.change_queue_messages(moved, updates, [h.seq for h in gone])
            if dlq is not None and not dlq.deleted:
                for stored, seq in zip(moved, seqs):
                    dlq.add(Held(dataclasses.replace(stored, seq=seq), now))
                dlq.waiters.wake(len(moved))
        if not received and gone:
            return None
        return received

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
        decoded = messages.decode(stored.attributes)
        return Received(
            message_id=stored.message_id, receipt_handle=receipt_handle(queue.name, held),
            body=stored.body, md5_of_body=messages.md5_of_body(stored.body), attributes=attributes,
            message_attributes=decoded, md5_of_message_attributes=messages.md5_of_attributes(decoded),
        )  # fmt: skip

    def _held(self, queue: Queue, handle: str) -> Held | None:
        """The message a receipt handle names if it is still the latest receive's; ReceiptHandleIsInvalid
        if it is not a handle (of this queue) at all."""
        name, seq, count = parse_receipt_handle(handle)
        if name != queue.name:
            raise ReceiptHandleIsInvalid(f'The input receipt handle "{handle}" is not a valid receipt handle.')
        held = queue.messages.get(seq)
        return held if held is not None and held.receive_count == count else None

    async def delete_message(self, queue: Queue, handle: str) -> None:
        """DeleteMessage: a handle of a message deleted already, or received again since, is not an error."""
        (invalid,) = await self.delete_messages(queue, [handle])
        if invalid is not None:
            raise invalid

    async def delete_messages(self, queue: Queue, handles: Sequence[str]) -> list[ReceiptHandleIsInvalid | None]:
        """DeleteMessage for each handle, in one store transaction: per handle, the error if it is not
        a receipt handle of this queue, else None (deleted; or deleted already, or received again
        since, which is not an error)."""
        outcomes: list[ReceiptHandleIsInvalid | None] = []
        gone = []
        for handle in handles:
            try:
                held = self._held(queue, handle)
            except ReceiptHandleIsInvalid as exc:
                outcomes.append(exc)
                continue
            outcomes.append(None)
            if held is not None and queue.messages.pop(held.seq, None) is not None:
                gone.append(held.seq)
        if gone:
            await self._store.change_queue_messages(deletes=gone)
        return outcomes

    async def change_message_visibility(self, queue: Queue, handle: str, timeout: int, *, strict: bool = True) -> None:
        if not 0 <= timeout <= MAX_VISIBILITY_S:
            raise InvalidParameterValue(f"Value {timeout} for parameter VisibilityTimeout is invalid. "
                                        f"Reason: Must be between 0 and {MAX_VISIBILITY_S}, if provided.")  # fmt: skip
        held = self._held(queue, handle)
        now = self._now_ms()
        if held is None or not held.in_flight(now):
            if not strict:
                return
            if held is None:
                raise InvalidParameterValue(
                    f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is "
                    "not available for visibility timeout change."
                )
            raise MessageNotInflight("The message referred to isn't in flight.")
        held.visible_ms = now + timeout * 1000
        await self._store.change_queue_messages(
            updates=[MessageState(held.seq, held.visible_ms, held.receive_count, held.first_receive_ms)]
        )
        queue.waiters.wake_all()  # visible sooner than a parked receive expects, perhaps


def sequence_number(seq: int) -> str:
    """A FIFO message's SequenceNumber: increasing with the store's order, as long as SQS's."""
    return f"{seq:020d}"


def receipt_handle(queue: str, held: Held) -> str:
    """A handle naming the message and the receive it was given for (a later receive makes it stale)."""
    raw = f"{queue}\n{held.seq}\n{held.receive_count}\n{held.stored.message_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def parse_receipt_handle(handle: str) -> tuple[str, int, int]:
    """``(queue name, seq, receive count)``; ReceiptHandleIsInvalid if ``handle`` is not one of ours."""
    try:
        name, seq, count, _ = base64.urlsafe_b64decode(handle.encode()).decode().split("\n")
        return name, int(seq), int(count)
    except (ValueError, binascii.Error, UnicodeError):
        raise ReceiptHandleIsInvalid(f'The input receipt handle "{handle}" is not a valid receipt handle.') from None

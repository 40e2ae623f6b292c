"""Queues' lifecycle and attributes: CreateQueue, SetQueueAttributes, GetQueueAttributes, tags,
DeleteQueue, PurgeQueue and the dead-letter sources of a queue, written through the store.

As SQS does, a queue's name cannot be used again for 60 seconds after the queue is deleted
(``QueueDeletedRecently``). The deletion is stored with the queue's removal (resource kind
``sqs/deleted``), so a restart keeps the wait; the record goes when the name is used again, or at
the first load after the wait."""

from __future__ import annotations

import time
import uuid
from typing import Mapping, Sequence

from lamina.queues import model, receiving
from lamina.queues.errors import InvalidParameterValue, PurgeQueueInProgress, QueueDeletedRecently, QueueNameExists
from lamina.queues.queue import Queue
from lamina.queues.registry import DELETED_KIND, KIND, QUEUE_KINDS, Registry
from lamina.store.base import Resource

PURGE_INTERVAL_S = 60.0
REUSE_AFTER_MS = 60_000  # how long a deleted queue's name stays unusable


def deleted_recently(deleted_ms: int | None, now_ms: int) -> bool:
    """Whether a queue deleted at ``deleted_ms`` (None: none was) still blocks its name at ``now_ms``."""
    return deleted_ms is not None and now_ms - deleted_ms < REUSE_AFTER_MS


class Control(Registry):
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
        deleted_ms = self._deleted.get(name)
        if deleted_recently(deleted_ms, self._now_ms()):
            raise QueueDeletedRecently(
                "You must wait 60 seconds after deleting a queue before you can create another queue with the same "
                "name."
            )
        now = int(self._clock())
        queue = Queue(uuid.uuid4().hex, name, self.arn_of(name), {}, dict(tags), now, now)
        self._check_redrive(queue, values)
        queue.attributes = {k: v for k, v in values.items() if v != ""}
        self._queues[name] = queue  # before the write: a concurrent create of the name finds it
        self._deleted.pop(name, None)
        forgotten = [(DELETED_KIND, name)] if deleted_ms is not None else []
        try:
            await self._store.change_resources(puts=[Resource(KIND, name, queue.doc())], deletes=forgotten)
        except BaseException:
            self._queues.pop(name, None)
            if deleted_ms is not None:
                self._deleted[name] = deleted_ms
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

    async def load_deletions(self) -> None:
        """Read back the names deleted less than a minute ago; forget the others."""
        now, stale = self._now_ms(), []
        for resource in await self._store.list_resources(DELETED_KIND):
            at = resource.doc.get("at")
            if isinstance(at, int) and deleted_recently(at, now):
                self._deleted[resource.key] = at
            else:
                stale.append((DELETED_KIND, resource.key))
        if stale:
            await self._store.change_resources(deletes=stale)

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
        self._policies.forget(queue.arn)
        self._deleted[queue.name] = now = self._now_ms()
        queue.waiters.wake_all()  # long polls on it answer (QueueDoesNotExist)
        # Its FIFO windows and message move tasks go with it (windows.py, moving.py).
        owned = [(kind, f"{queue.id}/") for kind in QUEUE_KINDS]
        await self._store.change_resources(puts=[Resource(DELETED_KIND, queue.name, {"at": now})],
                                           deletes=[(KIND, queue.name)], delete_prefixes=owned)  # fmt: skip
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

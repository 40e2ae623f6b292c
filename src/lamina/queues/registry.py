"""The queues a server has, found by name, ARN or URL: the state every part of ``Queues`` shares
(the store, the settings, the clock, the queues by name)."""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from lamina.iam.policy import Policy
from lamina.queues import access, model, windows
from lamina.queues.errors import MissingParameter, QueueDoesNotExist
from lamina.queues.queue import Queue
from lamina.settings import Settings
from lamina.store.base import Resource
from lamina.store.aggregates import Store

KIND = "sqs/queue"
DELETED_KIND = "sqs/deleted"  # a queue's name, deleted: when (``{"at": <epoch ms>}``)
MOVE_TASK_KIND = "sqs/move-task"  # a message move task (moving.py), key ``<source queue id>/<handle>``
QUEUE_KINDS = (*windows.KINDS, MOVE_TASK_KIND)  # what is stored of a queue's, keyed ``<queue id>/...``


class Registry:
    def __init__(self, store: Store, settings: Settings, *, base_url: str,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self._store = store
        self._settings = settings
        self._base_url = base_url  # for QueueInfo.url; the API answers with the request's own host
        self._clock = clock
        self._queues: dict[str, Queue] = {}
        self._deleted: dict[str, int] = {}  # name -> when (epoch ms) a queue of that name was deleted
        self.generation = 0  # how many queues were created: the outbox relay looks again when it changes
        self._closing = False
        self._movers: dict[str, asyncio.Task[None]] = {}  # running message move tasks, by handle (moving.py)
        self._move_wakes: dict[str, asyncio.Event] = {}  # set to cancel one now
        self._windows = windows.Expiries()  # the stored FIFO window entries, to remove when they end
        self._policies = access.Policies()
        self._senders = access.ServiceSenders(settings.development_mode, policies=self._policies)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def _store_window(self, entry: Resource, until_ms: int) -> None:
        """Write a FIFO window's entry (windows.py), removing those that have ended meanwhile."""
        self._windows.add(entry.kind, entry.key, until_ms)
        await self._store.change_resources(puts=[entry], deletes=self._windows.due(self._now_ms()))

    def arn_of(self, name: str) -> str:
        return model.arn(self._settings.region, self._settings.account_id, name)

    def url_of(self, name: str, base: str | None = None) -> str:
        return model.url(base or self._base_url, self._settings.account_id, name)

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

    def policy(self, arn: str) -> Policy | None:
        """The policy of the queue with this ARN (None: no such queue, or it has none)."""
        queue = self.by_arn(arn)
        return self._policies.of(queue) if queue is not None else None

    def service_may_send(self, arn: str, service: str, source_arn: str) -> bool:
        """Whether the queue's policy lets ``service`` (``events.amazonaws.com``, ...) send to it for
        ``source_arn`` (a resource of this account); in the development mode, logged and allowed.
        False for a queue that does not exist."""
        queue = self.by_arn(arn)
        return queue is not None and self._senders.allowed(queue, service, source_arn, self._settings.account_id)

    def names(self) -> list[str]:
        return sorted(self._queues)

    def all(self) -> list[Queue]:
        return [self._queues[name] for name in sorted(self._queues)]

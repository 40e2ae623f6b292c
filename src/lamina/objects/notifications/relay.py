"""S3's notifications for functions, taken from the outbox and invoked asynchronously.

The object store commits a change's notifications in the outbox (``service.py``) and wakes this
owned task (``lamina-objects-relay``, an ``OutboxFollower``). It takes each ``NOTIFICATION``
addressed to a function of this server and invokes it as S3 does, asynchronously (``Event``: the
durable queue takes it over, with the function's retries, destinations and dead-letter queue), then
removes the message from the outbox. A batch's invocations are made together (they share the
store's group commits; S3 does not promise an order either: the sequencer tells) and its messages
removed in one write after them. Each invocation is stored before its message is removed: a crash
between them delivers the event twice (at least once, as S3's notifications are).

A function that does not exist any more is logged and the message dropped, as S3 drops it. An
invocation refused for now (the function's queue is full, 429; a fault, 5xx) leaves the message in
the outbox and the whole outbox is looked at again next time. A function of another region or
account is not this server's: its messages wait in the outbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Protocol

from lamina.control.targets import parse_function_arn
from lamina.errors import ApiError, ResourceNotFound
from lamina.invoke.service import EVENT, InvokeRequest, InvokeSource
from lamina.outbox import OutboxFollower
from lamina.settings import Settings
from lamina.store.base import NOTIFICATION, OutboxMessage
from lamina.store.aggregates import OutboxStore

log = logging.getLogger(__name__)
LAMBDA_ARN = "arn:aws:lambda:"


class Invokes(Protocol):
    """What the relay needs of ``invoke.service.Invoker``."""

    async def invoke(self, request: InvokeRequest) -> object: ...


class NotificationRelay(OutboxFollower):
    def __init__(self, store: OutboxStore, invoker: Invokes, settings: Settings) -> None:
        super().__init__(store, settings.events_outbox_poll_seconds, "lamina-objects-relay")
        self._invoker = invoker
        self._settings = settings
        self._again = False  # a message was left for later: look at the whole outbox next time

    async def relay_once(self) -> int:
        if self._again:
            self._again = False
            self.rewind()
        found = await self.next_batch()
        self.looked_at(found)
        ours = [m for m in found if self._ours(m)]
        done = await asyncio.gather(*(self._invoke(m) for m in ours))
        finished = [m.id for m, removable in zip(ours, done) if removable]
        if finished:
            await self._store.delete_outbox(finished)
        return len(found)

    async def take(self, message: OutboxMessage) -> None:
        if self._ours(message) and await self._invoke(message):
            await self._store.delete_outbox([message.id])

    def _ours(self, message: OutboxMessage) -> bool:
        if message.kind != NOTIFICATION or not message.target.startswith(LAMBDA_ARN):
            return False
        function = parse_function_arn(message.target)
        return function is not None and function.is_local(self._settings)

    async def _invoke(self, message: OutboxMessage) -> bool:
        """Invoke the message's function; whether the message may go (invoked, or dropped as S3 drops it)."""
        function = parse_function_arn(message.target)
        assert function is not None
        try:
            await self._invoker.invoke(InvokeRequest(
                function=function.name, qualifier=function.qualifier, payload=message.body, invocation_type=EVENT,
                source=InvokeSource("s3.amazonaws.com", f"arn:aws:s3:::{_bucket(message.body)}",
                                    self._settings.account_id),
            ))  # fmt: skip
        except ResourceNotFound:
            log.warning("S3 notification %s for %s dropped: the function does not exist",
                        message.request_id, message.target)  # fmt: skip
        except ApiError as exc:
            if exc.status == 429 or exc.status >= 500:
                self._again = True
                return False
            log.warning("S3 notification %s for %s dropped: %s", message.request_id, message.target, exc.message)
        except Exception:  # a fault of this server: the message stays, and is looked at again
            log.exception("S3 notification %s for %s: the invocation failed", message.request_id, message.target)
            self._again = True
            return False
        return True


def _bucket(body: bytes) -> str:
    """The bucket an S3 event record names (its notification's source), "" if it names none."""
    try:
        record = json.loads(body)["Records"][0]["s3"]["bucket"]["name"]
    except (ValueError, LookupError, TypeError):
        return ""
    return record if isinstance(record, str) else ""

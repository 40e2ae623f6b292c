"""Subscription filters' delivery: the owned task (``lamina-log-subscriptions``) that reads each
filter's new log lines after its checkpoint, keeps those its pattern matches and invokes the
destination function asynchronously with them, in CloudWatch Logs' ``awslogs`` payloads
(subscriptions.py), one log stream's events each.

At least once: a checkpoint (a cursor per function of the group, stored) advances past a batch only
once its ``Event`` invocation was accepted (stored in the asynchronous queue, which retries it as
the function's configuration says). An invocation refused for now (429, a fault) stops the filter
until the next turn, from the first batch not accepted; a stop or crash in between delivers some
batches again, with the same event ids. A destination that no longer exists, or whose policy no
longer allows CloudWatch Logs, loses the batch (said in the log), as CloudWatch Logs gives up.

Loops: the destination's own lines are never delivered to it, whichever group they are in (a
filter on its group is refused; a group it shares with others, by LoggingConfig, skips its lines).
What a destination's invocation makes other functions print may still come back to it through them;
Lambda's recursion detection does not see that either.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from lamina.control.targets import parse_function_arn
from lamina.errors import ApiError, ResourceNotFound
from lamina.invoke.service import EVENT, InvokeRequest
from lamina.logs import subscriptions as sub
from lamina.logs.patterns import FilterPatternError, compile_pattern
from lamina.logs.service import Subscriptions
from lamina.logs.subscriptions import Checkpoint, SubscriptionFilter
from lamina.settings import Settings
from lamina.store.base import LogWindow
from lamina.store.aggregates import LogStore
from lamina.tasks import cancel_and_wait

log = logging.getLogger(__name__)

PAGE = 500  # lines read a function a turn: up to 128 MB if every one is as long as a line may be
POLL_SECONDS = 0.5  # between turns that found nothing more to read


class Invokes(Protocol):
    """What the delivery needs of ``invoke.service.Invoker``."""

    async def invoke(self, request: InvokeRequest) -> object: ...


class Refused(Exception):
    """An invocation refused for now: the filter waits for the next turn."""


class SubscriptionDelivery:
    def __init__(self, subscriptions: Subscriptions, store: LogStore, invoker: Invokes, settings: Settings,
                 poll_seconds: float = POLL_SECONDS) -> None:  # fmt: skip
        self._subscriptions = subscriptions
        self._store = store
        self._invoker = invoker
        self._settings = settings
        self._poll = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._warned: set[tuple[str, str]] = set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="lamina-log-subscriptions")

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            more = False
            try:
                more = await self.deliver_once()
            except Exception:
                log.exception("log subscription delivery failed; trying again")
            if not more:
                await asyncio.sleep(self._poll)

    async def deliver_once(self) -> bool:
        """One turn over every filter; whether some function had more lines than a page."""
        filters = self._subscriptions.filters()
        if not filters:
            return False
        groups = await self._subscriptions.groups()
        more = False
        for made in filters:
            more = await self._deliver_filter(made, groups.get(made.group, [])) or more
        return more

    async def _deliver_filter(self, made: SubscriptionFilter, functions: list[str]) -> bool:
        destination = parse_function_arn(made.destination)
        if destination is None:
            return False
        try:
            match = compile_pattern(made.pattern)
        except FilterPatternError:  # checked when it was put
            return False
        checkpoint = self._subscriptions.checkpoint(made.key)
        cursors = dict(checkpoint.cursors)
        more = False
        try:
            for function in functions:
                since = cursors.get(function)
                window = None if since is not None else LogWindow(start_ms=checkpoint.since_ms)
                page = await self._store.read_logs(function, -1 if since is None else since, PAGE, window)
                if not page:
                    continue
                more = more or len(page) == PAGE
                # The destination's own lines never go to it: they would come back as more lines.
                matched = [e for e in page if function != destination.name and match(e.message)]
                for batch in sub.batches(matched):
                    for events, payload in sub.payloads(self._settings.account_id, made.group, made.name, batch,
                                                        self._settings.limits.async_payload_bytes):  # fmt: skip
                        await self._invoke(made, destination.name, destination.qualifier, payload)
                        cursors[function] = events[-1].cursor
                cursors[function] = page[-1].cursor
        except Refused:
            more = False
        if cursors != checkpoint.cursors:
            await self._subscriptions.advance(made, Checkpoint(checkpoint.since_ms, cursors))
        return more

    async def _invoke(self, made: SubscriptionFilter, function: str, qualifier: str | None, payload: bytes) -> None:
        try:
            await self._invoker.invoke(InvokeRequest(
                function=function, qualifier=qualifier, payload=payload, invocation_type=EVENT, built=True,
                source=self._subscriptions.source(made.group),
            ))  # fmt: skip
        except ResourceNotFound as exc:
            self._warn(made, f"dropped: its destination does not exist ({exc.message})")
        except ApiError as exc:
            if exc.status == 429 or exc.status >= 500:
                raise Refused() from exc
            self._warn(made, f"dropped: {exc.message}")
        except Exception as exc:
            log.exception("log subscription %s of %s: the invocation failed", made.name, made.group)
            raise Refused() from exc

    def _warn(self, made: SubscriptionFilter, what: str) -> None:
        if (made.key, what) not in self._warned:
            self._warned.add((made.key, what))
            log.warning("log subscription %s of %s: log events %s", made.name, made.group, what)

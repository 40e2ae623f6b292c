"""The durable asynchronous-invocation queue and its workers.

``accept`` writes an event to the store (committed) before the caller is told 202. Workers (owned
tasks, ``settings.async_workers`` of them) take due events, invoke the function through the same
admission as synchronous calls, and then, in one store transaction, remove the event and enqueue
its destination's invocation record (a Lambda destination is itself an asynchronous invocation).
A function error is retried per the function's event-invoke configuration (``invoke/retry.py``);
a throttled attempt holds the function's events back with backoff (their order kept) and is
never dropped. An attempt cut short by a crash or a
shutdown leaves its event in the store, so it runs again at the next start: at-least-once
delivery, with duplicates recognisable by their request id.

Fairness: events are kept per function, ordered by when they are due; a worker takes from the
function served least recently that has a due event and is not held back by a throttle, so one
busy or throttled function cannot starve others.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import json
import logging
import re
import time
import uuid
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Callable, Protocol

from lamina.control.event_config import EventConfigService
from lamina.control.targets import LATEST
from lamina.errors import ApiError, ResourceNotFound, TooManyRequests
from lamina.invoke import retry
from lamina.model import FunctionConfig
from lamina.sandbox.environment import Outcome
from lamina.settings import Settings
from lamina.store.base import QueuedEvent, Store

log = logging.getLogger(__name__)

# How long a worker waits before taking an event again after an unexpected error with it.
ERROR_BACKOFF_MS = 1000
_LAMBDA_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[^:]+):(?P<account>\d{12}):function:(?P<name>[a-zA-Z0-9-_]+)"
    r"(:(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$"
)


class Runner(Protocol):
    """Runs one attempt of an event (the Invoker): the version that ran and its outcome."""

    async def attempt(self, event: QueuedEvent) -> tuple[FunctionConfig, Outcome]: ...


class DestinationTarget(Protocol):
    """Where an invocation record goes: returns the queued event that delivers it (written in the same
    transaction that finishes the source event), or None when this target delivers nothing."""

    def prepare(self, arn: str, record: bytes, now_ms: int) -> QueuedEvent | None: ...


class LambdaDestination:
    """A function of this server: the record is its event, invoked asynchronously."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def prepare(self, arn: str, record: bytes, now_ms: int) -> QueuedEvent | None:
        match = _LAMBDA_ARN.match(arn)
        if match is None or (match["region"], match["account"]) != (self._settings.region, self._settings.account_id):
            log.warning("destination %s is not a function of this server; record dropped", arn)
            return None
        return QueuedEvent(str(uuid.uuid4()), match["name"], match["qualifier"], record, None, now_ms, now_ms)


def _ms() -> int:
    return int(time.time() * 1000)


class AsyncQueue:
    def __init__(
        self, store: Store, runner: Runner, event_configs: EventConfigService, settings: Settings,
        clock: Callable[[], int] = _ms,
    ) -> None:  # fmt: skip
        self._store = store
        self._runner = runner
        self._configs = event_configs
        self._settings = settings
        self._now = clock
        # Destinations by the service of their ARN; Lamina's own queues and buses plug in here.
        self.destinations: dict[str, DestinationTarget] = {"lambda": LambdaDestination(settings)}
        self._ready: OrderedDict[str, list[tuple[int, int, QueuedEvent]]] = OrderedDict()
        self._in_flight: dict[str, int] = {}
        # A throttled function is held back as a whole (its events keep their place): until when, and
        # how many times in a row it was throttled (the backoff doubles with each).
        self._blocked: dict[str, int] = {}
        self._throttles: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._busy = 0
        self._taking = True
        self._workers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Load what an earlier run left in the queue and start the workers."""
        for event in await self._store.list_queued_events():
            self._push(event)
        self._workers = [
            asyncio.create_task(self._work(), name=f"lamina-async-worker-{i}")
            for i in range(self._settings.async_workers)
        ]

    async def accept(
        self, function: str, qualifier: str | None, payload: bytes, request_id: str, client_context: str | None
    ) -> None:
        """Store an event durably (this returns once it is committed) and queue it."""
        now = self._now()
        event = QueuedEvent(request_id, function, qualifier, payload, client_context, now, now)
        seq = await self._store.enqueue_event(event)
        self._push(dataclasses.replace(event, seq=seq))

    def depth(self) -> list[dict[str, object]]:
        """Per function: queued events, the oldest's age in seconds, events being attempted now."""
        now = self._now()
        names = sorted(set(self._ready) | {n for n, c in self._in_flight.items() if c})
        rows: list[dict[str, object]] = []
        for name in names:
            heap = self._ready.get(name, [])
            oldest = min((e.enqueued_ms for _, _, e in heap), default=None)
            rows.append({
                "function": name, "depth": len(heap), "inFlight": self._in_flight.get(name, 0),
                "oldestAgeSeconds": round((now - oldest) / 1000, 3) if oldest is not None else 0,
            })  # fmt: skip
        return rows

    def stop_taking(self) -> None:
        """Shutdown begins: attempts in progress finish, no new one starts (the rest stay stored)."""
        self._taking = False
        self._wake.set()

    async def drain(self, deadline: float) -> bool:
        """Wait until no attempt is in progress, at most until ``deadline`` (monotonic)."""
        try:
            await asyncio.wait_for(self._idle.wait(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop the workers; an attempt cut short keeps its event in the store for the next start."""
        self.stop_taking()
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    def _push(self, event: QueuedEvent) -> None:
        heapq.heappush(self._ready.setdefault(event.function, []), (event.next_ms, event.seq, event))
        self._wake.set()

    async def _take(self) -> QueuedEvent | None:
        """The next due event, fairly across functions; None once the queue stops taking."""
        while self._taking:
            now = self._now()
            earliest: int | None = None
            for name, heap in self._ready.items():
                due, _, event = heap[0]
                due = max(due, self._blocked.get(name, 0))
                if due <= now:
                    heapq.heappop(heap)
                    self._ready.move_to_end(name)  # served: now the last in line
                    if not heap:
                        del self._ready[name]
                    return event
                earliest = due if earliest is None else min(earliest, due)
            self._wake.clear()
            timeout = None if earliest is None else max(0.0, (earliest - now) / 1000)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass
        return None

    async def _work(self) -> None:
        while True:
            event = await self._take()
            if event is None:
                return
            self._busy += 1
            self._idle.clear()
            self._in_flight[event.function] = self._in_flight.get(event.function, 0) + 1
            try:
                await self._attempt(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("asynchronous invocation %s of %s: unexpected error; retrying it later",
                              event.request_id, event.function)  # fmt: skip
                self._push(dataclasses.replace(event, next_ms=self._now() + ERROR_BACKOFF_MS))
            finally:
                self._in_flight[event.function] -= 1
                if not self._in_flight[event.function]:
                    del self._in_flight[event.function]
                self._busy -= 1
                if self._busy == 0:
                    self._idle.set()

    def _policy(self, event: QueuedEvent) -> tuple[retry.Policy, str | None, str | None]:
        config = self._configs.event_invoke_config(event.function, event.qualifier or LATEST)
        s = self._settings
        policy = retry.policy_for(config, s.async_retry_delays, s.async_throttle_seconds)
        return policy, config.on_success if config else None, config.on_failure if config else None

    async def _attempt(self, event: QueuedEvent) -> None:
        policy, on_success, on_failure = self._policy(event)
        if retry.expired(event.enqueued_ms, self._now(), policy):
            await self._finish(event, on_failure, retry.EVENT_AGE_EXCEEDED, event.attempts, None, None)
            return
        try:
            fn, outcome = await self._runner.attempt(event)
        except TooManyRequests:
            now = self._now()
            name = event.function
            # Attempts taken before the function was held back count as the same throttle.
            throttles = self._throttles.get(name, 0) + (0 if self._blocked.get(name, 0) > now else 1)
            decision = retry.after_throttle(throttles, event.enqueued_ms, now, policy)
            if isinstance(decision, retry.Retry):
                self._throttles[name] = throttles
                self._blocked[name] = max(self._blocked.get(name, 0), decision.at_ms)
                self._push(event)
            else:
                await self._finish(event, on_failure, decision.condition, event.attempts, None, None)
            return
        except ResourceNotFound:
            log.warning("asynchronous invocation %s: function %s no longer exists; event dropped",
                        event.request_id, event.function)  # fmt: skip
            await self._finish(event, None, retry.EVENT_AGE_EXCEEDED, event.attempts, None, None)
            return
        except ApiError as exc:  # the function cannot run now (failed state, environments exiting)
            log.warning("asynchronous invocation %s of %s failed: %s", event.request_id, event.function, exc)
            fn, outcome = None, None
        self._throttles.pop(event.function, None)  # admitted: the function is no longer held back
        self._blocked.pop(event.function, None)
        attempts = event.attempts + 1
        if outcome is not None and outcome.result.ok:
            await self._finish(event, on_success, retry.SUCCESS, attempts, fn, outcome)
            return
        decision = retry.after_failure(attempts, event.enqueued_ms, self._now(), policy)
        if isinstance(decision, retry.Retry):
            await self._store.reschedule_event(event.seq, attempts, decision.at_ms)
            self._push(dataclasses.replace(event, attempts=attempts, next_ms=decision.at_ms))
            return
        log.info("asynchronous invocation %s of %s abandoned: %s", event.request_id, event.function, decision.condition)
        await self._finish(event, on_failure, decision.condition, attempts, fn, outcome)

    async def _finish(
        self, event: QueuedEvent, destination: str | None, condition: str, attempts: int,
        fn: FunctionConfig | None, outcome: Outcome | None,
    ) -> None:  # fmt: skip
        """Remove ``event`` and, in the same transaction, enqueue its record for ``destination``."""
        follow_up = None
        if destination is not None:
            now = self._now()
            record = invocation_record(self._settings, event, condition, attempts, fn, outcome, now)
            target = self.destinations.get(destination.split(":")[2] if destination.count(":") >= 2 else "")
            if target is None:
                log.warning("destination %s is not available in Lamina yet; record of %s dropped",
                            destination, event.request_id)  # fmt: skip
            else:
                follow_up = target.prepare(destination, record, now)
        seq = await self._store.finish_event(event.seq, follow_up)
        if follow_up is not None and seq is not None:
            self._push(dataclasses.replace(follow_up, seq=seq))


def invocation_record(
    settings: Settings, event: QueuedEvent, condition: str, attempts: int,
    fn: FunctionConfig | None, outcome: Outcome | None, now_ms: int,
) -> bytes:  # fmt: skip
    """AWS's destination invocation record for ``event``."""
    stamp = datetime.fromtimestamp(now_ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    doc: dict[str, object] = {
        "version": "1.0",
        "timestamp": stamp,
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": settings.function_arn(event.function, event.qualifier or LATEST),
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": _json(event.payload),
    }
    if outcome is not None and fn is not None:
        response: dict[str, object] = {"statusCode": 200, "executedVersion": fn.version}
        if not outcome.result.ok:
            response["functionError"] = "Unhandled"
        doc["responseContext"] = response
        doc["responsePayload"] = _json(outcome.result.body)
    return json.dumps(doc).encode()


def _json(body: bytes) -> object:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", "replace")

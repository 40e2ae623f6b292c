"""The durable asynchronous-invocation queue and its workers.

``accept`` writes an event to the store (committed) before the caller is told 202. Workers (owned
tasks, as many as the account's concurrency unless ``settings.async_workers`` says otherwise)
take due events, invoke the function through the same admission as synchronous calls, and then,
in one store transaction, remove the event and write what it leaves behind: its destination's
invocation record (a Lambda destination is itself an asynchronous invocation) and, for an event
given up on, its dead letter. Records and dead letters
for targets Lamina does not serve yet (SQS, SNS, EventBridge, S3) wait in the store's outbox, where
those services will take them from. Each is sent only if the function's execution role may send
to its target (``check_sends_with``: iam/destinations.py); one it may not is logged and counted
lost (``lost``), as Lambda's DeadLetterErrors and DestinationDeliveryFailures count it.

A function error is retried per the function's event-invoke configuration (``invoke/retry.py``);
a throttled attempt holds the function's events back with backoff (their order kept) and is
never dropped; a function whose reserved concurrency is 0 takes no event, so its events go to
their failure targets at once, as on Lambda. An attempt cut short by a crash or a shutdown leaves
its event in the store, so it runs again at the next start: at-least-once delivery, with
duplicates recognisable by their request id.

Fairness: events are kept per function, ordered by when they are due; a worker takes from the
function served least recently that has a due event and is not held back by a throttle, so one
busy or throttled function cannot starve others.

Acceptance first: the event loop that runs attempts also answers the API, so how many attempts
may keep it busy at once is paced (``invoke/pacing.py``): fewer while events are being accepted.

Memory: the queue keeps what scheduling needs of each event (``QueuedEvent``: ids, function,
qualifier, due time, attempts, size); its content stays in the store, is read once an attempt is
admitted (a throttled one reads nothing) and dropped when it ends. The content of events this
process accepted is also kept for their first admitted attempt (``FreshContent``: at most
``FRESH_BYTES`` in all, the oldest dropped first), so that a delivery that keeps pace with
acceptance reads nothing back from the store. Each function may have at most a
quota of events and bytes stored (``invoke/quota.py``); an ``Invoke`` beyond it is refused with
``TooManyRequestsException``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import logging
import time
from collections import OrderedDict
from typing import Awaitable, Callable, Protocol

from lamina import ids
from lamina.control.targets import LATEST, parse_function_arn
from lamina.errors import ApiError, ResourceNotFound, TooManyRequests
from lamina.invoke import retry
from lamina.invoke.claims import ClaimKeeper
from lamina.invoke.records import Ending, dead_letter_attributes, error_message, invocation_record
from lamina.invoke.quota import Quota, Usage, refusal
from lamina.invoke.pacing import ActiveAttempts
from lamina.model import EventInvokeConfig, FunctionConfig
from lamina.sandbox.provider import Outcome
from lamina.settings import Settings
from lamina.store.base import DEAD_LETTER, DESTINATION, EventContent, NewEvent, OutboxMessage, QueuedEvent
from lamina.store.aggregates import EventClaims, EventQueueStore
from lamina.tasks import Waiters, wait_set

log = logging.getLogger(__name__)

# How long a worker waits before taking an event again after an unexpected error with it.
ERROR_BACKOFF_MS = 1000


# What a record or dead letter the execution role may not send counts towards (Lambda's metrics).
DEAD_LETTER_LOST = "DeadLetterErrors"
DESTINATION_LOST = "DestinationDeliveryFailures"
RECEIVED = "AsyncEventsReceived"

# An event's content, read from the store when it is first awaited.
ContentSource = Callable[[], Awaitable[EventContent]]


class Runner(Protocol):
    """Runs the attempts of events (the Invoker)."""

    async def attempt(self, event: QueuedEvent, content: ContentSource) -> tuple[FunctionConfig, Outcome]:
        """One attempt: the version that ran and its outcome (raises ``TooManyRequests`` when throttled).
        ``content`` is awaited only once the attempt is admitted: a throttled attempt reads nothing."""
        ...

    def configuration(self, event: QueuedEvent) -> FunctionConfig | None:
        """The configuration the event's qualifier names now (None: the function is gone)."""
        ...

    def turned_off(self, function: str) -> bool:
        """Whether ``function`` takes no invocations at all (its reserved concurrency is 0)."""
        ...


class EventConfigs(Protocol):
    """Where the queue reads each function's event-invoke configuration (``EventConfigService``)."""

    def event_invoke_config(self, function: str, qualifier: str = LATEST) -> EventInvokeConfig | None: ...


def _ms() -> int:
    return int(time.time() * 1000)


class _Unstored(Exception):
    """The event is no longer in the store (finished already): there is nothing to attempt."""


# The content of freshly accepted events kept in memory for their first attempt (FreshContent).
FRESH_BYTES = 4 * 1024 * 1024


class FreshContent:
    """The content of events accepted by this process, by seq, until their first admitted attempt
    takes it: at most ``limit`` bytes in all (the oldest dropped first: their attempts read the
    store); an event larger than a sixteenth of that is never kept."""

    def __init__(self, limit: int = FRESH_BYTES) -> None:
        self._limit = limit
        self._items: OrderedDict[int, EventContent] = OrderedDict()
        self._bytes = 0

    def keep(self, seq: int, content: EventContent) -> None:
        if content.size > self._limit // 16:
            return
        self._items[seq] = content
        self._bytes += content.size
        while self._bytes > self._limit:
            _, oldest = self._items.popitem(last=False)
            self._bytes -= oldest.size

    def take(self, seq: int) -> EventContent | None:
        content = self._items.pop(seq, None)
        if content is not None:
            self._bytes -= content.size
        return content

    @property
    def bytes(self) -> int:
        return self._bytes


class StoredContent:
    """One attempt's view of its event's content: taken from ``fresh`` or read from the store the
    first time it is asked for, then kept until the attempt ends (and this object with it)."""

    def __init__(self, store: EventQueueStore, seq: int, fresh: FreshContent | None = None) -> None:
        self._store = store
        self._seq = seq
        self._fresh = fresh
        self._content: EventContent | None = None

    async def read(self) -> EventContent:
        if self._content is None and self._fresh is not None:
            self._content = self._fresh.take(self._seq)
        if self._content is None:
            self._content = await self._store.read_event_content(self._seq)
            if self._content is None:
                raise _Unstored(self._seq)
        return self._content


class AsyncQueue:
    def __init__(
        self, store: EventQueueStore, runner: Runner, event_configs: EventConfigs, settings: Settings,
        clock: Callable[[], int] = _ms,
    ) -> None:  # fmt: skip
        self._store = store
        # Among replicas on one store, the events this one holds (invoke/claims.py); None: all of them.
        self._claims = ClaimKeeper(store, clock, self._take_over) if isinstance(store, EventClaims) else None
        self._runner = runner
        self._configs = event_configs
        self._settings = settings
        self._now = clock
        self._ready: OrderedDict[str, list[tuple[int, int, QueuedEvent]]] = OrderedDict()
        # Per function, (enqueued_ms, seq) of every event not finished yet, oldest first, and the seqs
        # finished but not popped yet: the oldest unfinished event's age without a scan.
        self._unfinished: dict[str, list[tuple[int, int]]] = {}
        self._finished: set[int] = set()
        self._in_flight: dict[str, int] = {}
        # Per function, what it has stored (waiting or being attempted), against its quota.
        self._usage: dict[str, Usage] = {}
        self._quota = Quota(settings.async_queue_events, settings.async_queue_bytes)
        # A throttled function is held back as a whole (its events keep their place): until when, and
        # how many times in a row it was throttled (the backoff doubles with each).
        self._blocked: dict[str, int] = {}
        self._throttles: dict[str, int] = {}
        self._idle_workers = Waiters()  # a new event wakes one of them, not all
        self._idle = asyncio.Event()
        self._idle.set()
        self._busy = 0
        self._active = ActiveAttempts()
        self._fresh = FreshContent()
        self._taking = True
        self._workers: list[asyncio.Task[None]] = []
        self._may_send: Callable[[str, str], bool] | None = None  # IAM's (check_sends_with)
        self._lost: dict[tuple[str, str], int] = {}  # (function, metric) -> records and dead letters not sent
        self._dead_lettered: Callable[[str], None] = lambda function: None
        self._counted: Callable[[str, str, str | None], None] = lambda metric, function, qualifier: None

    def count_metrics_with(self, counted: Callable[[str, str, str | None], None]) -> None:
        """Tell ``counted(metric, function, qualifier)`` (CloudWatch's metrics) of every event accepted
        (``AsyncEventsReceived``) and every dead letter and destination record lost (``DeadLetterErrors``,
        ``DestinationDeliveryFailures``)."""
        self._counted = counted

    def count_dead_letters_with(self, dead_lettered: Callable[[str], None]) -> None:
        """Tell ``dead_lettered`` (the metrics) the function of every event sent to its dead-letter queue."""
        self._dead_lettered = dead_lettered

    async def start(self) -> None:
        """Load what an earlier run left in the queue (among replicas: what no other holds) and start
        the workers."""
        if self._claims is None:
            for event in await self._store.list_queued_events():
                self._take_over(event)
        else:
            await self._claims.claim_free()
            self._claims.start()
        self._workers = [
            asyncio.create_task(self._work(), name=f"lamina-async-worker-{i}")
            for i in range(self._settings.async_workers or self._settings.limits.account_concurrency)
        ]

    async def accept(
        self, function: str, qualifier: str | None, payload: bytes, request_id: str, client_context: str | None
    ) -> None:
        """Store an event durably (this returns once it is committed) and queue it; raises
        ``TooManyRequests`` (nothing stored) when the function's queue is at its quota."""
        now = self._now()
        content = EventContent(payload, client_context)
        event = QueuedEvent(request_id, function, qualifier, now, now, size=content.size)
        error = refusal(function, self._usage.get(function, Usage()), event.size, self._quota)
        if error is not None:
            raise error
        self._active.accepted()
        self._count(event)  # before the write: events accepted meanwhile see this one
        try:
            seq = await self._store.enqueue_event(event, content)
        except BaseException:
            self._uncount(event)
            raise
        self._fresh.keep(seq, content)
        self._add(dataclasses.replace(event, seq=seq))
        self._counted(RECEIVED, function, qualifier)

    def check_sends_with(self, may_send: Callable[[str, str], bool]) -> None:
        """Have ``may_send(role, target)`` (IAM's) approve each destination record and dead letter as
        it is sent; one it refuses is logged and counted lost (``lost``), as on Lambda."""
        self._may_send = may_send

    def lost(self) -> list[dict[str, object]]:
        """Per function, the dead letters (DeadLetterErrors) and destination records
        (DestinationDeliveryFailures) its execution role was not allowed to send, since the start."""
        rows: dict[str, dict[str, object]] = {}
        for (function, metric), count in sorted(self._lost.items()):
            rows.setdefault(function, {"function": function})[metric] = count
        return list(rows.values())

    def depth(self) -> list[dict[str, object]]:
        """Per function with unfinished events: how many wait, how many are being attempted, and the
        age in seconds of the oldest unfinished one."""
        now = self._now()
        rows: list[dict[str, object]] = []
        for name in sorted(self._unfinished):
            rows.append({
                "function": name, "depth": len(self._ready.get(name, ())), "inFlight": self._in_flight.get(name, 0),
                "oldestAgeSeconds": round((now - self._unfinished[name][0][0]) / 1000, 3),
            })  # fmt: skip
        return rows

    def stop_taking(self) -> None:
        """Shutdown begins: attempts in progress finish, no new one starts (the rest stay stored)."""
        self._taking = False
        self._idle_workers.wake_all()

    async def drain(self, deadline: float) -> bool:
        """Wait until no attempt is in progress, at most until ``deadline`` (monotonic)."""
        return await wait_set(self._idle, max(0.0, deadline - time.monotonic()))

    async def close(self) -> None:
        """Stop the workers; an attempt cut short keeps its event in the store for the next start."""
        self.stop_taking()
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        if self._claims is not None:
            await self._claims.close()

    def _take_over(self, event: QueuedEvent) -> None:
        """A stored event (of an earlier run, or another replica's) joins the queue."""
        self._count(event)
        self._add(event)

    def _count(self, event: QueuedEvent) -> None:
        self._usage[event.function] = self._usage.get(event.function, Usage()).plus(event.size)

    def _uncount(self, event: QueuedEvent) -> None:
        usage = self._usage[event.function].minus(event.size)
        if usage.events:
            self._usage[event.function] = usage
        else:
            del self._usage[event.function]

    def _add(self, event: QueuedEvent) -> None:
        """A stored (and counted) event joins the queue."""
        heapq.heappush(self._unfinished.setdefault(event.function, []), (event.enqueued_ms, event.seq))
        self._push(event)

    def _remove(self, event: QueuedEvent) -> None:
        """A finished event is no longer counted and leaves the age index (lazily: it is popped once it
        is the oldest)."""
        self._uncount(event)
        self._fresh.take(event.seq)  # finished before an attempt took it (expired, or its function is gone)
        self._finished.add(event.seq)
        heap = self._unfinished[event.function]
        while heap and heap[0][1] in self._finished:
            self._finished.discard(heapq.heappop(heap)[1])
        if not heap:
            del self._unfinished[event.function]

    def _push(self, event: QueuedEvent) -> None:
        heapq.heappush(self._ready.setdefault(event.function, []), (event.next_ms, event.seq, event))
        self._idle_workers.wake()

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
            await self._idle_workers.wait(None if earliest is None else (earliest - now) / 1000)
        return None

    async def _work(self) -> None:
        while True:
            slot = await self._active.acquire()
            event = await self._take()
            if event is None:
                slot.release()
                return
            self._busy += 1
            self._idle.clear()
            self._in_flight[event.function] = self._in_flight.get(event.function, 0) + 1
            try:
                await self._attempt(event)
            except asyncio.CancelledError:
                raise
            except _Unstored:
                log.warning("asynchronous invocation %s of %s is no longer stored; dropped",
                            event.request_id, event.function)  # fmt: skip
                self._remove(event)
            except Exception:
                log.exception("asynchronous invocation %s of %s: unexpected error; retrying it later",
                              event.request_id, event.function)  # fmt: skip
                self._push(dataclasses.replace(event, next_ms=self._now() + ERROR_BACKOFF_MS))
            finally:
                slot.release()
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
        """One attempt of ``event``. Its content is read from the store once the attempt is admitted
        (or when what it leaves behind needs it) and dropped when this returns."""
        content = StoredContent(self._store, event.seq, self._fresh)
        policy, on_success, on_failure = self._policy(event)
        if retry.expired(event.enqueued_ms, self._now(), policy):
            await self._finish(event, content, on_failure, self._expired(event))
            return
        fn: FunctionConfig | None = None
        outcome: Outcome | None = None
        service_error: ApiError | None = None
        try:
            fn, outcome = await self._runner.attempt(event, content.read)
        except TooManyRequests as exc:
            now = self._now()
            name = event.function
            throttled = Ending(retry.RETRIES_EXHAUSTED, event.attempts, error_code=exc.status,
                               error_message=f"{exc.reason}: {exc}")  # fmt: skip
            if self._runner.turned_off(name):  # reserved concurrency 0: no retries, as on Lambda
                await self._finish(event, content, on_failure, throttled)
                return
            # Attempts taken before the function was held back count as the same throttle.
            throttles = self._throttles.get(name, 0) + (0 if self._blocked.get(name, 0) > now else 1)
            decision = retry.after_throttle(throttles, event.enqueued_ms, now, policy)
            if isinstance(decision, retry.Retry):
                self._throttles[name] = throttles
                self._blocked[name] = max(self._blocked.get(name, 0), decision.at_ms)
                self._push(event)
            else:
                ending = dataclasses.replace(throttled, condition=decision.condition)
                await self._finish(event, content, on_failure, ending)
            return
        except ResourceNotFound:
            log.warning("asynchronous invocation %s: function %s no longer exists; event dropped",
                        event.request_id, event.function)  # fmt: skip
            await self._store.finish_event(event.seq)
            self._remove(event)
            return
        except ApiError as exc:  # the function cannot run now (failed state, environments exiting)
            log.warning("asynchronous invocation %s of %s failed: %s", event.request_id, event.function, exc)
            service_error = exc
        self._throttles.pop(event.function, None)  # admitted: the function is no longer held back
        self._blocked.pop(event.function, None)
        attempts = event.attempts + 1
        if outcome is not None and outcome.result.ok:
            await self._finish(event, content, on_success, Ending(retry.SUCCESS, attempts, fn, outcome))
            return
        decision = retry.after_failure(attempts, event.enqueued_ms, self._now(), policy)
        if isinstance(decision, retry.Retry):
            await self._store.reschedule_event(event.seq, attempts, decision.at_ms)
            self._push(dataclasses.replace(event, attempts=attempts, next_ms=decision.at_ms))
            return
        log.info("asynchronous invocation %s of %s abandoned: %s", event.request_id, event.function, decision.condition)
        if service_error is not None:
            code, message = service_error.status, str(service_error)
        else:
            code, message = 200, error_message(outcome.result.body if outcome is not None else b"")
        await self._finish(event, content, on_failure, Ending(decision.condition, attempts, fn, outcome, code, message))

    def _expired(self, event: QueuedEvent) -> Ending:
        """An event too old to be attempted again, with its last failure as far as the queue knows."""
        if event.function in self._throttles:
            return Ending(retry.EVENT_AGE_EXCEEDED, event.attempts, error_code=429, error_message="Rate Exceeded.")
        return Ending(retry.EVENT_AGE_EXCEEDED, event.attempts, error_message="Event age exceeded before it could run.")

    async def _finish(self, event: QueuedEvent, content: StoredContent, destination: str | None,
                      ending: Ending) -> None:  # fmt: skip
        """Remove ``event`` and, in the same transaction, store its destination record and dead letter.
        A record for a destination function is queued whatever that function's quota says: it is
        what an accepted event leaves behind, and nothing accepted is lost."""
        now = self._now()
        follow_ups: list[NewEvent] = []
        messages: list[OutboxMessage] = []
        fn = ending.fn or self._runner.configuration(event)
        dead_letter_target = fn.dead_letter_target if fn is not None and ending.condition != retry.SUCCESS else None
        if destination is not None and not self._sendable(event, fn, destination, DESTINATION_LOST):
            destination = None
        if dead_letter_target and not self._sendable(event, fn, dead_letter_target, DEAD_LETTER_LOST):
            dead_letter_target = None
        payload = (await content.read()).payload if destination or dead_letter_target else b""
        if destination is not None:
            record = invocation_record(self._settings, event, payload, ending, now)
            function = parse_function_arn(destination)
            if function is not None and function.is_local(self._settings):  # the record is its event
                body = EventContent(record)
                follow_ups.append((
                    QueuedEvent(ids.request_id(), function.name, function.qualifier, now, now, size=body.size), body
                ))  # fmt: skip
            else:  # a service Lamina does not serve yet: the outbox keeps the record
                messages.append(
                    OutboxMessage(destination, DESTINATION, event.function, event.request_id, record, {}, now)
                )
        if dead_letter_target:
            messages.append(OutboxMessage(
                dead_letter_target, DEAD_LETTER, event.function, event.request_id, payload,
                dead_letter_attributes(event.request_id, ending), now,
            ))  # fmt: skip
        seqs = await self._store.finish_event(event.seq, follow_ups, messages)
        if dead_letter_target:
            self._dead_lettered(event.function)
        self._remove(event)
        for (follow_up, _), seq in zip(follow_ups, seqs):
            self._count(follow_up)
            self._add(dataclasses.replace(follow_up, seq=seq))

    def _sendable(self, event: QueuedEvent, fn: FunctionConfig | None, target: str, metric: str) -> bool:
        """Whether the function's role may send to ``target``; if not, the send is logged and counted lost."""
        if self._may_send is None or fn is None or self._may_send(fn.role, target):
            return True
        key = (event.function, metric)
        self._lost[key] = self._lost.get(key, 0) + 1
        self._counted(metric, event.function, event.qualifier)
        log.warning("asynchronous invocation %s of %s: the execution role %s is not allowed to send to %s; "
                    "the %s is lost", event.request_id, event.function, fn.role, target,
                    "dead letter" if metric == DEAD_LETTER_LOST else "destination record")  # fmt: skip
        return False

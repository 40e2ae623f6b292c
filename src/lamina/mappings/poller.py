"""One enabled mapping's polling: its workers, each working on one batch at a time.

A ``Poller`` owns its tasks (``lamina-mapping-<uuid>-<n>``): it starts with a few workers and
adds or retires them as batches come back full or empty (``scaling.py``), within the cap its
host gives. A worker fetches a batch from the Source, acknowledges what the filters drop,
invokes the function synchronously with the rest and acknowledges what the function is done
with (``responses.py``); what failed goes back to the source (``Source.fail``) for redelivery.
A throttled invocation is retried with backoff, never dropped; an unreadable source, a missing
function or a failure of Lamina's own is reported (LastProcessingResult) and retried after a
pause. Each worker reads the mapping afresh before each batch, so an update takes effect for
the next one.

``stop`` ends the workers: those waiting for records at once, those working on a batch when it
is done or at the deadline, whichever comes first (what a cancelled batch held comes back as
the source redelivers: at least once).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from lamina.errors import ApiError, TooManyRequests
from lamina.mappings import scaling
from lamina.mappings.batching import MAX_PAYLOAD_BYTES, BatchLimits
from lamina.mappings.filters import Filters
from lamina.mappings.model import OK, EventSourceMapping
from lamina.mappings.responses import Item, done, reported_failures
from lamina.mappings.source import Closing, Record, Source, SourceUnavailable, Unreached

log = logging.getLogger(__name__)

FUNCTION_FAILED = "PROBLEM: Function call failed"
BAD_RESPONSE = "PROBLEM: Function response had invalid batch item failures"
THROTTLED = "PROBLEM: Function call throttled"


class InvokeOutcome(Protocol):
    @property
    def payload(self) -> bytes: ...
    @property
    def function_error(self) -> str | None: ...


class Host(Protocol):
    """What a poller needs of the service that owns it."""

    def mapping(self, uuid: str) -> EventSourceMapping | None:
        """The mapping as it is now (None: deleted)."""
        ...

    async def invoke(self, mapping: EventSourceMapping, payload: bytes) -> InvokeOutcome:
        """A synchronous invocation of the mapping's function; raises ``ApiError`` as the invoker does."""
        ...

    def report(self, uuid: str, result: str) -> None:
        """Record the LastProcessingResult."""
        ...

    def cap(self, mapping: EventSourceMapping) -> int:
        """The most batches at once (``scaling.cap`` of its limits)."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    full: bool
    empty: bool


class _Pause(Exception):
    """A batch could not be worked on: wait before the next one."""


class Poller:
    def __init__(self, uuid: str, source: Source, host: Host, *, max_bytes: int = MAX_PAYLOAD_BYTES,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.uuid = uuid
        self._source = source
        self._host = host
        self._max_bytes = max_bytes  # the synchronous invocation's payload limit
        self._sleep = sleep  # backoff pauses (a fake in tests)
        self._clock = clock  # when the width last grew (a fake in tests)
        self._width = 0
        self._grown_at = 0.0
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._waiting: set[int] = set()  # workers waiting for records or pausing: cancellable at once
        self._stopping = False
        self._filters = Filters(())

    @property
    def width(self) -> int:
        return self._width

    def start(self) -> None:
        mapping = self._host.mapping(self.uuid)
        if mapping is None:
            return
        self._width = scaling.initial(self._host.cap(mapping))
        self._grown_at = self._clock()
        self._spawn()

    def _spawn(self) -> None:
        for index in range(self._width):
            task = self._workers.get(index)
            if task is None or task.done():
                name = f"lamina-mapping-{self.uuid}-{index}"
                self._workers[index] = asyncio.create_task(self._work(index), name=name)

    async def stop(self, deadline: float | None = None) -> None:
        """End every worker: at once if waiting, else when its batch is done or at ``deadline``
        (monotonic; None: no deadline); safe to call twice."""
        self._stopping = True
        for index in list(self._waiting):
            self._workers[index].cancel()
        tasks = [t for t in self._workers.values() if not t.done()]
        if tasks:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            _, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        if isinstance(self._source, Closing):
            await self._source.close()

    async def _work(self, index: int) -> None:
        failures = 0
        while not self._stopping and index < self._width:
            mapping = self._host.mapping(self.uuid)
            if mapping is None or not mapping.enabled:
                return
            try:
                outcome = await self._batch(mapping, index)
                failures = 0
            except _Pause:
                failures += 1
                await self._pause(index, scaling.retry_delay(failures))
                continue
            except Exception:
                log.exception("event source mapping %s: a batch failed", self.uuid)
                self._host.report(self.uuid, "PROBLEM: Internal error in Lamina's poller")
                failures += 1
                await self._pause(index, scaling.retry_delay(failures))
                continue
            now = self._clock()
            width = scaling.next_width(self._width, self._host.cap(mapping), full=outcome.full, empty=outcome.empty,
                                       since_growth_s=now - self._grown_at)  # fmt: skip
            if width != self._width:
                if width > self._width:
                    self._grown_at = now
                self._width = width
                self._spawn()

    async def _pause(self, index: int, seconds: float) -> None:
        self._waiting.add(index)
        try:
            await self._sleep(seconds)
        finally:
            self._waiting.discard(index)

    async def _batch(self, mapping: EventSourceMapping, index: int) -> Outcome:
        limits = BatchLimits(mapping.batch_size, float(mapping.batching_window), self._max_bytes, self._width)
        self._waiting.add(index)
        try:
            records = await self._source.fetch(limits)
        except SourceUnavailable as exc:
            self._host.report(self.uuid, f"PROBLEM: {exc}")
            raise _Pause() from exc
        finally:
            self._waiting.discard(index)
        if not records:
            return Outcome(full=False, empty=True)
        mapping = self._host.mapping(self.uuid) or mapping
        if self._filters.patterns != mapping.filters:
            self._filters = Filters(mapping.filters)
        kept = [r for r in records if self._filters.keeps(r.view)] if self._filters.patterns else records
        if len(kept) < len(records):
            kept_ids = {r.id for r in kept}
            await self._source.acknowledge([r for r in records if r.id not in kept_ids])
        if kept:
            await self._deliver(mapping, kept)
        return Outcome(full=len(records) >= mapping.batch_size, empty=False)

    async def _deliver(self, mapping: EventSourceMapping, records: Sequence[Record]) -> None:
        payload = self._source.event(records)
        throttles = 0
        while True:
            try:
                result = await self._host.invoke(mapping, payload)
                break
            except TooManyRequests:
                throttles += 1
                if throttles == 3:
                    self._host.report(self.uuid, THROTTLED)
                if self._stopping:
                    await self._source.release(records)
                    return
                await self._sleep(scaling.retry_delay(throttles))
            except ApiError as exc:  # the function (or its version or alias) is gone
                self._host.report(self.uuid, f"PROBLEM: {exc.message}")
                if isinstance(self._source, Unreached):
                    await self._source.unreached(records)
                else:
                    await self._source.fail(records)
                raise _Pause() from exc
        if result.function_error is not None:
            self._host.report(self.uuid, FUNCTION_FAILED)
            await self._source.fail(records)
            return
        failed: set[str] = set()
        if mapping.report_batch_item_failures:
            reported = reported_failures(result.payload, {r.id for r in records})
            if reported is None:
                self._host.report(self.uuid, BAD_RESPONSE)
                await self._source.fail(records)
                return
            failed = reported
        if not failed:  # the usual case: every record done
            await self._source.acknowledge(records)
            self._host.report(self.uuid, OK)
            return
        finished = {i.id for i in done([Item(r.id, r.group) for r in records], failed, fifo=self._source.ordered)}
        await self._source.acknowledge([r for r in records if r.id in finished])
        if len(finished) < len(records):
            await self._source.fail([r for r in records if r.id not in finished])
        self._host.report(self.uuid, OK)

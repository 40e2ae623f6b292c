"""Batched writes of log lines and invocation records, kept off the invocation path, and the
removal of old log lines.

``Recorder.log`` and ``Recorder.invocation`` only append to memory; one owned background task
(``lamina-recorder``) writes the batches to the store every ``interval`` seconds, and hands each
batch of invocation records to ``observe`` first (the server's metrics: metrics/stats.py). ``close`` stops
the task and writes what is left, so a graceful shutdown loses nothing; a crash can lose at most
the last interval's lines and invocation records (the invocations themselves were already
answered). The store keeps a running mark (``begin_metering`` at start, ``end_metering`` once the
last batch is written): a start that finds it still set says the previous run was killed, and
since when records may be missing.

``Recorder.count`` does the same for events that are not invocations (a throttle, an asynchronous
event received, a dead letter lost): counted in
memory by minute, added to the store's metric counts with the next batch (CloudWatch's metrics).

The same task keeps the stored logs within ``LogLimits``: each batch is written with the
per-function limit (the store removes a function's oldest lines in the same transaction), and
every ``prune_every`` seconds lines older than the retention go, a bounded number a transaction.
Once a batch of lines is written, it goes to ``publish`` (the cell's Live Tail sessions:
logs/livetail.py), on the event loop.
When it starts, it applies both to what earlier runs left (limits may have been lowered since).
The per-invocation limit is the environments' (``limits.invocation_bytes``): they drop lines
before they get here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Callable, Protocol, Sequence

from lamina.settings import LogLimits
from lamina.store.base import InvocationRecord, LogRecord, MetricCount
from lamina.store.aggregates import Store
from lamina.tasks import cancel_and_wait

log = logging.getLogger(__name__)

EXPIRE_BATCH = 5000  # lines removed a transaction (and the rest of a chunk): short enough not to hold up other writes


def prune_every(retention_seconds: float, interval: float) -> float:
    """How often to look for expired lines: a tenth of the retention, between one write interval
    and a minute (a retention of seconds, as tests use, is checked often enough to be seen)."""
    return min(60.0, max(interval, retention_seconds / 10))


class Records(Protocol):
    """What an environment records through: a ``Recorder``, or a node's relay to the server's
    (placement/worker.py)."""

    limits: LogLimits

    def log(self, record: LogRecord) -> None: ...
    def invocation(self, record: InvocationRecord) -> None: ...


class Recorder:
    def __init__(self, store: Store, limits: LogLimits | None = None, interval: float = 0.1,
                 observe: Callable[[Sequence[InvocationRecord]], None] | None = None,
                 publish: Callable[[Sequence[LogRecord]], None] | None = None) -> None:  # fmt: skip
        self.limits = limits or LogLimits()
        self._store = store
        self._observe = observe
        self._publish = publish
        self._interval = interval
        self._logs: list[LogRecord] = []
        self._invocations: list[InvocationRecord] = []
        self._counts: Counter[tuple[str, str, str, int]] = Counter()  # (function, qualifier, metric, minute_ms)
        self._task: asyncio.Task[None] | None = None
        self._flushing: asyncio.Task[None] | None = None
        self._flushed = asyncio.Condition()

    def log(self, record: LogRecord) -> None:
        self._logs.append(record)

    def invocation(self, record: InvocationRecord) -> None:
        self._invocations.append(record)

    def count(self, metric: str, function: str, qualifier: str | None) -> None:
        """One ``metric`` event (``Throttles``, ``AsyncEventsReceived``, ...) of ``function`` as invoked, now."""
        minute_ms = int(time.time() // 60) * 60_000
        self._counts[(function, qualifier or "", metric, minute_ms)] += 1

    async def start(self) -> None:
        """Mark the ledger's writer running (and say if the last one was killed), then start it."""
        previous = await self._store.begin_metering(int(time.time() * 1000))
        if previous is not None and previous.killed:
            log.warning(
                "the last run stopped without closing the usage ledger (killed?): invocations answered after "
                "its last write (%s) may be missing, at most one batch (%.0f ms); %d provisioned-concurrency "
                "allocations were ended at that write", _utc(previous.last_write_ms), self._interval * 1000,
                previous.closed,
            )  # fmt: skip
        self._task = asyncio.create_task(self._run(), name="lamina-recorder")

    async def flush(self) -> None:
        logs, self._logs = self._logs, []
        invocations, self._invocations = self._invocations, []
        counts, self._counts = self._counts, Counter()
        if invocations and self._observe is not None:
            try:
                self._observe(invocations)
            except Exception:
                log.exception("could not count %d invocations in the metrics", len(invocations))
        stored = False
        try:
            if logs:
                await self._store.append_logs(logs, max_function_bytes=self.limits.function_bytes)
                stored = True
            if invocations:
                await self._store.record_invocations(invocations)
            if counts:
                await self._store.add_metric_counts([MetricCount(*key, n) for key, n in counts.items()])
        except Exception:
            log.exception("could not write %d log lines, %d invocation records and %d metric counts", len(logs),
                          len(invocations), len(counts))  # fmt: skip
        if stored and self._publish is not None:
            try:
                self._publish(logs)
            except Exception:  # Live Tail's sessions miss these lines; nothing else does
                log.exception("could not hand %d log lines to the Live Tail sessions", len(logs))
        async with self._flushed:
            self._flushed.notify_all()

    async def wait_flushed(self, timeout: float) -> None:
        """Wait until the next flush has written (used by readers that long-poll for logs)."""
        async with self._flushed:
            await asyncio.wait_for(self._flushed.wait(), timeout)

    async def _run(self) -> None:
        every = prune_every(self.limits.retention_seconds, self._interval)
        await self.prune(trim=True)
        next_prune = time.monotonic() + every
        while True:
            await asyncio.sleep(self._interval)
            if self._logs or self._invocations or self._counts:
                # A task of its own, awaited by ``close``: stopping the writer while a batch is being
                # written must not lose the batch (its lines are no longer in the buffers).
                self._flushing = asyncio.create_task(self.flush(), name="lamina-recorder-flush")
                await asyncio.shield(self._flushing)
            if time.monotonic() >= next_prune:
                await self.prune()
                next_prune = time.monotonic() + every

    async def prune(self, *, trim: bool = False) -> None:
        """Remove lines older than the retention (and, with ``trim``, beyond each function's limit)."""
        try:
            if trim:
                await self._store.trim_logs(self.limits.function_bytes)
            before_ms = int((time.time() - self.limits.retention_seconds) * 1000)
            while await self._store.expire_logs(before_ms, EXPIRE_BATCH) >= EXPIRE_BATCH:
                pass
        except Exception:
            log.exception("could not remove old log lines")

    async def close(self) -> None:
        """Stop the writer and write everything still buffered; safe to call twice."""
        await cancel_and_wait(self._task)
        self._task = None
        if self._flushing is not None:
            await self._flushing  # the batch the writer was writing when it stopped (flush logs its errors)
            self._flushing = None
        await self.flush()
        try:
            await self._store.end_metering(int(time.time() * 1000))
        except Exception:
            log.exception("could not mark the usage ledger closed")


def _utc(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))

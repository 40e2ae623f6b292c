"""Batched writes of log lines and invocation records, kept off the invocation path.

``Recorder.log`` and ``Recorder.invocation`` only append to memory; one owned background task
(``lamina-recorder``) writes the batches to the store every ``interval`` seconds. ``close`` stops
the task and writes what is left, so a graceful shutdown loses nothing; a crash can lose at most
the last interval's lines (the invocations themselves were already answered).
"""

from __future__ import annotations

import asyncio
import logging

from lamina.tasks import cancel_and_wait
from lamina.store.base import InvocationRecord, LogRecord, Store

log = logging.getLogger(__name__)


class Recorder:
    def __init__(self, store: Store, interval: float = 0.1) -> None:
        self._store = store
        self._interval = interval
        self._logs: list[LogRecord] = []
        self._invocations: list[InvocationRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._flushed = asyncio.Condition()

    def log(self, record: LogRecord) -> None:
        self._logs.append(record)

    def invocation(self, record: InvocationRecord) -> None:
        self._invocations.append(record)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="lamina-recorder")

    async def flush(self) -> None:
        logs, self._logs = self._logs, []
        invocations, self._invocations = self._invocations, []
        try:
            if logs:
                await self._store.append_logs(logs)
            if invocations:
                await self._store.record_invocations(invocations)
        except Exception:
            log.exception("could not write %d log lines and %d invocation records", len(logs), len(invocations))
        async with self._flushed:
            self._flushed.notify_all()

    async def wait_flushed(self, timeout: float) -> None:
        """Wait until the next flush has written (used by readers that long-poll for logs)."""
        async with self._flushed:
            await asyncio.wait_for(self._flushed.wait(), timeout)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if self._logs or self._invocations:
                await self.flush()

    async def close(self) -> None:
        """Stop the writer and write everything still buffered; safe to call twice."""
        await cancel_and_wait(self._task)
        self._task = None
        await self.flush()

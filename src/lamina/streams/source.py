"""A table's change stream as a mapping's Source: a ``ChangeReader`` read one batch at a time.

The stream is one shard: one batch is in flight at a time (the service caps the poller at one
worker), in position order, so changes of a key reach the function in the order they were
committed. A batch is read afresh from the reader's checkpoint each time (the reader gives
unconfirmed changes again), up to BatchSize or the size ``settling.Progress`` says after a bisection,
gathered for the batching window. Once every record of it is settled (acknowledged, failed or
released by the poller), ``settling.settle`` decides; the source then sends the on-failure record
of what is given up (committed before anything is confirmed) and confirms the reader up to what is
done, so a crash at any point delivers again rather than loses (at least once). A failed batch
waits a growing pause before it is read again. Records past MaximumRecordAgeInSeconds are given up
when they are read.

A reader that cannot be opened or read is ``SourceUnavailable`` (LastProcessingResult, retried
with backoff); its warnings go to the mapping's StateTransitionReason. Closing the source closes
the reader and leaves its triggers or slot in place (a disabled mapping misses nothing).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid as uuids
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from lamina.mappings import scaling
from lamina.mappings.batching import BatchLimits, fitting
from lamina.mappings.source import Lag, Record, SourceUnavailable
from lamina.streams import records as stream_records
from lamina.streams.change import Change, ChangeReader, ChangesUnavailable
from lamina.streams.options import StreamOptions
from lamina.streams.settling import AGE_EXCEEDED, RETRIES_EXHAUSTED, Progress, Status, after_expiry, expired, settle

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # how long a fetch waits for a first change before the poller comes back
GATHER_SECONDS = 0.05  # how often a batching window looks for more changes
SHARD = "shard"  # every record's ordering group: the stream is one shard


class Host(Protocol):
    def stream(self, uuid: str) -> tuple[StreamOptions, stream_records.Stream, str] | None:
        """The mapping's options, its records' common parts and its FunctionArn (None: deleted)."""
        ...

    async def send_stream_failure(self, uuid: str, destination: str, body: str) -> None:
        """Store the on-failure record for the destination (durably, before it returns)."""
        ...

    def warn(self, uuid: str, warnings: Sequence[str]) -> None:
        """The reader's warnings, for the mapping to show."""
        ...


Opener = Callable[[StreamOptions], Awaitable[ChangeReader]]


class StreamSource:
    def __init__(self, uuid: str, host: Host, opener: Opener, *, poll_seconds: float = POLL_SECONDS,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:  # fmt: skip
        self._uuid = uuid
        self._host = host
        self._opener = opener
        self._poll_seconds = poll_seconds
        self._sleep = sleep
        self._reader: ChangeReader | None = None
        self._lock = asyncio.Lock()
        self._progress = Progress()
        self._not_before = 0.0  # monotonic: no batch before then (backing off after a failure)
        self._batch: list[Change] = []
        self._ids: list[str] = []
        self._status: dict[str, Status] = {}
        self._pending = 0
        self._closed = False

    @property
    def ordered(self) -> bool:
        return True

    def _current(self) -> tuple[StreamOptions, stream_records.Stream, str]:
        current = self._host.stream(self._uuid)
        if current is None:
            raise SourceUnavailable("The event source mapping was deleted.")
        return current

    async def _open(self) -> ChangeReader:
        if self._reader is not None:
            return self._reader
        if self._closed:
            raise SourceUnavailable("The event source mapping is stopping.")
        options = self._current()[0]
        try:
            reader = await self._opener(options)
        except ChangesUnavailable as exc:
            raise SourceUnavailable(str(exc)) from exc
        if self._closed:
            await reader.close()
            raise SourceUnavailable("The event source mapping is stopping.")
        self._reader = reader
        self._host.warn(self._uuid, reader.warnings)
        return reader

    async def close(self) -> None:
        self._closed = True
        reader, self._reader = self._reader, None
        if reader is not None:
            await reader.close()

    # -- fetching ------------------------------------------------------------------------------

    async def fetch(self, limits: BatchLimits) -> list[Record]:
        async with self._lock:
            if self._pending:  # a batch the poller abandoned (it failed in Lamina): comes again
                await self._mark(self._ids, Status.RELEASED)
            wait = self._not_before - time.monotonic()
            if wait > 0:
                await self._sleep(min(wait, self._poll_seconds))
                return []
            reader = await self._open()
            options, stream, function_arn = self._current()
            size = self._progress.next_size(limits.max_records)
            try:
                changes = await self._read(reader, size, limits.window_seconds)
                changes = await self._expire(reader, options, stream, function_arn, changes)
            except ChangesUnavailable as exc:
                self._reader = None
                await reader.close()
                raise SourceUnavailable(str(exc)) from exc
            if not changes:
                return []
            batch = [self._record(stream, c) for c in changes]
            batch = batch[: fitting([r.size for r in batch], limits.max_bytes)]
            self._batch = changes[: len(batch)]
            self._ids = [r.id for r in batch]
            self._status = dict.fromkeys(self._ids, Status.PENDING)
            self._pending = len(batch)
            return batch

    async def _read(self, reader: ChangeReader, size: int, window: float) -> list[Change]:
        changes = await reader.read(size, self._poll_seconds)
        if not changes or window <= 0 or len(changes) >= size:
            return changes
        deadline = time.monotonic() + window
        while len(changes) < size and (left := deadline - time.monotonic()) > 0:
            await self._sleep(min(left, GATHER_SECONDS))
            changes = await reader.read(size, 0)  # from the checkpoint again: the same, and more
        return changes

    async def _expire(self, reader: ChangeReader, options: StreamOptions, stream: stream_records.Stream,
                      function_arn: str, changes: list[Change]) -> list[Change]:  # fmt: skip
        """The changes without the leading ones past MaximumRecordAgeInSeconds (given up)."""
        count = expired([c.committed_ms for c in changes], int(time.time() * 1000), options.maximum_record_age)
        if not count:
            return changes
        await self._give_up(options, stream, function_arn, changes[:count], AGE_EXCEEDED, self._progress.attempts, None)
        await reader.confirm(changes[count - 1].position)
        self._progress = after_expiry(self._progress, count)
        return changes[count:]

    def _record(self, stream: stream_records.Stream, change: Change) -> Record:
        record = stream_records.record(stream, change)
        text = json.dumps(record, separators=(",", ":"))
        dynamodb = record["dynamodb"]
        assert isinstance(dynamodb, dict)
        sequence = str(dynamodb["SequenceNumber"])
        return Record(id=sequence, token=sequence, record=record, view=record, size=len(text), group=SHARD,
                      encoded=text)  # fmt: skip

    # -- settling ------------------------------------------------------------------------------

    async def acknowledge(self, records: Sequence[Record]) -> None:
        await self._mark([r.id for r in records], Status.DONE)

    async def fail(self, records: Sequence[Record]) -> None:
        await self._mark([r.id for r in records], Status.FAILED)

    async def release(self, records: Sequence[Record]) -> None:
        await self._mark([r.id for r in records], Status.RELEASED)

    async def unreached(self, records: Sequence[Record]) -> None:
        """The function was not there to take them: they come again, not counted as a failure (the
        poller pauses before the next batch)."""
        await self._mark([r.id for r in records], Status.RELEASED)

    async def _mark(self, ids: Sequence[str], status: Status) -> None:
        for ident in ids:
            if self._status.get(ident, status) is Status.PENDING:
                self._status[ident] = status
                self._pending -= 1
        if self._batch and self._pending == 0:
            await self._settle()

    async def _settle(self) -> None:
        batch, statuses = self._batch, [self._status[i] for i in self._ids]
        self._batch, self._ids, self._status = [], [], {}
        current = self._host.stream(self._uuid)
        reader = self._reader
        if current is None or reader is None:
            return
        options, stream, function_arn = current
        outcome = settle(statuses, self._progress, max_retries=options.maximum_retry_attempts, bisect=options.bisect)
        if outcome.given_up is not None:
            start, end = outcome.given_up
            await self._give_up(options, stream, function_arn, batch[start:end], RETRIES_EXHAUSTED, outcome.attempts,
                                "Unhandled")  # fmt: skip
        if outcome.done:
            try:
                await reader.confirm(batch[outcome.done - 1].position)
            except ChangesUnavailable as exc:  # not confirmed: delivered again (at least once)
                log.warning("stream mapping %s: confirming failed: %s", self._uuid, exc)
                self._reader = None
                await reader.close()
                return
        self._progress = outcome.progress
        if outcome.retry:
            self._not_before = time.monotonic() + scaling.retry_delay(outcome.progress.attempts)

    async def _give_up(self, options: StreamOptions, stream: stream_records.Stream, function_arn: str,
                       changes: Sequence[Change], condition: str, attempts: int, error: str | None) -> None:  # fmt: skip
        log.warning("stream mapping %s: gave up on %d changes (%s) after %d attempts", self._uuid, len(changes),
                    condition, attempts)  # fmt: skip
        if options.on_failure is None:
            return
        failure = stream_records.Failure(
            request_id=str(uuids.uuid4()), function_arn=function_arn, condition=condition, attempts=attempts,
            function_error=error, shard_id=stream_records.shard_id(options.created, self._uuid),
            now_ms=int(time.time() * 1000),
        )  # fmt: skip
        body = json.dumps(stream_records.on_failure_record(failure, stream, changes))
        await self._host.send_stream_failure(self._uuid, options.on_failure, body)

    # -- describing ----------------------------------------------------------------------------

    def event(self, records: Sequence[Record]) -> bytes:
        return ('{"Records":[' + ",".join(r.encoded or json.dumps(dict(r.record)) for r in records) + "]}").encode()

    def lag(self) -> Lag:
        if self._reader is None:
            return Lag(backlog=None, oldest_age_seconds=None)
        lag = self._reader.lag()
        return Lag(backlog=lag.backlog, oldest_age_seconds=lag.oldest_age_seconds)

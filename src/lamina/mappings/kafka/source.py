"""A topic of a self-managed Kafka cluster as a mapping's Source, read with aiokafka.

One consumer per mapping, in the mapping's consumer group (ConsumerGroupId, default its UUID),
assigned every partition of the topic. A batch comes from one partition, which stays held until
the batch is settled, so records of a partition are worked on in order and one batch at a time
while the poller's workers (as many as there are partitions, within the function's concurrency)
work on different partitions side by side. A batch is a ``batch.Batch`` (messages and their event
JSON; ``Record`` objects only if asked), and a partition's next batch is read while the function
works on the current one: handed out once that one settled, dropped if the partition is read
again from an earlier offset.

Offsets are committed only when a batch is settled: past every record the function is done with
(and those the filters dropped). The commit itself is the committer's (a task of the source's own,
``lamina-kafka-commit-<uuid>``): the partition is free for its next batch at once, and the
committer sends what settled meanwhile, every partition's in one request, never past a batch not
settled yet, at most one request each ``COMMIT_EVERY_SECONDS`` (each is a round trip that wakes
the broker: committing after every batch cost a tenth of the server's time at full speed; a
restart redelivers at most that much more). A failed batch is read again from its first unfinished record,
after a pause that grows with each failure; with MaximumRetryAttempts set, a batch failed that
many times more is given up: described to the on-failure destination (if any), and committed past.
A partition with no committed offset starts where StartingPosition says, and that offset is
committed at once, so a restart resumes from it. A restart resumes from the committed offsets
(at least once: a batch in flight when Lamina died comes again).

A mapping with secrets (SASL credentials, a client certificate, a root CA) connects with what
auth.py reads from the secrets file each time the consumer starts, over TLS when it names a
certificate; a secret missing or unusable, or refused by the broker, is ``SourceUnavailable`` as
well, saying what to fix. The broker unreachable (at start or later) is ``SourceUnavailable``: the
poller reports it in LastProcessingResult. Starting is paced by the source itself, for all the
poller's workers at once: after a failed start the next waits 1 s, doubling to 30 s. A broker lost
after the start is found when a read comes back empty with no connection to any broker (confirmed
by asking for the cluster's metadata): the consumer is closed and started again at that pace, since
aiokafka left to itself reconnects several times a second for as long as the broker is away. A
commit that fails meanwhile is retried by the committer after a pause; until then a restart
redelivers, never skips. Closing the source sends what is left to commit before the consumer stops.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid as uuids
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lamina.mappings import scaling
from lamina.mappings.batching import BatchLimits, fitting
from lamina.mappings.kafka import records as kafka_records
from lamina.mappings.kafka import auth
from lamina.mappings.kafka.batch import Batch
from lamina.mappings.kafka.options import KafkaOptions
from lamina.mappings.kafka.settling import Status, settle
from lamina.mappings.source import Lag, Record, SourceUnavailable

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)

CONNECTION_ERROR = "Connection error. Please check your event source connection configuration."
TOPIC_NOT_FOUND = "Topic not found. Please check the topic name in your event source mapping configuration."
POLL_SECONDS = 1.0  # how long a fetch waits for a first record before the poller comes back
IDLE_SECONDS = 0.2  # how long a worker with no free partition waits before asking again
START_SECONDS = 30.0  # the longest a connection, an offset look-up or a commit may take
COMMIT_EVERY_SECONDS = 0.05  # at most one commit started in this time: what settles meanwhile goes together
ALIVE_SECONDS = 10.0  # the longest the metadata request confirming a lost broker may take


def start_delay(failures: int) -> float:
    """Seconds before the consumer is started again after ``failures`` failed starts in a row (or a
    lost broker): 1 s, doubling to 30 s."""
    return scaling.retry_delay(failures + 1)


class Host(Protocol):
    def kafka_options(self, uuid: str) -> tuple[KafkaOptions, int, str] | None:
        """The mapping's Kafka options, its BatchingWindow and its FunctionArn (None: deleted)."""
        ...

    async def send_failure(self, destination: str, body: str) -> None:
        """Send the on-failure record to the destination (an SQS queue of Lamina's)."""
        ...


@dataclass(slots=True)
class _Partition:
    tp: TopicPartition
    committed: int  # the next offset to read, as committed (or about to be)
    unsaved: bool = False  # ``committed`` is not in the broker yet (a commit failed)
    held: bool = False  # a batch of it is being worked on
    batch: Batch | None = None  # that batch
    status: dict[str, Status] | None = None  # of each record of ``batch`` by id, once one is settled alone
    pending: int = 0  # records of ``batch`` not settled yet
    ahead: asyncio.Task[Batch | None] | None = None  # the next batch, read while ``batch`` is worked on
    attempts: int = 0  # failures in a row of the batch at ``committed``
    not_before: float = 0.0  # monotonic: no batch before then (backing off after a failure)


class KafkaSource:
    def __init__(self, uuid: str, host: Host, *, poll_seconds: float = POLL_SECONDS,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, secrets_file: Path | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._uuid = uuid
        self._clock = clock  # when the consumer may be started again (a fake in tests)
        self.start_attempts = 0  # consumers started, or tried to be
        self._start_failures = 0  # failed starts (and lost brokers) in a row
        self._not_before = 0.0  # no start before then (clock's time)
        self._problem = ""  # why the last start failed: what fetches say until the next one
        self._secrets_file = secrets_file
        self._host = host
        self._poll_seconds = poll_seconds
        self._sleep = sleep
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: dict[str, _Partition] = {}  # by "<topic>-<partition>"
        self._end: dict[str, int] = {}  # end offsets when the consumer started, until fetches tell more
        self._start_lock = asyncio.Lock()
        self._next = 0  # where the round-robin over partitions goes on
        self._closed = False
        self._encoder = kafka_records.Encoder()
        self._commits_due = asyncio.Event()  # a partition's committed offset moved: the committer has work
        self._committer: asyncio.Task[None] | None = None

    @property
    def ordered(self) -> bool:
        return True

    @property
    def partitions(self) -> int:
        """How many partitions the topic has (0 until the consumer started): the most batches at once."""
        return len(self._partitions)

    def _options(self) -> tuple[KafkaOptions, int, str]:
        current = self._host.kafka_options(self._uuid)
        if current is None:
            raise SourceUnavailable("The event source mapping was deleted.")
        return current

    # -- starting ------------------------------------------------------------------------------

    async def _start(self) -> AIOKafkaConsumer:
        async with self._start_lock:
            if self._consumer is not None:
                return self._consumer
            if self._closed:
                raise SourceUnavailable("The event source mapping is stopping.")
            if self._clock() < self._not_before:
                raise SourceUnavailable(self._problem)
            self.start_attempts += 1
            try:
                consumer = await self._started(self._options()[0])
            except SourceUnavailable as exc:
                self._start_failures += 1
                self._not_before = self._clock() + start_delay(self._start_failures)
                self._problem = str(exc)
                raise
            self._start_failures = 0
            self._consumer = consumer
            self._committer = asyncio.create_task(self._commit_loop(consumer), name=f"lamina-kafka-commit-{self._uuid}")
            return consumer

    async def _started(self, options: KafkaOptions) -> AIOKafkaConsumer:
        """A consumer started and assigned the topic's partitions; SourceUnavailable saying why not."""
        from aiokafka import AIOKafkaConsumer
        from aiokafka.errors import KafkaError

        _quiet_aiokafka()
        connection = auth.settings(options, self._secrets_file)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=list(options.bootstrap_servers), group_id=options.consumer_group_id,
            client_id=f"lamina-{self._uuid}", enable_auto_commit=False,
            auto_offset_reset="earliest" if options.starting_position == "TRIM_HORIZON" else "latest",
            request_timeout_ms=20_000, retry_backoff_ms=200, metadata_max_age_ms=60_000, **connection,
        )  # fmt: skip
        try:
            await asyncio.wait_for(consumer.start(), START_SECONDS)
            await asyncio.wait_for(self._assign(consumer, options), START_SECONDS)
        except (KafkaError, OSError, asyncio.TimeoutError) as exc:
            await self._stop(consumer)
            problem = await auth.diagnose(options, connection)
            raise SourceUnavailable(problem or CONNECTION_ERROR) from exc
        except SourceUnavailable:
            await self._stop(consumer)
            raise
        return consumer

    async def _assign(self, consumer: AIOKafkaConsumer, options: KafkaOptions) -> None:
        from aiokafka import TopicPartition

        # The cluster's metadata, all topics (a consumer with nothing assigned yet tracks none; this
        # is what its public ``topics()`` reads).
        cluster = await consumer._client.fetch_all_metadata()
        numbers = cluster.partitions_for_topic(options.topic)
        if not numbers:
            raise SourceUnavailable(TOPIC_NOT_FOUND)
        tps = [TopicPartition(options.topic, n) for n in sorted(numbers)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        fresh: dict[TopicPartition, int] = {}
        for tp in tps:
            committed = await consumer.committed(tp)
            if committed is None:  # a new group: StartingPosition says where, kept from now on
                committed = starts[tp] if options.starting_position == "TRIM_HORIZON" else ends[tp]
                fresh[tp] = committed
            committed = max(committed, starts[tp])  # records before it were deleted by retention
            key = kafka_records.group(tp.topic, tp.partition)
            part = self._partitions.get(key)
            if part is None:  # the consumer's first start
                part = self._partitions[key] = _Partition(tp, committed)
            elif part.committed > committed:  # started again (a lost broker): what settled meanwhile is done
                part.unsaved = True
                self._commits_due.set()
            else:
                part.committed = committed
            # A batch still in the function's hands (from before the broker was lost) is not read again.
            consumer.seek(tp, part.batch.last_offset + 1 if part.held and part.batch is not None else part.committed)
            self._end[key] = ends[tp]
        if fresh:
            await consumer.commit(fresh)

    async def _stop(self, consumer: AIOKafkaConsumer) -> None:
        try:
            await asyncio.wait_for(consumer.stop(), START_SECONDS)
        except asyncio.CancelledError:
            # aiokafka's fetcher, stopped while it waits to retry a broker that is away, lets the
            # cancellation of its own task out of ``stop``: only ours is passed on.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            log.debug("kafka mapping %s: closing the consumer was cut short", self._uuid)
        except Exception:  # noqa: BLE001 - closing what failed to start: nothing more to do
            log.debug("kafka mapping %s: closing the consumer failed", self._uuid, exc_info=True)

    async def _alive(self, consumer: AIOKafkaConsumer) -> bool:
        """Whether the consumer still reaches a broker: it holds a connection to one, or, having
        none, gets the cluster's metadata (one attempt at each broker it knows)."""
        from aiokafka.errors import KafkaError

        client = consumer._client
        if any(conn.connected() for conn in client._conns.values()):
            return True
        try:
            await asyncio.wait_for(client.fetch_all_metadata(), ALIVE_SECONDS)
        except (KafkaError, OSError, asyncio.TimeoutError):
            return False
        return True

    async def _lose(self, consumer: AIOKafkaConsumer) -> None:
        """The broker is gone: close the consumer (and its reconnection attempts), and start again
        after a pause (``start_delay``), what was held kept for the next consumer."""
        async with self._start_lock:
            if self._consumer is not consumer:
                return  # another worker found it first
            self._consumer = None
            committer, self._committer = self._committer, None
            self._start_failures += 1
            self._not_before = self._clock() + start_delay(self._start_failures)
            self._problem = CONNECTION_ERROR
        log.info("kafka mapping %s: the brokers are unreachable; reconnecting in %.0f s", self._uuid,
                 start_delay(self._start_failures))  # fmt: skip
        await self._shut(consumer, committer, save=False)

    async def close(self) -> None:
        async with self._start_lock:
            self._closed = True
            consumer, self._consumer = self._consumer, None
            committer, self._committer = self._committer, None
        await self._shut(consumer, committer)

    async def _shut(self, consumer: AIOKafkaConsumer | None, committer: asyncio.Task[None] | None, *,
                    save: bool = True) -> None:  # fmt: skip
        aheads = [p.ahead for p in self._partitions.values() if p.ahead is not None]
        for part in self._partitions.values():
            self._drop_ahead(part)
        if committer is not None:
            committer.cancel()
        await asyncio.gather(*aheads, *([committer] if committer else []), return_exceptions=True)
        if consumer is not None:
            if save:
                await self._save_commits(consumer)  # what settled last (a failure: redelivered after a restart)
            await self._stop(consumer)

    # -- fetching ------------------------------------------------------------------------------

    def _claim(self) -> _Partition | None:
        """A partition no batch holds and not backing off, one with records waiting first."""
        now = time.monotonic()
        parts = list(self._partitions.values())
        free = [p for p in parts[self._next:] + parts[: self._next] if not p.held and p.not_before <= now]
        if not free:
            return None
        waiting = [p for p in free if self._lag_of(p) > 0]
        part = (waiting or free)[0]
        self._next = (parts.index(part) + 1) % len(parts)
        part.held = True
        return part

    async def fetch(self, limits: BatchLimits) -> Sequence[Record]:
        consumer = await self._start()
        options, window, _ = self._options()
        part = self._claim()
        if part is None:
            await self._sleep(IDLE_SECONDS)
            return []
        from aiokafka.errors import ConsumerStoppedError, KafkaError

        ahead, part.ahead = part.ahead, None
        try:
            if ahead is not None:
                batch = await ahead
            else:
                batch = await self._read(consumer, part, options, limits, options.window_seconds(window))
        except (KafkaError, ConsumerStoppedError) as exc:
            self._unhold(consumer, part)
            raise SourceUnavailable(CONNECTION_ERROR) from exc
        except BaseException:
            self._unhold(consumer, part)
            raise
        if batch is None:
            self._unhold(consumer, part)
            if not await self._alive(consumer):
                await self._lose(consumer)
                raise SourceUnavailable(CONNECTION_ERROR)
            return []
        part.batch, part.status, part.pending = batch, None, len(batch)
        keep = fitting(batch.sizes(), limits.max_bytes)
        if keep < len(batch):
            await self.release(batch[keep:])
            return batch[:keep]
        # The partition's next batch is read while the function works on this one: it is handed
        # out only after this one settled (in order), and dropped if this one is read again.
        part.ahead = asyncio.create_task(self._read(consumer, part, options, limits, options.window_seconds(window)),
                                         name=f"lamina-kafka-ahead-{self._uuid}-{batch.group}")  # fmt: skip
        part.ahead.add_done_callback(_retrieved)
        return batch

    async def _read(self, consumer: AIOKafkaConsumer, part: _Partition, options: KafkaOptions,
                    limits: BatchLimits, window: float) -> Batch | None:  # fmt: skip
        """The next batch of ``part`` (None: no records came)."""
        limits = BatchLimits(limits.max_records, window, limits.max_bytes)
        messages: list[kafka_records.MessageLike] = []
        texts: list[str] = []
        size = 0
        first = 0.0
        while True:
            elapsed = time.monotonic() - first if messages else 0.0
            if limits.complete(len(messages), size, elapsed):
                break
            wait = self._poll_seconds if not messages else max(0.0, window - elapsed)
            got = await consumer.getmany(part.tp, timeout_ms=int(wait * 1000), max_records=limits.max_records - len(messages))
            read = got.get(part.tp, [])
            if not read:
                break
            if not messages:
                first = time.monotonic()
            encoded = self._encoder.encode_all(read)
            messages += read
            texts += encoded
            size += sum(map(len, encoded))
        if not messages:
            return None
        return Batch(kafka_records.group(part.tp.topic, part.tp.partition), messages, texts)

    def _unhold(self, consumer: AIOKafkaConsumer, part: _Partition) -> None:
        """Let the partition go with nothing worked on: read again from its committed offset."""
        self._drop_ahead(part)
        current = self._consumer
        if current is not None and current is consumer:  # not a consumer closed meanwhile
            current.seek(part.tp, part.committed)
        part.batch, part.status, part.pending, part.held = None, None, 0, False

    @staticmethod
    def _drop_ahead(part: _Partition) -> None:
        """Forget the batch read ahead: the partition is read again from an earlier offset."""
        if part.ahead is not None:
            part.ahead.cancel()
            part.ahead = None

    # -- settling ------------------------------------------------------------------------------

    async def acknowledge(self, records: Sequence[Record]) -> None:
        await self._mark(records, Status.DONE)

    async def fail(self, records: Sequence[Record]) -> None:
        await self._mark(records, Status.FAILED)

    async def release(self, records: Sequence[Record]) -> None:
        await self._mark(records, Status.RELEASED)

    async def _mark(self, records: Sequence[Record], status: Status) -> None:
        if isinstance(records, Batch):
            part = self._partitions.get(records.group)
            if part is not None and part.batch is records and part.status is None:
                await self._settle(part, status)  # the usual case: the batch settled whole, at once
                return
        touched: dict[str, _Partition] = {}
        for record in records:
            part = self._partitions.get(record.group or "")
            if part is None or part.batch is None:
                continue  # settled already (or from before a restart of the consumer)
            if part.status is None:
                part.status = dict.fromkeys((r.id for r in part.batch), Status.PENDING)
            if part.status.get(record.id, status) is not Status.PENDING:
                continue  # settled already (or of an earlier batch)
            part.status[record.id] = status
            part.pending -= 1
            touched[record.group or ""] = part
        for part in touched.values():
            if part.pending == 0:
                await self._settle(part)

    async def _settle(self, part: _Partition, whole: Status | None = None) -> None:
        """The batch of ``part`` is settled (``whole``: every record alike): act on what
        ``settling.settle`` decides."""
        consumer = self._consumer
        batch, status = part.batch, part.status
        part.batch, part.status, part.pending = None, None, 0
        try:
            current = self._host.kafka_options(self._uuid)
            if consumer is None or current is None or batch is None:
                return
            options = current[0]
            statuses: list[tuple[int, Status]]
            if whole is Status.DONE:  # as settling the last record alone comes to: commit past it all
                statuses = [(batch.last_offset, whole)]
            elif whole is not None:
                statuses = [(offset, whole) for offset in batch.offsets()]
            else:
                assert status is not None
                statuses = [(offset, status[r.id]) for offset, r in zip(batch.offsets(), batch)]
            outcome = settle(statuses, part.attempts, options.maximum_retry_attempts)
            part.attempts = outcome.attempts
            if outcome.given_up is not None:
                await self._give_up(options, batch[outcome.given_up[0] : outcome.given_up[1]], outcome.attempts)
                part.attempts = 0
            if outcome.failed:
                part.not_before = time.monotonic() + scaling.retry_delay(outcome.attempts)
            if outcome.commit is not None:
                self._committed(part, outcome.commit)
            if outcome.seek is not None:
                self._drop_ahead(part)
                consumer.seek(part.tp, outcome.seek)
        finally:
            part.held = False

    def _committed(self, part: _Partition, offset: int) -> None:
        if offset > part.committed:
            part.committed, part.unsaved = offset, True
            self._commits_due.set()

    async def _commit_loop(self, consumer: AIOKafkaConsumer) -> None:
        """The committer: sends what settled, as it settles, until the source closes. After a
        failure it pauses as the poller does after an unreadable source (growing to 30 s): each
        attempt with the broker away makes aiokafka reconnect, and log, again."""
        failures = 0
        while True:
            await self._commits_due.wait()
            self._commits_due.clear()
            began = time.monotonic()
            if await self._save_commits(consumer, quiet=failures > 0):
                failures = 0
                rest = COMMIT_EVERY_SECONDS - (time.monotonic() - began)
                if rest > 0:
                    await self._sleep(rest)
                continue
            failures += 1
            await self._sleep(scaling.retry_delay(failures))
            self._commits_due.set()

    async def _save_commits(self, consumer: AIOKafkaConsumer, *, quiet: bool = False) -> bool:
        """Commit every partition's settled offset not in the broker yet; False if that failed."""
        from aiokafka.errors import KafkaError

        unsaved = {p.tp: p for p in self._partitions.values() if p.unsaved}
        if not unsaved:
            return True
        offsets = {tp: p.committed for tp, p in unsaved.items()}
        for part in unsaved.values():
            part.unsaved = False
        try:
            await asyncio.wait_for(consumer.commit(offsets), START_SECONDS)
            return True
        except BaseException as exc:
            for part in unsaved.values():
                part.unsaved = True
            if not isinstance(exc, (KafkaError, OSError, asyncio.TimeoutError)):
                raise  # cancelled (closing): the close sends them
            (log.debug if quiet else log.warning)("kafka mapping %s: committing offsets failed (retried): %r",
                                                  self._uuid, exc)  # fmt: skip
            return False

    async def _give_up(self, options: KafkaOptions, records: Sequence[Record], attempts: int) -> None:
        log.warning("kafka mapping %s: gave up on %d records of %s after %d attempts", self._uuid, len(records),
                    records[0].group, attempts)  # fmt: skip
        if options.on_failure is None:
            return
        function_arn = self._options()[2]
        failure = kafka_records.Failure(
            request_id=str(uuids.uuid4()), function_arn=function_arn, attempts=attempts, function_error="Unhandled",
            executed_version=function_arn.split(":")[7] if function_arn.count(":") >= 7 else "$LATEST",
            bootstrap=options.bootstrap, consumer_group_id=options.consumer_group_id,
            payload_size=len(self.event(records)), now_ms=int(time.time() * 1000),
        )  # fmt: skip
        body = json.dumps(kafka_records.on_failure_record(failure, [r.record for r in records]))
        try:
            await self._host.send_failure(options.on_failure, body)
        except Exception:  # noqa: BLE001 - a destination gone: AWS drops the record too
            log.exception("kafka mapping %s: sending to the on-failure destination failed", self._uuid)

    # -- describing ----------------------------------------------------------------------------

    def event(self, records: Sequence[Record]) -> bytes:
        current = self._host.kafka_options(self._uuid)
        bootstrap = current[0].bootstrap if current is not None else ""
        if isinstance(records, Batch):
            return kafka_records.event_of(bootstrap, {records.group: records.texts})
        grouped: dict[str, list[str]] = {}
        for r in records:
            grouped.setdefault(r.group or "", []).append(r.encoded or json.dumps(dict(r.record)))
        return kafka_records.event_of(bootstrap, grouped)

    def _lag_of(self, part: _Partition) -> int:
        consumer = self._consumer
        key = kafka_records.group(part.tp.topic, part.tp.partition)
        high = consumer.highwater(part.tp) if consumer is not None else None
        end = max(high if high is not None else 0, self._end.get(key, 0))
        return max(0, end - part.committed)

    def lag(self) -> Lag:
        """The consumer group's lag: end offsets (as last fetched) minus committed, over partitions."""
        if self._consumer is None:
            return Lag(backlog=None, oldest_age_seconds=None)
        return Lag(backlog=sum(self._lag_of(p) for p in self._partitions.values()), oldest_age_seconds=None)


def _retrieved(task: asyncio.Task[Batch | None]) -> None:
    """A batch read ahead and dropped: its error (if any) is the next read's to meet, not a log line's."""
    if not task.cancelled():
        task.exception()


class _Repeats(logging.Filter):
    """Lets through each kind of warning or error (its format string) at most once a second: while a
    broker is down, aiokafka's client logs every failed attempt to reach it, and it attempts again at
    once, hundreds of times a second."""

    def __init__(self, every_seconds: float = 1.0) -> None:
        super().__init__()
        self._every = every_seconds
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key, now = str(record.msg), time.monotonic()
        if now - self._last.get(key, -self._every) < self._every:
            return False
        if len(self._last) > 1000:
            self._last.clear()
        self._last[key] = now
        return True


def _quiet_aiokafka() -> None:
    """Quiet aiokafka's client logger (what logs the attempts) with ``_Repeats``, once per process."""
    logger = logging.getLogger("aiokafka")
    if not any(isinstance(f, _Repeats) for f in logger.filters):
        logger.addFilter(_Repeats())


"""A queue on a RabbitMQ broker (Amazon MQ for RabbitMQ's role) as a mapping's Source.

One AMQP 0-9-1 connection per running mapping (aio-pika, imported only here), one consumer on the
mapping's one queue with a prefetch of two batches (one being worked on while the next gathers).
A batch gathers from the first message for the batching window (0.5 s when the mapping says 0,
as Lambda's default for MQ), up to BatchSize or the payload limit; gathering is one worker at a
time so batches come out whole.

Acknowledgement follows AWS: a message is acked once the function succeeded with it (or a filter
dropped it); a failed one is nacked with requeue, so it comes back with ``redelivered`` true.
A poison message does not loop forever: after ``MAX_REDELIVERIES`` failed redeliveries (Lambda's
redelivery policy for MQ) it is rejected without requeue, which RabbitMQ sends to the queue's
dead-letter exchange (or drops, when it has none; logged either way). A quorum queue's own
``x-delivery-limit`` dead-letters sooner if lower. Failures are counted by the broker's
``x-delivery-count`` header where it gives one (quorum queues), else in memory by message.

A broker that cannot be reached, or a queue that does not exist, is ``SourceUnavailable``: the
poller reports it (LastProcessingResult) and retries with backoff; what was unacked when a
connection broke comes back from the broker (at least once). ``close`` ends the connection.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from lamina.mappings.batching import BatchLimits, fitting
from lamina.mappings.brokers import BrokerAddress
from lamina.mappings.rmq_event import Properties, event, filter_view, queue_key, rmq_record
from lamina.mappings.source import Lag, Record, SourceUnavailable

if TYPE_CHECKING:
    from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage, AbstractQueue

log = logging.getLogger(__name__)

DEFAULT_WINDOW_SECONDS = 0.5  # Lambda's batching window for MQ when none is set
MAX_REDELIVERIES = 5
POLL_SECONDS = 20.0  # how long a fetch waits for a first message before coming back empty
CONNECT_TIMEOUT_SECONDS = 10.0
CONNECTION_ERROR = ("Connection error. Please check your event source connection configuration. "
                    "Lamina could not connect to the broker at {address}: {reason}")  # fmt: skip
QUEUE_MISSING = "The queue {queue} does not exist on virtual host {vhost} of the broker."
_REMEMBERED = 10_000  # failure counts kept for classic queues' messages


def gives_up(failures: int) -> bool:
    """Whether a message that failed ``failures`` times (this one included) is dead-lettered
    rather than requeued: once it was redelivered ``MAX_REDELIVERIES`` times and failed again."""
    return failures > MAX_REDELIVERIES


def fingerprint(props: Properties, body: bytes) -> str:
    """What identifies a message across redeliveries when the broker counts none."""
    digest = hashlib.sha256(body)
    digest.update(repr((props.message_id, props.correlation_id, props.timestamp, sorted(props.headers))).encode())
    return digest.hexdigest()


def properties_of(message: AbstractIncomingMessage) -> Properties:
    expiration = message.expiration
    if isinstance(expiration, dt.timedelta):
        expiration = expiration.total_seconds()
    elif isinstance(expiration, dt.datetime):  # aio-pika reads expirations as seconds; never a moment
        expiration = None
    mode = message.delivery_mode
    return Properties(
        content_type=message.content_type, content_encoding=message.content_encoding,
        headers=dict(message.headers or {}), delivery_mode=int(mode) if mode is not None else None,
        priority=message.priority, correlation_id=message.correlation_id, reply_to=message.reply_to,
        expiration_ms=None if expiration is None else round(float(expiration) * 1000),
        message_id=message.message_id, timestamp=message.timestamp, type=message.type, user_id=message.user_id,
        app_id=message.app_id, cluster_id=getattr(message, "cluster_id", None) or None,
    )  # fmt: skip


class RabbitSource:
    """``queue`` on the broker at ``address`` (its vhost: the mapping's VIRTUAL_HOST, else the URL's)."""

    def __init__(self, broker_arn: str, address: BrokerAddress, queue: str, vhost: str | None = None) -> None:
        self._arn = broker_arn
        self._address = address
        self._queue_name = queue
        self._vhost = vhost or address.vhost
        self._key = queue_key(queue, self._vhost)
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._prefetch = 0
        self._buffer: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._held: dict[str, AbstractIncomingMessage] = {}  # by token, until acked or given back
        self._failures: OrderedDict[str, int] = OrderedDict()
        self._gathering = asyncio.Lock()
        self._backlog: int | None = None
        self._generation = 0

    @property
    def ordered(self) -> bool:
        return False

    async def _connect(self, prefetch: int) -> None:
        if self._connection is not None and not self._connection.is_closed and self._channel is not None \
                and not self._channel.is_closed:  # fmt: skip
            if prefetch != self._prefetch:  # BatchSize was updated
                await self._channel.set_qos(prefetch_count=prefetch, global_=True)
                self._prefetch = prefetch
            return
        await self._drop()
        import aio_pika  # only mappings of RabbitMQ sources need it

        address = self._address
        try:
            self._connection = await aio_pika.connect(
                host=address.host, port=address.port, login=address.username, password=address.password,
                virtualhost=self._vhost, timeout=CONNECT_TIMEOUT_SECONDS,
            )  # fmt: skip
        except (OSError, asyncio.TimeoutError, aio_pika.exceptions.AMQPError) as exc:
            raise SourceUnavailable(self._connection_error(exc)) from exc
        try:
            self._channel = await self._connection.channel()
            # Per channel (RabbitMQ's global): the one consumer's limit, and a change applies at once.
            await self._channel.set_qos(prefetch_count=prefetch, global_=True)
            self._prefetch = prefetch
            self._queue = await self._channel.declare_queue(self._queue_name, passive=True)
        except aio_pika.exceptions.ChannelNotFoundEntity as exc:
            await self._drop()
            raise SourceUnavailable(QUEUE_MISSING.format(queue=self._queue_name, vhost=self._vhost)) from exc
        except (OSError, asyncio.TimeoutError, aio_pika.exceptions.AMQPError) as exc:
            await self._drop()
            raise SourceUnavailable(self._connection_error(exc)) from exc
        self._backlog = self._queue.declaration_result.message_count
        self._generation += 1
        self._buffer = asyncio.Queue()
        buffer = self._buffer

        async def take(message: AbstractIncomingMessage) -> None:
            buffer.put_nowait(message)

        await self._queue.consume(take, no_ack=False)

    def _connection_error(self, exc: BaseException) -> str:
        """What LastProcessingResult says of a failed connection: never the password."""
        reason = str(exc) if str(exc) and not isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
        if self._address.password:
            reason = reason.replace(self._address.password, "***")
        return CONNECTION_ERROR.format(address=self._address, reason=reason)

    async def _drop(self) -> None:
        """Forget the connection (the broker requeues what it held) and the messages it delivered."""
        connection, self._connection, self._channel, self._queue = self._connection, None, None, None
        self._held.clear()
        self._buffer = asyncio.Queue()
        if connection is not None and not connection.is_closed:
            try:
                await asyncio.wait_for(connection.close(), 5)
            except Exception:  # already broken: nothing more to give back
                log.debug("closing a RabbitMQ connection failed", exc_info=True)

    def _alive(self) -> bool:
        return self._connection is not None and not self._connection.is_closed \
            and self._channel is not None and not self._channel.is_closed  # fmt: skip

    async def _next(self, timeout: float) -> AbstractIncomingMessage | None:
        """The next delivered message within ``timeout`` (None: none came); SourceUnavailable once
        the connection breaks."""
        deadline = time.monotonic() + timeout
        while True:
            if not self._alive():
                await self._drop()
                raise SourceUnavailable(CONNECTION_ERROR.format(address=self._address, reason="the connection closed"))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                return await asyncio.wait_for(self._buffer.get(), min(1.0, remaining))
            except asyncio.TimeoutError:
                continue

    async def fetch(self, limits: BatchLimits) -> list[Record]:
        async with self._gathering:
            await self._connect(min(65_535, 2 * limits.max_records))
            limits = replace(limits, window_seconds=limits.window_seconds or DEFAULT_WINDOW_SECONDS)
            window = limits.window_seconds
            first = await self._next(POLL_SECONDS)
            if first is None:
                await self._refresh_backlog()
                return []
            batch = [self._record(first)]
            size = batch[0].size
            started = time.monotonic()
            while not limits.complete(len(batch), size, time.monotonic() - started):
                message = await self._next(max(0.0, window - (time.monotonic() - started)))
                if message is None:
                    break
                batch.append(self._record(message))
                size += batch[-1].size
            await self._refresh_backlog()
        keep = fitting([r.size for r in batch], limits.max_bytes)
        if keep < len(batch):
            await self.release(batch[keep:])
        return batch[:keep]

    async def _refresh_backlog(self) -> None:
        if self._queue is None:
            return
        try:
            declared = await asyncio.wait_for(self._channel.declare_queue(self._queue_name, passive=True), 5) \
                if self._channel is not None else None  # fmt: skip
        except Exception:  # the lag is informative; the next fetch finds a broken connection
            return
        if declared is not None:
            self._backlog = declared.declaration_result.message_count

    def _record(self, message: AbstractIncomingMessage) -> Record:
        props = properties_of(message)
        record = rmq_record(props, message.body, bool(message.redelivered))
        token = f"{self._generation}:{message.delivery_tag}"
        self._held[token] = message
        size = len(json.dumps(record).encode())
        return Record(id=token, token=token, record=record, view=filter_view(record, message.body), size=size)

    async def _settle(self, records: Sequence[Record], action: str) -> None:
        for record in records:
            message = self._held.pop(record.token, None)
            if message is None:  # its connection broke: the broker gives it again
                continue
            try:
                if action == "ack":
                    await message.ack()
                elif action == "requeue":
                    await message.nack(requeue=True)
                else:
                    await message.reject(requeue=False)
            except Exception:
                log.info("RabbitMQ: could not %s a message (its channel closed; the broker redelivers it)", action)

    async def acknowledge(self, records: Sequence[Record]) -> None:
        for record in records:
            message = self._held.get(record.token)
            if message is not None:
                self._failures.pop(fingerprint(properties_of(message), message.body), None)
        await self._settle(records, "ack")

    async def fail(self, records: Sequence[Record]) -> None:
        requeue: list[Record] = []
        dead: list[Record] = []
        for record in records:
            message = self._held.get(record.token)
            if message is None:
                continue
            failures = self._count_failure(message)
            (dead if gives_up(failures) else requeue).append(record)
        if dead:
            log.warning("event source mapping on %s: %d message(s) failed %d redeliveries; rejected to the queue's "
                        "dead-letter exchange (dropped if it has none)", self._key, len(dead), MAX_REDELIVERIES)  # fmt: skip
        await self._settle(dead, "reject")
        await self._settle(requeue, "requeue")

    def _count_failure(self, message: AbstractIncomingMessage) -> int:
        """How many times this message has failed, this time included."""
        counted = (message.headers or {}).get("x-delivery-count")
        if isinstance(counted, int) and not isinstance(counted, bool):
            return counted + 1  # the broker's count of earlier deliveries
        key = fingerprint(properties_of(message), message.body)
        failures = self._failures.pop(key, 0) + 1
        self._failures[key] = failures
        while len(self._failures) > _REMEMBERED:
            self._failures.popitem(last=False)
        if gives_up(failures):
            self._failures.pop(key, None)
        return failures

    async def release(self, records: Sequence[Record]) -> None:
        await self._settle(records, "requeue")

    def event(self, records: Sequence[Record]) -> bytes:
        return event(self._arn, self._key, [r.record for r in records])

    def lag(self) -> Lag:
        return Lag(backlog=self._backlog, oldest_age_seconds=None)

    async def close(self) -> None:
        await self._drop()

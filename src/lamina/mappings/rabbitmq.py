"""A queue on a RabbitMQ broker (Amazon MQ for RabbitMQ's role) as a mapping's Source.

One AMQP 0-9-1 connection per running mapping (aio-pika, imported only here), one consumer on the
mapping's one queue feeding a buffer that the poller's workers take their batches from, side by
side. The prefetch is a batch more than the poller works on at once (BatchSize × (batches + 1)):
every worker's next batch is delivered while the function works on its current one. A batch
gathers from its first message for the batching window (0.5 s when the mapping says 0, as
Lambda's default for MQ), up to BatchSize or the payload limit, taking at once what the buffer
holds: with the broker ahead of the function, batches come out whole.

Acknowledgement follows AWS: a message is acked once the function succeeded with it (or a filter
dropped it); a failed one is nacked with requeue, so it comes back with ``redelivered`` true. A
batch delivered before everything still unsettled is acked with one ``multiple`` ack of its last
delivery tag (messages leave the buffer in delivery order, and only into a batch, so nothing
unsettled is below it).
A poison message does not loop forever: after ``MAX_REDELIVERIES`` failed redeliveries (Lambda's
redelivery policy for MQ) it is rejected without requeue, which RabbitMQ sends to the queue's
dead-letter exchange (or drops, when it has none; logged either way). A quorum queue's own
``x-delivery-limit`` dead-letters sooner if lower. Failures are counted by the broker's
``x-delivery-count`` header where it gives one (quorum queues), else in memory by message.

The credentials are those of the mapping's BASIC_AUTH secret, read from LAMINA_SECRETS_FILE at each
connection (so an edited file is seen at the next), as Lambda reads Secrets Manager; when the file
does not hold the secret, those of the broker's URL (``LAMINA_RABBITMQ_BROKERS``); with neither,
the mapping reports the secret missing. An ``amqps://`` broker is reached over TLS, its certificate
verified (hostname included) against ``LAMINA_RABBITMQ_CA_FILE``'s CAs or the system's.

A broker that cannot be reached, refuses the credentials or the TLS handshake, or a queue that does
not exist, is ``SourceUnavailable`` saying so: the poller reports it (LastProcessingResult) and
retries with backoff; what was unacked when a connection broke comes back from the broker (at least
once). ``close`` ends the connection.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import ssl
import time
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lamina import secrets
from lamina.mappings.batching import BatchLimits, fitting
from lamina.mappings.brokers import BrokerAddress, tls_context
from lamina.mappings.rmq_event import Properties, RmqMessage, event_of, filter_view, queue_key, rmq_record
from lamina.mappings.source import Lag, Lazy, Record, SourceUnavailable

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
_ADD = ('add it to LAMINA_SECRETS_FILE as "{secret}": {{"username": ..., "password": ...}} (the file is read again '
        "when the mapping retries), or put the broker's user and password in its LAMINA_RABBITMQ_BROKERS URL")
SECRET_MISSING = "The secret {secret} is not in LAMINA_SECRETS_FILE: " + _ADD + "."
NO_SECRETS_FILE = "The secret {secret} cannot be read: Lamina was started without LAMINA_SECRETS_FILE; " + _ADD + "."
SECRET_INVALID = "The secret {secret} in LAMINA_SECRETS_FILE has no string username and password."
REFUSED = "{reason}. Please check the username and password in the secret {secret}."
NOT_TRUSTED = ("The broker at {address} is not trusted: certificate verify failed: {reason}. Set LAMINA_RABBITMQ_CA_FILE "
               "to the CA that signed its certificate (else the system's CAs are used); the certificate must name "
               "{host} as a subject alternative name.")  # fmt: skip
_REMEMBERED = 10_000  # failure counts kept for classic queues' messages
MAX_PREFETCH = 65_535  # AMQP's prefetch-count is a short
BACKLOG_EVERY_SECONDS = 1.0  # how often the queue's depth is asked for (the lag shown; a round trip)


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

    def __init__(self, broker_arn: str, address: BrokerAddress, queue: str, vhost: str | None = None, *,
                 secret: str | None = None, secrets_file: Path | None = None, ca_file: Path | None = None) -> None:  # fmt: skip
        self._arn = broker_arn
        self._address = address
        self._secret = secret  # BASIC_AUTH's ARN
        self._secrets_file = secrets_file
        self._ca_file = ca_file
        self._from_secret = False  # the credentials of the last connection came from the secret
        self._queue_name = queue
        self._vhost = vhost or address.vhost
        self._key = queue_key(queue, self._vhost)
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._prefetch = 0
        # Delivered and not taken yet, in delivery order; ``_arrived`` is set while it holds any.
        # Not an asyncio.Queue: a message leaves it only in a synchronous step that holds it
        # (``_held``), never inside a wait that a cancellation could end with the message taken.
        self._buffer: deque[AbstractIncomingMessage] = deque()
        self._arrived = asyncio.Event()
        self._held: dict[int, AbstractIncomingMessage] = {}  # by delivery tag (this channel's), until settled
        self._settling: dict[int, AbstractIncomingMessage] = {}  # their acks (or nacks) being written
        self._failures: OrderedDict[str, int] = OrderedDict()
        self._connecting = asyncio.Lock()
        self._backlog: int | None = None
        self._backlog_at = 0.0
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
        login, password = self._credentials()
        context: ssl.SSLContext | None = None
        if address.tls:
            try:
                context = tls_context(self._ca_file)
            except ValueError as exc:  # the file changed since the server started
                raise SourceUnavailable(str(exc)) from None
        try:
            self._connection = await aio_pika.connect(
                host=address.host, port=address.port, login=login, password=password, virtualhost=self._vhost,
                timeout=CONNECT_TIMEOUT_SECONDS, ssl=context is not None, ssl_context=context,
            )  # fmt: skip
        except (OSError, asyncio.TimeoutError, aio_pika.exceptions.AMQPError) as exc:
            raise SourceUnavailable(self._connection_error(exc, password)) from exc
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
            raise SourceUnavailable(self._connection_error(exc, password)) from exc
        self._backlog = self._queue.declaration_result.message_count
        self._backlog_at = time.monotonic()
        self._generation += 1
        self._buffer = deque()
        buffer, arrived = self._buffer, self._arrived

        async def take(message: AbstractIncomingMessage) -> None:
            buffer.append(message)
            arrived.set()

        await self._queue.consume(take, no_ack=False)

    def _credentials(self) -> tuple[str, str]:
        """The user and password to connect with: the BASIC_AUTH secret's as LAMINA_SECRETS_FILE holds
        it now, else the URL's; SourceUnavailable saying what to add when there are neither."""
        self._from_secret = False
        found: secrets.Secrets | None = None
        if self._secret is not None and self._secrets_file is not None:
            try:
                found = secrets.load(self._secrets_file)
            except secrets.SecretsFileError as exc:  # changed since the server started
                raise SourceUnavailable(str(exc)) from None
        if self._secret is not None and found is not None and self._secret in found:
            credentials = found.credentials(self._secret)
            if credentials is None:
                raise SourceUnavailable(SECRET_INVALID.format(secret=self._secret))
            self._from_secret = True
            return credentials.username, credentials.password
        if self._address.credentials_given or self._secret is None:
            return self._address.username, self._address.password
        missing = SECRET_MISSING if self._secrets_file is not None else NO_SECRETS_FILE
        raise SourceUnavailable(missing.format(secret=self._secret))

    def _connection_error(self, exc: BaseException, password: str = "") -> str:
        """What LastProcessingResult says of a failed connection: never the password."""
        import aiormq

        reason = str(exc) if str(exc) and not isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
        for secret in {password, self._address.password} - {""}:
            reason = reason.replace(secret, "***")
        seen: BaseException | None = exc
        while seen is not None:
            if isinstance(seen, ssl.SSLCertVerificationError):
                return NOT_TRUSTED.format(address=self._address, reason=seen.verify_message, host=self._address.host)
            seen = seen.__cause__ or seen.__context__
        if isinstance(exc, aiormq.exceptions.ProbableAuthenticationError) and self._from_secret:
            return REFUSED.format(reason=CONNECTION_ERROR.format(address=self._address, reason=reason).rstrip("."),
                                  secret=self._secret)  # fmt: skip
        return CONNECTION_ERROR.format(address=self._address, reason=reason)

    async def _drop(self) -> None:
        """Forget the connection (the broker requeues what it held) and the messages it delivered."""
        connection, self._connection, self._channel, self._queue = self._connection, None, None, None
        self._held.clear()
        self._settling.clear()
        self._buffer = deque()
        self._arrived.set()  # wake the waiting workers: they find the connection gone
        if connection is not None and not connection.is_closed:
            try:
                await asyncio.wait_for(connection.close(), 5)
            except Exception:  # already broken: nothing more to give back
                log.debug("closing a RabbitMQ connection failed", exc_info=True)

    def _alive(self) -> bool:
        return self._connection is not None and not self._connection.is_closed \
            and self._channel is not None and not self._channel.is_closed  # fmt: skip

    def _take(self) -> AbstractIncomingMessage | None:
        """The next delivered message, now held, if there is one."""
        if not self._buffer:
            self._arrived.clear()
            return None
        message = self._buffer.popleft()
        if message.delivery_tag is not None:
            self._held[message.delivery_tag] = message
        return message

    async def _next(self, timeout: float) -> AbstractIncomingMessage | None:
        """The next delivered message within ``timeout`` (None: none came), now held;
        SourceUnavailable once the connection breaks."""
        deadline = time.monotonic() + timeout
        while True:
            if not self._alive():
                await self._drop()
                raise SourceUnavailable(CONNECTION_ERROR.format(address=self._address, reason="the connection closed"))
            message = self._take()
            if message is not None:
                return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._arrived.wait(), min(1.0, remaining))
            except asyncio.TimeoutError:
                continue

    async def fetch(self, limits: BatchLimits) -> list[Record]:
        async with self._connecting:
            await self._connect(min(MAX_PREFETCH, limits.max_records * (limits.batches + 1)))
        window = limits.window_seconds or DEFAULT_WINDOW_SECONDS
        limits = BatchLimits(limits.max_records, window, limits.max_bytes, limits.batches)
        first = await self._next(POLL_SECONDS)
        if first is None:
            await self._refresh_backlog()
            return []
        batch = [self._record(first)]
        size = batch[0].size
        started = time.monotonic()
        while not limits.complete(len(batch), size, time.monotonic() - started):
            message = self._take() or await self._next(max(0.0, window - (time.monotonic() - started)))
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
        if self._queue is None or self._channel is None or time.monotonic() - self._backlog_at < BACKLOG_EVERY_SECONDS:
            return
        self._backlog_at = time.monotonic()
        try:
            declared = await asyncio.wait_for(self._channel.declare_queue(self._queue_name, passive=True), 5)
        except Exception:  # the lag is informative; the next fetch finds a broken connection
            return
        self._backlog = declared.declaration_result.message_count

    def _record(self, message: AbstractIncomingMessage) -> Record:
        record = rmq_record(properties_of(message), message.body, bool(message.redelivered))
        token = f"{self._generation}:{message.delivery_tag}"
        text = json.dumps(record)  # ASCII: its length is its size
        return Record(id=token, token=token, record=record, view=Lazy(_view, (record, message.body)), size=len(text),
                      encoded=text)  # fmt: skip

    def _messages(self, records: Sequence[Record]) -> list[tuple[int, AbstractIncomingMessage]]:
        """The held messages of ``records`` (those of a broken connection are the broker's again)."""
        prefix = f"{self._generation}:"
        found = []
        for record in records:
            if record.token.startswith(prefix):
                tag = int(record.token[len(prefix) :])
                message = self._held.get(tag)
                if message is not None:
                    found.append((tag, message))
        return found

    async def _settle(self, messages: Sequence[tuple[int, AbstractIncomingMessage]], action: str) -> None:
        # Settling from now: no other call settles them again, nor counts them settled yet.
        messages = [(tag, m) for tag, m in messages if self._held.pop(tag, None) is not None]
        mine = {tag for tag, _ in messages}
        self._settling.update(messages)
        try:
            multiple = False
            if action == "ack" and len(messages) > 1:
                last = max(messages, key=lambda held: held[0])
                # Nothing unsettled below it, nor still being settled by another batch (its acks
                # not written yet): one ack settles them all.
                if all(tag > last[0] for tag in self._held) and all(t > last[0] or t in mine for t in self._settling):
                    messages, multiple = [last], True
            for _, message in messages:
                try:
                    if action == "ack":
                        await message.ack(multiple=multiple)
                    elif action == "requeue":
                        await message.nack(requeue=True)
                    else:
                        await message.reject(requeue=False)
                except Exception:
                    log.info("RabbitMQ: could not %s a message (its channel closed; the broker redelivers it)", action)
        finally:
            for tag in mine:
                self._settling.pop(tag, None)

    async def acknowledge(self, records: Sequence[Record]) -> None:
        messages = self._messages(records)
        if self._failures:  # forget the failures counted of messages now done
            for _, message in messages:
                self._failures.pop(fingerprint(properties_of(message), message.body), None)
        await self._settle(messages, "ack")

    async def fail(self, records: Sequence[Record]) -> None:
        requeue: list[tuple[int, AbstractIncomingMessage]] = []
        dead: list[tuple[int, AbstractIncomingMessage]] = []
        for tag, message in self._messages(records):
            failures = self._count_failure(message)
            (dead if gives_up(failures) else requeue).append((tag, message))
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
        await self._settle(self._messages(records), "requeue")

    def event(self, records: Sequence[Record]) -> bytes:
        return event_of(self._arn, self._key, [r.encoded or json.dumps(dict(r.record)) for r in records])

    def lag(self) -> Lag:
        return Lag(backlog=self._backlog, oldest_age_seconds=None)

    async def close(self) -> None:
        await self._drop()


def _view(made: tuple[RmqMessage, bytes]) -> Mapping[str, object]:
    return filter_view(*made)

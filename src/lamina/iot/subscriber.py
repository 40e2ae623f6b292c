"""The MQTT broker's subscriber: the one owned task that makes topic rules fire.

It connects to the broker of ``LAMINA_MQTT_URL`` with a stable client id and a persistent session
(clean_session false), so QoS 1 messages published while Lamina was briefly away are delivered when
it is back; subscribes with QoS 1 to the topic filter of each enabled rule, following the rules as
they change (``TopicRules.watch``); and hands each message to every enabled rule whose filter
matches it (``evaluate.run``, pure). A rule that fires invokes its function asynchronously with the
selected JSON (``invoke``: an ``Event`` invocation, durable in the store before it returns; the
function's retries and destinations apply).

A message is acknowledged (PUBACK) only once every invocation it makes has been stored, or refused
for good: until then it is the broker's, which sends it again on the session's next connection if
Lamina dies meanwhile (a kill -9 loses nothing; a message can fire twice). An invocation refused
for a while (the function's asynchronous queue at its quota: 429, or a 5xx) is tried again after
a pause doubling from ``MIN_BACKOFF`` to ``MAX_BACKOFF`` seconds, holding the message meanwhile
(and the acknowledgements of those after it: PUBACKs go in order); one refused for good (the function is gone, any other
4xx) is logged and the message acknowledged, as are a message no rule selects, one over AWS IoT's
128 KB limit, one a rule cannot take (``SELECT *`` of binary data for a Lambda action) and one
that hits a fault of Lamina's (logged): redelivering those would fail the same way forever.

A broker that cannot be reached or goes away is retried with a jittered backoff doubling from
``MIN_BACKOFF`` to ``MAX_BACKOFF`` seconds, forever, and every filter is subscribed again once
connected; the API never waits on the broker. Retained messages the broker replays on
(re-)subscription are stale state, not events: skipped (and acknowledged)."""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

from lamina.errors import ApiError
from lamina.iot.broker import BrokerUrl
from lamina.iot.evaluate import NOT_JSON, Message, run
from lamina.iot.model import TopicRule
from lamina.iot.mqtt import Connection, MqttError, Received
from lamina.iot.service import TopicRules
from lamina.iot.topics import matches
from lamina.tasks import cancel_and_wait

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 128 * 1024  # AWS IoT's message size limit
MIN_BACKOFF = 0.5
MAX_BACKOFF = 30.0
KEEPALIVE_SECONDS = 30
BROKER_TIMEOUT = 10.0  # for the CONNACK, a SUBACK, an UNSUBACK
IN_HAND = 32  # messages being handed to the rules at once (Mosquitto sends 20 unacknowledged by default)

# The function, the event, and the rule's ARN (the invocation's source: its permission is checked).
Invoke = Callable[[str, bytes, str], Awaitable[None]]


def client_id(data_dir: Path) -> str:
    """Stable for one Lamina (its data directory), so that the broker keeps its session across
    restarts; 23 characters, the most MQTT 3.1.1 requires brokers to accept."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()
    return f"lamina-{digest[:16]}"


def parse_payload(payload: bytes) -> object:
    """The payload as JSON, or ``NOT_JSON``: text that is not JSON (NaN and Infinity included, as
    JSON has no such values), bytes that are not UTF-8, nesting too deep for the parser."""
    try:
        return json.loads(payload.decode("utf-8"), parse_constant=_refuse)
    except (ValueError, RecursionError):
        return NOT_JSON


def _refused(code: object) -> bool:
    """A SUBACK's failure: 0x80 in MQTT 3.1.1 (an int, or paho's ReasonCode), any code >= 0x80 in 5."""
    value = getattr(code, "value", code)
    return isinstance(value, int) and value >= 0x80


def transient(error: ApiError) -> bool:
    """An invocation refused for now (throttled, the queue at its quota, a fault of the store),
    worth trying again, rather than for good (the function is gone, the request is invalid)."""
    return error.status == 429 or error.status >= 500


def _refuse(name: str) -> object:
    raise ValueError(name)


@dataclass(frozen=True)
class BrokerStatus:
    """What ``lamina iot rules`` shows (GET /lamina/v1/iot)."""

    configured: bool
    url: str | None = None
    connected: bool = False
    subscriptions: tuple[str, ...] = ()
    last_error: str | None = None
    received: int = 0  # messages taken from the broker and handed to the rules
    invoked: int = 0  # invocations the rules made (accepted by the asynchronous queue)
    held: int = 0  # invocations refused for now, being tried again (their message not acknowledged)

    def wire(self) -> dict[str, object]:
        return {"configured": self.configured, "url": self.url, "connected": self.connected,
                "subscriptions": list(self.subscriptions), "lastError": self.last_error,
                "received": self.received, "invoked": self.invoked, "held": self.held}  # fmt: skip


class Subscriber:
    def __init__(self, url: BrokerUrl, identifier: str, rules: TopicRules, invoke: Invoke) -> None:
        self._url = url
        self._identifier = identifier
        self._rules = rules
        self._invoke = invoke
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connected = False
        self._subscribed: set[str] = set()
        self._stale: set[str] = set()  # subscribed on an earlier connection, maybe kept by the session
        self._last_error: str | None = None
        self._received = 0
        self._invoked = 0
        self._held = 0
        rules.watch(self._wake.set)

    def status(self) -> BrokerStatus:
        return BrokerStatus(True, str(self._url), self._connected, tuple(sorted(self._subscribed)),
                            self._last_error, self._received, self._invoked, self._held)  # fmt: skip

    async def start(self) -> None:
        """Start connecting (in the background: a broker that is down does not delay start-up)."""
        self._task = asyncio.create_task(self._run(), name="lamina-mqtt-subscriber")

    async def close(self) -> None:
        """Stop: cancel the task (a message being handed over is finished or not started) and
        disconnect; the broker keeps the session and queues what arrives meanwhile."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        delay = MIN_BACKOFF
        while True:
            try:
                async with Connection(self._url, self._identifier, KEEPALIVE_SECONDS, BROKER_TIMEOUT) as client:
                    self._connected, self._last_error, delay = True, None, MIN_BACKOFF
                    log.info("MQTT broker %s: connected as %s", self._url, self._identifier)
                    await self._serve(client)
            except* (MqttError, OSError) as group:
                error = "; ".join(str(e) for e in group.exceptions)
                if self._connected or error != self._last_error:
                    log.warning("MQTT broker %s: %s; connecting again in %.1f s", self._url, error, delay)
                self._last_error = error
            except* Exception as group:  # a fault of Lamina's: reported, and the connection made again
                log.error("MQTT subscriber failed; connecting again in %.1f s", delay, exc_info=group)
                self._last_error = "; ".join(f"{type(e).__name__}: {e}" for e in group.exceptions)
            finally:
                self._connected = False
                self._stale |= self._subscribed
                self._subscribed.clear()
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, MAX_BACKOFF)

    async def _serve(self, client: Connection) -> None:
        """Take messages as they come, up to ``IN_HAND`` at once (their invocations are stored
        together, one group commit for several), and acknowledge each once it and every message
        received before it are done: PUBACKs go in the order the messages came, as MQTT asks."""
        in_hand: collections.deque[tuple[Received, asyncio.Task[None]]] = collections.deque()
        room = asyncio.Semaphore(IN_HAND)

        def finished(_: asyncio.Task[None]) -> None:
            room.release()
            while in_hand and in_hand[0][1].done():
                message, task = in_hand.popleft()
                if not task.cancelled():  # cancelled: the connection is gone, the broker sends it again
                    client.ack(message)

        async with asyncio.TaskGroup() as group:
            group.create_task(self._follow_rules(client), name="lamina-mqtt-subscriptions")
            while True:
                message = await client.receive()
                await room.acquire()
                task = group.create_task(self._take(message), name="lamina-mqtt-message")
                in_hand.append((message, task))
                task.add_done_callback(finished)

    async def _take(self, message: Received) -> None:
        if message.retain:
            return
        try:
            await self.deliver(message.topic, message.payload)
        except Exception:  # a fault of Lamina's: it would fail again, so it is not redelivered
            log.exception("MQTT message on %r could not be handed to the rules", message.topic)

    async def _follow_rules(self, client: Connection) -> None:
        """Keep one QoS 1 subscription per enabled rule's topic filter, as the rules change. A
        persistent session keeps the subscriptions of the last connection: those no rule wants any
        more (a rule deleted while the broker was away) are removed once connected again."""
        while True:
            self._wake.clear()
            wanted = {rule.topic_filter for rule in self._rules.enabled()}
            for topic_filter in sorted(wanted - self._subscribed):
                granted = await client.subscribe(topic_filter, qos=1)
                if any(_refused(code) for code in granted):
                    log.warning("MQTT broker %s refused a subscription to %r: its rules will not fire",
                                self._url, topic_filter)  # fmt: skip
                    continue
                self._subscribed.add(topic_filter)
                self._stale.discard(topic_filter)
            for topic_filter in sorted((self._subscribed | self._stale) - wanted):
                await client.unsubscribe(topic_filter)
                self._subscribed.discard(topic_filter)
                self._stale.discard(topic_filter)
            await self._wake.wait()

    async def deliver(self, topic: str, payload: bytes) -> None:
        """Hand one message to every enabled rule whose filter matches ``topic``."""
        try:
            await self._deliver(topic, payload)
        finally:
            self._received += 1

    async def _deliver(self, topic: str, payload: bytes) -> None:
        rules = [rule for rule in self._rules.enabled() if matches(rule.topic_filter, topic)]
        if not rules:
            return
        if len(payload) > MAX_PAYLOAD_BYTES:
            log.warning("MQTT message on %r dropped: %d bytes, over AWS IoT's limit of %d",
                        topic, len(payload), MAX_PAYLOAD_BYTES)  # fmt: skip
            return
        message = Message(topic, payload, parse_payload(payload), int(time.time() * 1000))
        for rule in rules:
            outcome = run(rule.query, message)
            if not outcome.fires:
                continue
            if outcome.binary:
                log.warning("IoT rule %s: the message on %r is not JSON, which a Lambda action cannot take; "
                            "select encode(*, 'base64') AS data to pass it on", rule.name, topic)  # fmt: skip
                continue
            await self._fire(rule, json.dumps(outcome.result).encode())

    async def _fire(self, rule: TopicRule, event: bytes) -> None:
        """Invoke ``rule``'s function with ``event`` until the invocation is stored or refused
        for good; a refusal for now is tried again after a pause (the caller holds the message)."""
        delay = MIN_BACKOFF
        while True:
            try:
                await self._invoke(rule.function_arn, event, self._rules.arn(rule))
                self._invoked += 1
                return
            except ApiError as exc:
                if not transient(exc):
                    log.warning("IoT rule %s: invoking %s failed: %s; the message is dropped",
                                rule.name, rule.function_arn, exc.message)  # fmt: skip
                    return
                if delay == MIN_BACKOFF:
                    log.warning("IoT rule %s: invoking %s refused for now (%s); trying again, the message held",
                                rule.name, rule.function_arn, exc.message)  # fmt: skip
            self._held += 1
            try:
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            finally:
                self._held -= 1
            delay = min(delay * 2, MAX_BACKOFF)

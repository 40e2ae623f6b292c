"""The MQTT broker's subscriber: the one owned task that makes topic rules fire.

It connects to the broker of ``LAMINA_MQTT_URL`` with a stable client id and a persistent session
(clean_session false), so QoS 1 messages published while Lamina was briefly away are delivered when
it is back; subscribes with QoS 1 to the topic filter of each enabled rule, following the rules as
they change (``TopicRules.watch``); and hands each message to every enabled rule whose filter
matches it (``evaluate.run``, pure). A rule that fires invokes its function asynchronously with the
selected JSON (``invoke``: an ``Event`` invocation, durable in the store before it returns; the
function's retries and destinations apply).

Failure behaviour: a broker that cannot be reached or goes away is retried with a jittered backoff
doubling from ``MIN_BACKOFF`` to ``MAX_BACKOFF`` seconds, forever, and every filter is subscribed
again once connected; the API never waits on the broker. A message over AWS IoT's 128 KB limit, a
rule that cannot take a non-JSON payload (``SELECT *`` of binary data for a Lambda action) and an
invocation refused (function gone, queue full) are logged and dropped: the message is not retried.
Retained messages the broker replays on (re-)subscription are stale state, not events: skipped.
The broker acknowledges a QoS 1 message as the client library receives it, so a message is lost
if Lamina dies between that and the invocation being stored (a few milliseconds).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable

from lamina.errors import ApiError
from lamina.iot.broker import BrokerUrl
from lamina.iot.evaluate import NOT_JSON, Message, run
from lamina.iot.service import TopicRules
from lamina.iot.topics import matches
from lamina.tasks import cancel_and_wait

if TYPE_CHECKING:
    import aiomqtt

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 128 * 1024  # AWS IoT's message size limit
MIN_BACKOFF = 0.5
MAX_BACKOFF = 30.0
KEEPALIVE_SECONDS = 30

Invoke = Callable[[str, bytes], Awaitable[None]]


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

    def wire(self) -> dict[str, object]:
        return {"configured": self.configured, "url": self.url, "connected": self.connected,
                "subscriptions": list(self.subscriptions), "lastError": self.last_error,
                "received": self.received, "invoked": self.invoked}  # fmt: skip


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
        rules.watch(self._wake.set)

    def status(self) -> BrokerStatus:
        return BrokerStatus(True, str(self._url), self._connected, tuple(sorted(self._subscribed)),
                            self._last_error, self._received, self._invoked)  # fmt: skip

    async def start(self) -> None:
        """Start connecting (in the background: a broker that is down does not delay start-up)."""
        self._task = asyncio.create_task(self._run(), name="lamina-mqtt-subscriber")

    async def close(self) -> None:
        """Stop: cancel the task (a message being handed over is finished or not started) and
        disconnect; the broker keeps the session and queues what arrives meanwhile."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        import aiomqtt  # imported here: only a Lamina with a broker needs it

        delay = MIN_BACKOFF
        while True:
            try:
                async with aiomqtt.Client(
                    self._url.host, self._url.port, username=self._url.username, password=self._url.password,
                    identifier=self._identifier, clean_session=False, keepalive=KEEPALIVE_SECONDS, timeout=10,
                ) as client:  # fmt: skip
                    self._connected, self._last_error, delay = True, None, MIN_BACKOFF
                    log.info("MQTT broker %s: connected as %s", self._url, self._identifier)
                    await self._serve(client)
            except* (aiomqtt.MqttError, OSError) as group:
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

    async def _serve(self, client: aiomqtt.Client) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._follow_rules(client), name="lamina-mqtt-subscriptions")
            async for message in client.messages:
                if message.retain:
                    continue
                payload = message.payload
                if not isinstance(payload, bytes):
                    payload = str(payload).encode() if payload is not None else b""
                try:
                    await self.deliver(message.topic.value, payload)
                except Exception:  # a fault of Lamina's: this message is lost, the others are not
                    log.exception("MQTT message on %r could not be handed to the rules", message.topic.value)

    async def _follow_rules(self, client: aiomqtt.Client) -> None:
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
            try:
                await self._invoke(rule.function_arn, json.dumps(outcome.result).encode())
                self._invoked += 1
            except ApiError as exc:
                log.warning("IoT rule %s: invoking %s failed: %s", rule.name, rule.function_arn, exc.message)

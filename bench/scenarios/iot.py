"""IoT topic rules: MQTT messages turned into stored invocations per second, beside the raw rate.

A Mosquitto of the scenario's own (``bench/mosquitto.py``; the scenario is skipped, with the
reason, where it is not installed) and a Lamina subscribed to it (``LAMINA_MQTT_URL``).

Throughput: ``messages`` messages (QoS 1, a small JSON payload) are published as fast as one paho
client can (its own network thread) to a topic a ``SELECT *`` rule sends to a no-op function; the
clock runs from the first publish until Lamina's subscriber has had all ``messages`` invocations
accepted by the asynchronous queue (``invoked`` of ``GET /lamina/v1/iot``, polled every 20 ms;
each was stored before its PUBACK). The functions' runs are not waited for: that is the
asynchronous invocation figure's. Beside it, in the same run, the raw rate: the same publisher and
as many messages, received by a plain paho subscriber (QoS 1, acknowledging on receipt) with no
Lamina, timed from the first publish to the last message received.

Latency, once the asynchronous queue has run the throughput's backlog (``GET /lamina/v1/queue``
lists no function): ``latency_messages`` messages published one at a time, ``LATENCY_GAP_S`` apart, each
carrying its publish time, to a rule whose function prints it beside the time the handler saw it
(both wall clock, one machine), read back through Lamina's log API; its p50 is publish to handler.
One message goes first, unmeasured, and is seen before the others: it starts the environment.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench.handler_latency import json_of, printed
from bench.handlers import NOOP
from bench.lamina_target import Lamina
from bench.load import LoadError
from bench.stats import Latency, ratio
from bench.types import Progress

FUNCTION = "iot-noop"
LATENCY_FUNCTION = "iot-latency"
TOPIC = "bench/iot/{}"
LATENCY_GAP_S = 0.02
QOS = 1

LATENCY_HANDLER = '''\
import time

def handler(event, context):
    print("LATENCY", event["sent"], time.time())
    return {}
'''


@dataclass(frozen=True)
class IotResult:
    messages: int
    seconds: float  # first publish to the last invocation accepted
    raw_seconds: float  # first publish to the last message received by a plain subscriber
    latency: Latency  # publish to handler, one at a time

    @property
    def per_s(self) -> float:
        return self.messages / self.seconds

    @property
    def raw_per_s(self) -> float:
        return self.messages / self.raw_seconds

    @property
    def ratio(self) -> float | None:
        """Messages per second through a rule, over the raw rate."""
        return ratio(self.per_s, self.raw_per_s)


def _client(name: str, port: int) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=name)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _close(client: paho.Client) -> None:
    client.disconnect()
    client.loop_stop()


def _publish(port: int, topic: str, n: int, started: list[float]) -> None:
    """``n`` messages at QoS 1, as fast as the broker takes them; returns once all are acknowledged."""
    client = _client("bench-iot-publisher", port)
    try:
        body = json.dumps({"reading": 21.5, "unit": "C", "device": "bench"}).encode()
        started.append(time.perf_counter())
        sent = [client.publish(topic, body, qos=QOS) for _ in range(n)]
        for info in sent:
            info.wait_for_publish(120)
    finally:
        _close(client)


async def _status(lamina: Lamina) -> dict[str, object]:
    return json_of(await lamina.call("GET", "/lamina/v1/iot"), "broker status")


async def _rule(lamina: Lamina, name: str, function: str, topic_filter: str) -> None:
    config = json_of(await lamina.call("GET", f"/2015-03-31/functions/{function}/configuration"), "config")
    payload = {"sql": f"SELECT * FROM '{topic_filter}'", "actions": [{"lambda": {"functionArn": config["FunctionArn"]}}]}
    got = await lamina.call("POST", f"/rules/{name}", payload)
    if got.status != 200:
        raise LoadError(f"CreateTopicRule {name}: {got.status} {got.body[:300]!r}")
    deadline = time.monotonic() + 30
    while topic_filter not in (await _status(lamina)).get("subscriptions", []):  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise LoadError(f"iot: Lamina did not subscribe to {topic_filter!r}: {await _status(lamina)}")
        await asyncio.sleep(0.02)


async def _through_rule(lamina: Lamina, port: int, n: int, timeout: float = 600.0) -> float:
    await lamina.create_function(FUNCTION, NOOP)
    await _rule(lamina, "bench_noop", FUNCTION, TOPIC.format("+"))
    before = int(str((await _status(lamina))["invoked"]))
    started: list[float] = []
    publishing = asyncio.create_task(asyncio.to_thread(_publish, port, TOPIC.format("noop"), n, started))
    deadline = time.monotonic() + timeout
    while int(str((await _status(lamina))["invoked"])) - before < n:
        if time.monotonic() > deadline:
            raise LoadError(f"iot: {n} invocations were not accepted in {timeout:.0f} s: {await _status(lamina)}")
        if publishing.done() and publishing.exception() is not None:
            await publishing
        await asyncio.sleep(0.02)
    end = time.perf_counter()
    await publishing
    return end - started[0]


async def _drained(lamina: Lamina, timeout: float = 600.0) -> None:
    """Wait until the asynchronous queue has run every event (``GET /lamina/v1/queue`` lists none)."""
    deadline = time.monotonic() + timeout
    while json_of(await lamina.call("GET", "/lamina/v1/queue"), "queue depth")["functions"]:
        if time.monotonic() > deadline:
            raise LoadError(f"iot: the asynchronous queue did not drain in {timeout:.0f} s")
        await asyncio.sleep(0.1)


async def _raw(port: int, n: int, timeout: float = 600.0) -> float:
    """Seconds from the first publish until a plain subscriber has received ``n`` messages."""
    received = 0
    done = threading.Event()
    subscribed = threading.Event()
    end = 0.0

    def on_message(client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        nonlocal received, end
        received += 1
        if received == n:
            end = time.perf_counter()
            done.set()

    subscriber = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-iot-raw")
    subscriber.on_message = on_message
    subscriber.on_subscribe = lambda *args: subscribed.set()
    subscriber.connect("127.0.0.1", port)
    subscriber.loop_start()
    try:
        subscriber.subscribe(TOPIC.format("raw"), qos=QOS)
        if not await asyncio.to_thread(subscribed.wait, 30):
            raise LoadError("iot: the raw subscriber's subscription was not acknowledged")
        started: list[float] = []
        await asyncio.to_thread(_publish, port, TOPIC.format("raw"), n, started)
        if not await asyncio.to_thread(done.wait, timeout):
            raise LoadError(f"iot: the raw subscriber received {received} of {n} messages in {timeout:.0f} s")
        return end - started[0]
    finally:
        _close(subscriber)


async def _latency(lamina: Lamina, port: int, n: int) -> Latency:
    await lamina.create_function(LATENCY_FUNCTION, LATENCY_HANDLER)
    await _rule(lamina, "bench_latency", LATENCY_FUNCTION, TOPIC.format("latency"))
    publisher = await asyncio.to_thread(_client, "bench-iot-latency", port)
    try:

        async def one() -> None:
            info = publisher.publish(TOPIC.format("latency"), json.dumps({"sent": time.time()}), qos=QOS)
            await asyncio.to_thread(info.wait_for_publish, 30)

        await one()
        _, cursor = await printed(lamina, LATENCY_FUNCTION, 1, 0, "iot")
        for _ in range(n):
            await asyncio.sleep(LATENCY_GAP_S)
            await one()
        seen, _ = await printed(lamina, LATENCY_FUNCTION, n, cursor, "iot")
    finally:
        await asyncio.to_thread(_close, publisher)
    return Latency.of(seen)


async def run(lamina: Lamina, port: int, messages: int, latency_messages: int, progress: Progress) -> IotResult:
    raw = await _raw(port, messages)
    progress(f"iot  raw: {messages:,} messages to a plain paho subscriber in {raw:.2f} s, {messages / raw:,.0f}/s")
    seconds = await _through_rule(lamina, port, messages)
    progress(f"iot  rule: {messages:,} invocations accepted in {seconds:.2f} s, {messages / seconds:,.0f}/s "
             f"({raw / seconds:.2f}× raw)")  # fmt: skip
    await _drained(lamina)  # the latency is measured on a quiet server, not beside the backlog's runs
    await lamina.control.close()
    latency = await _latency(lamina, port, latency_messages)
    progress(f"iot  publish → handler, one at a time: p50 {latency.p50_ms:.1f} ms, p99 {latency.p99_ms:.1f} ms "
             f"({latency.count} messages)")  # fmt: skip
    return IotResult(messages, seconds, raw, latency)

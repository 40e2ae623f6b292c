"""RabbitMQ mapping throughput: records per second delivered to a no-op function in batches of 10
and of 100, beside aio-pika's raw consume rate on the same broker, in the same run.

The suite's ``rabbitmq`` scenario starts a node of its own (Debian's rabbitmq-server, which
scripts/install/rabbitmq.sh installs, started by tests/rabbitmq.py's helper as the tests do;
skipped, with the reason, when it is not there). On its own, against a broker you run:
``python -m bench.scenarios.rabbitmq --broker amqp://user:password@127.0.0.1:5672/vhost``.

Raw: ``messages`` are published to a fresh queue, then one aio-pika consumer (prefetch 100)
receives and acks each. Mapping: the same number published to another fresh queue, then an event
source mapping of a function that does nothing but print its batch's size is created on it.
Both clocks start at the first records seen and count only the records after them, so that
connecting, consuming and the mapping's start are outside both figures alike: raw, from the first
message received to the last ack, counting the messages after the first; mapping, from the log
line of the first invocation to the one that brought the printed count to ``messages`` (the times
Lamina gave the lines, on one clock), counting the records after the first batch. Afterwards the
mapping is deleted and the queue must hold nothing: every message was acknowledged. Queues are
transient (not durable) on both sides: the figure is Lamina's, not the broker's disk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

import aio_pika

from bench.lamina_target import Lamina, start_lamina
from bench.load import LoadError
from bench.procs import Processes
from bench.scenarios.brokers import BATCH_SIZES, BrokerResult
from bench.types import Progress
from tests.rabbitmq import SERVER, VHOST, RabbitMQ

COUNTER = "def handler(event, context):\n    print('BATCH', sum(len(m) for m in event['rmqMessagesByQueue'].values()))\n"
BROKER_ARN = "arn:aws:mq:us-east-1:000000000000:broker:bench:b-0000"
SECRET = "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench"
MAPPINGS = "/2015-03-31/event-source-mappings"
BROKER = "bench"  # its name in LAMINA_RABBITMQ_BROKERS
RAW = "aio-pika consume (prefetch 100) + ack"


def unavailable() -> str | None:
    """Why the suite's scenario cannot run here (None: it can)."""
    if not Path(SERVER).exists():
        return f"rabbitmq-server is not installed ({SERVER}; scripts/install/rabbitmq.sh)"
    return None


async def start_node(directory: Path) -> RabbitMQ:
    return await asyncio.to_thread(lambda: RabbitMQ(directory).start())


def node_url(node: RabbitMQ) -> str:
    return node.url(VHOST)


async def _fill(url: str, queue: str, count: int) -> None:
    async with await aio_pika.connect(url) as connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, auto_delete=False, durable=False)
        for i in range(count):
            await channel.default_exchange.publish(aio_pika.Message(b'{"n": %d}' % i), routing_key=queue)


async def _ready(url: str, queue: str) -> int:
    async with await aio_pika.connect(url) as connection:
        declared = await (await connection.channel()).declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


async def _delete(url: str, queue: str) -> None:
    async with await aio_pika.connect(url) as connection:
        await (await connection.channel()).queue_delete(queue)


async def raw_rate(url: str, count: int) -> float:
    queue = f"bench-raw-{uuid.uuid4().hex[:8]}"
    await _fill(url, queue, count)
    done = asyncio.Event()
    seen, first = 0, 0.0
    async with await aio_pika.connect(url) as connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=100)
        declared = await channel.declare_queue(queue, passive=True)

        async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal seen, first
            if not seen:
                first = time.perf_counter()
            await message.ack()
            seen += 1
            if seen == count:
                done.set()

        await declared.consume(take)
        await asyncio.wait_for(done.wait(), 600)
        elapsed = time.perf_counter() - first
    await _delete(url, queue)
    return (count - 1) / elapsed


async def _delivered(lamina: Lamina, function: str, count: int, deadline: float) -> tuple[float, int, float]:
    """From the function's log: the time (epoch seconds) of its first invocation's line, the size
    of that first batch, and the time of the line that brought the printed sizes to ``count``."""
    cursor, total, first, first_size = 0, 0, 0.0, 0
    while time.monotonic() < deadline:
        got = await lamina.call("GET", f"/lamina/v1/functions/{function}/logs?since={cursor}&limit=10000&wait=1")
        page = json.loads(got.body)
        for event in page["events"]:
            if event["message"].startswith("BATCH "):
                size = int(event["message"].split()[1])
                if not total:
                    first, first_size = float(event["timestamp"]) / 1000, size
                total += size
                if total >= count:
                    return first, first_size, float(event["timestamp"]) / 1000
        cursor = page["nextCursor"]
    raise LoadError(f"rabbitmq: {total} of {count} messages delivered in time")


async def mapping_rate(lamina: Lamina, url: str, count: int, batch: int) -> float:
    queue, function = f"bench-map-{uuid.uuid4().hex[:8]}", f"rmq-count-{batch}"
    await lamina.create_function(function, COUNTER)
    await _fill(url, queue, count)
    await lamina.control.close()  # idle while the queue filled: perhaps closed by Lamina (its header timeout)
    made = await lamina.call("POST", MAPPINGS, {
        "FunctionName": function, "EventSourceArn": BROKER_ARN, "Queues": [queue], "BatchSize": batch,
        "SourceAccessConfigurations": [{"Type": "BASIC_AUTH", "URI": SECRET}],
    })  # fmt: skip
    if made.status != 202:
        raise LoadError(f"CreateEventSourceMapping: {made.status} {made.body[:300]!r}")
    first, first_size, end = await _delivered(lamina, function, count, time.monotonic() + 600)
    mapping = json.loads(made.body)["UUID"]
    await lamina.call("DELETE", f"{MAPPINGS}/{mapping}")
    while (await lamina.call("GET", f"{MAPPINGS}/{mapping}")).status != 404:
        await asyncio.sleep(0.01)
    left = await _ready(url, queue)
    if left:
        raise LoadError(f"rabbitmq: {left} messages came back unacknowledged")
    await _delete(url, queue)
    if first_size >= count or end <= first:
        raise LoadError(f"rabbitmq: batch {batch}: every message came in the first batch: too few to measure")
    return (count - first_size) / (end - first)


async def measure(lamina: Lamina, url: str, messages: int, progress: Progress) -> BrokerResult:
    """The figures, with ``lamina`` started with ``LAMINA_RABBITMQ_BROKERS=bench=<url>``."""
    raw = await raw_rate(url, messages)
    progress(f"rabbitmq  raw ({RAW}): {raw:,.0f} messages/s")
    rates = {}
    for batch in BATCH_SIZES:
        rates[batch] = await mapping_rate(lamina, url, messages, batch)
        progress(f"rabbitmq  batch {batch}: {rates[batch]:,.0f} records/s ({rates[batch] / raw:.2f}× raw)")
    return BrokerResult("RabbitMQ", messages, RAW, raw, rates)


async def run(url: str, messages: int) -> BrokerResult:
    processes = Processes()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            lamina = await start_lamina(processes, Path(scratch) / "data", LAMINA_RABBITMQ_BROKERS=f"{BROKER}={url}")
            result = await measure(lamina, url, messages, lambda line: None)
            await lamina.control.close()
            await processes.stop_all()
    finally:
        await processes.stop_all()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scenarios.rabbitmq", description=__doc__.splitlines()[0])
    parser.add_argument("--broker", required=True, help="amqp://user:password@host:port/vhost of a broker you run")
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    result = asyncio.run(run(args.broker, args.messages))
    print(f"RabbitMQ, {result.records:,} messages: aio-pika raw consume {result.raw_per_s:,.0f}/s")
    for batch, rate in result.runs.items():
        print(f"  mapping, batches of {batch:>3}: {rate:,.0f} records/s delivered to a no-op function")


if __name__ == "__main__":
    main()

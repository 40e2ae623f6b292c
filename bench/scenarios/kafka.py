"""Kafka mapping: records per second delivered to a no-op function in batches of 10 and 100,
beside aiokafka's raw consume rate on the same broker.

A standalone figure, not (yet) one of the suite's scenarios: ``python -m bench.scenarios.kafka
[RECORDS]`` starts a single-node KRaft broker (scripts/install/kafka.sh's jars, tests/kafka.py)
and a Lamina server of its own, fills a topic of two partitions with RECORDS small records
(default 20,000), then measures:

- raw: a plain aiokafka consumer reading the whole topic (no commits, no invocations): the
  ceiling the broker and the client library set;
- batch-10, batch-100: a mapping of a no-op Python function with that BatchSize, from
  TRIM_HORIZON, timed from CreateEventSourceMapping until the consumer group's committed offsets
  reach the topic's end (every record delivered and committed).

It prints the figures as JSON. Everything runs on loopback; the broker and server are stopped by PID.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import LaminaProcess, deploy, server_env
from tests.kafka import Kafka, committed, create_topic, kafka_home

NOOP = "def handler(event, context):\n    return None\n"
PARTITIONS = 2


async def _fill(bootstrap: str, topic: str, records: int) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        batch = [await producer.send(topic, f'{{"n": {i}}}'.encode(), partition=i % PARTITIONS) for i in range(records)]
        await asyncio.gather(*batch)
    finally:
        await producer.stop()


async def _raw(bootstrap: str, topic: str, records: int) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        seen, started = 0, time.monotonic()
        while seen < records:
            got = await consumer.getmany(timeout_ms=1000, max_records=1000)
            seen += sum(len(v) for v in got.values())
        return records / (time.monotonic() - started)
    finally:
        await consumer.stop()


def _mapping_rate(server: LaminaProcess, bootstrap: str, topic: str, records: int, batch_size: int) -> float:
    client = server.client()
    function = f"noop-{batch_size}"
    deploy(client, function, NOOP)
    started = time.monotonic()
    uuid = client.create_event_source_mapping(
        FunctionName=function, Topics=[topic], StartingPosition="TRIM_HORIZON", BatchSize=batch_size,
        MaximumBatchingWindowInSeconds=0,
        SelfManagedEventSource={"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": [bootstrap]}},
    )["UUID"]  # fmt: skip
    deadline = started + 600
    while sum(v or 0 for v in committed(bootstrap, uuid, topic, PARTITIONS).values()) < records:
        if time.monotonic() > deadline:
            raise RuntimeError(f"batch {batch_size}: not every record was committed in 10 minutes")
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    client.delete_event_source_mapping(UUID=uuid)
    return records / elapsed


def run(records: int) -> dict[str, float]:
    if not (kafka_home() / ".complete").exists():
        raise SystemExit("Apache Kafka is not installed: run scripts/install/kafka.sh")
    with tempfile.TemporaryDirectory() as scratch:
        broker = Kafka(Path(scratch) / "kafka", kafka_home()).start()
        server = LaminaProcess(Path(scratch) / "lamina", server_env()).start()
        try:
            topic = "bench"
            create_topic(broker.bootstrap, topic, PARTITIONS)
            asyncio.run(_fill(broker.bootstrap, topic, records))
            figures = {"records": float(records), "raw_per_s": asyncio.run(_raw(broker.bootstrap, topic, records))}
            for batch_size in (10, 100):
                figures[f"batch_{batch_size}_per_s"] = _mapping_rate(server, broker.bootstrap, topic, records, batch_size)
            return figures
        finally:
            server.stop()
            broker.stop()


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000), indent=2))

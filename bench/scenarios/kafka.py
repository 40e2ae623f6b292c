"""Kafka mappings: records per second delivered to a no-op function in batches of 10 and 100,
beside aiokafka's raw consume rate on the same broker, in the same run.

The suite's ``kafka`` scenario starts a single-node KRaft broker of its own (the jars
scripts/install/kafka.sh installs, started by tests/kafka.py's helper, as the tests do; skipped,
with the reason, when they are not there) and fills a topic of ``PARTITIONS`` partitions with
``records`` small JSON records. Then, each reading the whole topic from the start:

- raw (the reference): one aiokafka consumer in a group of its own, ``getmany`` up to 100 records
  at a time, committing what it read as the mapping does (one commit in flight at a time, each
  past everything read until it was sent, at most one started every ``COMMIT_EVERY_S``), the clock
  stopping when the last commit is done: the mapping's reading and committing with no function,
  as the SQS reference receives and deletes.
  (Committing past each batch before reading the next is no fair reference: a commit takes some
  10 ms on this broker, which holds such a consumer near 10,000 records/s);
- bare, for information: the same consumer reading alone, without committing (the ceiling the
  broker and the client library set);
- batch-10, batch-100: a mapping of a warm no-op Python function with that BatchSize (window 0),
  from TRIM_HORIZON.

Every clock runs from the first records read (raw: the first ``getmany`` that returns any;
mapping: the first committed offset seen, polled every ``POLL_S`` with an admin client) to the
last, and counts only the records after that first observation: connecting, joining and the
function's cold start are outside every figure alike. ``python -m bench.scenarios.kafka
[RECORDS]`` runs it alone and prints the figures.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.lamina_target import Lamina, start_lamina
from bench.load import LoadError
from bench.procs import Processes
from bench.scenarios.brokers import BATCH_SIZES, BrokerResult
from bench.types import Progress
from tests.kafka import Kafka, kafka_home

NOOP = "def handler(event, context):\n    return None\n"
FUNCTION = "kafka-noop"
MAPPINGS = "/2015-03-31/event-source-mappings"
TOPIC = "bench"
PARTITIONS = 2
POLL_S = 0.02
COMMIT_EVERY_S = 0.05  # as the mapping's committer paces its commits (mappings/kafka/source.py)
RAW = "aiokafka getmany (≤ 100), commits as the mapping's"
BARE = "aiokafka getmany, no commit"


def unavailable() -> str | None:
    """Why the scenario cannot run here (None: it can)."""
    if not (kafka_home() / ".complete").exists():
        return f"Apache Kafka is not installed in {kafka_home()} (scripts/install/kafka.sh)"
    if shutil.which("java") is None:
        return "no java to run the broker (scripts/install/java.sh)"
    return None


async def start_broker(directory: Path) -> Kafka:
    return await asyncio.to_thread(lambda: Kafka(directory, kafka_home()).start())


async def _fill(bootstrap: str, records: int) -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        for start in range(0, records, 10_000):
            sent = [await producer.send(TOPIC, b'{"n": %d}' % i, partition=i % PARTITIONS)
                    for i in range(start, min(records, start + 10_000))]  # fmt: skip
            await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _raw(bootstrap: str, records: int, *, commit: bool) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"bench-raw-{commit}-{time.time_ns()}",
                                enable_auto_commit=False, auto_offset_reset="earliest")  # fmt: skip
    await consumer.start()
    read: dict[TopicPartition, int] = {}  # the next offset of each partition, as far as read
    saved: dict[TopicPartition, int] = {}  # as far as committed
    due = asyncio.Event()

    async def committer() -> None:  # one commit in flight, past everything read when it was sent
        while True:
            await due.wait()
            due.clear()
            offsets, began = dict(read), time.monotonic()
            await consumer.commit(offsets)
            saved.update(offsets)
            await asyncio.sleep(max(0.0, COMMIT_EVERY_S - (time.monotonic() - began)))

    task = asyncio.create_task(committer(), name="bench-kafka-raw-commit") if commit else None
    try:
        consumer.assign([TopicPartition(TOPIC, p) for p in range(PARTITIONS)])
        seen, first, started = 0, 0, 0.0
        while seen < records:
            got = await consumer.getmany(timeout_ms=1000, max_records=100)
            if not got:
                continue
            read.update({tp: batch[-1].offset + 1 for tp, batch in got.items()})
            due.set()
            seen += sum(len(batch) for batch in got.values())
            if not started:
                first, started = seen, time.perf_counter()
        while task is not None and saved != read:
            if task.done():
                task.result()  # its error
            await asyncio.sleep(0.001)
        return (records - first) / (time.perf_counter() - started)
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()


async def _committed(admin: object, group: str) -> int:
    from aiokafka.admin import AIOKafkaAdminClient

    from aiokafka.errors import KafkaError

    assert isinstance(admin, AIOKafkaAdminClient)
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    except KafkaError:  # the group's coordinator not there yet (the offsets topic is being made)
        return 0
    return sum(max(0, meta.offset) for tp, meta in offsets.items() if tp.topic == TOPIC)


async def _through_mapping(lamina: Lamina, bootstrap: str, records: int, batch_size: int,
                           timeout: float = 600.0) -> float:  # fmt: skip
    from aiokafka.admin import AIOKafkaAdminClient

    made = await lamina.call("POST", MAPPINGS, {
        "FunctionName": FUNCTION, "Topics": [TOPIC], "StartingPosition": "TRIM_HORIZON", "BatchSize": batch_size,
        "MaximumBatchingWindowInSeconds": 0,
        "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": [bootstrap]}},
    })  # fmt: skip
    if made.status != 202:
        raise LoadError(f"CreateEventSourceMapping: {made.status} {made.body[:300]!r}")
    uuid = str(json.loads(made.body)["UUID"])
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        first, started = 0, 0.0
        while (done := await _committed(admin, uuid)) < records:
            if not started and done:
                first, started = done, time.perf_counter()
            if time.monotonic() > deadline:
                raise LoadError(f"kafka: batch {batch_size}: {done:,} of {records:,} committed in {timeout:.0f} s")
            await asyncio.sleep(POLL_S)
        seconds = time.perf_counter() - started
    finally:
        await admin.close()
    await lamina.control.close()  # idle all along: perhaps closed by Lamina (its header timeout) by now
    await lamina.call("DELETE", f"{MAPPINGS}/{uuid}")
    while (await lamina.call("GET", f"{MAPPINGS}/{uuid}")).status != 404:  # gone before the next is made
        await asyncio.sleep(0.05)
    if not started:  # everything in the first poll: too few records to measure
        raise LoadError(f"kafka: batch {batch_size}: every record was committed before the first poll")
    return (records - first) / seconds


async def run(lamina: Lamina, bootstrap: str, records: int, progress: Progress) -> BrokerResult:
    await _fill(bootstrap, records)
    raw = await _raw(bootstrap, records, commit=True)
    progress(f"kafka  raw ({RAW}): {raw:,.0f} records/s")
    bare = await _raw(bootstrap, records, commit=False)
    progress(f"kafka  bare ({BARE}): {bare:,.0f} records/s")
    await lamina.create_function(FUNCTION, NOOP)
    warm = await lamina.call("POST", f"/2015-03-31/functions/{FUNCTION}/invocations", {})
    if warm.status != 200:
        raise LoadError(f"kafka: warming {FUNCTION}: {warm.status} {warm.body[:300]!r}")
    runs = {}
    for batch_size in BATCH_SIZES:
        runs[batch_size] = await _through_mapping(lamina, bootstrap, records, batch_size)
        progress(f"kafka  batch {batch_size}: {runs[batch_size]:,.0f} records/s ({runs[batch_size] / raw:.2f}× raw, "
                 f"{runs[batch_size] / bare:.2f}× bare)")  # fmt: skip
    return BrokerResult("Kafka", records, RAW, raw, runs, BARE, bare)


async def _alone(records: int) -> BrokerResult:
    why = unavailable()
    if why is not None:
        raise SystemExit(why)
    processes = Processes()
    with tempfile.TemporaryDirectory() as scratch:
        broker = await start_broker(Path(scratch) / "kafka")
        try:
            lamina = await start_lamina(processes, Path(scratch) / "lamina")
            try:
                return await run(lamina, broker.bootstrap, records, lambda line: print(line, file=sys.stderr))
            finally:
                await lamina.control.close()
                await processes.stop_all()
        finally:
            await asyncio.to_thread(broker.stop)


if __name__ == "__main__":
    result = asyncio.run(_alone(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
    print(json.dumps({"records": result.records, "raw_per_s": result.raw_per_s, "bare_per_s": result.bare_per_s,
                      **{f"batch_{b}_per_s": v for b, v in result.runs.items()}}, indent=2))  # fmt: skip

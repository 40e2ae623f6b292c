"""Event source mappings from Lamina's own queues: records delivered per second, beside the raw rate.

Throughput: ``messages`` messages are sent to a queue (SendMessageBatch, 10 a call) while its
mapping to a no-op function is disabled; the mapping is enabled and the clock runs until the queue
is empty (ApproximateNumberOfMessages and ...NotVisible both 0, polled every 20 ms). Once with
BatchSize 10, once with BatchSize 100 (and MaximumBatchingWindowInSeconds 1, which AWS requires
above 10: with a full queue a batch fills long before the window ends; the last, partial
batches wait it out, as AWS's do, and that second is part of the figure). Beside them, in the same
run, the raw rate: as many messages received and deleted with no function, by ``RAW_LOOPS``
concurrent loops of ReceiveMessage (10 at a time) and DeleteMessageBatch, each over a keep-alive
connection of its own (the mapping's pollers start with five batches at once and scale up; the
widest they reached is reported beside the figure). The issue's target: at least half the raw
rate with batches of 100.

Latency: ``latency_messages`` messages sent one at a time, ``LATENCY_GAP_S`` apart, to a queue
mapped with BatchSize 1 to a function that prints, per record, the send time the message carries
and the time the handler saw it (both wall clock, one machine); the lines are read back through
Lamina's log API. Its p50 is the time from SendMessage to the handler. One message goes first,
unmeasured, and is seen before the others are sent: it starts the function's environment.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from bench.handler_latency import json_of, printed
from bench.handlers import NOOP
from bench.lamina_target import Lamina
from bench.load import HttpConnection, LoadError
from bench.stats import Latency, ratio
from bench.types import Progress

FUNCTION = "esm-noop"
LATENCY_FUNCTION = "esm-latency"
MAPPINGS = "/2015-03-31/event-source-mappings"
LAG = "/lamina/v1/event-source-mappings"
BATCH_SIZES = (10, 100)
RAW_LOOPS = 5  # the width a mapping's pollers start at (Lambda's five)
SEND_CONNECTIONS = 8
LATENCY_GAP_S = 0.02
IDLE_S = 10.0

# Prints what the latency figure needs: when the message was sent (it says so) and when the handler
# saw it, each a record's line of its own.
LATENCY_HANDLER = '''\
import json
import time

def handler(event, context):
    now = time.time()
    for record in event["Records"]:
        print("LATENCY", json.loads(record["body"])["sent"], now)
    return {}
'''


@dataclass(frozen=True)
class MappingRun:
    batch_size: int
    messages: int
    seconds: float
    widest: int  # the most batches its pollers worked on at once, as seen while polling

    @property
    def per_s(self) -> float:
        return self.messages / self.seconds


@dataclass(frozen=True)
class MappingsResult:
    messages: int
    runs: list[MappingRun]  # one per batch size, in BATCH_SIZES' order
    raw_loops: int
    raw_per_s: float  # received and deleted with no function
    latency: Latency  # SendMessage to handler, one at a time

    def per_s(self, batch_size: int) -> float | None:
        return next((r.per_s for r in self.runs if r.batch_size == batch_size), None)

    def widest(self, batch_size: int) -> int | None:
        return next((r.widest for r in self.runs if r.batch_size == batch_size), None)

    @property
    def ratio(self) -> float | None:
        """Records per second through the mapping at batch 100, over the raw rate."""
        return ratio(self.per_s(100), self.raw_per_s)


class Sqs:
    """SQS calls as botocore makes them (awsJson 1.0), over one keep-alive connection (opened anew
    after ``IDLE_S``: Lamina closes a connection idle for its header timeout, 30 s by default)."""

    def __init__(self, conn: HttpConnection) -> None:
        self.conn = conn
        self._used = time.monotonic()

    async def call(self, operation: str, doc: dict[str, object]) -> dict[str, object]:
        if time.monotonic() - self._used > IDLE_S:
            await self.conn.close()
        headers = {"X-Amz-Target": f"AmazonSQS.{operation}"}  # the connection says application/json
        got = await self.conn.request("POST", "/", json.dumps(doc).encode(), headers)
        self._used = time.monotonic()
        if got.status != 200:
            raise LoadError(f"SQS {operation}: {got.status} {got.body[:300]!r}")
        answer: dict[str, object] = json.loads(got.body)
        return answer


async def _queue(sqs: Sqs, name: str) -> tuple[str, str]:
    """(QueueUrl, QueueArn) of a new queue."""
    url = str((await sqs.call("CreateQueue", {"QueueName": name}))["QueueUrl"])
    attributes = await sqs.call("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["QueueArn"]})
    arn = attributes["Attributes"]
    assert isinstance(arn, dict)
    return url, str(arn["QueueArn"])


async def _send_all(lamina: Lamina, url: str, n: int) -> None:
    """``n`` messages with SendMessageBatch, 10 a call, over ``SEND_CONNECTIONS`` connections."""
    calls = [min(10, n - start) for start in range(0, n, 10)]

    async def sender(i: int) -> None:
        sqs = Sqs(HttpConnection(lamina.url))
        try:
            for c, count in enumerate(calls[i::SEND_CONNECTIONS]):
                entries = [{"Id": str(j), "MessageBody": f"m-{i}-{c}-{j}"} for j in range(count)]
                got = await sqs.call("SendMessageBatch", {"QueueUrl": url, "Entries": entries})
                if got.get("Failed"):
                    raise LoadError(f"SendMessageBatch: {got['Failed']!r}")
        finally:
            await sqs.conn.close()

    async with asyncio.TaskGroup() as group:
        for i in range(SEND_CONNECTIONS):
            group.create_task(sender(i), name=f"bench-esm-send-{i}")


async def _empty(sqs: Sqs, url: str) -> bool:
    got = await sqs.call("GetQueueAttributes", {
        "QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    })  # fmt: skip
    counts = got["Attributes"]
    assert isinstance(counts, dict)
    return bool(counts["ApproximateNumberOfMessages"] == "0" and counts["ApproximateNumberOfMessagesNotVisible"] == "0")


async def _pollers(lamina: Lamina, uuid: str) -> int:
    rows = json_of(await lamina.call("GET", LAG), "mappings' lag")["mappings"]
    assert isinstance(rows, list)
    return next((int(row["pollers"]) for row in rows if row["uuid"] == uuid), 0)


async def _through_mapping(lamina: Lamina, sqs: Sqs, function_arn: str, batch_size: int, n: int,
                           timeout: float = 600.0) -> MappingRun:  # fmt: skip
    url, arn = await _queue(sqs, f"esm-bench-{batch_size}")
    created = json_of(await lamina.call("POST", MAPPINGS, {
        "FunctionName": function_arn, "EventSourceArn": arn, "BatchSize": batch_size,
        "MaximumBatchingWindowInSeconds": 0 if batch_size <= 10 else 1, "Enabled": False,
    }), "CreateEventSourceMapping", 202)  # fmt: skip
    uuid = str(created["UUID"])
    await _send_all(lamina, url, n)
    await lamina.control.close()  # idle while the messages were sent: perhaps closed by Lamina by now
    start = time.perf_counter()
    json_of(await lamina.call("PUT", f"{MAPPINGS}/{uuid}", {"Enabled": True}), "UpdateEventSourceMapping", 202)
    widest = 0
    deadline = time.monotonic() + timeout
    polls = 0
    while not await _empty(sqs, url):
        if time.monotonic() > deadline:
            raise LoadError(f"mappings: the queue of batch size {batch_size} did not drain in {timeout:.0f} s")
        polls += 1
        if polls % 5 == 0:  # the lag endpoint reads every queue: not at every poll
            widest = max(widest, await _pollers(lamina, uuid))
        await asyncio.sleep(0.02)
    seconds = time.perf_counter() - start
    json_of(await lamina.call("PUT", f"{MAPPINGS}/{uuid}", {"Enabled": False}), "UpdateEventSourceMapping", 202)
    return MappingRun(batch_size, n, seconds, widest)


async def _raw(lamina: Lamina, sqs: Sqs, n: int) -> float:
    """Messages received and deleted per second by ``RAW_LOOPS`` loops, no function."""
    url, _ = await _queue(sqs, "esm-bench-raw")
    await _send_all(lamina, url, n)
    done = 0
    end = 0.0

    async def loop(i: int) -> None:
        nonlocal done, end
        client = Sqs(HttpConnection(lamina.url))
        try:
            while done < n:
                got = await client.call("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10,
                                                           "WaitTimeSeconds": 1})  # fmt: skip
                messages = got.get("Messages")
                if not isinstance(messages, list) or not messages:
                    continue
                entries = [{"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]} for j, m in enumerate(messages)]
                deleted = await client.call("DeleteMessageBatch", {"QueueUrl": url, "Entries": entries})
                if deleted.get("Failed"):
                    raise LoadError(f"DeleteMessageBatch: {deleted['Failed']!r}")
                done += len(messages)
                if done >= n and not end:
                    end = time.perf_counter()  # the other loops may still be in a long poll
        finally:
            await client.conn.close()

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for i in range(RAW_LOOPS):
            group.create_task(loop(i), name=f"bench-esm-raw-{i}")
    seconds = end - start
    if not await _empty(sqs, url):
        raise LoadError("mappings: the raw queue is not empty after every message was deleted")
    return n / seconds


async def _latency(lamina: Lamina, sqs: Sqs, n: int) -> Latency:
    await lamina.create_function(LATENCY_FUNCTION, LATENCY_HANDLER)
    config = json_of(await lamina.call("GET", f"/2015-03-31/functions/{LATENCY_FUNCTION}/configuration"), "config")
    url, arn = await _queue(sqs, "esm-bench-latency")
    json_of(await lamina.call("POST", MAPPINGS, {"FunctionName": config["FunctionArn"], "EventSourceArn": arn,
                                               "BatchSize": 1}), "CreateEventSourceMapping", 202)  # fmt: skip
    # One message first, not measured, and seen before the others go: its environment's cold start
    # would otherwise hold it busy while the next few start environments of their own.
    await sqs.call("SendMessage", {"QueueUrl": url, "MessageBody": json.dumps({"sent": time.time()})})
    _, cursor = await printed(lamina, LATENCY_FUNCTION, 1, 0, "mappings")
    for _ in range(n):
        await asyncio.sleep(LATENCY_GAP_S)
        await sqs.call("SendMessage", {"QueueUrl": url, "MessageBody": json.dumps({"sent": time.time()})})
    seen, _ = await printed(lamina, LATENCY_FUNCTION, n, cursor, "mappings")
    return Latency.of(seen)


async def run(lamina: Lamina, messages: int, latency_messages: int, progress: Progress) -> MappingsResult:
    await lamina.create_function(FUNCTION, NOOP)
    config = json_of(await lamina.call("GET", f"/2015-03-31/functions/{FUNCTION}/configuration"), "config")
    function_arn = str(config["FunctionArn"])
    sqs = Sqs(HttpConnection(lamina.url))
    try:
        raw = await _raw(lamina, sqs, messages)
        await lamina.control.close()
        progress(f"mappings  raw: {messages:,} received and deleted by {RAW_LOOPS} loops, {raw:,.0f}/s")
        runs = []
        for batch_size in BATCH_SIZES:
            one = await _through_mapping(lamina, sqs, function_arn, batch_size, messages)
            runs.append(one)
            progress(f"mappings  batch {batch_size}: {messages:,} records in {one.seconds:.2f} s, "
                     f"{one.per_s:,.0f}/s ({one.per_s / raw:.2f}× raw; pollers up to {one.widest})")  # fmt: skip
        await lamina.control.close()
        latency = await _latency(lamina, sqs, latency_messages)
        progress(f"mappings  SendMessage → handler, one at a time: p50 {latency.p50_ms:.1f} ms, "
                 f"p99 {latency.p99_ms:.1f} ms ({latency.count} messages)")  # fmt: skip
    finally:
        await sqs.conn.close()
    return MappingsResult(messages, runs, RAW_LOOPS, raw, latency)

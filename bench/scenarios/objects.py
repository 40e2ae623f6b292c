"""Objects: 1 KiB objects put per second through boto3's ``s3`` client, with and without a bucket
notification, beside the same client against the floor; and put → handler latency.

``puts`` PutObject calls of 1 KiB bodies (distinct keys) from one thread (c=1), then from eight
threads sharing one client (c=8), against three sides: Lamina's S3 into a bucket without
notifications ("plain"), into a bucket whose LambdaFunctionConfiguration matches every put (a
no-op Python function, invoked once before: warm) ("notified"), and the objects floor
(``bench/objects_floor.py``: a plain aiohttp handler writing each body to a file with the same
fsync and rename, and nothing else). The order is plain, notified, floor, floor, notified, plain;
each side's figure is the mean of its two rounds. After a notified measurement the clock runs on
until every notification it made has been invoked and finished (the function's outbox messages
taken, ``GET /lamina/v1/queue`` empty for it): puts over that time is the notifications delivered
per second, and the next measurement starts on a quiet server.

The plain/floor ratio says what S3's semantics (checksums, metadata committed to SQLite) cost over
storing the bytes alone; notified/plain says what notifications cost the put rate (the issue's
target: at most 20%, so ≥ 0.80×). The client is the same on every side, so its own cost (signing,
checksums; a large share at these sizes) is in every figure.

Latency: ``latency_puts`` puts one at a time, ``LATENCY_GAP_S`` apart, into a bucket notifying a
handler that prints the put's send time (carried in the key) beside its own (one machine's wall
clock); the p50 is put sent → handler. One put goes first, unmeasured, to start the environment.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench.handler_latency import json_of, printed
from bench.handlers import NOOP
from bench.lamina_target import Lamina
from bench.load import LoadError
from bench.objects_floor import start_objects_floor
from bench.procs import Processes
from bench.stats import Latency, ratio
from bench.types import Progress

BODY = b"o" * 1024
CONCURRENCY = (1, 8)
BUCKET = "bench-objects"
NOTIFIED = "bench-objects-notified"
LATENCY_BUCKET = "bench-objects-latency"
FUNCTION = "objects-noop"
LATENCY_FUNCTION = "objects-latency"
LATENCY_GAP_S = 0.02
QUEUE = "/lamina/v1/queue"
OUTBOX = "/lamina/v1/outbox"

# The key is "latency/<sent>/<n>": S3's record carries it URL-encoded, which leaves digits and dots alone.
LATENCY_HANDLER = '''\
import time

def handler(event, context):
    now = time.time()
    for record in event["Records"]:
        print("LATENCY", record["s3"]["object"]["key"].split("/")[1], now)
    return {}
'''


@dataclass(frozen=True)
class ObjectsResult:
    puts: int  # per measurement
    lamina_per_s: dict[int, float]  # by concurrency: into a bucket without notifications
    floor_per_s: dict[int, float]
    notified_per_s: dict[int, float]  # into a bucket notifying a function of every put
    delivered_per_s: dict[int, float]  # the same puts over the time until every notification's invocation ended
    latency: Latency  # put sent → handler, one at a time

    def ratio(self, concurrency: int) -> float:
        return self.lamina_per_s[concurrency] / self.floor_per_s[concurrency]

    def notified_ratio(self, concurrency: int) -> float | None:
        """Puts per second with a notification over without: 1 - what notifications cost the put rate."""
        return ratio(self.notified_per_s.get(concurrency), self.lamina_per_s.get(concurrency))


def _client(url: str, concurrency: int) -> Any:
    import boto3
    from botocore.config import Config  # type: ignore[import-untyped]

    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 0}, max_pool_connections=concurrency))  # fmt: skip


def _measure(url: str, bucket: str, puts: int, concurrency: int, tag: str) -> tuple[float, float]:
    """Puts per second, and when the first measured put began (``perf_counter``; blocking: run in a thread)."""
    client = _client(url, concurrency)
    client.put_object(Bucket=bucket, Key=f"warm-{tag}", Body=BODY)  # a connection, the client's first-call costs

    def loop(worker: int) -> None:
        for i in range(puts // concurrency):
            client.put_object(Bucket=bucket, Key=f"{tag}/{worker}/{i}", Body=BODY)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(loop, range(concurrency)))
    return (puts // concurrency) * concurrency / (time.perf_counter() - started), started


async def _notify(lamina: Lamina, bucket: str, function: str) -> None:
    """Make ``bucket`` with a LambdaFunctionConfiguration of ``function`` matching every put."""
    config = json_of(await lamina.call("GET", f"/2015-03-31/functions/{function}/configuration"), "config")
    arn = str(config["FunctionArn"])

    def configure() -> None:
        client = _client(lamina.url, 1)
        client.create_bucket(Bucket=bucket)
        client.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]})

    await asyncio.to_thread(configure)


async def _delivered(lamina: Lamina, function: str, timeout: float = 600.0) -> None:
    """Wait until no notification for ``function`` is in the outbox, then none of its events is in
    the asynchronous queue, queued or in flight (the relay stores the invocation before it removes
    the message, so nothing is missed between the two looks)."""
    deadline = time.monotonic() + timeout

    def in_outbox(doc: dict[str, Any]) -> bool:
        return any(str(m["target"]).endswith(f":function:{function}") for m in doc["messages"])

    def in_queue(doc: dict[str, Any]) -> bool:
        return any(r["function"] == function for r in doc["functions"])

    for path, waiting in ((OUTBOX, in_outbox), (QUEUE, in_queue)):
        while waiting(json_of(await lamina.call("GET", path), path)):
            if time.monotonic() > deadline:
                raise LoadError(f"objects: the notifications were not delivered in {timeout:.0f} s")
            await asyncio.sleep(0.01)


async def _latency(lamina: Lamina, n: int) -> Latency:
    await lamina.create_function(LATENCY_FUNCTION, LATENCY_HANDLER)
    await _notify(lamina, LATENCY_BUCKET, LATENCY_FUNCTION)
    client = _client(lamina.url, 1)

    def put(i: int) -> None:
        client.put_object(Bucket=LATENCY_BUCKET, Key=f"latency/{time.time():.6f}/{i}", Body=BODY)

    await asyncio.to_thread(put, 0)
    _, cursor = await printed(lamina, LATENCY_FUNCTION, 1, 0, "objects")
    for i in range(n):
        await asyncio.sleep(LATENCY_GAP_S)
        await asyncio.to_thread(put, i + 1)
    seen, _ = await printed(lamina, LATENCY_FUNCTION, n, cursor, "objects")
    return Latency.of(seen)


async def run(lamina: Lamina, processes: Processes, workdir: Any, puts: int, latency_puts: int,
              progress: Progress) -> ObjectsResult:  # fmt: skip
    await lamina.create_function(FUNCTION, NOOP)
    json_of(await lamina.call("POST", f"/2015-03-31/functions/{FUNCTION}/invocations", {}), "Invoke")  # warm
    await asyncio.to_thread(lambda: _client(lamina.url, 1).create_bucket(Bucket=BUCKET))
    await _notify(lamina, NOTIFIED, FUNCTION)
    floor = await start_objects_floor(processes, workdir / "objects-floor", workdir / "objects-floor.log")
    rounds: dict[str, dict[int, list[float]]] = {side: {c: [] for c in CONCURRENCY} for side in
                                                 ("plain", "notified", "floor", "delivered")}  # fmt: skip
    try:
        sides = [("plain", lamina.url, BUCKET), ("notified", lamina.url, NOTIFIED), ("floor", floor.url, BUCKET)]
        for n, (name, url, bucket) in enumerate(sides + sides[::-1]):  # A B C C B A
            for c in CONCURRENCY:
                per_s, started = await asyncio.to_thread(_measure, url, bucket, puts, c, f"r{n}c{c}")
                rounds[name][c].append(per_s)
                line = f"objects: {name}, c={c}: {per_s:,.0f} puts/s"
                if name == "notified":
                    await _delivered(lamina, FUNCTION)
                    delivered = (puts // c) * c / (time.perf_counter() - started)
                    rounds["delivered"][c].append(delivered)
                    line += f"; every notification's invocation done: {delivered:,.0f}/s"
                progress(line)
    finally:
        await processes.stop(floor)
    latency = await _latency(lamina, latency_puts)
    progress(f"objects: put → handler, one at a time: p50 {latency.p50_ms:.1f} ms, p99 {latency.p99_ms:.1f} ms "
             f"({latency.count} puts)")  # fmt: skip

    def mean(side: str) -> dict[int, float]:
        return {c: sum(v) / len(v) for c, v in rounds[side].items()}

    return ObjectsResult(puts, mean("plain"), mean("floor"), mean("notified"), mean("delivered"), latency)

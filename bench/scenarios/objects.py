"""Objects: 1 KiB objects put per second through boto3's ``s3`` client, beside the same client
against the floor.

``puts`` PutObject calls of 1 KiB bodies (distinct keys) from one thread (c=1), then from eight
threads sharing one client (c=8), against Lamina's S3 and against the objects floor
(``bench/objects_floor.py``: a plain aiohttp handler writing each body to a file with the same
fsync and rename, and nothing else), in the order Lamina, floor, floor, Lamina; each side's figure
is the mean of its two rounds. The ratio says what S3's semantics (checksums, metadata committed
to SQLite, the notifications' outbox when one is configured) cost over storing the bytes alone.
The client is the same on both sides, so its own cost (signing, checksums; a large share at
these sizes) is in both figures.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench.lamina_target import Lamina
from bench.objects_floor import start_objects_floor
from bench.procs import Processes
from bench.types import Progress

BODY = b"o" * 1024
CONCURRENCY = (1, 8)
BUCKET = "bench-objects"


@dataclass(frozen=True)
class ObjectsResult:
    puts: int  # per measurement
    lamina_per_s: dict[int, float]  # by concurrency
    floor_per_s: dict[int, float]

    def ratio(self, concurrency: int) -> float:
        return self.lamina_per_s[concurrency] / self.floor_per_s[concurrency]


def _client(url: str, concurrency: int) -> Any:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                        aws_secret_access_key="bench",
                        config=Config(retries={"max_attempts": 0}, max_pool_connections=concurrency))  # fmt: skip


def _measure(url: str, puts: int, concurrency: int, tag: str) -> float:
    """Puts per second (blocking: run in a thread)."""
    client = _client(url, concurrency)
    client.put_object(Bucket=BUCKET, Key=f"warm-{tag}", Body=BODY)  # a connection, the client's first-call costs

    def loop(worker: int) -> None:
        for i in range(puts // concurrency):
            client.put_object(Bucket=BUCKET, Key=f"{tag}/{worker}/{i}", Body=BODY)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(loop, range(concurrency)))
    return (puts // concurrency) * concurrency / (time.perf_counter() - started)


async def run(lamina: Lamina, processes: Processes, workdir: Any, puts: int, progress: Progress) -> ObjectsResult:
    await asyncio.to_thread(lambda: _client(lamina.url, 1).create_bucket(Bucket=BUCKET))
    floor = await start_objects_floor(processes, workdir / "objects-floor", workdir / "objects-floor.log")
    lamina_rounds: dict[int, list[float]] = {c: [] for c in CONCURRENCY}
    floor_rounds: dict[int, list[float]] = {c: [] for c in CONCURRENCY}
    try:
        sides = [("lamina", lamina.url, lamina_rounds), ("floor", floor.url, floor_rounds)]
        for n, (name, url, rounds) in enumerate(sides + sides[::-1]):  # A B B A
            for c in CONCURRENCY:
                per_s = await asyncio.to_thread(_measure, url, puts, c, f"r{n}c{c}")
                rounds[c].append(per_s)
                progress(f"objects: {name}, c={c}: {per_s:,.0f} puts/s")
    finally:
        await processes.stop(floor)
    return ObjectsResult(puts, {c: sum(v) / len(v) for c, v in lamina_rounds.items()},
                         {c: sum(v) / len(v) for c, v in floor_rounds.items()})  # fmt: skip

"""Warm invoke: the no-op handler through the Invoke API, against every target in the same run.

For each concurrency level, each target in turn (so slow drift of the machine touches all of them
alike): open C keep-alive connections, run for ``warmup_s`` unmeasured (Lamina starts its
environments here), then measure for ``measure_s``. The floor's figures are also the load
generator's ceiling: nothing answers faster than the floor does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bench import wrk
from bench.load import Endpoint, LoadError, LoadGenerator, fetch
from bench.profile import Profile
from bench.stats import Latency
from bench.types import Progress


EXPECTED = {"ok": True}  # what the no-op handler returns


@dataclass(frozen=True)
class Target:
    name: str  # "lamina", "floor", "peer"
    endpoint: Endpoint


@dataclass(frozen=True)
class WarmPoint:
    target: str
    concurrency: int
    requests: int
    throughput: float  # successful requests per second
    latency: Latency
    errors: int  # connections lost
    non_200: int
    client_cpu_share: float  # the load generator's CPU time over wall time
    wrk_throughput: float | None = None


async def measure(target: Target, concurrency: int, profile: Profile, scratch: Path) -> WarmPoint:
    async with LoadGenerator(target.endpoint, concurrency) as gen:
        await gen.run(duration_s=profile.warmup_s)
        result = await gen.run(duration_s=profile.measure_s)
    wrk_rps = None
    if concurrency > 1 and wrk.available():
        wrk_rps = await wrk.throughput(target.endpoint, concurrency, profile.measure_s, scratch)
    return WarmPoint(
        target.name, concurrency, result.answered, result.throughput, Latency.of(result.latencies),
        result.errors, result.answered - result.ok, result.client_cpu_share, wrk_rps,
    )  # fmt: skip


async def verify(target: Target) -> None:
    """One invoke, checked: a target that answers 200 with a function error must not be measured."""
    got = await fetch(target.endpoint.base_url, "POST", target.endpoint.path, target.endpoint.body)
    try:
        doc = json.loads(got.body)
    except ValueError:
        doc = None
    if got.status != 200 or "x-amz-function-error" in got.headers or doc != EXPECTED:
        raise LoadError(f"{target.name} does not run the no-op handler: {got.status} {got.body[:300]!r}")


async def run(targets: list[Target], profile: Profile, scratch: Path, progress: Progress) -> list[WarmPoint]:
    for target in targets:
        await verify(target)
    points = []
    for concurrency in profile.warm_concurrency:
        for target in targets:
            point = await measure(target, concurrency, profile, scratch)
            points.append(point)
            extra = f", wrk {point.wrk_throughput:,.0f} req/s" if point.wrk_throughput else ""
            progress(f"warm  {target.name:<8} c={concurrency:<3} {point.throughput:>8,.0f} req/s  "
                     f"p50 {point.latency.p50_ms:.3f} ms  p99 {point.latency.p99_ms:.3f} ms  "
                     f"client CPU {point.client_cpu_share:.0%}{extra}"
                     + (f"  ({point.non_200} non-200, {point.errors} lost)" if point.non_200 or point.errors else ""))  # fmt: skip
    return points

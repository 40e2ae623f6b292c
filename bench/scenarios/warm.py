"""Warm invoke: the no-op handler through the Invoke API, against every target in the same run.

For each concurrency level, each target in turn (so slow drift of the machine touches all of them
alike): wrk opens C keep-alive connections, runs for ``warmup_s`` unmeasured (Lamina starts its
environments here), then measures for ``measure_s``, while the server's own CPU time is read
before and after (``server_cpu_us``: its CPU per answered request). The floor's figures are also
the load generator's ceiling: nothing answers faster than the floor does.

Without wrk (``scripts/bench`` installs it), the suite's asyncio client measures instead, and the
report says so: it costs close to half a core at the floor's rate, so its figures are lower.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bench import wrk
from bench.load import Endpoint, LoadError, LoadGenerator, fetch
from bench.procs import cpu_seconds
from bench.profile import Profile
from bench.stats import Latency
from bench.types import Progress


EXPECTED = {"ok": True}  # what the no-op handler returns


@dataclass(frozen=True)
class Target:
    name: str  # "lamina", "floor", "peer"
    endpoint: Endpoint
    pid: int | None = None  # the server process, whose CPU time is read around the measured run


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
    server_cpu_us: float | None = None  # the server process's CPU time per answered request
    load_generator: str = "wrk"


async def measure(target: Target, concurrency: int, profile: Profile, scratch: Path) -> WarmPoint:
    if not wrk.available():
        return await _measure_in_process(target, concurrency, profile)
    await wrk.run(target.endpoint, concurrency, profile.warmup_s, scratch)
    cpu_before = cpu_seconds(target.pid)
    run = await wrk.run(target.endpoint, concurrency, profile.measure_s, scratch)
    cpu_after = cpu_seconds(target.pid)
    server_cpu = None
    if cpu_before is not None and cpu_after is not None and run.requests:
        server_cpu = (cpu_after - cpu_before) / run.requests * 1e6
    latency = Latency(run.requests, run.p50_ms, run.p99_ms, run.max_ms, run.mean_ms)
    return WarmPoint(target.name, concurrency, run.requests, run.throughput, latency, run.errors,
                     run.requests - run.ok, run.client_cpu_s / run.duration_s, server_cpu)  # fmt: skip


async def _measure_in_process(target: Target, concurrency: int, profile: Profile) -> WarmPoint:
    cpu_before = None
    async with LoadGenerator(target.endpoint, concurrency) as gen:
        await gen.run(duration_s=profile.warmup_s)
        cpu_before = cpu_seconds(target.pid)
        result = await gen.run(duration_s=profile.measure_s)
    cpu_after = cpu_seconds(target.pid)
    server_cpu = None
    if cpu_before is not None and cpu_after is not None and result.answered:
        server_cpu = (cpu_after - cpu_before) / result.answered * 1e6
    return WarmPoint(
        target.name, concurrency, result.answered, result.throughput, Latency.of(result.latencies),
        result.errors, result.answered - result.ok, result.client_cpu_share, server_cpu, "asyncio client",
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
            extra = f", server CPU {point.server_cpu_us:,.0f} µs/req" if point.server_cpu_us is not None else ""
            progress(f"warm  {target.name:<8} c={concurrency:<3} {point.throughput:>8,.0f} req/s  "
                     f"p50 {point.latency.p50_ms:.3f} ms  p99 {point.latency.p99_ms:.3f} ms  "
                     f"client CPU {point.client_cpu_share:.0%}{extra}"
                     + (f"  ({point.non_200} non-200, {point.errors} lost)" if point.non_200 or point.errors else ""))  # fmt: skip
    return points


async def a_b_b_a(first: Target, second: Target, concurrency: int, profile: Profile, scratch: Path,
                  progress: Progress, scenario: str) -> dict[str, list[WarmPoint]]:  # fmt: skip
    """Each target measured twice, in the order A B B A (so slow drift of the machine touches both
    alike): their points by target name, in order."""
    points: dict[str, list[WarmPoint]] = {first.name: [], second.name: []}
    for target in (first, second, second, first):
        point = await measure(target, concurrency, profile, scratch)
        points[target.name].append(point)
        progress(f"{scenario}  {target.name:<8} c={concurrency} {point.throughput:>8,.0f} req/s  "
                 f"p50 {point.latency.p50_ms:.3f} ms  p99 {point.latency.p99_ms:.3f} ms"
                 + (f"  ({point.non_200} non-200, {point.errors} lost)" if point.non_200 or point.errors else ""))  # fmt: skip
    return points

"""The scaling curve: throughput and p99 as concurrency doubles, up to throttling, and responsiveness there.

On a server whose account concurrency is ``limit``, the no-op handler is driven at 1, 2, 4, …
connections (warm-up, then measurement), until a step is answered with 429
TooManyRequestsException or ``max_concurrency`` is passed. All along, one probe a
``probe_interval_s`` asks the health endpoint and one the control API (GetFunctionConfiguration):
a saturated server must still answer both.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from bench.handlers import NOOP
from bench.lamina_target import FUNCTIONS, HEALTH, Lamina
from bench.load import HttpConnection, LoadError, LoadGenerator
from bench.profile import Profile
from bench.stats import Latency
from bench.types import Progress

FUNCTION = "scale"


@dataclass(frozen=True)
class Probes:
    sent: int
    ok: int
    latency: Latency


@dataclass(frozen=True)
class ScalingStep:
    concurrency: int
    throughput: float
    latency: Latency  # of the 200 answers
    throttled: int  # 429 answers
    other_errors: int  # other non-200 answers and lost connections
    health: Probes
    control: Probes


@dataclass(frozen=True)
class ScalingResult:
    limit: int
    steps: list[ScalingStep]
    throttled_at: int | None  # the first concurrency answered with 429s

    @property
    def saturated(self) -> ScalingStep | None:
        return next((s for s in self.steps if s.concurrency == self.throttled_at), None)


async def _probe(url: str, path: str, interval: float, stop: asyncio.Event) -> Probes:
    conn = HttpConnection(url)
    times: list[float] = []
    sent = 0
    try:
        while not stop.is_set():
            sent += 1
            with contextlib.suppress(LoadError):
                got = await conn.request("GET", path, timeout=10)
                if got.status == 200:
                    times.append(got.elapsed_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)  # the probes' cadence
    finally:
        await conn.close()
    return Probes(sent, len(times), Latency.of(times))


async def step(lamina: Lamina, concurrency: int, profile: Profile) -> ScalingStep:
    async with LoadGenerator(lamina.endpoint(FUNCTION), concurrency) as gen:
        await gen.run(duration_s=profile.warmup_s)
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            health = group.create_task(_probe(lamina.url, HEALTH, profile.probe_interval_s, stop), name="bench-probe-health")
            control = group.create_task(_probe(lamina.url, f"{FUNCTIONS}/{FUNCTION}/configuration",
                                               profile.probe_interval_s, stop), name="bench-probe-control")  # fmt: skip
            try:
                result = await gen.run(duration_s=profile.scaling_measure_s)
            finally:
                stop.set()
    throttled = result.statuses.get(429, 0)
    others = result.answered - result.ok - throttled + result.errors
    return ScalingStep(concurrency, result.throughput, Latency.of(result.latencies), throttled, others,
                       health.result(), control.result())  # fmt: skip


async def run(lamina: Lamina, profile: Profile, progress: Progress) -> ScalingResult:
    await lamina.create_function(FUNCTION, NOOP)
    steps: list[ScalingStep] = []
    throttled_at = None
    concurrency = 1
    while concurrency <= profile.scaling_max:
        started = time.monotonic()
        s = await step(lamina, concurrency, profile)
        steps.append(s)
        progress(f"scale  c={concurrency:<4} {s.throughput:>8,.0f} req/s  p99 {s.latency.p99_ms:7.2f} ms  "
                 f"429s {s.throttled:<6} health {s.health.ok}/{s.health.sent} (max {s.health.latency.max_ms:.1f} ms)  "
                 f"control {s.control.ok}/{s.control.sent}  [{time.monotonic() - started:.1f} s]")  # fmt: skip
        if s.throttled:
            throttled_at = concurrency
            break
        concurrency *= 2
    return ScalingResult(profile.scaling_limit, steps, throttled_at)

"""Placement on Ray: warm throughput and cold starts with the embedded engine, then with 1, 2 and 4
local Ray nodes (bench/ray_cluster.py), in the same run.

For each setting a server of its own: the no-op function warmed, one connection's latency
(``latency_requests`` invokes at c=1), then throughput at c=8 (warm-up, then ``measure_s``), then
``cold_functions`` new functions' first invokes (client-side) and their Init Duration. The Ray
path's cost per invocation is its c=1 p50 and c=8 throughput against the embedded engine's.

On one machine the nodes share its cores: more nodes add no CPU here, so the no-op's throughput
cannot grow with them as it does across machines; what this measures is the path's own cost and
that it does not shrink as nodes are added.

Growth: then a cluster whose nodes each have ``NODE_CPU`` of a core (a cpu cgroup's quota per node,
bench/cpu_quota.py), as machines of one size would, and a CPU-bound function (``BURN``: the same
fixed work at every call) invoked at ``BURN_PER_NODE`` concurrent invocations per node, more than
a node's quota can run at once: throughput with 1, 2 and 4 nodes, each against 1 node's (ideal:
N times). 4 nodes take 0.8 of the machine's cores; the server, the load generator and the head
(a node without CPUs, as a deployment keeps one for Ray's GCS) outside the quotas, the rest.
Skipped with a note where no cpu cgroup can be made (no root, no cgroups).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from dataclasses import dataclass, field

from bench.context import Bench
from bench.handlers import BURN, NOOP
from bench.lamina_target import HEALTH, Lamina, invoke_path
from bench.load import LoadError, LoadGenerator
from bench.ray_cluster import RayCluster
from bench.scenarios.cold import TAIL, init_duration_ms
from bench.stats import Latency
from bench.types import Progress

NODES = (1, 2, 4)
CONCURRENCY = 8
LATENCY_REQUESTS = 300
NODE_CPU = 0.2  # of a core, each node's in the growth part
BURN_PER_NODE = 4  # concurrent invocations per node in the growth part
BURN_WARMUP_S = 10.0  # at least: a new node's worker and its environments start under the quota
BURN_MEASURE_S = 6.0  # at least: a node runs some 14 invocations a second


@dataclass(frozen=True)
class RayPoint:
    setting: str  # "embedded" | "ray-N"
    nodes: int  # 0: embedded
    latency: Latency  # warm, c=1
    throughput: float  # warm, c=8, req/s
    latency_c8: Latency
    cold: Latency  # first invoke of a new function, client-side
    init: Latency  # its Init Duration (REPORT)


@dataclass(frozen=True)
class GrowthPoint:
    nodes: int
    concurrency: int
    throughput: float  # the CPU-bound function's, req/s
    latency: Latency
    failed: int  # answers other than 200, and connections lost


@dataclass(frozen=True)
class RayResult:
    points: list[RayPoint]
    node_cpu: float = NODE_CPU  # cores per node in the growth part
    growth: list[GrowthPoint] = field(default_factory=list)
    growth_skipped: str | None = None  # why there is no growth part

    def ratio(self, point: RayPoint) -> tuple[float, float]:
        """``point``'s c=1 p50 and c=8 throughput over the embedded engine's."""
        base = self.points[0]
        return point.latency.p50_ms / base.latency.p50_ms, point.throughput / base.throughput

    def growth_ratio(self, point: GrowthPoint) -> float:
        """``point``'s throughput over 1 node's (the first growth point's)."""
        return point.throughput / self.growth[0].throughput


def unavailable() -> str | None:
    if importlib.util.find_spec("ray") is None:
        return "Ray is not installed (pip install '.[ray]')"
    return None


async def _nodes_seen(lamina: Lamina, count: int) -> None:
    for _ in range(600):
        answer = await lamina.control.request("GET", HEALTH)
        if len(json.loads(answer.body).get("rayNodes", [])) >= count:
            return
        await asyncio.sleep(0.2)
    raise LoadError(f"Lamina did not see {count} Ray nodes")


async def measure(lamina: Lamina, setting: str, nodes: int, bench: Bench) -> RayPoint:
    p = bench.profile
    await lamina.create_function("noop", NOOP)
    async with LoadGenerator(lamina.endpoint("noop"), 1) as one:
        await one.run(requests=20)
        single = await one.run(requests=LATENCY_REQUESTS)
    async with LoadGenerator(lamina.endpoint("noop"), CONCURRENCY) as gen:
        await gen.run(duration_s=p.warmup_s)
        loaded = await gen.run(duration_s=p.measure_s)
    cold: list[float] = []
    init: list[float] = []
    for i in range(p.cold_functions):
        name = f"cold-{i}"
        await lamina.create_function(name, NOOP + f"# cold start {i}\n")
        first = await lamina.control.request("POST", invoke_path(name), b"{}", TAIL)
        if first.status != 200 or "x-amz-function-error" in first.headers:
            raise LoadError(f"cold invoke of {name} ({setting}): {first.status} {first.body[:300]!r}")
        cold.append(first.elapsed_s)
        ms = init_duration_ms(first.headers.get("x-amz-log-result", ""))
        if ms is not None:
            init.append(ms / 1000)
    point = RayPoint(setting, nodes, Latency.of(single.latencies), loaded.throughput, Latency.of(loaded.latencies),
                     Latency.of(cold), Latency.of(init))  # fmt: skip
    bench.progress(f"ray  {setting:<9} c=1 p50 {point.latency.p50_ms:6.2f} ms  c=8 {point.throughput:8,.0f} req/s "
                   f"(p99 {point.latency_c8.p99_ms:.1f} ms)  cold p50 {point.cold.p50_ms:.1f} ms "
                   f"(Init {point.init.p50_ms:.1f} ms)")  # fmt: skip
    return point


async def measure_growth(lamina: Lamina, nodes: int, bench: Bench) -> GrowthPoint:
    p = bench.profile
    await lamina.create_function("burn", BURN)
    concurrency = BURN_PER_NODE * nodes
    async with LoadGenerator(lamina.endpoint("burn"), concurrency) as gen:
        await gen.run(duration_s=max(p.warmup_s, BURN_WARMUP_S))
        loaded = await gen.run(duration_s=max(p.measure_s, BURN_MEASURE_S))
    point = GrowthPoint(nodes, concurrency, loaded.throughput, Latency.of(loaded.latencies),
                        loaded.answered - loaded.ok + loaded.errors)  # fmt: skip
    bench.progress(f"ray  growth {nodes} node(s) of {NODE_CPU} core c={concurrency}: {point.throughput:,.1f} req/s "
                   f"(p50 {point.latency.p50_ms:.0f} ms, {point.failed} failed)")  # fmt: skip
    return point


async def _growth(bench: Bench, progress: Progress) -> tuple[list[GrowthPoint], str | None]:
    """The CPU-bound function's throughput on 1, 2 and 4 nodes of ``NODE_CPU`` each, or why not."""
    # The head without CPUs (its GCS outside the quotas): else node 1 would be smaller than the others.
    cluster = RayCluster(cpu_quota=NODE_CPU, head_cpus=0)
    if cluster.quota_unavailable is not None:
        return [], f"no CPU quota per node ({cluster.quota_unavailable}): throughput growth not measured"
    growth: list[GrowthPoint] = []
    try:
        await asyncio.to_thread(cluster.start, 1)
        for count in NODES:
            while len(cluster.alive) < count + 1:  # and the head
                await asyncio.to_thread(cluster.add)
            progress(f"ray  {count} local node(s) of {NODE_CPU} core each at {cluster.address}")
            async with bench.lamina(f"ray-growth-{count}", LAMINA_RAY_ADDRESS=cluster.address,
                                    RAY_USAGE_STATS_ENABLED="0") as lamina:  # fmt: skip
                await _nodes_seen(lamina, count)
                growth.append(await measure_growth(lamina, count, bench))
    finally:
        await asyncio.to_thread(cluster.stop)
    return growth, None


async def run(bench: Bench, progress: Progress) -> RayResult:
    points: list[RayPoint] = []
    async with bench.lamina("ray-embedded") as lamina:
        points.append(await measure(lamina, "embedded", 0, bench))
    cluster = RayCluster()
    try:
        await asyncio.to_thread(cluster.start, 1)
        for count in NODES:
            while len(cluster.alive) < count:
                await asyncio.to_thread(cluster.add)
            progress(f"ray  {count} local node(s) at {cluster.address}")
            async with bench.lamina(f"ray-{count}", LAMINA_RAY_ADDRESS=cluster.address,
                                    RAY_USAGE_STATS_ENABLED="0") as lamina:  # fmt: skip
                await _nodes_seen(lamina, count)
                points.append(await measure(lamina, f"ray-{count}", count, bench))
    finally:
        await asyncio.to_thread(cluster.stop)
    try:
        growth, skipped = await _growth(bench, progress)
    except (LoadError, RuntimeError, OSError) as exc:  # the figures above stand without it
        growth, skipped = [], f"throughput growth not measured: {exc}"
    if skipped is not None:
        progress(f"ray  {skipped}")
    return RayResult(points, NODE_CPU, growth, skipped)

"""Invokes on connections that also make control calls, as a client's pool does, beside Invokes alone.

boto3 keeps a pool of connections and sends every call of a client over it, so the connection an
Invoke goes out on has often carried a GetFunction or a CreateFunction before. Two targets at
concurrency 8, in the order A B B A as in the HTTP API scenario: "invoke", Invokes alone; and
"pooled", each of wrk's threads sending a GetFunctionConfiguration every tenth request and Invokes
the other nine over its connections. The figure is the pooled target's throughput over the Invokes' alone: before the
front door lent aiohttp single requests, a connection that made one control call was aiohttp's for
good, and its Invokes ran the slower path.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from pathlib import Path

from bench import wrk
from bench.lamina_target import Lamina
from bench.load import Endpoint, LoadError, fetch
from bench.profile import Profile
from bench.scenarios.warm import Target, WarmPoint, a_b_b_a, verify
from bench.stats import ratio
from bench.types import Progress

CONCURRENCY = 8
FUNCTION = "noop"


@dataclass(frozen=True)
class PooledResult:
    concurrency: int
    invoke: list[WarmPoint]  # Invokes alone, in order
    pooled: list[WarmPoint]  # nine Invokes, then a GetFunctionConfiguration, and again
    invoke_per_s: float  # mean throughput of each
    pooled_per_s: float

    @property
    def ratio(self) -> float | None:
        return ratio(self.pooled_per_s, self.invoke_per_s)


async def run(lamina: Lamina, profile: Profile, scratch: Path, progress: Progress) -> PooledResult:
    if not wrk.available():
        raise LoadError("the pooled scenario needs wrk: scripts/bench installs it (Debian's package wrk)")
    endpoint = lamina.endpoint(FUNCTION)
    config = Endpoint(endpoint.base_url, f"/2015-03-31/functions/{FUNCTION}/configuration", b"", "GET")
    got = await fetch(config.base_url, config.method, config.path)
    if got.status != 200:
        raise LoadError(f"GetFunctionConfiguration: {got.status} {got.body[:300]!r}")
    invoke = Target("invoke", endpoint, lamina.pid)
    pooled = Target("pooled", replace(endpoint, alternate=config), lamina.pid)
    await verify(invoke)
    points = await a_b_b_a(invoke, pooled, CONCURRENCY, profile, scratch, progress, "pooled")
    result = PooledResult(CONCURRENCY, points["invoke"], points["pooled"],
                          statistics.mean(p.throughput for p in points["invoke"]),
                          statistics.mean(p.throughput for p in points["pooled"]))  # fmt: skip
    progress(f"pooled  Invokes with a GetFunctionConfiguration every tenth request / Invokes alone: "
             f"{result.ratio or 0:.2f}×")
    return result

"""An HTTP API route beside the Invoke API, in the same run: the no-op handler behind a quick-created
HTTP API (``POST /v2/apis`` with ``target``), reached at ``/_aws/execute-api/<api-id>/hello``,
and the same function through the Invoke API.

At concurrency 8, the two targets in the order A B B A (so slow drift of the machine touches both
alike), each for ``warmup_s`` unmeasured and ``measure_s`` measured as in the warm scenario; each
target's figures are the mean of its two measurements. The issue's target: the route at least 90%
of the Invoke API's throughput.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from bench.lamina_target import Lamina
from bench.load import Endpoint, LoadError, fetch
from bench.profile import Profile
from bench.scenarios.warm import Target, WarmPoint, a_b_b_a
from bench.stats import ratio
from bench.types import Progress

CONCURRENCY = 8
FUNCTION = "noop"
EXPECTED = {"ok": True}


@dataclass(frozen=True)
class HttpApiResult:
    concurrency: int
    invoke: list[WarmPoint]  # the Invoke API's measurements, in order
    route: list[WarmPoint]  # the HTTP API route's
    invoke_per_s: float  # mean throughput of each
    route_per_s: float
    invoke_p50_ms: float  # mean p50 of each
    route_p50_ms: float

    @property
    def ratio(self) -> float | None:
        return ratio(self.route_per_s, self.invoke_per_s)


async def create_api(lamina: Lamina, function_arn: str) -> str:
    created = await lamina.call("POST", "/v2/apis", {"name": "bench", "protocolType": "HTTP", "target": function_arn})
    if created.status != 201:
        raise LoadError(f"CreateApi: {created.status} {created.body[:300]!r}")
    api_id: str = json.loads(created.body)["apiId"]
    return api_id


async def _verify(target: Target) -> None:
    e = target.endpoint
    got = await fetch(e.base_url, e.method, e.path, e.body)
    try:
        doc = json.loads(got.body)
    except ValueError:
        doc = None
    if got.status != 200 or doc != EXPECTED:
        raise LoadError(f"{target.name} does not run the no-op handler: {got.status} {got.body[:300]!r}")


async def run(lamina: Lamina, profile: Profile, scratch: Path, progress: Progress) -> HttpApiResult:
    config = await lamina.call("GET", f"/2015-03-31/functions/{FUNCTION}/configuration")
    api_id = await create_api(lamina, json.loads(config.body)["FunctionArn"])
    invoke = Target("invoke", lamina.endpoint(FUNCTION), lamina.pid)
    route = Target("http-api", Endpoint(lamina.url, f"/_aws/execute-api/{api_id}/hello", b"", "GET"), lamina.pid)
    for target in (invoke, route):
        await _verify(target)
    points = await a_b_b_a(invoke, route, CONCURRENCY, profile, scratch, progress, "http-api")
    result = HttpApiResult(
        CONCURRENCY, points["invoke"], points["http-api"],
        statistics.mean(p.throughput for p in points["invoke"]), statistics.mean(p.throughput for p in points["http-api"]),
        statistics.mean(p.latency.p50_ms for p in points["invoke"]),
        statistics.mean(p.latency.p50_ms for p in points["http-api"]),
    )  # fmt: skip
    progress(f"http-api  route / Invoke API throughput: {result.ratio or 0:.2f}×")
    return result

"""Burst: 0 → N concurrent environments of one function that has none yet.

N connections are opened first; then N invocations of a handler that sleeps ``sleep_s`` go out
at once. Each handler returns which environment ran it (its log stream) and the wall-clock time
it began; an environment exists, for this figure, once its handler runs. "All ready" is when the
last handler began, counted from the moment the requests went out; the sleep keeps every
environment busy past that, so N distinct environments answer unless Lamina queued requests
behind one another.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from bench.handlers import HOLD
from bench.lamina_target import Lamina, error_message, invoke_path, succeeded
from bench.load import HttpConnection, LoadError
from bench.types import Progress

FUNCTION = "burst"


@dataclass(frozen=True)
class BurstResult:
    requests: int
    ok: int
    environments: int  # distinct environments that answered
    failure: str  # the first failed invocation's message, if any
    first_ready_s: float  # the first handler began
    all_ready_s: float  # the last handler began: all environments existed
    wall_s: float  # until the last answer (includes the handler's sleep)
    sleep_s: float


async def run(lamina: Lamina, n: int, sleep_s: float, progress: Progress) -> BurstResult:
    await lamina.create_function(FUNCTION, HOLD, timeout_s=60)
    body = json.dumps({"sleep": sleep_s}).encode()
    conns = [await HttpConnection(lamina.url).open() for _ in range(n)]
    try:
        progress(f"burst  {n} concurrent invocations of a cold function")
        start_wall, start = time.time(), time.perf_counter()
        async with asyncio.TaskGroup() as group:
            calls = [group.create_task(conn.request("POST", invoke_path(FUNCTION), body, timeout=120),
                                       name=f"bench-burst-{i}") for i, conn in enumerate(conns)]  # fmt: skip
        wall = time.perf_counter() - start
    finally:
        for conn in conns:
            await conn.close()
    answers = [call.result() for call in calls]
    good, bad = succeeded(answers)
    failure = error_message(bad[0]) if bad else ""
    if not good:
        raise LoadError(f"burst: every invocation failed, e.g.: {failure}")
    docs = [json.loads(a.body) for a in good]
    began = sorted(float(d["began"]) - start_wall for d in docs)
    result = BurstResult(n, len(good), len({d["env"] for d in docs}), failure, began[0], began[-1], wall, sleep_s)
    progress(f"burst  {result.environments} environments, all running after {result.all_ready_s:.2f} s "
             f"(first {result.first_ready_s * 1000:.0f} ms); {result.ok}/{n} ok, last answer at {wall:.2f} s"
             + (f"; failed, e.g.: {failure}" if failure else ""))  # fmt: skip
    return result

"""Asynchronous invocation: accepted events per second end to end, beside synchronous throughput.

N ``Event`` invocations of a no-op function go out over ``concurrency`` keep-alive connections;
the clock stops when Lamina's queue (``GET /lamina/v1/queue``) holds none of the function's
events, queued or in flight: every handler is done and every event's outcome is recorded. The
same N invocations, synchronously over as many connections, give the figure beside it.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from bench.handlers import NOOP
from bench.lamina_target import Lamina, invoke_path
from bench.load import HttpConnection, LoadError
from bench.types import Progress

FUNCTION = "async-noop"
QUEUE = "/lamina/v1/queue"


@dataclass(frozen=True)
class AsyncResult:
    events: int
    concurrency: int
    accept_per_s: float  # 202s per second while sending
    end_to_end_per_s: float  # events per second from the first send until every handler was done
    sync_per_s: float  # synchronous invocations per second, same count and connections


async def _send(lamina: Lamina, n: int, concurrency: int, headers: dict[str, str], expect: int) -> float:
    """Send ``n`` invocations over ``concurrency`` connections; returns the seconds it took."""
    conns = [await HttpConnection(lamina.url).open() for _ in range(concurrency)]
    share = [n // concurrency + (1 if i < n % concurrency else 0) for i in range(concurrency)]

    async def one(conn: HttpConnection, count: int) -> None:
        for _ in range(count):
            answer = await conn.request("POST", invoke_path(FUNCTION), b"{}", headers)
            if answer.status != expect:
                raise LoadError(f"async: invoke answered {answer.status}: {answer.body[:200]!r}")

    start = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            for i, (conn, count) in enumerate(zip(conns, share)):
                group.create_task(one(conn, count), name=f"bench-async-{i}")
    finally:
        for conn in conns:
            await conn.close()
    return time.perf_counter() - start


async def _drained(lamina: Lamina, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = await lamina.call("GET", QUEUE)
        rows = json.loads(got.body).get("functions", []) if got.status == 200 else None
        if rows is not None and not any(row["function"] == FUNCTION for row in rows):
            return
        if time.monotonic() > deadline:
            raise LoadError(f"async: the queue did not drain in {timeout:.0f} s: {got.body[:300]!r}")
        await asyncio.sleep(0.01)


async def run(lamina: Lamina, events: int, concurrency: int, progress: Progress) -> AsyncResult:
    await lamina.create_function(FUNCTION, NOOP)
    await _send(lamina, concurrency, concurrency, {}, 200)  # warm environments, not measured
    sync_s = await _send(lamina, events, concurrency, {}, 200)
    start = time.perf_counter()
    accept_s = await _send(lamina, events, concurrency, {"X-Amz-Invocation-Type": "Event"}, 202)
    await _drained(lamina)
    total_s = time.perf_counter() - start
    result = AsyncResult(events, concurrency, events / accept_s, events / total_s, events / sync_s)
    progress(f"async  {events} events, c={concurrency}: accepted {result.accept_per_s:,.0f}/s, "
             f"end to end {result.end_to_end_per_s:,.0f}/s; synchronous {result.sync_per_s:,.0f}/s")  # fmt: skip
    return result

"""Asynchronous invocation: accepted events per second end to end, beside synchronous throughput.

N ``Event`` invocations of a no-op function go out over ``concurrency`` keep-alive connections;
the clock stops when Lamina's queue (``GET /lamina/v1/queue``) holds none of the function's
events, queued or in flight: every handler is done and every event's outcome is recorded. The
same N invocations, synchronously over as many connections, give the figure beside it. A round
is both, one after the other; the figures are the median round's, so that a noisy moment of a
shared machine weighs on one round only.

Then latency one request at a time: ``latency_requests`` warm synchronous invokes, and as many
``Event`` invokes (each 202 waits for its event's commit), their p50 and p99 side by side.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass

from bench.handlers import NOOP
from bench.lamina_target import Lamina, invoke_path
from bench.load import HttpConnection, LoadError
from bench.stats import Latency
from bench.types import Progress

FUNCTION = "async-noop"
QUEUE = "/lamina/v1/queue"


@dataclass(frozen=True)
class Round:
    sync_per_s: float  # synchronous invocations per second
    accept_per_s: float  # 202s per second while sending the same number of Event invocations
    end_to_end_per_s: float  # events per second from the first send until every handler was done


@dataclass(frozen=True)
class AsyncResult:
    events: int  # per round
    concurrency: int
    rounds: list[Round]
    sync_latency: Latency  # one at a time: a warm synchronous invoke, request to response
    accept_latency: Latency  # one at a time: an Event invoke, request to 202

    @property
    def sync_per_s(self) -> float:
        return statistics.median(r.sync_per_s for r in self.rounds)

    @property
    def accept_per_s(self) -> float:
        return statistics.median(r.accept_per_s for r in self.rounds)

    @property
    def end_to_end_per_s(self) -> float:
        return statistics.median(r.end_to_end_per_s for r in self.rounds)


async def _send(lamina: Lamina, n: int, concurrency: int, headers: dict[str, str], expect: int,
                latencies: list[float] | None = None) -> float:  # fmt: skip
    """Send ``n`` invocations over ``concurrency`` connections; returns the seconds it took (and
    appends each request's to ``latencies``)."""
    conns = [await HttpConnection(lamina.url).open() for _ in range(concurrency)]
    share = [n // concurrency + (1 if i < n % concurrency else 0) for i in range(concurrency)]

    async def one(conn: HttpConnection, count: int) -> None:
        for _ in range(count):
            sent = time.perf_counter()
            answer = await conn.request("POST", invoke_path(FUNCTION), b"{}", headers)
            if latencies is not None:
                latencies.append(time.perf_counter() - sent)
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


async def run(lamina: Lamina, events: int, concurrency: int, rounds: int, latency_requests: int,
              progress: Progress) -> AsyncResult:  # fmt: skip
    event = {"X-Amz-Invocation-Type": "Event"}
    await lamina.create_function(FUNCTION, NOOP)
    await _send(lamina, concurrency, concurrency, {}, 200)  # warm environments, not measured
    measured: list[Round] = []
    for i in range(rounds):
        sync_s = await _send(lamina, events, concurrency, {}, 200)
        start = time.perf_counter()
        accept_s = await _send(lamina, events, concurrency, event, 202)
        await _drained(lamina)
        total_s = time.perf_counter() - start
        measured.append(Round(events / sync_s, events / accept_s, events / total_s))
        progress(f"async  round {i + 1} of {rounds}: synchronous {events / sync_s:,.0f}/s, accepted "
                 f"{events / accept_s:,.0f}/s, end to end {events / total_s:,.0f}/s")  # fmt: skip
    sync_latency: list[float] = []
    accept_latency: list[float] = []
    await _send(lamina, latency_requests, 1, {}, 200, sync_latency)
    await _send(lamina, latency_requests, 1, event, 202, accept_latency)
    await _drained(lamina)
    result = AsyncResult(events, concurrency, measured, Latency.of(sync_latency), Latency.of(accept_latency))
    progress(f"async  {events} events, c={concurrency}, median of {rounds} rounds: "
             f"accepted {result.accept_per_s:,.0f}/s, end to end {result.end_to_end_per_s:,.0f}/s; "
             f"synchronous {result.sync_per_s:,.0f}/s; c=1 p50: 202 {result.accept_latency.p50_ms:.3f} ms, "
             f"synchronous {result.sync_latency.p50_ms:.3f} ms")  # fmt: skip
    return result

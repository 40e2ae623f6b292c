"""Cold start: a new function's first invoke, as the client sees it, and the Init Duration Lamina reports.

One at a time, N times: create a function (its code differs by a comment, so no two share a
package), wait until it is Active, then invoke it with ``LogType: Tail`` on an open keep-alive
connection and time the call; the REPORT line in ``X-Amz-Log-Result`` gives the Init Duration.
A second invoke of the same function is the warm comparison.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from bench.handlers import NOOP
from bench.lamina_target import Lamina, invoke_path
from bench.load import LoadError
from bench.stats import Latency
from bench.types import Progress

_INIT = re.compile(r"Init Duration: ([\d.]+) ms")
TAIL = {"X-Amz-Log-Type": "Tail"}


@dataclass(frozen=True)
class ColdResult:
    functions: int
    client: Latency  # first invoke, client-side
    init: Latency  # Init Duration from the REPORT line
    warm: Latency  # the second invoke of each function
    missing_init: int  # first invokes whose REPORT had no Init Duration


def init_duration_ms(log_result: str) -> float | None:
    """The Init Duration in a base64 ``X-Amz-Log-Result``, if its REPORT line has one."""
    match = _INIT.search(base64.b64decode(log_result).decode(errors="replace"))
    return float(match[1]) if match else None


async def run(lamina: Lamina, count: int, progress: Progress) -> ColdResult:
    client: list[float] = []
    init: list[float] = []
    warm: list[float] = []
    missing = 0
    for i in range(count):
        name = f"cold-{i}"
        await lamina.create_function(name, NOOP + f"# cold start {i}\n")
        first = await lamina.control.request("POST", invoke_path(name), b"{}", TAIL)
        if first.status != 200 or "x-amz-function-error" in first.headers:
            raise LoadError(f"cold invoke of {name}: {first.status} {first.body[:300]!r}")
        second = await lamina.control.request("POST", invoke_path(name), b"{}")
        client.append(first.elapsed_s)
        warm.append(second.elapsed_s)
        init_ms = init_duration_ms(first.headers.get("x-amz-log-result", ""))
        if init_ms is None:
            missing += 1
        else:
            init.append(init_ms / 1000)
    result = ColdResult(count, Latency.of(client), Latency.of(init), Latency.of(warm), missing)
    progress(f"cold  {count} new functions: first invoke p50 {result.client.p50_ms:.1f} ms "
             f"(max {result.client.max_ms:.1f}), Init Duration p50 {result.init.p50_ms:.1f} ms, "
             f"then warm p50 {result.warm.p50_ms:.2f} ms")  # fmt: skip
    return result

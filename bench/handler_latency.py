"""What the latency figures of trigger scenarios (``mappings``, ``iot``) share: the JSON of an
answer checked, and the latencies a handler printed as ``LATENCY <sent> <seen>`` (wall-clock
seconds of one machine), read back through Lamina's log API."""

from __future__ import annotations

import json
import time

from bench.lamina_target import Lamina
from bench.load import LoadError, Response


def json_of(got: Response, what: str, expect: int = 200) -> dict[str, object]:
    if got.status != expect:
        raise LoadError(f"{what}: {got.status} {got.body[:300]!r}")
    doc: dict[str, object] = json.loads(got.body)
    return doc


async def printed(lamina: Lamina, function: str, count: int, cursor: int, scenario: str,
                  timeout: float = 120.0) -> tuple[list[float], int]:  # fmt: skip
    """The next ``count`` latencies ``function`` printed (seconds), from the log cursor ``cursor``;
    and the cursor after them."""
    seen: list[float] = []
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        if time.monotonic() > deadline:
            raise LoadError(f"{scenario}: the handler saw {len(seen)} of {count} messages in {timeout:.0f} s")
        logs = json_of(await lamina.call("GET", f"/lamina/v1/functions/{function}/logs?since={cursor}"
                                                "&limit=10000&wait=1"), "logs")  # fmt: skip
        events = logs["events"]
        assert isinstance(events, list)
        for event in events:
            words = str(event["message"]).split()
            if len(words) == 3 and words[0] == "LATENCY":
                seen.append(float(words[2]) - float(words[1]))
        cursor = int(str(logs["nextCursor"]))
    return seen, cursor

"""A function's invocations per minute, from the durable ledger (the store's ``invocations``):
how many, how many failed, their p50 and p99 duration, how many started cold (an ``init_ms``),
and what they cost (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lamina.console.cost import Price, cost
from lamina.percentiles import nearest_rank
from lamina.store.base import InvocationRecord

MINUTE_MS = 60_000


@dataclass(frozen=True)
class Series:
    """Columns of equal length, one entry a minute, oldest first (uPlot's data layout)."""

    minutes: list[int]  # each minute's start, epoch seconds
    invocations: list[int]
    errors: list[int]
    p50_ms: list[float | None]  # None: no invocation that minute
    p99_ms: list[float | None]
    cold_starts: list[int]
    cost_usd: list[float]

    def as_json(self) -> dict[str, object]:
        return {"minutes": self.minutes, "invocations": self.invocations, "errors": self.errors,
                "p50": self.p50_ms, "p99": self.p99_ms, "coldStarts": self.cold_starts, "cost": self.cost_usd}  # fmt: skip


def per_minute(records: Iterable[InvocationRecord], *, now_ms: int, minutes: int, price: Price) -> Series:
    """The ``minutes`` whole minutes up to and including the one ``now_ms`` is in; records outside
    them are left out."""
    first = window_start(now_ms, minutes)
    last = first + (minutes - 1) * MINUTE_MS
    durations: list[list[float]] = [[] for _ in range(minutes)]
    errors, cold, spent = [0] * minutes, [0] * minutes, [0.0] * minutes
    for record in records:
        if not first <= record.started_ms < last + MINUTE_MS:
            continue
        i = (record.started_ms - first) // MINUTE_MS
        durations[i].append(record.duration_ms)
        errors[i] += record.failed
        cold[i] += record.init_ms is not None
        spent[i] += cost(record, price)
    return Series(
        minutes=[(first + i * MINUTE_MS) // 1000 for i in range(minutes)],
        invocations=[len(d) for d in durations],
        errors=errors,
        p50_ms=[percentile(d, 0.50) for d in durations],
        p99_ms=[percentile(d, 0.99) for d in durations],
        cold_starts=cold,
        cost_usd=[round(c, 12) for c in spent],
    )


def window_start(now_ms: int, minutes: int) -> int:
    """The start of the first of the ``minutes`` whole minutes up to the one ``now_ms`` is in."""
    return now_ms - now_ms % MINUTE_MS - (minutes - 1) * MINUTE_MS


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (CloudWatch's pNN for a small sample): the smallest value at
    least ``fraction`` of the values are at or below."""
    if not values:
        return None
    return round(nearest_rank([(value, 1) for value in sorted(values)], fraction), 3)

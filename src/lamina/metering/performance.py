"""How each function performed over a range of the ledger (pure): invocations, errors, cold starts,
duration percentiles, memory. What ``lamina stats`` and GET /lamina/v1/stats answer: "which function
is slowest".

Percentiles come from a log-bucketed histogram (each bucket 2% wider than the last, from 0.01 ms),
so memory stays bounded however many invocations a range holds, and a percentile is within 2% of
the exact one; the maximum is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from lamina.percentiles import nearest_rank
from lamina.store.base import InvocationRecord

_GROWTH = 1.02
_LOG_GROWTH = math.log(_GROWTH)
_SMALLEST_MS = 0.01
SORTS = ("p99", "p90", "p50", "max", "invocations", "errors", "cold", "memory")


@dataclass
class DurationSketch:
    """Durations in buckets whose upper bounds grow by 2%: bucket i holds (0.01·1.02^(i-1), 0.01·1.02^i] ms."""

    counts: dict[int, int] = field(default_factory=dict)
    count: int = 0
    maximum: float = 0.0
    total: float = 0.0

    def add(self, ms: float) -> None:
        index = 0 if ms <= _SMALLEST_MS else math.ceil(math.log(ms / _SMALLEST_MS) / _LOG_GROWTH)
        self.counts[index] = self.counts.get(index, 0) + 1
        self.count += 1
        self.total += ms
        self.maximum = max(self.maximum, ms)

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0 < p ≤ 100): the upper bound of the bucket holding it, at most the maximum."""
        if not self.count:
            return 0.0
        bounds = [(_SMALLEST_MS * _GROWTH**index, self.counts[index]) for index in sorted(self.counts)]
        return min(nearest_rank(bounds, p / 100), self.maximum)


@dataclass
class FunctionPerformance:
    function: str
    invocations: int = 0
    errors: int = 0
    cold_starts: int = 0
    max_memory_used_mb: int = 0
    memory_mb: int = 0
    durations: DurationSketch = field(default_factory=DurationSketch)
    inits: DurationSketch = field(default_factory=DurationSketch)

    def add(self, r: InvocationRecord) -> None:
        self.invocations += 1
        if r.failed:
            self.errors += 1
        if r.init_ms is not None:
            self.cold_starts += 1
            self.inits.add(r.init_ms)
        self.durations.add(r.duration_ms)
        self.max_memory_used_mb = max(self.max_memory_used_mb, r.max_memory_used_mb)
        self.memory_mb = r.memory_mb  # the latest configuration's

    def as_json(self) -> dict[str, object]:
        d, i = self.durations, self.inits
        return {
            "function": self.function, "invocations": self.invocations, "errors": self.errors,
            "errorRate": round(self.errors / self.invocations, 4) if self.invocations else 0.0,
            "coldStarts": self.cold_starts,
            "durationMs": {"p50": round(d.percentile(50), 2), "p90": round(d.percentile(90), 2),
                           "p99": round(d.percentile(99), 2), "max": round(d.maximum, 2),
                           "average": round(d.total / d.count, 2) if d.count else 0.0},
            "initMs": {"p50": round(i.percentile(50), 2), "max": round(i.maximum, 2)},
            "memoryMb": self.memory_mb, "maxMemoryUsedMb": self.max_memory_used_mb,
        }  # fmt: skip


def _sort_key(sort: str) -> tuple[str, str | None]:
    """What ``sort`` orders by: a top-level member, or one of durationMs's."""
    return {"p99": ("durationMs", "p99"), "p90": ("durationMs", "p90"), "p50": ("durationMs", "p50"),
            "max": ("durationMs", "max"), "invocations": ("invocations", None), "errors": ("errors", None),
            "cold": ("coldStarts", None), "memory": ("maxMemoryUsedMb", None)}[sort]  # fmt: skip


class Performance:
    """Ledger rows folded per function, a batch at a time."""

    def __init__(self) -> None:
        self._functions: dict[str, FunctionPerformance] = {}

    def add(self, records: Iterable[InvocationRecord]) -> None:
        for r in records:
            found = self._functions.get(r.function)
            if found is None:
                found = self._functions[r.function] = FunctionPerformance(r.function)
            found.add(r)

    def rows(self, sort: str = "p99") -> list[dict[str, object]]:
        """Every function's figures, the largest by ``sort`` first (ties by name)."""
        return sorted((f.as_json() for f in self._functions.values()), key=row_order(sort))


def row_order(sort: str) -> Callable[[Mapping[str, object]], tuple[float, str, str, str]]:
    """The sort key of ``Performance.rows``' rows: the largest by ``sort`` first, ties by function
    name, then by the rows' ``account`` and ``region`` (those of several cells, merged)."""
    if sort not in SORTS:
        raise ValueError(f"cannot sort by {sort[:40]!r}: use one of {', '.join(SORTS)}")
    top, inner = _sort_key(sort)

    def key(row: Mapping[str, object]) -> tuple[float, str, str, str]:
        value = row[top]
        if inner is not None:
            assert isinstance(value, dict)
            value = value[inner]
        assert isinstance(value, (int, float))
        return (-float(value), str(row["function"]), str(row.get("account", "")), str(row.get("region", "")))

    return key

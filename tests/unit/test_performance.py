"""Functions' performance from ledger rows (metering/performance.py), with plain values."""

from __future__ import annotations

import pytest

from lamina.metering.performance import DurationSketch, Performance
from lamina.store.base import InvocationRecord


def record(function: str, duration_ms: float, *, outcome: str = "success", init_ms: float | None = None,
           used: int = 30) -> InvocationRecord:  # fmt: skip
    return InvocationRecord("id", function, "$LATEST", 0, duration_ms, int(duration_ms) + 1, 128, used, init_ms, outcome)


def test_percentiles_are_within_two_percent_and_the_maximum_exact() -> None:
    sketch = DurationSketch()
    values = [i * 0.37 for i in range(1, 10_001)]  # 0.37 ms to 3,700 ms
    for value in values:
        sketch.add(value)
    for p in (50, 90, 99):
        exact = sorted(values)[int(len(values) * p / 100) - 1]
        assert exact <= sketch.percentile(p) <= exact * 1.02 + 1e-9, p
    assert sketch.maximum == values[-1] and sketch.percentile(100) == values[-1]
    assert DurationSketch().percentile(50) == 0.0
    tiny = DurationSketch()
    for value in (0.0, 0.001, 0.01):
        tiny.add(value)
    assert tiny.percentile(99) == 0.01


def test_functions_are_ranked_slowest_first() -> None:
    performance = Performance()
    performance.add([record("fast", 2.0) for _ in range(50)])
    performance.add([record("slow", 250.0, init_ms=120.0), record("slow", 240.0), record("slow", 10.0, outcome="Error")])
    performance.add([record("busy", 5.0, used=90) for _ in range(100)])
    rows = performance.rows()
    assert [r["function"] for r in rows] == ["slow", "busy", "fast"]
    slow = rows[0]
    assert (slow["invocations"], slow["errors"], slow["coldStarts"], slow["errorRate"]) == (3, 1, 1, 0.3333)
    assert slow["durationMs"]["max"] == 250.0  # type: ignore[index]
    assert [r["function"] for r in performance.rows("invocations")] == ["busy", "fast", "slow"]
    assert [r["function"] for r in performance.rows("memory")][0] == "busy"
    assert [r["function"] for r in performance.rows("errors")][0] == "slow"
    with pytest.raises(ValueError):
        performance.rows("speed")

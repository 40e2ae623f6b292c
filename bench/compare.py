"""A run's figures beside a baseline's from the same run, and the verdict on each: pure.

``current / baseline`` is the ratio for every figure. A figure got *worse* when that ratio is
beyond ``1 ± margin`` in the bad direction (below ``1 - margin`` for a throughput, above
``1 + margin`` for a latency), *better* when beyond it in the good one, and is *within noise*
otherwise. The margin is the figure's own (``figures.py``), widened to the spread of its rounds
on either side where it is the median of rounds: two medians cannot be told apart more finely
than the rounds under them agree.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from bench.figures import Better, Figure
from bench.stats import ratio


class Verdict(Enum):
    WORSE = "worse"
    BETTER = "better"
    SAME = "within noise"
    MISSING = "not measured"  # on either side, or a baseline of zero


@dataclass(frozen=True)
class Comparison:
    name: str
    unit: str
    better: Better
    baseline: float | None
    current: float | None
    ratio: float | None  # current / baseline
    baseline_spread: float  # of the baseline's rounds (``spread``)
    current_spread: float
    margin: float  # the one applied: the figure's own, or the wider spread
    verdict: Verdict


def spread(rounds: Sequence[float]) -> float:
    """How far apart rounds are, relative to their median: (max - min) / median; 0 for fewer than two."""
    finite = [r for r in rounds if math.isfinite(r)]
    if len(finite) < 2:
        return 0.0
    middle = statistics.median(finite)
    return (max(finite) - min(finite)) / middle if middle > 0 else math.inf


def judge(r: float | None, better: Better, margin: float) -> Verdict:
    """The verdict on a ratio ``current / baseline``."""
    if r is None:
        return Verdict.MISSING
    gain = r - 1 if better is Better.HIGHER else 1 - r  # positive when current is the better one
    if gain < -margin:
        return Verdict.WORSE
    if gain > margin:
        return Verdict.BETTER
    return Verdict.SAME


def _value(figure: Figure | None) -> float | None:
    if figure is None or figure.value is None or not math.isfinite(figure.value):
        return None
    return figure.value


def compare_one(baseline: Figure | None, current: Figure | None) -> Comparison:
    """One figure from both sides (either may be missing, not both)."""
    known = current or baseline
    assert known is not None, "a figure missing on both sides"
    b_spread, c_spread = (spread(f.rounds) if f is not None else 0.0 for f in (baseline, current))
    margin = max(known.margin, b_spread, c_spread)
    b, c = _value(baseline), _value(current)
    r = ratio(c, b)
    return Comparison(known.name, known.unit, known.better, b, c, r, b_spread, c_spread, margin,
                      judge(r, known.better, margin))  # fmt: skip


def compare(baseline: Sequence[Figure], current: Sequence[Figure]) -> list[Comparison]:
    """Figures matched by name: the current run's in its order, then those only the baseline has."""
    base = {f.name: f for f in baseline}
    names = {f.name for f in current}
    out = [compare_one(base.get(f.name), f) for f in current]
    return out + [compare_one(f, None) for f in baseline if f.name not in names]


def worse(comparisons: Sequence[Comparison]) -> list[Comparison]:
    return [c for c in comparisons if c.verdict is Verdict.WORSE]

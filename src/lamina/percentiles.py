"""The nearest-rank percentile, as CloudWatch computes pNN: one definition for every figure Lamina
reports (CloudWatch's statistics, the console's charts, ``lamina stats``)."""

from __future__ import annotations

import math
from typing import Sequence


def nearest_rank(values: Sequence[tuple[float, int]], fraction: float) -> float:
    """The least value with at least ``fraction`` (0 < fraction <= 1) of the samples at or below it,
    from (value, how many) pairs sorted by value; ``values`` must hold at least one sample."""
    total = sum(n for _, n in values)
    rank = max(1, math.ceil(fraction * total))
    running = 0
    for value, n in values:
        running += n
        if running >= rank:
            return value
    return values[-1][0]

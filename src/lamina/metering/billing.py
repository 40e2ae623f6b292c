"""Billing arithmetic: pure functions of durations and sizes."""

from __future__ import annotations

import math


def billed_ms(duration_ms: float) -> int:
    """Lambda bills duration rounded up to the next millisecond, at least 1 ms."""
    return max(1, math.ceil(duration_ms))


def gb_seconds(billed: int, memory_mb: int) -> float:
    return billed / 1000 * memory_mb / 1024

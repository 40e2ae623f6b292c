"""Billing arithmetic: pure functions of durations and sizes."""

from __future__ import annotations

import math
from decimal import Decimal

MS_PER_S = 1000
MB_PER_GB = 1024
FREE_STORAGE_MB = 512  # ephemeral storage up to this is included in the duration price


def billed_ms(duration_ms: float, init_ms: float | None = None) -> int:
    """Lambda bills duration rounded up to the next millisecond, at least 1 ms. Since August 2025
    an on-demand environment's init phase is billed too: the first invocation of a cold start is
    billed ``init + duration``, rounded up once (REPORT's Billed Duration says the same)."""
    return max(1, math.ceil(duration_ms + (init_ms or 0.0)))


def gb_seconds(billed: int, memory_mb: int) -> Decimal:
    """Billed milliseconds times memory in GB, exactly (1/1024 and 1/1000 are finite decimals)."""
    return Decimal(billed) * Decimal(memory_mb) / (MB_PER_GB * MS_PER_S)


def storage_gb_seconds(billed: int, ephemeral_mb: int) -> Decimal:
    """GB-seconds of ephemeral storage beyond the 512 MB every function has at no extra cost."""
    return gb_seconds(billed, max(0, ephemeral_mb - FREE_STORAGE_MB))

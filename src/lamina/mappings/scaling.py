"""How many batches a mapping works on at once (pure), as Lambda's SQS pollers scale: start with a
few, add one while batches come back full, let one go while they come back empty, never above the
cap (ScalingConfig.MaximumConcurrency, the function's reserved concurrency, Lambda's 1,000)."""

from __future__ import annotations

INITIAL_WIDTH = 5  # Lambda starts with five concurrent batches
MAX_WIDTH = 1000  # and a mapping processes at most 1,000 at once


def cap(maximum_concurrency: int | None, reserved: int | None) -> int:
    """The most batches at once: the smallest of the limits that are set, at least one."""
    limits = [MAX_WIDTH] + [v for v in (maximum_concurrency, reserved) if v is not None]
    return max(1, min(limits))


def initial(limit: int) -> int:
    return min(INITIAL_WIDTH, limit)


def next_width(width: int, limit: int, *, full: bool, empty: bool) -> int:
    """The width after a batch came back ``full`` (as many records as it could hold) or ``empty``."""
    if full:
        return min(limit, width + 1)
    if empty:
        return max(1, min(limit, width - 1))
    return min(limit, width)


def retry_delay(attempts: int) -> float:
    """Seconds to wait after ``attempts`` failures in a row (a throttled invoke, an unreadable
    source): doubling from half a second, at most 30."""
    return min(30.0, 0.5 * 2.0 ** max(0, attempts - 1))

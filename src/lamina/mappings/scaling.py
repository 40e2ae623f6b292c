"""How many batches a mapping works on at once (pure), as Lambda's SQS pollers scale: start with a
few, add one while batches come back full (at most one a second: Lambda adds up to 60 a minute), let
one go while they come back empty, never above the cap (ScalingConfig.MaximumConcurrency, the
function's reserved concurrency, Lambda's 1,000).

The pace matters beyond fidelity: growing at every full batch, a deep queue took a mapping to a
thousand batches at once within seconds, each wanting an execution environment of its own, on a
machine whose cores were already busy with the ones it had."""

from __future__ import annotations

INITIAL_WIDTH = 5  # Lambda starts with five concurrent batches
MAX_WIDTH = 1000  # and a mapping processes at most 1,000 at once
GROWTH_INTERVAL_S = 1.0  # one more batch at once per second at most: 60 a minute


def cap(maximum_concurrency: int | None, reserved: int | None) -> int:
    """The most batches at once: the smallest of the limits that are set, at least one."""
    limits = [MAX_WIDTH] + [v for v in (maximum_concurrency, reserved) if v is not None]
    return max(1, min(limits))


def initial(limit: int) -> int:
    return min(INITIAL_WIDTH, limit)


def next_width(width: int, limit: int, *, full: bool, empty: bool, since_growth_s: float) -> int:
    """The width after a batch came back ``full`` (as many records as it could hold) or ``empty``,
    ``since_growth_s`` seconds after the width last grew."""
    if full:
        return min(limit, width + 1 if since_growth_s >= GROWTH_INTERVAL_S else width)
    if empty:
        return max(1, min(limit, width - 1))
    return min(limit, width)


def retry_delay(attempts: int) -> float:
    """Seconds to wait after ``attempts`` failures in a row (a throttled invoke, an unreadable
    source): doubling from half a second, at most 30."""
    return min(30.0, 0.5 * 2.0 ** max(0, attempts - 1))

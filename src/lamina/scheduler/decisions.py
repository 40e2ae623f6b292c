"""Placement, scaling and admission decisions: pure functions of counts, limits, a pool snapshot and ``now``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class IdleView:
    env_id: str
    last_used: float
    retire_at: float | None = None  # past it, the environment serves no more (its credentials' lifetime)


def expired(idle: Sequence[IdleView], now: float, keep_alive: float) -> list[str]:
    """Idle environments unused for longer than ``keep_alive`` seconds, or past their retirement."""
    return [
        view.env_id for view in idle
        if now - view.last_used >= keep_alive or (view.retire_at is not None and now >= view.retire_at)
    ]  # fmt: skip


def admit(in_use: int, limit: int) -> bool:
    """Whether one more concurrent invocation fits under the account's concurrency limit."""
    return in_use < limit


# TooManyRequestsException Reasons of a throttled invocation.
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"
RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"


@dataclass(frozen=True)
class FunctionLimits:
    """What bounds one function's on-demand invocations (those not run by provisioned environments)."""

    reserved: int | None  # its reserved concurrency; None: it shares the account's unreserved concurrency
    provisioned: int  # its provisioned concurrency, every version and alias together
    unreserved: int  # the account's unreserved concurrency (see ``unreserved_concurrency``)


def unreserved_concurrency(account_limit: int, reserved: Iterable[int], unreserved_provisioned: int) -> int:
    """What functions without a reservation share: the account's limit less every reservation and the
    provisioned concurrency of functions without one (a function with a reservation provisions out of it)."""
    return max(0, account_limit - sum(reserved) - unreserved_provisioned)


def on_demand_throttle(limits: FunctionLimits, function_in_use: int, unreserved_in_use: int) -> str | None:
    """Whether one more on-demand invocation of a function may start: ``None``, or why not (the Reason).

    ``function_in_use``: its on-demand invocations in flight; ``unreserved_in_use``: those of every
    function without a reservation. A reservation is a floor and a cap: the function runs at most that
    many at once, its provisioned environments included, so on demand at most ``reserved - provisioned``
    (0: throttled entirely). Without one, it shares the unreserved concurrency with the others.
    """
    if limits.reserved is not None:
        return None if function_in_use < limits.reserved - limits.provisioned else RESERVED_LIMIT
    return None if admit(unreserved_in_use, limits.unreserved) else ACCOUNT_LIMIT


def provisioning(wanted: int, starting: int, idle: Sequence[str], busy: int, *, failed: bool,
                 max_starting: int) -> tuple[int, list[str]]:  # fmt: skip
    """For a version with ``wanted`` provisioned environments: how many more to start now, and which
    idle ones (``idle``, their ids) to stop.

    Those starting and busy count as kept; a surplus is taken from the idle ones (a busy one is stopped
    when its invocation ends, see ``keeps_provisioned``). At most ``max_starting`` start at once; none
    after an initialisation failed (``failed``) until the configuration changes.
    """
    have = starting + len(idle) + busy
    if have >= wanted:
        return 0, list(idle[: min(len(idle), have - wanted)])
    if failed:
        return 0, []
    return max(0, min(wanted - have, max_starting - starting)), []


def keeps_provisioned(wanted: int, others: int) -> bool:
    """Whether a provisioned environment that is free again (initialised, or its invocation ended) is
    kept, when ``others`` of its version are kept, starting or busy besides it."""
    return others < wanted


def scale_up_wait(starts: Sequence[float], now: float, limit: int, window: float) -> float:
    """Seconds until one more environment of a function may start (0: now).

    ``starts`` are the start times of its environments, oldest first. At most ``limit`` may start
    within any ``window`` seconds (Lambda: 1,000 per 10 s per function).
    """
    recent = [t for t in starts if now - t < window]
    if len(recent) < limit:
        return 0.0
    return recent[len(recent) - limit] + window - now

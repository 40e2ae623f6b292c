"""Placement and scaling decisions: pure functions of a pool snapshot and ``now``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class IdleView:
    env_id: str
    generation: str
    last_used: float


def pick_idle(idle: Sequence[IdleView], generation: str) -> str | None:
    """The warmest idle environment of ``generation``: the most recently used one.

    Reusing the most recent keeps the others idle long enough to be reaped when load drops.
    """
    best: IdleView | None = None
    for view in idle:
        if view.generation == generation and (best is None or view.last_used > best.last_used):
            best = view
    return best.env_id if best else None


def stale(idle: Sequence[IdleView], generation: str) -> list[str]:
    """Idle environments of an older code or configuration: never to be used again."""
    return [view.env_id for view in idle if view.generation != generation]


def expired(idle: Sequence[IdleView], now: float, keep_alive: float) -> list[str]:
    """Idle environments unused for longer than ``keep_alive`` seconds."""
    return [view.env_id for view in idle if now - view.last_used >= keep_alive]


def admit(in_use: int, limit: int) -> bool:
    """Whether one more concurrent invocation fits under the account's concurrency limit."""
    return in_use < limit


def scale_up_wait(starts: Sequence[float], now: float, limit: int, window: float) -> float:
    """Seconds until one more environment of a function may start (0: now).

    ``starts`` are the start times of its environments, oldest first. At most ``limit`` may start
    within any ``window`` seconds (Lambda: 1,000 per 10 s per function).
    """
    recent = [t for t in starts if now - t < window]
    if len(recent) < limit:
        return 0.0
    return recent[len(recent) - limit] + window - now

"""Placement and scaling decisions: pure functions of a pool snapshot and ``now``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class IdleView:
    env_id: str
    last_used: float


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

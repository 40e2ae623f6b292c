"""How many asynchronous attempts may keep the event loop busy at once.

The loop that runs attempts also answers the API. While events are being accepted, at most
``while_accepting`` attempts are active, so a flood of quick events leaves room for the 202s (and
synchronous calls) and the backlog is worked off as soon as the flood stops, with up to ``most``.
An attempt stops counting once it is ``park_after_s`` old: a function that takes its time does not
use the loop meanwhile, and slow functions still get all the concurrency the queue's workers give.
"""

from __future__ import annotations

import asyncio
from typing import Callable

from lamina.tasks import Waiters


class ActiveAttempts:
    def __init__(
        self, *, while_accepting: int = 8, most: int = 32, quiet_s: float = 0.05, park_after_s: float = 0.05,
        clock: Callable[[], float] | None = None,
    ) -> None:  # fmt: skip
        self._while_accepting = while_accepting
        self._most = most
        self._quiet_s = quiet_s  # accepting until this long after the last event accepted
        self._park_after_s = park_after_s
        self._clock = clock
        self._last_accept = float("-inf")
        self._active = 0
        self._waiting = Waiters()

    def accepted(self) -> None:
        """An event was just accepted."""
        self._last_accept = self._now()

    def limit(self) -> int:
        return self._while_accepting if self._now() - self._last_accept < self._quiet_s else self._most

    async def acquire(self) -> Slot:
        """Wait for room for one more active attempt; the slot is given back with ``Slot.release``."""
        while self._active >= self.limit():
            await self._waiting.wait()
        self._active += 1
        return Slot(self, self._park_after_s)

    def _release(self) -> None:
        self._active -= 1
        self._waiting.wake(self.limit() - self._active)

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()


class Slot:
    """One active attempt's place: given back once, when the attempt ends or parks."""

    def __init__(self, owner: ActiveAttempts, park_after_s: float) -> None:
        self._owner: ActiveAttempts | None = owner
        self._parking = asyncio.get_running_loop().call_later(park_after_s, self.release)

    def release(self) -> None:
        self._parking.cancel()
        if self._owner is not None:
            self._owner._release()
            self._owner = None

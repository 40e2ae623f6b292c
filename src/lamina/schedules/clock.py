"""What time it is, and waiting for a time: the seam that lets tests move time by hand.

``SystemClock`` reads the wall clock and sleeps for real. ``FakeClock`` only moves when told
(``advance``/``set``); a ``sleep_until`` in progress wakes as soon as the fake time reaches its
deadline, so a test drives a firing loop through days of schedules in no real time.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Protocol

from lamina.tasks import wait_set


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware (UTC)."""
        ...

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        """Return once ``when`` has come or ``wake`` is set, whichever is first; it may return
        earlier (the caller looks at the time again)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        # Sleep at most a minute at a time: a wall clock stepped (NTP, suspend) is noticed soon.
        delay = min(60.0, (when - self.now()).total_seconds())
        if delay <= 0:
            return
        await wait_set(wake, delay)


class FakeClock:
    """A clock for tests: time stands still until ``advance`` or ``set``."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._moved = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    def advance(self, seconds: float) -> None:
        self.set(self._now + timedelta(seconds=seconds))

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        if self._now < when and not wake.is_set():  # returns after any move: the caller looks again
            moved = asyncio.ensure_future(self._moved.wait())
            woken = asyncio.ensure_future(wake.wait())
            try:
                await asyncio.wait([moved, woken], return_when=asyncio.FIRST_COMPLETED)
            finally:
                moved.cancel()
                woken.cancel()

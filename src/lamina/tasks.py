"""Owned background tasks: stopping one is a protocol, written once; and parking coroutines until
woken, a chosen number at a time."""

from __future__ import annotations

import asyncio
from collections import deque


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` and wait until it has finished; nothing to do for ``None``."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


async def wait_set(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until ``event`` is set, at most ``timeout`` seconds; whether it was set.

    Not ``asyncio.wait_for``: on Python 3.11 it swallows a cancellation that arrives as the event is
    set, and a loop built on it then never ends (a server's shutdown hangs on it)."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


class Waiters:
    """Coroutines parked until woken, each on a future of its own, so that waking can pick how many:
    one idle worker for one new event, rather than every one of them."""

    def __init__(self) -> None:
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def wait(self, timeout: float | None = None) -> None:
        """Park until woken, or until ``timeout`` seconds have passed."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiting.append(waiter)
        timer = None if timeout is None else loop.call_later(max(0.0, timeout), _resolve, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            if waiter in self._waiting:  # woken by its timer (or cancelled), not by ``wake``
                self._waiting.remove(waiter)

    def wake(self, count: int = 1) -> None:
        """Wake up to ``count`` of the parked, longest parked first."""
        while count > 0 and self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                count -= 1

    def wake_all(self) -> None:
        self.wake(len(self._waiting))


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)

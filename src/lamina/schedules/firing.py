"""Timed firings: one owned task that sleeps until the earliest due firing of every registered
timer, fires it, and sleeps again. No per-timer tasks, no polling.

``Timers`` is the seam for every source of timed work: EventBridge Scheduler's schedules
(``schedules/service.py``) and the event bus's scheduled rules (PutRule with a
``ScheduleExpression``) register the same way::

    timers.set("events/rule/default/nightly", parse("cron(0 3 * * ? *)"), on_fire)
    timers.cancel("events/rule/default/nightly")

Contract:
- ``set(key, recurrence, callback, after=..., window=...)`` arms (or re-arms, replacing) ``key``:
  its first firing is ``recurrence.next_after(after)`` (``after`` defaults to now). A first firing
  already in the past fires at once: that is how a caller catches up on a missed firing.
- ``callback(nominal)`` is awaited on the timers' task with the firing's nominal time (the
  schedule's time, before any flexible-window offset). It must be quick (hand the work to a durable
  queue, as ``Invoker.invoke`` with ``invocation_type="Event"`` does): the next timer waits for it.
  An exception is logged and the timer carries on. The callback may ``set`` or ``cancel`` its own
  key; that wins over re-arming.
- After a firing the timer re-arms at ``recurrence.next_after(max(nominal, now - window))``: a
  firing late for any reason (a long callback, a suspended host) never turns into a burst of the
  ones missed meanwhile; ``next_after`` returning None ends the timer.
- ``window`` (a flexible time window) delays each firing by ``flexible_offset(key, nominal,
  window)``: pseudo-random in [0, window), the same for the same key and time, so a restart does
  not move it.
- ``cancel`` is safe to call for a key that is not set.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Awaitable, Callable

from lamina.schedules.clock import Clock
from lamina.schedules.expressions import Recurrence
from lamina.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Callback = Callable[[datetime], Awaitable[None]]


def flexible_offset(key: str, nominal: datetime, window: timedelta) -> timedelta:
    """A deterministic pseudo-random delay in [0, window) for ``key``'s firing at ``nominal``."""
    seconds = int(window.total_seconds())
    if seconds <= 0:
        return timedelta(0)
    digest = hashlib.sha256(f"{key}|{nominal.isoformat()}".encode()).digest()
    return timedelta(seconds=int.from_bytes(digest[:8], "big") % seconds)


def resume_after(cursor: datetime, now: datetime, grace: timedelta) -> datetime:
    """Where a timer restarted at ``now`` looks for its next firing, ``cursor`` being the time up
    to which it had fired: firings missed by more than ``grace`` are skipped; of those within it,
    the first fires (once) at once."""
    return max(cursor, now - grace)


@dataclass
class _Timer:
    recurrence: Recurrence
    callback: Callback
    window: timedelta
    generation: int
    nominal: datetime


@dataclass(order=True)
class _Due:
    at: datetime
    generation: int
    key: str = field(compare=False)


class Timers:
    """Every timed firing of the server, on one task named ``name``. ``start`` then ``close``."""

    def __init__(self, clock: Clock, *, name: str = "lamina-timers") -> None:
        self.clock = clock
        self._name = name
        self._timers: dict[str, _Timer] = {}
        self._heap: list[_Due] = []
        self._generation = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.fired = 0  # firings so far (tests wait on it through ``idle``)
        self._idle = asyncio.Event()
        self._slept_at: datetime | None = None

    def set(
        self, key: str, recurrence: Recurrence, callback: Callback, *,
        after: datetime | None = None, window: timedelta = timedelta(0),
    ) -> datetime | None:  # fmt: skip
        """Arm ``key``; returns its first firing's nominal time (None: it never fires)."""
        nominal = recurrence.next_after(after if after is not None else self.clock.now())
        if nominal is None:
            self.cancel(key)
            return None
        self._generation += 1
        timer = _Timer(recurrence, callback, window, self._generation, nominal)
        self._timers[key] = timer
        self._push(key, timer)
        return nominal

    def cancel(self, key: str) -> None:
        self._timers.pop(key, None)  # its heap entry goes stale and is dropped when reached

    def next_firing(self, key: str) -> datetime | None:
        """The nominal time ``key`` fires next, if it is set."""
        timer = self._timers.get(key)
        return timer.nominal if timer is not None else None

    def due(self, key: str) -> datetime | None:
        """When ``key`` fires next, its flexible-window offset included."""
        timer = self._timers.get(key)
        return None if timer is None else timer.nominal + flexible_offset(key, timer.nominal, timer.window)

    def _push(self, key: str, timer: _Timer) -> None:
        due = timer.nominal + flexible_offset(key, timer.nominal, timer.window)
        heapq.heappush(self._heap, _Due(due, timer.generation, key))
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            head = self._next()
            now = self.clock.now()
            if head is not None and head.at <= now:
                heapq.heappop(self._heap)
                await self._fire(head.key)
                continue
            self._wake.clear()
            self._slept_at = now
            self._idle.set()
            await self.clock.sleep_until(head.at if head is not None else now + timedelta(days=1), self._wake)
            self._idle.clear()

    def _next(self) -> _Due | None:
        """The earliest live entry of the heap, stale ones (cancelled, re-armed) dropped."""
        while self._heap:
            head = self._heap[0]
            timer = self._timers.get(head.key)
            if timer is not None and timer.generation == head.generation:
                return head
            heapq.heappop(self._heap)
        return None

    async def _fire(self, key: str) -> None:
        timer = self._timers[key]
        try:
            await timer.callback(timer.nominal)
        except Exception:
            log.exception("timer %s failed at %s", key, timer.nominal.isoformat())
        self.fired += 1
        if self._timers.get(key) is not timer or timer.generation != self._timers[key].generation:
            return  # the callback re-armed or cancelled it
        base = max(timer.nominal, self.clock.now() - timer.window)
        nominal = timer.recurrence.next_after(base)
        if nominal is None:
            del self._timers[key]
            return
        self._generation += 1
        timer.nominal, timer.generation = nominal, self._generation
        self._push(key, timer)

    async def idle(self) -> None:
        """Wait until the task has nothing due and sleeps (for tests driving a fake clock)."""
        await asyncio.sleep(0)
        while not self._idle.is_set() or self._wake.is_set() or self._slept_at != self.clock.now():
            await asyncio.sleep(0)

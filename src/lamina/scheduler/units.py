"""Units of concurrency this server holds among the servers on one database (``HeldUnits``).

With PostgreSQL, several servers share a function's reserved concurrency and the account's
unreserved concurrency. Each holds units of them, leased from the database (``ConcurrencyLeases``):
an on-demand invocation is admitted within what the server holds, which costs no round trip; only
growth past it asks the database, for the units missing and a block ahead (``units_wanted``), in one
transaction that never lets a pool's live leases add up to more than its limit. Every third of a
lease's life (``LAMINA_CONCURRENCY_LEASE_SECONDS``) the server gives back what it held and did not
use since the last time (``units_kept``), and renews the rest; a server that stops gives back
everything, and one that dies holds its units until its leases end.

Environments lent to the native data plane keep their invocation's lease (they are counted busy in
``in_use``), so what they run stays within the units held. So that an idle one does not keep its
unit from another server for long, the pools take back those idle for a renewal period
(``renewal_s``), and an invocation refused for want of units takes back this server's idle ones.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from lamina.store.aggregates import ConcurrencyLeases
from lamina.tasks import cancel_and_wait

log = logging.getLogger(__name__)

UNRESERVED = ""  # the pool of the functions without a reservation (no function is named so)
MAX_BLOCK = 16  # units asked for ahead of need, at most


def units_wanted(in_use: int, held: int, limit: int) -> int:
    """How many more units to ask for when ``in_use`` invocations (the one being admitted included)
    are more than the ``held`` units: those missing and a block ahead (a tenth of the pool's limit,
    at most ``MAX_BLOCK``), so that a server growing asks the database once per block; 0 if none."""
    missing = in_use - held
    return missing + min(MAX_BLOCK, limit // 10) if missing > 0 else 0


def units_kept(held: int, peak: int) -> int:
    """What a server keeps of the ``held`` units of a pool when it ran at most ``peak`` of them at once
    since it last looked: the rest goes back for the other servers."""
    return min(held, peak)


class HeldUnits:
    def __init__(self, leases: ConcurrencyLeases, in_use: Callable[[str], int], lease_seconds: float,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        """``in_use(pool)``: the on-demand invocations of ``pool`` running here now (lent
        environments included); ``clock``: seconds since the epoch (the servers' clocks must agree
        to well within a lease)."""
        self._leases = leases
        self._in_use = in_use
        self._lease_ms = int(lease_seconds * 1000)
        self._clock = clock
        self._held: dict[str, int] = {}
        self._peak: dict[str, int] = {}  # the most run at once since the last renewal
        self._locks: dict[str, asyncio.Lock] = {}  # one change of a pool's lease at a time
        self._task: asyncio.Task[None] | None = None

    @property
    def renewal_s(self) -> float:
        """How often what is held is renewed, and what went unused given back."""
        return self._lease_ms / 3 / 1000

    def held(self, pool: str) -> int:
        return self._held.get(pool, 0)

    def covers(self, pool: str, in_use: int) -> bool:
        """Whether ``in_use`` invocations of ``pool`` (the one being admitted included) fit in what
        is held: the warm path's check, in memory."""
        if in_use > self._peak.get(pool, 0):
            self._peak[pool] = in_use
        return in_use <= self._held.get(pool, 0)

    async def grow(self, pool: str, limit: int) -> bool:
        """Take the units missing for what runs of ``pool`` now from the database (``limit``: the
        pool's); whether they all fit in what is held after."""
        lock = self._locks.setdefault(pool, asyncio.Lock())
        async with lock:  # those waiting may find the units taken for them by the one before
            want = units_wanted(self._in_use(pool), self.held(pool), limit)
            if want > 0:
                now = self._now_ms()
                self._held[pool] = await self._leases.take_units(pool, want, limit, now, now + self._lease_ms)
            return self._in_use(pool) <= self.held(pool)

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep(), name="lamina-concurrency-leases")

    async def close(self) -> None:
        """Stop renewing, and give back every unit (the invocations in flight have ended)."""
        await cancel_and_wait(self._task)
        self._task = None
        try:
            await self._leases.release_units()
        except Exception as exc:
            log.warning("could not give back the units of concurrency held (they end by themselves): %s", exc)
        self._held.clear()

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.renewal_s)
            try:
                await self.renew()
            except Exception as exc:  # the database is away: try again at the next period
                log.warning("could not renew the units of concurrency held: %s", exc)

    async def renew(self) -> None:
        """Give back what was not used since the last renewal, and renew the rest."""
        for pool, held in list(self._held.items()):
            in_use = self._in_use(pool)
            keep = units_kept(held, max(self._peak.get(pool, 0), in_use))
            self._peak[pool] = in_use
            if keep < held:
                async with self._locks.setdefault(pool, asyncio.Lock()):
                    keep = max(keep, self._in_use(pool))  # admitted while waiting for the lock
                    if keep < self.held(pool):
                        await self._leases.give_back_units(pool, keep)
                        self._held[pool] = keep
        now = self._now_ms()
        renewed = await self._leases.renew_units(now, now + self._lease_ms)
        for pool in list(self._held):
            lock = self._locks.get(pool)
            if pool not in renewed and (lock is None or not lock.locked()):
                # Its lease ended before it was renewed (this server stalled): its units may be another's.
                del self._held[pool]
                self._peak.pop(pool, None)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

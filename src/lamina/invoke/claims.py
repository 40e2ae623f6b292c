"""The asynchronous queue among replicas: which events this one works on (``EventClaims``).

With several replicas on one store (PostgreSQL), each works on the events it holds: those it
accepted, and those it took over from a replica that stopped (it gave them back) or died (its
claims ended). ``ClaimKeeper`` renews this replica's claims every third of a claim's life, takes
over the events whose claims ended at the same pace, and gives this replica's back when it stops.

A replica that stalls for longer than a claim lasts may find an event it holds in memory taken over
by another, which then attempts it too: delivery stays at least once, as across a crash, and
finishing an event twice writes nothing twice (``EventQueueStore.finish_event``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from lamina.store.aggregates import EventClaims
from lamina.store.base import QueuedEvent

log = logging.getLogger(__name__)

BATCH = 1000  # events taken over a claim at a time


class ClaimKeeper:
    def __init__(self, claims: EventClaims, clock: Callable[[], int], take_over: Callable[[QueuedEvent], None]) -> None:
        """``clock``: epoch milliseconds (the replicas' clocks must agree to well within a claim's
        life); ``take_over``: called with each event this replica takes over once it holds it."""
        self._claims = claims
        self._now = clock
        self._take_over = take_over
        self._task: asyncio.Task[None] | None = None

    async def claim_free(self) -> int:
        """Take over every event no replica holds now; returns how many."""
        taken = 0
        while True:
            now = self._now()
            batch = await self._claims.claim_events(self._claims.claimer, now, now + self._claims.claim_ms, BATCH)
            for event in batch:
                self._take_over(event)
            taken += len(batch)
            if len(batch) < BATCH:
                return taken

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep(), name="lamina-async-claims")

    async def _keep(self) -> None:
        period = self._claims.claim_ms / 3 / 1000
        while True:
            await asyncio.sleep(period)
            try:
                await self._claims.renew_claims(self._claims.claimer, self._now() + self._claims.claim_ms)
                taken = await self.claim_free()
                if taken:
                    log.info("took over %d asynchronous events another replica no longer holds", taken)
            except Exception as exc:  # the database is away: try again at the next period
                log.warning("could not renew the claims on queued events: %s", exc)

    async def close(self) -> None:
        """Stop renewing, and give back the events this replica holds (others take them over)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        try:
            released = await self._claims.release_claims(self._claims.claimer)
        except Exception as exc:
            log.warning("could not give back the claims on queued events (they end by themselves): %s", exc)
            return
        if released:
            log.info("gave back %d queued asynchronous events for other replicas", released)

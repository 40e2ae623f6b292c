"""Functions' code prepared by one of the servers sharing a database (``PreparationKeeper``).

With PostgreSQL, the server that prepares a function's code (``FunctionService``: Pending → Active,
InProgress → Successful) holds a claim on it, taken when it starts and removed once the result is
stored; a server starting prepares only what no other holds. ``PreparationKeeper`` renews this
server's claims every third of ``LAMINA_ASYNC_CLAIM_SECONDS`` and, at the same pace, claims and
prepares the functions it knows Pending or InProgress that no server holds any more: those whose
server died while preparing them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from lamina.control.functions import FunctionService
from lamina.store.aggregates import PreparationClaims
from lamina.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class PreparationKeeper:
    def __init__(self, claims: PreparationClaims, functions: FunctionService,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self._claims = claims
        self._functions = functions
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep(), name="lamina-preparation-claims")

    async def close(self) -> None:
        """Stop renewing (the functions' service has finished what it prepares)."""
        await cancel_and_wait(self._task)
        self._task = None
        try:
            await self._claims.release_preparations()
        except Exception as exc:
            log.warning("could not give back the claims on preparing code (they end by themselves): %s", exc)

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._claims.claim_ms / 3 / 1000)
            try:
                await self.take_over()
            except Exception as exc:  # the database is away: again at the next period
                log.warning("could not renew or take over the preparation of functions' code: %s", exc)

    async def take_over(self) -> int:
        """Renew this server's claims, then claim and prepare what no server prepares; returns how many."""
        now = int(self._clock() * 1000)
        until = now + self._claims.claim_ms
        await self._claims.renew_preparations(until)
        taken = 0
        for fn in self._functions.unsettled():
            if await self._claims.claim_preparation(fn.name, fn.version, now, until):
                log.info("preparing the code of %s:%s, which the server preparing it left", fn.name, fn.version)
                self._functions.prepare_claimed(fn)
                taken += 1
        return taken

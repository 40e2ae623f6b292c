"""Following the store's outbox: what Lamina could not deliver when it was written, taken later.

Records and dead letters for targets served by another part of Lamina (an event bus, a queue)
wait in the outbox under the target's ARN. Each such part runs an ``OutboxFollower``: an owned
task that looks at the outbox every ``poll_seconds`` (again at once while it finds full batches)
and gives each message it has not looked at yet to ``take``, which delivers the ones that are its
and removes them from the outbox in the transaction that delivers them. A message left there is
not looked at again unless the follower ``rewind``s (a target created since may take it).

With several servers on one store (``OutboxClaims``: PostgreSQL's), a follower looks only at the
messages its server claims (``claim_outbox``): no other server's followers take one while the claim
lasts, so two servers never deliver one message twice while both run. A message none of a server's
followers took is claimed by another once its claim ends. Two things differ there from SQLite's
one writer, where ids are given in the order of their commits: an id may commit after a higher one
(each write is a transaction of its own), and a message another server held (and skipped by the
claim) is ours to take once its claim ends. So a pass starts where the last one knew everything
before had been seen (``_after``, moved only over messages older than ``SETTLE_MS``), not where
it stopped (``_scan``), and the whole outbox is looked at again once every claim period.

Whoever commits messages a follower takes may ``wake`` it: it looks at the outbox at once instead
of at the end of its sleep (a wake while it is looking makes it look again). The poll stays the
fallback: messages written by another process, or left by a crash before the wake, are found by it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from lamina.store.base import OutboxMessage
from lamina.store.aggregates import OutboxClaims, OutboxStore
from lamina.tasks import cancel_and_wait

log = logging.getLogger(__name__)
BATCH = 100
# With claims: how long after it was written a message is taken to have committed (an id is given at
# its insert, and its transaction commits moments later), so that no lower id can appear after it.
SETTLE_MS = 10_000


class OutboxFollower:
    def __init__(self, store: OutboxStore, poll_seconds: float, name: str) -> None:
        self._store = store
        self._poll_seconds = poll_seconds
        self._name = name  # the task's
        self._after = 0  # outbox ids up to here were looked at (those left are not ours to take): a pass starts here
        self._scan = 0  # how far the current pass has looked
        self._rewound = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._woken = asyncio.Event()

    async def take(self, message: OutboxMessage) -> None:
        """Deliver ``message`` if it is this follower's (and remove it from the outbox); never raises."""
        raise NotImplementedError

    def wake(self) -> None:
        """Cut the current sleep short: messages for this follower were just committed."""
        self._woken.set()

    def rewind(self) -> None:
        """Look at the whole outbox again next time."""
        self._after = self._scan = 0
        self._rewound = time.monotonic()

    def looked_at(self, found: list[OutboxMessage]) -> None:
        """``found`` (a batch, by id) was looked at: the pass goes on after it, and the next one
        starts after those of them no lower id can still appear before."""
        if not found:
            return
        settled = self._settled_ms()
        for message in found:
            if self._after != self._scan or message.created_ms > settled:
                break
            self._after = message.id
            self._scan = message.id
        self._scan = found[-1].id

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            self._woken.clear()  # before looking: a wake from now on is for what this look may miss
            self._begin_pass()
            try:
                while await self.relay_once() == BATCH:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: taking messages from the outbox failed; trying again", self._name)
            try:
                await asyncio.wait_for(self._woken.wait(), self._poll_seconds)
            except TimeoutError:
                pass

    def _begin_pass(self) -> None:
        store = self._store
        if isinstance(store, OutboxClaims) and time.monotonic() - self._rewound >= store.claim_ms / 1000:
            self.rewind()  # what another server held until its claims ended
        self._scan = self._after

    def _settled_ms(self) -> int:
        """Messages written up to this time have committed, or never will."""
        now = int(time.time() * 1000)
        return now - SETTLE_MS if isinstance(self._store, OutboxClaims) else now

    async def next_batch(self) -> list[OutboxMessage]:
        """The next outbox messages this pass has not looked at (claimed for this server if others
        share the store)."""
        store = self._store
        if isinstance(store, OutboxClaims):
            now = int(time.time() * 1000)
            return await store.claim_outbox(store.claimer, now, now + store.claim_ms, BATCH, after=self._scan)
        return await self._store.list_outbox(None, self._scan, BATCH)

    async def relay_once(self) -> int:
        """Take the outbox messages this pass has not looked at; returns how many there were."""
        found = await self.next_batch()
        self.looked_at(found)
        for message in found:
            await self.take(message)
        return len(found)

"""Provisioned concurrency as allocated over time: the rows the ledger keeps for it.

The provisioner (control/concurrency.py) says what each configuration allocates whenever it
reconciles; ``AllocationMeter`` writes a row only when that changed (configured, resized, its alias
moved to another version, removed: 0 environments). Usage bills each configuration from one of its
rows to the next (metering/usage.py). A graceful stop ends every allocation (``end_metering``), a
killed run's are ended at its last ledger write when the next one starts (``begin_metering``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Mapping

from lamina.store.base import ProvisionedAllocation
from lamina.store.aggregates import LedgerStore
from lamina.store.base import open_allocations

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (function, qualifier)


def allocation_changes(
    before: Mapping[Key, ProvisionedAllocation], now: Mapping[Key, ProvisionedAllocation], at_ms: int
) -> list[ProvisionedAllocation]:
    """The rows that take ``before`` to ``now`` at ``at_ms`` (pure): a new or changed allocation,
    and a removed one as 0 environments."""
    changes = [a for key, a in now.items() if not _same(before.get(key), a)]
    for key, gone in before.items():
        if key not in now:
            changes.append(dataclasses.replace(gone, environments=0, at_ms=at_ms))
    return changes


def _same(old: ProvisionedAllocation | None, new: ProvisionedAllocation) -> bool:
    return old is not None and (old.version, old.memory_mb, old.architecture, old.environments) == (
        new.version, new.memory_mb, new.architecture, new.environments)  # fmt: skip


class AllocationMeter:
    """The allocations last written, and the writes of their changes."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        self._written: dict[Key, ProvisionedAllocation] = {}

    async def load(self) -> None:
        """What the ledger has open now (nothing after a graceful stop: ``end_metering`` ended it)."""
        found = await self._store.list_allocations(int(time.time() * 1000) + 1)
        self._written = {(a.function, a.qualifier): a for a in open_allocations(found)}

    async def observe(self, allocated: Mapping[Key, tuple[str, int, str, int]]) -> None:
        """``allocated``: (function, qualifier) -> (version, memory MB, architecture, environments)."""
        now_ms = int(time.time() * 1000)
        now = {key: ProvisionedAllocation(key[0], key[1], version, memory, arch, count, now_ms)
               for key, (version, memory, arch, count) in allocated.items()}  # fmt: skip
        changes = allocation_changes(self._written, now, now_ms)
        if not changes:
            return
        for change in changes:
            if change.environments == 0:
                self._written.pop((change.function, change.qualifier), None)
            else:
                self._written[(change.function, change.qualifier)] = change
        try:
            await self._store.record_allocations(changes)
        except Exception:
            log.exception("could not record %d provisioned-concurrency allocations", len(changes))

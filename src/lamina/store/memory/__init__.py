"""An in-memory ``Store`` with the same contract as ``SqliteStore``: for tests, nothing durable.

One implementation per aggregate, as SQLite's (``functions.py``, ``logs.py``, ``ledger.py``,
``queues.py``, ``documents.py``), over one ``MemoryState``.
"""

from __future__ import annotations

from lamina.store.memory.documents import MemoryObjectRecords, MemoryResources
from lamina.store.memory.functions import MemoryAliases, MemoryConfigs, MemoryFunctions, MemoryLayers, MemoryUrls
from lamina.store.memory.ledger import MemoryLedger
from lamina.store.memory.logs import MemoryLogs
from lamina.store.memory.queues import MemoryBus, MemoryEventQueue, MemoryMessages, MemoryOutbox

__all__ = ["MemoryStore"]


class MemoryStore(
    MemoryFunctions, MemoryLayers, MemoryAliases, MemoryConfigs, MemoryUrls, MemoryLogs, MemoryLedger,
    MemoryEventQueue, MemoryOutbox, MemoryBus, MemoryMessages, MemoryResources, MemoryObjectRecords,
):  # fmt: skip
    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

"""The embedded store: SQLite, one implementation per aggregate over one engine (``engine.py``).

Each aggregate's module (``functions.py``, ``logs.py``, ...) holds its methods, its statements
coming from ``store/sql/sqlite/<aggregate>.sql``; ``SqliteStore`` is all of them over one
connection and thread, the ``Store`` a cell holds.
"""

from __future__ import annotations

from lamina.store.sqlite.aliases import SqliteAliases
from lamina.store.sqlite.bus import SqliteBus
from lamina.store.sqlite.configs import SqliteConfigs
from lamina.store.sqlite.engine import SqliteEngine, migrate
from lamina.store.sqlite.functions import SqliteFunctions
from lamina.store.sqlite.layers import SqliteLayers
from lamina.store.sqlite.ledger import SqliteLedger
from lamina.store.sqlite.logs import SqliteLogs
from lamina.store.sqlite.messages import SqliteMessages
from lamina.store.sqlite.objects import SqliteObjectRecords
from lamina.store.sqlite.queue import SqliteEventQueue, SqliteOutbox
from lamina.store.sqlite.resources import SqliteResources
from lamina.store.sqlite.urls import SqliteUrls

__all__ = ["SqliteEngine", "SqliteStore", "migrate"]


class SqliteStore(
    SqliteFunctions, SqliteLayers, SqliteAliases, SqliteConfigs, SqliteUrls, SqliteLogs, SqliteLedger,
    SqliteEventQueue, SqliteOutbox, SqliteBus, SqliteMessages, SqliteResources, SqliteObjectRecords,
):  # fmt: skip
    """Every aggregate in one SQLite database."""

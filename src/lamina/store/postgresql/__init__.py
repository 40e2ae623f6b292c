"""PostgreSQL as the store (``LAMINA_DATABASE_URL``): one implementation per aggregate over one
engine (``engine.py``: a pool of connections, migrations under an advisory lock), as SQLite's;
statements from ``store/sql/postgresql/<aggregate>.sql``. ``PostgresStore`` is all of them, the
``Store`` a cell holds; replicas of Lamina on one database share it.
"""

from __future__ import annotations

from lamina.store.postgresql.aliases import PostgresAliases
from lamina.store.postgresql.bus import PostgresBus
from lamina.store.postgresql.configs import PostgresConfigs
from lamina.store.postgresql.documents import PostgresObjectRecords, PostgresResources
from lamina.store.choice import DatabaseUnavailable
from lamina.store.postgresql.engine import PostgresEngine
from lamina.store.postgresql.functions import PostgresFunctions
from lamina.store.postgresql.layers import PostgresLayers
from lamina.store.postgresql.leases import PostgresLeases
from lamina.store.postgresql.ledger import PostgresLedger
from lamina.store.postgresql.logs import PostgresLogs
from lamina.store.postgresql.messages import PostgresMessages
from lamina.store.postgresql.preparations import PostgresPreparations
from lamina.store.postgresql.queue import PostgresEventQueue, PostgresOutbox
from lamina.store.postgresql.urls import PostgresUrls

__all__ = ["DatabaseUnavailable", "PostgresEngine", "PostgresStore"]


class PostgresStore(
    PostgresFunctions, PostgresLayers, PostgresAliases, PostgresConfigs, PostgresUrls, PostgresLogs, PostgresLedger,
    PostgresEventQueue, PostgresOutbox, PostgresBus, PostgresMessages, PostgresResources, PostgresObjectRecords,
    PostgresLeases, PostgresPreparations,
):  # fmt: skip
    """Every aggregate in one PostgreSQL schema."""

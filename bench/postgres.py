"""A PostgreSQL server for the table_changes scenario: the tests' cluster (tests/postgres.py:
initdb in a temporary folder, a free loopback port, run as the ``postgres`` user when the run is
root's), with ``wal_level = logical`` and PostgreSQL's default durability (fsync on), as a user's
database has it. scripts/install/postgresql.sh installs Debian's package; LAMINA_POSTGRES_BIN
names another bin folder.
"""

from __future__ import annotations

import asyncio

from tests.postgres import Postgres, postgres_bin

MISSING = "PostgreSQL is not installed (scripts/install/postgresql.sh)"
SETTINGS = {"wal_level": "logical", "max_replication_slots": "16", "max_wal_senders": "16"}


def available() -> bool:
    binaries = postgres_bin()
    return binaries is not None and (binaries / "postgres").exists()


async def start() -> Postgres:
    """A new cluster, started and accepting connections; the caller ``remove``s it."""
    binaries = postgres_bin()
    assert binaries is not None  # available() said so
    server = await asyncio.to_thread(Postgres, binaries, SETTINGS)
    try:
        return await asyncio.to_thread(server.start)
    except BaseException:
        await asyncio.to_thread(server.remove)
        raise

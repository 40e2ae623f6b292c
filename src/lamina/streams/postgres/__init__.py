"""PostgreSQL table changes by logical replication: ``open_reader`` is the ``ChangeReader`` seam's
PostgreSQL side (lamina/streams/change.py).

- names.py: table names from Topics, the slot's and publication's name (pure)
- pgoutput.py: pgoutput's binary messages decoded (pure)
- values.py: columns' text as Python values (pure)
- assembly.py: messages made into ``Change`` values; positions.py: positions and how far the slot
  may advance (pure)
- connection.py: the psycopg connection, errors without passwords; catalog.py: the checks, the
  publication and the slot; reader.py: PostgresReader
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from lamina.streams.change import ChangesUnavailable
from lamina.streams.postgres import catalog
from lamina.streams.postgres.connection import Database
from lamina.streams.postgres.names import object_name, parse_table
from lamina.streams.postgres.positions import Progress
from lamina.streams.postgres.reader import PostgresReader

__all__ = ["PostgresReader", "open_reader"]


async def open_reader(endpoint: str, tables: Sequence[str], name: str) -> PostgresReader:
    """A reader of ``tables`` ("schema.table") in the database at ``endpoint`` (a PostgreSQL URL),
    through the publication and logical replication slot ``lamina_<name>``, made if missing.

    ChangesUnavailable when the database cannot be reached, wal_level is not logical, the role may
    not replicate, or a table is missing, has no key, or is not named plainly."""
    parsed = list({t.topic: t for t in map(parse_table, tables)}.values())
    if not parsed:
        raise ChangesUnavailable("No tables named: Topics lists the tables to read, as schema.table")
    db = Database(endpoint)
    slot = object_name(name)
    conn = await db.connect()
    try:
        try:
            await catalog.check_server(conn)
            infos, warnings = await catalog.describe_tables(conn, parsed)
        except psycopg.Error as exc:
            raise db.unavailable("Cannot inspect the database", exc) from None
        await catalog.ensure_publication(conn, db, slot, parsed)
        lsn = await catalog.ensure_slot(conn, db, slot)
    except BaseException:
        await conn.close()
        raise
    return PostgresReader(db, slot, infos, warnings, Progress(lsn), conn)

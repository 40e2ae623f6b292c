"""What the reader checks and keeps in the database: the server's settings, the tables, the
publication and the logical replication slot (both named ``lamina_<mapping>``, names.py).

Everything here is idempotent: a reader opened again after a restart finds what it made, and a
mapping whose Topics changed has its publication's tables set to the new ones. The publication is
made before the slot, since a slot's changes can be decoded only for publications that existed
when they were written.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

from lamina.streams.change import ChangesUnavailable
from lamina.streams.postgres.assembly import TableInfo
from lamina.streams.postgres.connection import Connection, Database
from lamina.streams.postgres.names import TableName

PLUGIN = "pgoutput"
SLOT_WAIT_SECONDS = 60

WAL_LEVEL_MESSAGE = (
    "PostgreSQL's wal_level is {level!r}, and table change streams need logical replication: set "
    "wal_level = logical (in postgresql.conf, or ALTER SYSTEM SET wal_level = logical) and restart "
    "PostgreSQL. The role Lamina connects as needs the REPLICATION attribute (or superuser)."
)


async def check_server(conn: Connection) -> None:
    """wal_level = logical, and a role that may use replication slots."""
    row = await (await conn.execute("SHOW wal_level")).fetchone()
    level = str(row[0]) if row else "unknown"
    if level != "logical":
        raise ChangesUnavailable(WAL_LEVEL_MESSAGE.format(level=level))
    row = await (await conn.execute(
        "SELECT current_user, rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user"
    )).fetchone()  # fmt: skip
    if row is not None and not row[1]:
        raise ChangesUnavailable(
            f"PostgreSQL role {row[0]!r} may not use replication slots: it needs the REPLICATION "
            f"attribute (ALTER ROLE {sql.Identifier(str(row[0])).as_string(conn)} REPLICATION) or superuser"
        )


_TABLE = """
SELECT c.oid, c.relreplident, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')
"""

# The columns of the table's primary key, else of its replica identity index, in index order.
_KEY_COLUMNS = """
SELECT a.attname, i.indisprimary
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s AND (i.indisprimary OR i.indisreplident)
ORDER BY i.indisprimary DESC, k.ord
"""

_ALL_COLUMNS = """
SELECT attname FROM pg_attribute
WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum
"""


async def describe_tables(conn: Connection, tables: Sequence[TableName]) -> tuple[dict[tuple[str, str], TableInfo], tuple[str, ...]]:  # fmt: skip
    """Each table's key columns, and warnings for tables whose changes will carry no old image.
    ChangesUnavailable names a table that does not exist or has no key to identify its rows."""
    infos: dict[tuple[str, str], TableInfo] = {}
    warnings: list[str] = []
    for table in tables:
        row = await (await conn.execute(_TABLE, (table.schema, table.name))).fetchone()
        if row is None:
            raise ChangesUnavailable(f"Table {table.qualified} does not exist in this database")
        oid, identity = row[0], str(row[1])
        quoted = sql.Identifier(table.schema, table.name).as_string(conn)
        if identity == "n":
            raise ChangesUnavailable(
                f"Table {table.qualified} has REPLICA IDENTITY NOTHING, so its updates and deletes "
                f"cannot be read: ALTER TABLE {quoted} REPLICA IDENTITY DEFAULT (with a primary key) or FULL"
            )
        rows = await (await conn.execute(_KEY_COLUMNS, (oid,))).fetchall()
        primary = [str(r[0]) for r in rows if r[1]]
        index = [str(r[0]) for r in rows if not r[1]]
        if identity == "d" and not primary:
            raise ChangesUnavailable(
                f"Table {table.qualified} has no primary key, so its rows' changes cannot be told apart: "
                f"add a primary key, or ALTER TABLE {quoted} REPLICA IDENTITY FULL"
            )
        if identity == "i":
            keys = index or primary
        elif primary:
            keys = primary
        else:  # REPLICA IDENTITY FULL without a primary key: the whole row is what identifies it
            keys = [str(r[0]) for r in await (await conn.execute(_ALL_COLUMNS, (oid,))).fetchall()]
        infos[(table.schema, table.name)] = TableInfo(table.topic, tuple(keys))
        if identity != "f":
            warnings.append(
                f"Table {table.qualified} does not have REPLICA IDENTITY FULL, so its changes carry no old "
                f"images (ALTER TABLE {quoted} REPLICA IDENTITY FULL to get them)"
            )
    return infos, tuple(warnings)


def _table_list(tables: Sequence[TableName]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(t.schema, t.name) for t in tables)


async def ensure_publication(conn: Connection, db: Database, name: str, tables: Sequence[TableName]) -> None:
    """The publication ``name`` of exactly ``tables`` (made, or its tables set)."""
    try:
        cur = await conn.execute("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s", (name,))
        present = {(str(r[0]), str(r[1])) for r in await cur.fetchall()}
        exists = present or await (await conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (name,))).fetchone()
        wanted = {(t.schema, t.name) for t in tables}
        if not exists:
            # Partitions' changes under the partitioned table's name, as the mapping names it.
            await conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {} WITH (publish_via_partition_root = true)")
                               .format(sql.Identifier(name), _table_list(tables)))  # fmt: skip
        elif present != wanted:
            await conn.execute(sql.SQL("ALTER PUBLICATION {} SET TABLE {}").format(sql.Identifier(name), _table_list(tables)))
    except psycopg.errors.DuplicateObject:
        return await ensure_publication(conn, db, name, tables)  # made meanwhile by another reader
    except psycopg.Error as exc:
        raise db.unavailable(f"Cannot create the publication {name}", exc) from None


async def ensure_slot(conn: Connection, db: Database, name: str) -> int:
    """The logical replication slot ``name`` (pgoutput, this database), made if missing; its
    confirmed position (an LSN as an int)."""
    query = """
        SELECT plugin, slot_type, database, database = current_database(),
               (confirmed_flush_lsn - '0/0'::pg_lsn)::text
        FROM pg_replication_slots WHERE slot_name = %s
    """
    try:
        row = await (await conn.execute(query, (name,))).fetchone()
        if row is None:
            await _create_slot(conn, name)
            row = await (await conn.execute(query, (name,))).fetchone()
    except psycopg.errors.QueryCanceled:
        raise ChangesUnavailable(
            f"Cannot create the replication slot {name}: PostgreSQL waits for the transactions open "
            f"when it is made to end, and some were still open after {SLOT_WAIT_SECONDS} seconds "
            "(see pg_stat_activity for sessions idle in transaction)"
        ) from None
    except psycopg.Error as exc:
        raise db.unavailable(f"Cannot create the replication slot {name}", exc) from None
    if row is None:
        raise ChangesUnavailable(f"The replication slot {name} vanished as it was made")
    plugin, kind, database, same_database, lsn = row
    if kind != "logical" or plugin != PLUGIN or not same_database:
        raise ChangesUnavailable(
            f"A replication slot named {name} exists that is not Lamina's for this database "
            f"(type {kind}, plugin {plugin}, database {database}): drop it or rename the mapping"
        )
    return int(lsn or 0)


async def _create_slot(conn: Connection, name: str) -> None:
    # Making a slot waits for every transaction open at that moment to end: bounded, so a session
    # left idle in a transaction is reported rather than hanging the mapping.
    await conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(f"{SLOT_WAIT_SECONDS}s")))
    try:
        await conn.execute("SELECT pg_create_logical_replication_slot(%s, %s)", (name, PLUGIN))
    except psycopg.errors.DuplicateObject:
        pass  # made meanwhile by another reader
    finally:
        await conn.execute("RESET statement_timeout")


async def drop(conn: Connection, db: Database, name: str) -> None:
    """The slot and the publication gone (either may be missing already)."""
    try:
        row = await (await conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s AND "
                                        "database = current_database()", (name,))).fetchone()  # fmt: skip
        if row is not None:
            await conn.execute("SELECT pg_drop_replication_slot(%s)", (name,))
        await conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise db.unavailable(f"Cannot drop the replication slot and publication {name}", exc) from None


def format_lsn(lsn: int) -> str:
    """An LSN as PostgreSQL writes it (``16/B374D848``)."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"

"""The PostgreSQL dialect's engine: a pool of connections to one database, shared by replicas.

Every Lamina replica on the database opens its own pool (psycopg_pool). A write is one transaction
on a connection of the pool (``_transaction``), a read a statement on one (``_connection``): where
SQLite groups writes into one commit on its one thread, PostgreSQL takes them side by side, and
what SQLite's single writer never needed (two writers at once) is settled by the database: rows
read to be changed are locked (``FOR UPDATE``), numbers are taken by one statement, and work is
claimed with ``FOR UPDATE SKIP LOCKED``.

A cell's tables live in a schema of their own (``schema``), made by the migrations; schema changes
are numbered SQL files in ``store/sql/postgresql/migrations/``, tracked in ``schema_migrations`` and
applied under an advisory lock, so that replicas starting together apply each once.

Errors: a connection that cannot be made at ``open`` raises ``DatabaseUnavailable`` saying what to
fix; later, a statement on a connection the database dropped (it restarted) raises psycopg's
``OperationalError``, which the API answers with a ServiceException; the pool replaces that
connection and checks its idle ones at once (not every connection it lends: a round trip each,
which halved the queue's throughput), so the requests after it find the database again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import uuid
from importlib import resources
from typing import AsyncIterator, Awaitable, Callable, Iterator

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from lamina.store.choice import DatabaseUnavailable, database_url
from lamina.store.postgresql import changes
from lamina.store.errors import FUNCTION, NotFound

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# A constant of Lamina's own (``lamina`` in ASCII): the advisory lock migrations are applied under.
_MIGRATION_LOCK = 0x6C616D696E61
CONNECT_TIMEOUT_SECONDS = 10
# How long a request waits for a connection of the pool before it fails (the database is down, or
# every connection is busy): it is answered with an error rather than left hanging.
POOL_TIMEOUT_SECONDS = 10.0


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("lamina.store") / "sql" / "postgresql" / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(found)


def check_url(url: str) -> dict[str, str]:
    """The parts of a ``postgresql://`` URL; raises ``DatabaseUnavailable`` if it is not one."""
    database_url(url)
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise DatabaseUnavailable(f"LAMINA_DATABASE_URL is not a PostgreSQL URL: {_said(exc)}") from None
    return {key: str(value) for key, value in parts.items()}


def where(url: str) -> str:
    """The URL without its password, to name the database in messages."""
    parts = check_url(url)
    return f"{parts.get('user', '')}@{parts.get('host', '')}:{parts.get('port', '5432')}/{parts.get('dbname', '')}"


async def migrate(conn: AsyncConnection, schema: str) -> int:
    """Apply every migration newer than ``schema``'s tables, under the advisory lock; returns the
    resulting schema version."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'.encode())
        await conn.execute(f'SET LOCAL search_path TO "{schema}"'.encode())
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY)")
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
        row = await cur.fetchone()
        current = int(row[0]) if row else 0
        for number, sql in _migrations():
            if number > current:
                await conn.execute(sql.encode())
                await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (number,))
                current = number
    return current


class PostgresEngine:
    def __init__(self, url: str, schema: str = "lamina", *, max_connections: int = 10,
                 claim_seconds: float = 30.0) -> None:  # fmt: skip
        """``claim_seconds``: how long a claim on queued events lasts unless renewed (``EventClaims``)."""
        if not _SCHEMA.match(schema):
            raise ValueError(f"not a schema name: {schema!r}")
        check_url(url)
        self.url, self.schema = url, schema
        # Who this process is among the replicas, in claims: unique, and telling whose they are.
        run = uuid.uuid4().hex[:12]
        self.claimer = f"{socket.gethostname()[:64]}/{os.getpid()}/{run}"
        # The application_name of its pool's connections: while one is open, this process runs
        # (the usage ledger's running mark, ledger.py).
        self.application = f"lamina {run}"
        self.claim_ms = int(claim_seconds * 1000)
        self._max_connections = max_connections
        self._pool: AsyncConnectionPool | None = None
        self._checking: asyncio.Task[None] | None = None

    def notice(self, function: str) -> str:
        """What a write of ``function`` notifies other servers with (``changes.py``)."""
        return changes.notice(self.schema, self.claimer, function)

    def follow_changes(self, reread: Callable[[str], Awaitable[None]],
                       reread_all: Callable[[], Awaitable[None]]) -> changes.ChangeFollower:  # fmt: skip
        """Start having other servers' changes of functions read again (``changes.py``); close the
        follower returned before the store."""
        follower = changes.ChangeFollower(self.url, self.schema, self.claimer, reread, reread_all)
        follower.start()
        return follower

    def resources_notice(self, kind: str, key: str | None = None) -> str:
        """What a write of resources of ``kind`` (only of ``key``) notifies other servers with (``changes.py``)."""
        return changes.resources_notice(self.schema, self.claimer, kind, key)

    def follow_resources(self, reread: Callable[[str], Awaitable[None]],
                         reread_all: Callable[[], Awaitable[None]]) -> changes.ChangeFollower:  # fmt: skip
        """Start having other servers' changes of resources read again, by kind (``changes.py``:
        ``reread("<kind>")``, or ``reread("<kind> <key>")`` for one key); close the follower
        returned before the store."""
        follower = changes.ChangeFollower(self.url, self.schema, self.claimer, reread, reread_all, resources=True)
        follower.start()
        return follower

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection of the pool, for reads (each statement committed on its own)."""
        pool = self._pool
        assert pool is not None, "store is not open"
        try:
            async with pool.connection(timeout=POOL_TIMEOUT_SECONDS) as conn:
                yield conn
        except psycopg.OperationalError:
            # The database dropped this connection (it restarted?): the pool discards it, and has
            # its idle ones checked now rather than each failing a request of its own.
            if self._checking is None or self._checking.done():
                self._checking = asyncio.create_task(pool.check(), name="lamina-store-check")
            raise

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction, committed when the block ends (undone if it raises)."""
        async with self._connection() as conn:
            async with conn.transaction():
                yield conn

    async def open(self) -> None:
        try:  # one connection first: what is wrong with the URL, the server or the password, said
            conn = await AsyncConnection.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(_unreachable(self.url, exc)) from None
        async with conn:
            await migrate(conn, self.schema)
        pool = AsyncConnectionPool(
            self.url, min_size=1, max_size=self._max_connections, open=False, timeout=POOL_TIMEOUT_SECONDS,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                    "options": f"-c search_path={self.schema}", "application_name": self.application},
        )  # fmt: skip
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if self._checking is not None:
            await asyncio.gather(self._checking, return_exceptions=True)
        if pool is not None:
            await pool.close()


@contextlib.contextmanager
def owned(function: str) -> Iterator[None]:
    """A write of something a function owns: the foreign key refuses it once the function is gone."""
    try:
        yield
    except psycopg.errors.ForeignKeyViolation as exc:
        raise NotFound(FUNCTION, function) from exc


def _unreachable(url: str, exc: psycopg.OperationalError) -> str:
    said = _said(exc)
    if exc.sqlstate == "28P01" or "password authentication failed" in said:
        fix = "check the user and password in LAMINA_DATABASE_URL"
    elif exc.sqlstate == "3D000" or "does not exist" in said:
        fix = "create the database (createdb), or name one that exists in LAMINA_DATABASE_URL"
    else:
        fix = "check that PostgreSQL is running and that LAMINA_DATABASE_URL names its host and port"
    return f"cannot use the PostgreSQL database {where(url)}: {said}; {fix}"


def _said(exc: Exception) -> str:
    """What psycopg said, on one line."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__

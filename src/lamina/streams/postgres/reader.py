"""PostgresReader: a ``ChangeReader`` over a logical replication slot (pgoutput).

Reading peeks at the slot (``pg_logical_slot_peek_binary_changes``): nothing is consumed, and the
same changes come again until confirmed. Confirming advances the slot
(``pg_replication_slot_advance``) to the end of the last transaction whose every change is
confirmed; confirmed changes of a transaction only partly confirmed are skipped for the rest of
the run (``positions.Progress``) and come again after a restart: delivery is at least once.

A peek decodes the slot's WAL from its position on, so changes read but not yet confirmed are
kept (up to ``buffer_limit`` of them) and handed out again without asking the server; the server
is asked when they are all confirmed. A peek that finds nothing new advances the slot past
whatever it decoded (other tables' changes, skipped truncates), so PostgreSQL need not keep that
WAL, nor decode it again.

PostgreSQL gives no notification of new WAL to a plain session: ``read`` polls, every 50 ms at
first and backing off to once a second while nothing comes, for at most ``wait_seconds``.

Calls from several tasks take turns (one connection, one conversation at a time). Failure: any
database error raises ``ChangesUnavailable`` and drops the connection; the next
call connects again. ``confirm``'s advance that fails is retried by the next call that reaches
the database; what it confirmed is not read again in this run either way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping
from itertools import islice

import psycopg

from lamina.streams.change import Change, ChangesUnavailable, ReaderLag
from lamina.streams.postgres import catalog
from lamina.streams.postgres.assembly import Assembler, TableInfo
from lamina.streams.postgres.connection import Connection, Database
from lamina.streams.postgres.positions import Progress

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 0.05
LONGEST_PAUSE_SECONDS = 1.0
BUFFER_LIMIT = 20_000  # changes kept from one peek: a transaction larger than this is peeked again
PREFETCH = 1_000  # changes a peek asks for, at least: later reads are served without the server
_ROWS_PER_CHANGE = 3  # a change of a one-row transaction is three messages: Begin, change, Commit
_FETCH = 2_000

_PEEK = """
SELECT data FROM pg_logical_slot_peek_binary_changes(
    %s, NULL, %s, 'proto_version', '1', 'publication_names', %s)
"""


class PostgresReader:
    def __init__(self, db: Database, slot: str, tables: Mapping[tuple[str, str], TableInfo],
                 warnings: tuple[str, ...], progress: Progress, conn: Connection | None,
                 buffer_limit: int = BUFFER_LIMIT) -> None:  # fmt: skip
        self._db = db
        self._slot = slot
        self._tables = tables
        self._warnings = warnings
        self._progress = progress
        self._conn = conn
        self._buffer_limit = buffer_limit
        self._buffer: deque[Change] = deque()  # read, not confirmed, in order
        self._pending_advance: int | None = None
        self._warned_truncates: set[tuple[int, str]] = set()
        # One database conversation at a time: a confirm must not land inside a peek's transaction
        # nor change what the peek skips while it runs.
        self._lock = asyncio.Lock()

    @property
    def slot(self) -> str:
        """The replication slot's name (and the publication's)."""
        return self._slot

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._warnings

    def lag(self) -> ReaderLag:
        # Counting what the slot holds would mean decoding it: only what was read is known.
        if not self._buffer:
            return ReaderLag(backlog=None, oldest_age_seconds=None)
        age = max(0.0, time.time() - self._buffer[0].committed_ms / 1000)
        return ReaderLag(backlog=None, oldest_age_seconds=age)

    async def read(self, limit: int, wait_seconds: float) -> list[Change]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait_seconds)
        pause = FIRST_PAUSE_SECONDS
        while True:
            async with self._lock:
                changes = await self._next(max(1, limit))
            remaining = deadline - loop.time()
            if changes or remaining <= 0:
                return changes
            await asyncio.sleep(min(pause, remaining))
            pause = min(pause * 2, LONGEST_PAUSE_SECONDS)

    async def confirm(self, position: int) -> None:
        async with self._lock:
            await self._confirm(position)

    async def _confirm(self, position: int) -> None:
        target = self._progress.confirm(position)
        confirmed = self._progress.confirmed
        while self._buffer and self._buffer[0].position <= confirmed:
            self._buffer.popleft()
        if target is not None:
            self._pending_advance = max(target, self._pending_advance or 0)
        await self._advance()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def drop(self) -> None:
        async with self._lock:
            try:
                conn = await self._connection()
                await catalog.drop(conn, self._db, self._slot)
            finally:
                await self.close()

    async def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = await self._db.connect()
        return self._conn

    async def _lost(self, doing: str, error: BaseException) -> ChangesUnavailable:
        await self.close()
        return self._db.unavailable(doing, error)

    async def _advance(self) -> None:
        target = self._pending_advance
        if target is None:
            return
        if target <= self._progress.slot_lsn:
            self._pending_advance = None
            return
        conn = await self._connection()
        try:
            await conn.execute("SELECT pg_replication_slot_advance(%s, %s::pg_lsn)",
                               (self._slot, catalog.format_lsn(target)))  # fmt: skip
        except psycopg.Error as exc:
            raise await self._lost(f"Cannot advance the replication slot {self._slot}", exc) from None
        self._progress.advanced(target)
        self._pending_advance = None

    async def _next(self, limit: int) -> list[Change]:
        if not self._buffer:
            await self._advance()
            await self._peek(limit)
        return list(islice(self._buffer, limit))

    async def _peek(self, limit: int) -> None:
        conn = await self._connection()
        wanted = max(limit, PREFETCH)
        rows_asked = self._progress.confirmed_in_partial() + _ROWS_PER_CHANGE * wanted + 16
        assembler = Assembler(self._tables, skip_through=self._progress.confirmed)
        changes: list[Change] = []
        rows = 0
        cut = False
        try:
            async with conn.transaction():
                cur = await conn.execute("SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::text")
                flushed_row = await cur.fetchone()
                flushed = int(flushed_row[0]) if flushed_row else 0
                async with conn.cursor(name="lamina_peek") as peek:
                    await peek.execute(_PEEK, (self._slot, rows_asked, self._slot))
                    while not cut and (batch := await peek.fetchmany(_FETCH)):
                        rows += len(batch)
                        for (data,) in batch:
                            change = assembler.feed_bytes(data)
                            if change is not None:
                                changes.append(change)
                        # The rest is peeked again once these are confirmed (a transaction larger
                        # than the buffer is then read again from its start, its confirmed changes
                        # skipped).
                        cut = len(changes) >= self._buffer_limit
        except (ValueError, ArithmeticError) as exc:  # a message or a value not as PostgreSQL documents it
            raise await self._lost(f"Cannot decode the replication slot {self._slot}'s changes", exc) from None
        except psycopg.Error as exc:
            raise await self._lost(f"Cannot read the replication slot {self._slot}", exc) from None
        self._progress.seen(assembler.transactions)
        self._warn_truncates(assembler)
        self._buffer = deque(changes)
        if not changes and not cut and rows < rows_asked:
            target = self._progress.nothing_new(flushed)
            if target is not None:
                self._pending_advance = max(target, self._pending_advance or 0)
                await self._advance()

    def _warn_truncates(self, assembler: Assembler) -> None:
        slot_lsn = self._progress.slot_lsn
        self._warned_truncates = {w for w in self._warned_truncates if w[0] >= slot_lsn}
        for commit_lsn, table in assembler.truncated:
            if (commit_lsn, table) not in self._warned_truncates:
                self._warned_truncates.add((commit_lsn, table))
                log.warning("TRUNCATE of %s skipped: DynamoDB streams have no record for it", table)

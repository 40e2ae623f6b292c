"""The SQLite dialect's engine: one database in WAL mode, used from one dedicated thread.

SQLite connections are not shared between threads, and a write must not block the event loop,
so every call is shipped to a single worker thread that owns the connection. Schema changes are
numbered SQL files in ``store/sql/sqlite/migrations/``, applied in order and tracked with
``PRAGMA user_version``.

Writes are group-committed: the writes that arrive while the thread is busy share the next
transaction, and each is all or nothing (one that fails is undone alone). A caller is answered only
after its transaction commits, so "stored" means committed, at one commit per batch rather than one
per write (what lets the asynchronous queue accept thousands of events per second).

Each aggregate's implementation (``functions.py``, ``logs.py``, ...) is a ``SqliteEngine`` that
adds its methods: functions of a connection (its statements from ``store/sql/sqlite/<aggregate>.sql``)
run through ``_run``, ``_write``, ``_read_apart`` or ``_read_together``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from lamina.store import log_chunks
from lamina.store.errors import FUNCTION, NotFound

T = TypeVar("T")
# A write waiting for the next group commit, and its outcome: (future, value, error).
_Write = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]"]
_Settled = tuple["asyncio.Future[Any]", Any, "BaseException | None"]


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("lamina.store") / "sql" / "sqlite" / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(found)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the database; returns the resulting schema version."""
    # What migration 0016 calls (typeshed knows only aggregates of one argument).
    conn.create_aggregate("lamina_log_chunk", 3, log_chunks.Gather)  # type: ignore[arg-type]
    (current,) = conn.execute("PRAGMA user_version").fetchone()
    for number, sql in _migrations():
        if number > current:
            with conn:
                conn.executescript(f"BEGIN; {sql}; PRAGMA user_version = {number}; COMMIT;")
            current = number
    return int(current)


class SqliteEngine:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lamina-sqlite")
        self._conn: sqlite3.Connection | None = None
        # Long reads (the ledger, metric counts, logs: what the console, CloudWatch, the logs API
        # and `lamina usage` read, up to a whole range) go to a reader of their own: the store's
        # thread keeps committing the recorder's batches and the queue's writes meanwhile (WAL).
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lamina-sqlite-read")
        self._read_conn: sqlite3.Connection | None = None
        self._pending: list[_Write] = []
        self._pending_reads: list[_Write] = []
        self._pending_lock = threading.Lock()

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A read: ``fn`` on the store's thread."""

        def call() -> T:
            assert self._conn is not None, "store is not open"
            return fn(self._conn)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def _read_apart(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A long read: ``fn`` on the reader's thread, over its own connection (what committed before it
        began, as a read of its own on the store's thread would see)."""

        def call() -> T:
            assert self._read_conn is not None, "store is not open"
            return fn(self._read_conn)

        return await asyncio.get_running_loop().run_in_executor(self._reader, call)

    async def _read_together(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A read that shares one trip to the store's thread with the reads waiting beside it (the
        asynchronous queue reads an event's payload per attempt, many attempts at once)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._pending_lock:
            self._pending_reads.append((fn, future))
            first = len(self._pending_reads) == 1
        if first:
            loop.run_in_executor(self._executor, self._read_pending, loop)
        return await future

    def _read_pending(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._pending_lock:
            batch, self._pending_reads = self._pending_reads, []
        settled: list[_Settled] = []
        for fn, future in batch:
            try:
                assert self._conn is not None, "store is not open"
                settled.append((future, fn(self._conn), None))
            except Exception as exc:
                settled.append((future, None, exc))
        loop.call_soon_threadsafe(_settle, settled)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A write: ``fn`` in the next group commit; returns (or raises) once that has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._pending_lock:
            self._pending.append((fn, future))
            first = len(self._pending) == 1
        if first:  # later writes join this batch until the store's thread takes it
            loop.run_in_executor(self._executor, self._commit_pending, loop)
        return await future

    def _commit_pending(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the store's thread: every waiting write in one transaction, then tell their callers.
        Should one of them fail, the batch is undone and each write runs in a transaction of its own,
        so that only the failing one fails (a write is a function of the database: it can run again)."""
        with self._pending_lock:
            batch, self._pending = self._pending, []
        settled = self._commit_together(batch) if len(batch) > 1 else None
        if settled is None:
            settled = [self._commit_alone(fn, future) for fn, future in batch]
        loop.call_soon_threadsafe(_settle, settled)

    def _commit_together(self, batch: list[_Write]) -> list[_Settled] | None:
        """``batch`` in one transaction; None, with nothing written, if any of it failed."""
        conn = self._conn
        assert conn is not None, "store is not open"
        try:
            conn.execute("BEGIN IMMEDIATE")
            values = [fn(conn) for fn, _ in batch]
            conn.execute("COMMIT")
        except Exception:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return None
        return [(future, value, None) for (_, future), value in zip(batch, values)]

    def _commit_alone(self, fn: Callable[[sqlite3.Connection], Any], future: asyncio.Future[Any]) -> _Settled:
        conn = self._conn
        try:
            assert conn is not None, "store is not open"
            conn.execute("BEGIN IMMEDIATE")
            value = fn(conn)
            conn.execute("COMMIT")
        except Exception as exc:
            if conn is not None and conn.in_transaction:
                conn.execute("ROLLBACK")
            return future, None, exc
        return future, value, None

    async def open(self) -> None:
        def connect() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _make_private(self.path)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            migrate(conn)
            self._conn = conn

        def connect_reader() -> None:
            uri = f"file:{urllib.parse.quote(str(self.path))}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            self._read_conn = conn

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, connect)
        await loop.run_in_executor(self._reader, connect_reader)

    async def close(self) -> None:
        if self._conn is None:
            return

        def disconnect() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        def disconnect_reader() -> None:
            if self._read_conn is not None:
                self._read_conn.close()
                self._read_conn = None

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._reader, disconnect_reader)
        self._reader.shutdown(wait=True)
        await loop.run_in_executor(self._executor, disconnect)
        self._executor.shutdown(wait=True)

def _settle(settled: list[_Settled]) -> None:
    for future, value, error in settled:
        if future.cancelled():  # its caller went away; the write stands (or not) all the same
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


@contextlib.contextmanager
def owned(function: str) -> Iterator[None]:
    """A write of something a function owns: the foreign key refuses it once the function is gone."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if "FOREIGN KEY" not in str(exc):
            raise
        raise NotFound(FUNCTION, function) from exc


def _make_private(path: Path) -> None:
    """Make the database readable by its owner only. SQLite creates its -wal and -shm files with
    the database's mode, so a database created 0600 keeps them 0600; an older one is tightened."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path.with_name(name), 0o600)

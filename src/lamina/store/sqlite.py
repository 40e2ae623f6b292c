"""The embedded store: one SQLite database in WAL mode, used from one dedicated thread.

SQLite connections are not shared between threads, and a write must not block the event loop,
so every call is shipped to a single worker thread that owns the connection. Schema changes are
numbered SQL files in ``migrations/``, applied in order and tracked with ``PRAGMA user_version``.

Writes are group-committed: the writes that arrive while the thread is busy share the next
transaction, and each is all or nothing (one that fails is undone alone). A caller is answered only
after its transaction commits, so "stored" means committed, at one commit per batch rather than one
per write (what lets the asynchronous queue accept thousands of events per second).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import sqlite3
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

from lamina.store.errors import ALIAS, FUNCTION, FUNCTION_URL, POLICY, Conflict, NotFound, StaleRevision
from lamina.model import EventInvokeConfig, FunctionConfig, FunctionPolicy, LayerVersion
from lamina.model import FunctionUrlConfig
from lamina.store import log_chunks
from lamina.store import sqlite_logs as logs
from lamina.store.base import EventContent, InvocationRecord, LogEvent, LogRecord, LogStreamSummary, LogWindow
from lamina.store.base import NewEvent, OutboxMessage
from lamina.store.base import BusEvent, Delivery, MessageState, QueuedEvent, QueueMessage, Resource
from lamina.store.base import MeterRun, MetricCount, ObjectRecord, ProvisionedAllocation
from lamina.store import sqlite_objects as objects_sql
from lamina.store import sqlite_bus as bus_sql
from lamina.store import sqlite_messages as messages_sql
from lamina.store import sqlite_metering as metering_sql
from lamina.store import sqlite_queue as queue_sql
from lamina.store.codec import (
    decode,
    decode_event_invoke_config,
    decode_layer,
    decode_policy,
    encode,
    encode_event_invoke_config,
    encode_layer,
    encode_statements,
)
from lamina.store.codec import decode_url, encode_url
from lamina.store.codec import decode_alias, encode_alias
from lamina.model import Alias
from lamina.model import ProvisionedConcurrencyConfig

T = TypeVar("T")
# A write waiting for the next group commit, and its outcome: (future, value, error).
_Write = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]"]
_Settled = tuple["asyncio.Future[Any]", Any, "BaseException | None"]


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("lamina.store") / "migrations"
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


class SqliteStore:
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

    async def create_function(self, fn: FunctionConfig) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO functions (name, revision_id, config) VALUES (?, ?, ?)",
                    (fn.name, fn.revision_id, encode(fn)),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(FUNCTION, fn.name) from exc

        await self._write(insert)

    async def get_function(self, name: str) -> FunctionConfig | None:
        def select(conn: sqlite3.Connection) -> FunctionConfig | None:
            row = conn.execute("SELECT config FROM functions WHERE name = ?", (name,)).fetchone()
            return decode(row[0]) if row else None

        return await self._run(select)

    async def list_functions(self, after: str | None, limit: int) -> list[FunctionConfig]:
        def select(conn: sqlite3.Connection) -> list[FunctionConfig]:
            rows = conn.execute(
                "SELECT config FROM functions WHERE name > ? ORDER BY name LIMIT ?", (after or "", limit)
            ).fetchall()
            return [decode(row[0]) for row in rows]

        return await self._run(select)

    async def put_function(self, fn: FunctionConfig, *, expected_revision: str | None = None) -> None:
        def update(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT revision_id FROM functions WHERE name = ?", (fn.name,)).fetchone()
            if row is None:
                raise NotFound(FUNCTION, fn.name)
            if expected_revision is not None and row[0] != expected_revision:
                raise StaleRevision(FUNCTION, fn.name)
            conn.execute(
                "UPDATE functions SET revision_id = ?, config = ? WHERE name = ?",
                (fn.revision_id, encode(fn), fn.name),
            )

        await self._write(update)

    async def delete_function(self, name: str) -> FunctionConfig | None:
        def delete(conn: sqlite3.Connection) -> FunctionConfig | None:
            row = conn.execute("SELECT config FROM functions WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM functions WHERE name = ?", (name,))
            return decode(row[0])

        return await self._write(delete)

    async def code_in_use(self) -> set[str]:
        def select(conn: sqlite3.Connection) -> set[str]:
            used = set()
            for (config,) in conn.execute("SELECT config FROM functions"):
                fn = decode(config)
                used.add(fn.code.digest)
                used.update(layer.code.digest for layer in fn.layers)
            for (config,) in conn.execute("SELECT config FROM layer_versions"):
                used.add(decode_layer(config).code.digest)
            for (config,) in conn.execute("SELECT config FROM function_versions"):
                version = decode(config)
                used.add(version.code.digest)
                used.update(layer.code.digest for layer in version.layers)
            return used

        return await self._run(select)

    async def publish_layer(self, layer: LayerVersion) -> LayerVersion:
        def insert(conn: sqlite3.Connection) -> LayerVersion:
            row = conn.execute("SELECT last_version FROM layers WHERE name = ?", (layer.name,)).fetchone()
            version = (row[0] if row else 0) + 1
            conn.execute(
                "INSERT INTO layers (name, last_version) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET last_version = excluded.last_version",
                (layer.name, version),
            )
            numbered = dataclasses.replace(layer, version=version)
            conn.execute(
                "INSERT INTO layer_versions (name, version, config) VALUES (?, ?, ?)",
                (layer.name, version, encode_layer(numbered)),
            )
            return numbered

        return await self._write(insert)

    async def get_layer(self, name: str, version: int) -> LayerVersion | None:
        def select(conn: sqlite3.Connection) -> LayerVersion | None:
            row = conn.execute(
                "SELECT config FROM layer_versions WHERE name = ? AND version = ?", (name, version)
            ).fetchone()
            return decode_layer(row[0]) if row else None

        return await self._run(select)

    async def list_layer_versions(self, name: str | None) -> list[LayerVersion]:
        def select(conn: sqlite3.Connection) -> list[LayerVersion]:
            if name is None:
                rows = conn.execute("SELECT config FROM layer_versions ORDER BY name, version DESC").fetchall()
            else:
                rows = conn.execute(
                    "SELECT config FROM layer_versions WHERE name = ? ORDER BY version DESC", (name,)
                ).fetchall()
            return [decode_layer(row[0]) for row in rows]

        return await self._run(select)

    async def delete_layer(self, name: str, version: int) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM layer_versions WHERE name = ? AND version = ?", (name, version))

        await self._write(delete)

    async def get_tags(self, function: str) -> dict[str, str]:
        def select(conn: sqlite3.Connection) -> dict[str, str]:
            rows = conn.execute("SELECT key, value FROM function_tags WHERE function = ? ORDER BY key", (function,))
            return dict(rows.fetchall())

        return await self._run(select)

    async def put_tags(self, function: str, tags: Mapping[str, str]) -> None:
        def replace(conn: sqlite3.Connection) -> None:
            with _owned(function):
                conn.execute("DELETE FROM function_tags WHERE function = ?", (function,))
                conn.executemany(
                    "INSERT INTO function_tags (function, key, value) VALUES (?, ?, ?)",
                    [(function, key, value) for key, value in tags.items()],
                )

        await self._write(replace)

    async def get_policy(self, function: str, qualifier: str) -> FunctionPolicy | None:
        def select(conn: sqlite3.Connection) -> FunctionPolicy | None:
            row = conn.execute(
                "SELECT revision_id, statements FROM function_policies WHERE function = ? AND qualifier = ?",
                (function, qualifier),
            ).fetchone()
            return decode_policy(function, qualifier, row[0], row[1]) if row else None

        return await self._run(select)

    async def put_policy(self, policy: FunctionPolicy, *, expected_revision: str | None) -> None:
        def replace(conn: sqlite3.Connection) -> None:
            key = (policy.function, policy.qualifier)
            with _owned(policy.function):
                row = conn.execute(
                    "SELECT revision_id FROM function_policies WHERE function = ? AND qualifier = ?", key
                ).fetchone()
                if (row[0] if row else None) != expected_revision:
                    raise StaleRevision(POLICY, *key)
                if not policy.statements:
                    conn.execute("DELETE FROM function_policies WHERE function = ? AND qualifier = ?", key)
                    return
                conn.execute(
                    "INSERT INTO function_policies (function, qualifier, revision_id, statements) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (function, qualifier) DO UPDATE SET revision_id = excluded.revision_id, "
                    "statements = excluded.statements",
                    (*key, policy.revision_id, encode_statements(policy.statements)),
                )

        await self._write(replace)

    async def put_event_invoke_config(self, config: EventInvokeConfig) -> None:
        def replace(conn: sqlite3.Connection) -> None:
            with _owned(config.function):
                conn.execute(
                    "INSERT INTO event_invoke_configs (function, qualifier, config) VALUES (?, ?, ?) "
                    "ON CONFLICT (function, qualifier) DO UPDATE SET config = excluded.config",
                    (config.function, config.qualifier, encode_event_invoke_config(config)),
                )

        await self._write(replace)

    async def delete_event_invoke_config(self, function: str, qualifier: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM event_invoke_configs WHERE function = ? AND qualifier = ?", (function, qualifier)
            )

        await self._write(delete)

    async def list_event_invoke_configs(self, function: str | None) -> list[EventInvokeConfig]:
        def select(conn: sqlite3.Connection) -> list[EventInvokeConfig]:
            query = "SELECT function, qualifier, config FROM event_invoke_configs"
            if function is None:
                rows = conn.execute(query + " ORDER BY function, qualifier").fetchall()
            else:
                rows = conn.execute(query + " WHERE function = ? ORDER BY qualifier", (function,)).fetchall()
            return [decode_event_invoke_config(*row) for row in rows]

        return await self._run(select)

    async def create_function_url(self, url: FunctionUrlConfig) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                with _owned(url.function):
                    conn.execute(
                        "INSERT INTO function_urls (function, qualifier, url_id, config) VALUES (?, ?, ?, ?)",
                        (url.function, url.qualifier, url.url_id, encode_url(url)),
                    )
            except sqlite3.IntegrityError as exc:
                raise Conflict(FUNCTION_URL, url.function, url.qualifier) from exc

        await self._write(insert)

    async def put_function_url(self, url: FunctionUrlConfig) -> None:
        def update(conn: sqlite3.Connection) -> None:
            changed = conn.execute(
                "UPDATE function_urls SET config = ? WHERE function = ? AND qualifier = ?",
                (encode_url(url), url.function, url.qualifier),
            ).rowcount
            if not changed:
                raise NotFound(FUNCTION_URL, url.function, url.qualifier)

        await self._write(update)

    async def delete_function_url(self, function: str, qualifier: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM function_urls WHERE function = ? AND qualifier = ?", (function, qualifier))

        await self._write(delete)

    async def list_function_urls(self) -> list[FunctionUrlConfig]:
        def select(conn: sqlite3.Connection) -> list[FunctionUrlConfig]:
            rows = conn.execute(
                "SELECT function, qualifier, url_id, config FROM function_urls ORDER BY function, qualifier"
            ).fetchall()
            return [decode_url(*row) for row in rows]

        return await self._run(select)

    async def put_version(self, fn: FunctionConfig) -> None:
        def upsert(conn: sqlite3.Connection) -> None:
            number = int(fn.version)
            with _owned(fn.name):
                conn.execute(
                    "INSERT INTO function_versions (function, version, config) VALUES (?, ?, ?) "
                    "ON CONFLICT (function, version) DO UPDATE SET config = excluded.config",
                    (fn.name, number, encode(fn)),
                )
                conn.execute(
                    "INSERT INTO function_version_numbers (function, last_version) VALUES (?, ?) "
                    "ON CONFLICT (function) DO UPDATE SET last_version = max(last_version, excluded.last_version)",
                    (fn.name, number),
                )

        await self._write(upsert)

    async def list_versions(self, function: str) -> list[FunctionConfig]:
        def select(conn: sqlite3.Connection) -> list[FunctionConfig]:
            rows = conn.execute(
                "SELECT config FROM function_versions WHERE function = ? ORDER BY version", (function,)
            ).fetchall()
            return [decode(row[0]) for row in rows]

        return await self._run(select)

    async def last_version(self, function: str) -> int:
        def select(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT last_version FROM function_version_numbers WHERE function = ?", (function,)
            ).fetchone()
            return int(row[0]) if row else 0

        return await self._run(select)

    async def delete_version(self, function: str, version: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM function_versions WHERE function = ? AND version = ?", (function, int(version))
            )

        await self._write(delete)

    async def create_alias(self, alias: Alias) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                with _owned(alias.function):
                    conn.execute(
                        "INSERT INTO function_aliases (function, name, revision_id, config) VALUES (?, ?, ?, ?)",
                        (alias.function, alias.name, alias.revision_id, encode_alias(alias)),
                    )
            except sqlite3.IntegrityError as exc:  # the primary key: the alias exists
                raise Conflict(ALIAS, alias.function, alias.name) from exc

        await self._write(insert)

    async def put_alias(self, alias: Alias, *, expected_revision: str) -> None:
        def update(conn: sqlite3.Connection) -> None:
            key = (alias.function, alias.name)
            row = conn.execute(
                "SELECT revision_id FROM function_aliases WHERE function = ? AND name = ?", key
            ).fetchone()
            if row is None:
                raise NotFound(ALIAS, *key)
            if row[0] != expected_revision:
                raise StaleRevision(ALIAS, *key)
            conn.execute(
                "UPDATE function_aliases SET revision_id = ?, config = ? WHERE function = ? AND name = ?",
                (alias.revision_id, encode_alias(alias), *key),
            )

        await self._write(update)

    async def list_aliases(self, function: str) -> list[Alias]:
        def select(conn: sqlite3.Connection) -> list[Alias]:
            rows = conn.execute(
                "SELECT function, name, revision_id, config FROM function_aliases WHERE function = ? ORDER BY name",
                (function,),
            ).fetchall()
            return [decode_alias(*row) for row in rows]

        return await self._run(select)

    async def delete_alias(self, function: str, name: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM function_aliases WHERE function = ? AND name = ?", (function, name))

        await self._write(delete)

    async def put_reserved_concurrency(self, function: str, reserved: int | None) -> None:
        def write(conn: sqlite3.Connection) -> None:
            with _owned(function):
                if reserved is None:
                    conn.execute("DELETE FROM function_concurrency WHERE function = ?", (function,))
                    return
                conn.execute(
                    "INSERT INTO function_concurrency (function, reserved) VALUES (?, ?) "
                    "ON CONFLICT (function) DO UPDATE SET reserved = excluded.reserved",
                    (function, reserved),
                )

        await self._write(write)

    async def list_reserved_concurrency(self) -> dict[str, int]:
        def select(conn: sqlite3.Connection) -> dict[str, int]:
            rows = conn.execute("SELECT function, reserved FROM function_concurrency ORDER BY function")
            return {name: int(reserved) for name, reserved in rows.fetchall()}

        return await self._run(select)

    async def put_provisioned_concurrency(self, config: ProvisionedConcurrencyConfig) -> None:
        def upsert(conn: sqlite3.Connection) -> None:
            with _owned(config.function):
                conn.execute(
                    "INSERT INTO provisioned_concurrency_configs (function, qualifier, requested, last_modified) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (function, qualifier) DO UPDATE SET "
                    "requested = excluded.requested, last_modified = excluded.last_modified",
                    (config.function, config.qualifier, config.requested, config.last_modified),
                )

        await self._write(upsert)

    async def delete_provisioned_concurrency(self, function: str, qualifier: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM provisioned_concurrency_configs WHERE function = ? AND qualifier = ?",
                (function, qualifier),
            )

        await self._write(delete)

    async def list_provisioned_concurrency(self) -> list[ProvisionedConcurrencyConfig]:
        def select(conn: sqlite3.Connection) -> list[ProvisionedConcurrencyConfig]:
            rows = conn.execute(
                "SELECT function, qualifier, requested, last_modified FROM provisioned_concurrency_configs "
                "ORDER BY function, qualifier"
            ).fetchall()
            return [ProvisionedConcurrencyConfig(*row) for row in rows]

        return await self._run(select)

    async def append_logs(self, records: Sequence[LogRecord], *, max_function_bytes: int | None = None) -> None:
        await self._write(lambda conn: logs.append(conn, records, max_function_bytes))

    async def read_logs(self, function: str, since: int, limit: int, window: LogWindow | None = None) -> list[LogEvent]:
        return await self._read_apart(lambda conn: logs.read(conn, function, since, limit, window))

    async def log_streams(self, function: str) -> list[LogStreamSummary]:
        return await self._read_apart(lambda conn: logs.streams(conn, function))

    async def logged_functions(self) -> list[tuple[str, int]]:
        return await self._read_apart(logs.functions)

    async def log_bytes(self, function: str) -> int:
        return await self._run(lambda conn: logs.stored(conn, function))

    async def trim_logs(self, max_function_bytes: int) -> int:
        return await self._write(lambda conn: logs.trim_all(conn, max_function_bytes))

    async def expire_logs(self, before_ms: int, limit: int) -> int:
        return await self._write(lambda conn: logs.expire(conn, before_ms, limit))

    async def record_invocations(self, records: Sequence[InvocationRecord]) -> None:
        if records:
            await self._write(lambda conn: metering_sql.record(conn, records))

    async def list_invocations(self, function: str, since_ms: int = 0) -> list[InvocationRecord]:
        return await self._read_apart(lambda conn: metering_sql.by_function(conn, function, since_ms))

    async def list_ledger(self, from_ms: int, to_ms: int) -> list[InvocationRecord]:
        return await self._read_apart(lambda conn: metering_sql.ledger(conn, from_ms, to_ms))

    async def record_allocations(self, allocations: Sequence[ProvisionedAllocation]) -> None:
        if allocations:
            await self._write(lambda conn: metering_sql.allocate(conn, allocations))

    async def list_allocations(self, before_ms: int) -> list[ProvisionedAllocation]:
        return await self._run(lambda conn: metering_sql.allocations(conn, before_ms))

    async def begin_metering(self, now_ms: int) -> MeterRun | None:
        return await self._write(lambda conn: metering_sql.begin(conn, now_ms))

    async def end_metering(self, now_ms: int) -> None:
        await self._write(lambda conn: metering_sql.end(conn, now_ms))

    async def read_invocations(self, since_ms: int, until_ms: int,
                               function: str | None = None) -> list[InvocationRecord]:  # fmt: skip
        def select(conn: sqlite3.Connection) -> list[InvocationRecord]:
            columns = ("SELECT request_id, function, version, started_ms, duration_ms, billed_ms, memory_mb, "
                       "max_memory_used_mb, init_ms, outcome, qualifier FROM invocations ")  # fmt: skip
            if function is None:
                rows = conn.execute(columns + "WHERE started_ms >= ? AND started_ms < ? ORDER BY started_ms",
                                    (since_ms, until_ms)).fetchall()  # fmt: skip
            else:  # by invocations_by_function
                rows = conn.execute(columns + "WHERE function = ? AND started_ms >= ? AND started_ms < ? "
                                    "ORDER BY started_ms", (function, since_ms, until_ms)).fetchall()  # fmt: skip
            return [InvocationRecord(*row) for row in rows]

        return await self._read_apart(select)

    async def invocation_series(self, since_ms: int) -> list[tuple[str, str | None, str]]:
        def select(conn: sqlite3.Connection) -> list[tuple[str, str | None, str]]:
            rows = conn.execute(
                "SELECT DISTINCT function, qualifier, version FROM invocations WHERE started_ms >= ?", (since_ms,)
            ).fetchall()
            return [(str(f), q, str(v)) for f, q, v in rows]

        return await self._read_apart(select)

    async def add_metric_counts(self, counts: Sequence[MetricCount]) -> None:
        def upsert(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO metric_counts (function, qualifier, metric, minute_ms, count) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (function, qualifier, metric, minute_ms) DO UPDATE SET count = count + excluded.count",
                [(c.function, c.qualifier, c.metric, c.minute_ms, c.count) for c in counts],
            )

        await self._write(upsert)

    async def read_metric_counts(self, since_ms: int, until_ms: int) -> list[MetricCount]:
        def select(conn: sqlite3.Connection) -> list[MetricCount]:
            rows = conn.execute(
                "SELECT function, qualifier, metric, minute_ms, count FROM metric_counts "
                "WHERE minute_ms >= ? AND minute_ms < ? ORDER BY minute_ms",
                (since_ms, until_ms),
            ).fetchall()
            return [MetricCount(*row) for row in rows]

        return await self._read_apart(select)

    async def enqueue_event(self, event: QueuedEvent, content: EventContent) -> int:
        return await self._write(lambda conn: queue_sql.insert_event(conn, event, content))

    async def list_queued_events(self) -> list[QueuedEvent]:
        return await self._run(queue_sql.queued_events)

    async def read_event_content(self, seq: int) -> EventContent | None:
        return await self._read_together(lambda conn: queue_sql.event_content(conn, seq))

    async def reschedule_event(self, seq: int, attempts: int, next_ms: int) -> None:
        await self._write(lambda conn: queue_sql.reschedule_event(conn, seq, attempts, next_ms))

    async def finish_event(
        self, seq: int, follow_ups: Sequence[NewEvent] = (), messages: Sequence[OutboxMessage] = ()
    ) -> list[int]:
        return await self._write(lambda conn: queue_sql.finish_event(conn, seq, follow_ups, messages))

    async def add_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        await self._write(lambda conn: queue_sql.add_outbox(conn, messages))

    async def list_outbox(self, target: str | None, after: int, limit: int) -> list[OutboxMessage]:
        def select(conn: sqlite3.Connection) -> list[OutboxMessage]:
            query = "SELECT target, kind, function, request_id, body, attributes, created_ms, id FROM outbox WHERE id > ?"
            if target is None:
                rows = conn.execute(query + " ORDER BY id LIMIT ?", (after, limit)).fetchall()
            else:
                rows = conn.execute(query + " AND target = ? ORDER BY id LIMIT ?", (after, target, limit)).fetchall()
            return [OutboxMessage(r[0], r[1], r[2], r[3], bytes(r[4]), json.loads(r[5]), r[6], r[7]) for r in rows]

        return await self._run(select)

    async def delete_outbox(self, ids: Sequence[int]) -> int:
        def delete(conn: sqlite3.Connection) -> int:
            return sum(conn.execute("DELETE FROM outbox WHERE id = ?", (i,)).rowcount for i in ids)

        return await self._write(delete)

    async def add_bus_events(self, events: Sequence[BusEvent], consumed_outbox: Sequence[int] = ()) -> list[int]:
        return await self._write(lambda conn: bus_sql.add(conn, events, consumed_outbox))

    async def list_bus_events(self) -> list[BusEvent]:
        return await self._run(bus_sql.listed)

    async def read_bus_envelope(self, seq: int) -> bytes | None:
        return await self._read_together(lambda conn: bus_sql.envelope(conn, seq))

    async def settle_bus_event(
        self, seq: int, owed: Sequence[Delivery], forwards: Sequence[BusEvent] = (),
        messages: Sequence[OutboxMessage] = (),
    ) -> list[int]:  # fmt: skip
        return await self._write(lambda conn: bus_sql.settle(conn, seq, owed, forwards, messages))

    async def list_resources(self, kind: str) -> list[Resource]:
        def select(conn: sqlite3.Connection) -> list[Resource]:
            rows = conn.execute("SELECT key, doc FROM resources WHERE kind = ? ORDER BY key", (kind,)).fetchall()
            return [Resource(kind, key, json.loads(doc)) for key, doc in rows]

        return await self._run(select)

    async def change_resources(
        self,
        puts: Sequence[Resource] = (),
        deletes: Sequence[tuple[str, str]] = (),
        delete_prefixes: Sequence[tuple[str, str]] = (),
    ) -> None:
        encoded = [(r.kind, r.key, json.dumps(r.doc)) for r in puts]

        def change(conn: sqlite3.Connection) -> None:
            for kind, prefix in delete_prefixes:
                # substr rather than LIKE: a key may hold % or _.
                conn.execute(
                    "DELETE FROM resources WHERE kind = ? AND substr(key, 1, ?) = ?", (kind, len(prefix), prefix)
                )
            conn.executemany("DELETE FROM resources WHERE kind = ? AND key = ?", deletes)
            conn.executemany("INSERT OR REPLACE INTO resources (kind, key, doc) VALUES (?, ?, ?)", encoded)

        await self._write(change)

    async def change_queue_messages(
        self, adds: Sequence[QueueMessage] = (), updates: Sequence[MessageState] = (), deletes: Sequence[int] = (),
        consumed_outbox: Sequence[int] = (),
    ) -> list[int]:  # fmt: skip
        return await self._write(lambda conn: messages_sql.change(conn, adds, updates, deletes, consumed_outbox))

    async def list_queue_messages(self) -> list[QueueMessage]:
        return await self._run(messages_sql.listed)

    async def purge_queue_messages(self, queue: str, through_seq: int | None = None) -> int:
        return await self._write(lambda conn: messages_sql.purge(conn, queue, through_seq))

    async def list_object_records(self, kind: str) -> list[ObjectRecord]:
        return await self._run(lambda conn: objects_sql.listed(conn, kind))

    async def change_object_records(
        self, puts: Sequence[ObjectRecord] = (), deletes: Sequence[tuple[str, str, str]] = (),
        delete_prefixes: Sequence[tuple[str, str, str]] = (), messages: Sequence[OutboxMessage] = (),
    ) -> None:  # fmt: skip
        encoded = [(r.kind, r.bucket, r.key, json.dumps(r.doc)) for r in puts]
        await self._write(lambda conn: objects_sql.change(conn, encoded, deletes, delete_prefixes, messages))


def _settle(settled: list[_Settled]) -> None:
    for future, value, error in settled:
        if future.cancelled():  # its caller went away; the write stands (or not) all the same
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


@contextlib.contextmanager
def _owned(function: str) -> Iterator[None]:
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

"""Table change streams: row changes delivered per second in batches of 100, beside the rate of plain
inserts into the same table, and commit → handler latency.

The source is a parameter (``Source``): ``SqliteSource`` writes a SQLite file of the run's own with
``sqlite3``, as a user's application would (WAL mode, transactions of ``ROWS_PER_COMMIT`` rows);
``PostgresSource`` writes a database of a PostgreSQL server the run starts (``bench/postgres.py``)
with psycopg, alike (a mapping reads it by logical replication). Each source is measured on a
Lamina server of its own. In one run, on one table:

- plain inserts: ``changes`` rows inserted with no mapping (no triggers, no slot), rows per second;
- the same inserts with a mapping installed and disabled (its capture running, nothing delivered):
  what capturing costs the application;
- delivery: the mapping (BatchSize 100, to a no-op function invoked once before: warm) enabled with
  those ``changes`` waiting, the clock running from the enabling Update until the source says none
  is left unconfirmed (polled every 20 ms);
- latency: ``latency_changes`` rows inserted one a commit, ``LATENCY_GAP_S`` apart, each carrying
  its commit time; the handler prints it beside the time it saw the record (one machine's wall
  clock); the p50 is commit → handler. One row goes first, unmeasured, to start the environment.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid as uuids
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bench.handler_latency import json_of, printed
from bench.handlers import NOOP
from bench.lamina_target import Lamina
from bench.load import LoadError
from bench.stats import Latency, ratio
from bench.types import Progress

FUNCTION = "streams-noop"
LATENCY_FUNCTION = "streams-latency"
MAPPINGS = "/2015-03-31/event-source-mappings"
BATCH_SIZE = 100
ROWS_PER_COMMIT = 100
LATENCY_GAP_S = 0.02

LATENCY_HANDLER = '''\
import time

def handler(event, context):
    now = time.time()
    for record in event["Records"]:
        print("LATENCY", record["dynamodb"]["NewImage"]["sent"]["N"], now)
    return {}
'''


class Source(Protocol):
    """A database the scenario writes and a mapping reads."""

    name: str  # as the report shows it

    def endpoints(self) -> dict[str, list[str]]:
        """SelfManagedEventSource's Endpoints naming it."""
        ...

    def table(self, name: str) -> str:
        """Create a fresh table ``name`` (id, payload, sent) and give its Topics name."""
        ...

    def insert(self, table: str, count: int, rows_per_commit: int) -> float:
        """Insert ``count`` rows; the seconds it took."""
        ...

    def insert_one(self, table: str, sent: float) -> None:
        """One row carrying ``sent`` (epoch seconds), committed."""
        ...

    def unconfirmed(self, mapping_uuid: str) -> int:
        """How much of what was inserted the mapping has not confirmed yet (changes, or bytes of
        WAL): 0 once it has confirmed every change."""
        ...


class SqliteSource:
    name = "SQLite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._next = 0
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.close()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def endpoints(self) -> dict[str, list[str]]:
        return {"SQLITE_PATH": [str(self.path)]}

    def table(self, name: str) -> str:
        conn = self._connect()
        with conn:
            conn.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, payload TEXT, sent REAL)")
        conn.close()
        return f"main.{name}"

    def insert(self, table: str, count: int, rows_per_commit: int) -> float:
        conn = self._connect()
        name = table.split(".", 1)[1]
        start = time.perf_counter()
        for first in range(0, count, rows_per_commit):
            with conn:
                conn.executemany(f"INSERT INTO {name} (payload, sent) VALUES (?, ?)",
                                 [(f"row {i}", 0.0) for i in range(first, min(count, first + rows_per_commit))])  # fmt: skip
        seconds = time.perf_counter() - start
        conn.close()
        return seconds

    def insert_one(self, table: str, sent: float) -> None:
        conn = self._connect()
        with conn:
            conn.execute(f"INSERT INTO {table.split('.', 1)[1]} (payload, sent) VALUES ('latency', ?)", (sent,))
        conn.close()

    def unconfirmed(self, mapping_uuid: str) -> int:
        conn = self._connect()
        try:
            (count,) = conn.execute(f"SELECT count(*) FROM lamina_changes_{mapping_uuid.replace('-', '')}").fetchone()
            return int(count)
        finally:
            conn.close()


class PostgresSource:
    """A database of its own on ``url``'s server (``CREATE DATABASE`` through ``url``)."""

    name = "PostgreSQL"

    def __init__(self, url: str) -> None:
        import psycopg

        database = f"bench_{uuids.uuid4().hex[:8]}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}".encode())
        self.url = url.rsplit("/", 1)[0] + "/" + database
        self._last_lsn = "0/0"  # read inside the last transaction insert() committed

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url)

    def endpoints(self) -> dict[str, list[str]]:
        return {"POSTGRESQL_URL": [self.url]}

    def table(self, name: str) -> str:
        with self._connect() as conn:
            conn.execute(f"CREATE TABLE public.{name} (id bigserial PRIMARY KEY, payload text, sent double precision)"
                         .encode())  # fmt: skip
        return f"public.{name}"

    def insert(self, table: str, count: int, rows_per_commit: int) -> float:
        statement = f"INSERT INTO {table} (payload, sent) VALUES (%s, %s)".encode()
        with self._connect() as conn:
            start = time.perf_counter()
            for first in range(0, count, rows_per_commit):
                with conn.transaction(), conn.cursor() as cur:
                    rows = [(f"row {i}", 0.0) for i in range(first, min(count, first + rows_per_commit))]
                    cur.executemany(statement, rows)
                    if first + rows_per_commit >= count:
                        # Inside the last transaction: the slot confirms past it only once all is delivered.
                        row = cur.execute(b"SELECT pg_current_wal_insert_lsn()::text").fetchone()
                        self._last_lsn = str(row[0]) if row else "0/0"
            return time.perf_counter() - start

    def insert_one(self, table: str, sent: float) -> None:
        with self._connect() as conn:
            conn.execute(f"INSERT INTO {table} (payload, sent) VALUES ('latency', %s)".encode(), (sent,))

    def unconfirmed(self, mapping_uuid: str) -> int:
        """Bytes of WAL from the slot's confirmed position to the last insert's transaction (the
        slot moves to a transaction's end once all its changes are confirmed)."""
        slot = "lamina_" + mapping_uuid.replace("-", "").lower()
        with self._connect() as conn:
            row = conn.execute(b"SELECT greatest(0, pg_wal_lsn_diff(%s::pg_lsn, confirmed_flush_lsn))::bigint "
                               b"FROM pg_replication_slots WHERE slot_name = %s",
                               (self._last_lsn, slot)).fetchone()  # fmt: skip
        if row is None or row[0] is None:
            raise LoadError(f"table_changes: the mapping's replication slot {slot} is missing")
        return int(row[0])


@dataclass(frozen=True)
class TableChangesResult:
    source: str
    changes: int
    plain_per_s: float  # rows inserted per second, no mapping
    captured_per_s: float  # the same with a mapping's capture installed
    delivered_per_s: float  # changes delivered (and confirmed) per second, batches of 100
    latency: Latency  # commit → handler

    @property
    def ratio(self) -> float | None:
        """Changes delivered per second over plain inserts per second."""
        return ratio(self.delivered_per_s, self.plain_per_s)


async def _mapping(lamina: Lamina, source: Source, function: str, table: str, *, enabled: bool) -> str:
    config = json_of(await lamina.call("GET", f"/2015-03-31/functions/{function}/configuration"), "config")
    created = json_of(await lamina.call("POST", MAPPINGS, {
        "FunctionName": config["FunctionArn"], "SelfManagedEventSource": {"Endpoints": source.endpoints()},
        "Topics": [table], "StartingPosition": "TRIM_HORIZON", "BatchSize": BATCH_SIZE, "Enabled": enabled,
    }), "CreateEventSourceMapping", 202)  # fmt: skip
    return str(created["UUID"])


async def _latency(lamina: Lamina, source: Source, n: int) -> Latency:
    await lamina.create_function(LATENCY_FUNCTION, LATENCY_HANDLER)
    table = await asyncio.to_thread(source.table, "latency")
    await _mapping(lamina, source, LATENCY_FUNCTION, table, enabled=True)
    await asyncio.to_thread(source.insert_one, table, time.time())
    _, cursor = await printed(lamina, LATENCY_FUNCTION, 1, 0, "table_changes")
    for _ in range(n):
        await asyncio.sleep(LATENCY_GAP_S)
        await asyncio.to_thread(source.insert_one, table, time.time())
    seen, _ = await printed(lamina, LATENCY_FUNCTION, n, cursor, "table_changes")
    return Latency.of(seen)


async def run(lamina: Lamina, source: Source, changes: int, latency_changes: int, progress: Progress,
              timeout: float = 600.0) -> TableChangesResult:  # fmt: skip
    await lamina.create_function(FUNCTION, NOOP)
    plain_table = await asyncio.to_thread(source.table, "plain")
    plain = changes / await asyncio.to_thread(source.insert, plain_table, changes, ROWS_PER_COMMIT)
    progress(f"table_changes  {source.name}: {changes:,} plain inserts, {plain:,.0f}/s")
    table = await asyncio.to_thread(source.table, "captured")
    uuid = await _mapping(lamina, source, FUNCTION, table, enabled=False)
    captured = changes / await asyncio.to_thread(source.insert, table, changes, ROWS_PER_COMMIT)
    progress(f"table_changes  {source.name}: {changes:,} inserts captured by a mapping, {captured:,.0f}/s")
    # Warm: the environment's start is not part of the delivery figure.
    json_of(await lamina.call("POST", f"/2015-03-31/functions/{FUNCTION}/invocations", {}), "Invoke")
    await lamina.control.close()
    start = time.perf_counter()
    json_of(await lamina.call("PUT", f"{MAPPINGS}/{uuid}", {"Enabled": True}), "UpdateEventSourceMapping", 202)
    deadline = time.monotonic() + timeout
    while await asyncio.to_thread(source.unconfirmed, uuid):
        if time.monotonic() > deadline:
            raise LoadError(f"table_changes: {changes:,} changes were not delivered in {timeout:.0f} s")
        await asyncio.sleep(0.02)
    delivered = changes / (time.perf_counter() - start)
    progress(f"table_changes  {source.name}: {changes:,} changes delivered in batches of {BATCH_SIZE}, "
             f"{delivered:,.0f}/s ({delivered / plain:.2f}× plain inserts)")  # fmt: skip
    latency = await _latency(lamina, source, latency_changes)
    progress(f"table_changes  {source.name}: commit → handler, one at a time: p50 {latency.p50_ms:.1f} ms, "
             f"p99 {latency.p99_ms:.1f} ms ({latency.count} changes)")  # fmt: skip
    return TableChangesResult(source.name, changes, plain, captured, delivered, latency)

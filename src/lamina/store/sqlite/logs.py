"""Functions' log lines in SQLite (``LogStore``): functions of a connection, each run inside a
transaction the engine opened, and the methods that run them.

``log_chunks`` holds the lines, a row a chunk (``log_chunks.py``: what a chunk is, its cursors,
which chunks to remove), each with its ``size`` (the sum of its lines' ``log_event_size``);
``log_usage`` holds each function's total, changed by every statement here that adds or removes
chunks, so that a function's size is one row to read rather than a sum over its chunks (migrations
0009 and 0016).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from typing import Iterable, Iterator, Sequence

from lamina.store import log_chunks, queries
from lamina.store.base import LogEvent, LogRecord, LogStreamSummary, LogWindow
from lamina.store.log_chunks import StoredChunk
from lamina.store.sqlite.engine import SqliteEngine
from lamina.store.statements import LogsStatements


SQL = queries.load(LogsStatements, "sqlite", "logs")


class SqliteLogs(SqliteEngine):
    async def append_logs(self, records: Sequence[LogRecord], *, max_function_bytes: int | None = None) -> None:
        await self._write(lambda conn: _append(conn, records, max_function_bytes))

    async def read_logs(self, function: str, since: int, limit: int, window: LogWindow | None = None) -> list[LogEvent]:
        return await self._read_apart(lambda conn: _read(conn, function, since, limit, window))

    async def log_streams(self, function: str) -> list[LogStreamSummary]:
        return await self._read_apart(lambda conn: _streams(conn, function))

    async def logged_functions(self) -> list[tuple[str, int]]:
        return await self._read_apart(_functions)

    async def log_bytes(self, function: str) -> int:
        return await self._run(lambda conn: _stored_bytes(conn, function))

    async def trim_logs(self, max_function_bytes: int) -> int:
        return await self._write(lambda conn: _trim_all(conn, max_function_bytes))

    async def expire_logs(self, before_ms: int, limit: int) -> int:
        return await self._write(lambda conn: _expire(conn, before_ms, limit))


def _append(conn: sqlite3.Connection, records: Sequence[LogRecord], max_function_bytes: int | None) -> None:
    made = log_chunks.chunks(records, log_chunks.chunk_bytes(max_function_bytes))
    conn.executemany(SQL.insert_chunk, made)
    added: Counter[str] = Counter()
    for chunk in made:
        added[chunk.function] += chunk.size
    _count(conn, added.items())
    if max_function_bytes is not None:
        for function in added:
            _trim(conn, function, max_function_bytes)


def _read(conn: sqlite3.Connection, function: str, since: int, limit: int, window: LogWindow | None = None) -> list[LogEvent]:
    sql = SQL.read_chunks
    params: list[object] = [function, log_chunks.first_chunk(since)]
    if window is not None:  # only chunks that may hold lines of it (events_after takes its lines)
        if window.streams is not None:
            sql += "\n" + SQL.chunks_of_streams
            params.append(json.dumps(sorted(window.streams)))
        if window.start_ms is not None:
            sql += "\n" + SQL.chunks_from
            params.append(window.start_ms)
        if window.end_ms is not None:
            sql += "\n" + SQL.chunks_before
            params.append(window.end_ms)
    rows = conn.execute(sql + "\n" + SQL.chunks_in_order, params)
    try:
        return log_chunks.events_after(function, since, limit, rows, window)
    finally:
        rows.close()


def _streams(conn: sqlite3.Connection, function: str) -> list[LogStreamSummary]:
    rows = conn.execute(SQL.streams, (function,)).fetchall()
    return [LogStreamSummary(*row) for row in rows]


def _functions(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    return [(name, int(size)) for name, size in conn.execute(SQL.functions)]


def _stored_bytes(conn: sqlite3.Connection, function: str) -> int:
    row = conn.execute(SQL.stored, (function,)).fetchone()
    return int(row[0]) if row else 0


def _trim(conn: sqlite3.Connection, function: str, max_bytes: int) -> int:
    """Remove ``function``'s oldest chunks until its log holds at most ``max_bytes``; how many lines went."""
    excess = _stored_bytes(conn, function) - max_bytes
    if excess <= 0:
        return 0
    rows = conn.execute(SQL.oldest_chunks, (function,))
    try:
        gone = log_chunks.trim(excess, _stored(rows))
    finally:
        rows.close()
    if not gone:
        return 0
    conn.execute(SQL.delete_chunks_through, (function, gone[-1].id))
    _count(conn, [(function, -sum(chunk.size for chunk in gone))])
    return sum(chunk.lines for chunk in gone)


def _trim_all(conn: sqlite3.Connection, max_bytes: int) -> int:
    over = conn.execute(SQL.functions_over, (max_bytes,)).fetchall()
    return sum(_trim(conn, function, max_bytes) for (function,) in over)


def _expire(conn: sqlite3.Connection, before_ms: int, limit: int) -> int:
    """Remove chunks whose every line is timestamped before ``before_ms``, function by function (each
    found through the index on function and last time, oldest first), until they held ``limit`` lines
    or more; how many lines went."""
    removed = 0
    for (function,) in conn.execute(SQL.function_names).fetchall():
        if removed >= limit:
            break
        rows = conn.execute(SQL.chunks_ended_before, (function, before_ms))
        try:
            old = log_chunks.expire(limit - removed, _stored(rows))
        finally:
            rows.close()
        if not old:
            continue
        conn.executemany(SQL.delete_chunk, [(chunk.id,) for chunk in old])
        _count(conn, [(function, -sum(chunk.size for chunk in old))])
        removed += sum(chunk.lines for chunk in old)
    return removed


def _stored(rows: Iterable[tuple[int, int, int]]) -> Iterator[StoredChunk]:
    return (StoredChunk(*row) for row in rows)


def _count(conn: sqlite3.Connection, changes: Iterable[tuple[str, int]]) -> None:
    """Add each change to its function's total; a function left with nothing loses its row."""
    for function, change in changes:
        conn.execute(SQL.add_usage, (function, change))
        conn.execute(SQL.drop_empty_usage, (function,))

"""The log tables' SQL for ``SqliteStore``: each function runs inside a transaction the store opened.

``log_chunks`` holds the lines, a row a chunk (``log_chunks.py``: what a chunk is, its cursors,
which chunks to remove), each with its ``size`` (the sum of its lines' ``log_event_size``);
``log_usage`` holds each function's total, changed by every statement here that adds or removes
chunks, so that a function's size is one row to read rather than a sum over its chunks (migrations
0009 and 0016).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Iterable, Iterator, Sequence

from lamina.store import log_chunks
from lamina.store.base import LogEvent, LogRecord, LogStreamSummary, LogWindow
from lamina.store.log_chunks import StoredChunk


def append(conn: sqlite3.Connection, records: Sequence[LogRecord], max_function_bytes: int | None) -> None:
    made = log_chunks.chunks(records, log_chunks.chunk_bytes(max_function_bytes))
    conn.executemany(
        "INSERT INTO log_chunks (function, stream, first_ms, last_ms, lines, size, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        made,
    )
    added: Counter[str] = Counter()
    for chunk in made:
        added[chunk.function] += chunk.size
    _count(conn, added.items())
    if max_function_bytes is not None:
        for function in added:
            trim(conn, function, max_function_bytes)


def read(conn: sqlite3.Connection, function: str, since: int, limit: int, window: LogWindow | None = None) -> list[LogEvent]:
    sql = "SELECT id, stream, data FROM log_chunks WHERE function = ? AND id >= ?"
    params: list[object] = [function, log_chunks.first_chunk(since)]
    if window is not None:  # only chunks that may hold lines of it (events_after takes its lines)
        if window.streams is not None:
            sql += f" AND stream IN ({', '.join('?' * len(window.streams))})"
            params += sorted(window.streams)
        if window.start_ms is not None:
            sql += " AND last_ms >= ?"
            params.append(window.start_ms)
        if window.end_ms is not None:
            sql += " AND first_ms < ?"
            params.append(window.end_ms)
    rows = conn.execute(sql + " ORDER BY id", params)
    try:
        return log_chunks.events_after(function, since, limit, rows, window)
    finally:
        rows.close()


def streams(conn: sqlite3.Connection, function: str) -> list[LogStreamSummary]:
    rows = conn.execute(
        "SELECT stream, MIN(first_ms), MAX(last_ms), SUM(size) FROM log_chunks WHERE function = ? "
        "GROUP BY stream ORDER BY stream", (function,),
    ).fetchall()  # fmt: skip
    return [LogStreamSummary(*row) for row in rows]


def functions(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    return [(name, int(size)) for name, size in conn.execute("SELECT function, bytes FROM log_usage ORDER BY function")]


def stored(conn: sqlite3.Connection, function: str) -> int:
    row = conn.execute("SELECT bytes FROM log_usage WHERE function = ?", (function,)).fetchone()
    return int(row[0]) if row else 0


def trim(conn: sqlite3.Connection, function: str, max_bytes: int) -> int:
    """Remove ``function``'s oldest chunks until its log holds at most ``max_bytes``; how many lines went."""
    excess = stored(conn, function) - max_bytes
    if excess <= 0:
        return 0
    rows = conn.execute("SELECT id, lines, size FROM log_chunks WHERE function = ? ORDER BY id", (function,))
    try:
        gone = log_chunks.trim(excess, _stored(rows))
    finally:
        rows.close()
    if not gone:
        return 0
    conn.execute("DELETE FROM log_chunks WHERE function = ? AND id <= ?", (function, gone[-1].id))
    _count(conn, [(function, -sum(chunk.size for chunk in gone))])
    return sum(chunk.lines for chunk in gone)


def trim_all(conn: sqlite3.Connection, max_bytes: int) -> int:
    over = conn.execute("SELECT function FROM log_usage WHERE bytes > ?", (max_bytes,)).fetchall()
    return sum(trim(conn, function, max_bytes) for (function,) in over)


def expire(conn: sqlite3.Connection, before_ms: int, limit: int) -> int:
    """Remove chunks whose every line is timestamped before ``before_ms``, function by function (each
    found through the index on function and last time, oldest first), until they held ``limit`` lines
    or more; how many lines went."""
    removed = 0
    for (function,) in conn.execute("SELECT function FROM log_usage ORDER BY function").fetchall():
        if removed >= limit:
            break
        rows = conn.execute(
            "SELECT id, lines, size FROM log_chunks WHERE function = ? AND last_ms < ? ORDER BY last_ms",
            (function, before_ms),
        )
        try:
            old = log_chunks.expire(limit - removed, _stored(rows))
        finally:
            rows.close()
        if not old:
            continue
        conn.executemany("DELETE FROM log_chunks WHERE id = ?", [(chunk.id,) for chunk in old])
        _count(conn, [(function, -sum(chunk.size for chunk in old))])
        removed += sum(chunk.lines for chunk in old)
    return removed


def _stored(rows: Iterable[tuple[int, int, int]]) -> Iterator[StoredChunk]:
    return (StoredChunk(*row) for row in rows)


def _count(conn: sqlite3.Connection, changes: Iterable[tuple[str, int]]) -> None:
    """Add each change to its function's total; a function left with nothing loses its row."""
    for function, change in changes:
        conn.execute(
            "INSERT INTO log_usage (function, bytes) VALUES (?, ?) "
            "ON CONFLICT (function) DO UPDATE SET bytes = bytes + excluded.bytes",
            (function, change),
        )
        conn.execute("DELETE FROM log_usage WHERE function = ? AND bytes <= 0", (function,))

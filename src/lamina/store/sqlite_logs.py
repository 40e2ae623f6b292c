"""The log tables' SQL for ``SqliteStore``: each function runs inside a transaction the store opened.

``log_events`` holds the lines, each with its ``size`` (``log_event_size``); ``log_usage`` holds
each function's total, changed by every statement here that adds or removes lines, so that a
function's size is one row to read rather than a sum over its lines (see migration 0009).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Iterable, Sequence

from lamina.store.base import LogEvent, LogRecord, log_event_size


def append(conn: sqlite3.Connection, records: Sequence[LogRecord], max_function_bytes: int | None) -> None:
    rows = [(r.function, r.stream, r.timestamp_ms, r.message, log_event_size(r.message)) for r in records]
    conn.executemany(
        "INSERT INTO log_events (function, stream, timestamp_ms, message, size) VALUES (?, ?, ?, ?, ?)", rows
    )
    added: Counter[str] = Counter()
    for function, _, _, _, size in rows:
        added[function] += size
    _count(conn, added.items())
    if max_function_bytes is not None:
        for function in added:
            trim(conn, function, max_function_bytes)


def read(conn: sqlite3.Connection, function: str, since: int, limit: int) -> list[LogEvent]:
    rows = conn.execute(
        "SELECT cursor, function, stream, timestamp_ms, message FROM log_events "
        "WHERE function = ? AND cursor > ? ORDER BY cursor LIMIT ?",
        (function, since, limit),
    ).fetchall()
    return [LogEvent(*row) for row in rows]


def stored(conn: sqlite3.Connection, function: str) -> int:
    row = conn.execute("SELECT bytes FROM log_usage WHERE function = ?", (function,)).fetchone()
    return int(row[0]) if row else 0


def trim(conn: sqlite3.Connection, function: str, max_bytes: int) -> int:
    """Remove ``function``'s oldest lines until its log holds at most ``max_bytes``; how many went."""
    excess = stored(conn, function) - max_bytes
    if excess <= 0:
        return 0
    freed, count, last = 0, 0, 0
    lines = conn.execute("SELECT cursor, size FROM log_events WHERE function = ? ORDER BY cursor", (function,))
    for cursor, size in lines:
        freed, count, last = freed + size, count + 1, cursor
        if freed >= excess:
            break
    lines.close()
    conn.execute("DELETE FROM log_events WHERE function = ? AND cursor <= ?", (function, last))
    _count(conn, [(function, -freed)])
    return count


def trim_all(conn: sqlite3.Connection, max_bytes: int) -> int:
    over = conn.execute("SELECT function FROM log_usage WHERE bytes > ?", (max_bytes,)).fetchall()
    return sum(trim(conn, function, max_bytes) for (function,) in over)


def expire(conn: sqlite3.Connection, before_ms: int, limit: int) -> int:
    """Remove at most ``limit`` lines timestamped before ``before_ms``, function by function (each
    found through the index on function and time); how many went."""
    removed = 0
    for (function,) in conn.execute("SELECT function FROM log_usage ORDER BY function").fetchall():
        if removed >= limit:
            break
        old = conn.execute(
            "SELECT cursor, size FROM log_events WHERE function = ? AND timestamp_ms < ? LIMIT ?",
            (function, before_ms, limit - removed),
        ).fetchall()
        if not old:
            continue
        conn.executemany("DELETE FROM log_events WHERE cursor = ?", [(cursor,) for cursor, _ in old])
        _count(conn, [(function, -sum(size for _, size in old))])
        removed += len(old)
    return removed


def _count(conn: sqlite3.Connection, changes: Iterable[tuple[str, int]]) -> None:
    """Add each change to its function's total; a function left with nothing loses its row."""
    for function, change in changes:
        conn.execute(
            "INSERT INTO log_usage (function, bytes) VALUES (?, ?) "
            "ON CONFLICT (function) DO UPDATE SET bytes = bytes + excluded.bytes",
            (function, change),
        )
        conn.execute("DELETE FROM log_usage WHERE function = ? AND bytes <= 0", (function,))

"""Functions' log lines in PostgreSQL (``LogStore``), in chunks as SQLite's (``log_chunks.py``).

Replicas append, trim and expire side by side: a trim or an expiry counts what its ``DELETE``
returned, not what it chose, so that two removing the same chunk at once take it off the
function's total once.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

from psycopg import AsyncConnection

from lamina.store import log_chunks, queries
from lamina.store.base import LogEvent, LogRecord, LogStreamSummary, LogWindow
from lamina.store.log_chunks import StoredChunk
from lamina.store.postgresql.engine import PostgresEngine
from lamina.store.statements import LogsStatements


SQL = queries.load(LogsStatements, "postgresql", "logs")


class PostgresLogs(PostgresEngine):
    async def append_logs(self, records: Sequence[LogRecord], *, max_function_bytes: int | None = None) -> None:
        made = log_chunks.chunks(records, log_chunks.chunk_bytes(max_function_bytes))
        added: Counter[str] = Counter()
        for chunk in made:
            added[chunk.function] += chunk.size
        async with self._transaction() as conn:
            async with conn.cursor() as cur:
                await cur.executemany(SQL.insert_chunk, made)
            await _count(conn, added.items())
            if max_function_bytes is not None:
                for function in added:
                    await _trim(conn, function, max_function_bytes)

    async def read_logs(self, function: str, since: int, limit: int, window: LogWindow | None = None) -> list[LogEvent]:
        sql = SQL.read_chunks
        params: list[object] = [function, log_chunks.first_chunk(since)]
        if window is not None:  # only chunks that may hold lines of it (events_after takes its lines)
            if window.streams is not None:
                sql += "\n" + SQL.chunks_of_streams
                params.append(sorted(window.streams))
            if window.start_ms is not None:
                sql += "\n" + SQL.chunks_from
                params.append(window.start_ms)
            if window.end_ms is not None:
                sql += "\n" + SQL.chunks_before
                params.append(window.end_ms)
        async with self._connection() as conn:
            rows = await (await conn.execute(sql + "\n" + SQL.chunks_in_order, params)).fetchall()
        return log_chunks.events_after(function, since, limit, ((i, s, bytes(d)) for i, s, d in rows), window)

    async def log_streams(self, function: str) -> list[LogStreamSummary]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.streams, (function,))).fetchall()
        return [LogStreamSummary(name, int(first), int(last), int(size)) for name, first, last, size in rows]

    async def logged_functions(self) -> list[tuple[str, int]]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.functions)).fetchall()
        return [(name, int(size)) for name, size in rows]

    async def log_bytes(self, function: str) -> int:
        async with self._connection() as conn:
            return await _stored_bytes(conn, function)

    async def trim_logs(self, max_function_bytes: int) -> int:
        async with self._transaction() as conn:
            over = await (await conn.execute(SQL.functions_over, (max_function_bytes,))).fetchall()
            return sum([await _trim(conn, function, max_function_bytes) for (function,) in over])

    async def expire_logs(self, before_ms: int, limit: int) -> int:
        """Remove chunks whose every line is timestamped before ``before_ms``, function by function,
        until they held ``limit`` lines or more; how many lines went."""
        removed = 0
        async with self._transaction() as conn:
            for (function,) in await (await conn.execute(SQL.function_names)).fetchall():
                if removed >= limit:
                    break
                rows = await (await conn.execute(SQL.chunks_ended_before, (function, before_ms))).fetchall()
                old = log_chunks.expire(limit - removed, _stored(rows))
                if not old:
                    continue
                gone = await (await conn.execute(SQL.delete_chunk, ([chunk.id for chunk in old],))).fetchall()
                await _count(conn, [(function, -sum(int(size) for _, size in gone))])
                removed += sum(int(lines) for lines, _ in gone)
        return removed


async def _stored_bytes(conn: AsyncConnection, function: str) -> int:
    row = await (await conn.execute(SQL.stored, (function,))).fetchone()
    return int(row[0]) if row else 0


async def _trim(conn: AsyncConnection, function: str, max_bytes: int) -> int:
    """Remove ``function``'s oldest chunks until its log holds at most ``max_bytes``; how many lines went."""
    excess = await _stored_bytes(conn, function) - max_bytes
    if excess <= 0:
        return 0
    cur = await conn.execute(SQL.oldest_chunks, (function,))
    chosen: list[StoredChunk] = []
    async for row in cur:  # read only as far as the chunks that free enough
        if excess <= 0:
            break
        chunk = StoredChunk(*row)
        chosen.append(chunk)
        excess -= chunk.size
    await cur.close()
    if not chosen:
        return 0
    gone = await (await conn.execute(SQL.delete_chunks_through, (function, chosen[-1].id))).fetchall()
    await _count(conn, [(function, -sum(int(size) for _, size in gone))])
    return sum(int(lines) for lines, _ in gone)


def _stored(rows: Iterable[tuple[int, int, int]]) -> list[StoredChunk]:
    return [StoredChunk(*row) for row in rows]


async def _count(conn: AsyncConnection, changes: Iterable[tuple[str, int]]) -> None:
    """Add each change to its function's total; a function left with nothing loses its row."""
    for function, change in changes:
        await conn.execute(SQL.add_usage, (function, change))
        await conn.execute(SQL.drop_empty_usage, (function,))

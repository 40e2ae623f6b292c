"""Functions' log lines in memory (``LogStore``), in the same chunks as SQLite's."""

from __future__ import annotations

from typing import Sequence

from lamina.store import log_chunks
from lamina.store.base import LogEvent, LogRecord, LogStreamSummary, LogWindow
from lamina.store.log_chunks import StoredChunk
from lamina.store.memory.state import MemoryState


class MemoryLogs(MemoryState):
    async def append_logs(self, records: Sequence[LogRecord], *, max_function_bytes: int | None = None) -> None:
        for chunk in log_chunks.chunks(records, log_chunks.chunk_bytes(max_function_bytes)):
            self._last_chunk += 1
            self._chunks[self._last_chunk] = chunk
        if max_function_bytes is not None:
            for function in {r.function for r in records}:
                self._trim(function, max_function_bytes)

    async def read_logs(self, function: str, since: int, limit: int, window: LogWindow | None = None) -> list[LogEvent]:
        first = log_chunks.first_chunk(since)
        rows = ((i, c.stream, c.data) for i, c in self._chunks.items() if c.function == function and i >= first
                and (window is None or window.holds(c.stream, c.first_ms, c.last_ms)))  # fmt: skip
        return log_chunks.events_after(function, since, limit, rows, window)

    async def log_streams(self, function: str) -> list[LogStreamSummary]:
        found: dict[str, LogStreamSummary] = {}
        for c in self._chunks.values():
            if c.function == function:
                s = found.get(c.stream)
                found[c.stream] = LogStreamSummary(c.stream, c.first_ms, c.last_ms, c.size) if s is None else \
                    LogStreamSummary(c.stream, min(s.first_ms, c.first_ms), max(s.last_ms, c.last_ms),
                                     s.stored_bytes + c.size)  # fmt: skip
        return [found[name] for name in sorted(found)]

    async def logged_functions(self) -> list[tuple[str, int]]:
        sizes: dict[str, int] = {}
        for c in self._chunks.values():
            sizes[c.function] = sizes.get(c.function, 0) + c.size
        return sorted(sizes.items())

    async def log_bytes(self, function: str) -> int:
        return sum(c.size for c in self._chunks.values() if c.function == function)

    async def trim_logs(self, max_function_bytes: int) -> int:
        return sum(self._trim(f, max_function_bytes) for f in {c.function for c in self._chunks.values()})

    async def expire_logs(self, before_ms: int, limit: int) -> int:
        removed = 0
        for function in sorted({c.function for c in self._chunks.values()}):
            expired = sorted((c.last_ms, i) for i, c in self._chunks.items()
                             if c.function == function and c.last_ms < before_ms)  # fmt: skip
            oldest = (StoredChunk(i, self._chunks[i].lines, self._chunks[i].size) for _, i in expired)
            removed += self._remove(log_chunks.expire(limit - removed, oldest))
            if removed >= limit:
                break
        return removed

    def _trim(self, function: str, max_bytes: int) -> int:
        mine = [StoredChunk(i, c.lines, c.size) for i, c in self._chunks.items() if c.function == function]
        return self._remove(log_chunks.trim(sum(c.size for c in mine) - max_bytes, mine))

    def _remove(self, chunks: list[StoredChunk]) -> int:
        for chunk in chunks:
            del self._chunks[chunk.id]
        return sum(chunk.lines for chunk in chunks)

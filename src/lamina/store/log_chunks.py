"""Log lines stored in chunks: the pure part, shared by every store.

A chunk holds consecutive lines of one function's one log stream, written together (one
``append_logs``), so that storing a batch costs a row a stream rather than a row a line. Its
``data`` is the lines encoded compactly, columns one after the other (little-endian)::

    count: u32 | count x timestamp_ms: i64 | count x message length: u32 | the messages' UTF-8 bytes

A line's cursor is its chunk's id (increasing, never reused) shifted left by ``INDEX_BITS``, plus its
index in the chunk: cursors increase with the order lines were stored, and removing whole chunks
never changes those of the lines left.

Removing lines removes whole chunks (trimming and expiry): ``trim`` and ``expire`` here choose which
from plain rows, and the stores delete them.
"""

from __future__ import annotations

import struct
from typing import Iterable, NamedTuple, Sequence

from lamina.store.base import LOG_EVENT_OVERHEAD, LogEvent, LogRecord, LogWindow

CHUNK_BYTES = 64 * 1024  # a chunk's size (its lines' log_event_size) stays within this, unless one line is larger
# A chunk holds at most CHUNK_BYTES // LOG_EVENT_OVERHEAD lines (2,520): its indexes never reach the
# next chunk's cursors.
INDEX_BITS = 20
INDEX_MASK = (1 << INDEX_BITS) - 1

_COUNT = struct.Struct("<I")
_LINE_BYTES = 12  # a line's timestamp and length in ``data``


class Chunk(NamedTuple):
    """A chunk to store, in the column order of its table (a tuple: it is a statement's parameters).
    ``first_ms`` and ``last_ms`` are its lines' earliest and latest timestamps, ``lines`` how many it
    holds, ``size`` the sum of their ``log_event_size``."""

    function: str
    stream: str
    first_ms: int
    last_ms: int
    lines: int
    size: int
    data: bytes


class StoredChunk(NamedTuple):
    """What choosing chunks to remove reads of a stored chunk."""

    id: int
    lines: int
    size: int


def chunks(records: Sequence[LogRecord], max_bytes: int = CHUNK_BYTES) -> list[Chunk]:
    """``records`` as chunks, each a run of one stream's consecutive lines among its function's, of at
    most ``max_bytes`` of size (a larger line is a chunk alone). Each function's chunks come in the
    order of its lines, so reading a function's log by cursor gives its lines in the order they were
    written, whatever the streams (the environments) they came from: one environment's lines make
    one chunk; several environments writing at once, a chunk per run. (A store keeps chunks within a
    function's limit too, so that trimming to it keeps the newest lines.)"""
    functions: dict[str, list[LogRecord]] = {}
    for record in records:
        lines = functions.get(record.function)
        if lines is None:
            functions[record.function] = [record]
        else:
            lines.append(record)
    made: list[Chunk] = []
    for function, lines in functions.items():
        start = 0
        for end in range(1, len(lines) + 1):
            if end == len(lines) or lines[end].stream != lines[start].stream:
                made.extend(_run(function, lines[start].stream, lines[start:end], max_bytes))
                start = end
    return made


def _run(function: str, stream: str, lines: Sequence[LogRecord], max_bytes: int) -> list[Chunk]:
    """One stream's consecutive lines, as chunks within ``max_bytes``."""
    times = [line[2] for line in lines]
    messages = [line[3].encode() for line in lines]
    lengths = list(map(len, messages))
    return [_chunk(function, stream, times[start:stop], messages[start:stop], lengths[start:stop])
            for start, stop in _cuts(lengths, max_bytes)]  # fmt: skip


def _cuts(lengths: list[int], max_bytes: int) -> list[tuple[int, int]]:
    """Where to cut lines of these message lengths into chunks: ``(start, stop)`` of each."""
    if sum(lengths) + LOG_EVENT_OVERHEAD * len(lengths) <= max_bytes:
        return [(0, len(lengths))]  # the usual batch: no line-by-line look
    cuts = []
    start, size = 0, 0
    for index, length in enumerate(lengths):
        if index > start and size + length + LOG_EVENT_OVERHEAD > max_bytes:
            cuts.append((start, index))
            start, size = index, 0
        size += length + LOG_EVENT_OVERHEAD
    cuts.append((start, len(lengths)))
    return cuts


def encode(times: Sequence[int], messages: Sequence[bytes], lengths: Sequence[int] | None = None) -> bytes:
    """The ``data`` of a chunk of these lines (as many timestamps as messages; ``lengths``: the
    messages', if known)."""
    count = len(messages)
    head = struct.pack(f"<I{count}q{count}I", count, *times, *(map(len, messages) if lengths is None else lengths))
    return head + b"".join(messages)


def _chunk(function: str, stream: str, times: list[int], messages: list[bytes], lengths: list[int]) -> Chunk:
    data = encode(times, messages, lengths)
    size = sum(lengths) + LOG_EVENT_OVERHEAD * len(lengths)
    return Chunk(function, stream, min(times), max(times), len(lengths), size, data)


class Gather:
    """An SQL aggregate (``step(cursor, timestamp_ms, message)``): a chunk's ``data`` from lines given
    in any order, put in the order of their cursors (the migration from a row a line to chunks)."""

    def __init__(self) -> None:
        self._lines: list[tuple[int, int, str]] = []

    def step(self, cursor: int, timestamp_ms: int, message: str) -> None:
        self._lines.append((cursor, timestamp_ms, message))

    def finalize(self) -> bytes:
        self._lines.sort()
        return encode([line[1] for line in self._lines], [line[2].encode() for line in self._lines])


def decode(data: bytes, start: int = 0, stop: int | None = None) -> list[tuple[int, str]]:
    """The lines ``start`` to ``stop`` (an index past the last: all of them) of a chunk's ``data``,
    as ``(timestamp_ms, message)``. Raises ``ValueError`` if ``data`` is not a chunk's."""
    try:
        (count,) = _COUNT.unpack_from(data)
        times = struct.unpack_from(f"<{count}q", data, 4)
        lengths = struct.unpack_from(f"<{count}I", data, 4 + 8 * count)
    except struct.error as exc:
        raise ValueError("not a log chunk") from exc
    offset = 4 + _LINE_BYTES * count
    if offset + sum(lengths) != len(data):
        raise ValueError("not a log chunk")
    stop = count if stop is None else min(stop, count)
    offset += sum(lengths[:start])
    lines = []
    for index in range(start, stop):
        end = offset + lengths[index]
        lines.append((times[index], data[offset:end].decode()))
        offset = end
    return lines


def chunk_bytes(max_function_bytes: int | None) -> int:
    """The largest chunk to write for a function whose log is kept within ``max_function_bytes``."""
    return CHUNK_BYTES if max_function_bytes is None else max(1, min(CHUNK_BYTES, max_function_bytes))


def cursor(chunk_id: int, index: int) -> int:
    return chunk_id << INDEX_BITS | index


def first_chunk(since: int) -> int:
    """The id of the first chunk that may hold lines after cursor ``since``."""
    return max(since, 0) >> INDEX_BITS


def events_after(
    function: str, since: int, limit: int, rows: Iterable[tuple[int, str, bytes]], window: LogWindow | None = None,
) -> list[LogEvent]:  # fmt: skip
    """The first ``limit`` lines with a cursor above ``since`` in ``rows`` (a function's chunks as
    ``(id, stream, data)``, by id, from ``first_chunk(since)`` on), and in ``window`` if given (rows
    may hold chunks outside it: their lines are skipped); stops reading ``rows`` once it has them."""
    if window is not None:
        return _events_in(function, since, limit, rows, window)
    events: list[LogEvent] = []
    if limit <= 0:
        return events
    since = max(since, 0)
    for chunk_id, stream, data in rows:
        if chunk_id < since >> INDEX_BITS:
            continue
        start = (since & INDEX_MASK) + 1 if chunk_id == since >> INDEX_BITS else 0
        lines = decode(data, start, start + limit - len(events))
        events.extend(
            LogEvent(cursor(chunk_id, index), function, stream, timestamp_ms, message)
            for index, (timestamp_ms, message) in enumerate(lines, start)
        )
        if len(events) >= limit:
            break
    return events


def _events_in(
    function: str, since: int, limit: int, rows: Iterable[tuple[int, str, bytes]], window: LogWindow
) -> list[LogEvent]:
    events: list[LogEvent] = []
    since = max(since, 0)
    for chunk_id, stream, data in rows:
        if chunk_id < since >> INDEX_BITS or (window.streams is not None and stream not in window.streams):
            continue
        start = (since & INDEX_MASK) + 1 if chunk_id == since >> INDEX_BITS else 0
        for index, (timestamp_ms, message) in enumerate(decode(data, start), start):
            if window.takes(timestamp_ms):
                events.append(LogEvent(cursor(chunk_id, index), function, stream, timestamp_ms, message))
                if len(events) >= limit:
                    return events
    return events


def trim(excess: int, oldest_first: Iterable[StoredChunk]) -> list[StoredChunk]:
    """The oldest chunks to remove to free at least ``excess`` bytes (all of them if they hold less);
    stops reading ``oldest_first`` once it has them."""
    chosen: list[StoredChunk] = []
    for chunk in oldest_first:
        if excess <= 0:
            break
        chosen.append(chunk)
        excess -= chunk.size
    return chosen


def expire(limit: int, expired: Iterable[StoredChunk]) -> list[StoredChunk]:
    """Expired chunks to remove in one go: whole chunks until they hold at least ``limit`` lines;
    stops reading ``expired`` once it has them."""
    chosen: list[StoredChunk] = []
    lines = 0
    for chunk in expired:
        if lines >= limit:
            break
        chosen.append(chunk)
        lines += chunk.lines
    return chosen

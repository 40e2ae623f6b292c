"""Log chunks, the pure part: how a batch is cut into chunks, their data, and what is removed."""

from __future__ import annotations

import struct

import pytest

from lamina.store.base import LOG_EVENT_OVERHEAD, LogRecord, log_event_size
from lamina.store.log_chunks import CHUNK_BYTES, INDEX_BITS, StoredChunk, chunk_bytes, chunks, decode, encode
from lamina.store.log_chunks import expire, trim


def test_a_batch_becomes_a_chunk_a_run_of_one_stream_cut_by_size() -> None:
    batch = [LogRecord("f", "a", 5, "x"), LogRecord("g", "a", 2, "z"), LogRecord("f", "a", 3, "w"),
             LogRecord("f", "b", 1, "y"), LogRecord("f", "a", 6, "v")]  # fmt: skip
    made = chunks(batch)
    # A function's lines keep the order they came in (another function's between them do not cut a run).
    assert [(c.function, c.stream, c.first_ms, c.last_ms, c.lines) for c in made] == [
        ("f", "a", 3, 5, 2), ("f", "b", 1, 1, 1), ("f", "a", 6, 6, 1), ("g", "a", 2, 2, 1)]  # fmt: skip
    assert decode(made[0].data) == [(5, "x"), (3, "w")]
    assert made[0].size == 2 * log_event_size("x")

    most = CHUNK_BYTES // LOG_EVENT_OVERHEAD  # empty lines: what a chunk holds most of
    many = chunks([LogRecord("f", "a", t, "") for t in range(most + 1)])
    assert [c.lines for c in many] == [most, 1]
    assert most < 1 << INDEX_BITS
    line = "é" * 1000  # 2,000 bytes (2,026 counted): 32 fit in a chunk, not 33
    full = chunks([LogRecord("f", "a", 0, line)] * 40)
    assert [c.lines for c in full] == [32, 8]
    assert [c.size for c in full] == [32 * 2026, 8 * 2026]
    assert all(len(c.data) <= CHUNK_BYTES for c in full)
    huge = chunks([LogRecord("f", "a", t, m) for t, m in enumerate(["s", "h" * 2 * CHUNK_BYTES, "t"])])
    assert [c.lines for c in huge] == [1, 1, 1]  # a line larger than a chunk is one alone
    assert [decode(c.data) for c in huge][1] == [(1, "h" * 2 * CHUNK_BYTES)]
    assert [c.lines for c in chunks([LogRecord("f", "a", t, "x" * 74) for t in range(5)], max_bytes=250)] == [2, 2, 1]
    assert chunks([]) == []


def test_chunks_fit_a_function_limit_smaller_than_themselves() -> None:
    assert chunk_bytes(None) == chunk_bytes(10 * CHUNK_BYTES) == CHUNK_BYTES
    assert chunk_bytes(1000) == 1000
    assert chunk_bytes(0) == 1  # every line is then a chunk alone


def test_decoding_reads_any_slice() -> None:
    data = encode([1, -2, 2**62], [b"", "\x00\n".encode(), "é".encode()])
    assert decode(data) == [(1, ""), (-2, "\x00\n"), (2**62, "é")]
    assert decode(data, 1) == [(-2, "\x00\n"), (2**62, "é")]
    assert decode(data, 2, 3) == [(2**62, "é")]
    assert decode(data, 1, 99) == decode(data, 1)
    assert decode(data, 3) == []


@pytest.mark.parametrize("data", [
    b"", b"\x01\x00", struct.pack("<I", 1),  # cut short
    struct.pack("<I", 0xFFFFFFFF) + b"\x00" * 64,  # a count far beyond the data
    struct.pack("<IqI", 1, 0, 5) + b"abc",  # a message longer than what is left
    struct.pack("<IqI", 1, 0, 1) + b"ab",  # bytes after the last message
    struct.pack("<IqqII", 2, 0, 0, 0xFFFFFFFF, 1) + b"a",  # lengths whose sum is beyond the data
])  # fmt: skip
def test_data_that_is_not_a_chunk_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode(data)


def test_removal_takes_whole_chunks_oldest_first() -> None:
    stored = [StoredChunk(1, 3, 300), StoredChunk(2, 1, 100), StoredChunk(5, 2, 200)]
    assert trim(0, stored) == []
    assert trim(1, stored) == stored[:1]  # a whole chunk for one byte
    assert trim(301, stored) == stored[:2]
    assert trim(10_000, stored) == stored
    assert expire(0, stored) == []
    assert expire(2, stored) == stored[:1]  # three lines: at least the limit, not split
    assert expire(4, stored) == stored[:2]
    assert expire(100, stored) == stored

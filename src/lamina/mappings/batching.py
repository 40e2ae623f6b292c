"""When a batch is complete, and how much of it fits in one invocation (pure).

A batch is complete at ``max_records`` records (BatchSize), at ``max_bytes`` of event payload
(the 6 MB synchronous-invocation quota), or when the batching window has passed since its first
record, whichever comes first. Records beyond 6 MB are given back to the source untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
RECEIVE_MAX = 10  # what one ReceiveMessage returns at most
_ENVELOPE = len('{"Records": []}')
_SEPARATOR = len(", ")


@dataclass(frozen=True, slots=True)
class BatchLimits:
    max_records: int
    window_seconds: float
    max_bytes: int = MAX_PAYLOAD_BYTES
    batches: int = 1  # how many batches the poller works on at once (what a source prefetching sizes for)

    def complete(self, count: int, size: int, elapsed: float) -> bool:
        """Whether a batch of ``count`` records (``size`` bytes, its first ``elapsed`` seconds ago) is done."""
        return count >= self.max_records or size >= self.max_bytes or (count > 0 and elapsed >= self.window_seconds)

    def next_receive(self, count: int) -> int:
        """How many records to ask the source for next, with ``count`` already in the batch."""
        return max(0, min(RECEIVE_MAX, self.max_records - count))


def payload_size(record_sizes: Sequence[int]) -> int:
    """The size of ``{"Records": [...]}`` holding records of these serialised sizes."""
    return _ENVELOPE + sum(record_sizes) + _SEPARATOR * max(0, len(record_sizes) - 1)


def fitting(record_sizes: Sequence[int], max_bytes: int = MAX_PAYLOAD_BYTES) -> int:
    """How many leading records fit in one payload of ``max_bytes`` (at least one: a single record
    larger than that is the source's to refuse, not the batch's)."""
    total = _ENVELOPE
    for i, size in enumerate(record_sizes):
        total += size + (_SEPARATOR if i else 0)
        if total > max_bytes:
            return max(1, i)
    return len(record_sizes)


def visibility_timeout(queue_seconds: int, window_seconds: int, function_timeout_seconds: int) -> int | None:
    """The visibility timeout to receive with, as Lambda's SQS pollers use it: the queue's own
    (None), unless a batching window and the function's timeout together outlast it; then
    window + function timeout + 30 s, so that a batch still being gathered or worked on does not
    come back meanwhile."""
    if window_seconds > 0 and window_seconds + function_timeout_seconds > queue_seconds:
        return window_seconds + function_timeout_seconds + 30
    return None

"""What a settled batch of a stream comes to (pure): how far to checkpoint, what to retry, what to
give up, as Lambda treats DynamoDB and Kinesis streams (../shared/aws/docs/with-ddb.md).

A stream is worked on one batch at a time, in order. A batch succeeds whole (checkpoint past it),
or its records are done up to the first one that is not (batch item failures: the lowest failed
sequence number is where it starts again; a function error fails the batch from its first record).
A failed batch is retried; with BisectBatchOnFunctionError a batch that failed from its first
record is split in two halves, each delivered as a batch of its own before the stream goes on
(splitting does not count toward the retry quota); a partial failure is retried from the failed
record on ("bisected at the returned sequence number"). Once a batch failed more than
MaximumRetryAttempts times (-1: never) it is given up: described to the on-failure destination and
checkpointed past. Records older than MaximumRecordAgeInSeconds are given up before they are sent.
Records that were fetched but not attempted (the poller stopping) come again, not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
AGE_EXCEEDED = "RecordAgeExceeded"


class Status(Enum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class Progress:
    """Where the stream's head stands: failures in a row of the batch at the checkpoint, and the
    sizes of bisected batches still to deliver there (the first is next)."""

    attempts: int = 0
    segments: tuple[int, ...] = ()

    def next_size(self, batch_size: int) -> int:
        return min(batch_size, self.segments[0]) if self.segments else batch_size


@dataclass(frozen=True, slots=True)
class Outcome:
    done: int  # leading records of the batch to checkpoint past (given up ones included)
    given_up: tuple[int, int] | None  # the slice of the batch to describe to the on-failure destination
    attempts: int  # invocations the given-up batch had (approximateInvokeCount)
    progress: Progress
    retry: bool  # a failure to retry: pause first (a growing backoff by ``progress.attempts``)


def _consume(segments: tuple[int, ...], count: int) -> tuple[int, ...]:
    """``segments`` once ``count`` leading records are checkpointed past."""
    left = list(segments)
    while count > 0 and left:
        if left[0] <= count:
            count -= left.pop(0)
        else:
            left[0] -= count
            count = 0
    return tuple(left)


def settle(statuses: Sequence[Status], progress: Progress, *, max_retries: int, bisect: bool) -> Outcome:
    """What to do once every record of a batch has ``statuses`` (in the batch's order)."""
    n = len(statuses)
    first = next((i for i, s in enumerate(statuses) if s is not Status.DONE), n)
    segments = _consume(progress.segments, first)
    if first == n:
        return Outcome(n, None, 0, Progress(0, segments), retry=False)
    if Status.FAILED not in statuses[first:]:  # not attempted: comes again as it was
        return Outcome(first, None, 0, Progress(progress.attempts if first == 0 else 0, segments), retry=False)
    failed = n - first
    if first == 0 and bisect and failed > 1:
        halves = ((failed + 1) // 2, failed // 2)
        return Outcome(0, None, 0, Progress(progress.attempts, halves + _consume(segments, failed)), retry=False)
    attempts = progress.attempts + 1 if first == 0 else 1
    if first > 0 and bisect:
        segments = (failed,) + _consume(segments, failed)
    if 0 <= max_retries < attempts:
        return Outcome(n, (first, n), attempts, Progress(0, _consume(segments, failed)), retry=False)
    return Outcome(first, None, 0, Progress(attempts, segments), retry=True)


def expired(committed_ms: Sequence[int], now_ms: int, max_age_seconds: int) -> int:
    """How many leading records are older than MaximumRecordAgeInSeconds (-1: none ever are)."""
    if max_age_seconds < 0:
        return 0
    limit = now_ms - max_age_seconds * 1000
    return next((i for i, ms in enumerate(committed_ms) if ms >= limit), len(committed_ms))


def after_expiry(progress: Progress, count: int) -> Progress:
    return Progress(0, _consume(progress.segments, count)) if count else progress

"""What a settled batch of one partition comes to (pure): how far to commit, what to give up,
where to read again from.

A batch's records are in offset order, each done (the function finished it, or a filter dropped
it), failed, or released (fetched and not attempted). Everything up to the first record not done
is committed past. If a record of the rest failed, the batch counts one more failed attempt;
past ``maximum_retry_attempts`` (-1: never) the rest up to its last failed record is given up
(described to the on-failure destination) and committed past too. Whatever is left is read
again, from its first record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum


class Status(str, Enum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class Settlement:
    commit: int | None  # the offset to commit (the next one to read), if it moves
    given_up: tuple[int, int] | None  # indexes [start, end) of the records given up
    seek: int | None  # the offset to read again from (None: carry on after the batch)
    attempts: int  # failed attempts in a row of the batch now at the committed offset (given up: how many it had)
    failed: bool  # the batch failed and is read again (after a pause)


def settle(batch: Sequence[tuple[int, Status]], attempts: int, maximum_retry_attempts: int) -> Settlement:
    """``batch``: (offset, status) of each record, in order, none pending; ``attempts``: failed
    attempts of this batch before."""
    done = 0
    while done < len(batch) and batch[done][1] is Status.DONE:
        done += 1
    commit = batch[done - 1][0] + 1 if done else None
    if done:
        attempts = 0
    rest = batch[done:]
    failed = [i for i, (_, status) in enumerate(rest) if status is Status.FAILED]
    if not failed:
        return Settlement(commit, None, rest[0][0] if rest else None, attempts, False)
    attempts += 1
    if 0 <= maximum_retry_attempts < attempts:
        last = failed[-1]
        after = rest[last + 1 :]
        return Settlement(rest[last][0] + 1, (done, done + last + 1), after[0][0] if after else None, attempts, False)
    return Settlement(commit, None, rest[0][0], attempts, True)

"""What a function's answer means for its batch (pure): which records are done.

Without ReportBatchItemFailures, success means every record is done and a function error means
none is. With it, the answer's ``batchItemFailures`` names the records that failed, as
../shared/aws/docs/with-sqs.md lists: an empty or null list, an empty or null answer are complete
successes; an answer that is not JSON, or an item whose ``itemIdentifier`` is missing, empty,
null, misnamed or not a record of the batch, fails the whole batch.

For a FIFO source a failed record also holds back the later records of its message group in
the batch (AWS stops processing the group there), so that the group's order survives the retry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True, slots=True)
class Item:
    id: str  # itemIdentifier (SQS: messageId)
    group: str | None = None  # the FIFO message group, if any


def reported_failures(payload: bytes, ids: set[str]) -> set[str] | None:
    """The identifiers a ReportBatchItemFailures answer names; None when the answer is malformed
    (the whole batch failed)."""
    text = payload.strip()
    if not text or text == b"null":
        return set()
    try:
        answer = json.loads(text)
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return set()
    failures = answer.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    named: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or not identifier or identifier not in ids:
            return None
        named.add(identifier)
    return named


def done(items: Sequence[Item], failed: set[str], *, fifo: bool) -> list[Item]:
    """The records to acknowledge once ``failed`` failed: all the others, except (``fifo``) those
    that follow a failed record of their group."""
    held: set[str | None] = set()
    out: list[Item] = []
    for item in items:
        if item.id in failed:
            if fifo:
                held.add(item.group)
            continue
        if fifo and item.group in held:
            continue
        out.append(item)
    return out

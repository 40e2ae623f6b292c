"""DynamoDB stream records made of table changes (pure).

A ``Change`` becomes the record a DynamoDB stream hands Lambda (../shared/aws/docs/with-ddb.md):
eventID, eventName, eventVersion "1.1", eventSource "aws:dynamodb", awsRegion, ``dynamodb``
{ApproximateCreationDateTime (epoch seconds), Keys, NewImage / OldImage as the StreamViewType says,
SequenceNumber, SizeBytes, StreamViewType} and eventSourceARN, the table's stream. Values are in
DynamoDB's typed JSON (``typed``); SizeBytes is the size DynamoDB counts for the keys and images.

The SequenceNumber is the change's position as a decimal string of 31 digits (AWS's have 21 or
more), so it increases with the position both as a number and as text, and names the record in
``batchItemFailures``. The eventID is derived from the stream and the sequence number: a change
delivered twice has the same one.

Filters see the record itself, as Lambda's do for DynamoDB (``dynamodb.NewImage.<name>.S``).
"""

from __future__ import annotations

import base64
import decimal
import hashlib
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from lamina.streams.change import Change, Operation, Value

# 31 digits for every position below 10**30 (a PostgreSQL position, a commit LSN shifted by 32 bits,
# stays below 2**96 < 10**29): the same length always, so text order is number order.
SEQUENCE_BASE = 4 * 10**30
EVENT_VERSION = "1.1"
EVENT_SOURCE = "aws:dynamodb"


class ViewType(str, Enum):
    KEYS_ONLY = "KEYS_ONLY"
    NEW_IMAGE = "NEW_IMAGE"
    OLD_IMAGE = "OLD_IMAGE"
    NEW_AND_OLD_IMAGES = "NEW_AND_OLD_IMAGES"


Typed = dict[str, object]  # one attribute value: {"S": "..."}, {"N": "1"}, {"M": {...}}, ...


def typed(value: Value) -> Typed:
    """A value in DynamoDB's typed JSON: str S, int/float/Decimal N (exact, as a string), bool BOOL,
    None NULL, bytes B (base64), list L, dict M. A float that is no number (NaN, infinities) and
    anything else is given as its text (S): DynamoDB has no number for it."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": repr(value)} if math.isfinite(value) else {"S": repr(value)}
    if isinstance(value, decimal.Decimal):
        return {"N": str(value)} if value.is_finite() else {"S": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"B": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, (list, tuple)):
        return {"L": [typed(v) for v in value]}
    if isinstance(value, Mapping):
        return {"M": {str(k): typed(v) for k, v in value.items()}}
    return {"S": str(value)}


def image(row: Mapping[str, Value]) -> dict[str, Typed]:
    return {str(name): typed(value) for name, value in row.items()}


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").split("e")[0].split("E")[0].replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


def value_size(value: Typed) -> int:
    """The bytes DynamoDB counts for a typed value (its item size rules)."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return len(base64.b64decode(str(inner)))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L" and isinstance(inner, list):
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M" and isinstance(inner, dict):
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    return len(str(inner).encode())


def image_size(attributes: Mapping[str, Typed]) -> int:
    return sum(len(name.encode()) + value_size(v) for name, v in attributes.items())


def sequence_number(position: int) -> str:
    return str(SEQUENCE_BASE + position)


def position_of(sequence: str) -> int:
    return int(sequence) - SEQUENCE_BASE


def stream_label(created: float) -> str:
    """A stream's label as AWS writes it: the creation time, UTC, to the millisecond."""
    ms = round(created * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}"


def stream_arn(region: str, account: str, table: str, label: str) -> str:
    return f"arn:aws:dynamodb:{region}:{account}:table/{table}/stream/{label}"


@dataclass(frozen=True, slots=True)
class Stream:
    """What every record of one mapping shares."""

    region: str
    account: str
    label: str  # stream_label of the mapping's creation
    view: ViewType = ViewType.NEW_AND_OLD_IMAGES

    def arn(self, table: str) -> str:
        return stream_arn(self.region, self.account, table, self.label)


def record(stream: Stream, change: Change) -> dict[str, object]:
    """The DynamoDB stream record of ``change``."""
    keys = image(change.keys)
    dynamodb: dict[str, object] = {"ApproximateCreationDateTime": change.committed_ms // 1000, "Keys": keys}
    size = image_size(keys)
    if change.new is not None and stream.view in (ViewType.NEW_IMAGE, ViewType.NEW_AND_OLD_IMAGES):
        new = image(change.new)
        dynamodb["NewImage"] = new
        size += image_size(new)
    if change.old is not None and stream.view in (ViewType.OLD_IMAGE, ViewType.NEW_AND_OLD_IMAGES):
        old = image(change.old)
        dynamodb["OldImage"] = old
        size += image_size(old)
    sequence = sequence_number(change.position)
    dynamodb.update(SequenceNumber=sequence, SizeBytes=size, StreamViewType=stream.view.value)
    arn = stream.arn(change.table)
    return {
        "eventID": hashlib.md5(f"{arn}#{sequence}".encode(), usedforsecurity=False).hexdigest(),
        "eventName": change.operation.value if isinstance(change.operation, Operation) else str(change.operation),
        "eventVersion": EVENT_VERSION,
        "eventSource": EVENT_SOURCE,
        "awsRegion": stream.region,
        "dynamodb": dynamodb,
        "eventSourceARN": arn,
    }


def iso_seconds(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_ms // 1000))


def iso_millis(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_ms // 1000)) + f".{epoch_ms % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Failure:
    """What the on-failure record says besides the batch."""

    request_id: str
    function_arn: str
    condition: str  # RetryAttemptsExhausted or RecordAgeExceeded
    attempts: int  # approximateInvokeCount
    function_error: str | None  # "Unhandled" after function errors; None when never attempted
    shard_id: str
    now_ms: int


def shard_id(created: float, uuid: str) -> str:
    """The one shard a mapping reads, named as DynamoDB names shards."""
    return f"shardId-{round(created * 1000):020d}-{uuid.replace('-', '')[:8]}"


def on_failure_record(failure: Failure, stream: Stream, changes: Sequence[Change]) -> dict[str, object]:
    """The record AWS sends a stream mapping's on-failure destination: the batch's coordinates, not its
    records (the stream's ARN is the first change's table's)."""
    first, last = changes[0], changes[-1]
    response: dict[str, object] = {"statusCode": 200, "executedVersion": _version(failure.function_arn)}
    if failure.function_error is not None:
        response["functionError"] = failure.function_error
    return {
        "requestContext": {
            "requestId": failure.request_id, "functionArn": failure.function_arn,
            "condition": failure.condition, "approximateInvokeCount": failure.attempts,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": iso_millis(failure.now_ms),
        "DDBStreamBatchInfo": {
            "shardId": failure.shard_id,
            "startSequenceNumber": sequence_number(first.position),
            "endSequenceNumber": sequence_number(last.position),
            "approximateArrivalOfFirstRecord": iso_seconds(first.committed_ms),
            "approximateArrivalOfLastRecord": iso_seconds(last.committed_ms),
            "batchSize": len(changes),
            "streamArn": stream.arn(first.table),
        },
    }  # fmt: skip


def _version(function_arn: str) -> str:
    parts = function_arn.split(":")
    return parts[7] if len(parts) > 7 else "$LATEST"

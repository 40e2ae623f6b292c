"""CloudWatch Logs' subscription filters with a Lambda function as destination: the filters as
values, PutSubscriptionFilter's checks and wording, and the ``awslogs`` payloads delivered. Pure.

A filter is stored as a document (``to_doc``/``from_doc``, store kind ``logs/subscription-filter``,
key ``<group>:<name>``: neither may hold a colon). Its checkpoint is a document of its own (kind
``logs/subscription-checkpoint``, same key): ``since_ms`` (the filter's creation time: lines
timestamped before it are not its) and a cursor per function of its group (``read_logs``' cursors),
the last line it has dealt with.

Payloads are AWS's: ``{"awslogs": {"data": base64(gzip(DATA_MESSAGE))}}``, one log stream's matching
events each (as CloudWatch Logs batches), an event's ``id`` its cursor written in 56 digits, so that
a redelivery carries the same ids.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from lamina.store.base import LogEvent

FILTER_KIND = "logs/subscription-filter"
CHECKPOINT_KIND = "logs/subscription-checkpoint"
MAX_FILTERS = 2  # a log group's subscription filters: CloudWatch Logs' quota
DISTRIBUTIONS = ("Random", "ByLogStream")
BATCH_EVENTS = 10_000  # events a payload holds at most
BATCH_BYTES = 1024 * 1024  # their messages' bytes, before compression

_FILTER_NAME = re.compile(r"[^:*]{1,512}")
_GROUP_NAME = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")

PERMISSION_MESSAGE = ("Could not execute the lambda function. Make sure you have given CloudWatch Logs permission "
                      "to execute your function.")  # fmt: skip
SELF_MESSAGE = ("The destination function writes to this log group: its subscription would deliver its own "
                "log lines to itself.")  # fmt: skip
_OTHER_DESTINATIONS = {
    "kinesis": "Could not deliver test message to specified Kinesis stream. Check if the given kinesis stream "
               "is in ACTIVE state.",
    "firehose": "Could not deliver test message to specified Firehose stream. Check if the given Firehose "
                "stream is in ACTIVE state.",
    "logs": "Could not deliver test message to specified destination. Check if the destination is valid.",
}  # fmt: skip


class InvalidFilter(ValueError):
    """A filter refused with InvalidParameterException (AWS's messages, but for ``SELF_MESSAGE``)."""


@dataclass(frozen=True)
class SubscriptionFilter:
    group: str
    name: str
    pattern: str
    destination: str  # the function's ARN, as given
    role: str | None  # kept and answered; Lambda destinations do not use it
    distribution: str
    created_ms: int

    @property
    def key(self) -> str:
        return key_of(self.group, self.name)

    def describe(self) -> dict[str, object]:
        """As DescribeSubscriptionFilters answers it."""
        doc: dict[str, object] = {
            "filterName": self.name, "logGroupName": self.group, "filterPattern": self.pattern,
            "destinationArn": self.destination, "distribution": self.distribution,
            "applyOnTransformedLogs": False, "creationTime": self.created_ms,
        }  # fmt: skip
        if self.role is not None:
            doc["roleArn"] = self.role
        return doc

    def to_doc(self) -> dict[str, object]:
        return {"group": self.group, "name": self.name, "pattern": self.pattern, "destination": self.destination,
                "role": self.role, "distribution": self.distribution, "created_ms": self.created_ms}  # fmt: skip


def key_of(group: str, name: str) -> str:
    return f"{group}:{name}"


def from_doc(doc: Mapping[str, object]) -> SubscriptionFilter:
    role, created = doc.get("role"), doc.get("created_ms")
    return SubscriptionFilter(str(doc["group"]), str(doc["name"]), str(doc["pattern"]), str(doc["destination"]),
                              str(role) if role is not None else None, str(doc["distribution"]),
                              created if isinstance(created, int) else 0)  # fmt: skip


@dataclass(frozen=True)
class Checkpoint:
    """How far a filter has delivered: each function's last cursor dealt with; a function without
    one starts at the lines timestamped from ``since_ms`` on."""

    since_ms: int
    cursors: Mapping[str, int]

    def to_doc(self) -> dict[str, object]:
        return {"since_ms": self.since_ms, "cursors": dict(self.cursors)}


def checkpoint_from_doc(doc: Mapping[str, object]) -> Checkpoint:
    cursors = doc.get("cursors")
    since = doc.get("since_ms")
    return Checkpoint(since if isinstance(since, int) else 0,
                      {str(k): v for k, v in cursors.items() if isinstance(v, int)} if isinstance(cursors, dict)
                      else {})  # fmt: skip


def validation_error(value: object, member: str, constraint: str) -> str:
    return f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"


def check_names(group: str, name: str) -> None:
    """The group's and filter's names as botocore's model constrains them."""
    if not _GROUP_NAME.fullmatch(group):
        raise InvalidFilter(validation_error(group, "logGroupName", "Member must satisfy regular expression "
                                             "pattern: [\\.\\-_/#A-Za-z0-9]+"))  # fmt: skip
    if not _FILTER_NAME.fullmatch(name):
        raise InvalidFilter(validation_error(name, "filterName", "Member must satisfy regular expression pattern: "
                                             "[^:*]*"))  # fmt: skip


def check_pattern_size(pattern: str) -> None:
    if len(pattern) > 1024:
        raise InvalidFilter(validation_error(pattern[:64] + "...", "filterPattern",
                                             "Member must have length less than or equal to 1024"))  # fmt: skip


def check_distribution(distribution: str) -> None:
    if distribution not in DISTRIBUTIONS:
        raise InvalidFilter(validation_error(distribution, "distribution",
                                             "Member must satisfy enum value set: [Random, ByLogStream]"))  # fmt: skip


def destination_service(arn: str) -> str:
    """The service an ARN names (``lambda``, ``kinesis`` ...); InvalidFilter if it is no ARN."""
    parts = arn.split(":", 5)
    if len(arn) > 2048 or len(parts) < 6 or parts[0] != "arn" or not parts[2]:
        raise InvalidFilter("Invalid destinationArn")
    return parts[2]


def other_destination_message(service: str) -> str:
    """What CloudWatch Logs answers a destination Lamina cannot deliver to (Kinesis, Firehose, ...)."""
    return _OTHER_DESTINATIONS.get(service, "Invalid destinationArn")


# --- payloads -------------------------------------------------------------------------------------------


def event_id(cursor: int) -> str:
    return f"{cursor:056d}"


def batches(events: Sequence[LogEvent], max_events: int = BATCH_EVENTS, max_bytes: int = BATCH_BYTES) -> list[list[LogEvent]]:
    """``events`` (in cursor order) cut into batches of one stream's consecutive events, each of at most
    ``max_events`` events and ``max_bytes`` of messages (a larger message is a batch alone)."""
    found: list[list[LogEvent]] = []
    size = 0
    for event in events:
        length = len(event.message.encode())
        current = found[-1] if found else None
        if (current is None or current[-1].stream != event.stream or len(current) >= max_events
                or size + length > max_bytes):  # fmt: skip
            found.append([event])
            size = length
        else:
            current.append(event)
            size += length
    return found


def data_message(owner: str, group: str, filter_name: str, batch: Sequence[LogEvent]) -> dict[str, object]:
    return {
        "messageType": "DATA_MESSAGE", "owner": owner, "logGroup": group, "logStream": batch[0].stream,
        "subscriptionFilters": [filter_name],
        "logEvents": [{"id": event_id(e.cursor), "timestamp": e.timestamp_ms, "message": e.message} for e in batch],
    }  # fmt: skip


def encode(message: Mapping[str, object]) -> bytes:
    """The invocation's payload: ``message`` as JSON, gzipped, in base64, under ``awslogs.data``."""
    raw = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    data = base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode()
    return json.dumps({"awslogs": {"data": data}}).encode()


def payloads(owner: str, group: str, filter_name: str, batch: Sequence[LogEvent],
             max_payload: int) -> list[tuple[Sequence[LogEvent], bytes]]:  # fmt: skip
    """``batch`` as payloads of at most ``max_payload`` bytes, halved until each fits; with the events
    each holds. A single event too large for one (it cannot be delivered) is left out."""
    payload = encode(data_message(owner, group, filter_name, batch))
    if len(payload) <= max_payload:
        return [(batch, payload)]
    if len(batch) == 1:
        return []
    half = len(batch) // 2
    return (payloads(owner, group, filter_name, batch[:half], max_payload)
            + payloads(owner, group, filter_name, batch[half:], max_payload))  # fmt: skip

"""Queues as SQS describes them (pure): names, ARNs, URLs, and the attributes a queue is created
or changed with, validated and normalised as SQS does, with AWS's wording."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

from lamina.queues.errors import InvalidAttributeName, InvalidAttributeValue, InvalidParameterValue

FIFO_SUFFIX = ".fifo"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_ARN = re.compile(r"^arn:aws:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_.-]{1,80})$")

DEFAULTS: Mapping[str, str] = {
    "DelaySeconds": "0",
    "MaximumMessageSize": "1048576",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "true",
}
FIFO_DEFAULTS: Mapping[str, str] = {
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "queue",
    "FifoThroughputLimit": "perQueue",
}
_RANGES: Mapping[str, tuple[int, int]] = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 1048576),
    "MessageRetentionPeriod": (60, 1209600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43200),
    "KmsDataKeyReusePeriodSeconds": (60, 86400),
}
_CHOICES: Mapping[str, tuple[str, ...]] = {
    "SqsManagedSseEnabled": ("true", "false"),
    "ContentBasedDeduplication": ("true", "false"),
    "DeduplicationScope": ("messageGroup", "queue"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
_FIFO_ONLY = ("ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
_FREE = ("Policy", "KmsMasterKeyId", "RedriveAllowPolicy", "RedrivePolicy")
SETTABLE = frozenset(_RANGES) | frozenset(_CHOICES) | frozenset(_FREE) | {"FifoQueue"}
COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")
READABLE = SETTABLE | frozenset(COUNTS) | {"CreatedTimestamp", "LastModifiedTimestamp", "QueueArn"}


@dataclass(frozen=True, slots=True)
class RedrivePolicy:
    dead_letter_arn: str
    max_receive_count: int


def check_name(name: str, fifo: bool) -> None:
    base = name[: -len(FIFO_SUFFIX)] if fifo and name.endswith(FIFO_SUFFIX) else name
    if fifo and not name.endswith(FIFO_SUFFIX):
        raise InvalidParameterValue(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end "
            "with .fifo suffix and be 1 to 80 in length."
        )
    if not _NAME.match(base) or len(name) > 80:
        raise InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )


def arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def arn_parts(value: str) -> tuple[str, str, str] | None:
    """``(region, account, name)`` of a queue ARN; None if it is not one."""
    found = _ARN.match(value)
    return (found[1], found[2], found[3]) if found else None


def url(base: str, account: str, name: str) -> str:
    """A queue's URL, LocalStack's path style: ``<base>/<account>/<name>``."""
    return f"{base.rstrip('/')}/{account}/{name}"


def name_from_url(value: str) -> tuple[str | None, str] | None:
    """``(account, name)`` of the queue a QueueUrl names (its path's last two segments), whatever
    its host; a bare queue name is accepted too (account None), as SQS accepts one."""
    path = urlsplit(value).path if "://" in value else value
    parts = [p for p in path.split("/") if p]
    if not parts or len(parts) > 2 or (len(parts) == 2 and not parts[0].isdigit()):
        return None
    return (parts[0] if len(parts) == 2 else None), parts[-1]


def _invalid(name: str) -> InvalidAttributeValue:
    return InvalidAttributeValue(f"Invalid value for the parameter {name}.")


def normalise(raw: Mapping[str, object], *, fifo: bool, creating: bool) -> dict[str, str]:
    """Queue attributes as CreateQueue or SetQueueAttributes pass them, checked and normalised
    (numbers without leading zeros, the redrive policy as SQS writes it back). ``FifoQueue`` is
    only accepted when creating (``creating``), and must agree with ``fifo``."""
    out: dict[str, str] = {}
    for name, value in raw.items():
        if name not in SETTABLE or (name in _FIFO_ONLY and not fifo):
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        if not isinstance(value, str):
            raise _invalid(name)
        if name == "FifoQueue":
            if not creating:
                raise InvalidAttributeName("Unknown Attribute FifoQueue.")
            if value.lower() not in ("true", "false") or (value.lower() == "true") != fifo:
                raise _invalid(name)
            continue
        if name in _RANGES:
            low, high = _RANGES[name]
            if not re.fullmatch(r"\d{1,10}", value.strip()) or not low <= int(value) <= high:
                raise _invalid(name)
            out[name] = str(int(value))
        elif name in _CHOICES:
            choices = {c.lower(): c for c in _CHOICES[name]}
            if value.lower() not in choices:
                raise _invalid(name)
            out[name] = choices[value.lower()]
        elif name == "RedrivePolicy":
            out[name] = _redrive_policy(value) if value else ""
        elif name == "RedriveAllowPolicy":
            out[name] = _redrive_allow_policy(value) if value else ""
        elif name == "Policy":
            out[name] = _policy(value) if value else ""
        else:
            out[name] = value
    return out


def _policy(value: str) -> str:
    """A queue policy: a JSON object (stored as given; not enforced)."""
    try:
        doc = json.loads(value)
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        raise _invalid("Policy")
    return value


def _redrive_policy(value: str) -> str:
    def bad(reason: str) -> InvalidParameterValue:
        return InvalidParameterValue(f"Value {value} for parameter RedrivePolicy is invalid. Reason: {reason}")

    try:
        doc = json.loads(value)
    except (ValueError, RecursionError):
        raise bad("Redrive policy is not a valid JSON map.") from None
    if not isinstance(doc, dict):
        raise bad("Redrive policy is not a valid JSON map.")
    target, count = doc.get("deadLetterTargetArn"), doc.get("maxReceiveCount")
    if not isinstance(target, str) or count is None:
        raise bad("Redrive policy does not contain mandatory attribute: "
                  f"{'deadLetterTargetArn' if not isinstance(target, str) else 'maxReceiveCount'}.")  # fmt: skip
    if arn_parts(target) is None:
        raise bad("Invalid value for deadLetterTargetArn.")
    out_of_range = bad(f"Invalid value for maxReceiveCount: {count}, valid values are from 1 to 1000 both inclusive.")
    try:
        number = int(str(count))
    except ValueError:
        raise out_of_range from None
    if not 1 <= number <= 1000 or isinstance(count, bool):
        raise out_of_range
    return json.dumps({"deadLetterTargetArn": target, "maxReceiveCount": number}, separators=(",", ":"))


def _redrive_allow_policy(value: str) -> str:
    try:
        doc = json.loads(value)
    except (ValueError, RecursionError):
        doc = None
    permission = doc.get("redrivePermission") if isinstance(doc, dict) else None
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise InvalidParameterValue(
            f"Value {value} for parameter RedriveAllowPolicy is invalid. Reason: Amazon SQS can't create the "
            "redrive allow policy, as it's in an unsupported format."
        )
    return json.dumps(doc, separators=(",", ":"))


def redrive_policy(attributes: Mapping[str, str]) -> RedrivePolicy | None:
    text = attributes.get("RedrivePolicy")
    if not text:
        return None
    doc = json.loads(text)
    return RedrivePolicy(doc["deadLetterTargetArn"], int(doc["maxReceiveCount"]))


def allows_source(dlq_attributes: Mapping[str, str], source_arn: str) -> bool:
    """Whether a dead-letter queue's RedriveAllowPolicy lets ``source_arn`` use it."""
    text = dlq_attributes.get("RedriveAllowPolicy")
    if not text:
        return True
    doc = json.loads(text)
    permission = doc.get("redrivePermission")
    if permission == "denyAll":
        return False
    if permission == "byQueue":
        return source_arn in (doc.get("sourceQueueArns") or [])
    return True


def check_tags(tags: object) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise InvalidParameterValue("Tags must be a map of strings.")
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise InvalidParameterValue(f"Tag {key} is invalid.")
    if len(tags) > 50:
        raise InvalidParameterValue("Too many tags added for queue.")
    return dict(tags)

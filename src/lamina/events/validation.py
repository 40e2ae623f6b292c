"""EventBridge's request constraints, in its wording: pure checks of a request's members.

A member botocore's model requires and the request lacks is caught by the SDK before it is sent;
these checks are what the service itself answers (``ValidationException``, 400).
"""

from __future__ import annotations

import re
from typing import Mapping

from lamina.control.validation import constraint
from lamina.errors import ValidationError

_RULE_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
_BUS_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,256}$")
_BUS_REF = re.compile(r"^(arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:event-bus/)?[/\.\-_A-Za-z0-9]{1,256}$")
_TARGET_ID = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
MAX_LIMIT = 100


def text(body: Mapping[str, object], member: str, required: bool = False) -> str | None:
    value = body.get(member)
    if value is None:
        if required:
            raise ValidationError(f"1 validation error detected: Value null at '{_lower(member)}' failed to satisfy "
                                  "constraint: Member must not be null")  # fmt: skip
        return None
    if not isinstance(value, str):
        raise ValidationError(f"Parameter {member} is not valid.")
    return value


MAX_PATTERN_LENGTH = 4096  # EventPattern, as botocore's model bounds it


def event_pattern(body: Mapping[str, object], required: bool = False) -> str | None:
    """A request's EventPattern, within EventBridge's length (a pattern is compiled at once)."""
    value = text(body, "EventPattern", required)
    if value is not None and len(value) > MAX_PATTERN_LENGTH:
        raise constraint(value[:64] + "...", "eventPattern",
                         f"Member must have length less than or equal to {MAX_PATTERN_LENGTH}")  # fmt: skip
    return value


def rule_name(value: str, member: str = "name") -> str:
    if not _RULE_NAME.match(value):
        raise constraint(value, member, "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")
    return value


def new_bus_name(value: str) -> str:
    if len(value) > 256 or not _BUS_NAME.match(value):
        raise constraint(value, "name", "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")
    if value.startswith("aws."):
        raise ValidationError("Event bus name must not start with 'aws.'.")
    return value


def bus_reference(value: str | None, member: str = "eventBusName") -> str | None:
    """A bus named by name or ARN (as EventBusName accepts both)."""
    if value is not None and not _BUS_REF.match(value):
        raise constraint(value, member, "Member must satisfy regular expression pattern: "
                         "(arn:aws[\\w-]*:events:[a-z]{2}-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[/\\.\\-_A-Za-z0-9]+")
    return value


def target_id(value: object) -> str:
    if not isinstance(value, str) or not _TARGET_ID.match(value):
        raise constraint(value, "id", "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")
    return value


def limit(body: Mapping[str, object]) -> int:
    value = body.get("Limit", MAX_LIMIT)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_LIMIT:
        raise constraint(value, "limit", f"Member must have value less than or equal to {MAX_LIMIT}")
    return value


def tags(value: object) -> dict[str, str]:
    """A Tags list ([{"Key", "Value"}]) as a mapping."""
    if value is None:
        return {}
    if not isinstance(value, list):
        raise ValidationError("Parameter Tags is not valid.")
    found: dict[str, str] = {}
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("Key"), str) or not isinstance(
            item.get("Value"), str
        ):
            raise ValidationError("Parameter Tags is not valid.")
        key, val = str(item["Key"]), str(item["Value"])
        if not 1 <= len(key) <= 128 or len(val) > 256:
            raise constraint(key, "tags.member.key", "Member must have length less than or equal to 128")
        found[key] = val
    return found


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _lower(member: str) -> str:
    return member[:1].lower() + member[1:]

"""S3's checks of a notification configuration, in the order S3 makes them, with its codes and
wording: event types it knows, filter rules (``prefix`` or ``suffix``, any case, one of each, at
most 1,024 bytes), no two configurations that overlap, then destinations that can be reached.
Pure: destinations are asked through the ``Destinations`` given."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, replace
from typing import Callable

from lamina.objects.errors import InvalidArgument
from lamina.objects.notifications.matching import overlap
from lamina.objects.notifications.model import EVENT_TYPES, Configuration, Kind, Notifications

MAX_RULE_VALUE_BYTES = 1024
UNREACHABLE = "Unable to validate the following destination configurations"
# What S3 says of each destination it could not validate (ArgumentValueN beside its ARN).
_DETAIL = {
    Kind.FUNCTION: "Not authorized to invoke function [{arn}]",
    Kind.QUEUE: "Permissions on the destination queue do not allow S3 to publish notifications from this bucket",
    Kind.TOPIC: "Permissions on the destination topic do not allow S3 to publish notifications from this bucket",
}


@dataclass(frozen=True)
class Destinations:
    """Whether a function ARN names a function that exists (its qualifier too), and whether a queue
    ARN names a queue that takes S3's notifications (it exists and is not FIFO), and whether its
    policy lets S3 send for a bucket (``sender``: queue ARN, bucket ARN; None: every queue's does).
    Topics never do: Lamina has no SNS yet."""

    function: Callable[[str], bool]
    queue: Callable[[str], bool]
    sender: Callable[[str, str], bool] | None = None


def new_id() -> str:
    """An id as S3 makes one for a configuration given none: a UUID's text, base64-encoded."""
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


def validate(given: Notifications, make_id: Callable[[], str] = new_id) -> Notifications:
    """``given`` with ids made where there were none and filter rule names as S3 lists them
    (``Prefix``, ``Suffix``); ``InvalidArgument`` for what S3 refuses."""
    checked = tuple(_configuration(c, make_id) for c in given.configurations)
    for i, a in enumerate(checked):
        for b in checked[i + 1 :]:
            if overlap(a, b):
                raise InvalidArgument(
                    "Configurations overlap. Configurations on the same bucket cannot share a common event type."
                )
    return replace(given, configurations=checked)


def _configuration(c: Configuration, make_id: Callable[[], str]) -> Configuration:
    for event in c.events:
        if event not in EVENT_TYPES:
            raise InvalidArgument("The event is not supported for notifications")
    rules: list[tuple[str, str]] = []
    for name, value in c.rules:
        lowered = name.lower()
        if lowered not in ("prefix", "suffix"):
            raise InvalidArgument("filter rule name must be either prefix or suffix")
        normal = lowered.capitalize()
        if any(seen == normal for seen, _ in rules):
            raise InvalidArgument(f"Cannot specify more than one {lowered} rule in a filter.")
        if len(value.encode()) > MAX_RULE_VALUE_BYTES:
            raise InvalidArgument("Size of filter rule value cannot exceed 1024 bytes in UTF-8 representation")
        rules.append((normal, value))
    return replace(c, id=c.id or make_id(), rules=tuple(rules))


def check_destinations(notifications: Notifications, destinations: Destinations, bucket: str = "") -> None:
    """``InvalidArgument`` naming each destination that cannot be reached (ArgumentName1 its ARN,
    ArgumentValue1 why, then 2, ...), as S3 answers; nothing when every one can. A queue must also
    let S3 send to it for ``bucket``."""
    fields: dict[str, str] = {}
    seen: set[str] = set()
    for c in notifications.configurations:
        if c.arn in seen:
            continue
        seen.add(c.arn)
        reachable = (
            destinations.function(c.arn) if c.kind is Kind.FUNCTION
            else destinations.queue(c.arn) and (destinations.sender is None or destinations.sender(
                c.arn, f"arn:aws:s3:::{bucket}")) if c.kind is Kind.QUEUE
            else False
        )  # fmt: skip
        if not reachable:
            n = len(fields) // 2 + 1
            fields[f"ArgumentName{n}"] = c.arn
            fields[f"ArgumentValue{n}"] = _DETAIL[c.kind].format(arn=c.arn)
    if fields:
        raise InvalidArgument(UNREACHABLE, **fields)

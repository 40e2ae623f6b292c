"""Which of a bucket's configurations a change concerns: its event type (``s3:ObjectCreated:*``
covers every ``s3:ObjectCreated:...``) and its key's prefix and suffix filter. Pure."""

from __future__ import annotations

from lamina.objects.notifications.model import Configuration


def covers(pattern: str, event: str) -> bool:
    """Whether the event type ``pattern`` (``s3:ObjectCreated:*`` or ``s3:ObjectCreated:Put``) takes
    ``event`` (``s3:ObjectCreated:Put``)."""
    return pattern == event or (pattern.endswith(":*") and event.startswith(pattern[:-1]))


def matches(configuration: Configuration, event: str, key: str) -> bool:
    """Whether ``configuration`` asks for the change ``event`` (S3's name without ``s3:``, as
    ``ObjectChange.event``) of the object ``key`` (as stored)."""
    name = "s3:" + event
    return (
        any(covers(pattern, name) for pattern in configuration.events)
        and key.startswith(configuration.prefix)
        and key.endswith(configuration.suffix)
    )


def overlap(a: Configuration, b: Configuration) -> bool:
    """Whether two configurations of one bucket would both take some change: S3 refuses that
    ("Configurations overlap"): a common event type, prefixes one of which starts the other, and
    suffixes one of which ends the other (an absent filter is the empty string, which overlaps all)."""
    common = any(covers(x, y) or covers(y, x) for x in a.events for y in b.events)
    return (
        common
        and (a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix))
        and (a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix))
    )

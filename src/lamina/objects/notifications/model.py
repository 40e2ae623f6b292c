"""A bucket's notification configuration as values, and the event types S3 knows.

A ``Configuration`` is one of the bucket's TopicConfiguration, QueueConfiguration or
CloudFunctionConfiguration (LambdaFunctionConfiguration in the SDKs): an id, a destination ARN, the
event types it asks for (``s3:ObjectCreated:*`` covers every ``s3:ObjectCreated:...``) and its key
filter (at most one prefix and one suffix rule, kept in the order given). ``Notifications`` is the
whole of a bucket's: its configurations in the order S3 lists them, and whether EventBridge
receives every event. Its ``doc`` is what the store keeps (kind ``s3/notification``, key the bucket).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Mapping

KIND = "s3/notification"  # the store's resource kind; the key is the bucket's name

# botocore's model (s3 2006-03-01, shape Event): every event type a configuration may name.
EVENT_TYPES = frozenset({
    "s3:ReducedRedundancyLostObject", "s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy", "s3:ObjectCreated:CompleteMultipartUpload", "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated", "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post", "s3:ObjectRestore:Completed", "s3:Replication:*",
    "s3:Replication:OperationFailedReplication", "s3:Replication:OperationNotTracked",
    "s3:Replication:OperationMissedThreshold", "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:ObjectRestore:Delete", "s3:LifecycleTransition", "s3:IntelligentTiering", "s3:ObjectAcl:Put",
    "s3:LifecycleExpiration:*", "s3:LifecycleExpiration:Delete", "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:ObjectTagging:*", "s3:ObjectTagging:Put", "s3:ObjectTagging:Delete", "s3:ObjectAnnotation:*",
    "s3:ObjectAnnotation:Put", "s3:ObjectAnnotation:Delete", "s3:ObjectRetention:Put", "s3:MultipartUpload:*",
    "s3:MultipartUpload:PartUploaded", "s3:MultipartUpload:PartCopied", "s3:MultipartUpload:Aborted",
})  # fmt: skip


class Kind(enum.Enum):
    """A configuration's kind, by its XML element: <TopicConfiguration>, <QueueConfiguration>,
    <CloudFunctionConfiguration>; ``arn_element`` is its destination's element."""

    TOPIC = "Topic"
    QUEUE = "Queue"
    FUNCTION = "CloudFunction"

    @property
    def element(self) -> str:
        return f"{self.value}Configuration"

    @property
    def arn_element(self) -> str:
        return self.value


# The order S3 lists configurations in (botocore's NotificationConfiguration members).
KIND_ORDER = (Kind.TOPIC, Kind.QUEUE, Kind.FUNCTION)


@dataclass(frozen=True)
class Configuration:
    kind: Kind
    id: str
    arn: str
    events: tuple[str, ...]  # as given, "s3:..." each
    rules: tuple[tuple[str, str], ...] = ()  # ("Prefix" | "Suffix", value), in the order given

    @property
    def prefix(self) -> str:
        return next((value for name, value in self.rules if name == "Prefix"), "")

    @property
    def suffix(self) -> str:
        return next((value for name, value in self.rules if name == "Suffix"), "")

    def doc(self) -> dict[str, object]:
        return {"kind": self.kind.value, "id": self.id, "arn": self.arn, "events": list(self.events),
                "rules": [[name, value] for name, value in self.rules]}  # fmt: skip

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> Configuration:
        events, rules = doc.get("events"), doc.get("rules")
        return cls(
            Kind(str(doc["kind"])), str(doc["id"]), str(doc["arn"]),
            tuple(str(e) for e in events) if isinstance(events, list) else (),
            tuple((str(r[0]), str(r[1])) for r in rules if isinstance(r, list) and len(r) == 2)
            if isinstance(rules, list) else (),
        )  # fmt: skip


@dataclass(frozen=True)
class Notifications:
    """A bucket's notification configuration (empty: none)."""

    configurations: tuple[Configuration, ...] = ()
    eventbridge: bool = False

    @property
    def empty(self) -> bool:
        return not self.configurations and not self.eventbridge

    def doc(self) -> dict[str, object]:
        return {"configurations": [c.doc() for c in self.configurations], "eventbridge": self.eventbridge}

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> Notifications:
        configurations = doc.get("configurations")
        return cls(
            tuple(Configuration.from_doc(c) for c in configurations if isinstance(c, dict))
            if isinstance(configurations, list) else (),
            doc.get("eventbridge") is True,
        )  # fmt: skip

"""What a change looks like to its destinations, as AWS shapes it. Pure: everything comes from the
``ObjectChange`` and the ``Origin``.

- ``body``: the S3 event notification a function or a queue receives, ``{"Records": [record]}``:
  eventVersion 2.1, the key URL-encoded as S3 encodes it (``hello world.jpg`` is ``hello+world.jpg``),
  size and eTag for a creation only, versionId only in a versioned bucket, eventTime in milliseconds.
- ``eventbridge``: the event S3 puts on the account's default bus for a bucket with EventBridge on:
  source ``aws.s3``, detail-type "Object Created" / "Object Deleted" / ..., detail version "0", the key
  as stored. Changes EventBridge has no event for give None.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from lamina.events.envelope import Envelope
from lamina.objects.change import ObjectChange

EVENT_VERSION = "2.1"
SCHEMA_VERSION = "1.0"
# Bytes S3 leaves as they are in an event's key (as Java's URLEncoder does, and "/"); a space is "+".
_KEPT = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.*/")
# EventBridge's detail-type and reason for each change S3 sends it.
_CREATED_REASONS = {"Put": "PutObject", "Post": "POST Object", "Copy": "CopyObject",
                    "CompleteMultipartUpload": "CompleteMultipartUpload"}  # fmt: skip
_DELETION_TYPES = {"Delete": "Permanently Deleted", "DeleteMarkerCreated": "Delete Marker Created"}


@dataclass(frozen=True)
class Origin:
    """Where the events come from: the region, and the account that owns the buckets."""

    region: str
    account: str


def encode_key(key: str) -> str:
    """A key as S3 writes it in an event record (application/x-www-form-urlencoded, "/" kept)."""
    return "".join(
        chr(b) if b in _KEPT else "+" if b == 0x20 else f"%{b:02X}" for b in key.encode("utf-8")
    )


def host_id(request_id: str) -> str:
    """The x-amz-id-2 a record names: derived from the request id (one per request, as S3's is)."""
    return base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode()


def event_time(time_ms: int) -> str:
    """ISO 8601 with milliseconds, as S3 writes eventTime: 2019-09-03T19:37:27.192Z."""
    moment = datetime.fromtimestamp(time_ms / 1000, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time_ms % 1000:03d}Z"


def record(change: ObjectChange, configuration_id: str, origin: Origin) -> dict[str, object]:
    """One S3 event record, key for key in the order S3 writes it."""
    obj: dict[str, object] = {"key": encode_key(change.key)}
    if change.event.startswith("ObjectCreated:"):
        obj["size"] = change.size
        obj["eTag"] = change.etag
    if change.version_id is not None:
        obj["versionId"] = change.version_id
    obj["sequencer"] = change.sequencer
    return {
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:s3",
        "awsRegion": origin.region,
        "eventTime": event_time(change.time_ms),
        "eventName": change.event,
        "userIdentity": {"principalId": change.principal},
        "requestParameters": {"sourceIPAddress": change.source_ip},
        "responseElements": {"x-amz-request-id": change.request_id, "x-amz-id-2": host_id(change.request_id)},
        "s3": {
            "s3SchemaVersion": SCHEMA_VERSION,
            "configurationId": configuration_id,
            "bucket": {
                "name": change.bucket,
                "ownerIdentity": {"principalId": origin.account},
                "arn": bucket_arn(change.bucket),
            },
            "object": obj,
        },
    }


def body(change: ObjectChange, configuration_id: str, origin: Origin) -> bytes:
    """What a function's invocation or a queue's message carries: ``{"Records": [record]}``."""
    return json.dumps({"Records": [record(change, configuration_id, origin)]}, separators=(",", ":")).encode()


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def eventbridge(change: ObjectChange, origin: Origin) -> Envelope | None:
    """The event S3 sends EventBridge for ``change`` (None: it sends none for it). Its id is derived
    from the change, so the same change always makes the same event."""
    family, _, action = change.event.partition(":")
    obj: dict[str, object] = {"key": change.key}
    extra: dict[str, object] = {}
    if family == "ObjectCreated" and action in _CREATED_REASONS:
        detail_type, reason = "Object Created", _CREATED_REASONS[action]
        obj.update(size=change.size, etag=change.etag)
    elif family == "ObjectRemoved" and action in _DELETION_TYPES:
        detail_type, reason = "Object Deleted", "DeleteObject"
        extra["deletion-type"] = _DELETION_TYPES[action]
    elif family == "ObjectTagging" and action in ("Put", "Delete"):
        detail_type, reason = ("Object Tags Added" if action == "Put" else "Object Tags Deleted"), None
        obj["etag"] = change.etag
    elif change.event == "ObjectAcl:Put":
        detail_type, reason = "Object ACL Updated", None
        obj["etag"] = change.etag
    else:
        return None
    if change.version_id is not None:
        obj["version-id"] = change.version_id
    obj["sequencer"] = change.sequencer
    detail: dict[str, object] = {
        "version": "0",
        "bucket": {"name": change.bucket},
        "object": obj,
        "request-id": change.request_id,
        "requester": change.principal,
        "source-ip-address": change.source_ip,
    }
    if reason is not None:
        detail["reason"] = reason
    detail.update(extra)
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"s3://{change.bucket}/{change.key}#{change.sequencer}/{change.event}")
    return Envelope(
        str(event_id), detail_type, "aws.s3", origin.account,
        datetime.fromtimestamp(change.time_ms // 1000, timezone.utc), origin.region,
        (bucket_arn(change.bucket),), detail,
    )  # fmt: skip

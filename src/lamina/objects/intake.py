"""The intake of S3-format event notifications from object stores Lamina does not run (MinIO, Ceph
RGW, SeaweedFS, Garage): who may post, and which records a body holds. Pure; served by
api/object_events.py.

A sender proves itself with the token of ``LAMINA_OBJECT_EVENTS_TOKEN``: ``Authorization: Bearer
<token>`` (MinIO's webhook target sends its ``auth_token`` so), or HTTP Basic with the token as the
password (for senders that can only put credentials in the URL), compared in constant time. The
body is MinIO's (``{"EventName", "Key", "Records": [...]}``) or AWS's and Ceph's
(``{"Records": [...]}``); each record must look like an S3 event record (an ``eventName`` and an
``s3`` member naming the bucket and the object's key). A record's ``eventName`` loses the ``s3:``
MinIO puts before it (``s3:ObjectCreated:Put`` is AWS's ``ObjectCreated:Put``); nothing else of it
is changed. Each record becomes one event, ``{"Records": [record]}``, as S3 invokes functions.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Mapping

from lamina.errors import AccessDenied, ApiError, InvalidRequestContent, ResourceNotFound

MAX_BODY_BYTES = 1024 * 1024  # what one asynchronous invocation may carry: a sender's batch is one record
MAX_RECORDS = 100


class IntakeOff(ResourceNotFound):
    """The intake has no token configured, so it takes nothing."""


class TokenMissing(ApiError):
    code = "UnauthorizedException"
    status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="lamina object events"'}


OFF = IntakeOff("The object-events intake is off: set LAMINA_OBJECT_EVENTS_TOKEN to turn it on.")


def authorize(authorization: str | None, token: str) -> None:
    """Nothing if ``authorization`` (the header) carries ``token``; ``TokenMissing`` (401) without
    credentials, ``AccessDenied`` (403) with the wrong ones."""
    if not authorization or not authorization.strip():
        raise TokenMissing("The request has no token: send Authorization: Bearer <LAMINA_OBJECT_EVENTS_TOKEN>.")
    scheme, _, given = authorization.strip().partition(" ")
    presented = given.strip()
    if scheme.lower() == "basic":
        try:
            presented = base64.b64decode(presented, validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            presented = ""
    elif scheme.lower() != "bearer":
        raise TokenMissing("The request has no token: send Authorization: Bearer <LAMINA_OBJECT_EVENTS_TOKEN>.")
    if not hmac.compare_digest(presented.encode(), token.encode()):
        raise AccessDenied("The token is not the one LAMINA_OBJECT_EVENTS_TOKEN names.")


def records(body: object) -> list[Mapping[str, object]]:
    """The S3 event records a parsed body holds, ``eventName`` without ``s3:``;
    ``InvalidRequestContent`` for a body that is not an S3 event notification."""
    found = body.get("Records") if isinstance(body, dict) else None
    if not isinstance(found, list) or not found:
        raise InvalidRequestContent("The body is not an S3 event notification: it has no Records.")
    if len(found) > MAX_RECORDS:
        raise InvalidRequestContent(f"The body holds more than {MAX_RECORDS} records.")
    taken: list[Mapping[str, object]] = []
    for index, record in enumerate(found):
        problem = _problem(record)
        if problem is not None:
            raise InvalidRequestContent(f"Records[{index}] is not an S3 event record: {problem}.")
        assert isinstance(record, dict)
        name = str(record["eventName"])
        taken.append({**record, "eventName": name[3:]} if name.startswith("s3:") else record)
    return taken


def _problem(record: object) -> str | None:
    if not isinstance(record, dict):
        return "not an object"
    if not isinstance(record.get("eventName"), str) or not record["eventName"]:
        return "no eventName"
    s3 = record.get("s3")
    if not isinstance(s3, dict):
        return "no s3 member"
    bucket, obj = s3.get("bucket"), s3.get("object")
    if not isinstance(bucket, dict) or not isinstance(bucket.get("name"), str):
        return "no s3.bucket.name"
    if not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
        return "no s3.object.key"
    return None


def payload(record: Mapping[str, object]) -> bytes:
    """The event one record makes for its function, as S3 sends it."""
    return json.dumps({"Records": [record]}, separators=(",", ":")).encode()

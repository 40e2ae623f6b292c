"""A RabbitMQ message as Lambda's ``aws:rmq`` event shows it, and as filters see it (pure).

The event is AWS's (../shared/aws/docs/with-mq.md): ``{"eventSource": "aws:rmq",
"eventSourceArn": <broker ARN>, "rmqMessagesByQueue": {"<queue>::<vhost>": [{"basicProperties":
{...}, "redelivered": bool, "data": <base64 body>}]}}``. basicProperties lists every AMQP 0-9-1
property, null when absent; header values that are strings or bytes become ``{"bytes": [...]}``,
as Lambda's Java poller writes them; the timestamp reads as Java's default date format does
("Jan 1, 1970, 12:33:41 AM", UTC). Filters see the record with ``data`` decoded (UTF-8) and parsed
when it is JSON (../shared/aws/docs/invocation-eventfiltering.md); a body that is not UTF-8 is
filtered on its metadata only.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypedDict

EVENT_SOURCE = "aws:rmq"


@dataclass(frozen=True, slots=True)
class Properties:
    """A message's AMQP basic properties, as plain values."""

    content_type: str | None = None
    content_encoding: str | None = None
    headers: Mapping[str, object] = field(default_factory=dict)
    delivery_mode: int | None = None
    priority: int | None = None
    correlation_id: str | None = None
    reply_to: str | None = None
    expiration_ms: int | None = None
    message_id: str | None = None
    timestamp: dt.datetime | None = None
    type: str | None = None
    user_id: str | None = None
    app_id: str | None = None
    cluster_id: str | None = None


BasicProperties = TypedDict("BasicProperties", {
    "contentType": str | None, "contentEncoding": str | None, "headers": dict[str, object],
    "deliveryMode": int | None, "priority": int | None, "correlationId": str | None, "replyTo": str | None,
    "expiration": str | None, "messageId": str | None, "timestamp": str | None, "type": str | None,
    "userId": str | None, "appId": str | None, "clusterId": str | None, "bodySize": int,
})  # fmt: skip


class RmqMessage(TypedDict):
    basicProperties: BasicProperties
    redelivered: bool
    data: str  # the body, base64


def header_value(value: object) -> object:
    """An AMQP header value as JSON, as Lambda writes it."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytes": list(bytes(value))}
    if isinstance(value, str):
        return {"bytes": list(value.encode())}
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return java_date(value)
    if isinstance(value, Mapping):
        return {str(k): header_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [header_value(v) for v in value]
    return str(value)


def java_date(moment: dt.datetime) -> str:
    """``Jan 1, 1970, 12:33:41 AM``: Java's default medium date-time format, in UTC."""
    utc = moment.astimezone(dt.timezone.utc) if moment.tzinfo else moment
    hour = utc.hour % 12 or 12
    return f"{utc:%b} {utc.day}, {utc.year}, {hour}:{utc:%M:%S} {'AM' if utc.hour < 12 else 'PM'}"


def basic_properties(props: Properties, body_size: int) -> BasicProperties:
    return {
        "contentType": props.content_type,
        "contentEncoding": props.content_encoding,
        "headers": {str(k): header_value(v) for k, v in props.headers.items()},
        "deliveryMode": props.delivery_mode,
        "priority": props.priority,
        "correlationId": props.correlation_id,
        "replyTo": props.reply_to,
        "expiration": None if props.expiration_ms is None else str(props.expiration_ms),
        "messageId": props.message_id,
        "timestamp": None if props.timestamp is None else java_date(props.timestamp),
        "type": props.type,
        "userId": props.user_id,
        "appId": props.app_id,
        "clusterId": props.cluster_id,
        "bodySize": body_size,
    }


def rmq_record(props: Properties, body: bytes, redelivered: bool) -> RmqMessage:
    """One message as it appears in the event."""
    return {
        "basicProperties": basic_properties(props, len(body)),
        "redelivered": redelivered,
        "data": base64.b64encode(body).decode(),
    }


def filter_view(record: RmqMessage, body: bytes) -> dict[str, object]:
    """The record as filters see it: ``data`` decoded, and parsed when it is JSON."""
    view: dict[str, object] = {"basicProperties": record["basicProperties"], "redelivered": record["redelivered"]}
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return view
    try:
        view["data"] = json.loads(text)
    except ValueError:
        view["data"] = text
    return view


def queue_key(queue: str, vhost: str) -> str:
    """``pizzaQueue::/``: how the event names a queue of a virtual host."""
    return f"{queue}::{vhost}"


def event(broker_arn: str, key: str, records: Sequence[Mapping[str, object]]) -> bytes:
    return json.dumps({
        "eventSource": EVENT_SOURCE, "eventSourceArn": broker_arn, "rmqMessagesByQueue": {key: list(records)},
    }).encode()  # fmt: skip


def event_of(broker_arn: str, key: str, encoded: Sequence[str]) -> bytes:
    """The event of records already written as JSON text (``json.dumps`` of ``rmq_record``'s): the
    same document ``event`` makes of them."""
    return (f'{{"eventSource": "{EVENT_SOURCE}", "eventSourceArn": {json.dumps(broker_arn)}, '
            f'"rmqMessagesByQueue": {{{json.dumps(key)}: [{", ".join(encoded)}]}}}}').encode()  # fmt: skip

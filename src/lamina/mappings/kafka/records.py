"""Kafka records as AWS shapes them (pure): the event's record, the record as filters see it, the
event, and the record an on-failure destination receives.

The event (with-kafka.md; ../shared/aws/events/powertools-python/kafkaEventSelfManaged.json)::

    {"eventSource": "SelfManagedKafka", "bootstrapServers": "host:port,...",
     "records": {"<topic>-<partition>": [{"topic", "partition", "offset", "timestamp",
                 "timestampType", "key" (base64), "value" (base64),
                 "headers": [{"<name>": [byte values]}]}]}}

Filters see ``key`` and ``value`` decoded as UTF-8 and parsed when they hold JSON
(invocation-eventfiltering.md: "Kafka ... messages must be UTF-8 encoded strings, either plain
strings or in JSON format"); a value that is not UTF-8 leaves only the metadata to filter on.

A mapping reads records far faster than it looks into them, so the hot path does as little per
record as it can: ``Encoder`` writes a record's JSON text straight from the message (the same
document ``kafka_record`` builds, without building it), ``event_of`` joins those texts, and
``Lazy`` stands for the record and its filter view, built only if something asks (a filter, an
on-failure record).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol, TypedDict


EVENT_SOURCE = "SelfManagedKafka"
TIMESTAMP_TYPES = {0: "CREATE_TIME", 1: "LOG_APPEND_TIME"}


@dataclass(frozen=True, slots=True)
class Message:
    """What the consumer read: one record of one partition."""

    topic: str
    partition: int
    offset: int
    timestamp: int  # epoch milliseconds
    timestamp_type: int  # Kafka's: 0 create time, 1 log append time
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


class MessageLike(Protocol):
    """A consumed record as aiokafka's ConsumerRecord (or ``Message``) has it."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def timestamp_type(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


class KafkaRecord(TypedDict, total=False):
    topic: str
    partition: int
    offset: int
    timestamp: int
    timestampType: str
    key: str
    value: str
    headers: list[dict[str, list[int]]]


def group(topic: str, partition: int) -> str:
    return f"{topic}-{partition}"


def kafka_record(message: MessageLike) -> KafkaRecord:
    record = KafkaRecord(
        topic=message.topic, partition=message.partition, offset=message.offset, timestamp=message.timestamp,
        timestampType=TIMESTAMP_TYPES.get(message.timestamp_type, "NO_TIMESTAMP_TYPE"),
    )  # fmt: skip
    if message.key is not None:
        record["key"] = base64.b64encode(message.key).decode()
    if message.value is not None:
        record["value"] = base64.b64encode(message.value).decode()
    record["headers"] = [{name: list(value or b"")} for name, value in message.headers]
    return record


def _decoded(data: bytes | None) -> object:
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def filter_view(record: KafkaRecord, message: MessageLike) -> dict[str, object]:
    """The record as filters see it: key and value decoded (JSON parsed), metadata as in the event."""
    view: dict[str, object] = dict(record)
    for name, data in (("key", message.key), ("value", message.value)):
        decoded = _decoded(data)
        if decoded is None:
            view.pop(name, None)
        else:
            view[name] = decoded
    return view


def view_of(message: MessageLike) -> dict[str, object]:
    """The filter view of a message's record."""
    return filter_view(kafka_record(message), message)


def event(bootstrap: str, records: Sequence[Mapping[str, object]]) -> bytes:
    grouped: dict[str, list[Mapping[str, object]]] = {}
    for record in records:
        grouped.setdefault(group(str(record["topic"]), int(str(record["partition"]))), []).append(record)
    return json.dumps({"eventSource": EVENT_SOURCE, "bootstrapServers": bootstrap, "records": grouped}).encode()


class Encoder:
    """A record's JSON text in the event, as ``json.dumps(kafka_record(message))`` writes it (ASCII
    only, so its length is its size in bytes), from f-strings: the part naming the topic and
    partition is escaped once per partition, key and value are base64 and need no escaping."""

    def __init__(self) -> None:
        self._heads: dict[tuple[str, int], str] = {}

    def _head(self, topic: str, partition: int) -> str:
        head = self._heads.get((topic, partition))
        if head is None:
            head = self._heads[(topic, partition)] = f'{{"topic": {json.dumps(topic)}, "partition": {int(partition)}, "offset": '
        return head

    def encode_all(self, messages: Sequence[MessageLike]) -> list[str]:
        """``encode`` of each of ``messages``, all of one partition, in one loop (the hot path)."""
        if not messages:
            return []
        head = self._head(messages[0].topic, messages[0].partition)
        b64, kinds = binascii.b2a_base64, TIMESTAMP_TYPES
        texts: list[str] = []
        append = texts.append
        for m in messages:
            key, value, headers = m.key, m.value, m.headers
            k = "" if key is None else ', "key": "' + b64(key, newline=False).decode() + '"'
            v = "" if value is None else ', "value": "' + b64(value, newline=False).decode() + '"'
            h = json.dumps([{name: list(data or b"")} for name, data in headers]) if headers else "[]"
            kind = kinds.get(m.timestamp_type, "NO_TIMESTAMP_TYPE")
            append(f'{head}{int(m.offset)}, "timestamp": {int(m.timestamp)}, "timestampType": "{kind}"{k}{v}, "headers": {h}}}')
        return texts

    def encode(self, m: MessageLike) -> str:
        head = self._head(m.topic, m.partition)
        kind = TIMESTAMP_TYPES.get(m.timestamp_type, "NO_TIMESTAMP_TYPE")
        key = "" if m.key is None else f', "key": "{base64.b64encode(m.key).decode()}"'
        value = "" if m.value is None else f', "value": "{base64.b64encode(m.value).decode()}"'
        headers = json.dumps([{name: list(data or b"")} for name, data in m.headers]) if m.headers else "[]"
        return (f'{head}{int(m.offset)}, "timestamp": {int(m.timestamp)}, "timestampType": "{kind}"'
                f'{key}{value}, "headers": {headers}}}')  # fmt: skip


def event_of(bootstrap: str, grouped: Mapping[str, Sequence[str]]) -> bytes:
    """The event holding records already encoded (``Encoder``), by "<topic>-<partition>": the
    same document ``event`` makes of them."""
    groups = ", ".join(f"{json.dumps(name)}: [{', '.join(texts)}]" for name, texts in grouped.items())
    return (f'{{"eventSource": "{EVENT_SOURCE}", "bootstrapServers": {json.dumps(bootstrap)}, '
            f'"records": {{{groups}}}}}').encode()  # fmt: skip


def _iso(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Failure:
    """A batch given up on, for the on-failure record."""

    request_id: str
    function_arn: str
    attempts: int
    function_error: str | None  # the invocation's X-Amz-Function-Error, if it answered
    executed_version: str
    bootstrap: str
    consumer_group_id: str
    payload_size: int
    now_ms: int


def on_failure_record(failure: Failure, records: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """The record AWS sends a Kafka mapping's on-failure destination: the batch's coordinates, not
    its records (condition RetryAttemptsExhausted)."""
    info: dict[str, dict[str, str]] = {}
    for record in records:
        key = group(str(record["topic"]), int(str(record["partition"])))
        offset, timestamp = str(record["offset"]), _iso(int(str(record["timestamp"])))
        if key not in info:
            info[key] = {"firstRecordOffset": offset, "firstRecordTimestamp": timestamp}
        info[key].update(lastRecordOffset=offset, lastRecordTimestamp=timestamp)
    response: dict[str, object] = {"statusCode": 200, "executedVersion": failure.executed_version}
    if failure.function_error is not None:
        response["functionError"] = failure.function_error
    return {
        "requestContext": {
            "requestId": failure.request_id, "functionArn": failure.function_arn,
            "condition": "RetryAttemptsExhausted", "approximateInvokeCount": failure.attempts,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": _iso(failure.now_ms),
        "KafkaBatchInfo": {
            "batchSize": len(records), "bootstrapServers": failure.bootstrap,
            "consumerGroupId": failure.consumer_group_id, "payloadSize": failure.payload_size,
            "recordsInfo": info,
        },
    }  # fmt: skip

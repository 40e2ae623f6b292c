"""``lamina event generate KIND [--key=value ...]``: a sample event as a trigger would deliver it.

Each sample is one of AWS's own (``samples/``, copied unchanged from AWS's public repositories: see
samples/SOURCES.md), trimmed to one record, with fresh ids and times on every call, and changed
where the command line says: ``--bucket=photos`` (a name the kind lists in ``KINDS``) or any value
by its path in the event (``--Records.0.awsRegion=eu-west-1``). A value takes the type of the one
it replaces (``--size=12`` stays a number); a new path gets JSON if the value parses as JSON.

Everything but reading the sample is pure: ``generate`` is given the clock and the id source.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from typing import Any, Callable, Mapping, Sequence

from lamina.cli.errors import UsageError

MAX_PATH_DEPTH = 32
MAX_LIST_INDEX = 1000  # a path may extend a list by one item, never jump far past its end


@dataclass(frozen=True)
class Option:
    """A named override: the paths it sets, each from a format of the value (``{}``)."""

    paths: tuple[tuple[str, str], ...]
    help: str
    encode: str = ""  # "base64": the value as given is encoded; "json": parsed as JSON


@dataclass(frozen=True)
class Kind:
    sample: str
    describe: str
    fresh: tuple[tuple[str, str], ...]  # (path, what to put there: see _FRESH)
    options: Mapping[str, Option] = field(default_factory=dict)
    trim: tuple[str, ...] = ()  # lists kept to their first item
    finish: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def _sqs_finish(event: dict[str, Any]) -> dict[str, Any]:
    record = event["Records"][0]
    record["md5OfBody"] = hashlib.md5(str(record["body"]).encode(), usedforsecurity=False).hexdigest()
    return event


def _kafka_finish(event: dict[str, Any]) -> dict[str, Any]:
    """The records are keyed ``topic-partition``: keep the key true to the record's topic."""
    (records,) = event["records"].values()
    record = records[0]
    event["records"] = {f"{record['topic']}-{record['partition']}": records}
    return event


def _bus_finish(event: dict[str, Any]) -> dict[str, Any]:
    """AWS's sample was replayed from an archive; an event as a rule first delivers it has no replay-name."""
    event.pop("replay-name", None)
    return event


def _logs_finish(event: dict[str, Any]) -> dict[str, Any]:
    """CloudWatch Logs delivers its document gzipped and base64-encoded in ``awslogs.data``."""
    data = json.dumps(event["awslogs"]["data"], separators=(",", ":")).encode()
    return {"awslogs": {"data": base64.b64encode(gzip.compress(data, mtime=0)).decode()}}


def _logs_prepare(event: dict[str, Any]) -> dict[str, Any]:
    document = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    return {"awslogs": {"data": document}}


_S3 = "Records.0.s3"
_LOGS = "awslogs.data"
KINDS: dict[str, Kind] = {
    "s3": Kind("s3.json", "an object created in a bucket (S3 event notification)",
               fresh=(("Records.0.eventTime", "iso_ms"), ("Records.0.responseElements.x-amz-request-id", "hex16"),
                      (f"{_S3}.object.sequencer", "hex16"), (f"{_S3}.object.eTag", "hex32")),
               options={"bucket": Option(((f"{_S3}.bucket.name", "{}"), (f"{_S3}.bucket.arn", "arn:aws:s3:::{}")),
                                         "the bucket's name"),
                        "key": Option(((f"{_S3}.object.key", "{}"),), "the object's key"),
                        "size": Option(((f"{_S3}.object.size", "{}"),), "the object's size in bytes"),
                        "event-name": Option((("Records.0.eventName", "{}"),), "e.g. ObjectRemoved:Delete")},
               trim=("Records",)),
    "sqs": Kind("sqs.json", "a message from a queue (SQS event source mapping)",
                fresh=(("Records.0.messageId", "uuid"), ("Records.0.attributes.SentTimestamp", "epoch_ms_text"),
                       ("Records.0.attributes.ApproximateFirstReceiveTimestamp", "epoch_ms_text")),
                options={"body": Option((("Records.0.body", "{}"),), "the message body"),
                         "queue": Option((("Records.0.eventSourceARN", "arn:aws:sqs:us-east-2:123456789012:{}"),),
                                         "the queue's name")},
                trim=("Records",), finish=_sqs_finish),
    "sns": Kind("sns.json", "a notification from a topic (SNS subscription)",
                fresh=(("Records.0.Sns.MessageId", "uuid"), ("Records.0.Sns.Timestamp", "iso_ms")),
                options={"message": Option((("Records.0.Sns.Message", "{}"),), "the message"),
                         "subject": Option((("Records.0.Sns.Subject", "{}"),), "the subject"),
                         "topic": Option((("Records.0.Sns.TopicArn", "arn:aws:sns:us-east-2:123456789012:{}"),),
                                         "the topic's name")},
                trim=("Records",)),
    "apigw-v1": Kind("apigw-v1.json", "a REST API request (API Gateway, payload format 1.0)",
                     fresh=(("requestContext.requestId", "uuid"), ("requestContext.requestTime", "clf"),
                            ("requestContext.requestTimeEpoch", "epoch_ms")),
                     options={"path": Option((("path", "{}"), ("resource", "{}"), ("requestContext.path", "{}")),
                                             "the request's path"),
                              "method": Option((("httpMethod", "{}"), ("requestContext.httpMethod", "{}")),
                                               "the HTTP method"),
                              "body": Option((("body", "{}"),), "the request body")}),
    "apigw-v2": Kind("apigw-v2.json", "an HTTP API request (API Gateway, payload format 2.0)",
                     fresh=(("requestContext.requestId", "uuid"), ("requestContext.time", "clf"),
                            ("requestContext.timeEpoch", "epoch_ms")),
                     options={"path": Option((("rawPath", "{}"), ("requestContext.http.path", "{}")),
                                             "the request's path"),
                              "method": Option((("requestContext.http.method", "{}"),), "the HTTP method"),
                              "body": Option((("body", "{}"),), "the request body")}),
    "schedule": Kind("schedule.json", "a scheduled rule firing (EventBridge)",
                     fresh=(("id", "uuid"), ("time", "iso_s")),
                     options={"rule": Option((("resources.0", "arn:aws:events:us-east-2:123456789012:rule/{}"),),
                                             "the rule's name")}),
    "eventbridge": Kind("eventbridge.json", "an event from an event bus (EventBridge rule)",
                        fresh=(("id", "uuid"), ("time", "iso_s")),
                        options={"source": Option((("source", "{}"),), "the event's source"),
                                 "detail-type": Option((("detail-type", "{}"),), "the event's detail-type"),
                                 "detail": Option((("detail", "{}"),), "the detail, a JSON object", encode="json")},
                        finish=_bus_finish),
    "kafka": Kind("kafka.json", "a record from a Kafka topic (Amazon MSK event source mapping)",
                  fresh=(("records.mytopic-0.0.timestamp", "epoch_ms"),),
                  options={"topic": Option((("records.mytopic-0.0.topic", "{}"),), "the topic"),
                           "value": Option((("records.mytopic-0.0.value", "{}"),), "the record's value (text)",
                                           encode="base64"),
                           "key": Option((("records.mytopic-0.0.key", "{}"),), "the record's key (text)",
                                         encode="base64")},
                  finish=_kafka_finish),
    "mq": Kind("mq.json", "a message from an Amazon MQ (ActiveMQ) queue",
               fresh=(("messages.0.timestamp", "epoch_ms"), ("messages.0.brokerInTime", "epoch_ms"),
                      ("messages.0.brokerOutTime", "epoch_ms")),
               options={"data": Option((("messages.0.data", "{}"),), "the message (text)", encode="base64"),
                        "queue": Option((("messages.0.destination.physicalName", "{}"),), "the queue")},
               trim=("messages",)),
    "dynamodb": Kind("dynamodb.json", "an item change from a DynamoDB stream",
                     fresh=(("Records.0.eventID", "hex32"), ("Records.0.dynamodb.ApproximateCreationDateTime", "epoch_s"),
                            ("Records.0.dynamodb.SequenceNumber", "sequence")),
                     options={"event-name": Option((("Records.0.eventName", "{}"),), "INSERT, MODIFY or REMOVE")},
                     trim=("Records",)),
    "kinesis": Kind("kinesis.json", "a record from a Kinesis stream",
                    fresh=(("Records.0.kinesis.sequenceNumber", "sequence"),
                           ("Records.0.kinesis.approximateArrivalTimestamp", "epoch_s")),
                    options={"data": Option((("Records.0.kinesis.data", "{}"),), "the record's data (text)",
                                            encode="base64"),
                             "partition-key": Option((("Records.0.kinesis.partitionKey", "{}"),), "the partition key"),
                             "stream": Option((("Records.0.eventSourceARN",
                                                "arn:aws:kinesis:us-east-2:123456789012:stream/{}"),), "the stream")},
                    trim=("Records",)),
    "cloudwatch-logs": Kind("cloudwatch-logs.json", "log events from a subscription filter (CloudWatch Logs)",
                            fresh=((f"{_LOGS}.logEvents.0.id", "sequence"),
                                   (f"{_LOGS}.logEvents.0.timestamp", "epoch_ms")),
                            options={"group": Option(((f"{_LOGS}.logGroup", "{}"),), "the log group"),
                                     "stream": Option(((f"{_LOGS}.logStream", "{}"),), "the log stream"),
                                     "message": Option(((f"{_LOGS}.logEvents.0.message", "{}"),), "the log message")},
                            trim=(f"{_LOGS}.logEvents",), finish=_logs_finish),
    "iot": Kind("iot.json", "a message an AWS IoT rule forwards (the message itself)", fresh=(),
                options={"serial": Option((("serialNumber", "{}"),), "the device's serial number")}),
}
_PREPARE: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"cloudwatch-logs": _logs_prepare}


def sample(kind: str) -> dict[str, Any]:
    """AWS's sample for ``kind``, as shipped."""
    text = (resources.files("lamina.cli") / "samples" / KINDS[kind].sample).read_text("utf-8")
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def parse_overrides(arguments: Sequence[str]) -> list[tuple[str, str]]:
    """``--key=value`` (or ``--key value``) pairs, in order."""
    pairs: list[tuple[str, str]] = []
    items = list(arguments)
    while items:
        item = items.pop(0)
        if not item.startswith("--") or len(item) == 2:
            raise UsageError(f"expected --KEY=VALUE, got {item!r}.")
        key, sep, value = item[2:].partition("=")
        if not sep:
            if not items:
                raise UsageError(f"--{key} needs a value: --{key}=VALUE.")
            value = items.pop(0)
        pairs.append((key, value))
    return pairs


def generate(kind: str, overrides: Sequence[tuple[str, str]] = (), *, now: datetime | None = None,
             new_id: Callable[[], uuid.UUID] = uuid.uuid4) -> dict[str, Any]:  # fmt: skip
    if kind not in KINDS:
        raise UsageError(f"no sample event {kind!r}; choose one of: {', '.join(KINDS)}.")
    spec = KINDS[kind]
    moment = now or datetime.now(timezone.utc)
    event = sample(kind)
    prepare = _PREPARE.get(kind)
    if prepare is not None:
        event = prepare(event)
    for path in spec.trim:
        items = _get(event, path)
        if isinstance(items, list):
            del items[1:]
    for path, what in spec.fresh:
        _set(event, path, _FRESH[what](moment, new_id), typed=False)
    for key, value in overrides:
        option = spec.options.get(key)
        if option is None:
            if "." not in key and key not in event:
                names = ", ".join(f"--{name}" for name in spec.options) or "none"
                raise UsageError(f"{kind} events have no --{key} (named options: {names}; or a path into the "
                                 "event, e.g. --Records.0.awsRegion=eu-west-1).")  # fmt: skip
            _set(event, key, value, typed=True)
            continue
        encoded = _encode(key, value, option.encode)
        for path, pattern in option.paths:
            _set(event, path, pattern.format(encoded) if isinstance(encoded, str) else encoded, typed=True)
    return spec.finish(event) if spec.finish else event


def _encode(key: str, value: str, how: str) -> object:
    if how == "base64":
        return base64.b64encode(value.encode()).decode()
    if how == "json":
        try:
            return json.loads(value)
        except ValueError as exc:
            raise UsageError(f"--{key} must be JSON ({exc}).") from None
    return value


def _steps(path: str) -> list[str]:
    steps = path.split(".")
    if len(steps) > MAX_PATH_DEPTH or any(not step for step in steps):
        raise UsageError(f"{path!r} is not a path into the event (names and list indexes joined by dots).")
    return steps


def _get(event: Any, path: str) -> Any:
    node = event
    for step in _steps(path):
        node = node[int(step)] if isinstance(node, list) else node[step]
    return node


def _set(event: dict[str, Any], path: str, value: object, *, typed: bool) -> None:
    """Put ``value`` at ``path``; with ``typed``, a text value takes the type of the one it replaces."""
    steps = _steps(path)
    node: Any = event
    for depth, step in enumerate(steps):
        last = depth == len(steps) - 1
        if isinstance(node, list):
            if not step.isdigit() or int(step) > min(len(node), MAX_LIST_INDEX):
                raise UsageError(f"{path!r}: {step!r} is not an index of that list (it has {len(node)} items).")
            index = int(step)
            if index == len(node):
                node.append(None if last else {})
            if last:
                node[index] = _typed(node[index], value) if typed else value
                return
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[step] = _typed(node.get(step), value) if typed else value
                return
            node = node.setdefault(step, {})
        else:
            raise UsageError(f"{path!r} goes through a value that is neither an object nor a list.")


def _typed(current: object, value: object) -> object:
    if not isinstance(value, str):
        return value
    if isinstance(current, str):
        return value
    try:
        if isinstance(current, bool):
            return {"true": True, "false": False}[value.lower()]
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        return json.loads(value)
    except (KeyError, ValueError):
        if current is None:
            return value
        wanted = {bool: "true or false", int: "an integer", float: "a number"}.get(type(current), "JSON")
        raise UsageError(f"{value!r} is not {wanted}, as the value it replaces is.") from None


def _fresh_sequence(moment: datetime, new_id: Callable[[], uuid.UUID]) -> str:
    return str(int(moment.timestamp() * 1_000_000) * 10**30 + new_id().int % 10**30)


_FRESH: dict[str, Callable[[datetime, Callable[[], uuid.UUID]], object]] = {
    "uuid": lambda moment, new_id: str(new_id()),
    "hex16": lambda moment, new_id: new_id().hex[:16].upper(),
    "hex32": lambda moment, new_id: new_id().hex,
    "iso_ms": lambda moment, new_id: moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
    "iso_s": lambda moment, new_id: moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
    "clf": lambda moment, new_id: moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
    "epoch_ms": lambda moment, new_id: int(moment.timestamp() * 1000),
    "epoch_ms_text": lambda moment, new_id: str(int(moment.timestamp() * 1000)),
    "epoch_s": lambda moment, new_id: round(moment.timestamp(), 3),
    "sequence": _fresh_sequence,
}


def describe() -> list[str]:
    """One line a kind, with its named options: ``lamina event generate --help``'s list."""
    return [f"  {name:<16} {kind.describe}" + (f" ({', '.join('--' + o for o in kind.options)})" if kind.options
                                                else "") for name, kind in KINDS.items()]  # fmt: skip

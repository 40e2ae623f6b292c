"""CreateEventSourceMapping's and UpdateEventSourceMapping's input, checked as AWS checks it.

First the API model's constraints (types, ranges, patterns, enums: ``ValidationException``, every
broken one listed in one message, as AWS lists them), then what the source kind allows
(``InvalidParameterValueException``, AWS's wording): ``parse``, ``check_sqs`` and
``check_rabbitmq`` are pure; the
function's and the queue's existence are the service's to check, after these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from lamina.errors import InvalidParameterValue, ValidationError
from lamina.events.pattern import InvalidEventPattern, compile_pattern
from lamina.mappings.model import REPORT_BATCH_ITEM_FAILURES, SourceKind

Body = Mapping[str, object]

_ARN = re.compile(
    r"^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)$"
)
_ARN_RULE = ("Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:"
             "((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)")  # fmt: skip
_FUNCTION = re.compile(
    r"^(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?"
    r"(?P<name>[a-zA-Z0-9-_\.]+)(:(?P<qualifier>\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?$"
)
_FUNCTION_RULE = ("Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?"
                  "((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?"
                  "([a-zA-Z0-9-_\\.]+)(:(\\$LATEST(\\.PUBLISHED)?|[a-zA-Z0-9-_]+))?")  # fmt: skip
_RANGES = {  # key: (field as AWS names it, low, high)
    "BatchSize": ("batchSize", 1, 10_000),
    "MaximumBatchingWindowInSeconds": ("maximumBatchingWindowInSeconds", 0, 300),
    "ParallelizationFactor": ("parallelizationFactor", 1, 10),
    "MaximumRecordAgeInSeconds": ("maximumRecordAgeInSeconds", -1, 604_800),
    "MaximumRetryAttempts": ("maximumRetryAttempts", -1, 10_000),
    "TumblingWindowInSeconds": ("tumblingWindowInSeconds", 0, 900),
}
_POSITIONS = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")
# Options only stream and Kafka sources take (AWS refuses each for SQS), in the order AWS checks them.
STREAM_OPTIONS = (
    "DestinationConfig", "StartingPosition", "StartingPositionTimestamp", "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError", "MaximumRetryAttempts", "ParallelizationFactor", "TumblingWindowInSeconds",
    "Topics", "Queues", "SourceAccessConfigurations", "SelfManagedEventSource",
    "SelfManagedKafkaEventSourceConfig", "AmazonManagedKafkaEventSourceConfig", "DocumentDBEventSourceConfig",
)  # fmt: skip
# Sources Lamina does not read yet, by the ARN's service: refused rather than mapped to nothing.
_NOT_YET = {
    "kinesis": "Amazon Kinesis streams", "dynamodb": "Amazon DynamoDB streams", "kafka": "Amazon MSK (Kafka) clusters",
    "rds": "Amazon DocumentDB change streams",
}  # fmt: skip
_ACCESS_TYPES = ("BASIC_AUTH", "VPC_SUBNET", "VPC_SECURITY_GROUP", "SASL_SCRAM_512_AUTH", "SASL_SCRAM_256_AUTH",
                 "VIRTUAL_HOST", "CLIENT_CERTIFICATE_TLS_AUTH", "SERVER_ROOT_CA_CERTIFICATE")  # fmt: skip
_URI = re.compile(r"^[a-zA-Z0-9-/*:_+=.@-]*$")
MQ_DEFAULT_BATCH = 100
SQS_MAX_BATCH = 10_000
FIFO_MAX_BATCH = 10
DEFAULT_BATCH = 10


@dataclass(frozen=True, slots=True)
class Request:
    """What a Create or Update request says; None where it says nothing."""

    function_name: str | None = None  # as given: a name, partial or full ARN, maybe qualified
    source_arn: str | None = None
    enabled: bool | None = None
    batch_size: int | None = None
    batching_window: int | None = None
    filters: tuple[str, ...] | None = None  # () clears them on an update
    response_types: tuple[str, ...] | None = None
    scaling_given: bool = False
    maximum_concurrency: int | None = None  # with scaling_given: None removes it
    stream_options: tuple[str, ...] = ()  # the stream-only options present, in STREAM_OPTIONS' order
    self_managed: bool = False  # SelfManagedEventSource (Kafka)
    queues: tuple[str, ...] | None = None  # Queues (Amazon MQ)
    access: tuple[tuple[str, str], ...] | None = None  # SourceAccessConfigurations: (Type, URI)


def function_parts(value: str) -> tuple[str, str | None]:
    """(name, qualifier or None) of a FunctionName (``ValidationError`` if it is not one)."""
    match = _FUNCTION.match(value) if 1 <= len(value) <= 256 else None
    if match is None:
        raise _errors([_violation(value, "functionName", _FUNCTION_RULE)])
    return match["name"], match["qualifier"]


def _errors(found: list[str]) -> ValidationError:
    noun = "error" if len(found) == 1 else "errors"
    return ValidationError(f"{len(found)} validation {noun} detected: " + "; ".join(found))


def _violation(value: object, field: str, rule: str) -> str:
    shown = "null" if value is None else f"'{value}'"
    return f"Value {shown} at '{field}' failed to satisfy constraint: {rule}"


def parse(body: Body, *, create: bool) -> Request:
    """The request's values, or ``ValidationError`` listing every model constraint it breaks
    (``InvalidParameterValue`` for a value of the wrong JSON type)."""
    found: list[str] = []
    fn = body.get("FunctionName")
    if fn is None and create:
        found.append(_violation(None, "functionName", "Member must not be null"))
    elif fn is not None:
        if not isinstance(fn, str):
            raise InvalidParameterValue("FunctionName must be a string")
        if not 1 <= len(fn) <= 256:
            found.append(_violation(fn, "functionName", "Member must have length less than or equal to 256"
                                    if fn else "Member must have length greater than or equal to 1"))  # fmt: skip
        elif not _FUNCTION.match(fn):
            found.append(_violation(fn, "functionName", _FUNCTION_RULE))
    arn = body.get("EventSourceArn") if create else None
    if arn is not None:
        if not isinstance(arn, str):
            raise InvalidParameterValue("EventSourceArn must be a string")
        if len(arn) > 10_000 or not _ARN.match(arn):
            found.append(_violation(arn, "eventSourceArn", _ARN_RULE))
    numbers: dict[str, int] = {}
    for key, (field, low, high) in _RANGES.items():
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParameterValue(f"{key} must be an integer")
        if value < low:
            found.append(_violation(value, field, f"Member must have value greater than or equal to {low}"))
        elif value > high:
            found.append(_violation(value, field, f"Member must have value less than or equal to {high}"))
        numbers[key] = value
    position = body.get("StartingPosition") if create else None
    if position is not None and position not in _POSITIONS:
        found.append(_violation(position, "startingPosition",
                                "Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]"))  # fmt: skip
    scaling = body.get("ScalingConfig")
    concurrency: int | None = None
    if scaling is not None:
        if not isinstance(scaling, dict):
            raise InvalidParameterValue("ScalingConfig must be an object: {\"MaximumConcurrency\": <2..1000>}")
        raw = scaling.get("MaximumConcurrency")
        if raw is not None:
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise InvalidParameterValue("ScalingConfig.MaximumConcurrency must be an integer")
            if raw < 2:
                found.append(_violation(raw, "scalingConfig.maximumConcurrency",
                                        "Member must have value greater than or equal to 2"))  # fmt: skip
            elif raw > 1000:
                found.append(_violation(raw, "scalingConfig.maximumConcurrency",
                                        "Member must have value less than or equal to 1000"))  # fmt: skip
            concurrency = raw
    types = body.get("FunctionResponseTypes")
    response_types: tuple[str, ...] | None = None
    if types is not None:
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise InvalidParameterValue("FunctionResponseTypes must be a list of strings")
        if len(types) > 1:
            found.append(_violation(f"[{', '.join(types)}]", "functionResponseTypes",
                                    "Member must have length less than or equal to 1"))  # fmt: skip
        elif any(t != REPORT_BATCH_ITEM_FAILURES for t in types):
            found.append(_violation(f"[{', '.join(types)}]", "functionResponseTypes",
                                    "Member must satisfy constraint: [Member must satisfy enum value set: "
                                    f"[{REPORT_BATCH_ITEM_FAILURES}]]"))  # fmt: skip
        response_types = tuple(types)
    filters = _filters(body.get("FilterCriteria"), found)
    queues = _queues(body.get("Queues") if create else None, found)
    access = _access(body.get("SourceAccessConfigurations"), found)
    enabled = body.get("Enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise InvalidParameterValue("Enabled must be a boolean")
    if found:
        raise _errors(found)
    return Request(
        function_name=fn if isinstance(fn, str) else None, source_arn=arn if isinstance(arn, str) else None,
        enabled=enabled, batch_size=numbers.get("BatchSize"),
        batching_window=numbers.get("MaximumBatchingWindowInSeconds"), filters=filters,
        response_types=response_types, scaling_given=scaling is not None, maximum_concurrency=concurrency,
        stream_options=tuple(k for k in STREAM_OPTIONS if body.get(k) is not None),
        self_managed=body.get("SelfManagedEventSource") is not None, queues=queues, access=access,
    )  # fmt: skip


def _queues(value: object, found: list[str]) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(q, str) for q in value):
        raise InvalidParameterValue("Queues must be a list of strings")
    if len(value) != 1:
        rule = "greater than or equal to 1" if not value else "less than or equal to 1"
        found.append(_violation(f"[{', '.join(value)}]", "queues", f"Member must have length {rule}"))
    for queue in value:
        if not 1 <= len(queue) <= 1000:
            rule = "greater than or equal to 1" if not queue else "less than or equal to 1000"
            found.append(_violation(queue, "queues", f"Member must satisfy constraint: [Member must have length {rule}]"))
    return tuple(value)


def _access(value: object, found: list[str]) -> tuple[tuple[str, str], ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise InvalidParameterValue("SourceAccessConfigurations must be a list of {\"Type\": ..., \"URI\": ...}")
    if len(value) > 22:
        found.append(_violation(len(value), "sourceAccessConfigurations", "Member must have length less than or equal to 22"))
    pairs: list[tuple[str, str]] = []
    for i, entry in enumerate(value, start=1):
        kind, uri = entry.get("Type"), entry.get("URI")
        if not isinstance(kind, str) or not isinstance(uri, str):
            raise InvalidParameterValue("SourceAccessConfigurations entries need a Type and a URI (strings)")
        if kind not in _ACCESS_TYPES:
            found.append(_violation(kind, f"sourceAccessConfigurations.{i}.member.type",
                                    f"Member must satisfy enum value set: [{', '.join(_ACCESS_TYPES)}]"))  # fmt: skip
        if not 1 <= len(uri) <= 200 or not _URI.match(uri):
            found.append(_violation(uri, f"sourceAccessConfigurations.{i}.member.uRI",
                                    "Member must satisfy regular expression pattern: [a-zA-Z0-9-\\/*:_+=.@-]*"
                                    if len(uri) <= 200 else "Member must have length less than or equal to 200"))  # fmt: skip
        pairs.append((kind, uri))
    return tuple(pairs)


def _filters(criteria: object, found: list[str]) -> tuple[str, ...] | None:
    if criteria is None:
        return None
    if not isinstance(criteria, dict):
        raise InvalidParameterValue("FilterCriteria must be an object: {\"Filters\": [{\"Pattern\": <JSON>}]}")
    filters = criteria.get("Filters") or []
    if not isinstance(filters, list):
        raise InvalidParameterValue("FilterCriteria.Filters must be a list")
    patterns: list[str] = []
    for i, entry in enumerate(filters, start=1):
        pattern = entry.get("Pattern") if isinstance(entry, dict) else None
        if pattern is not None and not isinstance(pattern, str):
            raise InvalidParameterValue("Invalid filter pattern definition.")
        if pattern is not None and len(pattern) > 4096:
            found.append(_violation(pattern, f"filterCriteria.filters.{i}.member.pattern",
                                    "Member must have length less than or equal to 4096"))  # fmt: skip
        patterns.append(pattern or "")
    return tuple(patterns)


def source_kind(request: Request) -> SourceKind:
    """Which kind of source a Create names: SQS, self-managed Kafka (SelfManagedEventSource), Amazon
    MQ (RabbitMQ: whether the broker is one Lamina knows is the service's to check), or
    ``InvalidParameterValue`` (one Lamina does not read yet, or none at all)."""
    if request.self_managed:
        return SourceKind.KAFKA
    if request.source_arn is None:
        raise InvalidParameterValue("Unrecognized event source.")
    service = request.source_arn.split(":")[2]
    if service == "sqs":
        return SourceKind.SQS
    if service == "mq":
        return SourceKind.RABBITMQ
    if service in _NOT_YET:
        raise InvalidParameterValue(
            f"Lamina does not read from {_NOT_YET[service]} yet: only Amazon SQS queues (Lamina's own), "
            "self-managed Apache Kafka topics and Amazon MQ for RabbitMQ brokers can be event sources."
        )
    raise InvalidParameterValue("Unrecognized event source.")


def check_sqs(request: Request, *, batch_size: int, batching_window: int) -> None:
    """What an SQS source refuses, in AWS's order and words, before the queue is looked up;
    ``batch_size`` and ``batching_window`` are the values the mapping would have (the request's,
    else the mapping's or the defaults)."""
    for option in request.stream_options:
        if option in ("StartingPosition", "StartingPositionTimestamp"):
            raise InvalidParameterValue("StartingPosition is not valid for SQS event sources.")
        raise InvalidParameterValue(f"Unsupported {option} parameter for given event source mapping type.")
    if batch_size > 10 and batching_window < 1:
        raise InvalidParameterValue(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
        )
    check_filters(request)


def check_filters(request: Request) -> None:
    for pattern in request.filters or ():
        try:
            compile_pattern(pattern)
        except InvalidEventPattern:
            raise InvalidParameterValue("Invalid filter pattern definition.") from None


def check_rabbitmq(request: Request, *, create: bool) -> None:
    """What an Amazon MQ for RabbitMQ source refuses (pure): stream and Kafka options, a Create
    without one queue or without BASIC_AUTH, access types RabbitMQ does not take, patterns that
    are not patterns."""
    for option in request.stream_options:
        if option not in ("Queues", "SourceAccessConfigurations"):
            raise InvalidParameterValue(f"Unsupported {option} parameter for given event source mapping type.")
    if request.response_types:
        raise InvalidParameterValue("Unsupported FunctionResponseTypes parameter for given event source mapping type.")
    if create and not request.queues:
        raise InvalidParameterValue("Queues is a required parameter for Amazon MQ event sources: name one queue.")
    access = request.access or ()
    types = [kind for kind, _ in access]
    for kind in types:
        if kind not in ("BASIC_AUTH", "VIRTUAL_HOST"):
            raise InvalidParameterValue(f"Unsupported source access configuration type {kind} for Amazon MQ for "
                                        "RabbitMQ: only BASIC_AUTH and VIRTUAL_HOST are.")  # fmt: skip
        if types.count(kind) > 1:
            raise InvalidParameterValue(f"Source access configuration type {kind} may be given only once.")
    if (create or request.access is not None) and "BASIC_AUTH" not in types:
        raise InvalidParameterValue("Amazon MQ event sources require a BASIC_AUTH source access configuration "
                                    "(the Secrets Manager ARN of the broker's credentials).")  # fmt: skip
    for pattern in request.filters or ():
        try:
            compile_pattern(pattern)
        except InvalidEventPattern:
            raise InvalidParameterValue("Invalid filter pattern definition.") from None


def check_fifo(*, batch_size: int, batching_window: int) -> None:
    """What a FIFO queue refuses besides: batches over 10, a batching window."""
    if batch_size > FIFO_MAX_BATCH:
        raise InvalidParameterValue(
            f"BatchSize {batch_size} is not valid for FIFO queues: FIFO queues take batches of 1 to {FIFO_MAX_BATCH}."
        )
    if batching_window:
        raise InvalidParameterValue("Batching window is not supported for FIFO queues.")

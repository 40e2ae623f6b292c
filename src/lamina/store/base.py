"""What the store keeps: its records, as the aggregates' interfaces (``aggregates.py``) take and
give them, whatever the implementation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, NamedTuple, Sequence


# What CloudWatch Logs counts for each event beside its message (its quotas and Lambda's both use it).
LOG_EVENT_OVERHEAD = 26


def log_event_size(message: str) -> int:
    """The size a log line counts for: its UTF-8 bytes and the event's overhead."""
    return len(message.encode()) + LOG_EVENT_OVERHEAD


class LogRecord(NamedTuple):
    """One line of a function's log, to be stored. A tuple: one is made for every line a function
    prints, and a frozen dataclass costs three times as much to make."""

    function: str
    stream: str
    timestamp_ms: int
    message: str


@dataclass(frozen=True)
class LogEvent:
    cursor: int
    function: str
    stream: str
    timestamp_ms: int
    message: str


@dataclass(frozen=True)
class LogWindow:
    """Which of a function's lines a read takes: of these streams (None: all), timestamped at or
    after ``start_ms`` and before ``end_ms`` (None: unbounded)."""

    streams: frozenset[str] | None = None
    start_ms: int | None = None
    end_ms: int | None = None

    def holds(self, stream: str, first_ms: int, last_ms: int) -> bool:
        """Whether a chunk of ``stream`` with lines from ``first_ms`` to ``last_ms`` may hold lines of it."""
        return ((self.streams is None or stream in self.streams)
                and (self.start_ms is None or last_ms >= self.start_ms)
                and (self.end_ms is None or first_ms < self.end_ms))  # fmt: skip

    def takes(self, timestamp_ms: int) -> bool:
        return (self.start_ms is None or timestamp_ms >= self.start_ms) and (
            self.end_ms is None or timestamp_ms < self.end_ms)  # fmt: skip


@dataclass(frozen=True)
class LogStreamSummary:
    """One log stream of a function, as its stored chunks say: CloudWatch Logs' DescribeLogStreams."""

    name: str
    first_ms: int  # its earliest line's timestamp
    last_ms: int  # its latest line's
    stored_bytes: int


SUCCESS = "success"  # an InvocationRecord's outcome when the function did not fail


class InvocationRecord(NamedTuple):
    """What one invocation cost: the unit of metering. A tuple, as ``LogRecord``: one is made for
    every invocation."""

    request_id: str
    function: str
    version: str
    started_ms: int
    duration_ms: float
    billed_ms: int
    memory_mb: int
    max_memory_used_mb: int
    init_ms: float | None
    outcome: str  # SUCCESS | an error type
    qualifier: str | None = None  # as invoked: an alias or a version (None: unqualified)
    architecture: str = "x86_64"
    ephemeral_mb: int = 512
    provisioned: bool = False  # served by a provisioned environment (billed at the provisioned rate)

    @property
    def failed(self) -> bool:
        """Whether the function failed (CloudWatch's Errors count it)."""
        return self.outcome != SUCCESS


@dataclass(frozen=True, slots=True)
class ProvisionedAllocation:
    """A provisioned-concurrency configuration's environments from ``at_ms`` on (0: removed)."""

    function: str
    qualifier: str
    version: str
    memory_mb: int
    architecture: str
    environments: int
    at_ms: int


def open_allocations(found: Sequence[ProvisionedAllocation]) -> list[ProvisionedAllocation]:
    """Of allocation rows in time order, the configurations whose latest row allocates environments."""
    latest: dict[tuple[str, str], ProvisionedAllocation] = {}
    for a in found:
        latest[(a.function, a.qualifier)] = a
    return [a for a in latest.values() if a.environments > 0]


@dataclass(frozen=True, slots=True)
class MeterRun:
    """What ``begin_metering`` found of the previous run: ``killed`` if it never stopped gracefully
    (its last batch may be lost), its last ledger write, and how many open allocations it closed."""

    killed: bool
    last_write_ms: int
    closed: int


@dataclass(frozen=True, slots=True)
class MetricCount:
    """How many times ``metric`` happened to a function (as invoked: ``qualifier``, "" unqualified)
    in the minute starting at ``minute_ms``."""

    function: str
    qualifier: str
    metric: str
    minute_ms: int
    count: int


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    """An accepted asynchronous invocation as the queue schedules it (``seq`` 0 until stored).

    Its content (payload and client context) is not here: the store keeps it, and the queue reads it
    (``read_event_content``) only once an attempt is admitted, so a backlog costs memory for this
    much per event, not for its payload."""

    request_id: str
    function: str
    qualifier: str | None
    enqueued_ms: int  # epoch milliseconds when it was accepted: its age counts from here
    next_ms: int  # not to be attempted before this (epoch milliseconds)
    attempts: int = 0  # how many times the function has run it and failed
    seq: int = 0
    size: int = 0  # bytes of its content (``EventContent.size``): what counts against the queue's quota


@dataclass(frozen=True)
class EventContent:
    """What an asynchronous invocation carries to its function."""

    payload: bytes
    client_context: str | None = None  # JSON, as the Runtime API passes it on

    @property
    def size(self) -> int:
        return len(self.payload) + len((self.client_context or "").encode())


# An event to store: how the queue schedules it, and its content.
NewEvent = tuple[QueuedEvent, EventContent]


DEAD_LETTER = "dead-letter"
DESTINATION = "destination"
# An event for its target exactly as the target takes it: a function's payload, a queue's message
# body, a complete event for a bus (its envelope). S3's notifications (objects/notifications).
NOTIFICATION = "notification"


@dataclass(frozen=True)
class OutboxMessage:
    """A message for a target Lamina does not deliver to itself yet (an SQS queue, an SNS topic, an
    EventBridge bus, an S3 bucket), kept until it is (``id`` 0 until stored)."""

    target: str  # the target's ARN
    kind: str  # DEAD_LETTER (the event as it came, with its error in ``attributes``), DESTINATION or NOTIFICATION
    function: str  # the function whose event it comes from
    request_id: str  # that event's request id
    body: bytes
    attributes: Mapping[str, Mapping[str, str]]  # as SQS message attributes: {name: {"DataType", "StringValue"}}
    created_ms: int
    id: int = 0


@dataclass(frozen=True)
class Delivery:
    """What a bus event still owes one target of one rule: how often it failed, and when to try next."""

    rule: str  # the rule's key: "<bus>/<rule name>"
    target: str  # the target's Id within the rule
    attempts: int = 0  # failed attempts so far
    next_ms: int = 0  # not to be attempted before this (epoch milliseconds)


@dataclass(frozen=True)
class BusEvent:
    """An event accepted on an event bus, with the deliveries it still owes (``seq`` 0 until stored)."""

    bus: str  # the bus's name
    envelope: bytes  # the event as EventBridge delivers it (JSON)
    deliveries: tuple[Delivery, ...]
    created_ms: int
    hops: int = 0  # buses that passed it on to this one
    seq: int = 0


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """A message in one of the embedded SQS queues (``lamina.queues``), as stored (``seq`` 0 until
    stored; ``seq`` orders a queue's messages, and FIFO queues' SequenceNumber is made from it)."""

    queue: str  # the queue's id (not its name: a queue deleted and created again is another queue)
    message_id: str
    body: str
    attributes: str  # its message attributes, JSON (lamina.queues.messages encodes them)
    sent_ms: int  # epoch milliseconds: SentTimestamp
    visible_ms: int  # epoch milliseconds: not delivered before this (its delay or visibility timeout)
    receive_count: int = 0
    first_receive_ms: int = 0
    group_id: str | None = None  # FIFO queues: MessageGroupId
    dedup_id: str | None = None  # FIFO queues: MessageDeduplicationId
    seq: int = 0


@dataclass(frozen=True, slots=True)
class MessageState:
    """What receiving a stored queue message changes (``Store.change_queue_messages``)."""

    seq: int
    visible_ms: int
    receive_count: int
    first_receive_ms: int


@dataclass(frozen=True)
class Resource:
    """One stored document of a service's control plane (``Store.change_resources``)."""

    kind: str  # the service's name for it, e.g. "events/rule"
    key: str  # unique within its kind
    doc: Mapping[str, object]  # JSON-serialisable


@dataclass(frozen=True)
class ObjectRecord:
    """One stored document of the object store (``Store.change_object_records``)."""

    kind: str  # "bucket" (key ""), "object", "upload", "part"
    bucket: str
    key: str
    doc: Mapping[str, object]  # JSON-serialisable

"""The store seam: everything Lamina persists goes through ``Store``.

Implementations: ``SqliteStore`` (the embedded default) and ``MemoryStore`` (a fake for tests);
PostgreSQL will sit behind the same interface. Contract, for every implementation:

- A method returns only after its write is durable (committed); the API acknowledges after that.
- A write raises only the store's own errors (``lamina.store.errors``: ``NotFound``, ``Conflict``,
  ``StaleRevision``), never an API's; Lambda's API words them (``lamina.api.errors.from_store``).
- ``create_function`` raises ``Conflict`` if the name exists; ``put_function`` with an
  ``expected_revision`` that does not match raises ``StaleRevision``, and with a name that
  does not exist raises ``NotFound``.
- ``append_logs`` and ``record_invocations`` take batches; they are called off the hot path.
- The usage ledger: ``list_ledger`` reads every function's invocations by start time;
  ``record_allocations`` appends provisioned-concurrency allocation rows (never removed, not even
  with their function: they were billed). ``begin_metering`` marks the writer running and, if the
  previous run never called ``end_metering`` (it was killed), ends its open allocations at its last
  ledger write and says so; ``end_metering`` ends every open allocation and clears the mark.
  ``read_invocations`` answers the records started in ``[since_ms, until_ms)``, of ``function``
  (None: every function), oldest first; ``invocation_series`` each (function, qualifier, version) invoked since a time.
- Metric counts are per-minute counts of events that are not invocations (throttles, ...), for
  CloudWatch's metrics: ``add_metric_counts`` adds each to what its (function, qualifier, metric,
  minute) already holds; ``read_metric_counts`` answers those of minutes in ``[since_ms, until_ms)``.
- Log lines are kept within bounds: a function's stored log is the sum of its lines' sizes
  (``log_event_size``: UTF-8 bytes plus CloudWatch's 26 bytes of overhead an event).
  ``append_logs`` with ``max_function_bytes`` removes, in the same transaction, the oldest lines of
  each function it appended to until that function's log fits, so no reader ever sees more;
  ``trim_logs`` does the same for every function (a limit lowered since they were written).
  ``expire_logs`` removes lines older than a time, about ``limit`` of them a call, so that each
  call is one short transaction; call it again while it returns ``limit`` or more. Removing lines
  never changes the cursors of those left (``read_logs`` goes on where it was).
- Log lines are stored in chunks (``log_chunks.py``): a run of consecutive lines of one function's
  one stream written by one ``append_logs``. Cursors increase in the order a function's lines were
  appended, whatever their streams. Lines are removed a whole chunk at a time: a trimmed log may be up to one chunk (64 KiB,
  or one larger line) under its limit, and a chunk expires when its latest line does. A chunk written
  with ``max_function_bytes`` is no larger than it (unless one line is), so a batch larger than the
  limit keeps its newest lines.
- ``close`` is safe to call twice.
- A function's tags, policies and asynchronous-invocation configurations belong to it: writing
  one for a function that does not exist raises ``NotFound``, and ``delete_function``
  removes them with the function, atomically. ``put_policy`` with an ``expected_revision`` that
  is not the stored policy's (``None``: no policy stored) raises ``StaleRevision``.
- Function URLs belong to their function the same way. ``create_function_url`` raises
  ``Conflict`` if the function (and qualifier) already has one; ``put_function_url`` raises
  ``NotFound`` if it has none.
- Published versions and aliases belong to their function the same way. ``code_in_use`` counts
  every version's code and layers. ``create_alias`` raises ``Conflict`` if the alias
  exists; ``put_alias`` raises ``NotFound`` if it does not, ``StaleRevision`` if its
  stored RevisionId is not ``expected_revision``.
- A function's reserved concurrency and provisioned-concurrency configurations belong to it the same
  way. ``put_reserved_concurrency`` with ``None`` removes the reservation.
- Resources are the control plane of the services beside Lambda (HTTP APIs, event buses and their
  rules, schedules, ...): JSON documents by ``kind`` and ``key``, which those services keep in
  memory and write through. ``change_resources`` applies its puts and deletes in one transaction;
  a delete of a key that is not stored is not an error; ``delete_prefixes`` removes every key of a
  kind that starts with a prefix (an API with its routes: ``("apigatewayv2/route", "<api-id>/")``).
- Bus events are the event bus's queue: ``add_bus_events`` stores events (and, in the same
  transaction, removes the outbox messages they were made from); ``settle_bus_event`` records what an
  event still owes (nothing left: it is removed) with the events it forwards to other buses and its
  dead letters, in one transaction. Settling an event that is gone already writes nothing.
- Queue messages are the embedded SQS queues' messages (``lamina.queues``, which keeps them in
  memory and writes through): ``change_queue_messages`` adds, updates (a receive) and removes
  messages, and removes the outbox messages they were made from, in one transaction;
  ``purge_queue_messages`` removes a queue's messages.
- Object records are the embedded object store's metadata (``lamina.objects``, which keeps them in
  memory and writes through): JSON documents by ``kind``, ``bucket`` and ``key``.
  ``change_object_records`` applies its puts and deletes (a delete of what is not stored is not an
  error; ``delete_prefixes`` removes every key of a kind and bucket that starts with a prefix) and
  adds ``messages`` to the outbox, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, NamedTuple, Protocol, Sequence

from lamina.model import EventInvokeConfig, FunctionConfig, FunctionPolicy, LayerVersion
from lamina.model import FunctionUrlConfig
from lamina.model import Alias
from lamina.model import ProvisionedConcurrencyConfig


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


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def create_function(self, fn: FunctionConfig) -> None: ...

    async def get_function(self, name: str) -> FunctionConfig | None: ...

    async def list_functions(self, after: str | None, limit: int) -> list[FunctionConfig]:
        """Functions ordered by name, those strictly after ``after``, at most ``limit``."""
        ...

    async def put_function(self, fn: FunctionConfig, *, expected_revision: str | None = None) -> None: ...

    async def delete_function(self, name: str) -> FunctionConfig | None:
        """Delete a function and what it owns; its record, or None if there was none. Of
        concurrent deletes of one function, exactly one gets the record."""
        ...

    async def code_in_use(self) -> set[str]:
        """Digests of every stored code artifact a function (or a layer it uses) or a layer version refers to."""
        ...

    async def publish_layer(self, layer: LayerVersion) -> LayerVersion:
        """Store ``layer`` under the layer's next version number (never reused); returns it numbered."""
        ...

    async def get_layer(self, name: str, version: int) -> LayerVersion | None: ...

    async def list_layer_versions(self, name: str | None) -> list[LayerVersion]:
        """Versions of one layer (newest first), or of every layer (by name, newest first) with ``None``."""
        ...

    async def delete_layer(self, name: str, version: int) -> None:
        """Delete a layer version; deleting one that does not exist is not an error."""
        ...

    async def get_tags(self, function: str) -> dict[str, str]: ...

    async def put_tags(self, function: str, tags: Mapping[str, str]) -> None:
        """Replace the function's tags with ``tags`` (empty removes them all)."""
        ...

    async def get_policy(self, function: str, qualifier: str) -> FunctionPolicy | None: ...

    async def put_policy(self, policy: FunctionPolicy, *, expected_revision: str | None) -> None:
        """Store ``policy`` in place of the one at ``expected_revision``; without statements it is removed."""
        ...

    async def put_event_invoke_config(self, config: EventInvokeConfig) -> None: ...

    async def delete_event_invoke_config(self, function: str, qualifier: str) -> None:
        """Deleting one that does not exist is not an error."""
        ...

    async def list_event_invoke_configs(self, function: str | None) -> list[EventInvokeConfig]:
        """One function's configurations (every function's with ``None``), by function, then qualifier."""
        ...

    async def create_function_url(self, url: FunctionUrlConfig) -> None: ...

    async def put_function_url(self, url: FunctionUrlConfig) -> None:
        """Replace the function URL of ``url.function`` and ``url.qualifier`` (its url-id never changes)."""
        ...

    async def delete_function_url(self, function: str, qualifier: str) -> None:
        """Deleting one that does not exist is not an error."""
        ...

    async def list_function_urls(self) -> list[FunctionUrlConfig]:
        """Every function URL, by function, then qualifier."""
        ...

    async def put_version(self, fn: FunctionConfig) -> None:
        """Store published version ``fn`` (``fn.version`` a number), or replace it (its state changes
        once its code is prepared); the function's last version number becomes at least its number."""
        ...

    async def list_versions(self, function: str) -> list[FunctionConfig]:
        """A function's published versions, by number."""
        ...

    async def last_version(self, function: str) -> int:
        """The highest number the function has published (0: none yet), deleted versions included."""
        ...

    async def delete_version(self, function: str, version: str) -> None:
        """Deleting one that does not exist is not an error."""
        ...

    async def create_alias(self, alias: Alias) -> None: ...

    async def put_alias(self, alias: Alias, *, expected_revision: str) -> None: ...

    async def list_aliases(self, function: str) -> list[Alias]:
        """A function's aliases, by name."""
        ...

    async def delete_alias(self, function: str, name: str) -> None:
        """Deleting one that does not exist is not an error."""
        ...

    async def put_reserved_concurrency(self, function: str, reserved: int | None) -> None:
        """Set a function's reserved concurrency (``None``: remove it; removing none is not an error)."""
        ...

    async def list_reserved_concurrency(self) -> dict[str, int]:
        """Every function's reserved concurrency, by function (functions without one are absent)."""
        ...

    async def put_provisioned_concurrency(self, config: ProvisionedConcurrencyConfig) -> None:
        """Store ``config`` in place of the function's configuration for the same qualifier, if any."""
        ...

    async def delete_provisioned_concurrency(self, function: str, qualifier: str) -> None:
        """Deleting one that does not exist is not an error."""
        ...

    async def list_provisioned_concurrency(self) -> list[ProvisionedConcurrencyConfig]:
        """Every provisioned-concurrency configuration, by function, then qualifier."""
        ...

    async def append_logs(self, records: Sequence[LogRecord], *, max_function_bytes: int | None = None) -> None:
        """Append ``records`` (as chunks); with ``max_function_bytes``, then remove the oldest chunks of
        each of their functions until it keeps at most that many bytes, in the same transaction."""
        ...

    async def read_logs(self, function: str, since: int, limit: int, window: LogWindow | None = None) -> list[LogEvent]:
        """The first ``limit`` log events of ``function`` with a cursor greater than ``since`` (and
        in ``window``, if given), by cursor (exactly ``limit`` if there are that many)."""
        ...

    async def log_streams(self, function: str) -> list[LogStreamSummary]:
        """``function``'s log streams that hold lines, by name."""
        ...

    async def logged_functions(self) -> list[tuple[str, int]]:
        """Every function (existing or not) with stored log lines, and their size, by name."""
        ...

    async def log_bytes(self, function: str) -> int:
        """The size of ``function``'s stored log (0: none)."""
        ...

    async def trim_logs(self, max_function_bytes: int) -> int:
        """Remove the oldest chunks of every function whose log is larger than ``max_function_bytes``
        until it is not; returns how many lines were removed."""
        ...

    async def expire_logs(self, before_ms: int, limit: int) -> int:
        """Remove chunks (of any function, a function's oldest first) whose lines are all timestamped
        before ``before_ms``, until they held ``limit`` lines or more (a chunk is not split); returns
        how many lines were removed."""
        ...

    async def record_invocations(self, records: Sequence[InvocationRecord]) -> None: ...

    async def list_invocations(self, function: str, since_ms: int = 0) -> list[InvocationRecord]:
        """``function``'s invocation records started at or after ``since_ms``, by start."""
        ...

    async def list_ledger(self, from_ms: int, to_ms: int) -> list[InvocationRecord]:
        """Every function's invocations started in [from_ms, to_ms), by start."""
        ...

    async def record_allocations(self, allocations: Sequence[ProvisionedAllocation]) -> None: ...

    async def list_allocations(self, before_ms: int) -> list[ProvisionedAllocation]:
        """The allocation rows before ``before_ms``, by time (a billing period needs its start)."""
        ...

    async def begin_metering(self, now_ms: int) -> MeterRun | None:
        """Mark the ledger's writer running; if the previous run never ended (killed), end its open
        allocations at its last ledger write and say so (``None``: no previous run)."""
        ...

    async def end_metering(self, now_ms: int) -> None:
        """The writer stopped gracefully: nothing is lost."""
        ...

    async def read_invocations(self, since_ms: int, until_ms: int,
                               function: str | None = None) -> list[InvocationRecord]: ...  # fmt: skip

    async def invocation_series(self, since_ms: int) -> list[tuple[str, str | None, str]]: ...

    async def add_metric_counts(self, counts: Sequence[MetricCount]) -> None: ...

    async def read_metric_counts(self, since_ms: int, until_ms: int) -> list[MetricCount]: ...

    async def enqueue_event(self, event: QueuedEvent, content: EventContent) -> int:
        """Store ``event`` and its content durably (committed when this returns); returns its ``seq``,
        increasing. The stored event's ``size`` is ``content.size``."""
        ...

    async def list_queued_events(self) -> list[QueuedEvent]:
        """Every queued event, by ``seq``, without its content (a backlog is listed without reading it)."""
        ...

    async def read_event_content(self, seq: int) -> EventContent | None:
        """A queued event's content (None: no such event, e.g. finished already)."""
        ...

    async def reschedule_event(self, seq: int, attempts: int, next_ms: int) -> None:
        """Record a failed attempt: the event's attempt count and when it may run next."""
        ...

    async def finish_event(
        self, seq: int, follow_ups: Sequence[NewEvent] = (), messages: Sequence[OutboxMessage] = ()
    ) -> list[int]:
        """Remove a delivered (or abandoned) event with its content and, in the same transaction,
        enqueue ``follow_ups`` (invocation records for destination functions) and put ``messages`` in
        the outbox; returns the follow-ups' ``seq``s. Finishing an event twice is not an error (nothing
        is written twice)."""
        ...

    async def add_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        """Store messages in the outbox that no queued event leaves behind (a schedule's dead letters)."""
        ...

    async def list_outbox(self, target: str | None, after: int, limit: int) -> list[OutboxMessage]:
        """Outbox messages with ``id`` above ``after``, by ``id``, for one target or all of them."""
        ...

    async def delete_outbox(self, ids: Sequence[int]) -> int:
        """Remove outbox messages; returns how many there were."""
        ...

    async def add_bus_events(self, events: Sequence[BusEvent], consumed_outbox: Sequence[int] = ()) -> list[int]:
        """Store ``events`` durably and remove the outbox messages ``consumed_outbox``, in one
        transaction; returns the events' ``seq``s, increasing."""
        ...

    async def list_bus_events(self) -> list[BusEvent]:
        """Every stored bus event, by ``seq``, without its envelope (``b""``: a backlog is listed
        without reading it; ``read_bus_envelope`` reads one)."""
        ...

    async def read_bus_envelope(self, seq: int) -> bytes | None:
        """A stored bus event's envelope (None: no such event, e.g. settled already)."""
        ...

    async def settle_bus_event(
        self, seq: int, owed: Sequence[Delivery], forwards: Sequence[BusEvent] = (),
        messages: Sequence[OutboxMessage] = (),
    ) -> list[int]:  # fmt: skip
        """Record that event ``seq`` still owes ``owed`` (empty: remove it), store ``forwards`` (events
        put on other buses) and put ``messages`` (dead letters) in the outbox, in one transaction;
        returns the forwards' ``seq``s. An event no longer stored is left alone ([] returned)."""
        ...

    async def list_resources(self, kind: str) -> list[Resource]:
        """Every resource of a kind, by key."""
        ...

    async def change_resources(
        self,
        puts: Sequence[Resource] = (),
        deletes: Sequence[tuple[str, str]] = (),
        delete_prefixes: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Write ``puts`` (replacing what is stored under their kind and key), remove ``deletes``
        ((kind, key)) and every key of a kind starting with a prefix (``delete_prefixes``), all in one
        transaction."""
        ...

    async def change_queue_messages(
        self, adds: Sequence[QueueMessage] = (), updates: Sequence[MessageState] = (), deletes: Sequence[int] = (),
        consumed_outbox: Sequence[int] = (),
    ) -> list[int]:  # fmt: skip
        """In one transaction: store ``adds`` (durable when this returns), apply ``updates`` to the
        messages still stored (one that is gone is left alone), remove the messages ``deletes``
        (``seq``s; gone already: not an error) and the outbox messages ``consumed_outbox``; returns
        the added messages' ``seq``s, increasing."""
        ...

    async def list_queue_messages(self) -> list[QueueMessage]:
        """Every stored queue message, by ``seq``, bodies included (the queues keep them in memory)."""
        ...

    async def purge_queue_messages(self, queue: str, through_seq: int | None = None) -> int:
        """Remove the messages of ``queue`` (with ``through_seq``: only those with a ``seq`` up to
        it); returns how many there were."""
        ...

    async def list_object_records(self, kind: str) -> list[ObjectRecord]:
        """Every object record of a kind, by bucket, then key."""
        ...

    async def change_object_records(
        self, puts: Sequence[ObjectRecord] = (), deletes: Sequence[tuple[str, str, str]] = (),
        delete_prefixes: Sequence[tuple[str, str, str]] = (), messages: Sequence[OutboxMessage] = (),
    ) -> None:  # fmt: skip
        """In one transaction: remove every record of a (kind, bucket) whose key starts with a prefix
        (``delete_prefixes``), remove ``deletes`` ((kind, bucket, key)), write ``puts`` (replacing
        what is stored under their kind, bucket and key) and add ``messages`` to the outbox."""
        ...

"""The store seam: everything Lamina persists goes through the store, one interface per aggregate.

Each aggregate (functions and their versions, layers, aliases, configurations, URLs, logs, the usage
ledger, the asynchronous queue, the outbox, bus events, queue messages, resources, object records)
is a ``Protocol`` of its own, whose docstring holds its contract; a caller depends on the ones it
uses. ``Store`` is all of them and what opens and closes them: the one object a cell holds.
Implementations: ``SqliteStore`` (store/sqlite/, the embedded default), ``MemoryStore``
(store/memory/, a fake for tests), and ``PostgresStore`` (store/postgresql/, shared by replicas),
which also claims queued events (``EventClaims``).

Contract, for every implementation and aggregate:

- A method returns only after its write is durable (committed); the API acknowledges after that.
- A write raises only the store's own errors (``lamina.store.errors``: ``NotFound``, ``Conflict``,
  ``StaleRevision``), never an API's; Lambda's API words them (``lamina.api.errors.from_store``).
- ``close`` is safe to call twice.
"""

from __future__ import annotations

from typing import Awaitable, Callable, Mapping, Protocol, Sequence, runtime_checkable

from lamina.model import Alias, EventInvokeConfig, FunctionConfig, FunctionPolicy, FunctionUrlConfig, LayerVersion
from lamina.model import ProvisionedConcurrencyConfig
from lamina.store.base import BusEvent, Delivery, EventContent, InvocationRecord, LogEvent, LogRecord
from lamina.store.base import LogStreamSummary, LogWindow, MessageState, MeterRun, MetricCount, NewEvent
from lamina.store.base import ObjectRecord, OutboxMessage, ProvisionedAllocation, QueuedEvent, QueueMessage
from lamina.store.base import Resource


class FunctionStore(Protocol):
    """Functions (``$LATEST``) and their published versions.

    ``create_function`` raises ``Conflict`` if the name exists; ``put_function`` with an
    ``expected_revision`` that does not match raises ``StaleRevision``, and with a name that does
    not exist raises ``NotFound``. ``delete_function`` removes, atomically, everything the function
    owns (its versions, aliases, tags, policies, asynchronous-invocation configurations, URLs,
    concurrency). A published version belongs to its function: ``put_version`` of a function that
    does not exist raises ``NotFound``. ``code_in_use`` counts every version's code and layers.
    """

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



class LayerStore(Protocol):
    """Layer versions: numbered per layer, a number never reused.
    """

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



class AliasStore(Protocol):
    """A function's aliases, which belong to it. ``create_alias`` raises ``Conflict`` if the alias
    exists (``NotFound`` if the function does not); ``put_alias`` raises ``NotFound`` if the alias does
    not exist, ``StaleRevision`` if its stored RevisionId is not ``expected_revision``.
    """

    async def create_alias(self, alias: Alias) -> None: ...

    async def put_alias(self, alias: Alias, *, expected_revision: str) -> None: ...

    async def list_aliases(self, function: str) -> list[Alias]:
        """A function's aliases, by name."""
        ...

    async def delete_alias(self, function: str, name: str) -> None:
        """Deleting one that does not exist is not an error."""
        ...



class ConfigStore(Protocol):
    """What a function has beside its configuration: tags, resource policies, asynchronous-invocation
    configurations, reserved and provisioned concurrency. Each belongs to its function: writing one
    for a function that does not exist raises ``NotFound``. ``put_policy`` with an
    ``expected_revision`` that is not the stored policy's (``None``: no policy stored) raises
    ``StaleRevision``. ``put_reserved_concurrency`` with ``None`` removes the reservation.
    """

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



class UrlStore(Protocol):
    """Function URLs, which belong to their function. ``create_function_url`` raises ``Conflict`` if
    the function (and qualifier) already has one, ``NotFound`` if the function does not exist;
    ``put_function_url`` raises ``NotFound`` if it has none.
    """

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



class LogStore(Protocol):
    """Functions' log lines, kept within bounds.

    A function's stored log is the sum of its lines' sizes (``log_event_size``: UTF-8 bytes plus
    CloudWatch's 26 bytes of overhead an event). ``append_logs`` with ``max_function_bytes`` removes,
    in the same transaction, the oldest lines of each function it appended to until that function's
    log fits, so no reader ever sees more; ``trim_logs`` does the same for every function (a limit
    lowered since they were written). ``expire_logs`` removes lines older than a time, about ``limit``
    of them a call, so that each call is one short transaction; call it again while it returns
    ``limit`` or more. Removing lines never changes the cursors of those left (``read_logs`` goes on
    where it was). ``append_logs`` takes batches; it is called off the hot path.

    Log lines are stored in chunks (``log_chunks.py``): a run of consecutive lines of one function's
    one stream written by one ``append_logs``. Cursors increase in the order a function's lines were
    appended, whatever their streams. Lines are removed a whole chunk at a time: a trimmed log may be
    up to one chunk (64 KiB, or one larger line) under its limit, and a chunk expires when its latest
    line does. A chunk written with ``max_function_bytes`` is no larger than it (unless one line is),
    so a batch larger than the limit keeps its newest lines.
    """

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



class LedgerStore(Protocol):
    """The usage ledger and the metric counts.

    ``record_invocations`` takes batches, off the hot path. ``list_ledger`` reads every function's
    invocations by start time; ``record_allocations`` appends provisioned-concurrency allocation rows
    (never removed, not even with their function: they were billed). ``begin_metering`` marks the
    writer running and, if the previous run never called ``end_metering`` (it was killed), ends its
    open allocations at its last ledger write and says so; ``end_metering`` ends every open
    allocation and clears the mark. ``read_invocations`` answers the records started in
    ``[since_ms, until_ms)``, of ``function`` (None: every function), oldest first;
    ``invocation_series`` each (function, qualifier, version) invoked since a time.

    Metric counts are per-minute counts of events that are not invocations (throttles, ...), for
    CloudWatch's metrics: ``add_metric_counts`` adds each to what its (function, qualifier, metric,
    minute) already holds; ``read_metric_counts`` answers those of minutes in ``[since_ms, until_ms)``.
    """

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



class EventQueueStore(Protocol):
    """The asynchronous-invocation queue: accepted events, their content kept apart from what
    schedules them.
    """

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



@runtime_checkable
class EventClaims(Protocol):
    """Queued events held by one of several replicas sharing a store (PostgreSQL's; SQLite's one
    server needs none of it). Each stored event is held by a claimer for a while: the replica that
    accepted it (``enqueue_event`` and ``finish_event``'s follow-ups are held by the store's
    ``claimer`` for ``claim_ms``), which renews its claims while it runs (``renew_claims``) and gives
    them back when it stops (``release_claims``). An event whose claim ended (its replica died) is
    taken by the first other claimer to claim it (``claim_events``): never by two at once.
    """

    claimer: str  # this store's, unique among the replicas
    claim_ms: int  # how long a claim lasts unless renewed

    async def claim_events(self, claimer: str, now_ms: int, until_ms: int, limit: int) -> list[QueuedEvent]:
        """Claim for ``claimer`` until ``until_ms`` at most ``limit`` events no one holds at ``now_ms``
        (other than ``claimer``'s own), by ``seq``."""
        ...

    async def renew_claims(self, claimer: str, until_ms: int) -> int:
        """Extend every claim of ``claimer`` until ``until_ms``; returns how many it holds."""
        ...

    async def release_claims(self, claimer: str) -> int:
        """Give back every event ``claimer`` holds, for others to claim at once; returns how many."""
        ...


@runtime_checkable
class ConcurrencyLeases(Protocol):
    """Units of concurrency held by each of several replicas sharing a store (PostgreSQL's; SQLite's
    one server counts in memory alone). Per pool (a function with reserved concurrency, by name, or
    the account's unreserved concurrency, ``""``), the store's claimer holds a number of units until
    its lease ends unless renewed; the units of a pool's live leases never add up to more than the
    limit the taker gives (``take_units``). A replica that died holds nothing once its leases end.
    """

    async def take_units(self, pool: str, want: int, limit: int, now_ms: int, until_ms: int) -> int:
        """Take up to ``want`` more units of ``pool`` (fewer if others hold the rest of ``limit``)
        and renew its lease until ``until_ms``; returns how many this claimer holds now (an ended
        lease held none)."""
        ...

    async def give_back_units(self, pool: str, keep: int) -> None:
        """Hold at most ``keep`` units of ``pool`` (never more than before)."""
        ...

    async def renew_units(self, now_ms: int, until_ms: int) -> dict[str, int]:
        """Renew every live lease of this claimer until ``until_ms``; returns the units it holds by
        pool (a lease that ended before ``now_ms`` is not renewed, and not returned)."""
        ...

    async def release_units(self) -> None:
        """Give back every unit this claimer holds."""
        ...


@runtime_checkable
class PreparationClaims(Protocol):
    """Which of several servers sharing a store (PostgreSQL's) prepares a function's code: the one
    holding its claim, which renews it while it runs; a function whose claim ended (its server died
    while preparing it) is another's to claim and prepare."""

    claim_ms: int  # how long a claim lasts unless renewed

    async def claim_preparation(self, function: str, version: str, now_ms: int, until_ms: int) -> bool:
        """Claim the preparation of ``function``'s ``version`` until ``until_ms``: whether this store's
        claimer holds it now (False: another holds a claim that has not ended at ``now_ms``)."""
        ...

    async def renew_preparations(self, until_ms: int) -> None:
        """Extend every claim this store's claimer holds until ``until_ms``."""
        ...

    async def finish_preparation(self, function: str, version: str) -> None:
        """The preparation is over (its result stored): the claim goes."""
        ...

    async def release_preparations(self) -> None:
        """Give back every claim (this server stops)."""
        ...


class Following(Protocol):
    async def close(self) -> None: ...


@runtime_checkable
class ChangeFeed(Protocol):
    """What other servers sharing the store change, as they commit it (PostgreSQL's): functions, their
    versions, aliases, asynchronous-invocation configurations, URLs and concurrency. ``follow_changes`` has ``reread(name)`` called for each function
    another server changed, and ``reread_all()`` when changes may have been missed (the feed was
    interrupted), until the ``Following`` it returns is closed."""

    def follow_changes(self, reread: Callable[[str], Awaitable[None]],
                       reread_all: Callable[[], Awaitable[None]]) -> Following: ...  # fmt: skip

    def follow_resources(self, reread: Callable[[str], Awaitable[None]],
                         reread_all: Callable[[], Awaitable[None]]) -> Following:  # fmt: skip
        """As ``follow_changes``, for the resources (``ResourceStore``): ``reread(kind)`` for each kind
        another server changed, ``reread("<kind> <key>")`` when it changed only that key."""
        ...

    async def read_resource(self, kind: str, key: str) -> Resource | None:
        """One resource, if stored (what ``reread`` of one key reads)."""
        ...


class OutboxStore(Protocol):
    """Messages for targets Lamina does not deliver to itself yet, kept until they are.
    """

    async def add_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        """Store messages in the outbox that no queued event leaves behind (a schedule's dead letters)."""
        ...

    async def list_outbox(self, target: str | None, after: int, limit: int) -> list[OutboxMessage]:
        """Outbox messages with ``id`` above ``after``, by ``id``, for one target or all of them."""
        ...

    async def delete_outbox(self, ids: Sequence[int]) -> int:
        """Remove outbox messages; returns how many there were."""
        ...



@runtime_checkable
class OutboxClaims(Protocol):
    """Outbox messages held by one of several replicas sharing a store (PostgreSQL's), so that two
    never deliver one at once: a replica's relays take the messages it claims, which no other
    claims until the claim ends (the replica died, or none of its relays took the message)."""

    claimer: str  # this store's, unique among the replicas
    claim_ms: int  # how long a claim lasts

    async def claim_outbox(self, claimer: str, now_ms: int, until_ms: int, limit: int,
                           after: int = 0) -> list[OutboxMessage]:  # fmt: skip
        """Claim for ``claimer`` until ``until_ms`` at most ``limit`` outbox messages with ``id``
        above ``after`` that no other claimer holds at ``now_ms`` (``claimer``'s own are claimed
        again), by ``id``: no two claimers take one at once."""
        ...


class BusStore(Protocol):
    """The event bus's queue: ``add_bus_events`` stores events (and, in the same transaction, removes
    the outbox messages they were made from); ``settle_bus_event`` records what an event still owes
    (nothing left: it is removed) with the events it forwards to other buses and its dead letters, in
    one transaction. Settling an event that is gone already writes nothing.
    """

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



class MessageStore(Protocol):
    """The embedded SQS queues' messages (``lamina.queues``, which keeps them in memory and writes
    through): ``change_queue_messages`` adds, updates (a receive) and removes messages, and removes
    the outbox messages they were made from, in one transaction; ``purge_queue_messages`` removes a
    queue's messages.
    """

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



class ResourceStore(Protocol):
    """The control plane of the services beside Lambda (HTTP APIs, event buses and their rules,
    schedules, ...): JSON documents by ``kind`` and ``key``, which those services keep in memory and
    write through. ``change_resources`` applies its puts and deletes in one transaction; a delete of
    a key that is not stored is not an error; ``delete_prefixes`` removes every key of a kind that
    starts with a prefix (an API with its routes: ``("apigatewayv2/route", "<api-id>/")``).
    """

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



class ObjectRecordStore(Protocol):
    """The embedded object store's metadata (``lamina.objects``, which keeps it in memory and writes
    through): JSON documents by ``kind``, ``bucket`` and ``key``. ``change_object_records`` applies its
    puts and deletes (a delete of what is not stored is not an error; ``delete_prefixes`` removes
    every key of a kind and bucket that starts with a prefix) and adds ``messages`` to the outbox, in
    one transaction.
    """

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


class Store(
    FunctionStore, LayerStore, AliasStore, ConfigStore, UrlStore, LogStore, LedgerStore, EventQueueStore,
    OutboxStore, BusStore, MessageStore, ResourceStore, ObjectRecordStore, Protocol,
):  # fmt: skip
    """Every aggregate, and what opens and closes them."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

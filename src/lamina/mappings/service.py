"""Event source mappings' control plane: Create, Get, Update, Delete and List, kept in memory and
written through the store (kind ``lambda/event-source-mapping``, loaded at start), and each
mapping's runner.

Each mapping has a runner (runner.py), its owned task. Changes are answered in their transitional
state (Creating, Updating, Enabling, Disabling, Deleting) and settled by the runner just after;
a mapping stored in one (Lamina stopped first) settles when Lamina starts again.

A mapping whose function is deleted stays, and says so in LastProcessingResult (``follow``).
LastProcessingResult is kept across restarts: when it changes (not at every batch), the mapping is
marked and an owned task (``lamina-mappings-results``) writes the marked mappings' documents, one
transaction for all that changed meanwhile; ``close`` writes what is still marked.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid as uuids
from dataclasses import replace
from typing import Callable, Mapping

from lamina.control.changes import Change, FunctionDeleted
from lamina.control.concurrency import ConcurrencyService
from lamina.control.functions import FunctionService
from lamina.control.validation import function_account, function_region
from lamina.errors import InvalidParameterValue, ResourceConflict, ResourceNotFound
from lamina.invoke.service import REQUEST_RESPONSE, InvokeRequest, Invoker, InvokeResult
from lamina.mappings import batching, brokers, scaling, validation
from lamina.mappings.errors import ResourceInUse, mapping_not_found
from lamina.mappings.kafka import options as kafka_options
from lamina.mappings.kafka.options import KafkaOptions
from lamina.mappings.kafka.source import KafkaSource
from lamina.mappings.model import KIND, USER_INITIATED, EventSourceMapping, SourceKind, State
from lamina.mappings.runner import Runner
from lamina.mappings.rabbitmq import RabbitSource
from lamina.mappings.source import Lag, Source
from lamina.mappings.sqs import QUEUE_GONE, ReachedQueues, SqsSource
from lamina.queues.service import QueueInfo, Queues
from lamina.settings import Settings
from lamina.store.base import Resource
from lamina.store.aggregates import Store
from lamina.mappings.stream_host import StreamHost
from lamina.streams import options as stream_options
from lamina.streams import readers
from lamina.streams.change import ChangesUnavailable, DatabaseUnreachable
from lamina.streams.options import Database
from lamina.streams.source import StreamSource
from lamina.tasks import cancel_and_wait

log = logging.getLogger(__name__)
Body = Mapping[str, object]
# Whether a function's execution role may read a mapping's source: (role ARN, the mapping as it would be);
# raises if not (iam/source_roles.py).
RoleCheck = Callable[[str, EventSourceMapping], None]
LIST_DEFAULT, LIST_MAX = 100, 10_000
INSTALL_SECONDS = 5  # what CreateEventSourceMapping waits for a table stream's database


class MappingService:
    def __init__(
        self, store: Store, functions: FunctionService, concurrency: ConcurrencyService, invoker: Invoker,
        queues: Queues | None, settings: Settings,
    ) -> None:  # fmt: skip
        self._store = store
        self._functions = functions
        self._concurrency = concurrency
        self._invoker = invoker
        self._queues = queues
        self._settings = settings
        self._mappings: dict[str, EventSourceMapping] = {}
        self._runners: dict[str, Runner] = {}
        self._lock = asyncio.Lock()
        self._started = False
        self._unsaved: set[str] = set()  # mappings whose LastProcessingResult changed since written
        self._results_changed = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._check_source_role: RoleCheck | None = None  # IAM's (check_source_roles_with)
        self._queues_of: Callable[[str], Queues | None] = lambda arn: queues  # a source queue's (reach_queues_with)
        self._streams = StreamHost(self._mappings.get, self._changed, settings, invoker, store, functions, queues)

    def check_source_roles_with(self, check: RoleCheck) -> None:
        """Have ``check`` approve the function's execution role for the mapping's source at
        CreateEventSourceMapping and at an UpdateEventSourceMapping that changes the function or
        the source access configurations."""
        self._check_source_role = check

    def reach_queues_with(self, queues_of: Callable[[str], Queues | None]) -> None:
        """``queues_of(arn)``: the queues of the cell a source queue's ARN names, so that a mapping
        may read another account's queue (cells/crossings.py; its policy must allow the function's
        role, as the role's own policies must: iam/source_roles.py)."""
        self._queues_of = queues_of

    def _source_queue(self, arn: str) -> QueueInfo | None:
        queues = self._queues_of(arn)
        return queues.get(arn) if queues is not None else None

    async def load(self) -> None:
        for resource in await self._store.list_resources(KIND):
            mapping = EventSourceMapping.from_doc(resource.doc)
            self._mappings[mapping.uuid] = mapping

    async def start(self) -> None:
        """Run every mapping (settling those an earlier run left changing)."""
        self._started = True
        self._writer = asyncio.create_task(self._write_results(), name="lamina-mappings-results")
        for uuid in list(self._mappings):
            self._run(uuid)

    async def close(self, grace_seconds: float = 5.0) -> None:
        """Stop every runner: pollers waiting for records at once, batches in flight when done or
        after ``grace_seconds``; what they held comes back as the source redelivers."""
        self._started = False
        deadline = time.monotonic() + grace_seconds
        runners = list(self._runners.values())
        self._runners.clear()
        for runner in runners:
            runner.deadline = deadline
            runner.task.cancel()
        await asyncio.gather(*(r.task for r in runners), return_exceptions=True)
        writer, self._writer = self._writer, None
        await cancel_and_wait(writer)
        await self._save_results()  # what the last batches reported

    async def _write_results(self) -> None:
        while True:
            await self._results_changed.wait()
            self._results_changed.clear()
            try:
                await self._save_results()
            except Exception:  # still marked: written with the next change, or at close
                log.exception("event source mappings: LastProcessingResult could not be written")

    async def _save_results(self) -> None:
        """Write the marked mappings as they are now (under the lock: never over a newer change)."""
        async with self._lock:
            marked, self._unsaved = self._unsaved, set()
            puts = [Resource(KIND, u, self._mappings[u].doc()) for u in sorted(marked) if u in self._mappings]
            try:
                if puts:
                    await self._store.change_resources(puts)
            except BaseException:
                self._unsaved |= marked  # written with the next change, or at close
                raise

    def _run(self, uuid: str) -> None:
        runner = self._runners.get(uuid)
        if runner is None or runner.task.done():
            if self._started:
                self._runners[uuid] = Runner(uuid, self)
        else:
            runner.changed.set()

    # -- what runners and pollers ask (poller.Host) ------------------------------------------

    def mapping(self, uuid: str) -> EventSourceMapping | None:
        return self._mappings.get(uuid)

    @property
    def max_payload_bytes(self) -> int:
        """A batch's event at most: what a synchronous invocation accepts."""
        return self._settings.limits.sync_payload_bytes

    async def settle(self, uuid: str) -> EventSourceMapping | None:
        """End the mapping's transition, written through; None once it is deleted."""
        async with self._lock:
            mapping = self._mappings.get(uuid)
            if mapping is None:
                return None
            settled = mapping.settled()
            if settled is None:
                await self._store.change_resources(deletes=[(KIND, uuid)])
                del self._mappings[uuid]
                self._runners.pop(uuid, None)
                return None
            if settled != mapping:
                await self._store.change_resources([Resource(KIND, uuid, settled.doc())])
                self._mappings[uuid] = settled
            return settled

    def source(self, mapping: EventSourceMapping) -> Source:
        if mapping.stream is not None:
            return StreamSource(mapping.uuid, self._streams, lambda options: readers.open_reader(options, mapping.uuid))
        if mapping.kind is SourceKind.KAFKA:
            return KafkaSource(mapping.uuid, self, secrets_file=self._settings.secrets_file)
        if mapping.kind is SourceKind.RABBITMQ:
            address = brokers.find(self._settings.rabbitmq_brokers, mapping.source_arn)
            assert address is not None and mapping.queues  # checked at creation; settings are fixed
            basic_auth = next((uri for kind, uri in mapping.access if kind == "BASIC_AUTH"), None)
            return RabbitSource(mapping.source_arn, address, mapping.queues[0], mapping.virtual_host, secret=basic_auth,
                                secrets_file=self._settings.secrets_file, ca_file=self._settings.rabbitmq_ca_file)  # fmt: skip
        assert mapping.kind is SourceKind.SQS and self._queues is not None
        uuid = mapping.uuid
        return SqsSource(ReachedQueues(self._queues_of), mapping.source_arn, visibility=lambda: self._visibility(uuid))

    def _visibility(self, uuid: str) -> int | None:
        mapping = self._mappings.get(uuid)
        queue = self._source_queue(mapping.source_arn) if mapping is not None else None
        if mapping is None or queue is None:
            return None
        try:
            timeout = self._functions.resolve(mapping.function, mapping.qualifier).timeout_s
        except ResourceNotFound:
            return None
        return batching.visibility_timeout(queue.visibility_timeout, mapping.batching_window, timeout)

    def kafka_options(self, uuid: str) -> tuple[KafkaOptions, int, str] | None:
        """A Kafka mapping's options, batching window and function ARN (kafka.source.Host)."""
        mapping = self._mappings.get(uuid)
        if mapping is None or mapping.kafka is None:
            return None
        return mapping.kafka, mapping.batching_window, mapping.function_arn

    async def send_failure(self, destination: str, body: str) -> None:
        if self._queues is None or self._queues.get(destination) is None:
            log.warning("on-failure destination %s does not exist: the record is dropped", destination)
            return
        await self._queues.send(destination, body)

    async def invoke(self, mapping: EventSourceMapping, payload: bytes) -> InvokeResult:
        return await self._invoker.invoke(InvokeRequest(
            function=mapping.function, qualifier=mapping.qualifier, payload=payload, invocation_type=REQUEST_RESPONSE,
            built=True,  # the sources' events are JSON Lamina wrote: not parsed again
        ))  # fmt: skip

    def report(self, uuid: str, result: str) -> None:
        mapping = self._mappings.get(uuid)
        if mapping is not None and mapping.last_result != result:
            self._changed(replace(mapping, last_result=result))

    def _changed(self, mapping: EventSourceMapping) -> None:
        """Keep ``mapping`` as it now is (its result or reason), written by the results' writer."""
        self._mappings[mapping.uuid] = mapping
        self._unsaved.add(mapping.uuid)
        self._results_changed.set()

    def cap(self, mapping: EventSourceMapping) -> int:
        try:
            reserved = self._concurrency.reserved(mapping.function)
        except ResourceNotFound:
            reserved = None
        limit = scaling.cap(mapping.maximum_concurrency, reserved)
        if mapping.stream is not None:
            return 1  # one shard, one batch at a time: changes of a key stay in order
        runner = self._runners.get(mapping.uuid)
        if runner is not None and isinstance(runner.source, KafkaSource) and runner.source.partitions:
            limit = min(limit, runner.source.partitions)  # a batch per partition at most
        return limit

    def lag(self, uuid: str) -> Lag:
        mapping = self._mappings.get(uuid)
        if mapping is not None and mapping.kind is not SourceKind.SQS:
            # A broker's: as the running source sees it (a consumer group's lag, a queue's ready count).
            runner = self._runners.get(uuid)
            return runner.source.lag() if runner is not None and runner.source is not None else Lag(None, None)
        if mapping is None or self._queues is None:
            return Lag(None, None)
        return self.source(mapping).lag()

    def width(self, uuid: str) -> int:
        """How many batches the mapping works on at once now (0: not polling)."""
        runner = self._runners.get(uuid)
        return runner.poller.width if runner is not None and runner.poller is not None else 0

    # -- following the change stream (control/changes.py) -------------------------------------

    def follow(self, change: Change) -> None:
        if isinstance(change, FunctionDeleted):
            for mapping in [m for m in self._mappings.values() if m.function == change.name]:
                self.report(mapping.uuid, f"PROBLEM: Function not found: {mapping.function_arn}")

    # -- the API -------------------------------------------------------------------------------

    def document(self, mapping: EventSourceMapping) -> dict[str, object]:
        return mapping.document(self._settings.region, self._settings.account_id)

    def get(self, uuid: str) -> EventSourceMapping:
        mapping = self._mappings.get(uuid)
        if mapping is None:
            raise mapping_not_found()
        return mapping

    def _function(self, function_name: str) -> tuple[str, str | None, str]:
        """(name, qualifier, FunctionArn) of an existing function, version or alias."""
        name, qualifier = validation.function_parts(function_name)
        named = (function_region(function_name), function_account(function_name))
        if named[0] not in (None, self._settings.region) or named[1] not in (None, self._settings.account_id):
            # Another account's (or region's) function is not this account's of the same name.
            raise InvalidParameterValue("Function does not exist")
        try:
            self._functions.resolve(name, qualifier)
        except ResourceNotFound:
            raise InvalidParameterValue("Function does not exist") from None
        return name, qualifier, self._settings.function_arn(name, qualifier)

    def _check_role(self, mapping: EventSourceMapping) -> None:
        if self._check_source_role is not None:
            self._check_source_role(self._functions.resolve(mapping.function, mapping.qualifier).role, mapping)

    def _fifo(self, arn: str) -> bool:
        queue = self._source_queue(arn)
        if queue is None:
            raise InvalidParameterValue(QUEUE_GONE)
        return queue.fifo

    async def create(self, body: Body) -> EventSourceMapping:
        request = validation.parse(body, create=True)
        database = stream_options.database_of(body) if request.self_managed else None
        if database is not None:
            return await self._create_stream(request, body, database)
        kind = validation.source_kind(request)
        if kind is SourceKind.KAFKA:
            return await self._create_kafka(request, body)
        assert request.function_name is not None and request.source_arn is not None
        window = request.batching_window or 0
        if kind is SourceKind.RABBITMQ:
            batch_size = request.batch_size or validation.MQ_DEFAULT_BATCH
            validation.check_rabbitmq(request, create=True)
            name, qualifier, function_arn = self._function(request.function_name)
            if brokers.find(self._settings.rabbitmq_brokers, request.source_arn) is None:
                raise InvalidParameterValue(brokers.not_configured(request.source_arn))
        else:
            batch_size = request.batch_size or validation.DEFAULT_BATCH
            validation.check_sqs(request, batch_size=batch_size, batching_window=window)
            name, qualifier, function_arn = self._function(request.function_name)
            if self._fifo(request.source_arn):
                validation.check_fifo(batch_size=batch_size, batching_window=window)
        mapping = EventSourceMapping(
            uuid=str(uuids.uuid4()), kind=kind, source_arn=request.source_arn, function=name,
            qualifier=qualifier, function_arn=function_arn, batch_size=batch_size, batching_window=window,
            enabled=True if request.enabled is None else request.enabled, state=State.CREATING,
            last_modified=time.time(), filters=request.filters or (), response_types=request.response_types or (),
            maximum_concurrency=request.maximum_concurrency, queues=request.queues or (),
            access=request.access or (),
        )  # fmt: skip
        self._check_role(mapping)
        async with self._lock:
            for other in self._mappings.values():
                if other.source_arn == request.source_arn and other.function_arn == function_arn \
                        and other.queues == (request.queues or ()):  # fmt: skip
                    raise ResourceConflict(
                        f'An event source mapping with {"SQS" if kind is SourceKind.SQS else "MQ"} arn '
                        f'(" {other.source_arn} ") and function (" {name} ") '
                        f"already exists. Please update or delete the existing mapping with UUID {other.uuid}"
                    )
            await self._store.change_resources([Resource(KIND, mapping.uuid, mapping.doc())])
            self._mappings[mapping.uuid] = mapping
        self._run(mapping.uuid)
        return mapping

    async def _create_kafka(self, request: validation.Request, body: Body) -> EventSourceMapping:
        uuid = str(uuids.uuid4())
        options = kafka_options.parse(body, uuid, window_given=request.batching_window is not None)
        validation.check_filters(request)
        assert request.function_name is not None
        name, qualifier, function_arn = self._function(request.function_name)
        self._check_destination(options)
        mapping = EventSourceMapping(
            uuid=uuid, kind=SourceKind.KAFKA, source_arn=f"kafka/{options.topic}", function=name,
            qualifier=qualifier, function_arn=function_arn, batch_size=request.batch_size or kafka_options.DEFAULT_BATCH,
            batching_window=request.batching_window or 0,
            enabled=True if request.enabled is None else request.enabled, state=State.CREATING,
            last_modified=time.time(), filters=request.filters or (), response_types=request.response_types or (),
            maximum_concurrency=request.maximum_concurrency, kafka=options,
        )  # fmt: skip
        self._check_role(mapping)
        async with self._lock:
            for other in self._mappings.values():
                if other.kafka is None:
                    continue
                if other.kafka.consumer_group_id == options.consumer_group_id:
                    raise ResourceConflict(f"The consumer group ID {options.consumer_group_id} is already used by "
                                           f"the event source mapping with UUID {other.uuid}.")  # fmt: skip
                if other.kafka.topic == options.topic and other.function_arn == function_arn and set(
                    other.kafka.bootstrap_servers
                ) == set(options.bootstrap_servers):
                    raise ResourceConflict(
                        f'An event source mapping with event source ("{options.bootstrap}"), function ("{name}"), '
                        f'topics ("{options.topic}") already exists. Please update or delete the existing mapping '
                        f"with UUID {other.uuid}"
                    )
            await self._store.change_resources([Resource(KIND, mapping.uuid, mapping.doc())])
            self._mappings[mapping.uuid] = mapping
        self._run(mapping.uuid)
        return mapping

    async def _create_stream(self, request: validation.Request, body: Body, database: Database) -> EventSourceMapping:
        uuid = str(uuids.uuid4())
        options = stream_options.parse(body, database, created=time.time())
        validation.check_filters(request)
        assert request.function_name is not None
        name, qualifier, function_arn = self._function(request.function_name)
        self._streams.check_destination(options.on_failure)
        kind = SourceKind.SQLITE if database is Database.SQLITE else SourceKind.POSTGRESQL
        source = f"{kind.value}:{options.shown_endpoint}#{','.join(options.tables)}"

        def check_conflict() -> None:
            for other in self._mappings.values():
                if other.source_arn == source and other.function_arn == function_arn:
                    raise ResourceConflict(
                        f'An event source mapping with event source ("{options.shown_endpoint}"), function '
                        f'("{name}"), topics ("{",".join(options.tables)}") already exists. Please update or '
                        f"delete the existing mapping with UUID {other.uuid}"
                    )

        check_conflict()
        mapping = EventSourceMapping(
            uuid=uuid, kind=kind, source_arn=source, function=name, qualifier=qualifier,
            function_arn=function_arn, batch_size=request.batch_size or stream_options.DEFAULT_BATCH,
            batching_window=request.batching_window or 0,
            enabled=True if request.enabled is None else request.enabled, state=State.CREATING,
            last_modified=time.time(), filters=request.filters or (), response_types=request.response_types or (),
            stream=options,
        )  # fmt: skip
        self._check_role(mapping)  # before the triggers or slot are installed
        try:  # the triggers or slot now: changes committed from here on are the stream's
            async with asyncio.timeout(INSTALL_SECONDS):
                warnings = await readers.install(options, uuid)
        except (DatabaseUnreachable, TimeoutError) as exc:  # created all the same; its poller installs them
            reason = str(exc) or f"The database did not answer within {INSTALL_SECONDS} seconds."
            warnings = (f"{reason} The mapping reads the tables' changes from when it reaches the database.",)
        except ChangesUnavailable as exc:
            raise InvalidParameterValue(str(exc)) from None
        async with self._lock:
            try:
                check_conflict()  # another Create of the same may have got here meanwhile
            except ResourceConflict:
                await readers.drop(options, uuid)
                raise
            mapping = replace(mapping, state_reason=" ".join(warnings) or USER_INITIATED)
            await self._store.change_resources([Resource(KIND, mapping.uuid, mapping.doc())])
            self._mappings[mapping.uuid] = mapping
        self._run(mapping.uuid)
        return mapping

    def _check_destination(self, options: KafkaOptions) -> None:
        if options.on_failure is not None and (self._queues is None or self._queues.get(options.on_failure) is None):
            raise InvalidParameterValue(f"The provided destination config DestinationConfig(onFailure=OnFailure("
                                        f"destination={options.on_failure})) is invalid: the queue does not exist.")  # fmt: skip

    async def update(self, uuid: str, body: Body) -> EventSourceMapping:
        request = validation.parse(body, create=False)
        async with self._lock:
            mapping = self.get(uuid)
            if mapping.state is State.DELETING:
                raise ResourceInUse(f"Cannot update the event source mapping {uuid}: it is being deleted.")
            batch_size = mapping.batch_size if request.batch_size is None else request.batch_size
            window = mapping.batching_window if request.batching_window is None else request.batching_window
            kafka, stream = mapping.kafka, mapping.stream
            if stream is not None:
                stream = stream_options.updated(stream, body)
                validation.check_filters(request)
                self._streams.check_destination(stream.on_failure)
            elif kafka is not None:
                kafka = kafka_options.updated(kafka, body)
                validation.check_filters(request)
                self._check_destination(kafka)
            elif mapping.kind is SourceKind.RABBITMQ:
                validation.check_rabbitmq(request, create=False)
            else:
                validation.check_sqs(request, batch_size=batch_size, batching_window=window)
            name, qualifier, function_arn = mapping.function, mapping.qualifier, mapping.function_arn
            if request.function_name is not None:
                name, qualifier, function_arn = self._function(request.function_name)
            queue = self._source_queue(mapping.source_arn)
            if queue is not None and queue.fifo:
                validation.check_fifo(batch_size=batch_size, batching_window=window)
            enabled = mapping.enabled if request.enabled is None else request.enabled
            state = State.UPDATING
            if enabled != mapping.enabled:
                state = State.ENABLING if enabled else State.DISABLING
            concurrency = request.maximum_concurrency if request.scaling_given else mapping.maximum_concurrency
            updated = replace(
                mapping, function=name, qualifier=qualifier, function_arn=function_arn, batch_size=batch_size,
                batching_window=window, enabled=enabled, state=state, last_modified=time.time(),
                filters=mapping.filters if request.filters is None else request.filters,
                response_types=mapping.response_types if request.response_types is None else request.response_types,
                maximum_concurrency=concurrency, kafka=kafka, stream=stream,
                access=mapping.access if request.access is None else request.access,
            )  # fmt: skip
            if request.function_name is not None or updated.access != mapping.access or (
                    kafka is not None and mapping.kafka is not None and kafka.access != mapping.kafka.access) or (
                    _on_failure(updated) != _on_failure(mapping)):  # fmt: skip
                self._check_role(updated)  # the role's needs are the same otherwise
            await self._store.change_resources([Resource(KIND, uuid, updated.doc())])
            self._mappings[uuid] = updated
        self._run(uuid)
        return updated

    async def delete(self, uuid: str) -> EventSourceMapping:
        async with self._lock:
            mapping = self.get(uuid)
            if mapping.state is not State.DELETING:
                mapping = replace(mapping, state=State.DELETING, last_modified=time.time())
                await self._store.change_resources([Resource(KIND, uuid, mapping.doc())])
                self._mappings[uuid] = mapping
        self._run(uuid)
        return mapping

    def list(
        self, function_name: str | None, source_arn: str | None, marker: str | None, max_items: int
    ) -> tuple[list[EventSourceMapping], str | None]:
        """A page of mappings (by UUID), of a function (a qualified name: of that version or alias)
        and/or a source; and the marker of the next page, if any."""
        name = qualifier = None
        if function_name is not None:
            name, qualifier = validation.function_parts(function_name)
        chosen = sorted(
            (m for m in self._mappings.values()
             if (name is None or (m.function == name and (qualifier is None or m.qualifier == qualifier)))
             and (source_arn is None or m.source_arn == source_arn)),
            key=lambda m: m.uuid,
        )  # fmt: skip
        start = 0
        if marker:
            start = next((i for i, m in enumerate(chosen) if m.uuid >= marker), len(chosen))
        page = chosen[start : start + max_items]
        following = chosen[start + max_items] if start + max_items < len(chosen) else None
        return page, following.uuid if following is not None else None


def _on_failure(mapping: EventSourceMapping) -> str | None:
    options = mapping.kafka or mapping.stream
    return options.on_failure if options is not None else None

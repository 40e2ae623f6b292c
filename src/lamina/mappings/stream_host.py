"""What a table stream's source needs of the mappings' service (``streams.source.Host``): the
mapping's options as they are now, where its failure records go, where its reader's warnings show."""

from __future__ import annotations

import logging
import time
import uuid as uuids
from collections.abc import Callable, Sequence
from dataclasses import replace

from lamina.control.functions import FunctionService
from lamina.control.targets import parse_function_arn
from lamina.errors import ApiError, InvalidParameterValue, ResourceNotFound, TooManyRequests
from lamina.invoke.service import EVENT, InvokeRequest, Invoker
from lamina.mappings.model import USER_INITIATED, EventSourceMapping
from lamina.queues.service import Queues
from lamina.settings import Settings
from lamina.store.base import DESTINATION, OutboxMessage
from lamina.store.aggregates import OutboxStore
from lamina.streams.options import StreamOptions
from lamina.streams.records import Stream, stream_label

log = logging.getLogger(__name__)


class StreamHost:
    def __init__(self, mapping: Callable[[str], EventSourceMapping | None],
                 changed: Callable[[EventSourceMapping], None], settings: Settings, invoker: Invoker, store: OutboxStore,
                 functions: FunctionService, queues: Queues | None) -> None:  # fmt: skip
        self._mapping = mapping  # the mapping as it is now (None: deleted)
        self._changed = changed  # keeps a mapping whose StateTransitionReason changed (written through)
        self._settings = settings
        self._invoker = invoker
        self._store = store
        self._functions = functions
        self._queues = queues

    def stream(self, uuid: str) -> tuple[StreamOptions, Stream, str] | None:
        mapping = self._mapping(uuid)
        if mapping is None or mapping.stream is None:
            return None
        options = mapping.stream
        common = Stream(self._settings.region, self._settings.account_id, stream_label(options.created), options.view)
        return options, common, mapping.function_arn

    async def send_stream_failure(self, uuid: str, destination: str, body: str) -> None:
        """The on-failure record, stored before this returns: for a queue in the outbox (the queues'
        relay delivers it), for a function as an asynchronous invocation."""
        if parse_function_arn(destination) is not None:
            try:
                await self._invoker.invoke(InvokeRequest(function=destination, payload=body.encode(),
                                                         invocation_type=EVENT))  # fmt: skip
            except TooManyRequests:
                raise  # its queue is full for now: nothing is confirmed, the batch comes again
            except ApiError as exc:  # the function gone since: dropped, as AWS drops it
                log.warning("stream mapping %s: the on-failure record for %s was dropped: %s", uuid, destination,
                            exc.message)  # fmt: skip
            return
        mapping = self._mapping(uuid)
        function = mapping.function if mapping is not None else ""
        await self._store.add_outbox([OutboxMessage(destination, DESTINATION, function, str(uuids.uuid4()),
                                                    body.encode(), {}, int(time.time() * 1000))])  # fmt: skip

    def warn(self, uuid: str, warnings: Sequence[str]) -> None:
        """The reader's warnings, shown as the mapping's StateTransitionReason."""
        mapping = self._mapping(uuid)
        reason = " ".join(warnings) or USER_INITIATED
        if mapping is not None and mapping.state_reason != reason:
            self._changed(replace(mapping, state_reason=reason))

    def check_destination(self, destination: str | None) -> None:
        """An on-failure destination must exist: a queue of Lamina's, or a function (version, alias)."""
        if destination is None:
            return
        function = parse_function_arn(destination)
        if function is not None:
            try:
                self._functions.resolve(function.name, function.qualifier)
                return
            except ResourceNotFound:
                pass
        elif self._queues is not None and self._queues.get(destination) is not None:
            return
        raise InvalidParameterValue(f"The provided destination config DestinationConfig(onFailure=OnFailure("
                                    f"destination={destination})) is invalid: it does not exist.")  # fmt: skip

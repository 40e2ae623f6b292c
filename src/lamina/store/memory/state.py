"""What every aggregate of ``MemoryStore`` keeps: one object's dictionaries, as one database's tables,
so that deleting a function removes what it owns and the outbox is shared."""

from __future__ import annotations

import dataclasses
from typing import Sequence

from lamina.model import Alias, EventInvokeConfig, FunctionConfig, FunctionPolicy, FunctionUrlConfig, LayerVersion
from lamina.model import ProvisionedConcurrencyConfig
from lamina.store.base import BusEvent, EventContent, InvocationRecord, OutboxMessage, ProvisionedAllocation
from lamina.store.base import QueuedEvent, QueueMessage
from lamina.store.errors import FUNCTION, NotFound
from lamina.store.log_chunks import Chunk


class MemoryState:
    def __init__(self) -> None:
        self._functions: dict[str, FunctionConfig] = {}
        self._chunks: dict[int, Chunk] = {}  # by id, in the order they were added
        self._last_chunk = 0
        self._invocations: list[InvocationRecord] = []
        self._allocations: list[ProvisionedAllocation] = []
        self._metric_counts: dict[tuple[str, str, str, int], int] = {}
        self._layers: dict[tuple[str, int], LayerVersion] = {}
        self._last_layer_version: dict[str, int] = {}
        self._tags: dict[str, dict[str, str]] = {}
        self._policies: dict[tuple[str, str], FunctionPolicy] = {}
        self._event_invoke_configs: dict[tuple[str, str], EventInvokeConfig] = {}
        self._urls: dict[tuple[str, str], FunctionUrlConfig] = {}
        self._object_records: dict[tuple[str, str, str], str] = {}
        self._versions: dict[tuple[str, int], FunctionConfig] = {}
        self._last_version: dict[str, int] = {}
        self._aliases: dict[tuple[str, str], Alias] = {}
        self._reserved: dict[str, int] = {}
        self._provisioned: dict[tuple[str, str], ProvisionedConcurrencyConfig] = {}
        self._events: dict[int, QueuedEvent] = {}
        self._contents: dict[int, EventContent] = {}
        self._last_seq = 0
        self._outbox: dict[int, OutboxMessage] = {}
        self._last_outbox_id = 0
        self._resources: dict[tuple[str, str], str] = {}  # (kind, key) -> the document, as JSON
        self._bus_events: dict[int, BusEvent] = {}
        self._last_bus_seq = 0
        self._queue_messages: dict[int, QueueMessage] = {}
        self._last_message_seq = 0

    def _owner(self, function: str) -> None:
        """Refuse (``NotFound``) a write of something ``function`` owns once it is gone."""
        if function not in self._functions:
            raise NotFound(FUNCTION, function)

    def _put_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        for message in messages:
            self._last_outbox_id += 1
            self._outbox[self._last_outbox_id] = dataclasses.replace(message, id=self._last_outbox_id)

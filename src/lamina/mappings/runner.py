"""A mapping's runner: its owned task (``lamina-mapping-<uuid>``). It settles the mapping's state
after each change (``EventSourceMapping.settled``), runs a ``Poller`` while the mapping is
enabled, and stops it when the mapping is disabled or deleted (a table stream's reader then drops
what it keeps in the database)."""

from __future__ import annotations

import asyncio
from typing import Protocol

from lamina.mappings.model import EventSourceMapping, State
from lamina.mappings.poller import Host, Poller
from lamina.mappings.source import Source
from lamina.streams import readers


class RunnerHost(Host, Protocol):
    """What a runner needs of the service that owns it (and its poller, of the same)."""

    async def settle(self, uuid: str) -> EventSourceMapping | None: ...

    def source(self, mapping: EventSourceMapping) -> Source: ...

    @property
    def max_payload_bytes(self) -> int: ...


class Runner:
    """One mapping's owned task: settles its state after each change, runs its poller while enabled."""

    def __init__(self, uuid: str, service: RunnerHost) -> None:
        self.uuid = uuid
        self.changed = asyncio.Event()
        self.changed.set()
        self.deadline: float | None = None  # set by close: how long an in-flight batch may take
        self.poller: Poller | None = None
        self.source: Source | None = None
        self._service = service
        self.task = asyncio.create_task(self._run(), name=f"lamina-mapping-{uuid}")

    async def _run(self) -> None:
        try:
            while True:
                await self.changed.wait()
                self.changed.clear()
                mapping = self._service.mapping(self.uuid)
                if mapping is None:
                    return
                if self.poller is not None and (mapping.state is State.DELETING or not mapping.enabled):
                    await self.poller.stop()  # and closes a source holding a connection (source.Closing)
                    self.poller = self.source = None
                if mapping.state is State.DELETING and mapping.stream is not None:
                    await readers.drop(mapping.stream, mapping.uuid)  # its triggers or slot go with it
                settled = await self._service.settle(self.uuid)
                if settled is None:
                    return
                if settled.enabled and self.poller is None:
                    self.source = self._service.source(settled)
                    self.poller = Poller(self.uuid, self.source, self._service,
                                         max_bytes=self._service.max_payload_bytes)  # fmt: skip
                    self.poller.start()
        finally:
            if self.poller is not None:
                await self.poller.stop(self.deadline)
            self.poller = self.source = None

"""An in-memory ``Store`` with the same contract as ``SqliteStore``: for tests, nothing durable."""

from __future__ import annotations

import dataclasses
from typing import Sequence

from lamina.errors import PreconditionFailed, ResourceConflict, ResourceNotFound
from lamina.model import FunctionConfig, LayerVersion
from lamina.store.base import InvocationRecord, LogEvent, LogRecord


class MemoryStore:
    def __init__(self) -> None:
        self._functions: dict[str, FunctionConfig] = {}
        self._logs: list[LogEvent] = []
        self._invocations: list[InvocationRecord] = []
        self._layers: dict[tuple[str, int], LayerVersion] = {}
        self._last_layer_version: dict[str, int] = {}

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def create_function(self, fn: FunctionConfig) -> None:
        if fn.name in self._functions:
            raise ResourceConflict(f"Function already exist: {fn.name}")
        self._functions[fn.name] = fn

    async def get_function(self, name: str) -> FunctionConfig | None:
        return self._functions.get(name)

    async def list_functions(self, after: str | None, limit: int) -> list[FunctionConfig]:
        names = sorted(n for n in self._functions if n > (after or ""))
        return [self._functions[n] for n in names[:limit]]

    async def put_function(self, fn: FunctionConfig, *, expected_revision: str | None = None) -> None:
        current = self._functions.get(fn.name)
        if current is None:
            raise ResourceNotFound(f"Function not found: {fn.name}")
        if expected_revision is not None and current.revision_id != expected_revision:
            raise PreconditionFailed("The Revision Id provided does not match the latest Revision Id.")
        self._functions[fn.name] = fn

    async def delete_function(self, name: str) -> FunctionConfig | None:
        return self._functions.pop(name, None)

    async def code_in_use(self) -> set[str]:
        used = {fn.code.digest for fn in self._functions.values()}
        used.update(layer.code.digest for fn in self._functions.values() for layer in fn.layers)
        used.update(layer.code.digest for layer in self._layers.values())
        return used

    async def publish_layer(self, layer: LayerVersion) -> LayerVersion:
        version = self._last_layer_version.get(layer.name, 0) + 1
        self._last_layer_version[layer.name] = version
        numbered = dataclasses.replace(layer, version=version)
        self._layers[(layer.name, version)] = numbered
        return numbered

    async def get_layer(self, name: str, version: int) -> LayerVersion | None:
        return self._layers.get((name, version))

    async def list_layer_versions(self, name: str | None) -> list[LayerVersion]:
        found = [layer for (n, _), layer in self._layers.items() if name is None or n == name]
        return sorted(found, key=lambda layer: (layer.name, -layer.version))

    async def delete_layer(self, name: str, version: int) -> None:
        self._layers.pop((name, version), None)

    async def append_logs(self, records: Sequence[LogRecord]) -> None:
        for r in records:
            cursor = len(self._logs) + 1
            self._logs.append(LogEvent(cursor, r.function, r.stream, r.timestamp_ms, r.message))

    async def read_logs(self, function: str, since: int, limit: int) -> list[LogEvent]:
        return [e for e in self._logs if e.function == function and e.cursor > since][:limit]

    async def record_invocations(self, records: Sequence[InvocationRecord]) -> None:
        self._invocations.extend(records)

    async def list_invocations(self, function: str) -> list[InvocationRecord]:
        return [r for r in self._invocations if r.function == function]

"""The store seam: everything Lamina persists goes through ``Store``.

Implementations: ``SqliteStore`` (the embedded default) and ``MemoryStore`` (a fake for tests);
PostgreSQL will sit behind the same interface. Contract, for every implementation:

- A method returns only after its write is durable (committed); the API acknowledges after that.
- ``create_function`` raises ``ResourceConflict`` if the name exists; ``put_function`` with an
  ``expected_revision`` that does not match raises ``PreconditionFailed``, and with a name that
  does not exist raises ``ResourceNotFound``.
- ``append_logs`` and ``record_invocations`` take batches; they are called off the hot path.
- ``close`` is safe to call twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from lamina.model import FunctionConfig, LayerVersion


@dataclass(frozen=True)
class LogRecord:
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
class InvocationRecord:
    """What one invocation cost: the unit of metering."""

    request_id: str
    function: str
    version: str
    started_ms: int
    duration_ms: float
    billed_ms: int
    memory_mb: int
    max_memory_used_mb: int
    init_ms: float | None
    outcome: str  # "success" | an error type


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def create_function(self, fn: FunctionConfig) -> None: ...

    async def get_function(self, name: str) -> FunctionConfig | None: ...

    async def list_functions(self, after: str | None, limit: int) -> list[FunctionConfig]:
        """Functions ordered by name, those strictly after ``after``, at most ``limit``."""
        ...

    async def put_function(self, fn: FunctionConfig, *, expected_revision: str | None = None) -> None: ...

    async def delete_function(self, name: str) -> FunctionConfig | None: ...

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

    async def append_logs(self, records: Sequence[LogRecord]) -> None: ...

    async def read_logs(self, function: str, since: int, limit: int) -> list[LogEvent]:
        """Log events of ``function`` with a cursor greater than ``since``, oldest first."""
        ...

    async def record_invocations(self, records: Sequence[InvocationRecord]) -> None: ...

    async def list_invocations(self, function: str) -> list[InvocationRecord]: ...

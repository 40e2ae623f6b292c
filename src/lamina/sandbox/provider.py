"""The seam the scheduler leases execution environments through.

An ``EnvironmentProvider`` makes environments; an ``ExecutionEnvironment`` is one of them. The
scheduler knows nothing else of how they are made: ``local.LocalProvider`` forks sandboxed
processes on this machine (``environment.py``), ``fake.FakeProvider`` runs Python callables in
the server's process for unit tests of the scheduler, the invoker and the queue; a provider that
places environments on other machines goes behind the same protocol.

Contract of an ``ExecutionEnvironment``::

    STARTING --ready--> IDLE <--invoke/release--> BUSY
        |                 |                         |
        +---init error----+--------stop/crash-------+--> DEAD

- ``start`` then ``wait_ready``: None once initialised, else the init failure (the environment is
  then already stopped); neither raises for anything the function does.
- ``invoke`` runs one invocation (its request id, payload, the ARN it was invoked by, its client
  context; the environment makes of them what its runtime is handed, deadline and trace id
  included) and always returns an ``Outcome``, whatever the function did (crash, timeout, out of
  memory): the function's errors are results. It raises ``EnvironmentGone`` only if the runtime
  was gone before it took the event, or the environment has outlived its credentials
  (``credentials.py``): run it elsewhere. An ``Outcome`` with ``finishing`` answers the caller
  while the invoke phase goes on (extensions not done yet): the environment stays BUSY and is
  given back only once ``finishing`` is done.
- ``stop`` kills whatever the environment runs and releases all it holds; safe to call twice,
  at any time, in any state.
"""

from __future__ import annotations

import asyncio
import base64
import enum
from dataclasses import dataclass
from typing import Protocol

from lamina.model import FunctionConfig
from lamina.runtime.api import RuntimeResult


class EnvironmentGone(Exception):
    """The environment's runtime exited before it took the invocation's event: run it elsewhere."""


class EnvState(enum.Enum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    LENT = "lent"  # lent to the native data plane (scheduler/lending.py): counted busy, runs its invocations
    DEAD = "dead"


class LogTail(Protocol):
    def value(self) -> bytes:
        """The last 4 KB of an invocation's log (``sandbox/output.py``'s ``Tail``)."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one invocation, with what it cost."""

    result: RuntimeResult
    log: LogTail  # the end of the invocation's log, encoded only if someone asks for it
    duration_ms: float
    billed_ms: int
    reusable: bool
    # With extensions that go on after the runtime's result: the invoke phase's end (END and REPORT
    # written, the environment idle or dead). The environment takes no invocation until then.
    finishing: asyncio.Future[None] | None = None

    @property
    def log_tail(self) -> str:
        """Base64 of the last 4 KB of the invocation's log (X-Amz-Log-Result)."""
        return base64.b64encode(self.log.value()).decode()


class ExecutionEnvironment(Protocol):
    """One execution environment of one function version (see the module's contract)."""

    @property
    def id(self) -> str: ...
    @property
    def fn(self) -> FunctionConfig: ...
    @property
    def provisioned(self) -> bool: ...

    state: EnvState
    last_used: float  # time.monotonic() of its last release
    retire_at: float | None  # time.monotonic() past which it takes no invocation (None: never)

    async def start(self) -> None: ...
    async def wait_ready(self) -> RuntimeResult | None: ...
    async def invoke(
        self, request_id: str, payload: bytes, *, function_arn: str, client_context: str | None = None,
        timeout_s: float,
    ) -> Outcome: ...
    def init_failure_outcome(self, request_id: str, failure: RuntimeResult) -> Outcome: ...
    async def stop(self) -> None: ...


class EnvironmentProvider(Protocol):
    def create(self, fn: FunctionConfig, *, provisioned: bool = False) -> ExecutionEnvironment:
        """A new environment of ``fn``, not started yet. A ``provisioned`` one is initialised ahead of
        time for provisioned concurrency: its runtime sees ``AWS_LAMBDA_INITIALIZATION_TYPE=
        provisioned-concurrency`` and its invocations report no ``Init Duration``."""
        ...

    async def close(self) -> None:
        """Release what the provider holds for environments (fork servers, prepared namespaces)."""
        ...

"""Execution environments that run Python callables in the server's process: a fake for unit tests.

``FakeProvider`` keeps the contract of ``provider.EnvironmentProvider`` with no process, namespace
or Runtime API: each environment calls the provider's ``handler(fn, event)`` for an invocation
and returns what it returns (an exception becomes the function's error). What the tests need to
see is recorded: every environment made (``created``) and which were stopped.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Callable

from lamina.metering.billing import billed_ms
from lamina.model import FunctionConfig
from lamina.runtime.api import RuntimeResult, error_body
from lamina.sandbox.output import Tail
from lamina.sandbox.provider import EnvironmentGone, EnvState, Outcome

# handler(fn, event) -> the response payload; raising makes it a function error.
Handler = Callable[[FunctionConfig, bytes], bytes]


def echo(fn: FunctionConfig, event: bytes) -> bytes:
    return event


@dataclass
class FakeEnvironment:
    id: str
    fn: FunctionConfig
    provisioned: bool
    handler: Handler
    init_error: str | None = None  # an init failure of this type, instead of becoming ready
    state: EnvState = EnvState.STARTING
    last_used: float = field(default_factory=time.monotonic)
    retire_at: float | None = None
    invocations: int = 0
    stopped: bool = False
    # Set: each invocation is answered at once, and its invoke phase goes on (as with extensions that
    # have not called next yet) until this is set; the environment is BUSY until then.
    lingering: asyncio.Event | None = None

    async def start(self) -> None:
        await asyncio.sleep(0)

    async def wait_ready(self) -> RuntimeResult | None:
        if self.init_error is not None:
            await self.stop()
            return RuntimeResult(error_body(self.init_error, "init failed"), self.init_error)
        self.state = EnvState.IDLE
        return None

    async def invoke(
        self, request_id: str, payload: bytes, *, function_arn: str, client_context: str | None = None,
        timeout_s: float,
    ) -> Outcome:
        if self.state is not EnvState.IDLE:
            raise EnvironmentGone(self.id)
        self.state = EnvState.BUSY
        self.invocations += 1
        started = time.monotonic()
        try:
            result = RuntimeResult(self.handler(self.fn, payload))
        except Exception as exc:
            body = json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__}).encode()
            result = RuntimeResult(body, "Unhandled")
        await asyncio.sleep(0)
        duration_ms = (time.monotonic() - started) * 1000
        if self.lingering is not None:
            finishing = asyncio.ensure_future(self._linger(self.lingering))
            return Outcome(result, Tail(), duration_ms, billed_ms(duration_ms), True, finishing=finishing)
        self.state = EnvState.IDLE
        return Outcome(result, Tail(), duration_ms, billed_ms(duration_ms), True)

    async def _linger(self, until: asyncio.Event) -> None:
        await until.wait()
        if self.state is EnvState.BUSY:
            self.state = EnvState.IDLE

    def init_failure_outcome(self, request_id: str, failure: RuntimeResult) -> Outcome:
        return Outcome(failure, Tail(), 0.0, 0, False)

    async def stop(self) -> None:
        self.state = EnvState.DEAD
        self.stopped = True

    def crash(self) -> None:
        """The runtime exits while idle (as a process killed by the host would)."""
        self.state = EnvState.DEAD


class FakeProvider:
    def __init__(self, handler: Handler = echo) -> None:
        self.handler = handler
        self.created: list[FakeEnvironment] = []
        self.init_errors: dict[str, str] = {}  # function name -> the init error its environments fail with
        self.lingering: asyncio.Event | None = None  # given to the environments it makes (FakeEnvironment's)
        self._ids = itertools.count(1)

    def create(self, fn: FunctionConfig, *, provisioned: bool = False) -> FakeEnvironment:
        env = FakeEnvironment(f"fake-{next(self._ids)}", fn, provisioned, self.handler, self.init_errors.get(fn.name),
                              lingering=self.lingering)  # fmt: skip
        self.created.append(env)
        return env

    async def close(self) -> None:
        for env in self.created:
            await env.stop()
